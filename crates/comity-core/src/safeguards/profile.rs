//! National profiles: one State's instruments, declarations and reservations, languages, judicial authorisations,
//! dual-criminality requirements and offences, parsed from a TOML file and checked against the catalogue and the
//! safeguard rules.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::citations::{CitationText, Problems};
use super::rules::SafeguardRules;
use crate::catalogue::{Catalogue, Citation};
use crate::country::IsoCountry;
use crate::names::named_enum;
use crate::request::DataCategory;

named_enum! {
    /// A declaration or reservation a State made that changes what the engine checks.
    DeclarationKind ("declaration kind") {
        /// BC Art 29(4): preservation may be refused for lack of dual criminality, outside BC Arts 2-11.
        Bc29DualCriminalityPreservation = "bc-29-4-dual-criminality-preservation",
        /// UNCC Art 42: the same reservation under the UN Convention.
        Uncc42DualCriminalityPreservation = "uncc-42-dual-criminality-preservation",
        /// BC Art 27(9)(e): urgent requests go through the central authority.
        Bc27CentralRouting = "bc-27-9-e-central-routing",
        /// P2 Art 7(5): orders to providers on its territory are notified to it at the same time.
        P2Art7Notification = "p2-7-notification",
    }
}

/// The example profiles shipped with comity, by file name.
pub const EXAMPLE_PROFILES: &[(&str, &str)] = &[
    (
        "BR.toml",
        include_str!("../../../../rules/profiles/BR.toml"),
    ),
    (
        "DE.toml",
        include_str!("../../../../rules/profiles/DE.toml"),
    ),
    (
        "FR.toml",
        include_str!("../../../../rules/profiles/FR.toml"),
    ),
    (
        "US.toml",
        include_str!("../../../../rules/profiles/US.toml"),
    ),
    (
        "VN.toml",
        include_str!("../../../../rules/profiles/VN.toml"),
    ),
];

/// The example profiles shipped with comity, parsed; the first invalid one is reported with its file name.
pub fn example_profiles(
    catalogue: &Catalogue,
    rules: &SafeguardRules,
) -> Result<Vec<Profile>, ProfileError> {
    EXAMPLE_PROFILES
        .iter()
        .map(|(name, text)| {
            Profile::parse(text, catalogue, rules).map_err(|mut e| {
                e.file = Some((*name).to_owned());
                e
            })
        })
        .collect()
}

/// A declaration or reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// What it does.
    pub kind: DeclarationKind,
    /// The authority it designates, if any.
    pub authority: Option<String>,
    /// What the State declared, in words.
    pub text: String,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// Whether the State requires dual criminality for a mechanism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DualCriminalityRequirement {
    /// Mechanism id.
    pub mechanism: String,
    /// Required or not.
    pub required: bool,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// A measure the State's law submits to judicial authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorisationRule {
    /// Mechanism id.
    pub mechanism: String,
    /// Data categories concerned; empty: any.
    pub categories: Vec<DataCategory>,
    /// Who authorises.
    pub authority: String,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// The longest collection period the State's law allows for a measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionLimit {
    /// Mechanism id.
    pub mechanism: String,
    /// Days.
    pub max_days: u32,
    /// Where it comes from.
    pub citations: Vec<Citation>,
}

/// A national offence, mapped to the catalogue and described by its conduct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalOffence {
    /// The provision, for example `Code pénal art. 323-1`.
    pub provision: String,
    /// Catalogue entry id.
    pub catalogue_entry: String,
    /// Maximum penalty.
    pub max_penalty_months: u32,
    /// Conduct ids from the safeguard rules' vocabulary.
    pub conduct: Vec<String>,
    /// What it punishes, in words.
    pub description: String,
    /// A speech-type offence.
    pub speech: bool,
}

/// A national law that profile citations may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NationalLaw {
    /// Code used in citations, for example `FR-CPP`.
    pub code: String,
    /// Title.
    pub title: String,
}

/// One State's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// The State.
    pub state: IsoCountry,
    /// Its name.
    pub name: String,
    /// An illustrative example, not the State's actual position.
    pub example: bool,
    /// Bound by the EU e-Evidence Regulation.
    pub eev_member: bool,
    /// Instruments it is party to (catalogue codes).
    pub instruments: Vec<String>,
    /// Languages it accepts requests in (ISO 639-1).
    pub languages: Vec<String>,
    /// Where the language declaration comes from.
    pub language_citations: Vec<Citation>,
    /// National laws cited.
    pub laws: Vec<NationalLaw>,
    /// Declarations and reservations.
    pub declarations: Vec<Declaration>,
    /// Dual-criminality requirements per mechanism.
    pub dual_criminality: Vec<DualCriminalityRequirement>,
    /// Measures needing judicial authorisation.
    pub judicial_authorisation: Vec<AuthorisationRule>,
    /// Collection period limits.
    pub collection_limits: Vec<CollectionLimit>,
    /// National offences.
    pub offences: Vec<NationalOffence>,
}

