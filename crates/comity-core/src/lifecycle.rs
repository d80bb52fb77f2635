//! Request lifecycles: explicit state machines, one per lifecycle family, driven by named actions.
//!
//! State is never stored on its own authority: it is derived by replaying the append-only list of events
//! ([`replay`]). [`next`] is the single place that says which action leads where.

pub use crate::names::UnknownName;
use crate::names::named_enum;

/// The lifecycle family of a mechanism, named in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lifecycle {
    /// Mutual-assistance style: review, consult, execute, postpone or refuse.
    Request,
    /// Preservation: active, extended, then released, expired or superseded by the follow-up request.
    Preservation,
    /// Spontaneous information: the receiver accepts or declines the conditions.
    Information,
    /// Joint investigation: an agreement that is in force, extended, then closed.
    Agreement,
}

impl Lifecycle {
    /// The catalogue name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Preservation => "preservation",
            Self::Information => "information",
            Self::Agreement => "agreement",
        }
    }

    /// Parses a catalogue name.
    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Request,
            Self::Preservation,
            Self::Information,
            Self::Agreement,
        ]
        .into_iter()
        .find(|l| l.as_str() == s)
    }
}

named_enum! {
    /// Where a request stands.
    State ("state") {
        Draft = "draft",
        AwaitingAuthorisation = "awaiting-authorisation",
        Authorised = "authorised",
        Sent = "sent",
        Received = "received",
        UnderReview = "under-review",
        Consultation = "consultation",
        Executed = "executed",
        PartiallyExecuted = "partially-executed",
        Postponed = "postponed",
        Refused = "refused",
        Active = "active",
        Extended = "extended",
        Released = "released",
        Expired = "expired",
        Superseded = "superseded",
        Accepted = "accepted",
        Declined = "declined",
        Withdrawn = "withdrawn",
        Closed = "closed",
    }
}

named_enum! {
    /// What somebody does to a request.
    Action ("action") {
        SubmitForAuthorisation = "submit-for-authorisation",
        Authorise = "authorise",
        DeclineAuthorisation = "decline-authorisation",
        Send = "send",
        Receive = "receive",
        BeginReview = "begin-review",
        Consult = "consult",
        ResumeReview = "resume-review",
        Execute = "execute",
        ExecutePartially = "execute-partially",
        Postpone = "postpone",
        Refuse = "refuse",
        Preserve = "preserve",
        Extend = "extend",
        Release = "release",
        Expire = "expire",
        Supersede = "supersede",
        Accept = "accept",
        Decline = "decline",
        Withdraw = "withdraw",
        Close = "close",
        Validate = "validate",
        Quarantine = "quarantine",
        RecordConsent = "record-consent",
        RecordOnwardUse = "record-onward-use",
        RecordNotice = "record-notice",
    }
}

impl Action {
    /// Actions that must carry a reason, so that the file explains itself (BC Art 27(7) for refusal and postponement).
    pub fn needs_reason(self) -> bool {
        matches!(
            self,
            Self::DeclineAuthorisation
                | Self::Consult
                | Self::ExecutePartially
                | Self::Postpone
                | Self::Refuse
                | Self::Supersede
                | Self::Decline
                | Self::Withdraw
        )
    }
}

impl Action {
    /// A record: a fact about a request that leaves its state as it is (a judge's validation of an emergency order,
    /// a quarantine, a consent to onward use, an onward use, a data-subject notice). Records have their own API
    /// routes; they are never offered as lifecycle steps.
    pub fn is_record(self) -> bool {
        matches!(
            self,
            Self::Validate
                | Self::Quarantine
                | Self::RecordConsent
                | Self::RecordOnwardUse
                | Self::RecordNotice
        )
    }
}

impl State {
    /// A state from which nothing but closing (or nothing at all) can follow.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Closed)
    }
}

/// What decides a request's state machine: its lifecycle family and whether sending needs an authorisation first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleRules {
    /// The family.
    pub lifecycle: Lifecycle,
    /// Whether `send` from `draft` is barred until a judicial authorisation is recorded.
    pub authorisation_required: bool,
}

