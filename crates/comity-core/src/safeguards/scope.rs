//! Whether the offences of a request are within the scope of the instrument it rests on: catalogue offences, the
//! serious-crime threshold, thresholds per data category, and speech-type offences outside the catalogues.

use super::finding::{Finding, penalty};
use super::profile::Profile;
use super::rules::SafeguardRules;
use crate::catalogue::Catalogue;
use crate::request::RequestDocument;

/// Which side judges: the requesting side may not send what is out of scope; the requested side is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    Requesting,
    Requested,
}

impl Side {
    /// Block when sending; warn the requested authority, who decides.
    fn finding(
        self,
        code: &'static str,
        message: String,
        rule: &[crate::catalogue::Citation],
    ) -> Finding {
        match self {
            Self::Requesting => Finding::block(code, message, rule),
            Self::Requested => Finding::warn(code, message, rule),
        }
    }

    fn advice(self, requesting: &str, requested: &str) -> String {
        match self {
            Self::Requesting => requesting.to_owned(),
            Self::Requested => requested.to_owned(),
        }
    }
}

/// Scope findings for the offences of `doc`, as described by the requesting State's profile `from`.
pub(super) fn scope_findings(
    doc: &RequestDocument,
    catalogue: &Catalogue,
    rules: &SafeguardRules,
    from: &Profile,
    side: Side,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let scope = rules.scope(&doc.instrument);
    if scope.is_none() && catalogue.instrument(&doc.instrument).is_some() {
        findings.push(Finding::warn(
            "scope.no-rule",
            format!(
                "the safeguard rules give no scope for {}; check by hand that the offences are covered",
                doc.instrument
            ),
            &[],
        ));
    }
    let mut speech = Vec::new();
    for o in &doc.offences {
        let Some(entry) = catalogue.offence(&o.catalogue_entry) else {
            continue;
        };
        let generic = entry.id == rules.generic_offence;
        let own = !generic
            && entry
                .citations
                .iter()
                .any(|c| c.instrument == doc.instrument);
        let national = from.offence(&o.national_provision);
        match national {
            None => findings.push(Finding::info(
                "scope.provision-not-in-profile",
                format!(
                    "`{}` is not among the offences of the profile of {}; the requested State will judge dual criminality on the summary of facts alone",
                    o.national_provision, from.state
                ),
                &[],
            )),
            Some(n) => {
                if n.catalogue_entry != o.catalogue_entry {
                    findings.push(Finding::warn(
                        "scope.offence-mapping-differs",
                        format!(
                            "the profile of {} maps `{}` to `{}`, the request names `{}`; name the entry the profile gives, or correct the profile",
                            from.state, o.national_provision, n.catalogue_entry, o.catalogue_entry
                        ),
                        &[],
                    ));
                }
                if o.max_penalty_months > n.max_penalty_months {
                    findings.push(Finding::warn(
                        "scope.penalty-above-profile",
                        format!(
                            "the request gives `{}` a maximum of {}, the profile of {} gives {}; state the penalty the law provides",
                            o.national_provision,
                            penalty(o.max_penalty_months),
                            from.state,
                            penalty(n.max_penalty_months)
                        ),
                        &[],
                    ));
                }
            }
        }
        let text = format!(
            "{} {}",
            o.national_provision,
            national.map(|n| n.description.as_str()).unwrap_or_default()
        )
        .to_lowercase();
        // A speech-type offence relabelled as a catalogue offence is still outside the catalogues.
        let outside_catalogue =
            generic || national.is_some_and(|n| n.catalogue_entry == rules.generic_offence);
        let is_speech = national.is_some_and(|n| n.speech)
            || rules
                .speech
                .indicators
                .iter()
                .any(|i| text.contains(i.as_str()));
        if is_speech && outside_catalogue {
            speech.push(o.national_provision.as_str());
        }
        if let Some(scope) = scope
            && !own
            && let Some(min) = scope.other_offences_min_penalty_months
            && o.max_penalty_months < min
        {
            findings.push(side.finding(
                "scope.below-serious-crime-threshold",
                format!(
                    "`{}` carries at most {}, below the {} that {} requires for an offence outside its own catalogue ({}). {}",
                    o.national_provision,
                    penalty(o.max_penalty_months),
                    penalty(min),
                    doc.instrument,
                    scope.title,
                    side.advice(
                        "Rest the request on a catalogue offence, or on another instrument both States are party to",
                        "The request is outside the instrument's scope: it may be refused as non-conforming"
                    )
                ),
                &scope.citations,
            ));
        }
    }
    if !speech.is_empty() {
        let all = speech.len() == doc.offences.len();
        let message = format!(
            "{} {} outside the offence catalogues: {}. {}",
            if all {
                "the request rests only on"
            } else {
                "the request also names"
            },
            if speech.len() == 1 {
                "a speech-type offence"
            } else {
                "speech-type offences"
            },
            speech
                .iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", "),
            if all {
                side.advice(
                    "It is outside the scope of cooperation and cannot be sent",
                    "It is outside the scope of cooperation: consider the essential-interests and non-discrimination grounds",
                )
            } else {
                "Assistance may be given for the other offences only; state that the material will not be used for these".to_owned()
            }
        );
        findings.push(if all {
            side.finding(
                "scope.speech-offence-only",
                message,
                &rules.speech.citations,
            )
        } else {
            Finding::warn(
                "scope.speech-offence-among-others",
                message,
                &rules.speech.citations,
            )
        });
    }
    for t in rules
        .data_thresholds
        .iter()
        .filter(|t| t.instrument == doc.instrument && t.mechanisms.contains(&doc.mechanism))
    {
        let categories: Vec<_> = doc
            .data_sought
            .iter()
            .map(|d| d.category)
            .filter(|c| t.categories.contains(c))
            .collect();
        if categories.is_empty() {
            continue;
        }
        let met = doc.offences.iter().any(|o| {
            t.listed_offences.contains(&o.catalogue_entry)
                || o.max_penalty_months >= t.min_penalty_months
        });
        if !met {
            let mut names: Vec<&str> = categories.iter().map(|c| c.as_str()).collect();
            names.dedup();
            findings.push(side.finding(
                "scope.data-category-threshold",
                format!(
                    "{} data need an offence punishable by at least {} or a listed offence under {}; none of the offences qualifies. {}",
                    names.join(" and "),
                    penalty(t.min_penalty_months),
                    t.instrument,
                    side.advice(
                        "Seek subscriber or identification data only, or use mutual legal assistance",
                        "The order may not be executed for these data"
                    )
                ),
                &t.citations,
            ));
        }
    }
    findings
}