impl Profile {
    /// Parses and checks a profile against the catalogue and the safeguard rules.
    pub fn parse(
        text: &str,
        catalogue: &Catalogue,
        rules: &SafeguardRules,
    ) -> Result<Self, ProfileError> {
        let file: file::Profile = toml::from_str(text).map_err(|e| ProfileError {
            file: None,
            problems: vec![e.to_string().trim().replace('\n', " ")],
        })?;
        let mut problems = Problems::new(catalogue);
        let profile = file.check(&mut problems, rules);
        match profile {
            Some(p) if problems.list.is_empty() => Ok(p),
            _ => Err(ProfileError {
                file: None,
                problems: problems.list,
            }),
        }
    }

    /// Whether the State is party to an instrument.
    pub fn is_party(&self, instrument: &str) -> bool {
        self.instruments.iter().any(|i| i == instrument)
    }

    /// The State's declaration of a kind, if it made one.
    pub fn declaration(&self, kind: DeclarationKind) -> Option<&Declaration> {
        self.declarations.iter().find(|d| d.kind == kind)
    }

    /// Whether the State accepts requests in a language.
    pub fn accepts_language(&self, language: &str) -> bool {
        self.languages
            .iter()
            .any(|l| l.eq_ignore_ascii_case(language.trim()))
    }

    /// The State's dual-criminality requirement for a mechanism, if it states one.
    pub fn dual_criminality_for(&self, mechanism: &str) -> Option<&DualCriminalityRequirement> {
        self.dual_criminality
            .iter()
            .find(|d| d.mechanism == mechanism)
    }

    /// A national offence by provision (case and surrounding spaces ignored).
    pub fn offence(&self, provision: &str) -> Option<&NationalOffence> {
        let wanted = provision.trim().to_lowercase();
        self.offences
            .iter()
            .find(|o| o.provision.trim().to_lowercase() == wanted)
    }
}

/// A profile that cannot be used, with every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the national profile{} is invalid:\n  {}",
    .file.as_ref().map(|s| format!(" `{s}`")).unwrap_or_default(),
    .problems.join("\n  ")
)]
pub struct ProfileError {
    /// The file, when known.
    pub file: Option<String>,
    /// One line per problem, each naming where it is.
    pub problems: Vec<String>,
}

