//! The access policy shipped in `rules/access.toml`, checked cell by cell: every role against every action, on the
//! user's own authority and on another one.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use comity_node::access::{Action, Policy, Principal, Role};

/// `O` on own authority only, `A` on any authority, `-` never.
const MATRIX: &str = "
              read draft send authorise decide statistics directory audit manage-users
caseworker    O    O     O    -         O      O          O         -     -
supervisor    O    O     O    -         O      O          O         O     -
judge         O    -     -    O         -      O          O         -     -
admin         O    -     -    -         -      O          O         O     O
auditor       A    -     -    -         -      A          A         A     -
";

#[test]
fn every_role_and_action_is_decided_as_the_matrix_says() {
    let policy = Policy::embedded().unwrap();
    let mut lines = MATRIX.trim().lines();
    let actions: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        actions.len(),
        Action::ALL.len(),
        "every action has a column"
    );
    let mut rows = 0;
    for line in lines {
        let mut cells = line.split_whitespace();
        let role: Role = cells.next().unwrap().parse().unwrap();
        for (name, cell) in actions.iter().zip(cells) {
            let action = *Action::ALL.iter().find(|a| a.as_str() == *name).unwrap();
            let who = Principal {
                role,
                authority: "fr-247",
            };
            let own = policy.decide(who, action, "fr-247");
            let other = policy.decide(who, action, "br-247");
            let expected = match cell {
                "O" => (true, false),
                "A" => (true, true),
                _ => (false, false),
            };
            assert_eq!((own, other), expected, "{role} {action}");
        }
        rows += 1;
    }
    assert_eq!(rows, Role::ALL.len(), "every role has a row");
}

#[test]
fn lifecycle_steps_map_to_actions_and_only_a_judge_authorises() {
    let policy = Policy::embedded().unwrap();
    assert_eq!(
        policy.lifecycle_action("authorise"),
        Some(Action::Authorise)
    );
    assert_eq!(
        policy.lifecycle_action("decline-authorisation"),
        Some(Action::Authorise)
    );
    assert_eq!(policy.lifecycle_action("send"), Some(Action::Send));
    assert_eq!(policy.lifecycle_action("refuse"), Some(Action::Decide));
    assert_eq!(policy.lifecycle_action("fly"), None);
    for role in Role::ALL {
        let who = Principal {
            role,
            authority: "fr-247",
        };
        assert_eq!(
            policy.may(who, Action::Authorise),
            role == Role::Judge,
            "{role}"
        );
        if role == Role::Auditor {
            for action in [
                Action::Draft,
                Action::Send,
                Action::Decide,
                Action::Authorise,
                Action::ManageUsers,
            ] {
                assert!(!policy.may(who, action), "an auditor may not {action}");
            }
        }
    }
}

#[test]
fn a_policy_that_does_not_load_forbids_everything() {
    let policy = Policy::deny_all();
    for role in Role::ALL {
        for action in Action::ALL {
            assert!(!policy.may(
                Principal {
                    role,
                    authority: "x"
                },
                action
            ));
        }
    }
}