/// The state `action` leads to from `state`, or `None` when the action is not allowed there.
pub fn next(rules: LifecycleRules, state: State, action: Action) -> Option<State> {
    use Action as A;
    use State as S;
    if action.is_record() {
        // A record needs a request that has left or arrived: nothing exists to validate, quarantine, consent to or
        // notify about while it is still being drafted.
        return (!matches!(state, S::Draft | S::AwaitingAuthorisation | S::Authorised))
            .then_some(state);
    }
    // Steps shared by every family: drafting, authorisation, sending, receiving, withdrawal.
    let shared = match (state, action) {
        (S::Draft, A::SubmitForAuthorisation) => Some(S::AwaitingAuthorisation),
        (S::Draft, A::Send) if !rules.authorisation_required => Some(S::Sent),
        (S::AwaitingAuthorisation, A::Authorise) => Some(S::Authorised),
        (S::AwaitingAuthorisation, A::DeclineAuthorisation) => Some(S::Draft),
        (S::Authorised, A::Send) => Some(S::Sent),
        (S::Sent, A::Receive) => Some(S::Received),
        (s, A::Withdraw) if !is_settled(rules.lifecycle, s) => Some(S::Withdrawn),
        (S::Withdrawn, A::Close) => Some(S::Closed),
        _ => None,
    };
    if shared.is_some() {
        return shared;
    }
    match rules.lifecycle {
        Lifecycle::Request => match (state, action) {
            (S::Received, A::BeginReview) => Some(S::UnderReview),
            (S::UnderReview | S::Postponed, A::Consult) => Some(S::Consultation),
            (S::Consultation | S::Postponed, A::ResumeReview) => Some(S::UnderReview),
            (S::UnderReview | S::Consultation | S::Postponed, A::Execute) => Some(S::Executed),
            (S::UnderReview | S::Consultation, A::ExecutePartially) => Some(S::PartiallyExecuted),
            (S::UnderReview | S::Consultation, A::Postpone) => Some(S::Postponed),
            (S::UnderReview | S::Consultation, A::Refuse) => Some(S::Refused),
            (S::Executed | S::PartiallyExecuted | S::Refused, A::Close) => Some(S::Closed),
            _ => None,
        },
        Lifecycle::Preservation => match (state, action) {
            (S::Received, A::BeginReview) => Some(S::UnderReview),
            (S::UnderReview, A::Consult) => Some(S::Consultation),
            (S::Consultation, A::ResumeReview) => Some(S::UnderReview),
            (S::Received | S::UnderReview | S::Consultation, A::Preserve) => Some(S::Active),
            (S::UnderReview | S::Consultation, A::Refuse) => Some(S::Refused),
            (S::Active, A::Extend) => Some(S::Extended),
            (S::Active | S::Extended, A::Release) => Some(S::Released),
            (S::Active | S::Extended, A::Expire) => Some(S::Expired),
            (S::Active | S::Extended, A::Supersede) => Some(S::Superseded),
            (S::Released | S::Expired | S::Superseded | S::Refused, A::Close) => Some(S::Closed),
            _ => None,
        },
        Lifecycle::Information => match (state, action) {
            (S::Received, A::Accept) => Some(S::Accepted),
            (S::Received, A::Decline) => Some(S::Declined),
            (S::Accepted | S::Declined, A::Close) => Some(S::Closed),
            _ => None,
        },
        Lifecycle::Agreement => match (state, action) {
            (S::Received, A::BeginReview) => Some(S::UnderReview),
            (S::UnderReview, A::Consult) => Some(S::Consultation),
            (S::Consultation, A::ResumeReview) => Some(S::UnderReview),
            (S::UnderReview | S::Consultation, A::Accept) => Some(S::Active),
            (S::UnderReview | S::Consultation, A::Refuse) => Some(S::Refused),
            (S::Active, A::Extend) => Some(S::Extended),
            (S::Active | S::Extended | S::Refused, A::Close) => Some(S::Closed),
            _ => None,
        },
    }
}

