//! The requesting side: every check a request must pass before it may leave.

use super::authorisation::authorisation_required;
use super::finding::Finding;
use super::profile::{DeclarationKind, Profile};
use super::rules::{Route, SafeguardRules};
use super::scope::{Side, scope_findings};
use crate::authority::AuthorityKind;
use crate::catalogue::{Catalogue, Citation, Mechanism};
use crate::names::named_enum;
use crate::request::{Field, RequestDocument, Urgency, check_document, missing_fields};

named_enum! {
    /// The role of the person who issues (or validates) a measure.
    IssuerRole ("issuer role") {
        /// A judge.
        Judge = "judge",
        /// A court.
        Court = "court",
        /// A public prosecutor.
        Prosecutor = "prosecutor",
        /// Police or another investigating authority.
        InvestigatingAuthority = "investigating-authority",
        /// Anyone else.
        Other = "other",
    }
}

/// How a request is being sent: who sends it to whom, who issued it, and whether a judge authorised it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sending {
    /// The kind of the sending authority.
    pub from_kind: AuthorityKind,
    /// The kind of the addressee.
    pub to_kind: AuthorityKind,
    /// The role of the issuer.
    pub issuer: IssuerRole,
    /// The role of whoever validated it, if someone did.
    pub validated_by: Option<IssuerRole>,
    /// A judicial authorisation, signed by a user with the judicial role, is recorded on the request.
    pub judicial_authorisation: bool,
}

impl Sending {
    /// The channel used.
    pub fn route(&self) -> Route {
        Route {
            from: self.from_kind,
            to: self.to_kind,
        }
    }
}

/// Fields that have a dedicated check with its own code and citations.
const DEDICATED: [Field; 3] = [
    Field::Necessity,
    Field::EmergencyJustification,
    Field::CollectionPeriod,
];

/// Citations of a mechanism under one instrument (all of them when none matches).
pub(super) fn cited_under(mechanism: &Mechanism, instrument: &str) -> Vec<Citation> {
    let under: Vec<Citation> = mechanism
        .citations
        .iter()
        .filter(|c| c.instrument == instrument)
        .cloned()
        .collect();
    if under.is_empty() {
        mechanism.citations.clone()
    } else {
        under
    }
}

fn joined<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every finding on a request before it leaves `from` for `to`. Any [`super::Severity::Block`] stops sending.
pub fn check_outgoing(
    doc: &RequestDocument,
    catalogue: &Catalogue,
    rules: &SafeguardRules,
    from: &Profile,
    to: &Profile,
    sending: &Sending,
) -> Vec<Finding> {
    let mut findings = document_findings(doc, catalogue, rules);
    let Some(mechanism) = catalogue.mechanism(&doc.mechanism) else {
        return findings;
    };
    findings.extend(party_findings(doc, mechanism, rules, from, to));
    findings.extend(field_findings(doc, mechanism, rules, Side::Requesting));
    findings.extend(scope_findings(
        doc,
        catalogue,
        rules,
        from,
        Side::Requesting,
    ));
    findings.extend(issuing_and_authorisation(
        doc, mechanism, rules, from, sending,
    ));
    findings.extend(safeguard_findings(
        doc,
        mechanism,
        rules,
        to,
        Side::Requesting,
    ));
    if !to.accepts_language(&doc.language) {
        let mut citations = rules.rules.language.citations.clone();
        citations.extend(to.language_citations.iter().cloned());
        findings.push(Finding::block(
            "language.not-accepted",
            format!(
                "{} does not accept requests in `{}`; translate the request into one of: {}",
                to.name,
                doc.language,
                to.languages.join(", ")
            ),
            &citations,
        ));
    }
    findings.extend(channel_findings(doc, rules, to, sending));
    findings
}

