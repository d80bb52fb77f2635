//! The safeguard rules (`rules/safeguards.toml`): scope thresholds, issuing authorities, channels, dual-criminality
//! rules, the decision checklist, and the citations behind each fixed check, parsed and cross-checked against the
//! catalogue.

use std::fmt;
use std::str::FromStr;

use serde::Deserialize;

use super::citations::{CitationText, Problems};
use super::outgoing::IssuerRole;
use super::profile::DeclarationKind;
use crate::authority::AuthorityKind;
use crate::catalogue::{Catalogue, Citation};
use crate::duration::ClockDuration;
use crate::request::DataCategory;

/// The safeguard rules shipped with comity.
pub const EMBEDDED: &str = include_str!("../../../../rules/safeguards.toml");

/// A channel: the kind of authority that sends and the kind that receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Route {
    /// Who sends.
    pub from: AuthorityKind,
    /// Who receives.
    pub to: AuthorityKind,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.from, self.to)
    }
}

/// The text is not a route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a route: write `KIND -> KIND`, for example `central-authority -> central-authority`"
)]
pub struct BadRoute(pub String);

impl FromStr for Route {
    type Err = BadRoute;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadRoute(s.to_owned());
        let (from, to) = s.split_once("->").ok_or_else(bad)?;
        Ok(Self {
            from: from.trim().parse().map_err(|_| bad())?,
            to: to.trim().parse().map_err(|_| bad())?,
        })
    }
}

/// Which offences an instrument covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeRule {
    /// Instrument code.
    pub instrument: String,
    /// Offences outside the instrument's own catalogue need at least this maximum penalty; `None`: any offence.
    pub other_offences_min_penalty_months: Option<u32>,
    /// What the instrument covers, for people.
    pub title: String,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// A higher threshold for some data categories, unless the offence is listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataThreshold {
    /// Instrument code.
    pub instrument: String,
    /// Mechanisms it applies to.
    pub mechanisms: Vec<String>,
    /// Categories it applies to.
    pub categories: Vec<DataCategory>,
    /// Minimum maximum penalty.
    pub min_penalty_months: u32,
    /// Catalogue offences exempt from the minimum.
    pub listed_offences: Vec<String>,
    /// The rule, for people.
    pub title: String,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// How speech-type offences are recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeechRule {
    /// The rule, for people.
    pub title: String,
    /// Lower-case fragments that mark a national provision as speech-type.
    pub indicators: Vec<String>,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// Who may issue a measure for some data categories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuingRule {
    /// Instrument code.
    pub instrument: String,
    /// Mechanisms.
    pub mechanisms: Vec<String>,
    /// Categories.
    pub categories: Vec<DataCategory>,
    /// Roles that may issue or validate.
    pub issuers: Vec<IssuerRole>,
    /// An emergency order may be issued first and validated afterwards.
    pub emergency_without_validation: bool,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// The window within which an emergency order issued without prior validation must be validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationWindow {
    /// How long.
    pub duration: ClockDuration,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// Which channels a mechanism may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelRule {
    /// Stable id.
    pub id: String,
    /// Mechanisms.
    pub mechanisms: Vec<String>,
    /// Instruments it is limited to; empty: any.
    pub instruments: Vec<String>,
    /// Routes always open.
    pub routes: Vec<Route>,
    /// Where they come from.
    pub citations: Vec<Citation>,
    /// Routes open to urgent and emergency requests.
    pub urgent_routes: Vec<Route>,
    /// Where they come from.
    pub urgent_citations: Vec<Citation>,
    /// A requested State's declaration that closes the urgent routes.
    pub closed_by: Option<DeclarationKind>,
}

impl ChannelRule {
    /// Whether the rule governs a request of `mechanism` under `instrument`.
    pub fn governs(&self, mechanism: &str, instrument: &str) -> bool {
        self.mechanisms.iter().any(|m| m == mechanism)
            && (self.instruments.is_empty() || self.instruments.iter().any(|i| i == instrument))
    }
}

