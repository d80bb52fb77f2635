//! What a request says: the typed fields a caseworker fills in, for every mechanism.
//!
//! A [`RequestDocument`] holds already-parsed values (countries, authority ids, IP addresses, zoned times); the edge
//! that reads JSON builds it. [`check_document`] then checks it against the catalogue, and [`missing_fields`] says
//! which fields a mechanism still needs before the request may leave.

use std::net::IpAddr;

use time::OffsetDateTime;

use crate::authority::AuthorityId;
use crate::catalogue::{Catalogue, Mechanism};
use crate::country::IsoCountry;
use crate::names::named_enum;

named_enum! {
    /// A category of data (BC Art 1(d), 18(3); EEV Art 3(10)).
    DataCategory ("data category") {
        /// Subscriber information.
        Subscriber = "subscriber",
        /// Traffic data.
        Traffic = "traffic",
        /// Content data.
        Content = "content",
        /// EEV: data requested solely to identify the user.
        Identification = "identification",
    }
}

named_enum! {
    /// How fast the request must be handled.
    Urgency ("urgency") {
        /// Ordinary handling.
        Normal = "normal",
        /// Urgent, with reasons (for example data about to be deleted).
        Urgent = "urgent",
        /// Significant and imminent risk to the life or safety of a natural person.
        Emergency = "emergency",
    }
}

named_enum! {
    /// A field of a request, as the catalogue names it in `required_fields`.
    Field ("request field") {
        RequestingAuthority = "requesting_authority",
        RequestedState = "requested_state",
        Addressee = "addressee",
        DomesticLegalBasis = "domestic_legal_basis",
        Offences = "offences",
        SummaryOfFacts = "summary_of_facts",
        DataSought = "data_sought",
        RelationToOffence = "relation_to_offence",
        CustodianOrLocation = "custodian_or_location",
        Necessity = "necessity",
        FollowUpMlaIntent = "follow_up_mla_intent",
        AssistanceSought = "assistance_sought",
        Purpose = "purpose",
        PersonsConcerned = "persons_concerned",
        EmergencyJustification = "emergency_justification",
        CollectionPeriod = "collection_period",
        PreservationReference = "preservation_reference",
        Conditions = "conditions",
        Assets = "assets",
        JointInvestigation = "joint_investigation",
    }
}

/// An offence charged: a catalogue entry, the national provision and its maximum penalty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffenceCharged {
    /// Catalogue entry id.
    pub catalogue_entry: String,
    /// The national provision, for example `Code pénal art. 323-1`.
    pub national_provision: String,
    /// The maximum penalty in months of imprisonment.
    pub max_penalty_months: u32,
}

/// An identifier of the data sought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    /// An account at a service.
    Account { service: String, account: String },
    /// An IP address seen at a moment; the offset of `observed_at` is the time zone it was recorded in.
    IpAddress {
        address: IpAddr,
        port: Option<u16>,
        observed_at: OffsetDateTime,
    },
    /// A telephone number in E.164 form.
    Phone { number: String },
    /// An e-mail address.
    Email { address: String },
    /// A domain name.
    Domain { name: String },
    /// Anything else, with a word for its kind.
    Other { kind: String, value: String },
}

/// A closed time range, start before end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    /// Start, with its offset.
    pub from: OffsetDateTime,
    /// End, with its offset.
    pub to: OffsetDateTime,
}

/// One item of data sought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSought {
    /// The category.
    pub category: DataCategory,
    /// What exactly, in words.
    pub description: String,
    /// Identifiers that pin it down.
    pub identifiers: Vec<Identifier>,
    /// The period concerned.
    pub time_range: Option<TimeRange>,
}

/// The length of real-time collection or interception, with its justification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionPeriod {
    /// Days.
    pub days: u32,
    /// Why this long.
    pub justification: String,
}

/// Property concerned by asset recovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assets {
    /// What the property is.
    pub description: String,
    /// Where it is, if known.
    pub location: Option<String>,
    /// Estimated value, with its currency, for example `EUR 120000`.
    pub estimated_value: Option<String>,
    /// The order to enforce, if any (reference and whether final).
    pub order_reference: Option<String>,
}

/// A joint investigation agreement's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JointInvestigation {
    /// Members (authorities).
    pub members: Vec<AuthorityId>,
    /// Duration in days.
    pub duration_days: u32,
    /// How evidence is gathered and used.
    pub evidence_arrangements: String,
}