/// States in which the outcome is settled, so the requester can no longer withdraw.
fn is_settled(lifecycle: Lifecycle, state: State) -> bool {
    use State as S;
    match state {
        S::Executed
        | S::PartiallyExecuted
        | S::Refused
        | S::Released
        | S::Expired
        | S::Superseded => true,
        S::Accepted | S::Declined | S::Withdrawn | S::Closed => true,
        S::Active | S::Extended => lifecycle == Lifecycle::Agreement,
        _ => false,
    }
}

/// Every action allowed from `state`, in a stable order.
pub fn allowed_actions(rules: LifecycleRules, state: State) -> Vec<Action> {
    Action::ALL
        .iter()
        .copied()
        .filter(|a| !a.is_record() && next(rules, state, *a).is_some())
        .collect()
}

/// Every state a request of this family can ever be in.
pub fn reachable_states(rules: LifecycleRules) -> Vec<State> {
    let mut seen = vec![State::Draft];
    let mut i = 0;
    while i < seen.len() {
        for action in allowed_actions(rules, seen[i]) {
            if let Some(to) = next(rules, seen[i], action)
                && !seen.contains(&to)
            {
                seen.push(to);
            }
        }
        i += 1;
    }
    seen
}

/// An action that is not allowed now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    #[error("cannot `{action}`: the request is `{state}`; allowed next steps: {}", list(.allowed))]
    NotAllowed {
        action: Action,
        state: State,
        allowed: Vec<Action>,
    },
    #[error("`{action}` needs a reason: say why in `reason`")]
    ReasonRequired { action: Action },
}

