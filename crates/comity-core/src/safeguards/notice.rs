//! Data-subject notice: given, or deferred with a reason and a review date; the reminder before the review date.

use time::OffsetDateTime;

use super::finding::Finding;
use super::rules::SafeguardRules;

/// Where the notice to the person concerned stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoticeStatus {
    /// Not yet decided: notice is due without undue delay.
    Pending {
        /// Since when the data are held.
        since: OffsetDateTime,
    },
    /// Given.
    Given {
        /// When.
        at: OffsetDateTime,
    },
    /// Deferred with reasons recorded in the file, to be reviewed.
    Deferred {
        /// Why.
        reason: String,
        /// When to review the deferral.
        review_on: OffsetDateTime,
    },
}

/// A deferral that cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoticeError {
    /// No reason.
    #[error("a deferral of notice needs its reasons recorded in the file")]
    NoReason,
    /// The review date is not after the decision.
    #[error("the review date {review_on} must be after the decision to defer ({decided_at})")]
    ReviewNotAfterDecision {
        /// The review date given.
        review_on: OffsetDateTime,
        /// When the deferral was decided.
        decided_at: OffsetDateTime,
    },
}

impl NoticeStatus {
    /// A deferral decided at `decided_at`, with its reason and review date.
    pub fn deferred(
        reason: &str,
        review_on: OffsetDateTime,
        decided_at: OffsetDateTime,
    ) -> Result<Self, NoticeError> {
        if reason.trim().is_empty() {
            return Err(NoticeError::NoReason);
        }
        if review_on <= decided_at {
            return Err(NoticeError::ReviewNotAfterDecision {
                review_on,
                decided_at,
            });
        }
        Ok(Self::Deferred {
            reason: reason.trim().to_owned(),
            review_on,
        })
    }
}

/// A reminder about notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeReminder {
    /// When the action is due.
    pub due: OffsetDateTime,
    /// Already past due.
    pub overdue: bool,
    /// What to do.
    pub finding: Finding,
}

/// The reminder due at `now`, if any: pending notice at once, a deferral from the reminder lead time before its
/// review date.
pub fn notice_due(
    status: &NoticeStatus,
    rules: &SafeguardRules,
    now: OffsetDateTime,
) -> Option<NoticeReminder> {
    let rule = &rules.rules.data_subject_notice;
    match status {
        NoticeStatus::Given { .. } => None,
        NoticeStatus::Pending { since } => Some(NoticeReminder {
            due: *since,
            overdue: true,
            finding: Finding::warn(
                "notice.pending",
                "inform the person concerned without undue delay, or record a deferral with its reasons and a review date",
                &rule.citations,
            ),
        }),
        NoticeStatus::Deferred { review_on, .. } => {
            let lead = rule.remind_before?;
            if lead.after(now) < *review_on {
                return None;
            }
            let overdue = now >= *review_on;
            Some(NoticeReminder {
                due: *review_on,
                overdue,
                finding: Finding::warn(
                    if overdue {
                        "notice.review-overdue"
                    } else {
                        "notice.review-due"
                    },
                    format!(
                        "the deferral of notice {} for review on {review_on}: give notice, or renew the deferral with fresh reasons",
                        if overdue { "was due" } else { "comes up" }
                    ),
                    &rule.citations,
                ),
            })
        }
    }
}
