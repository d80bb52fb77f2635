//! The clock sweeper: two processes serve one node; only the lease holder expires preservations, exactly when
//! their expiry clock has run out, and the other takes over when the holder stops. Driven by a manual clock.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::sync::Arc;
use std::time::Duration as StdDuration;

use comity_core::AuthorityKind;
use comity_node::database::NodeStore;
use comity_node::server::Node;
use comity_node::service::{CLOCK_ACTOR, ManualClock};
use comity_node::sweeper::{ClockSweeper, Round};
use comity_node::wire::{CaseInput, NewRequestInput, RequestInput};
use comity_store::{EventRecord, Transition};
use common::{TestSchema, init_node_as};
use serde_json::{Value, json};
use time::Duration;
use time::macros::datetime;

fn preservation(instrument: &str) -> Value {
    json!({
        "mechanism": "expedited-preservation",
        "requested_state": "DE",
        "instrument": instrument,
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion",
        "data_sought": [{"category": "traffic", "description": "logs",
            "identifiers": [{"type": "ip-address", "address": "2001:db8::1", "observed_at": "2026-11-20T03:14:00-03:00"}]}],
        "relation_to_offence": "origin of the intrusion",
        "custodian_or_location": "Example Hosting GmbH",
        "addressee": "Example Hosting GmbH",
        "necessity": "logs expire",
        "follow_up_mla_intent": true,
        "language": "de"
    })
}

async fn sweeping_story(store: NodeStore) {
    let tmp = tempfile::tempdir().unwrap();
    let now = datetime!(2026-11-23 03:00 UTC);
    let dir = init_node_as(tmp.path(), "fr-judge", AuthorityKind::Judicial, now).await;
    // One clock for both processes, so the test says when "now" is.
    let clock = Arc::new(ManualClock::new(now));
    let first = Node::open_with_store(&dir, store.clone(), clock.clone()).unwrap();
    let second = Node::open_with_store(&dir, store, clock.clone()).unwrap();
    let service = &first.service;

    let case = service
        .create_case(
            serde_json::from_value::<CaseInput>(json!({"reference": "FR-1", "title": "t"}))
                .unwrap(),
            "alice",
        )
        .await
        .unwrap();
    let mut ids = Vec::new();
    for instrument in ["EEV", "BC"] {
        let document: RequestInput = serde_json::from_value(preservation(instrument)).unwrap();
        let r = service
            .create_request(
                NewRequestInput {
                    case_id: case.id.clone(),
                    document,
                },
                "alice",
            )
            .await
            .unwrap();
        // The steps go straight to the store: the send gate would stop an EEV order from this node, and what
        // matters here is the record a preserving node holds, with its soonest clock 60 days after `preserve`.
        let store = first.store().shared();
        for (seq, (action, from, to)) in [
            ("send", "draft", "sent"),
            ("receive", "sent", "received"),
            ("preserve", "received", "active"),
        ]
        .into_iter()
        .enumerate()
        {
            let seq = seq as u64 + 1;
            store
                .transition(Transition {
                    event: EventRecord {
                        request_id: r.id.clone(),
                        seq,
                        action: action.into(),
                        from_state: from.into(),
                        to_state: to.into(),
                        actor: "alice".into(),
                        at: now,
                        reason: None,
                        detail: json!({"grounds": []}).to_string(),
                    },
                    expected_version: seq - 1,
                    next_due: (to == "active").then(|| now + Duration::days(60)),
                    document: None,
                    link: None,
                    outbox: None,
                })
                .await
                .unwrap();
        }
        ids.push(r.id);
    }
    let (eev, bc) = (&ids[0], &ids[1]);

    let interval = StdDuration::from_secs(30);
    let a = ClockSweeper::new(first.service.clone(), "process-a", interval);
    let b = ClockSweeper::new(second.service.clone(), "process-b", interval);
    assert_eq!(a.ttl_ms(), 90_000);

    // Nothing is due yet; only one of the two sweeps.
    assert_eq!(
        a.round().await.unwrap(),
        Round {
            held: true,
            expired: vec![],
            quarantined: vec![]
        }
    );
    assert_eq!(b.round().await.unwrap(), Round::default());

    // One minute before the 60 days end, nothing expires.
    clock.advance(Duration::days(60) - Duration::minutes(1));
    assert_eq!(
        a.round().await.unwrap(),
        Round {
            held: true,
            expired: vec![],
            quarantined: vec![]
        }
    );
    // Past the end, the EEV preservation expires (its clock is an expiry); the BC one only has a minimum duration.
    // (61 s after a's renewal, within its 90 s lease.)
    clock.advance(Duration::seconds(61));
    assert_eq!(
        b.round().await.unwrap(),
        Round::default(),
        "a still holds the lease"
    );
    let round = a.round().await.unwrap();
    assert_eq!(
        round,
        Round {
            held: true,
            expired: vec![eev.clone()],
            quarantined: vec![]
        }
    );
    assert_eq!(
        a.round().await.unwrap().expired,
        Vec::<String>::new(),
        "expired once"
    );

    let shown = service.request(eev).await.unwrap();
    assert_eq!(shown.state, "expired");
    let last = shown.events.last().unwrap();
    assert_eq!(
        (last.action.as_str(), last.actor.as_str()),
        ("expire", CLOCK_ACTOR)
    );
    assert!(
        last.reason
            .as_deref()
            .unwrap_or_default()
            .contains("eev-preservation-expiry"),
        "{last:?}"
    );
    assert_eq!(service.request(bc).await.unwrap().state, "active");

    // Process a stops without releasing: b takes over once the lease has run out, not before.
    clock.advance(Duration::milliseconds(89_999));
    assert!(!b.round().await.unwrap().held);
    clock.advance(Duration::milliseconds(1));
    assert!(b.round().await.unwrap().held);
    assert!(!a.round().await.unwrap().held, "a, back, waits its turn");

    // A clean stop hands over at once.
    b.release().await.unwrap();
    assert!(a.round().await.unwrap().held);
}

#[tokio::test]
async fn sqlite_one_sweeper_expires_what_ran_out_and_another_takes_over() {
    let tmp = tempfile::tempdir().unwrap();
    let store = comity_store::sqlite::SqliteStore::open(&tmp.path().join("shared.db")).unwrap();
    sweeping_story(NodeStore::Sqlite(store)).await;
}

#[tokio::test]
async fn postgres_one_sweeper_expires_what_ran_out_and_another_takes_over() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    sweeping_story(NodeStore::Postgres(schema.store().await)).await;
}