/// When dual criminality may be required for a mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DualCriminalityRule {
    /// Stable id.
    pub id: String,
    /// Mechanism.
    pub mechanism: String,
    /// Instruments.
    pub instruments: Vec<String>,
    /// Only a State with this declaration may require it.
    pub declaration: Option<DeclarationKind>,
    /// Offences for which it may never be required.
    pub listed_offences: Vec<String>,
    /// A listed offence is exempt only when punishable by at least this.
    pub listed_min_penalty_months: Option<u32>,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// An item a requested authority answers before deciding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistRule {
    /// Stable id.
    pub id: String,
    /// The refusal ground it belongs to: the item applies wherever that ground is open.
    pub ground: String,
    /// The question.
    pub question: String,
    /// The ground's citations.
    pub citations: Vec<Citation>,
}

/// The legal basis of a fixed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalRule {
    /// Stable id.
    pub id: String,
    /// The rule, for people.
    pub title: String,
    /// Mechanisms it applies to, where it is limited.
    pub mechanisms: Vec<String>,
    /// Words that show the rule is met, where it uses any.
    pub terms: Vec<String>,
    /// How long before a date to remind, where it reminds.
    pub remind_before: Option<ClockDuration>,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

impl LegalRule {
    /// Whether it applies to `mechanism`.
    pub fn covers(&self, mechanism: &str) -> bool {
        self.mechanisms.iter().any(|m| m == mechanism)
    }
}

/// A kind of conduct national offences punish, used to judge dual criminality on the conduct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conduct {
    /// Stable id.
    pub id: String,
    /// What it is.
    pub description: String,
}

/// The fixed checks, each with its legal basis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalRules {
    /// Both States must be party to the instrument.
    pub parties: LegalRule,
    /// A request states what the treaty requires.
    pub required_content: LegalRule,
    /// The requested State may ask for more.
    pub further_information: LegalRule,
    /// Necessity and proportionality are stated.
    pub necessity: LegalRule,
    /// Collection period and its justification.
    pub collection_period: LegalRule,
    /// The emergency definition.
    pub emergency: LegalRule,
    /// Accepted languages.
    pub language: LegalRule,
    /// Notice to a State that declared it wants to know of orders to its providers.
    pub provider_notification: LegalRule,
    /// Judicial authorisation of intrusive measures.
    pub authorisation: LegalRule,
    /// Reasons for refusal or postponement.
    pub reasons: LegalRule,
    /// Consultation before refusal.
    pub consultation: LegalRule,
    /// Postponement.
    pub postponement: LegalRule,
    /// Conditions that bind.
    pub conditions: LegalRule,
    /// Onward transfer.
    pub onward_transfer: LegalRule,
    /// Data-subject notice.
    pub data_subject_notice: LegalRule,
}

/// The whole set of safeguard rules, checked against the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafeguardRules {
    /// Version of the data.
    pub version: String,
    /// The catalogue entry for "electronic evidence of any (serious) crime".
    pub generic_offence: String,
    /// Scope per instrument.
    pub scopes: Vec<ScopeRule>,
    /// Higher thresholds per data category.
    pub data_thresholds: Vec<DataThreshold>,
    /// Speech-type offences.
    pub speech: SpeechRule,
    /// Issuing authorities.
    pub issuing: Vec<IssuingRule>,
    /// Validation window of emergency orders.
    pub emergency_validation: ValidationWindow,
    /// Channels.
    pub channels: Vec<ChannelRule>,
    /// The conduct vocabulary.
    pub conducts: Vec<Conduct>,
    /// Dual criminality is judged on the conduct.
    pub conduct_citations: Vec<Citation>,
    /// When dual criminality may be required.
    pub dual_criminality: Vec<DualCriminalityRule>,
    /// Decision checklist.
    pub checklist: Vec<ChecklistRule>,
    /// Legal basis of the fixed checks.
    pub rules: LegalRules,
}

/// Safeguard rules that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the safeguard rules are invalid:\n  {}", .problems.join("\n  "))]
pub struct SafeguardRulesError {
    /// One line per problem, each naming where it is.
    pub problems: Vec<String>,
}