/// The file form, private: only [`Profile::parse`] sees it.
mod file {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct Profile {
        schema: u32,
        state: String,
        name: String,
        example: bool,
        eev_member: bool,
        instruments: Vec<String>,
        languages: Languages,
        #[serde(default)]
        law: Vec<Law>,
        #[serde(default)]
        declaration: Vec<Declaration>,
        #[serde(default)]
        dual_criminality: Vec<DualCriminality>,
        #[serde(default)]
        judicial_authorisation: Vec<Authorisation>,
        #[serde(default)]
        collection_limit: Vec<Limit>,
        #[serde(default)]
        offence: Vec<Offence>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Languages {
        accepted: Vec<String>,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Law {
        code: String,
        title: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Declaration {
        kind: String,
        authority: Option<String>,
        text: String,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct DualCriminality {
        mechanism: String,
        required: bool,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Authorisation {
        mechanism: String,
        #[serde(default)]
        categories: Vec<String>,
        authority: String,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Limit {
        mechanism: String,
        max_days: u32,
        citations: Vec<CitationText>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Offence {
        provision: String,
        catalogue_entry: String,
        max_penalty_months: u32,
        conduct: Vec<String>,
        description: String,
        #[serde(default)]
        speech: bool,
    }

    fn language_code(code: &str) -> bool {
        code.len() == 2 && code.chars().all(|c| c.is_ascii_lowercase())
    }

    impl Profile {
        pub(super) fn check(
            self,
            p: &mut Problems<'_>,
            rules: &SafeguardRules,
        ) -> Option<super::Profile> {
            if self.schema != 1 {
                p.push(format!(
                    "schema {} is not supported by this comity (it reads schema 1)",
                    self.schema
                ));
            }
            let state = IsoCountry::parse(&self.state)
                .map_err(|e| p.push(format!("state: {e}")))
                .ok();
            // A profile's citations may name its own national laws.
            p.unique("law", self.law.iter().map(|l| l.code.as_str()));
            for law in &self.law {
                if p.catalogue.instrument(&law.code).is_some() {
                    p.push(format!(
                        "law `{}`: the code is a treaty instrument of the catalogue; choose another",
                        law.code
                    ));
                }
                p.instruments.insert(law.code.clone());
            }
            p.unique("instrument", self.instruments.iter().map(String::as_str));
            for i in &self.instruments {
                p.instrument("instruments", i);
            }
            let eev_listed = self.instruments.iter().any(|i| i == "EEV");
            if self.eev_member != eev_listed {
                p.push(format!(
                    "eev_member is {} but `EEV` is {}in instruments; make them agree",
                    self.eev_member,
                    if eev_listed { "" } else { "not " }
                ));
            }
            if self.languages.accepted.is_empty() {
                p.push("languages: accept at least one language".to_owned());
            }
            for l in &self.languages.accepted {
                if !language_code(l) {
                    p.push(format!(
                        "languages: `{l}` is not an ISO 639-1 code in lower case (for example `fr`)"
                    ));
                }
            }
            let language_citations = p.citations("languages", &self.languages.citations);

            let mut kinds = BTreeSet::new();
            let declarations = self
                .declaration
                .iter()
                .filter_map(|d| {
                    let at = format!("declaration `{}`", d.kind);
                    let citations = p.citations(&at, &d.citations);
                    let kind: DeclarationKind = p.parsed("declaration", &d.kind)?;
                    if !kinds.insert(kind) {
                        p.push(format!("{at} is made twice"));
                    }
                    Some(super::Declaration {
                        kind,
                        authority: d.authority.clone(),
                        text: d.text.clone(),
                        citations,
                    })
                })
                .collect::<Vec<_>>();
            for d in &declarations {
                let needs = match d.kind {
                    DeclarationKind::Bc29DualCriminalityPreservation
                    | DeclarationKind::Bc27CentralRouting => "BC",
                    DeclarationKind::Uncc42DualCriminalityPreservation => "UNCC",
                    DeclarationKind::P2Art7Notification => "P2",
                };
                if !self.instruments.iter().any(|i| i == needs) {
                    p.push(format!(
                        "declaration `{}`: a State not party to {needs} cannot make it",
                        d.kind
                    ));
                }
            }

            p.unique(
                "dual_criminality mechanism",
                self.dual_criminality.iter().map(|d| d.mechanism.as_str()),
            );
            let dual_criminality = self
                .dual_criminality
                .iter()
                .map(|d| {
                    let at = format!("dual_criminality for `{}`", d.mechanism);
                    p.mechanism(&at, &d.mechanism);
                    DualCriminalityRequirement {
                        mechanism: d.mechanism.clone(),
                        required: d.required,
                        citations: p.citations(&at, &d.citations),
                    }
                })
                .collect();
            let judicial_authorisation = self
                .judicial_authorisation
                .iter()
                .map(|a| {
                    let at = format!("judicial_authorisation for `{}`", a.mechanism);
                    p.mechanism(&at, &a.mechanism);
                    if a.authority.trim().is_empty() {
                        p.push(format!("{at}: name the authority that authorises"));
                    }
                    AuthorisationRule {
                        mechanism: a.mechanism.clone(),
                        categories: p.all_parsed(&at, &a.categories),
                        authority: a.authority.clone(),
                        citations: p.citations(&at, &a.citations),
                    }
                })
                .collect();
            let collection_limits = self
                .collection_limit
                .iter()
                .map(|l| {
                    let at = format!("collection_limit for `{}`", l.mechanism);
                    p.mechanism(&at, &l.mechanism);
                    if l.max_days == 0 || l.max_days > 366 {
                        p.push(format!("{at}: max_days must be from 1 to 366"));
                    }
                    CollectionLimit {
                        mechanism: l.mechanism.clone(),
                        max_days: l.max_days,
                        citations: p.citations(&at, &l.citations),
                    }
                })
                .collect();
            let conducts: BTreeSet<&str> = rules.conducts.iter().map(|c| c.id.as_str()).collect();
            p.unique("offence", self.offence.iter().map(|o| o.provision.as_str()));
            let offences = self
                .offence
                .iter()
                .map(|o| {
                    let at = format!("offence `{}`", o.provision);
                    p.offence(&at, &o.catalogue_entry);
                    if o.max_penalty_months == 0 || o.max_penalty_months > 1200 {
                        p.push(format!("{at}: max_penalty_months must be from 1 to 1200"));
                    }
                    if o.conduct.is_empty() {
                        p.push(format!(
                            "{at}: describe the conduct with at least one conduct id"
                        ));
                    }
                    for c in &o.conduct {
                        if !conducts.contains(c.as_str()) {
                            p.push(format!(
                                "{at}: conduct `{c}` is not in the vocabulary of the safeguard rules"
                            ));
                        }
                    }
                    NationalOffence {
                        provision: o.provision.clone(),
                        catalogue_entry: o.catalogue_entry.clone(),
                        max_penalty_months: o.max_penalty_months,
                        conduct: o.conduct.clone(),
                        description: o.description.clone(),
                        speech: o.speech,
                    }
                })
                .collect();
            Some(super::Profile {
                state: state?,
                name: self.name,
                example: self.example,
                eev_member: self.eev_member,
                instruments: self.instruments,
                languages: self.languages.accepted,
                language_citations,
                laws: self
                    .law
                    .into_iter()
                    .map(|l| NationalLaw {
                        code: l.code,
                        title: l.title,
                    })
                    .collect(),
                declarations,
                dual_criminality,
                judicial_authorisation,
                collection_limits,
                offences,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> (Catalogue, SafeguardRules) {
        let cat = Catalogue::embedded().unwrap();
        let rules = SafeguardRules::embedded(&cat).unwrap();
        (cat, rules)
    }

    #[test]
    fn the_example_profiles_load_and_say_they_are_examples() {
        let (cat, rules) = rules();
        let profiles = example_profiles(&cat, &rules).unwrap();
        let states: Vec<_> = profiles.iter().map(|p| p.state.as_str()).collect();
        assert_eq!(states, ["BR", "DE", "FR", "US", "VN"]);
        assert!(profiles.iter().all(|p| p.example));
        for (name, text) in EXAMPLE_PROFILES {
            assert!(text.contains("ILLUSTRATIVE DATA ONLY"), "{name}");
        }
        let fr = &profiles[2];
        assert!(fr.eev_member && fr.is_party("EEV") && !profiles[3].is_party("EEV"));
        assert!(
            fr.declaration(DeclarationKind::P2Art7Notification)
                .is_some()
        );
        assert_eq!(
            fr.offence("  code pénal ART. 323-1 ")
                .map(|o| o.catalogue_entry.as_str()),
            Some("illegal-access")
        );
    }

    #[test]
    fn every_problem_of_a_profile_is_reported_at_once() {
        let (cat, rules) = rules();
        let text = EXAMPLE_PROFILES[2]
            .1
            .replace("state = \"FR\"", "state = \"XX\"")
            .replace("eev_member = true", "eev_member = false")
            .replace("accepted = [\"fr\", \"en\"]", "accepted = [\"French\"]")
            .replace(
                "kind = \"p2-7-notification\"",
                "kind = \"p2-7-notifcation\"",
            )
            .replace("mechanism = \"interception\"", "mechanism = \"wiretap\"")
            .replace("conduct = [\"data-damage\"]", "conduct = [\"hacking\"]")
            .replace(
                "catalogue_entry = \"illegal-access\"",
                "catalogue_entry = \"hacking\"",
            )
            .replacen("tag = \"U\"", "tag = \"Q\"", 1)
            .replacen("instrument = \"FR-CPP\"", "instrument = \"FR-XYZ\"", 1);
        let err = Profile::parse(&text, &cat, &rules).unwrap_err();
        let all = err.to_string();
        for needle in [
            "`XX`",
            "eev_member is false",
            "`French`",
            "p2-7-notifcation",
            "wiretap",
            "conduct `hacking`",
            "offence `hacking`",
            "tag `Q`",
            "FR-XYZ",
        ] {
            assert!(all.contains(needle), "missing {needle} in:\n{all}");
        }
    }

    #[test]
    fn a_declaration_needs_the_instrument_and_is_made_once() {
        let (cat, rules) = rules();
        let text = EXAMPLE_PROFILES[4].1.replace(
            "[[dual_criminality]]",
            "[[declaration]]\nkind = \"bc-27-9-e-central-routing\"\ntext = \"x\"\ncitations = [{ instrument = \"BC\", article = \"27(9)(e)\", tag = \"U\" }]\n\n[[dual_criminality]]",
        );
        let err = Profile::parse(&text, &cat, &rules).unwrap_err();
        assert!(
            err.problems.iter().any(|p| p.contains("not party to BC")),
            "{err}"
        );
        assert!(
            err.problems.iter().any(|p| p.contains("made twice")),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_and_schemas_are_refused() {
        let (cat, rules) = rules();
        let fr = EXAMPLE_PROFILES[2].1;
        assert!(Profile::parse(&fr.replace("schema = 1", "schema = 2"), &cat, &rules).is_err());
        assert!(
            Profile::parse(
                &fr.replace("example = true", "example = true\ncolour = 1"),
                &cat,
                &rules
            )
            .is_err()
        );
        assert!(Profile::parse("state = ", &cat, &rules).is_err());
    }
}
