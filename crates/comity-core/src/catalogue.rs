//! The rules catalogue: mechanisms, offences, refusal grounds, clocks and their citations, parsed from data.
//!
//! The catalogue is text handed in by the caller (the copy shipped with the binary, or a node's override). Parsing
//! checks every cross-reference (instrument codes, refusal grounds, field names, states) and reports every problem at
//! once, so a wrong article number is a data fix and a broken catalogue never loads halfway.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use crate::duration::ClockDuration;
use crate::lifecycle::{Lifecycle, LifecycleRules, State};
use crate::request::{DataCategory, Field, Urgency};

/// The catalogue shipped with comity.
pub const EMBEDDED: &str = include_str!("../../../rules/catalogue.toml");

/// How well a fact was checked (see the catalogue header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verification {
    /// Read in the authentic text.
    Verified,
    /// Confirmed by a secondary source.
    Secondary,
    /// Modelled on UNTOC Art 18, assumed to carry over.
    Modelled,
    /// Unverified recollection.
    Unverified,
}

impl Verification {
    /// The one-letter tag.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Verified => "V",
            Self::Secondary => "S",
            Self::Modelled => "T",
            Self::Unverified => "U",
        }
    }

    /// What the tag means, for people.
    pub fn meaning(self) -> &'static str {
        match self {
            Self::Verified => "verified in the authentic text",
            Self::Secondary => "confirmed by a secondary source",
            Self::Modelled => "modelled on UNTOC Art 18, not checked in the UNCC text",
            Self::Unverified => "unverified",
        }
    }

    fn parse(tag: &str) -> Option<Self> {
        match tag {
            "V" => Some(Self::Verified),
            "S" => Some(Self::Secondary),
            "T" => Some(Self::Modelled),
            "U" => Some(Self::Unverified),
            _ => None,
        }
    }
}

/// A citation of a treaty provision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Citation {
    /// Instrument code, for example `BC`.
    pub instrument: String,
    /// Article (and paragraph), for example `29(7)`.
    pub article: String,
    /// How sure the citation is.
    pub verification: Verification,
    /// A short note, if any.
    pub note: Option<String>,
}

impl fmt::Display for Citation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} Art {} [{}]",
            self.instrument,
            self.article,
            self.verification.tag()
        )
    }
}

/// A treaty instrument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// Short code used in citations.
    pub code: String,
    /// Full title.
    pub title: String,
    /// Where it is published.
    pub reference: String,
}

/// An entry of the offence catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offence {
    /// Stable id, for example `illegal-access`.
    pub id: String,
    /// Title.
    pub title: String,
    /// A note on scope, if any.
    pub note: Option<String>,
    /// Where the offence is defined.
    pub citations: Vec<Citation>,
}

/// A ground on which a requested State may refuse, or (when not permitted) may not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalGround {
    /// Stable id.
    pub id: String,
    /// Title.
    pub title: String,
    /// False for grounds the treaties exclude (fiscal nature, bank secrecy).
    pub permitted: bool,
    /// Where the ground comes from.
    pub citations: Vec<Citation>,
}

/// What a clock means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockKind {
    /// Act before it.
    Deadline,
    /// Must last at least this long.
    Minimum,
    /// Ends then unless extended.
    Expiry,
}

impl ClockKind {
    /// The catalogue name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deadline => "deadline",
            Self::Minimum => "minimum",
            Self::Expiry => "expiry",
        }
    }
}

/// Which urgency a clock applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrgencyFilter {
    /// Always.
    Any,
    /// Only for emergency requests.
    Emergency,
    /// Only for requests that are not emergencies.
    Normal,
}

impl UrgencyFilter {
    /// Whether a request of this urgency is covered.
    pub fn covers(self, urgency: Urgency) -> bool {
        match self {
            Self::Any => true,
            Self::Emergency => urgency == Urgency::Emergency,
            Self::Normal => urgency != Urgency::Emergency,
        }
    }
}

