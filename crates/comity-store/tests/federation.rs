//! The federation story of the store, run against every backend: links, thread hash chains, the transactional
//! outbox, the inbox with its duplicates, security events; and, on PostgreSQL, outbox claims shared by several
//! processes (each its own connection pool), a claim left by a dead process, and a late delivery mark.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use comity_store::sqlite::SqliteStore;
use comity_store::{
    Accepted, CaseRecord, EventRecord, InboxRecord, MessageEffect, OutboxRecord, RequestLink,
    RequestRecord, SecurityEvent, Store, StoreError, Transition,
};
use common::TestSchema;
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-23 03:00 UTC);

fn request(id: &str) -> RequestRecord {
    RequestRecord {
        id: id.into(),
        case_id: "c1".into(),
        mechanism: "expedited-preservation".into(),
        state: "draft".into(),
        document: "{}".into(),
        urgency: "urgent".into(),
        created_by: "alice".into(),
        created_at: T0,
        updated_at: T0,
        next_due: None,
        version: 0,
    }
}

fn event(id: &str, seq: u64, action: &str, from: &str, to: &str) -> EventRecord {
    EventRecord {
        request_id: id.into(),
        seq,
        action: action.into(),
        from_state: from.into(),
        to_state: to.into(),
        actor: "alice".into(),
        at: T0,
        reason: None,
        detail: "{}".into(),
    }
}

fn message(id: &str, thread: &str, prev: &str, hash: &str) -> OutboxRecord {
    OutboxRecord {
        seq: 0,
        message_id: id.into(),
        recipient: "de-247".into(),
        thread: thread.into(),
        envelope: format!("{{\"envelope\":\"{id}\"}}"),
        prev_hash: prev.into(),
        envelope_hash: hash.into(),
        created_at: T0,
        attempts: 0,
        next_attempt_at: T0,
        receipt: None,
        failed: None,
    }
}

fn step(
    id: &str,
    version: u64,
    action: &str,
    from: &str,
    to: &str,
    outbox: Option<OutboxRecord>,
) -> Transition {
    Transition {
        event: event(id, version + 1, action, from, to),
        expected_version: version,
        next_due: None,
        document: None,
        outbox,
        link: None,
    }
}

fn inbox(id: &str, thread: &str, prev: &str, hash: &str) -> InboxRecord {
    InboxRecord {
        message_id: id.into(),
        sender: "de-247".into(),
        thread: thread.into(),
        envelope_sha256: hash.into(),
        prev_hash: prev.into(),
        receipt: format!("receipt of {id}"),
        received_at: T0,
    }
}

