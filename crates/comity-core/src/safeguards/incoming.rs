//! The requested side: what a request that arrives is, which refusal grounds are open and which are not, whether
//! dual criminality is met on the conduct, the decision checklist, and the check of a decision before it is recorded.

use super::conditions::Conditions;
use super::finding::Finding;
use super::outgoing::{document_findings, field_findings, safeguard_findings};
use super::profile::Profile;
use super::rules::SafeguardRules;
use super::scope::{Side, scope_findings};
use crate::catalogue::{Catalogue, Citation, Mechanism};
use crate::lifecycle::Action;
use crate::request::RequestDocument;

/// A refusal ground the requested State may rely on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenGround {
    /// Catalogue id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// A refusal ground that may not be used here, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarredGround {
    /// Catalogue id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Why it is barred.
    pub reason: String,
    /// Where that comes from.
    pub citations: Vec<Citation>,
}

/// Dual criminality as judged on the conduct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DualCriminality {
    /// The requested State may require it, and does, for an offence not exempt.
    pub required: bool,
    /// Every offence concerned is criminal in the requested State, judged on the conduct.
    pub met: bool,
    /// One line per step of the reasoning.
    pub reasoning: Vec<String>,
    /// Where the rules come from.
    pub citations: Vec<Citation>,
}

/// A question the requested authority must answer before deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistItem {
    /// Stable id.
    pub id: String,
    /// The question.
    pub question: String,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// What the requested authority sees when a request arrives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingAssessment {
    /// Mechanism id.
    pub mechanism: String,
    /// Findings on the request.
    pub findings: Vec<Finding>,
    /// Grounds open to a refusal.
    pub open_grounds: Vec<OpenGround>,
    /// Grounds that may not be used.
    pub barred_grounds: Vec<BarredGround>,
    /// Dual criminality.
    pub dual_criminality: DualCriminality,
    /// Questions to answer before any decision.
    pub checklist: Vec<ChecklistItem>,
}

/// Assesses a request that arrived from `from` at `to` (the requested State).
pub fn check_incoming(
    doc: &RequestDocument,
    catalogue: &Catalogue,
    rules: &SafeguardRules,
    from: &Profile,
    to: &Profile,
) -> IncomingAssessment {
    let mut findings: Vec<Finding> = document_findings(doc, catalogue, rules)
        .into_iter()
        .map(|mut f| {
            f.severity = super::Severity::Warn;
            f
        })
        .collect();
    let barred_always: Vec<BarredGround> = catalogue
        .refusal_grounds
        .iter()
        .filter(|g| !g.permitted)
        .map(|g| BarredGround {
            id: g.id.clone(),
            title: g.title.clone(),
            reason: "the treaties exclude it as a ground for refusal".to_owned(),
            citations: g.citations.clone(),
        })
        .collect();
    let Some(mechanism) = catalogue.mechanism(&doc.mechanism) else {
        return IncomingAssessment {
            mechanism: doc.mechanism.clone(),
            findings,
            open_grounds: Vec::new(),
            barred_grounds: barred_always,
            dual_criminality: DualCriminality {
                required: false,
                met: false,
                reasoning: vec!["the mechanism is unknown: nothing can be judged".to_owned()],
                citations: Vec::new(),
            },
            checklist: Vec::new(),
        };
    };
    if !to.is_party(&doc.instrument) || !from.is_party(&doc.instrument) {
        let who = if to.is_party(&doc.instrument) {
            &from.name
        } else {
            &to.name
        };
        findings.push(Finding::warn(
            "instrument.not-party",
            format!(
                "{who} is not party to {}: the request creates no obligation under it; treat it under another instrument or domestic law",
                doc.instrument
            ),
            &rules.rules.parties.citations,
        ));
    }
    findings.extend(field_findings(doc, mechanism, rules, Side::Requested));
    findings.extend(scope_findings(doc, catalogue, rules, from, Side::Requested));
    findings.extend(safeguard_findings(
        doc,
        mechanism,
        rules,
        to,
        Side::Requested,
    ));

    let dual_criminality = judge_dual_criminality(doc, mechanism, rules, from, to);
    if dual_criminality.required && !dual_criminality.met {
        findings.push(Finding::warn(
            "dual-criminality.not-met",
            format!(
                "dual criminality is required and not shown for every offence: {}",
                dual_criminality.reasoning.join("; ")
            ),
            &dual_criminality.citations,
        ));
    }

    let mut open_grounds = Vec::new();
    let mut barred_grounds = barred_always;
    for id in &mechanism.refusal_grounds {
        let Some(ground) = catalogue.refusal_ground(id) else {
            continue;
        };
        if !ground.permitted {
            continue;
        }
        let dual_criminality_open = dual_criminality.required && !dual_criminality.met;
        if id == "dual-criminality" && !dual_criminality_open {
            let reason = if dual_criminality.required {
                format!(
                    "the conduct is criminal in {}: dual criminality is met",
                    to.name
                )
            } else {
                format!(
                    "{} may not require dual criminality for this request",
                    to.name
                )
            };
            barred_grounds.push(BarredGround {
                id: ground.id.clone(),
                title: ground.title.clone(),
                reason,
                citations: dual_criminality.citations.clone(),
            });
            continue;
        }
        open_grounds.push(OpenGround {
            id: ground.id.clone(),
            title: ground.title.clone(),
            citations: ground.citations.clone(),
        });
    }
    let checklist = rules
        .checklist
        .iter()
        .filter(|c| mechanism.refusal_grounds.contains(&c.ground))
        .map(|c| ChecklistItem {
            id: c.id.clone(),
            question: c.question.clone(),
            citations: c.citations.clone(),
        })
        .collect();
    IncomingAssessment {
        mechanism: mechanism.id.clone(),
        findings,
        open_grounds,
        barred_grounds,
        dual_criminality,
        checklist,
    }
}

