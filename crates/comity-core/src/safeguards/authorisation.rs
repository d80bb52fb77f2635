//! Judicial authorisation: which measures need it, and the validation window of an emergency order issued without
//! prior validation.

use time::OffsetDateTime;

use super::finding::Finding;
use super::profile::Profile;
use super::rules::{SafeguardRules, ValidationWindow};
use crate::catalogue::{Citation, Mechanism};
use crate::request::RequestDocument;

/// Whether `doc` needs a judicial authorisation before it is sent, and why: `None` when it does not; otherwise the
/// citations of the treaty rule (when the catalogue marks the mechanism) and of the requesting State's law (when its
/// profile lists the measure for the data categories sought).
pub fn authorisation_required(
    mechanism: &Mechanism,
    doc: &RequestDocument,
    from: &Profile,
    rules: &SafeguardRules,
) -> Option<Vec<Citation>> {
    let mut citations = Vec::new();
    if mechanism.authorisation_required {
        citations.extend(rules.rules.authorisation.citations.iter().cloned());
    }
    for a in from.judicial_authorisation.iter().filter(|a| {
        a.mechanism == mechanism.id
            && (a.categories.is_empty()
                || doc
                    .data_sought
                    .iter()
                    .any(|d| a.categories.contains(&d.category)))
    }) {
        citations.extend(a.citations.iter().cloned());
    }
    (!citations.is_empty()).then_some(citations)
}

/// Where an emergency order issued without prior validation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidationStatus {
    /// Validated in time.
    Valid {
        /// When.
        validated_at: OffsetDateTime,
    },
    /// Not yet validated; still time.
    Pending {
        /// The validation is due before this moment.
        due: OffsetDateTime,
    },
    /// Not validated in time: data received under the order must be quarantined and the requester told.
    Lapsed {
        /// When the window closed.
        due: OffsetDateTime,
    },
}

impl ValidationStatus {
    /// Data received under the order must be quarantined.
    pub fn quarantine_required(self) -> bool {
        matches!(self, Self::Lapsed { .. })
    }

    /// A finding for a lapsed validation, to show the requester.
    pub fn finding(self, window: &ValidationWindow) -> Option<Finding> {
        match self {
            Self::Lapsed { due } => Some(Finding::block(
                "validation.lapsed",
                format!(
                    "the emergency order was not validated within {} (by {due}): quarantine the data received under it and tell the requester; do not use them",
                    window.duration
                ),
                &window.citations,
            )),
            Self::Valid { .. } | Self::Pending { .. } => None,
        }
    }
}

/// The validation status at `now` of an order issued at `issued_at` and validated at `validated_at`, if it was.
/// A validation after the window closed does not save the order.
pub fn validation_status(
    window: &ValidationWindow,
    issued_at: OffsetDateTime,
    validated_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> ValidationStatus {
    let due = window.duration.after(issued_at);
    match validated_at {
        Some(at) if at <= due => ValidationStatus::Valid { validated_at: at },
        Some(_) => ValidationStatus::Lapsed { due },
        None if now < due => ValidationStatus::Pending { due },
        None => ValidationStatus::Lapsed { due },
    }
}