/// The catalogue check of the document, each problem under a stable code.
pub(super) fn document_findings(
    doc: &RequestDocument,
    catalogue: &Catalogue,
    rules: &SafeguardRules,
) -> Vec<Finding> {
    let scope = rules
        .scope(&doc.instrument)
        .map(|s| s.citations.clone())
        .unwrap_or_default();
    let mechanism_citations = catalogue
        .mechanism(&doc.mechanism)
        .map(|m| cited_under(m, &doc.instrument))
        .unwrap_or_default();
    check_document(doc, catalogue)
        .into_iter()
        .map(|p| {
            let message = format!("{}: {}", p.pointer, p.message);
            if p.pointer.starts_with("/offences/") && p.pointer.ends_with("/catalogue_entry") {
                Finding::block("scope.offence-outside-catalogue", message, &scope)
            } else if p.pointer.starts_with("/data_sought/") && p.pointer.ends_with("/category") {
                Finding::block(
                    "data.category-not-for-measure",
                    message,
                    &mechanism_citations,
                )
            } else {
                Finding::block("document.invalid", message, &[])
            }
        })
        .collect()
}

/// Both States must be party to the instrument, and the request must be addressed to the State of `to`.
fn party_findings(
    doc: &RequestDocument,
    mechanism: &Mechanism,
    rules: &SafeguardRules,
    from: &Profile,
    to: &Profile,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if doc.requested_state != to.state {
        findings.push(Finding::block(
            "document.requested-state-mismatch",
            format!(
                "the request is addressed to {} but checked against the profile of {}; check it against the requested State's profile",
                doc.requested_state, to.state
            ),
            &[],
        ));
    }
    let common: Vec<&str> = from
        .instruments
        .iter()
        .filter(|i| to.is_party(i) && mechanism.citations.iter().any(|c| &c.instrument == *i))
        .map(String::as_str)
        .collect();
    for (profile, role) in [(from, "requesting"), (to, "requested")] {
        if !profile.is_party(&doc.instrument) {
            let advice = if common.is_empty() {
                format!(
                    "no instrument that provides for {} binds both States; consider another mechanism or cooperation outside the treaties",
                    mechanism.title.to_lowercase()
                )
            } else {
                format!(
                    "rest the request on an instrument both States are party to: {}",
                    common.join(", ")
                )
            };
            findings.push(Finding::block(
                "instrument.not-party",
                format!(
                    "{} (the {role} State) is not party to {}; {advice}",
                    profile.name, doc.instrument
                ),
                &rules.rules.parties.citations,
            ));
        }
    }
    findings
}

/// Required fields of the mechanism, other than those with a dedicated check.
pub(super) fn field_findings(
    doc: &RequestDocument,
    mechanism: &Mechanism,
    rules: &SafeguardRules,
    side: Side,
) -> Vec<Finding> {
    let mut citations = cited_under(mechanism, &doc.instrument);
    citations.extend(rules.rules.required_content.citations.iter().cloned());
    if side == Side::Requested {
        citations.extend(rules.rules.further_information.citations.iter().cloned());
    }
    missing_fields(doc, mechanism)
        .into_iter()
        .filter(|f| !DEDICATED.contains(f))
        .map(|f| match side {
            Side::Requesting => Finding::block(
                "fields.missing",
                format!("fill in `{f}`: {} requires it", mechanism.title.to_lowercase()),
                &citations,
            ),
            Side::Requested => Finding::warn(
                "fields.missing",
                format!(
                    "the request leaves `{f}` empty although {} requires it; ask the requesting State for it before deciding",
                    mechanism.title.to_lowercase()
                ),
                &citations,
            ),
        })
        .collect()
}