impl SafeguardRules {
    /// The rules shipped with comity, checked against `catalogue`.
    pub fn embedded(catalogue: &Catalogue) -> Result<Self, SafeguardRulesError> {
        Self::parse(EMBEDDED, catalogue)
    }

    /// Parses and checks safeguard rules against `catalogue`.
    pub fn parse(text: &str, catalogue: &Catalogue) -> Result<Self, SafeguardRulesError> {
        let file: file::Rules = toml::from_str(text).map_err(|e| SafeguardRulesError {
            problems: vec![e.to_string().trim().replace('\n', " ")],
        })?;
        let mut problems = Problems::new(catalogue);
        let rules = file.check(&mut problems);
        match rules {
            Some(rules) if problems.list.is_empty() => Ok(rules),
            _ => Err(SafeguardRulesError {
                problems: problems.list,
            }),
        }
    }

    /// The scope rule of an instrument.
    pub fn scope(&self, instrument: &str) -> Option<&ScopeRule> {
        self.scopes.iter().find(|s| s.instrument == instrument)
    }

    /// The channel rule governing a request.
    pub fn channel(&self, mechanism: &str, instrument: &str) -> Option<&ChannelRule> {
        self.channels
            .iter()
            .find(|c| c.governs(mechanism, instrument))
    }
}

