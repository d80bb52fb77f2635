//! Statistics computed from the log's leaves, so that anyone holding the tiles can recompute them; the EEV Art 28
//! annual return from the same leaves; and reconciliation of two nodes' logs.
//!
//! Only the median time from request to execution needs the store (leaves of one request are not linkable by
//! design); the service adds it and says so in the result.

use std::collections::BTreeMap;

use comity_core::IsoCountry;
use comity_core::lifecycle::Action;
use comity_core::request::Urgency;
use comity_tlog::Hash;
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;

use crate::eventlog::leaf::{Leaf, Side};

/// Days from and to, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub from: Date,
    /// Last day.
    pub to: Date,
}

impl Period {
    /// Whether `day` falls in the period.
    pub fn contains(&self, day: Date) -> bool {
        self.from <= day && day <= self.to
    }
}

/// Counts over a period, recomputable from the leaves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Leaves in the period.
    pub events: u64,
    /// Requests that went out (`send` on the sending side) or came in (`receive` on the receiving side).
    pub requests: u64,
    /// Requests by mechanism.
    pub by_mechanism: BTreeMap<String, u64>,
    /// Requests by State pair, `FR→US`.
    pub by_state_pair: BTreeMap<String, u64>,
    /// Requests marked as emergencies.
    pub emergency_requests: u64,
    /// Share of emergencies among requests, 0 to 1 (absent without requests).
    pub emergency_share: Option<f64>,
    /// Executions, full or partial.
    pub executions: u64,
    /// Refusals.
    pub refusals: u64,
    /// Refusals by ground (a refusal on two grounds counts under both).
    pub refusals_by_ground: BTreeMap<String, u64>,
    /// Preservations that expired.
    pub preservation_expiries: u64,
}

/// Whether a leaf records a request entering the node's hands: sent from here, or received here.
fn is_request(leaf: &Leaf) -> bool {
    matches!(
        (leaf.side, leaf.kind),
        (Side::Sent, Action::Send) | (Side::Received, Action::Receive)
    )
}

/// Counts the leaves of a period.
pub fn count<'a>(leaves: impl IntoIterator<Item = &'a Leaf>, period: Period) -> Counts {
    let mut c = Counts::default();
    for leaf in leaves.into_iter().filter(|l| period.contains(l.day)) {
        c.events += 1;
        if is_request(leaf) {
            c.requests += 1;
            *c.by_mechanism.entry(leaf.mechanism.clone()).or_default() += 1;
            *c.by_state_pair.entry(leaf.state_pair()).or_default() += 1;
            if leaf.urgency == Urgency::Emergency {
                c.emergency_requests += 1;
            }
        }
        match leaf.kind {
            Action::Execute | Action::ExecutePartially => c.executions += 1,
            Action::Refuse => {
                c.refusals += 1;
                for g in &leaf.grounds {
                    *c.refusals_by_ground.entry(g.clone()).or_default() += 1;
                }
            }
            Action::Expire => c.preservation_expiries += 1,
            _ => {}
        }
    }
    c.emergency_share = (c.requests > 0).then(|| c.emergency_requests as f64 / c.requests as f64);
    c
}

/// The median of a list of durations in days.
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// Statistics of a period, published with the checkpoint they were computed against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatisticsView {
    /// First day (UTC), included.
    pub from: String,
    /// Last day (UTC), included.
    pub to: String,
    /// Counts recomputable from the log's leaves.
    pub counts: Counts,
    /// Median days from sending (or receiving) a request to its execution, for executions in the period. Computed
    /// from the node's store: leaves of one request are deliberately not linkable.
    pub median_days_to_execution: Option<f64>,
    /// Tree size the counts were computed over.
    pub log_size: u64,
    /// The signed checkpoint of that tree (C2SP signed note), with any cosignatures.
    pub checkpoint: String,
}

/// The EEV Art 28 annual return, from the leaves of instrument `EEV`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EevArt28Return {
    /// Calendar year.
    pub year: i32,
    /// European Production Orders issued (production orders sent under EEV).
    pub epoc_issued: u64,
    /// European Preservation Orders issued (expedited preservation sent under EEV).
    pub epoc_pr_issued: u64,
    /// Orders issued as emergencies.
    pub emergency_issued: u64,
    /// Orders received for enforcement (receiving side).
    pub received: u64,
    /// Orders fulfilled (executed, fully or partly).
    pub fulfilled: u64,
    /// Orders not fulfilled (refused).
    pub not_fulfilled: u64,
    /// Grounds of non-fulfilment, by ground.
    pub grounds: BTreeMap<String, u64>,
    /// Median days from issuing to obtaining the data, from the store.
    pub median_days_to_data: Option<f64>,
    /// Items of Art 28 comity does not record yet, to be filled in by hand.
    pub not_recorded: Vec<String>,
    /// Tree size the return was computed over.
    pub log_size: u64,
    /// The signed checkpoint of that tree.
    pub checkpoint: String,
}