/// Dual criminality, judged on what the offences punish rather than on what they are called (BC Art 25(5)).
fn judge_dual_criminality(
    doc: &RequestDocument,
    mechanism: &Mechanism,
    rules: &SafeguardRules,
    from: &Profile,
    to: &Profile,
) -> DualCriminality {
    let mut citations = rules.conduct_citations.clone();
    let mut reasoning = Vec::new();
    let rule = rules
        .dual_criminality
        .iter()
        .find(|r| r.mechanism == mechanism.id && r.instruments.contains(&doc.instrument));
    let stated = to.dual_criminality_for(&mechanism.id);
    let profile_requires = stated.is_some_and(|d| d.required);
    if let Some(d) = stated {
        citations.extend(d.citations.iter().cloned());
    }
    let wants = match rule {
        Some(r) => {
            citations.extend(r.citations.iter().cloned());
            match r.declaration {
                Some(kind) => match to.declaration(kind) {
                    Some(d) => {
                        citations.extend(d.citations.iter().cloned());
                        reasoning.push(format!(
                            "{} made the `{kind}` declaration: it may require dual criminality outside the listed offences",
                            to.name
                        ));
                        true
                    }
                    None => {
                        reasoning.push(format!(
                            "{} did not make the `{kind}` declaration: it may not require dual criminality",
                            to.name
                        ));
                        false
                    }
                },
                None => profile_requires,
            }
        }
        None => profile_requires,
    };
    if rule.is_none_or(|r| r.declaration.is_none()) {
        reasoning.push(format!(
            "{} {} dual criminality for {}",
            to.name,
            if profile_requires {
                "requires"
            } else {
                "does not require"
            },
            mechanism.id
        ));
    }
    let exempt = |entry: &str, months: u32| {
        rule.is_some_and(|r| {
            r.listed_offences.iter().any(|l| l == entry)
                && r.listed_min_penalty_months.is_none_or(|m| months >= m)
        })
    };
    let mut concerned = 0;
    let mut met = true;
    for o in &doc.offences {
        let is_exempt = exempt(&o.catalogue_entry, o.max_penalty_months);
        if is_exempt && wants {
            reasoning.push(format!(
                "`{}` ({}) is a listed offence: dual criminality may not be required for it",
                o.national_provision, o.catalogue_entry
            ));
        }
        if !is_exempt {
            concerned += 1;
        }
        let counts = wants && !is_exempt;
        match from.offence(&o.national_provision) {
            None => {
                reasoning.push(format!(
                    "`{}`: the profile of {} does not describe the conduct; judge it on the summary of facts",
                    o.national_provision, from.state
                ));
                if counts {
                    met = false;
                }
            }
            Some(n) => {
                let matches: Vec<String> = to
                    .offences
                    .iter()
                    .filter(|t| t.conduct.iter().any(|c| n.conduct.contains(c)))
                    .map(|t| format!("`{}`", t.provision))
                    .collect();
                let conduct = n
                    .conduct
                    .iter()
                    .map(|c| {
                        rules
                            .conducts
                            .iter()
                            .find(|k| &k.id == c)
                            .map_or(c.as_str(), |k| k.description.as_str())
                    })
                    .collect::<Vec<_>>()
                    .join("; or ");
                if matches.is_empty() {
                    reasoning.push(format!(
                        "`{}` punishes {conduct}; no offence of {} punishes that conduct",
                        o.national_provision, to.state
                    ));
                    if counts {
                        met = false;
                    }
                } else {
                    let uncovered: Vec<&str> = n
                        .conduct
                        .iter()
                        .filter(|c| !to.offences.iter().any(|t| t.conduct.contains(c)))
                        .map(String::as_str)
                        .collect();
                    reasoning.push(format!(
                        "`{}` punishes {conduct}; in {} {} {} the same conduct, whatever its label{}",
                        o.national_provision,
                        to.state,
                        matches.join(", "),
                        if matches.len() == 1 { "punishes" } else { "punish" },
                        if uncovered.is_empty() {
                            String::new()
                        } else {
                            format!(
                                " (not {}: check the facts fall under the shared conduct)",
                                uncovered.join(", ")
                            )
                        }
                    ));
                }
            }
        }
    }
    DualCriminality {
        required: wants && concerned > 0,
        met,
        reasoning,
        citations,
    }
}