/// A request's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestDocument {
    /// Catalogue mechanism id.
    pub mechanism: String,
    /// Who asks.
    pub requesting_authority: AuthorityId,
    /// Which State is asked.
    pub requested_state: IsoCountry,
    /// The addressee (authority or provider), if known.
    pub addressee: Option<String>,
    /// The instrument the request rests on (catalogue code).
    pub instrument: String,
    /// The domestic legal basis and penalties.
    pub domestic_legal_basis: Option<String>,
    /// Offences charged.
    pub offences: Vec<OffenceCharged>,
    /// Summary of facts.
    pub summary_of_facts: Option<String>,
    /// Data sought.
    pub data_sought: Vec<DataSought>,
    /// How the data relate to the offence.
    pub relation_to_offence: Option<String>,
    /// Custodian of the data or location of the system.
    pub custodian_or_location: Option<String>,
    /// Why the measure is necessary and proportionate.
    pub necessity: Option<String>,
    /// A follow-up MLA request will be sent (preservation).
    pub follow_up_mla_intent: bool,
    /// The assistance sought and the procedure to follow.
    pub assistance_sought: Option<String>,
    /// Purpose.
    pub purpose: Option<String>,
    /// Identity, location and nationality of persons concerned.
    pub persons_concerned: Option<String>,
    /// Urgency.
    pub urgency: Urgency,
    /// Why this is an emergency.
    pub emergency_justification: Option<String>,
    /// Confidentiality requested.
    pub confidentiality_requested: bool,
    /// Language of the request (ISO 639-1).
    pub language: String,
    /// Collection period (real time, interception).
    pub collection_period: Option<CollectionPeriod>,
    /// Earlier preservation request this follows.
    pub preservation_reference: Option<String>,
    /// Conditions attached (spontaneous information).
    pub conditions: Option<String>,
    /// Property (asset recovery).
    pub assets: Option<Assets>,
    /// Agreement terms (joint investigation).
    pub joint_investigation: Option<JointInvestigation>,
}

fn filled(text: &Option<String>) -> bool {
    text.as_deref().is_some_and(|t| !t.trim().is_empty())
}

impl RequestDocument {
    /// Whether a field is filled in.
    pub fn has(&self, field: Field) -> bool {
        match field {
            Field::RequestingAuthority | Field::RequestedState => true,
            Field::Addressee => filled(&self.addressee),
            Field::DomesticLegalBasis => filled(&self.domestic_legal_basis),
            Field::Offences => !self.offences.is_empty(),
            Field::SummaryOfFacts => filled(&self.summary_of_facts),
            Field::DataSought => !self.data_sought.is_empty(),
            Field::RelationToOffence => filled(&self.relation_to_offence),
            Field::CustodianOrLocation => filled(&self.custodian_or_location),
            Field::Necessity => filled(&self.necessity),
            Field::FollowUpMlaIntent => self.follow_up_mla_intent,
            Field::AssistanceSought => filled(&self.assistance_sought),
            Field::Purpose => filled(&self.purpose),
            Field::PersonsConcerned => filled(&self.persons_concerned),
            Field::EmergencyJustification => filled(&self.emergency_justification),
            Field::CollectionPeriod => self.collection_period.is_some(),
            Field::PreservationReference => filled(&self.preservation_reference),
            Field::Conditions => filled(&self.conditions),
            Field::Assets => self.assets.is_some(),
            Field::JointInvestigation => self.joint_investigation.is_some(),
        }
    }
}

/// Required fields of `mechanism` that `doc` leaves empty; emergencies also need their justification.
pub fn missing_fields(doc: &RequestDocument, mechanism: &Mechanism) -> Vec<Field> {
    let mut missing: Vec<Field> = mechanism
        .required_fields
        .iter()
        .copied()
        .filter(|f| !doc.has(*f))
        .collect();
    if doc.urgency == Urgency::Emergency
        && !doc.has(Field::EmergencyJustification)
        && !missing.contains(&Field::EmergencyJustification)
    {
        missing.push(Field::EmergencyJustification);
    }
    missing
}