/// A clock of a mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockRule {
    /// Stable id.
    pub id: String,
    /// What it means, for people.
    pub title: String,
    /// Deadline, minimum or expiry.
    pub kind: ClockKind,
    /// How long.
    pub duration: ClockDuration,
    /// It starts when the request first enters this state.
    pub starts: State,
    /// It stops when the request enters any of these.
    pub stops: Vec<State>,
    /// It applies when the request rests on one of these instruments.
    pub instruments: Vec<String>,
    /// It applies to this urgency.
    pub urgency: UrgencyFilter,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// A cooperation mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mechanism {
    /// Stable id, for example `expedited-preservation`.
    pub id: String,
    /// Title.
    pub title: String,
    /// Which state machine requests of this mechanism follow.
    pub lifecycle: Lifecycle,
    /// Whether a judicial authorisation must be recorded before sending.
    pub authorisation_required: bool,
    /// The kind of authority requests of this mechanism are addressed to.
    pub addressed_to: crate::authority::AuthorityKind,
    /// The data categories it may seek.
    pub data_categories: Vec<DataCategory>,
    /// Fields that must be filled.
    pub required_fields: Vec<Field>,
    /// Ids of the refusal grounds open against it.
    pub refusal_grounds: Vec<String>,
    /// Where it comes from.
    pub citations: Vec<Citation>,
    /// Its clocks.
    pub clocks: Vec<ClockRule>,
}

impl Mechanism {
    /// The state machine of its requests.
    pub fn lifecycle_rules(&self) -> LifecycleRules {
        LifecycleRules {
            lifecycle: self.lifecycle,
            authorisation_required: self.authorisation_required,
        }
    }
}

/// The whole catalogue, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalogue {
    /// Version of the data, for example `2026.11.1`.
    pub version: String,
    /// Title.
    pub title: String,
    /// Where the data come from.
    pub source: String,
    /// Instruments.
    pub instruments: Vec<Instrument>,
    /// Offences.
    pub offences: Vec<Offence>,
    /// Refusal grounds, permitted or not.
    pub refusal_grounds: Vec<RefusalGround>,
    /// Mechanisms.
    pub mechanisms: Vec<Mechanism>,
}

/// A catalogue that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the rules catalogue is invalid:\n  {}", .problems.join("\n  "))]
pub struct CatalogueError {
    /// One line per problem, each naming where it is.
    pub problems: Vec<String>,
}

impl Catalogue {
    /// The catalogue shipped with comity.
    pub fn embedded() -> Result<Self, CatalogueError> {
        Self::parse(EMBEDDED)
    }

    /// Parses and checks a catalogue.
    pub fn parse(text: &str) -> Result<Self, CatalogueError> {
        let file: file::Catalogue = toml::from_str(text).map_err(|e| CatalogueError {
            problems: vec![e.to_string().trim().replace('\n', " ")],
        })?;
        file.check()
    }

    /// A mechanism by id.
    pub fn mechanism(&self, id: &str) -> Option<&Mechanism> {
        self.mechanisms.iter().find(|m| m.id == id)
    }

    /// An offence by id.
    pub fn offence(&self, id: &str) -> Option<&Offence> {
        self.offences.iter().find(|o| o.id == id)
    }

    /// A refusal ground by id.
    pub fn refusal_ground(&self, id: &str) -> Option<&RefusalGround> {
        self.refusal_grounds.iter().find(|g| g.id == id)
    }

    /// An instrument by code.
    pub fn instrument(&self, code: &str) -> Option<&Instrument> {
        self.instruments.iter().find(|i| i.code == code)
    }
}

