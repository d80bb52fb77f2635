//! The JSON contract of the API and of stored request documents: every serialisable type lives here.
//!
//! Incoming documents are read in two steps. Serde reads the shape (unknown fields and wrong JSON types are refused,
//! with the path of the first one). [`RequestInput::into_document`] then parses every value into core types and
//! collects *every* bad field, each named by a JSON pointer, so a caller can fix them all at once.

use std::net::IpAddr;

use comity_core::IsoCountry;
use comity_core::authority::AuthorityId;
use comity_core::catalogue::{Catalogue, Citation, ClockRule, Mechanism, RefusalGround};
use comity_core::clock::RunningClock;
use comity_core::request::{
    self, Assets, CollectionPeriod, DataCategory, DataSought, FieldProblem, Identifier,
    JointInvestigation, OffenceCharged, RequestDocument, TimeRange, Urgency,
};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

/// Longest free-text field accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Most items in a list field.
pub const MAX_ITEMS: usize = 200;

/// Formats a time as RFC 3339.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// A request document as submitted and as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// Mechanism id from `GET /api/v1/mechanisms`, for example `expedited-preservation`.
    pub mechanism: String,
    /// Filled in by the node with its own authority id; if given it must be that id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requesting_authority: Option<String>,
    /// The requested State, ISO 3166-1 alpha-2 (for example `BR`).
    pub requested_state: String,
    /// Addressee authority or provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addressee: Option<String>,
    /// Instrument the request rests on: `UNCC`, `BC`, `P2`, `EEV`.
    pub instrument: String,
    /// Domestic legal basis and penalties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domestic_legal_basis: Option<String>,
    /// Offences charged.
    #[serde(default)]
    pub offences: Vec<OffenceInput>,
    /// Summary of facts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary_of_facts: Option<String>,
    /// Data sought.
    #[serde(default)]
    pub data_sought: Vec<DataSoughtInput>,
    /// How the data relate to the offence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relation_to_offence: Option<String>,
    /// Custodian of the data or location of the system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custodian_or_location: Option<String>,
    /// Necessity and proportionality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub necessity: Option<String>,
    /// A follow-up MLA request will be sent (preservation).
    #[serde(default)]
    pub follow_up_mla_intent: bool,
    /// Assistance sought and procedure to follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assistance_sought: Option<String>,
    /// Purpose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// Persons concerned (identity, location, nationality).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persons_concerned: Option<String>,
    /// `normal`, `urgent` or `emergency`.
    #[serde(default = "normal")]
    pub urgency: String,
    /// Why this is an emergency (risk to life or safety).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_justification: Option<String>,
    /// Confidentiality requested.
    #[serde(default)]
    pub confidentiality_requested: bool,
    /// Language of the request, ISO 639-1 (for example `en`).
    pub language: String,
    /// Collection period (real-time collection, interception).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection_period: Option<CollectionPeriodInput>,
    /// Earlier preservation request this follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preservation_reference: Option<String>,
    /// Conditions attached (spontaneous information).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<String>,
    /// Property (asset recovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assets: Option<AssetsInput>,
    /// Agreement terms (joint investigation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joint_investigation: Option<JointInvestigationInput>,
}

fn normal() -> String {
    "normal".to_owned()
}

/// An offence charged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OffenceInput {
    /// Offence catalogue entry, for example `illegal-access`.
    pub catalogue_entry: String,
    /// National provision.
    pub national_provision: String,
    /// Maximum penalty in months.
    pub max_penalty_months: u32,
}

/// One item of data sought.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSoughtInput {
    /// `subscriber`, `traffic`, `content` or `identification`.
    pub category: String,
    /// What exactly.
    pub description: String,
    /// Identifiers.
    #[serde(default)]
    pub identifiers: Vec<IdentifierInput>,
    /// Period concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_range: Option<TimeRangeInput>,
}

