//! Reading citations and cross-references from the safeguard files, collecting every problem on the way.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::catalogue::{Catalogue, Citation, Verification};

/// A citation as the files write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CitationText {
    instrument: String,
    article: String,
    tag: String,
    note: Option<String>,
}

fn verification(tag: &str) -> Option<Verification> {
    match tag {
        "V" => Some(Verification::Verified),
        "S" => Some(Verification::Secondary),
        "T" => Some(Verification::Modelled),
        "U" => Some(Verification::Unverified),
        _ => None,
    }
}

/// Collects problems while converting file text into checked values.
pub(super) struct Problems<'a> {
    pub(super) list: Vec<String>,
    pub(super) catalogue: &'a Catalogue,
    /// Instrument codes citations may name: the catalogue's, and a profile's own laws.
    pub(super) instruments: BTreeSet<String>,
}

impl<'a> Problems<'a> {
    pub(super) fn new(catalogue: &'a Catalogue) -> Self {
        Self {
            list: Vec::new(),
            catalogue,
            instruments: catalogue
                .instruments
                .iter()
                .map(|i| i.code.clone())
                .collect(),
        }
    }

    pub(super) fn push(&mut self, problem: String) {
        self.list.push(problem);
    }

    pub(super) fn citations(&mut self, at: &str, list: &[CitationText]) -> Vec<Citation> {
        if list.is_empty() {
            self.push(format!("{at}: needs at least one citation"));
        }
        list.iter()
            .filter_map(|c| {
                if !self.instruments.contains(&c.instrument) {
                    self.push(format!(
                        "{at}: citation names unknown instrument `{}`",
                        c.instrument
                    ));
                }
                if c.article.trim().is_empty() {
                    self.push(format!("{at}: citation of {} has no article", c.instrument));
                }
                let Some(verification) = verification(&c.tag) else {
                    self.push(format!("{at}: tag `{}` is not one of V, S, T, U", c.tag));
                    return None;
                };
                Some(Citation {
                    instrument: c.instrument.clone(),
                    article: c.article.clone(),
                    verification,
                    note: c.note.clone(),
                })
            })
            .collect()
    }

    pub(super) fn parsed<T: FromStr>(&mut self, at: &str, text: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        text.parse::<T>()
            .map_err(|e| self.push(format!("{at}: {e}")))
            .ok()
    }

    pub(super) fn all_parsed<T: FromStr>(&mut self, at: &str, list: &[String]) -> Vec<T>
    where
        T::Err: fmt::Display,
    {
        list.iter().filter_map(|t| self.parsed(at, t)).collect()
    }

    pub(super) fn mechanisms(&mut self, at: &str, ids: &[String]) {
        for id in ids {
            self.mechanism(at, id);
        }
    }

    pub(super) fn mechanism(&mut self, at: &str, id: &str) {
        if self.catalogue.mechanism(id).is_none() {
            self.push(format!("{at}: mechanism `{id}` is not in the catalogue"));
        }
    }

    pub(super) fn offences(&mut self, at: &str, ids: &[String]) {
        for id in ids {
            self.offence(at, id);
        }
    }

    pub(super) fn offence(&mut self, at: &str, id: &str) {
        if self.catalogue.offence(id).is_none() {
            self.push(format!("{at}: offence `{id}` is not in the catalogue"));
        }
    }

    pub(super) fn instrument(&mut self, at: &str, code: &str) {
        if self.catalogue.instrument(code).is_none() {
            self.push(format!("{at}: instrument `{code}` is not in the catalogue"));
        }
    }

    pub(super) fn unique<'s>(&mut self, what: &str, ids: impl Iterator<Item = &'s str>) {
        let mut seen = BTreeSet::new();
        for id in ids {
            if !seen.insert(id) {
                self.push(format!("{what} `{id}` is defined twice"));
            }
        }
    }
}
