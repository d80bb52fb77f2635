//! Clocks on a request: which catalogue clocks apply, when each started, when it falls due, and whether it stopped.
//!
//! Pure: the caller passes the history of states entered with their times and the moment to judge against.

use time::OffsetDateTime;

use crate::catalogue::{ClockKind, ClockRule, Mechanism};
use crate::lifecycle::State;
use crate::request::Urgency;

/// A clock as it stands on one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningClock<'a> {
    /// The catalogue rule.
    pub rule: &'a ClockRule,
    /// When it started.
    pub started_at: OffsetDateTime,
    /// When it falls due.
    pub due_at: OffsetDateTime,
    /// When it stopped, if it did.
    pub stopped_at: Option<OffsetDateTime>,
}

impl RunningClock<'_> {
    /// Still running at `now` and past due: a deadline missed or an expiry reached.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        self.stopped_at.is_none() && now >= self.due_at
    }

    /// Still running.
    pub fn is_running(&self) -> bool {
        self.stopped_at.is_none()
    }

    /// What it means, in one line.
    pub fn kind(&self) -> ClockKind {
        self.rule.kind
    }
}

/// The clocks of a request, from the states it entered (in order, with times).
pub fn clocks<'a>(
    mechanism: &'a Mechanism,
    instrument: &str,
    urgency: Urgency,
    entered: &[(State, OffsetDateTime)],
) -> Vec<RunningClock<'a>> {
    mechanism
        .clocks
        .iter()
        .filter(|rule| {
            rule.instruments.iter().any(|i| i == instrument) && rule.urgency.covers(urgency)
        })
        .filter_map(|rule| {
            let start = entered.iter().position(|(s, _)| *s == rule.starts)?;
            let started_at = entered[start].1;
            let stopped_at = entered[start + 1..]
                .iter()
                .find(|(s, _)| rule.stops.contains(s) || *s == State::Closed)
                .map(|(_, at)| *at);
            Some(RunningClock {
                rule,
                started_at,
                due_at: rule.duration.after(started_at),
                stopped_at,
            })
        })
        .collect()
}

/// The soonest due moment among running clocks.
pub fn next_due(clocks: &[RunningClock<'_>]) -> Option<OffsetDateTime> {
    clocks
        .iter()
        .filter(|c| c.is_running())
        .map(|c| c.due_at)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;
    use time::macros::datetime;

    #[test]
    fn eev_emergency_production_runs_eight_hours_from_receipt() {
        let cat = Catalogue::embedded().unwrap();
        let m = cat.mechanism("production-order").unwrap();
        let received = datetime!(2026-11-23 03:00 UTC);
        let entered = [
            (State::Sent, datetime!(2026-11-23 02:00 UTC)),
            (State::Received, received),
        ];
        let running = clocks(m, "EEV", Urgency::Emergency, &entered);
        let ids: Vec<_> = running.iter().map(|c| c.rule.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "eev-production-emergency",
                "eev-enforcing-review-emergency",
                "eev-third-country-objection"
            ]
        );
        assert_eq!(next_due(&running), Some(datetime!(2026-11-23 11:00 UTC)));
        assert!(running[0].is_overdue(datetime!(2026-11-23 11:00 UTC)));
        assert!(!running[0].is_overdue(datetime!(2026-11-23 10:59 UTC)));
        // The same order under the Budapest Convention has no EEV clocks.
        assert!(clocks(m, "BC", Urgency::Emergency, &entered).is_empty());
    }

    #[test]
    fn executing_stops_the_clock() {
        let cat = Catalogue::embedded().unwrap();
        let m = cat.mechanism("production-order").unwrap();
        let entered = [
            (State::Received, datetime!(2026-11-01 09:00 UTC)),
            (State::UnderReview, datetime!(2026-11-02 09:00 UTC)),
            (State::Executed, datetime!(2026-11-03 09:00 UTC)),
        ];
        let running = clocks(m, "EEV", Urgency::Normal, &entered);
        assert!(
            running
                .iter()
                .all(|c| c.stopped_at == Some(datetime!(2026-11-03 09:00 UTC)))
        );
        assert_eq!(next_due(&running), None);
    }

    #[test]
    fn preservation_minimum_is_sixty_days_from_activation() {
        let cat = Catalogue::embedded().unwrap();
        let m = cat.mechanism("expedited-preservation").unwrap();
        let entered = [(State::Active, datetime!(2026-11-23 00:00 UTC))];
        let running = clocks(m, "BC", Urgency::Urgent, &entered);
        assert_eq!(running.len(), 1);
        assert_eq!(running[0].due_at, datetime!(2027-01-22 00:00 UTC));
        assert_eq!(running[0].kind(), ClockKind::Minimum);
    }
}