/// Counts the EEV leaves of `year` into an Art 28 return (without checkpoint and median, which the caller adds).
pub fn eev_art28<'a>(leaves: impl IntoIterator<Item = &'a Leaf>, year: i32) -> EevArt28Return {
    let mut r = EevArt28Return {
        year,
        epoc_issued: 0,
        epoc_pr_issued: 0,
        emergency_issued: 0,
        received: 0,
        fulfilled: 0,
        not_fulfilled: 0,
        grounds: BTreeMap::new(),
        median_days_to_data: None,
        not_recorded: vec![
            "categories of data requested (Art 28(1)(a))".into(),
            "service providers addressed".into(),
            "legal remedies and their outcome".into(),
            "costs reimbursed".into(),
        ],
        log_size: 0,
        checkpoint: String::new(),
    };
    for leaf in leaves
        .into_iter()
        .filter(|l| l.instrument == "EEV" && l.day.year() == year)
    {
        match (leaf.side, leaf.kind) {
            (Side::Sent, Action::Send) => {
                match leaf.mechanism.as_str() {
                    "production-order" => r.epoc_issued += 1,
                    "expedited-preservation" => r.epoc_pr_issued += 1,
                    _ => {}
                }
                if leaf.urgency == Urgency::Emergency {
                    r.emergency_issued += 1;
                }
            }
            (Side::Received, Action::Receive) => r.received += 1,
            (_, Action::Execute | Action::ExecutePartially | Action::Preserve) => r.fulfilled += 1,
            (_, Action::Refuse) => {
                r.not_fulfilled += 1;
                for g in &leaf.grounds {
                    *r.grounds.entry(g.clone()).or_default() += 1;
                }
            }
            _ => {}
        }
    }
    r
}

/// One disagreement between what the sender logged and what the receiver logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// A message the sender logged as sent that the receiver did not log as received.
    NotReceived(Hash),
    /// A message the receiver logged as received that the sender did not log as sent.
    NotSent(Hash),
    /// Without message digests, the counts per mechanism differ.
    CountDiffers {
        /// Mechanism.
        mechanism: String,
        /// Sent by A to B.
        sent: u64,
        /// Received by B from A.
        received: u64,
    },
}

/// What reconciling two logs found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciliation {
    /// Messages both sides logged.
    pub matched: u64,
    /// Disagreements.
    pub mismatches: Vec<Mismatch>,
}