/// An identifier of the data sought.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum IdentifierInput {
    /// An account at a service.
    Account { service: String, account: String },
    /// An IP address seen at a moment; `observed_at` is RFC 3339 with the offset it was recorded in.
    IpAddress {
        address: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
        observed_at: String,
    },
    /// A phone number, E.164 (`+33123456789`).
    Phone { number: String },
    /// An e-mail address.
    Email { address: String },
    /// A domain name.
    Domain { name: String },
    /// Anything else.
    Other { kind: String, value: String },
}

/// A time range, RFC 3339 with offsets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TimeRangeInput {
    /// Start.
    pub from: String,
    /// End.
    pub to: String,
}

/// Collection period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionPeriodInput {
    /// Days.
    pub days: u32,
    /// Why this long.
    pub justification: String,
}

/// Property concerned by asset recovery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetsInput {
    /// What the property is.
    pub description: String,
    /// Where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Estimated value with currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_value: Option<String>,
    /// Order to enforce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_reference: Option<String>,
}

/// Joint investigation terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JointInvestigationInput {
    /// Member authority ids.
    pub members: Vec<String>,
    /// Duration in days.
    pub duration_days: u32,
    /// How evidence is gathered and used.
    pub evidence_arrangements: String,
}

/// Collects field problems while parsing.
struct Problems(Vec<FieldProblem>);

impl Problems {
    fn push(&mut self, pointer: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldProblem::new(pointer, message));
    }

    fn text(&mut self, pointer: &str, value: &str) -> String {
        if value.chars().count() > MAX_TEXT_CHARS {
            self.push(
                pointer,
                format!(
                    "is longer than {MAX_TEXT_CHARS} characters; shorten it or attach a document"
                ),
            );
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            self.push(pointer, "contains control characters; remove them");
        }
        value.to_owned()
    }

    fn opt_text(&mut self, pointer: &str, value: &Option<String>) -> Option<String> {
        value.as_deref().map(|v| self.text(pointer, v))
    }

    fn time(&mut self, pointer: &str, value: &str) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(value, &Rfc3339)
            .map_err(|_| {
                self.push(
                    pointer,
                    format!("`{value}` is not an RFC 3339 time with its offset, for example `2026-11-23T03:14:00+01:00`"),
                )
            })
            .ok()
    }

    fn list_len(&mut self, pointer: &str, len: usize) {
        if len > MAX_ITEMS {
            self.push(
                pointer,
                format!("has {len} items; at most {MAX_ITEMS} are accepted"),
            );
        }
    }
}