async fn story(store: &dyn Store) {
    store
        .create_case(CaseRecord {
            id: "c1".into(),
            reference: "FR-1".into(),
            title: "t".into(),
            created_by: "alice".into(),
            created_at: T0,
        })
        .await
        .unwrap();
    store.create_request(request("r1")).await.unwrap();

    // Sending links the request to its thread and queues the first message, in one transaction.
    let mut send = step(
        "r1",
        0,
        "send",
        "draft",
        "sent",
        Some(message("m1", "r1", "", "h1")),
    );
    send.link = Some(RequestLink {
        request_id: "r1".into(),
        direction: "outgoing".into(),
        counterpart: "de-247".into(),
        thread: "r1".into(),
        upstream: None,
    });
    store.transition(send).await.unwrap();
    assert_eq!(store.thread_head("r1", "de-247").await.unwrap(), "h1");
    assert_eq!(
        store.link("r1").await.unwrap().unwrap().direction,
        "outgoing"
    );
    assert_eq!(
        store
            .link_by_thread("r1", "de-247")
            .await
            .unwrap()
            .unwrap()
            .request_id,
        "r1"
    );
    assert!(
        store
            .link_by_thread("r1", "nl-247")
            .await
            .unwrap()
            .is_none()
    );

    // A message that does not link to the head is refused, and the step with it: nothing changes.
    let forked = step(
        "r1",
        1,
        "withdraw",
        "sent",
        "withdrawn",
        Some(message("m2", "r1", "not-the-head", "h2")),
    );
    assert!(matches!(
        store.transition(forked).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.request("r1").await.unwrap().unwrap().version, 1);
    assert_eq!(store.outbox_of_thread("r1").await.unwrap().len(), 1);

    let second = step(
        "r1",
        1,
        "withdraw",
        "sent",
        "withdrawn",
        Some(message("m2", "r1", "h1", "h2")),
    );
    store.transition(second).await.unwrap();
    assert_eq!(store.thread_head("r1", "de-247").await.unwrap(), "h2");

    // Only the head of a thread is due, so that messages arrive in order.
    let due = store.due_outbox(T0, 10).await.unwrap();
    assert_eq!(
        due.iter()
            .map(|m| m.message_id.as_str())
            .collect::<Vec<_>>(),
        ["m1"]
    );
    let claimed = store.claim_outbox(T0, "p1", 30_000, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let m1 = claimed[0].seq;
    let later = T0 + time::Duration::seconds(5);
    store.outbox_retry(m1, "unreachable", later).await.unwrap();
    assert!(store.due_outbox(T0, 10).await.unwrap().is_empty());
    let due = store.due_outbox(later, 10).await.unwrap();
    assert_eq!(due[0].attempts, 1);
    store
        .outbox_delivered(m1, "receipt 1", later)
        .await
        .unwrap();
    // A second mark (a late deliverer) changes nothing.
    store
        .outbox_delivered(m1, "another receipt", later)
        .await
        .unwrap();
    let sent = store.outbox_of_thread("r1").await.unwrap();
    assert_eq!(sent[0].receipt.as_deref(), Some("receipt 1"));
    assert_eq!(sent[0].attempts, 2);
    let due = store.due_outbox(later, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].message_id, "m2");
    store
        .outbox_failed(due[0].seq, "refused", "signed refusal")
        .await
        .unwrap();
    assert!(store.due_outbox(later, 10).await.unwrap().is_empty());
    assert_eq!(store.next_outbox_attempt().await.unwrap(), None);

    // The inbox: a new incoming request with its case and events; a replay is a duplicate and changes nothing.
    let effect = MessageEffect::NewRequest {
        case: Some(CaseRecord {
            id: "c2".into(),
            reference: "remote:de-247:DE-9".into(),
            title: "incoming".into(),
            created_by: "remote:de-247".into(),
            created_at: T0,
        }),
        request: RequestRecord {
            case_id: "c2".into(),
            ..request("r2")
        },
        link: RequestLink {
            request_id: "r2".into(),
            direction: "incoming".into(),
            counterpart: "de-247".into(),
            thread: "t-de".into(),
            upstream: None,
        },
        events: vec![
            event("r2", 1, "send", "draft", "sent"),
            event("r2", 2, "receive", "sent", "received"),
        ],
        next_due: Some(T0 + time::Duration::days(1)),
    };
    let first = inbox("in1", "t-de", "", "e1");
    assert_eq!(
        store
            .accept_message(first.clone(), effect.clone())
            .await
            .unwrap(),
        Accepted::New
    );
    let again = store.accept_message(first, effect).await.unwrap();
    let Accepted::Duplicate(seen) = again else {
        panic!("a replay is a duplicate: {again:?}")
    };
    assert_eq!(seen.receipt, "receipt of in1");
    let r2 = store.request("r2").await.unwrap().unwrap();
    assert_eq!((r2.state.as_str(), r2.version), ("received", 2));
    assert_eq!(store.events("r2").await.unwrap().len(), 2);
    assert_eq!(store.inbox("in1").await.unwrap().unwrap().sender, "de-247");
    assert!(store.inbox("nope").await.unwrap().is_none());

    // A status message that breaks the chain is refused, with its step: nothing recorded.
    let broken = store
        .accept_message(
            inbox("in2", "t-de", "e-other", "e2"),
            MessageEffect::Step(Box::new(step(
                "r2", 2, "refuse", "received", "refused", None,
            ))),
        )
        .await;
    assert!(matches!(broken, Err(StoreError::Conflict { .. })));
    assert!(store.inbox("in2").await.unwrap().is_none());
    assert_eq!(store.request("r2").await.unwrap().unwrap().version, 2);
    store
        .accept_message(
            inbox("in2", "t-de", "e1", "e2"),
            MessageEffect::Step(Box::new(step(
                "r2", 2, "refuse", "received", "refused", None,
            ))),
        )
        .await
        .unwrap();
    assert_eq!(store.request("r2").await.unwrap().unwrap().state, "refused");

    for (i, code) in ["bad-signature", "replay"].iter().enumerate() {
        store
            .security_event(SecurityEvent {
                at: T0 + time::Duration::seconds(i as i64),
                code: (*code).into(),
                sender: Some("de-247".into()),
                message_id: None,
                detail: "refused".into(),
            })
            .await
            .unwrap();
    }
    let events = store.security_events(10).await.unwrap();
    assert_eq!(
        events.iter().map(|e| e.code.as_str()).collect::<Vec<_>>(),
        ["replay", "bad-signature"]
    );
}

#[tokio::test]
async fn sqlite_federation_story() {
    let tmp = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&tmp.path().join("node.db")).unwrap();
    story(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_federation_story() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    story(&schema.store().await).await;
}

/// Queues `n` single-message threads.
async fn queue(store: &dyn Store, n: usize) {
    store
        .create_case(CaseRecord {
            id: "c1".into(),
            reference: "FR-1".into(),
            title: "t".into(),
            created_by: "alice".into(),
            created_at: T0,
        })
        .await
        .unwrap();
    for i in 0..n {
        let id = format!("r{i:03}");
        store.create_request(request(&id)).await.unwrap();
        store
            .transition(step(
                &id,
                0,
                "send",
                "draft",
                "sent",
                Some(message(&format!("m{i:03}"), &id, "", &format!("h{i}"))),
            ))
            .await
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_claims_give_each_message_to_one_process_and_outlive_a_dead_one() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let first = schema.store().await;
    queue(&first, 60).await;
    // Three "processes", each with a pool of its own, claim small batches at once until nothing is left.
    let mut tasks = tokio::task::JoinSet::new();
    for p in 0..3 {
        let store: Arc<dyn Store> = Arc::new(schema.store().await);
        tasks.spawn(async move {
            let mut mine = Vec::new();
            loop {
                let claimed = store
                    .claim_outbox(T0, &format!("p{p}"), 30_000, 4)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                mine.extend(claimed.into_iter().map(|m| m.message_id));
            }
        });
    }
    let mut all = Vec::new();
    while let Some(mine) = tasks.join_next().await {
        all.extend(mine.unwrap());
    }
    let distinct: HashSet<&String> = all.iter().collect();
    assert_eq!(all.len(), 60, "every message claimed once: {all:?}");
    assert_eq!(distinct.len(), 60);

    // Within the claim, nobody else gets them; once it runs out (its holder died), they are claimed again.
    let soon = T0 + time::Duration::seconds(10);
    assert!(
        first
            .claim_outbox(soon, "p9", 30_000, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        first.next_outbox_attempt().await.unwrap(),
        Some(T0 + time::Duration::seconds(30))
    );
    let expired = T0 + time::Duration::seconds(31);
    let again = first
        .claim_outbox(expired, "p9", 30_000, 100)
        .await
        .unwrap();
    assert_eq!(again.len(), 60);

    // The dead holder's send went through after all: the new holder's mark wins once, a late mark changes nothing.
    let m = &again[0];
    first
        .outbox_delivered(m.seq, "receipt", expired)
        .await
        .unwrap();
    first
        .outbox_retry(m.seq, "late failure", expired)
        .await
        .unwrap();
    first
        .outbox_delivered(m.seq, "late receipt", expired)
        .await
        .unwrap();
    let stored = first.outbox_of_thread(&m.thread).await.unwrap();
    assert_eq!(stored[0].receipt.as_deref(), Some("receipt"));
    assert_eq!(stored[0].attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_one_message_accepted_by_two_processes_at_once_is_stored_once() {
    let Some(schema) = TestSchema::new() else {
        return;
    };
    let a: Arc<dyn Store> = Arc::new(schema.store().await);
    let b: Arc<dyn Store> = Arc::new(schema.store().await);
    for round in 0..20 {
        let id = format!("in{round}");
        let thread = format!("t{round}");
        let (x, y) = (a.clone(), b.clone());
        let (i1, i2) = (inbox(&id, &thread, "", "e1"), inbox(&id, &thread, "", "e1"));
        let (r1, r2) = tokio::join!(
            x.accept_message(i1, MessageEffect::None),
            y.accept_message(i2, MessageEffect::None)
        );
        let outcomes = [r1.unwrap(), r2.unwrap()];
        assert_eq!(
            outcomes.iter().filter(|o| **o == Accepted::New).count(),
            1,
            "{outcomes:?}"
        );
        assert_eq!(a.thread_head(&thread, "de-247").await.unwrap(), "e1");
    }
}
