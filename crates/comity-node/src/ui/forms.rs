//! Form bodies: a typed view of `application/x-www-form-urlencoded` pairs, and the drafting wizard's form turned
//! into a request document.

use crate::wire::{
    AssetsInput, CollectionPeriodInput, DataSoughtInput, IdentifierInput, JointInvestigationInput,
    OffenceInput, RequestInput,
};

/// Fields of a submitted form.
#[derive(Debug, Default, Clone)]
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    /// The first value of `name`, trimmed, if not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// The first value of `name` or an empty string, for re-filling a form.
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or_default()
    }

    /// Every non-empty value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }

    /// Whether a checkbox is ticked.
    pub fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The first value of `name`, owned, if not empty.
    pub fn text_owned(&self, name: &str) -> Option<String> {
        self.text(name)
    }

    fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }
}

/// Identifier kinds offered by the wizard.
pub const IDENTIFIER_KINDS: [&str; 6] =
    ["ip-address", "account", "email", "phone", "domain", "other"];

/// A value the form could not read, by field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormProblem {
    /// Field name.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn number<T: std::str::FromStr>(
    form: &FormData,
    field: &'static str,
    problems: &mut Vec<FormProblem>,
) -> Option<T> {
    let text = form.get(field)?;
    match text.parse::<T>() {
        Ok(n) => Some(n),
        Err(_) => {
            problems.push(FormProblem {
                field,
                message: format!("`{text}` is not a whole number"),
            });
            None
        }
    }
}

/// The wizard's form as a request document of `mechanism`; values it cannot read are returned as problems.
pub fn request_input(mechanism: &str, form: &FormData) -> (RequestInput, Vec<FormProblem>) {
    let mut problems = Vec::new();
    let offences = match form.get("offence_entry") {
        Some(entry) => vec![OffenceInput {
            catalogue_entry: entry.to_owned(),
            national_provision: form.value("offence_provision").to_owned(),
            max_penalty_months: number(form, "offence_penalty_months", &mut problems).unwrap_or(0),
        }],
        None => Vec::new(),
    };
    let identifier = form.get("identifier_value").map(|value| {
        let value = value.to_owned();
        match form.value("identifier_kind") {
            "ip-address" => IdentifierInput::IpAddress {
                address: value,
                port: None,
                observed_at: form.value("identifier_observed_at").to_owned(),
            },
            "account" => IdentifierInput::Account {
                service: form.value("custodian_or_location").to_owned(),
                account: value,
            },
            "email" => IdentifierInput::Email { address: value },
            "phone" => IdentifierInput::Phone { number: value },
            "domain" => IdentifierInput::Domain { name: value },
            _ => IdentifierInput::Other {
                kind: "identifier".into(),
                value,
            },
        }
    });
    let data_sought = match form.get("data_category") {
        Some(category) if form.get("data_description").is_some() || identifier.is_some() => {
            vec![DataSoughtInput {
                category: category.to_owned(),
                description: form.value("data_description").to_owned(),
                identifiers: identifier.into_iter().collect(),
                time_range: None,
            }]
        }
        _ => Vec::new(),
    };
    let collection_period =
        number::<u32>(form, "collection_days", &mut problems).map(|days| CollectionPeriodInput {
            days,
            justification: form.value("collection_justification").to_owned(),
        });
    let assets = form
        .text("assets_description")
        .map(|description| AssetsInput {
            description,
            location: form.text("assets_location"),
            estimated_value: form.text("assets_estimated_value"),
            order_reference: form.text("assets_order_reference"),
        });
    let joint_investigation = form
        .text("jit_evidence_arrangements")
        .map(|evidence_arrangements| JointInvestigationInput {
            members: form
                .value("jit_members")
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(str::to_owned)
                .collect(),
            duration_days: number(form, "jit_duration_days", &mut problems).unwrap_or(0),
            evidence_arrangements,
        });
    let input = RequestInput {
        mechanism: mechanism.to_owned(),
        requesting_authority: None,
        requested_state: form.value("requested_state").to_ascii_uppercase(),
        addressee: form.text("addressee"),
        instrument: form.value("instrument").to_owned(),
        domestic_legal_basis: form.text("domestic_legal_basis"),
        offences,
        summary_of_facts: form.text("summary_of_facts"),
        data_sought,
        relation_to_offence: form.text("relation_to_offence"),
        custodian_or_location: form.text("custodian_or_location"),
        necessity: form.text("necessity"),
        follow_up_mla_intent: form.checked("follow_up_mla_intent"),
        assistance_sought: form.text("assistance_sought"),
        purpose: form.text("purpose"),
        persons_concerned: form.text("persons_concerned"),
        urgency: form.get("urgency").unwrap_or("normal").to_owned(),
        emergency_justification: form.text("emergency_justification"),
        confidentiality_requested: form.checked("confidentiality_requested"),
        language: form.get("language").unwrap_or("en").to_owned(),
        collection_period,
        preservation_reference: form.text("preservation_reference"),
        conditions: form.text("conditions"),
        assets,
        joint_investigation,
    };
    (input, problems)
}