fn is_e164(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or("");
    (7..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

fn is_domain(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

fn is_email(address: &str) -> bool {
    match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && local.len() <= 64 && !local.contains(' ') && is_domain(domain)
        }
        None => false,
    }
}

impl RequestInput {
    /// Parses every value into core types, checks the document against the catalogue, and returns every problem.
    pub fn into_document(
        &self,
        own_authority: &AuthorityId,
        catalogue: &Catalogue,
    ) -> Result<RequestDocument, Vec<FieldProblem>> {
        let mut p = Problems(Vec::new());
        if let Some(given) = &self.requesting_authority
            && given != own_authority.as_str()
        {
            p.push(
                "/requesting_authority",
                format!("this node issues requests only as `{own_authority}`; leave the field out"),
            );
        }
        let requested_state = IsoCountry::parse(&self.requested_state)
            .map_err(|e| p.push("/requested_state", e.to_string()))
            .ok();
        let urgency = self
            .urgency
            .parse::<Urgency>()
            .map_err(|e| p.push("/urgency", e.to_string()))
            .ok();
        if !(self.language.len() == 2 && self.language.chars().all(|c| c.is_ascii_lowercase())) {
            p.push(
                "/language",
                format!(
                    "`{}` is not an ISO 639-1 language code such as `en`, `fr`, `ar`",
                    self.language
                ),
            );
        }
        p.list_len("/offences", self.offences.len());
        let offences = self
            .offences
            .iter()
            .enumerate()
            .map(|(i, o)| OffenceCharged {
                catalogue_entry: o.catalogue_entry.clone(),
                national_provision: p.text(
                    &format!("/offences/{i}/national_provision"),
                    &o.national_provision,
                ),
                max_penalty_months: o.max_penalty_months,
            })
            .collect();
        p.list_len("/data_sought", self.data_sought.len());
        let mut data_sought = Vec::new();
        for (i, d) in self.data_sought.iter().enumerate() {
            let at = format!("/data_sought/{i}");
            let category = d
                .category
                .parse::<DataCategory>()
                .map_err(|e| p.push(format!("{at}/category"), e.to_string()))
                .ok();
            let description = p.text(&format!("{at}/description"), &d.description);
            p.list_len(&format!("{at}/identifiers"), d.identifiers.len());
            let identifiers: Vec<Identifier> = d
                .identifiers
                .iter()
                .enumerate()
                .filter_map(|(j, id)| identifier(&mut p, &format!("{at}/identifiers/{j}"), id))
                .collect();
            let time_range = d.time_range.as_ref().and_then(|r| {
                let from = p.time(&format!("{at}/time_range/from"), &r.from);
                let to = p.time(&format!("{at}/time_range/to"), &r.to);
                Some(TimeRange {
                    from: from?,
                    to: to?,
                })
            });
            if let Some(category) = category {
                data_sought.push(DataSought {
                    category,
                    description,
                    identifiers,
                    time_range,
                });
            }
        }
        let joint_investigation = self
            .joint_investigation
            .as_ref()
            .map(|j| JointInvestigation {
                members: j
                    .members
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| {
                        AuthorityId::parse(m)
                            .map_err(|e| {
                                p.push(format!("/joint_investigation/members/{i}"), e.to_string())
                            })
                            .ok()
                    })
                    .collect(),
                duration_days: j.duration_days,
                evidence_arrangements: p.text(
                    "/joint_investigation/evidence_arrangements",
                    &j.evidence_arrangements,
                ),
            });
        // When the State or the urgency is unreadable the document is refused anyway, but the catalogue checks still
        // run on stand-ins so that every other bad field is reported in the same answer.
        let complete = requested_state.is_some() && urgency.is_some();
        let doc = match (
            requested_state.or(IsoCountry::parse("AQ").ok()),
            urgency.or(Some(Urgency::Normal)),
        ) {
            (Some(requested_state), Some(urgency)) => Some(RequestDocument {
                mechanism: self.mechanism.clone(),
                requesting_authority: own_authority.clone(),
                requested_state,
                addressee: p.opt_text("/addressee", &self.addressee),
                instrument: self.instrument.clone(),
                domestic_legal_basis: p
                    .opt_text("/domestic_legal_basis", &self.domestic_legal_basis),
                offences,
                summary_of_facts: p.opt_text("/summary_of_facts", &self.summary_of_facts),
                data_sought,
                relation_to_offence: p.opt_text("/relation_to_offence", &self.relation_to_offence),
                custodian_or_location: p
                    .opt_text("/custodian_or_location", &self.custodian_or_location),
                necessity: p.opt_text("/necessity", &self.necessity),
                follow_up_mla_intent: self.follow_up_mla_intent,
                assistance_sought: p.opt_text("/assistance_sought", &self.assistance_sought),
                purpose: p.opt_text("/purpose", &self.purpose),
                persons_concerned: p.opt_text("/persons_concerned", &self.persons_concerned),
                urgency,
                emergency_justification: p
                    .opt_text("/emergency_justification", &self.emergency_justification),
                confidentiality_requested: self.confidentiality_requested,
                language: self.language.clone(),
                collection_period: self.collection_period.as_ref().map(|c| CollectionPeriod {
                    days: c.days,
                    justification: p.text("/collection_period/justification", &c.justification),
                }),
                preservation_reference: p
                    .opt_text("/preservation_reference", &self.preservation_reference),
                conditions: p.opt_text("/conditions", &self.conditions),
                assets: self.assets.as_ref().map(|a| Assets {
                    description: p.text("/assets/description", &a.description),
                    location: p.opt_text("/assets/location", &a.location),
                    estimated_value: p.opt_text("/assets/estimated_value", &a.estimated_value),
                    order_reference: p.opt_text("/assets/order_reference", &a.order_reference),
                }),
                joint_investigation,
            }),
            _ => None,
        };
        if let Some(doc) = &doc {
            p.0.extend(request::check_document(doc, catalogue));
        }
        match doc {
            Some(doc) if complete && p.0.is_empty() => Ok(doc),
            _ => {
                p.0.sort_by(|a, b| a.pointer.cmp(&b.pointer));
                Err(p.0)
            }
        }
    }
}

