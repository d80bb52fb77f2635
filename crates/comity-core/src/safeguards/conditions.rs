//! Conditions that travel with evidence: confidentiality, speciality and consent to onward transfer.

use time::OffsetDateTime;

use super::finding::Finding;
use super::rules::SafeguardRules;
use crate::country::IsoCountry;

/// Conditions the providing State attached and the requesting State accepted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Conditions {
    /// The evidence is kept confidential.
    pub confidentiality: bool,
    /// The only purposes it may be used for; empty: no speciality condition.
    pub speciality: Vec<String>,
    /// Forwarding it to another authority needs the providing State's consent.
    pub onward_transfer_needs_consent: bool,
}

impl Conditions {
    /// No condition at all.
    pub fn is_empty(&self) -> bool {
        !self.confidentiality && self.speciality.is_empty() && !self.onward_transfer_needs_consent
    }
}

/// Who would receive the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseRecipient {
    /// The authority that asked for it.
    RequestingAuthority,
    /// Another authority of the requesting State.
    OtherAuthority {
        /// Which.
        authority: String,
    },
    /// Another State or an international organisation.
    ThirdState {
        /// Which State.
        state: IsoCountry,
    },
    /// The public (for example through publication).
    Public,
}

/// A use somebody proposes to make of the evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProposedUse {
    /// For what.
    pub purpose: String,
    /// For whom.
    pub recipient: UseRecipient,
}

/// A consent recorded from the providing State.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    /// The purpose it covers; `None`: any.
    pub purpose: Option<String>,
    /// The recipient it covers; `None`: any.
    pub recipient: Option<UseRecipient>,
    /// The providing State's reference.
    pub reference: String,
    /// When it was given.
    pub given_at: OffsetDateTime,
}

impl Consent {
    fn covers(&self, proposed: &ProposedUse) -> bool {
        self.purpose
            .as_deref()
            .is_none_or(|p| same_purpose(p, &proposed.purpose))
            && self
                .recipient
                .as_ref()
                .is_none_or(|r| *r == proposed.recipient)
    }
}

fn same_purpose(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Whether `proposed` may go ahead under `conditions` and the consents recorded; the finding says why not.
pub fn check_onward_use(
    conditions: &Conditions,
    proposed: &ProposedUse,
    consents: &[Consent],
    rules: &SafeguardRules,
) -> Result<(), Finding> {
    let mut needs = Vec::new();
    if !conditions.speciality.is_empty()
        && !conditions
            .speciality
            .iter()
            .any(|p| same_purpose(p, &proposed.purpose))
    {
        needs.push(format!(
            "the evidence was supplied only for {}",
            conditions
                .speciality
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    match &proposed.recipient {
        UseRecipient::RequestingAuthority => {}
        UseRecipient::OtherAuthority { authority } => {
            if conditions.onward_transfer_needs_consent {
                needs.push(format!("forwarding to `{authority}` needs consent"));
            }
        }
        UseRecipient::ThirdState { state } => {
            needs.push(format!(
                "onward transfer to {state} always needs prior consent"
            ));
        }
        UseRecipient::Public => {
            if conditions.confidentiality {
                needs.push("the evidence is confidential".to_owned());
            }
        }
    }
    if needs.is_empty() || consents.iter().any(|c| c.covers(proposed)) {
        return Ok(());
    }
    let mut citations = rules.rules.conditions.citations.clone();
    if !matches!(proposed.recipient, UseRecipient::RequestingAuthority) {
        citations.extend(rules.rules.onward_transfer.citations.iter().cloned());
    }
    Err(Finding::block(
        "onward.consent-required",
        format!(
            "this use needs the providing State's consent first: {}; ask for it and record it before forwarding or exporting",
            needs.join("; ")
        ),
        &citations,
    ))
}