fn list(actions: &[Action]) -> String {
    if actions.is_empty() {
        "none (the request is closed)".to_owned()
    } else {
        actions
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Checks one step and returns the state it leads to.
pub fn apply(
    rules: LifecycleRules,
    state: State,
    action: Action,
    reason: Option<&str>,
) -> Result<State, TransitionError> {
    let to = next(rules, state, action).ok_or_else(|| TransitionError::NotAllowed {
        action,
        state,
        allowed: allowed_actions(rules, state),
    })?;
    if action.needs_reason() && reason.is_none_or(|r| r.trim().is_empty()) {
        return Err(TransitionError::ReasonRequired { action });
    }
    Ok(to)
}

/// One recorded step, as replay needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// What was done.
    pub action: Action,
    /// The state before.
    pub from: State,
    /// The state after.
    pub to: State,
}

/// A recorded history that does not follow the lifecycle: the store was altered or the lifecycle rules changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {index} (`{action}` from `{from}` to `{to}`) does not follow from `{expected}`")]
pub struct ReplayError {
    /// Position of the offending event, from 0.
    pub index: usize,
    /// The recorded action.
    pub action: Action,
    /// The recorded origin.
    pub from: State,
    /// The recorded destination.
    pub to: State,
    /// The state replay had reached.
    pub expected: State,
}

/// Derives the current state from the recorded steps, checking each one.
pub fn replay(
    rules: LifecycleRules,
    steps: impl IntoIterator<Item = Step>,
) -> Result<State, ReplayError> {
    let mut state = State::Draft;
    for (index, step) in steps.into_iter().enumerate() {
        if step.from != state || next(rules, state, step.action) != Some(step.to) {
            return Err(ReplayError {
                index,
                action: step.action,
                from: step.from,
                to: step.to,
                expected: state,
            });
        }
        state = step.to;
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const FAMILIES: [Lifecycle; 4] = [
        Lifecycle::Request,
        Lifecycle::Preservation,
        Lifecycle::Information,
        Lifecycle::Agreement,
    ];

    fn rules(lifecycle: Lifecycle, authorisation_required: bool) -> LifecycleRules {
        LifecycleRules {
            lifecycle,
            authorisation_required,
        }
    }

    #[test]
    fn a_request_goes_from_draft_to_closed() {
        let r = rules(Lifecycle::Request, true);
        let mut s = State::Draft;
        for a in [
            Action::SubmitForAuthorisation,
            Action::Authorise,
            Action::Send,
            Action::Receive,
            Action::BeginReview,
            Action::Execute,
            Action::Close,
        ] {
            s = apply(r, s, a, None).unwrap();
        }
        assert_eq!(s, State::Closed);
        assert!(allowed_actions(r, s).is_empty());
    }

    #[test]
    fn authorisation_gate_blocks_sending_a_draft() {
        let err = apply(
            rules(Lifecycle::Request, true),
            State::Draft,
            Action::Send,
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot `send`: the request is `draft`; allowed next steps: submit-for-authorisation, withdraw"
        );
        assert_eq!(
            apply(
                rules(Lifecycle::Request, false),
                State::Draft,
                Action::Send,
                None
            ),
            Ok(State::Sent)
        );
    }

    #[test]
    fn refusal_and_postponement_need_reasons() {
        let r = rules(Lifecycle::Request, false);
        assert_eq!(
            apply(r, State::UnderReview, Action::Refuse, Some("  ")),
            Err(TransitionError::ReasonRequired {
                action: Action::Refuse
            })
        );
        assert!(apply(r, State::UnderReview, Action::Postpone, None).is_err());
        assert_eq!(
            apply(
                r,
                State::UnderReview,
                Action::Postpone,
                Some("own proceedings")
            ),
            Ok(State::Postponed)
        );
    }

    #[test]
    fn preservation_states_are_reachable_and_request_states_are_not() {
        let states = reachable_states(rules(Lifecycle::Preservation, false));
        for s in [
            State::Active,
            State::Extended,
            State::Released,
            State::Expired,
            State::Superseded,
            State::Closed,
        ] {
            assert!(states.contains(&s), "{s}");
        }
        assert!(!states.contains(&State::Executed));
        let request = reachable_states(rules(Lifecycle::Request, false));
        assert!(!request.contains(&State::Active));
    }

    #[test]
    fn replay_rejects_a_doctored_history() {
        let r = rules(Lifecycle::Request, false);
        let good = [
            Step {
                action: Action::Send,
                from: State::Draft,
                to: State::Sent,
            },
            Step {
                action: Action::Receive,
                from: State::Sent,
                to: State::Received,
            },
        ];
        assert_eq!(replay(r, good), Ok(State::Received));
        let skipped = [Step {
            action: Action::Execute,
            from: State::Draft,
            to: State::Executed,
        }];
        assert_eq!(replay(r, skipped).unwrap_err().index, 0);
        let lying = [
            Step {
                action: Action::Send,
                from: State::Draft,
                to: State::Sent,
            },
            Step {
                action: Action::Receive,
                from: State::Sent,
                to: State::Executed,
            },
        ];
        assert_eq!(replay(r, lying).unwrap_err().index, 1);
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_options() {
        for s in State::ALL {
            assert_eq!(s.as_str().parse::<State>().unwrap(), *s);
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
        }
        let err = "approve".parse::<Action>().unwrap_err().to_string();
        assert!(
            err.starts_with(
                "`approve` is not a known action; use one of: submit-for-authorisation"
            ),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn no_sequence_reaches_an_undefined_state_and_replay_agrees(
            family in 0usize..4,
            auth in any::<bool>(),
            picks in proptest::collection::vec(0usize..64, 0..60),
        ) {
            let r = rules(FAMILIES[family], auth);
            let reachable = reachable_states(r);
            let mut state = State::Draft;
            let mut steps = Vec::new();
            for pick in picks {
                let action = Action::ALL[pick % Action::ALL.len()];
                match apply(r, state, action, Some("reason")) {
                    Ok(to) => {
                        steps.push(Step { action, from: state, to });
                        state = to;
                    }
                    Err(TransitionError::NotAllowed { state: s, allowed, .. }) => {
                        prop_assert_eq!(s, state);
                        prop_assert!(!allowed.contains(&action));
                    }
                    Err(e) => prop_assert!(false, "unexpected {e}"),
                }
                prop_assert!(reachable.contains(&state));
                // Closed is the only dead end; every other state offers a way forward.
                prop_assert_eq!(allowed_actions(r, state).is_empty(), state.is_final());
            }
            prop_assert_eq!(replay(r, steps.iter().copied()), Ok(state));
        }
    }
}