fn identifier(p: &mut Problems, at: &str, id: &IdentifierInput) -> Option<Identifier> {
    Some(match id {
        IdentifierInput::Account { service, account } => Identifier::Account {
            service: p.text(&format!("{at}/service"), service),
            account: p.text(&format!("{at}/account"), account),
        },
        IdentifierInput::IpAddress {
            address,
            port,
            observed_at,
        } => {
            let parsed = address.parse::<IpAddr>().map_err(|_| {
                p.push(
                    format!("{at}/address"),
                    format!("`{address}` is not an IPv4 or IPv6 address"),
                )
            });
            let observed = p.time(&format!("{at}/observed_at"), observed_at);
            Identifier::IpAddress {
                address: parsed.ok()?,
                port: *port,
                observed_at: observed?,
            }
        }
        IdentifierInput::Phone { number } => {
            if !is_e164(number) {
                p.push(
                    format!("{at}/number"),
                    format!("`{number}` is not an E.164 number such as `+33123456789`"),
                );
                return None;
            }
            Identifier::Phone {
                number: number.clone(),
            }
        }
        IdentifierInput::Email { address } => {
            if !is_email(address) {
                p.push(
                    format!("{at}/address"),
                    format!("`{address}` is not an e-mail address"),
                );
                return None;
            }
            Identifier::Email {
                address: address.clone(),
            }
        }
        IdentifierInput::Domain { name } => {
            if !is_domain(name) {
                p.push(
                    format!("{at}/name"),
                    format!("`{name}` is not a domain name such as `example.org`"),
                );
                return None;
            }
            Identifier::Domain {
                name: name.to_ascii_lowercase(),
            }
        }
        IdentifierInput::Other { kind, value } => Identifier::Other {
            kind: p.text(&format!("{at}/kind"), kind),
            value: p.text(&format!("{at}/value"), value),
        },
    })
}

/// Writes a parsed document back in its JSON form (the stored and signed form).
pub fn document_to_input(doc: &RequestDocument) -> RequestInput {
    let text = |s: &Option<String>| s.clone();
    RequestInput {
        mechanism: doc.mechanism.clone(),
        requesting_authority: Some(doc.requesting_authority.to_string()),
        requested_state: doc.requested_state.to_string(),
        addressee: text(&doc.addressee),
        instrument: doc.instrument.clone(),
        domestic_legal_basis: text(&doc.domestic_legal_basis),
        offences: doc
            .offences
            .iter()
            .map(|o| OffenceInput {
                catalogue_entry: o.catalogue_entry.clone(),
                national_provision: o.national_provision.clone(),
                max_penalty_months: o.max_penalty_months,
            })
            .collect(),
        summary_of_facts: text(&doc.summary_of_facts),
        data_sought: doc
            .data_sought
            .iter()
            .map(|d| DataSoughtInput {
                category: d.category.to_string(),
                description: d.description.clone(),
                identifiers: d.identifiers.iter().map(identifier_to_input).collect(),
                time_range: d.time_range.map(|r| TimeRangeInput {
                    from: rfc3339(r.from),
                    to: rfc3339(r.to),
                }),
            })
            .collect(),
        relation_to_offence: text(&doc.relation_to_offence),
        custodian_or_location: text(&doc.custodian_or_location),
        necessity: text(&doc.necessity),
        follow_up_mla_intent: doc.follow_up_mla_intent,
        assistance_sought: text(&doc.assistance_sought),
        purpose: text(&doc.purpose),
        persons_concerned: text(&doc.persons_concerned),
        urgency: doc.urgency.to_string(),
        emergency_justification: text(&doc.emergency_justification),
        confidentiality_requested: doc.confidentiality_requested,
        language: doc.language.clone(),
        collection_period: doc
            .collection_period
            .as_ref()
            .map(|c| CollectionPeriodInput {
                days: c.days,
                justification: c.justification.clone(),
            }),
        preservation_reference: text(&doc.preservation_reference),
        conditions: text(&doc.conditions),
        assets: doc.assets.as_ref().map(|a| AssetsInput {
            description: a.description.clone(),
            location: a.location.clone(),
            estimated_value: a.estimated_value.clone(),
            order_reference: a.order_reference.clone(),
        }),
        joint_investigation: doc
            .joint_investigation
            .as_ref()
            .map(|j| JointInvestigationInput {
                members: j.members.iter().map(|m| m.to_string()).collect(),
                duration_days: j.duration_days,
                evidence_arrangements: j.evidence_arrangements.clone(),
            }),
    }
}

