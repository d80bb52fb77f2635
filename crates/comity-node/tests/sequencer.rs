//! The log sequencer of a node served by several processes from PostgreSQL: only the lease holder appends, it
//! appends what the others committed, a holder that stops is replaced after its lease runs out and the successor
//! continues from the published log, a holder that stalls past its lease cannot write beside its successor, and the
//! notes the store keeps for the log are cleared once, never appended twice.
//! Driven by a manual clock.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use comity_node::database::NodeStore;
use comity_node::eventlog::read_keys;
use comity_node::eventlog::sequencer::{LogSequencer, Round};
use comity_node::server::Node;
use comity_node::service::{ManualClock, NodeService};
use comity_node::wire::{CaseInput, NewRequestInput, RequestInput};
use common::{TestSchema, init_node};
use serde_json::json;
use time::Duration;
use time::macros::datetime;

async fn draft(service: &NodeService, n: usize) {
    let case = service
        .create_case(
            CaseInput {
                reference: format!("FR-{n}"),
                title: "t".into(),
            },
            "alice",
        )
        .await
        .unwrap();
    let document: RequestInput = serde_json::from_value(json!({
        "mechanism": "expedited-preservation",
        "requested_state": "BR",
        "instrument": "BC",
        "offences": [{"catalogue_entry": "illegal-access", "national_provision": "CP 323-1", "max_penalty_months": 36}],
        "summary_of_facts": "Intrusion",
        "data_sought": [{"category": "traffic", "description": "logs"}],
        "relation_to_offence": "origin",
        "custodian_or_location": "Example Hosting",
        "necessity": "logs expire",
        "follow_up_mla_intent": true,
        "language": "en"
    }))
    .unwrap();
    let r = service
        .create_request(
            NewRequestInput {
                case_id: case.id,
                document,
            },
            "alice",
        )
        .await
        .unwrap();
    // A local step (no directory): the request's one event.
    service
        .transition(
            &r.id,
            serde_json::from_value(json!({"action": "send"})).unwrap(),
            "alice",
        )
        .await
        .unwrap();
}

/// The events of the published log, each once, from `events.idx`.
fn logged(dir: &Path) -> usize {
    let text = std::fs::read_to_string(dir.join("log/events.idx")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let events: HashSet<(&str, &str)> = lines
        .iter()
        .map(|l| {
            let mut p = l.split(' ').skip(1);
            (p.next().unwrap(), p.next().unwrap())
        })
        .collect();
    assert_eq!(events.len(), lines.len(), "an event logged twice");
    lines.len()
}

/// Rounds of `s` until it sequences (its predecessor's log closes in the background), at most a few.
async fn until_sequencing(s: &mut LogSequencer) -> Round {
    for _ in 0..50 {
        let round = s.round().await.unwrap();
        if round.sequencing {
            return round;
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("never took over")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_process_sequences_and_another_takes_over() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let now = datetime!(2026-11-23 03:00 UTC);
    let dir = init_node(tmp.path(), "fr-247", now).await;
    let clock = Arc::new(ManualClock::new(now));
    let store = NodeStore::Postgres(schema.store().await);
    let first = Node::open_with_store(&dir, store.clone(), clock.clone()).unwrap();
    let second = Node::open_with_store(&dir, store.clone(), clock.clone()).unwrap();
    let third = Node::open_with_store(&dir, store, clock.clone()).unwrap();
    assert!(
        first.service.log().is_none(),
        "on a shared store nobody opens the log unasked"
    );
    let keys = read_keys(&dir).unwrap();
    let interval = StdDuration::from_millis(500);
    let mut a = LogSequencer::new(first.service.clone(), &dir, keys.clone(), "a", interval);
    let mut b = LogSequencer::new(second.service.clone(), &dir, keys.clone(), "b", interval);
    assert_eq!(a.ttl_ms(), 5_000);

    // Steps taken through every process; the holder appends them all, the other appends nothing.
    draft(&first.service, 1).await;
    draft(&second.service, 2).await;
    draft(&third.service, 3).await;
    assert_eq!(
        a.round().await.unwrap(),
        Round {
            sequencing: true,
            appended: 3
        }
    );
    assert_eq!(b.round().await.unwrap(), Round::default());
    assert_eq!(logged(&dir), 3);
    draft(&second.service, 4).await;
    assert_eq!(a.round().await.unwrap().appended, 1);
    assert_eq!(a.round().await.unwrap().appended, 0, "nothing twice");

    // The holder dies without giving the lease up; events keep coming in through the others.
    drop(a);
    draft(&third.service, 5).await;
    clock.advance(Duration::milliseconds(4_999));
    assert!(
        !b.round().await.unwrap().sequencing,
        "not before the lease ran out"
    );
    clock.advance(Duration::milliseconds(1));
    let took_over = until_sequencing(&mut b).await;
    assert_eq!(
        took_over.appended, 1,
        "the successor catches up from the store"
    );
    assert_eq!(logged(&dir), 5);
    assert_eq!(b.log().unwrap().published().size, 5);

    // b stalls past its lease: c takes the lease but cannot open the log while b has it open.
    let mut c = LogSequencer::new(third.service.clone(), &dir, keys, "c", interval);
    clock.advance(Duration::seconds(6));
    draft(&first.service, 6).await;
    assert_eq!(
        c.round().await.unwrap(),
        Round::default(),
        "the log is still open in b"
    );
    // b comes back, finds the lease gone, and closes the log without appending.
    assert_eq!(b.round().await.unwrap(), Round::default());
    assert!(b.log().is_none());
    assert_eq!(logged(&dir), 5);
    let took_over = until_sequencing(&mut c).await;
    assert_eq!(took_over.appended, 1);
    assert_eq!(logged(&dir), 6);

    // Every note is cleared once its event is in the log; a note left by a holder that died after appending (here
    // put back by hand) is cleared without appending twice.
    let raw = schema.raw().await;
    let count = "SELECT count(*) FROM log_pending";
    let pending = raw.query_one(count, &[]).await.unwrap().get::<_, i64>(0);
    assert_eq!(pending, 0);
    raw.execute(
        "INSERT INTO log_pending (request_id, seq) SELECT request_id, seq FROM events LIMIT 1",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(c.round().await.unwrap().appended, 0);
    let pending = raw.query_one(count, &[]).await.unwrap().get::<_, i64>(0);
    assert_eq!(pending, 0);
    assert_eq!(logged(&dir), 6);
}