/// The file form, private: only [`Catalogue::parse`] sees it.
mod file {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Catalogue {
        schema: u32,
        version: String,
        title: String,
        source: String,
        #[serde(default)]
        instrument: Vec<Instrument>,
        #[serde(default)]
        offence: Vec<Offence>,
        #[serde(default)]
        refusal_ground: Vec<RefusalGround>,
        #[serde(default)]
        mechanism: Vec<Mechanism>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Instrument {
        code: String,
        title: String,
        reference: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Citation {
        instrument: String,
        article: String,
        tag: String,
        note: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Offence {
        id: String,
        title: String,
        note: Option<String>,
        citations: Vec<Citation>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct RefusalGround {
        id: String,
        title: String,
        permitted: bool,
        citations: Vec<Citation>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Mechanism {
        id: String,
        title: String,
        lifecycle: String,
        authorisation: String,
        #[serde(default = "central_authority")]
        addressed_to: String,
        data_categories: Vec<String>,
        required_fields: Vec<String>,
        refusal_grounds: Vec<String>,
        citations: Vec<Citation>,
        #[serde(default)]
        clock: Vec<Clock>,
    }

    fn central_authority() -> String {
        "central-authority".to_owned()
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Clock {
        id: String,
        title: String,
        kind: String,
        duration: String,
        starts: String,
        stops: Vec<String>,
        instruments: Vec<String>,
        urgency: String,
        citations: Vec<Citation>,
    }

    /// Collects problems while converting.
    struct Checker<'a> {
        problems: Vec<String>,
        instruments: BTreeSet<&'a str>,
    }

    impl<'a> Checker<'a> {
        fn citations(&mut self, at: &str, list: &'a [Citation]) -> Vec<super::Citation> {
            if list.is_empty() {
                self.problems
                    .push(format!("{at}: needs at least one citation"));
            }
            list.iter()
                .filter_map(|c| {
                    if !self.instruments.contains(c.instrument.as_str()) {
                        self.problems.push(format!(
                            "{at}: citation names unknown instrument `{}`",
                            c.instrument
                        ));
                    }
                    if c.article.trim().is_empty() {
                        self.problems
                            .push(format!("{at}: citation of {} has no article", c.instrument));
                    }
                    let Some(verification) = Verification::parse(&c.tag) else {
                        self.problems
                            .push(format!("{at}: tag `{}` is not one of V, S, T, U", c.tag));
                        return None;
                    };
                    Some(super::Citation {
                        instrument: c.instrument.clone(),
                        article: c.article.clone(),
                        verification,
                        note: c.note.clone(),
                    })
                })
                .collect()
        }

        fn parsed<T: FromStr>(&mut self, at: &str, text: &str) -> Option<T>
        where
            T::Err: fmt::Display,
        {
            text.parse::<T>()
                .map_err(|e| self.problems.push(format!("{at}: {e}")))
                .ok()
        }

        fn unique<'s>(&mut self, what: &str, ids: impl Iterator<Item = &'s str>) {
            let mut seen = BTreeSet::new();
            for id in ids {
                if !seen.insert(id) {
                    self.problems
                        .push(format!("{what} `{id}` is defined twice"));
                }
            }
        }
    }

    impl Catalogue {
        pub(super) fn check(self) -> Result<super::Catalogue, CatalogueError> {
            let mut ck = Checker {
                problems: Vec::new(),
                instruments: self.instrument.iter().map(|i| i.code.as_str()).collect(),
            };
            if self.schema != 1 {
                ck.problems.push(format!(
                    "schema {} is not supported by this comity (it reads schema 1)",
                    self.schema
                ));
            }
            ck.unique(
                "instrument",
                self.instrument.iter().map(|i| i.code.as_str()),
            );
            ck.unique("offence", self.offence.iter().map(|o| o.id.as_str()));
            ck.unique(
                "refusal ground",
                self.refusal_ground.iter().map(|g| g.id.as_str()),
            );
            ck.unique("mechanism", self.mechanism.iter().map(|m| m.id.as_str()));
            let grounds: BTreeSet<&str> =
                self.refusal_ground.iter().map(|g| g.id.as_str()).collect();

            let offences = self
                .offence
                .iter()
                .map(|o| super::Offence {
                    id: o.id.clone(),
                    title: o.title.clone(),
                    note: o.note.clone(),
                    citations: ck.citations(&format!("offence `{}`", o.id), &o.citations),
                })
                .collect();
            let refusal_grounds = self
                .refusal_ground
                .iter()
                .map(|g| super::RefusalGround {
                    id: g.id.clone(),
                    title: g.title.clone(),
                    permitted: g.permitted,
                    citations: ck.citations(&format!("refusal ground `{}`", g.id), &g.citations),
                })
                .collect();
            let mut mechanisms = Vec::new();
            for m in &self.mechanism {
                let at = format!("mechanism `{}`", m.id);
                let lifecycle = Lifecycle::parse(&m.lifecycle);
                if lifecycle.is_none() {
                    ck.problems.push(format!(
                        "{at}: lifecycle `{}` is not one of request, preservation, information, agreement",
                        m.lifecycle
                    ));
                }
                let authorisation_required = match m.authorisation.as_str() {
                    "required" => true,
                    "not-required" => false,
                    other => {
                        ck.problems.push(format!(
                            "{at}: authorisation `{other}` is not `required` or `not-required`"
                        ));
                        false
                    }
                };
                let addressed_to = ck.parsed::<crate::authority::AuthorityKind>(
                    &format!("{at} addressed_to"),
                    &m.addressed_to,
                );
                let data_categories = m
                    .data_categories
                    .iter()
                    .filter_map(|c| ck.parsed::<DataCategory>(&format!("{at} data_categories"), c))
                    .collect();
                let required_fields = m
                    .required_fields
                    .iter()
                    .filter_map(|f| ck.parsed::<Field>(&format!("{at} required_fields"), f))
                    .collect();
                for g in &m.refusal_grounds {
                    if !grounds.contains(g.as_str()) {
                        ck.problems
                            .push(format!("{at}: refusal ground `{g}` is not defined"));
                    }
                }
                let citations = ck.citations(&at, &m.citations);
                let mut clocks = Vec::new();
                ck.unique(
                    &format!("{at} clock"),
                    m.clock.iter().map(|c| c.id.as_str()),
                );
                for c in &m.clock {
                    let at = format!("{at} clock `{}`", c.id);
                    let kind = match c.kind.as_str() {
                        "deadline" => Some(ClockKind::Deadline),
                        "minimum" => Some(ClockKind::Minimum),
                        "expiry" => Some(ClockKind::Expiry),
                        other => {
                            ck.problems.push(format!(
                                "{at}: kind `{other}` is not deadline, minimum or expiry"
                            ));
                            None
                        }
                    };
                    let urgency = match c.urgency.as_str() {
                        "any" => Some(UrgencyFilter::Any),
                        "emergency" => Some(UrgencyFilter::Emergency),
                        "normal" => Some(UrgencyFilter::Normal),
                        other => {
                            ck.problems.push(format!(
                                "{at}: urgency `{other}` is not any, emergency or normal"
                            ));
                            None
                        }
                    };
                    for i in &c.instruments {
                        if !ck.instruments.contains(i.as_str()) {
                            ck.problems.push(format!("{at}: unknown instrument `{i}`"));
                        }
                    }
                    let duration = ck.parsed::<ClockDuration>(&at, &c.duration);
                    let starts = ck.parsed::<State>(&at, &c.starts);
                    let stops: Vec<State> = c
                        .stops
                        .iter()
                        .filter_map(|s| ck.parsed::<State>(&at, s))
                        .collect();
                    let citations = ck.citations(&at, &c.citations);
                    if let (Some(kind), Some(urgency), Some(duration), Some(starts)) =
                        (kind, urgency, duration, starts)
                    {
                        clocks.push(ClockRule {
                            id: c.id.clone(),
                            title: c.title.clone(),
                            kind,
                            duration,
                            starts,
                            stops,
                            instruments: c.instruments.clone(),
                            urgency,
                            citations,
                        });
                    }
                }
                if let Some(lifecycle) = lifecycle {
                    let rules = LifecycleRules {
                        lifecycle,
                        authorisation_required,
                    };
                    let reachable = crate::lifecycle::reachable_states(rules);
                    for c in &clocks {
                        if !reachable.contains(&c.starts) {
                            ck.problems.push(format!(
                                "{at} clock `{}`: starts in `{}`, which a {} request never reaches",
                                c.id, c.starts, m.lifecycle
                            ));
                        }
                    }
                    mechanisms.push(super::Mechanism {
                        id: m.id.clone(),
                        title: m.title.clone(),
                        lifecycle,
                        authorisation_required,
                        addressed_to: addressed_to
                            .unwrap_or(crate::authority::AuthorityKind::CentralAuthority),
                        data_categories,
                        required_fields,
                        refusal_grounds: m.refusal_grounds.clone(),
                        citations,
                        clocks,
                    });
                }
            }
            if !ck.problems.is_empty() {
                return Err(CatalogueError {
                    problems: ck.problems,
                });
            }
            Ok(super::Catalogue {
                version: self.version,
                title: self.title,
                source: self.source,
                instruments: self
                    .instrument
                    .into_iter()
                    .map(|i| super::Instrument {
                        code: i.code,
                        title: i.title,
                        reference: i.reference,
                    })
                    .collect(),
                offences,
                refusal_grounds,
                mechanisms,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_loads_and_covers_every_mechanism_of_the_treaties() {
        let cat = Catalogue::embedded().unwrap();
        for id in [
            "expedited-preservation",
            "preserved-traffic-disclosure",
            "production-order",
            "domain-registration-request",
            "subscriber-information-order",
            "giving-effect-order",
            "emergency-disclosure",
            "mla-general",
            "mla-stored-data",
            "realtime-traffic-collection",
            "interception",
            "spontaneous-information",
            "joint-investigation",
            "asset-freeze-seizure",
            "confiscation",
            "asset-return",
        ] {
            let m = cat.mechanism(id).unwrap_or_else(|| panic!("{id} missing"));
            assert!(!m.citations.is_empty(), "{id} has no citation");
            assert!(!m.required_fields.is_empty(), "{id} has no required fields");
        }
        let grounds: Vec<_> = cat
            .refusal_grounds
            .iter()
            .filter(|g| !g.permitted)
            .map(|g| g.id.as_str())
            .collect();
        assert_eq!(grounds, ["fiscal-nature", "bank-secrecy"]);
    }

    #[test]
    fn a_changed_article_is_a_data_change() {
        let text = EMBEDDED.replace(
            "{ instrument = \"BC\", article = \"29(7)\", tag = \"V\" }",
            "{ instrument = \"BC\", article = \"29(8)\", tag = \"U\" }",
        );
        assert_ne!(text, EMBEDDED, "the replacement must hit");
        let cat = Catalogue::parse(&text).unwrap();
        let clock = &cat.mechanism("expedited-preservation").unwrap().clocks[0];
        assert_eq!(clock.citations[0].to_string(), "BC Art 29(8) [U]");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = EMBEDDED
            .replace("lifecycle = \"preservation\"", "lifecycle = \"lasting\"")
            .replace(
                "\"necessity\", \"follow_up_mla_intent\"",
                "\"necesity\", \"follow_up_mla_intent\"",
            )
            .replace(
                "refusal_grounds = [\"essential-interests\"]",
                "refusal_grounds = [\"whim\"]",
            )
            .replacen("tag = \"V\"", "tag = \"X\"", 1)
            .replacen("duration = \"60d\"", "duration = \"sixty days\"", 1);
        let err = Catalogue::parse(&text).unwrap_err();
        let all = err.problems.join("\n");
        for needle in ["lasting", "necesity", "whim", "tag `X`", "sixty days"] {
            assert!(all.contains(needle), "missing {needle} in:\n{all}");
        }
    }

    #[test]
    fn unknown_keys_and_schemas_are_refused() {
        assert!(Catalogue::parse(&EMBEDDED.replace("schema = 1", "schema = 2")).is_err());
        assert!(
            Catalogue::parse(&EMBEDDED.replace("schema = 1", "schema = 1\ncolour = \"blue\""))
                .is_err()
        );
        assert!(Catalogue::parse("not toml [").is_err());
    }
}