fn identifier_to_input(id: &Identifier) -> IdentifierInput {
    match id {
        Identifier::Account { service, account } => IdentifierInput::Account {
            service: service.clone(),
            account: account.clone(),
        },
        Identifier::IpAddress {
            address,
            port,
            observed_at,
        } => IdentifierInput::IpAddress {
            address: address.to_string(),
            port: *port,
            observed_at: rfc3339(*observed_at),
        },
        Identifier::Phone { number } => IdentifierInput::Phone {
            number: number.clone(),
        },
        Identifier::Email { address } => IdentifierInput::Email {
            address: address.clone(),
        },
        Identifier::Domain { name } => IdentifierInput::Domain { name: name.clone() },
        Identifier::Other { kind, value } => IdentifierInput::Other {
            kind: kind.clone(),
            value: value.clone(),
        },
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Outgoing views.

/// A citation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CitationView {
    /// Instrument code.
    pub instrument: String,
    /// Article.
    pub article: String,
    /// Verification tag: V, S, T or U.
    pub verification: String,
    /// What the tag means.
    pub verification_meaning: String,
    /// Note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl From<&Citation> for CitationView {
    fn from(c: &Citation) -> Self {
        Self {
            instrument: c.instrument.clone(),
            article: c.article.clone(),
            verification: c.verification.tag().to_owned(),
            verification_meaning: c.verification.meaning().to_owned(),
            note: c.note.clone(),
        }
    }
}

fn citations(list: &[Citation]) -> Vec<CitationView> {
    list.iter().map(CitationView::from).collect()
}

/// A refusal ground.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefusalGroundView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// False for grounds that may not be used.
    pub permitted: bool,
    /// Citations.
    pub citations: Vec<CitationView>,
}

impl From<&RefusalGround> for RefusalGroundView {
    fn from(g: &RefusalGround) -> Self {
        Self {
            id: g.id.clone(),
            title: g.title.clone(),
            permitted: g.permitted,
            citations: citations(&g.citations),
        }
    }
}

/// A clock rule.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClockRuleView {
    /// Id.
    pub id: String,
    /// Meaning.
    pub title: String,
    /// deadline, minimum or expiry.
    pub kind: String,
    /// Duration (`60d`, `8h`, `5wd`).
    pub duration: String,
    /// State that starts it.
    pub starts: String,
    /// States that stop it.
    pub stops: Vec<String>,
    /// Instruments it applies under.
    pub instruments: Vec<String>,
    /// any, emergency or normal.
    pub urgency: String,
    /// Citations.
    pub citations: Vec<CitationView>,
}

impl From<&ClockRule> for ClockRuleView {
    fn from(c: &ClockRule) -> Self {
        Self {
            id: c.id.clone(),
            title: c.title.clone(),
            kind: c.kind.as_str().to_owned(),
            duration: c.duration.to_string(),
            starts: c.starts.to_string(),
            stops: c.stops.iter().map(|s| s.to_string()).collect(),
            instruments: c.instruments.clone(),
            urgency: match c.urgency {
                comity_core::catalogue::UrgencyFilter::Any => "any",
                comity_core::catalogue::UrgencyFilter::Emergency => "emergency",
                comity_core::catalogue::UrgencyFilter::Normal => "normal",
            }
            .to_owned(),
            citations: citations(&c.citations),
        }
    }
}