/// Reconciles what A (in `a_state`) logged as sent to B (in `b_state`) with what B logged as received from A, over
/// a period. Messages carrying an envelope digest are matched one to one; the others are compared by count per
/// mechanism.
pub fn reconcile(
    a_leaves: &[Leaf],
    a_state: IsoCountry,
    b_leaves: &[Leaf],
    b_state: IsoCountry,
    period: Period,
) -> Reconciliation {
    let sent: Vec<&Leaf> = a_leaves
        .iter()
        .filter(|l| {
            l.side == Side::Sent
                && l.kind == Action::Send
                && l.sending_state == a_state
                && l.receiving_state == b_state
                && period.contains(l.day)
        })
        .collect();
    let received: Vec<&Leaf> = b_leaves
        .iter()
        .filter(|l| {
            l.side == Side::Received
                && l.kind == Action::Receive
                && l.sending_state == a_state
                && l.receiving_state == b_state
                && period.contains(l.day)
        })
        .collect();
    let mut out = Reconciliation::default();
    let sent_msgs: BTreeMap<Hash, ()> = sent
        .iter()
        .filter_map(|l| l.message)
        .map(|m| (m, ()))
        .collect();
    let received_msgs: BTreeMap<Hash, ()> = received
        .iter()
        .filter_map(|l| l.message)
        .map(|m| (m, ()))
        .collect();
    for m in sent_msgs.keys() {
        if received_msgs.contains_key(m) {
            out.matched += 1;
        } else {
            out.mismatches.push(Mismatch::NotReceived(*m));
        }
    }
    for m in received_msgs.keys().filter(|m| !sent_msgs.contains_key(m)) {
        out.mismatches.push(Mismatch::NotSent(*m));
    }
    let mut counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for l in sent.iter().filter(|l| l.message.is_none()) {
        counts.entry(&l.mechanism).or_default().0 += 1;
    }
    for l in received.iter().filter(|l| l.message.is_none()) {
        counts.entry(&l.mechanism).or_default().1 += 1;
    }
    for (mechanism, (s, r)) in counts {
        if s == r {
            out.matched += s;
        } else {
            out.mismatches.push(Mismatch::CountDiffers {
                mechanism: mechanism.to_owned(),
                sent: s,
                received: r,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

    use time::macros::date;

    use super::*;

    fn leaf(side: Side, kind: Action, mechanism: &str, day: Date, message: Option<u8>) -> Leaf {
        let (sending, receiving) = ("FR", "US");
        Leaf {
            commitment: Hash([day.day(); 32]),
            side,
            kind,
            mechanism: mechanism.into(),
            instrument: "BC".into(),
            sending_state: IsoCountry::parse(sending).unwrap(),
            receiving_state: IsoCountry::parse(receiving).unwrap(),
            urgency: Urgency::Normal,
            day,
            grounds: Vec::new(),
            message: message.map(|m| Hash([m; 32])),
        }
    }

    const ALL: Period = Period {
        from: date!(2026 - 01 - 01),
        to: date!(2026 - 12 - 31),
    };

    #[test]
    fn counts_follow_the_leaves() {
        let mut emergency = leaf(
            Side::Sent,
            Action::Send,
            "emergency-disclosure",
            date!(2026 - 03 - 01),
            None,
        );
        emergency.urgency = Urgency::Emergency;
        let mut refusal = leaf(
            Side::Sent,
            Action::Refuse,
            "production-order",
            date!(2026 - 03 - 02),
            None,
        );
        refusal.grounds = vec!["dual-criminality".into(), "ne-bis-in-idem".into()];
        let leaves = vec![
            leaf(
                Side::Sent,
                Action::Send,
                "production-order",
                date!(2026 - 03 - 01),
                None,
            ),
            emergency,
            refusal,
            leaf(
                Side::Sent,
                Action::Expire,
                "expedited-preservation",
                date!(2026 - 03 - 03),
                None,
            ),
            leaf(
                Side::Sent,
                Action::Send,
                "production-order",
                date!(2025 - 12 - 31),
                None,
            ),
        ];
        let c = count(&leaves, ALL);
        assert_eq!(c.events, 4);
        assert_eq!(c.requests, 2);
        assert_eq!(c.by_mechanism.get("production-order"), Some(&1));
        assert_eq!(c.by_state_pair.get("FR→US"), Some(&2));
        assert_eq!(c.emergency_share, Some(0.5));
        assert_eq!(c.refusals_by_ground.get("ne-bis-in-idem"), Some(&1));
        assert_eq!(c.preservation_expiries, 1);
        assert_eq!(median(vec![3.0, 1.0, 2.0, 10.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }

    #[test]
    fn reconciliation_flags_what_one_side_left_out() {
        let d = date!(2026 - 05 - 05);
        let a = vec![
            leaf(Side::Sent, Action::Send, "production-order", d, Some(1)),
            leaf(Side::Sent, Action::Send, "production-order", d, Some(2)),
            leaf(Side::Sent, Action::Send, "expedited-preservation", d, None),
            leaf(Side::Sent, Action::Send, "expedited-preservation", d, None),
        ];
        let b = vec![
            leaf(
                Side::Received,
                Action::Receive,
                "production-order",
                d,
                Some(1),
            ),
            leaf(
                Side::Received,
                Action::Receive,
                "production-order",
                d,
                Some(3),
            ),
            leaf(
                Side::Received,
                Action::Receive,
                "expedited-preservation",
                d,
                None,
            ),
            // B's own outgoing traffic is not A's business.
            leaf(Side::Sent, Action::Send, "production-order", d, Some(9)),
        ];
        let fr = IsoCountry::parse("FR").unwrap();
        let us = IsoCountry::parse("US").unwrap();
        let r = reconcile(&a, fr, &b, us, ALL);
        assert_eq!(r.matched, 1);
        assert_eq!(
            r.mismatches,
            vec![
                Mismatch::NotReceived(Hash([2; 32])),
                Mismatch::NotSent(Hash([3; 32])),
                Mismatch::CountDiffers {
                    mechanism: "expedited-preservation".into(),
                    sent: 2,
                    received: 1
                },
            ]
        );
        let clean = reconcile(&a[..1], fr, &b[..1], us, ALL);
        assert_eq!((clean.matched, clean.mismatches.len()), (1, 0));
    }
}