/// Who may issue the measure, and whether a judicial authorisation is needed and recorded.
fn issuing_and_authorisation(
    doc: &RequestDocument,
    mechanism: &Mechanism,
    rules: &SafeguardRules,
    from: &Profile,
    sending: &Sending,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut validation_pending = false;
    for rule in rules.issuing.iter().filter(|r| {
        r.instrument == doc.instrument
            && r.mechanisms.contains(&doc.mechanism)
            && doc
                .data_sought
                .iter()
                .any(|d| r.categories.contains(&d.category))
    }) {
        let competent = |role: IssuerRole| rule.issuers.contains(&role);
        if competent(sending.issuer) || sending.validated_by.is_some_and(competent) {
            continue;
        }
        let categories: Vec<&str> = rule.categories.iter().map(|c| c.as_str()).collect();
        if rule.emergency_without_validation && doc.urgency == Urgency::Emergency {
            validation_pending = true;
            let mut citations = rule.citations.clone();
            citations.extend(rules.emergency_validation.citations.iter().cloned());
            findings.push(Finding::warn(
                "issuer.validation-pending",
                format!(
                    "issued by the role `{}` without prior validation: have a {} validate it within {}, or data received under it must be quarantined",
                    sending.issuer,
                    joined(&rule.issuers).replace(", ", " or "),
                    rules.emergency_validation.duration
                ),
                &citations,
            ));
        } else {
            findings.push(Finding::block(
                "issuer.not-competent",
                format!(
                    "the role `{}` may not issue an order for {} data under {}; have it issued or validated by a {}",
                    sending.issuer,
                    categories.join(" or "),
                    rule.instrument,
                    joined(&rule.issuers).replace(", ", " or ")
                ),
                &rule.citations,
            ));
        }
    }
    if let Some(citations) = authorisation_required(mechanism, doc, from, rules)
        && !sending.judicial_authorisation
        && !validation_pending
    {
        let authorities: Vec<&str> = from
            .judicial_authorisation
            .iter()
            .filter(|a| a.mechanism == mechanism.id)
            .map(|a| a.authority.as_str())
            .collect();
        let by = if authorities.is_empty() {
            "a user with the judicial role".to_owned()
        } else {
            format!("a user with the judicial role ({})", authorities.join("; "))
        };
        findings.push(Finding::block(
            "authorisation.missing",
            format!(
                "{} needs a judicial authorisation before it is sent; have it signed by {by}",
                mechanism.title
            ),
            &citations,
        ));
    }
    findings
}

/// Necessity, collection period and emergency: the safeguards a request must state.
pub(super) fn safeguard_findings(
    doc: &RequestDocument,
    mechanism: &Mechanism,
    rules: &SafeguardRules,
    to: &Profile,
    side: Side,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let severe = |code, message: String, citations: &[Citation]| match side {
        Side::Requesting => Finding::block(code, message, citations),
        Side::Requested => Finding::warn(code, message, citations),
    };
    let r = &rules.rules;
    if (mechanism.required_fields.contains(&Field::Necessity) || r.necessity.covers(&mechanism.id))
        && !doc.has(Field::Necessity)
    {
        findings.push(severe(
            "safeguard.necessity-not-stated",
            format!(
                "state why {} is necessary and proportionate to the offence",
                mechanism.title.to_lowercase()
            ),
            &r.necessity.citations,
        ));
    }
    if mechanism.required_fields.contains(&Field::CollectionPeriod)
        || r.collection_period.covers(&mechanism.id)
    {
        match &doc.collection_period {
            None => findings.push(severe(
                "collection.period-missing",
                "state the collection period in days and justify its length".to_owned(),
                &r.collection_period.citations,
            )),
            Some(p) if p.justification.trim().is_empty() => findings.push(severe(
                "collection.period-unjustified",
                format!(
                    "justify why collection must last {} days: a period without reasons is not proportionate",
                    p.days
                ),
                &r.collection_period.citations,
            )),
            Some(_) => {}
        }
        if let Some(p) = &doc.collection_period
            && let Some(limit) = to
                .collection_limits
                .iter()
                .find(|l| l.mechanism == mechanism.id)
            && p.days > limit.max_days
        {
            findings.push(Finding::warn(
                "collection.period-exceeds-limit",
                format!(
                    "the law of {} allows at most {} days of {} at a time; {} days were asked, so expect partial execution or a renewal request",
                    to.name,
                    limit.max_days,
                    mechanism.title.to_lowercase(),
                    p.days
                ),
                &limit.citations,
            ));
        }
    }
    if r.emergency.covers(&mechanism.id) && doc.urgency != Urgency::Emergency {
        findings.push(severe(
            "emergency.not-declared",
            format!(
                "{} is only for emergencies ({}); mark the request as an emergency with its justification, or use another mechanism",
                mechanism.title, r.emergency.title
            ),
            &r.emergency.citations,
        ));
    }
    if doc.urgency == Urgency::Emergency {
        match doc.emergency_justification.as_deref().map(str::trim) {
            None | Some("") => findings.push(severe(
                "emergency.justification-missing",
                format!("explain the emergency: {}", r.emergency.title),
                &r.emergency.citations,
            )),
            Some(text) => {
                let text = text.to_lowercase();
                if !r.emergency.terms.iter().any(|t| text.contains(t.as_str())) {
                    findings.push(Finding::warn(
                        "emergency.definition-not-shown",
                        format!(
                            "the justification does not show that {}; say whose life or safety is at risk and why the risk is imminent",
                            r.emergency.title.trim_start_matches("an emergency is ")
                        ),
                        &r.emergency.citations,
                    ));
                }
            }
        }
    }
    findings
}