/// A mechanism of the catalogue.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MechanismView {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Lifecycle family.
    pub lifecycle: String,
    /// Whether a judicial authorisation is needed before sending.
    pub authorisation_required: bool,
    /// Data categories it may seek.
    pub data_categories: Vec<String>,
    /// Required fields.
    pub required_fields: Vec<String>,
    /// Refusal grounds open against it.
    pub refusal_grounds: Vec<RefusalGroundView>,
    /// Citations.
    pub citations: Vec<CitationView>,
    /// Clocks.
    pub clocks: Vec<ClockRuleView>,
}

impl MechanismView {
    /// The view of a mechanism, resolving its refusal grounds in the catalogue.
    pub fn new(m: &Mechanism, catalogue: &Catalogue) -> Self {
        Self {
            id: m.id.clone(),
            title: m.title.clone(),
            lifecycle: m.lifecycle.as_str().to_owned(),
            authorisation_required: m.authorisation_required,
            data_categories: m.data_categories.iter().map(|c| c.to_string()).collect(),
            required_fields: m.required_fields.iter().map(|f| f.to_string()).collect(),
            refusal_grounds: m
                .refusal_grounds
                .iter()
                .filter_map(|g| catalogue.refusal_ground(g))
                .map(RefusalGroundView::from)
                .collect(),
            citations: citations(&m.citations),
            clocks: m.clocks.iter().map(ClockRuleView::from).collect(),
        }
    }
}

/// The catalogue's header and its mechanisms.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MechanismList {
    /// Catalogue version.
    pub catalogue_version: String,
    /// Where the data come from.
    pub source: String,
    /// Mechanisms.
    pub mechanisms: Vec<MechanismView>,
    /// Refusal grounds that may not be used.
    pub excluded_grounds: Vec<RefusalGroundView>,
}

impl MechanismList {
    /// Every mechanism of `catalogue`, and the grounds the treaties exclude.
    pub fn new(catalogue: &Catalogue) -> Self {
        Self {
            catalogue_version: catalogue.version.clone(),
            source: catalogue.source.clone(),
            mechanisms: catalogue
                .mechanisms
                .iter()
                .map(|m| MechanismView::new(m, catalogue))
                .collect(),
            excluded_grounds: catalogue
                .refusal_grounds
                .iter()
                .filter(|g| !g.permitted)
                .map(RefusalGroundView::from)
                .collect(),
        }
    }
}

/// A clock on a request.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ClockView {
    /// Rule id.
    pub id: String,
    /// Meaning.
    pub title: String,
    /// deadline, minimum or expiry.
    pub kind: String,
    /// Started.
    pub started_at: String,
    /// Falls due.
    pub due_at: String,
    /// Stopped, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<String>,
    /// Running and past due.
    pub overdue: bool,
    /// Citations.
    pub citations: Vec<CitationView>,
}

impl ClockView {
    /// The view of a running clock at `now`.
    pub fn new(c: &RunningClock<'_>, now: OffsetDateTime) -> Self {
        Self {
            id: c.rule.id.clone(),
            title: c.rule.title.clone(),
            kind: c.rule.kind.as_str().to_owned(),
            started_at: rfc3339(c.started_at),
            due_at: rfc3339(c.due_at),
            stopped_at: c.stopped_at.map(rfc3339),
            overdue: c.is_overdue(now),
            citations: citations(&c.rule.citations),
        }
    }
}

/// A case.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseView {
    /// Id.
    pub id: String,
    /// The authority's own reference.
    pub reference: String,
    /// Title.
    pub title: String,
    /// Who opened it.
    pub created_by: String,
    /// When.
    pub created_at: String,
}