/// The file form, private: only [`SafeguardRules::parse`] sees it.
mod file {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Rules {
        schema: u32,
        version: String,
        generic_offence: String,
        #[serde(default)]
        scope: Vec<Scope>,
        #[serde(default)]
        data_threshold: Vec<Threshold>,
        speech: Speech,
        #[serde(default)]
        issuing: Vec<Issuing>,
        emergency_validation: EmergencyValidation,
        #[serde(default)]
        channel: Vec<Channel>,
        #[serde(default)]
        conduct: Vec<ConductText>,
        dual_criminality: DualCriminality,
        #[serde(default)]
        dual_criminality_rule: Vec<DualCriminalityRule>,
        #[serde(default)]
        checklist: Vec<Checklist>,
        #[serde(default)]
        rule: Vec<Rule>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Scope {
        instrument: String,
        other_offences_min_penalty_months: Option<u32>,
        title: String,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Threshold {
        instrument: String,
        mechanisms: Vec<String>,
        categories: Vec<String>,
        min_penalty_months: u32,
        listed_offences: Vec<String>,
        title: String,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Speech {
        title: String,
        indicators: Vec<String>,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Issuing {
        instrument: String,
        mechanisms: Vec<String>,
        categories: Vec<String>,
        issuers: Vec<String>,
        emergency_without_validation: bool,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct EmergencyValidation {
        mechanism: String,
        clock: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Channel {
        id: String,
        mechanisms: Vec<String>,
        #[serde(default)]
        instruments: Vec<String>,
        routes: Vec<String>,
        citations: Vec<CitationText>,
        #[serde(default)]
        urgent_routes: Vec<String>,
        #[serde(default)]
        urgent_citations: Vec<CitationText>,
        closed_by: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct ConductText {
        id: String,
        description: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DualCriminality {
        conduct_citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DualCriminalityRule {
        id: String,
        mechanism: String,
        instruments: Vec<String>,
        declaration: Option<String>,
        listed_offences: Vec<String>,
        listed_min_penalty_months: Option<u32>,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Checklist {
        id: String,
        ground: String,
        question: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rule {
        id: String,
        title: String,
        #[serde(default)]
        mechanisms: Vec<String>,
        #[serde(default)]
        terms: Vec<String>,
        remind_before: Option<String>,
        citations: Vec<CitationText>,
    }

    fn routes(p: &mut Problems<'_>, at: &str, list: &[String]) -> Vec<Route> {
        p.all_parsed(at, list)
    }

    impl Rules {
        pub(super) fn check(self, p: &mut Problems<'_>) -> Option<SafeguardRules> {
            if self.schema != 1 {
                p.push(format!(
                    "schema {} is not supported by this comity (it reads schema 1)",
                    self.schema
                ));
            }
            p.offence("generic_offence", &self.generic_offence);
            p.unique("scope", self.scope.iter().map(|s| s.instrument.as_str()));
            p.unique("channel", self.channel.iter().map(|c| c.id.as_str()));
            p.unique(
                "dual_criminality_rule",
                self.dual_criminality_rule.iter().map(|r| r.id.as_str()),
            );
            p.unique(
                "checklist item",
                self.checklist.iter().map(|c| c.id.as_str()),
            );
            p.unique("rule", self.rule.iter().map(|r| r.id.as_str()));

            let scopes = self
                .scope
                .iter()
                .map(|s| {
                    let at = format!("scope `{}`", s.instrument);
                    p.instrument(&at, &s.instrument);
                    ScopeRule {
                        instrument: s.instrument.clone(),
                        other_offences_min_penalty_months: s.other_offences_min_penalty_months,
                        title: s.title.clone(),
                        citations: p.citations(&at, &s.citations),
                    }
                })
                .collect();
            let data_thresholds = self
                .data_threshold
                .iter()
                .map(|t| {
                    let at = format!("data_threshold of {}", t.instrument);
                    p.instrument(&at, &t.instrument);
                    p.mechanisms(&at, &t.mechanisms);
                    p.offences(&at, &t.listed_offences);
                    DataThreshold {
                        instrument: t.instrument.clone(),
                        mechanisms: t.mechanisms.clone(),
                        categories: p.all_parsed(&at, &t.categories),
                        min_penalty_months: t.min_penalty_months,
                        listed_offences: t.listed_offences.clone(),
                        title: t.title.clone(),
                        citations: p.citations(&at, &t.citations),
                    }
                })
                .collect();
            if self.speech.indicators.iter().any(|i| i.trim().is_empty()) {
                p.push("speech: an indicator is empty".to_owned());
            }
            let speech = SpeechRule {
                title: self.speech.title.clone(),
                indicators: self
                    .speech
                    .indicators
                    .iter()
                    .map(|i| i.to_lowercase())
                    .collect(),
                citations: p.citations("speech", &self.speech.citations),
            };
            let issuing = self
                .issuing
                .iter()
                .map(|i| {
                    let at = format!(
                        "issuing rule of {} for {}",
                        i.instrument,
                        i.mechanisms.join(", ")
                    );
                    p.instrument(&at, &i.instrument);
                    p.mechanisms(&at, &i.mechanisms);
                    IssuingRule {
                        instrument: i.instrument.clone(),
                        mechanisms: i.mechanisms.clone(),
                        categories: p.all_parsed(&at, &i.categories),
                        issuers: p.all_parsed(&at, &i.issuers),
                        emergency_without_validation: i.emergency_without_validation,
                        citations: p.citations(&at, &i.citations),
                    }
                })
                .collect();
            let emergency_validation = {
                let ev = &self.emergency_validation;
                let clock = p
                    .catalogue
                    .mechanism(&ev.mechanism)
                    .and_then(|m| m.clocks.iter().find(|c| c.id == ev.clock));
                match clock {
                    Some(c) => Some(ValidationWindow {
                        duration: c.duration,
                        citations: c.citations.clone(),
                    }),
                    None => {
                        p.push(format!(
                            "emergency_validation: the catalogue has no clock `{}` in mechanism `{}`",
                            ev.clock, ev.mechanism
                        ));
                        None
                    }
                }
            };
            let channels = self
                .channel
                .iter()
                .map(|c| {
                    let at = format!("channel `{}`", c.id);
                    p.mechanisms(&at, &c.mechanisms);
                    for i in &c.instruments {
                        p.instrument(&at, i);
                    }
                    if c.routes.is_empty() {
                        p.push(format!("{at}: needs at least one route"));
                    }
                    let urgent_citations = if c.urgent_routes.is_empty() {
                        Vec::new()
                    } else {
                        p.citations(&format!("{at} urgent routes"), &c.urgent_citations)
                    };
                    ChannelRule {
                        id: c.id.clone(),
                        mechanisms: c.mechanisms.clone(),
                        instruments: c.instruments.clone(),
                        routes: routes(p, &at, &c.routes),
                        citations: p.citations(&at, &c.citations),
                        urgent_routes: routes(p, &at, &c.urgent_routes),
                        urgent_citations,
                        closed_by: c.closed_by.as_deref().and_then(|d| p.parsed(&at, d)),
                    }
                })
                .collect();
            p.unique("conduct", self.conduct.iter().map(|c| c.id.as_str()));
            let conducts = self
                .conduct
                .iter()
                .map(|c| Conduct {
                    id: c.id.clone(),
                    description: c.description.clone(),
                })
                .collect();
            let conduct_citations =
                p.citations("dual_criminality", &self.dual_criminality.conduct_citations);
            let dual_criminality = self
                .dual_criminality_rule
                .iter()
                .map(|r| {
                    let at = format!("dual_criminality_rule `{}`", r.id);
                    p.mechanism(&at, &r.mechanism);
                    for i in &r.instruments {
                        p.instrument(&at, i);
                    }
                    p.offences(&at, &r.listed_offences);
                    super::DualCriminalityRule {
                        id: r.id.clone(),
                        mechanism: r.mechanism.clone(),
                        instruments: r.instruments.clone(),
                        declaration: r.declaration.as_deref().and_then(|d| p.parsed(&at, d)),
                        listed_offences: r.listed_offences.clone(),
                        listed_min_penalty_months: r.listed_min_penalty_months,
                        citations: p.citations(&at, &r.citations),
                    }
                })
                .collect();
            let checklist = self
                .checklist
                .iter()
                .map(|c| {
                    let citations = match p.catalogue.refusal_ground(&c.ground) {
                        Some(g) => g.citations.clone(),
                        None => {
                            p.push(format!(
                                "checklist item `{}`: refusal ground `{}` is not in the catalogue",
                                c.id, c.ground
                            ));
                            Vec::new()
                        }
                    };
                    ChecklistRule {
                        id: c.id.clone(),
                        ground: c.ground.clone(),
                        question: c.question.clone(),
                        citations,
                    }
                })
                .collect();
            let mut legal: Vec<LegalRule> = self
                .rule
                .iter()
                .map(|r| {
                    let at = format!("rule `{}`", r.id);
                    p.mechanisms(&at, &r.mechanisms);
                    LegalRule {
                        id: r.id.clone(),
                        title: r.title.clone(),
                        mechanisms: r.mechanisms.clone(),
                        terms: r.terms.iter().map(|t| t.to_lowercase()).collect(),
                        remind_before: r.remind_before.as_deref().and_then(|d| p.parsed(&at, d)),
                        citations: p.citations(&at, &r.citations),
                    }
                })
                .collect();
            let mut take = |id: &str| {
                let found = legal
                    .iter()
                    .position(|r| r.id == id)
                    .map(|i| legal.remove(i));
                if found.is_none() {
                    p.push(format!(
                        "rule `{id}` is missing: the safeguards engine needs it"
                    ));
                }
                found
            };
            // Every id is looked up before any `?`, so that all missing rules are reported at once.
            let found = [
                "parties",
                "required-content",
                "further-information",
                "necessity",
                "collection-period",
                "emergency",
                "language",
                "provider-notification",
                "authorisation",
                "reasons",
                "consultation",
                "postponement",
                "conditions",
                "onward-transfer",
                "data-subject-notice",
            ]
            .map(&mut take);
            let [
                parties,
                required_content,
                further_information,
                necessity,
                collection_period,
                emergency,
                language,
                provider_notification,
                authorisation,
                reasons,
                consultation,
                postponement,
                conditions,
                onward_transfer,
                data_subject_notice,
            ] = found;
            for r in &legal {
                p.push(format!(
                    "rule `{}` is not used by the safeguards engine",
                    r.id
                ));
            }
            let rules = LegalRules {
                parties: parties?,
                required_content: required_content?,
                further_information: further_information?,
                necessity: necessity?,
                collection_period: collection_period?,
                emergency: emergency?,
                language: language?,
                provider_notification: provider_notification?,
                authorisation: authorisation?,
                reasons: reasons?,
                consultation: consultation?,
                postponement: postponement?,
                conditions: conditions?,
                onward_transfer: onward_transfer?,
                data_subject_notice: data_subject_notice?,
            };
            if rules.emergency.terms.is_empty() {
                p.push(
                    "rule `emergency`: needs `terms` that show the definition is met".to_owned(),
                );
            }
            if rules.data_subject_notice.remind_before.is_none() {
                p.push("rule `data-subject-notice`: needs `remind_before`".to_owned());
            }
            Some(SafeguardRules {
                version: self.version,
                generic_offence: self.generic_offence,
                scopes,
                data_thresholds,
                speech,
                issuing,
                emergency_validation: emergency_validation?,
                channels,
                conducts,
                conduct_citations,
                dual_criminality,
                checklist,
                rules,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_rules_load_against_the_catalogue() {
        let cat = Catalogue::embedded().unwrap();
        let rules = SafeguardRules::embedded(&cat).unwrap();
        assert_eq!(
            rules.emergency_validation.duration,
            ClockDuration::Hours(48)
        );
        assert_eq!(
            rules
                .scope("UNCC")
                .unwrap()
                .other_offences_min_penalty_months,
            Some(48)
        );
        assert_eq!(
            rules.channel("mla-general", "BC").unwrap().closed_by,
            Some(DeclarationKind::Bc27CentralRouting)
        );
        assert_eq!(
            rules.channel("production-order", "EEV").unwrap().id,
            "production-eev"
        );
        assert_eq!(
            rules.channel("production-order", "BC").unwrap().id,
            "production-mla"
        );
    }

    #[test]
    fn a_threshold_is_a_data_change() {
        let cat = Catalogue::embedded().unwrap();
        let text = EMBEDDED.replace(
            "other_offences_min_penalty_months = 48\ntitle = \"electronic",
            "other_offences_min_penalty_months = 60\ntitle = \"electronic",
        );
        assert_ne!(text, EMBEDDED, "the replacement must hit");
        let rules = SafeguardRules::parse(&text, &cat).unwrap();
        assert_eq!(
            rules
                .scope("UNCC")
                .unwrap()
                .other_offences_min_penalty_months,
            Some(60)
        );
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let cat = Catalogue::embedded().unwrap();
        let text = EMBEDDED
            .replace(
                "generic_offence = \"serious-crime\"",
                "generic_offence = \"anything\"",
            )
            .replace("\"judicial -> provider\"", "\"judge -> provider\"")
            .replace(
                "closed_by = \"bc-27-9-e-central-routing\"",
                "closed_by = \"bc-27-9-f\"",
            )
            .replace(
                "clock = \"eev-emergency-validation\"",
                "clock = \"validation\"",
            )
            .replace("id = \"consultation\"", "id = \"consulting\"")
            .replace("id = \"reasons\"", "id = \"reasoning\"")
            .replace("ground = \"non-discrimination\"", "ground = \"bias\"");
        let err = SafeguardRules::parse(&text, &cat).unwrap_err();
        let all = err.to_string();
        for needle in [
            "`anything`",
            "judge -> provider",
            "bc-27-9-f",
            "no clock `validation`",
            "rule `consultation` is missing",
            "rule `reasons` is missing",
            "rule `consulting` is not used",
            "`bias`",
        ] {
            assert!(all.contains(needle), "missing {needle} in:\n{all}");
        }
    }

    #[test]
    fn routes_parse() {
        let r: Route = "contact-point -> contact-point".parse().unwrap();
        assert_eq!(r.to_string(), "contact-point -> contact-point");
        assert!("judge -> court".parse::<Route>().is_err());
        assert!("central-authority".parse::<Route>().is_err());
    }
}