/// The channel: a route open to the mechanism, and the requested State's declarations on routing and notice.
fn channel_findings(
    doc: &RequestDocument,
    rules: &SafeguardRules,
    to: &Profile,
    sending: &Sending,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let route = sending.route();
    match rules.channel(&doc.mechanism, &doc.instrument) {
        None => findings.push(Finding::warn(
            "channel.no-rule",
            format!(
                "the safeguard rules give no channel for {} under {}; check the route by hand",
                doc.mechanism, doc.instrument
            ),
            &[],
        )),
        Some(channel) if channel.routes.contains(&route) => {}
        Some(channel)
            if doc.urgency != Urgency::Normal && channel.urgent_routes.contains(&route) =>
        {
            match channel.closed_by.and_then(|kind| to.declaration(kind)) {
                Some(declaration) => {
                    let mut citations = declaration.citations.clone();
                    citations.extend(channel.urgent_citations.iter().cloned());
                    findings.push(Finding::block(
                        "channel.central-routing-declared",
                        format!(
                            "{} declared that urgent requests go through its central authority{}; send it as {}",
                            to.name,
                            declaration
                                .authority
                                .as_deref()
                                .map(|a| format!(" ({a})"))
                                .unwrap_or_default(),
                            joined(&channel.routes)
                        ),
                        &citations,
                    ));
                }
                None => findings.push(Finding::info(
                    "channel.copy-to-central-authority",
                    format!(
                        "urgent request sent {route}: send a copy to the central authority of {} at the same time",
                        to.name
                    ),
                    &channel.urgent_citations,
                )),
            }
        }
        Some(channel) => {
            let mut open = channel.routes.clone();
            if doc.urgency != Urgency::Normal
                && channel
                    .closed_by
                    .is_none_or(|k| to.declaration(k).is_none())
            {
                open.extend(channel.urgent_routes.iter().copied());
            }
            let mut citations = channel.citations.clone();
            if doc.urgency != Urgency::Normal {
                citations.extend(channel.urgent_citations.iter().cloned());
            }
            findings.push(Finding::block(
                "channel.route-not-allowed",
                format!(
                    "{} under {} cannot go {route}; send it as {}",
                    doc.mechanism,
                    doc.instrument,
                    joined(&open).replace(", ", " or ")
                ),
                &citations,
            ));
        }
    }
    if rules.rules.provider_notification.covers(&doc.mechanism)
        && let Some(declaration) = to.declaration(DeclarationKind::P2Art7Notification)
    {
        let mut citations = rules.rules.provider_notification.citations.clone();
        citations.extend(declaration.citations.iter().cloned());
        findings.push(Finding::warn(
            "channel.notify-requested-state",
            format!(
                "{} requires notice of orders to providers on its territory: send a copy to {} at the same time",
                to.name,
                declaration
                    .authority
                    .as_deref()
                    .unwrap_or("its designated authority")
            ),
            &citations,
        ));
    }
    findings
}