/// A new case.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseInput {
    /// The authority's own reference, unique on this node.
    pub reference: String,
    /// Title.
    pub title: String,
}

/// A new request: the case it belongs to and its document.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRequestInput {
    /// The case id.
    pub case_id: String,
    /// The document.
    pub document: RequestInput,
}

/// A lifecycle step to take.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// Action name, for example `send`, `execute`, `refuse`.
    pub action: String,
    /// Why; required for refusal, postponement, consultation, partial execution, withdrawal, declining.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Refusal grounds (ids from the mechanism), required to refuse.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grounds: Vec<String>,
    /// The request version the caller saw; if given and stale, the step is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    /// With `send`: the role of the issuer (`judge`, `court`, `prosecutor`, `investigating-authority`, `other`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// With a decision: answers to the requested side's checklist (see the request's findings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checklist: Vec<crate::safeguards::ChecklistAnswerInput>,
    /// With `send`: the authority to send to, overriding the directory's routing (for example a provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// With `authorise`: the judge's signed decision (a DSSE envelope, JSON), made with the judge's own key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorisation: Option<String>,
}

/// A recorded event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// Position, from 1.
    pub seq: u64,
    /// Action.
    pub action: String,
    /// State before.
    pub from: String,
    /// State after.
    pub to: String,
    /// Who.
    pub actor: String,
    /// When.
    pub at: String,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Refusal grounds, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grounds: Vec<String>,
}

/// A request, with where it stands.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequestView {
    /// Id.
    pub id: String,
    /// Case id.
    pub case_id: String,
    /// Mechanism id.
    pub mechanism: String,
    /// Current state, derived from the events.
    pub state: String,
    /// Urgency.
    pub urgency: String,
    /// Number of events; pass it as `expected_version` to guard against concurrent changes.
    pub version: u64,
    /// Created.
    pub created_at: String,
    /// Last change.
    pub updated_at: String,
    /// Soonest running clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due: Option<String>,
    /// Actions allowed now.
    pub allowed_actions: Vec<String>,
    /// Required fields still empty (sending is refused until they are filled).
    pub missing_fields: Vec<String>,
    /// Clocks.
    pub clocks: Vec<ClockView>,
    /// The document.
    pub document: RequestInput,
    /// The events, oldest first (on single-request reads).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<EventView>,
    /// The cross-border thread this request belongs to, and its messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exchange: Option<ExchangeView>,
    /// Safeguard records: validation, quarantine, conditions, consents, onward uses, notice.
    #[serde(default)]
    pub records: crate::records::SafeguardRecordsView,
}

/// A request's place in a cross-border thread.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExchangeView {
    /// `outgoing` (this node asked) or `incoming` (this node was asked).
    pub direction: String,
    /// The other authority.
    pub counterpart: String,
    /// Thread id, shared by both sides.
    pub thread: String,
    /// For a forwarded request: the incoming request it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Messages this node sent in the thread.
    pub sent: Vec<SentMessageView>,
}

/// A message this node sent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SentMessageView {
    /// Message id.
    pub message_id: String,
    /// Recipient.
    pub recipient: String,
    /// `delivered`, `pending` or `refused`.
    pub status: String,
    /// Attempts so far.
    pub attempts: u32,
    /// Why it was refused, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// The receiver's signed receipt (DSSE JSON), once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// The receiver's proof that its log holds the message (`comity-message-proof/v1`), once fetched and checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub receiver_log_proof: Option<serde_json::Value>,
}

/// A page of requests.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RequestList {
    /// The requests.
    pub requests: Vec<RequestView>,
}

/// A page of cases.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CaseList {
    /// The cases.
    pub cases: Vec<CaseView>,
}

/// Who this node is.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NodeView {
    /// Authority id.
    pub authority: String,
    /// State.
    pub state: String,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Public signing key.
    pub signing_public_key: String,
    /// age recipient.
    pub age_recipient: String,
    /// Catalogue version in force.
    pub catalogue_version: String,
    /// comity version.
    pub software_version: String,
}