/// What the requested authority decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Execute, execute partially, preserve, accept, postpone, refuse or decline.
    pub action: Action,
    /// Refusal grounds relied on (catalogue ids).
    pub grounds: Vec<String>,
    /// Reasons, in words.
    pub reasons: String,
    /// The requesting State was consulted before this decision.
    pub consulted_before: bool,
    /// Answers to the checklist.
    pub checklist_answers: Vec<ChecklistAnswer>,
    /// Conditions attached to execution.
    pub conditions: Option<Conditions>,
}

/// An answer to a checklist item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistAnswer {
    /// The item's id.
    pub id: String,
    /// The concern the item asks about is present.
    pub concern: bool,
    /// What was considered.
    pub note: String,
}

/// Judges a decision against the assessment of its request. Any [`super::Severity::Block`] means the decision may
/// not be recorded as it stands.
pub fn check_decision(
    decision: &Decision,
    assessment: &IncomingAssessment,
    rules: &SafeguardRules,
) -> Vec<Finding> {
    use Action as A;
    let r = &rules.rules;
    let mut findings = Vec::new();
    if !matches!(
        decision.action,
        A::Execute
            | A::ExecutePartially
            | A::Preserve
            | A::Accept
            | A::Postpone
            | A::Refuse
            | A::Decline
    ) {
        findings.push(Finding::block(
            "decision.not-a-decision",
            format!(
                "`{}` is not a decision on a request; decide with execute, execute-partially, preserve, accept, postpone, refuse or decline",
                decision.action
            ),
            &[],
        ));
        return findings;
    }
    for item in &assessment.checklist {
        match decision.checklist_answers.iter().find(|a| a.id == item.id) {
            None => findings.push(Finding::block(
                "decision.checklist-incomplete",
                format!("answer `{}` before deciding: {}", item.id, item.question),
                &item.citations,
            )),
            Some(a) if a.note.trim().is_empty() => findings.push(Finding::block(
                "decision.checklist-incomplete",
                format!(
                    "say what was considered for `{}`: {}",
                    item.id, item.question
                ),
                &item.citations,
            )),
            Some(a)
                if a.concern
                    && !matches!(decision.action, A::Refuse | A::Postpone)
                    && !decision.grounds.contains(&item.id) =>
            {
                findings.push(Finding::warn(
                    "decision.checklist-concern",
                    format!(
                        "the answer to `{}` records a concern, yet the request is to be executed; refuse on that ground, attach conditions, or explain in the reasons why it does not weigh",
                        item.id
                    ),
                    &item.citations,
                ));
            }
            Some(_) => {}
        }
    }
    let needs_reasons = matches!(
        decision.action,
        A::Refuse | A::Postpone | A::ExecutePartially
    );
    if needs_reasons && decision.reasons.trim().is_empty() {
        findings.push(Finding::block(
            "decision.reasons-missing",
            format!(
                "give the reasons for the decision to {}: the requesting State must be told why",
                decision.action
            ),
            &r.reasons.citations,
        ));
    }
    match decision.action {
        A::Refuse => {
            if decision.grounds.is_empty() {
                let open: Vec<&str> = assessment
                    .open_grounds
                    .iter()
                    .map(|g| g.id.as_str())
                    .collect();
                findings.push(Finding::block(
                    "decision.ground-missing",
                    format!(
                        "name the ground of refusal; open against this request: {}",
                        if open.is_empty() {
                            "none".to_owned()
                        } else {
                            open.join(", ")
                        }
                    ),
                    &r.reasons.citations,
                ));
            }
            for g in &decision.grounds {
                if let Some(b) = assessment.barred_grounds.iter().find(|b| &b.id == g) {
                    findings.push(Finding::block(
                        "decision.ground-barred",
                        format!("`{g}` cannot ground a refusal: {}", b.reason),
                        &b.citations,
                    ));
                } else if !assessment.open_grounds.iter().any(|o| &o.id == g) {
                    let open: Vec<&str> = assessment
                        .open_grounds
                        .iter()
                        .map(|g| g.id.as_str())
                        .collect();
                    findings.push(Finding::block(
                        "decision.ground-not-open",
                        format!(
                            "`{g}` is not a ground open against {}; open grounds: {}",
                            assessment.mechanism,
                            if open.is_empty() {
                                "none".to_owned()
                            } else {
                                open.join(", ")
                            }
                        ),
                        &[],
                    ));
                }
            }
            if !decision.consulted_before {
                findings.push(Finding::block(
                    "decision.consultation-missing",
                    "consult the requesting State before a final refusal, and consider partial or conditional execution",
                    &r.consultation.citations,
                ));
            }
        }
        A::Postpone => {
            if !decision.consulted_before {
                findings.push(Finding::warn(
                    "decision.consultation-advised",
                    "consult the requesting State about the postponement, and consider partial or conditional execution",
                    &r.consultation.citations,
                ));
            }
            findings.push(Finding::info(
                "decision.postponement",
                format!(
                    "{}; tell the requesting State when execution can resume",
                    r.postponement.title
                ),
                &r.postponement.citations,
            ));
        }
        _ => {}
    }
    if let Some(c) = &decision.conditions {
        if c.is_empty() {
            findings.push(Finding::block(
                "decision.conditions-empty",
                "conditional execution needs at least one condition: confidentiality, the purposes allowed, or consent before onward transfer",
                &r.conditions.citations,
            ));
        } else {
            findings.push(Finding::info(
                "decision.conditions-attached",
                "the requesting State must accept the conditions before the evidence is supplied; once accepted they bind every use of it",
                &r.conditions.citations,
            ));
        }
    }
    findings
}