/// A problem with one field of a request, named by a JSON pointer into the request document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    /// JSON pointer, for example `/offences/0/catalogue_entry`.
    pub pointer: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl FieldProblem {
    /// A problem at `pointer`.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// Checks a document against the catalogue: the mechanism, the instrument, the offences and the data categories exist
/// and fit together, and values are in range. Returns every problem found.
pub fn check_document(doc: &RequestDocument, catalogue: &Catalogue) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    let mechanism = catalogue.mechanism(&doc.mechanism);
    if mechanism.is_none() {
        problems.push(FieldProblem::new(
            "/mechanism",
            format!(
                "`{}` is not a mechanism of the catalogue; see GET /api/v1/mechanisms",
                doc.mechanism
            ),
        ));
    }
    if catalogue.instrument(&doc.instrument).is_none() {
        let known: Vec<_> = catalogue
            .instruments
            .iter()
            .map(|i| i.code.as_str())
            .collect();
        problems.push(FieldProblem::new(
            "/instrument",
            format!(
                "`{}` is not an instrument of the catalogue; use one of: {}",
                doc.instrument,
                known.join(", ")
            ),
        ));
    } else if let Some(m) = mechanism
        && !m.citations.iter().any(|c| c.instrument == doc.instrument)
    {
        let cited: Vec<_> = m.citations.iter().map(|c| c.instrument.as_str()).collect();
        problems.push(FieldProblem::new(
            "/instrument",
            format!(
                "{} has no basis in {}; it rests on: {}",
                m.id,
                doc.instrument,
                cited.join(", ")
            ),
        ));
    }
    for (i, o) in doc.offences.iter().enumerate() {
        if catalogue.offence(&o.catalogue_entry).is_none() {
            problems.push(FieldProblem::new(
                format!("/offences/{i}/catalogue_entry"),
                format!(
                    "`{}` is not in the offence catalogue; see `comity rules list`",
                    o.catalogue_entry
                ),
            ));
        }
        if o.national_provision.trim().is_empty() {
            problems.push(FieldProblem::new(
                format!("/offences/{i}/national_provision"),
                "name the national provision, for example `Code pénal art. 323-1`",
            ));
        }
        if o.max_penalty_months == 0 || o.max_penalty_months > 1200 {
            problems.push(FieldProblem::new(
                format!("/offences/{i}/max_penalty_months"),
                "give the maximum penalty in months, from 1 to 1200",
            ));
        }
    }
    for (i, d) in doc.data_sought.iter().enumerate() {
        if let Some(m) = mechanism
            && !m.data_categories.contains(&d.category)
        {
            let allowed: Vec<_> = m.data_categories.iter().map(|c| c.as_str()).collect();
            let allowed = if allowed.is_empty() {
                "none".to_owned()
            } else {
                allowed.join(", ")
            };
            problems.push(FieldProblem::new(
                format!("/data_sought/{i}/category"),
                format!(
                    "{} cannot seek {} data; it may seek: {allowed}",
                    m.id, d.category
                ),
            ));
        }
        if let Some(range) = d.time_range
            && range.from > range.to
        {
            problems.push(FieldProblem::new(
                format!("/data_sought/{i}/time_range"),
                "the range starts after it ends; swap `from` and `to`",
            ));
        }
    }
    if let Some(p) = &doc.collection_period
        && (p.days == 0 || p.days > 366)
    {
        problems.push(FieldProblem::new(
            "/collection_period/days",
            "give the period in days, from 1 to 366",
        ));
    }
    if let Some(j) = &doc.joint_investigation
        && j.members.is_empty()
    {
        problems.push(FieldProblem::new(
            "/joint_investigation/members",
            "name at least one member authority",
        ));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn preservation() -> RequestDocument {
        RequestDocument {
            mechanism: "expedited-preservation".into(),
            requesting_authority: AuthorityId::parse("fr-247").unwrap(),
            requested_state: IsoCountry::parse("BR").unwrap(),
            addressee: None,
            instrument: "BC".into(),
            domestic_legal_basis: None,
            offences: vec![OffenceCharged {
                catalogue_entry: "illegal-access".into(),
                national_provision: "Code pénal art. 323-1".into(),
                max_penalty_months: 36,
            }],
            summary_of_facts: Some("Intrusion into a hospital network".into()),
            data_sought: vec![DataSought {
                category: DataCategory::Traffic,
                description: "connection logs".into(),
                identifiers: vec![],
                time_range: None,
            }],
            relation_to_offence: Some("logs show the intruder's origin".into()),
            custodian_or_location: Some("Example Hosting Ltda".into()),
            necessity: Some("logs are deleted after 30 days".into()),
            follow_up_mla_intent: true,
            assistance_sought: None,
            purpose: None,
            persons_concerned: None,
            urgency: Urgency::Urgent,
            emergency_justification: None,
            confidentiality_requested: true,
            language: "en".into(),
            collection_period: None,
            preservation_reference: None,
            conditions: None,
            assets: None,
            joint_investigation: None,
        }
    }

    #[test]
    fn a_complete_preservation_request_passes() {
        let cat = Catalogue::embedded().unwrap();
        let doc = preservation();
        assert_eq!(check_document(&doc, &cat), vec![]);
        assert_eq!(
            missing_fields(&doc, cat.mechanism("expedited-preservation").unwrap()),
            vec![]
        );
    }

    #[test]
    fn missing_fields_come_from_the_catalogue() {
        let cat = Catalogue::embedded().unwrap();
        let mut doc = preservation();
        doc.necessity = Some("  ".into());
        doc.follow_up_mla_intent = false;
        doc.urgency = Urgency::Emergency;
        let missing = missing_fields(&doc, cat.mechanism("expedited-preservation").unwrap());
        assert_eq!(
            missing,
            vec![
                Field::Necessity,
                Field::FollowUpMlaIntent,
                Field::EmergencyJustification
            ]
        );
    }

    #[test]
    fn catalogue_mismatches_name_the_field() {
        let cat = Catalogue::embedded().unwrap();
        let mut doc = preservation();
        doc.mechanism = "interception".into();
        doc.instrument = "P2".into();
        doc.offences[0].catalogue_entry = "blasphemy".into();
        doc.offences[0].max_penalty_months = 0;
        let pointers: Vec<_> = check_document(&doc, &cat)
            .into_iter()
            .map(|p| p.pointer)
            .collect();
        assert_eq!(
            pointers,
            [
                "/instrument",
                "/offences/0/catalogue_entry",
                "/offences/0/max_penalty_months",
                "/data_sought/0/category"
            ]
        );
    }
}
