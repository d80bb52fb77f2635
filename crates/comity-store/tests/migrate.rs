//! Moving a node between stores: SQLite to PostgreSQL and back, every record identical (accounts and cross-border
//! records too), the moved node's threads carry on, and no second run.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use comity_store::migrate::{Copied, MigrateError, copy_all, is_empty};
use comity_store::sqlite::SqliteStore;
use comity_store::{
    Accepted, COPIED_TABLES, CaseRecord, EventRecord, Import, InboxRecord, MessageEffect,
    OutboxRecord, RequestFilter, RequestLink, RequestOrder, RequestRecord, SecurityEvent, Store,
    Transition, UserRecord,
};
use common::TestSchema;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-23 03:00 UTC);

fn case(i: usize) -> CaseRecord {
    CaseRecord {
        id: format!("case-{i}"),
        reference: format!("FR-2026-{i:03}"),
        title: format!("Case {i} — ransomware «hôpital»"),
        created_by: "alice".into(),
        created_at: T0 + Duration::minutes(i as i64),
    }
}

fn event(request_id: &str, seq: u64, from: &str, to: &str, at: OffsetDateTime) -> EventRecord {
    EventRecord {
        request_id: request_id.into(),
        seq,
        action: format!("{from}->{to}"),
        from_state: from.into(),
        to_state: to.into(),
        actor: "bob".into(),
        at,
        reason: seq.is_multiple_of(2).then(|| "grounds: art. 16".into()),
        detail: format!("{{\"seq\":{seq}}}"),
    }
}

/// A node with more of every record than one page holds: 5 cases, 4500 requests, over 3000 events, settings.
async fn populate(store: &dyn Store) -> Copied {
    let cases: Vec<_> = (0..5).map(case).collect();
    let mut requests = Vec::new();
    let mut events = Vec::new();
    for i in 0..4500usize {
        let id = format!("req-{i:05}");
        let created = T0 + Duration::seconds(i as i64);
        let answered = i < 1500;
        if answered {
            events.push(event(&id, 1, "draft", "sent", created + Duration::hours(1)));
            events.push(event(
                &id,
                2,
                "sent",
                "answered",
                created + Duration::hours(2),
            ));
        }
        requests.push(RequestRecord {
            id: id.clone(),
            case_id: format!("case-{}", i % 5),
            mechanism: ["mlat", "expedited-preservation", "e-evidence"][i % 3].into(),
            state: if answered { "answered" } else { "draft" }.into(),
            document: format!("{{\"n\":{i},\"text\":\"données\\n\"}}"),
            urgency: if i.is_multiple_of(7) {
                "urgent"
            } else {
                "normal"
            }
            .into(),
            created_by: "alice".into(),
            created_at: created,
            updated_at: if answered {
                created + Duration::hours(2)
            } else {
                created
            },
            next_due: i.is_multiple_of(4).then(|| created + Duration::days(30)),
            version: if answered { 2 } else { 0 },
        });
    }
    store
        .import(Import {
            cases,
            requests,
            events,
            meta: vec![("authority".into(), "fr-247".into())],
        })
        .await
        .unwrap();
    // And some made the ordinary way, with a replaced document; three of them sent abroad.
    for i in 1500..1520usize {
        let id = format!("req-{i:05}");
        let abroad = i < 1503;
        store
            .transition(Transition {
                event: event(&id, 1, "draft", "sent", T0 + Duration::days(1)),
                expected_version: 0,
                next_due: Some(T0 + Duration::days(60)),
                document: Some(format!("{{\"n\":{i},\"sent\":true}}")),
                outbox: abroad.then(|| OutboxRecord {
                    seq: 0,
                    message_id: format!("msg-{i}"),
                    recipient: "de-247".into(),
                    thread: id.clone(),
                    envelope: format!("{{\"payload\":\"{i}\"}}"),
                    prev_hash: String::new(),
                    envelope_hash: format!("hash-{i}"),
                    created_at: T0,
                    attempts: 0,
                    next_attempt_at: T0,
                    receipt: None,
                    failed: None,
                }),
                link: abroad.then(|| RequestLink {
                    request_id: id.clone(),
                    direction: "outgoing".into(),
                    counterpart: "de-247".into(),
                    thread: id.clone(),
                    upstream: None,
                }),
            })
            .await
            .unwrap();
    }
    let sent = store.outbox_of_thread("req-01500").await.unwrap();
    store
        .outbox_delivered(sent[0].seq, "signed receipt", T0 + Duration::days(1))
        .await
        .unwrap();
    let refused = store.outbox_of_thread("req-01501").await.unwrap();
    store
        .outbox_failed(refused[0].seq, "refused: bad-grounds", "signed refusal")
        .await
        .unwrap();
    for (n, prev) in [(1, ""), (2, "in-hash-1")] {
        store
            .accept_message(
                InboxRecord {
                    message_id: format!("in-{n}"),
                    sender: "de-247".into(),
                    thread: "thread-in".into(),
                    envelope_sha256: format!("in-hash-{n}"),
                    prev_hash: prev.into(),
                    receipt: format!("our receipt {n}"),
                    received_at: T0,
                },
                MessageEffect::None,
            )
            .await
            .unwrap();
    }
    for code in ["bad-signature", "replay"] {
        store
            .security_event(SecurityEvent {
                at: T0,
                code: code.into(),
                sender: Some("xx-247".into()),
                message_id: None,
                detail: "refused at the door".into(),
            })
            .await
            .unwrap();
    }
    for name in ["alice", "bob"] {
        store
            .create_user(UserRecord {
                id: format!("user-{name}"),
                username: name.into(),
                display_name: name.to_uppercase(),
                role: "caseworker".into(),
                authority: "fr-247".into(),
                language: "fr".into(),
                password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
                totp_secret: "JBSWY3DPEHPK3PXP".into(),
                disabled: name == "bob",
                failed_logins: 1,
                locked_until: (name == "bob").then_some(T0),
                last_totp_step: 7,
                created_at: T0,
            })
            .await
            .unwrap();
    }
    store.set_meta("signing-key", "ed25519:abc").await.unwrap();
    store
        .add_evidence(comity_store::EvidenceRecord {
            id: "ev-1".into(),
            request_id: "req-01500".into(),
            direction: "outgoing".into(),
            counterpart: "br-247".into(),
            thread: "req-01500".into(),
            package_sha256: "ab".repeat(32),
            size_bytes: 4096,
            statement: "{}".into(),
            producer: "fr-247".into(),
            seal_status: "statement".into(),
            chunk_bytes: 1024,
            chunk_digests: "[]".into(),
            created_at: T0,
            transfer: Some(comity_store::TransferState {
                state: "pending".into(),
                attempts: 2,
                next_attempt_at: Some(T0),
                last_error: Some("cannot reach".into()),
                upload_id: Some("up-1".into()),
                chunks_sent: 3,
            }),
            receipt: None,
            receipt_at: None,
        })
        .await
        .unwrap();
    Copied {
        meta: 2,
        cases: 5,
        requests: 4500,
        events: 3020,
        // 2 users, 3 links, 4 threads, 3 outbox messages, 2 inbox messages, 2 security events, 1 evidence record.
        other: 17,
    }
}

/// Everything a store holds, in key order.
async fn everything(
    store: &dyn Store,
) -> (
    Vec<(String, String)>,
    Vec<CaseRecord>,
    Vec<RequestRecord>,
    Vec<EventRecord>,
) {
    let mut cases = Vec::new();
    loop {
        let page = store
            .cases_by_id(cases.last().map(|c: &CaseRecord| c.id.as_str()), 3)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        cases.extend(page);
    }
    let mut requests = Vec::new();
    loop {
        let page = store
            .requests_by_id(requests.last().map(|r: &RequestRecord| r.id.as_str()), 999)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        requests.extend(page);
    }
    let mut events = Vec::new();
    loop {
        let page = store
            .events_by_key(
                events
                    .last()
                    .map(|e: &EventRecord| (e.request_id.as_str(), e.seq)),
                777,
            )
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        events.extend(page);
    }
    (store.all_meta().await.unwrap(), cases, requests, events)
}

async fn assert_same(a: &dyn Store, b: &dyn Store) {
    let (left, right) = (everything(a).await, everything(b).await);
    assert_eq!(left.0, right.0, "settings differ");
    assert_eq!(left.1, right.1, "cases differ");
    assert_eq!(left.2.len(), right.2.len(), "request counts differ");
    for (l, r) in left.2.iter().zip(&right.2) {
        assert_eq!(l, r);
    }
    assert_eq!(left.3.len(), right.3.len(), "event counts differ");
    for (l, r) in left.3.iter().zip(&right.3) {
        assert_eq!(l, r);
    }
    // The lists a node shows come out the same too.
    for filter in [
        RequestFilter {
            limit: 1000,
            ..Default::default()
        },
        RequestFilter {
            order: RequestOrder::Due,
            limit: 1000,
            ..Default::default()
        },
        RequestFilter {
            case_id: Some("case-3".into()),
            state: Some("answered".into()),
            ..Default::default()
        },
        RequestFilter {
            mechanism: Some("mlat".into()),
            urgency: Some("urgent".into()),
            ..Default::default()
        },
        RequestFilter {
            order: RequestOrder::Due,
            urgency: Some("urgent".into()),
            limit: 1000,
            ..Default::default()
        },
        RequestFilter {
            order: RequestOrder::Due,
            case_id: Some("case-2".into()),
            mechanism: Some("e-evidence".into()),
            limit: 1000,
            ..Default::default()
        },
    ] {
        assert_eq!(
            a.requests(&filter).await.unwrap(),
            b.requests(&filter).await.unwrap(),
            "{filter:?}"
        );
    }
    assert_eq!(a.cases(10).await.unwrap(), b.cases(10).await.unwrap());
    // The other tables, row for row.
    for table in COPIED_TABLES {
        assert_eq!(
            a.export_rows(table, 0, 10_000).await.unwrap(),
            b.export_rows(table, 0, 10_000).await.unwrap(),
            "{} differs",
            table.name
        );
    }
    assert_eq!(a.users().await.unwrap(), b.users().await.unwrap());
    assert_eq!(
        a.security_events(10).await.unwrap(),
        b.security_events(10).await.unwrap()
    );
}

/// The moved node's cross-border records work on: a thread goes on from its copied head, new messages and security
/// events get keys after the copied ones, and a replayed message is still known.
async fn federation_carries_on(store: &dyn Store) {
    assert_eq!(
        store.link("req-01502").await.unwrap().unwrap().thread,
        "req-01502"
    );
    assert_eq!(
        store.thread_head("req-01502", "de-247").await.unwrap(),
        "hash-1502"
    );
    let before = store.outbox_of_thread("req-01502").await.unwrap()[0].seq;
    let next = Transition {
        event: event("req-01502", 2, "sent", "withdrawn", T0 + Duration::days(2)),
        expected_version: 1,
        next_due: None,
        document: None,
        outbox: Some(OutboxRecord {
            seq: 0,
            message_id: "msg-next".into(),
            recipient: "de-247".into(),
            thread: "req-01502".into(),
            envelope: "{}".into(),
            prev_hash: "hash-1502".into(),
            envelope_hash: "hash-next".into(),
            created_at: T0,
            attempts: 0,
            next_attempt_at: T0,
            receipt: None,
            failed: None,
        }),
        link: None,
    };
    store.transition(next).await.unwrap();
    let thread = store.outbox_of_thread("req-01502").await.unwrap();
    assert_eq!(thread.len(), 2);
    assert!(thread[1].seq > before);
    let due: Vec<String> = store
        .due_outbox(T0, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.message_id)
        .collect();
    assert_eq!(due, ["msg-1502"], "the delivered and refused stay done");
    let replay = store
        .accept_message(
            InboxRecord {
                message_id: "in-2".into(),
                sender: "de-247".into(),
                thread: "thread-in".into(),
                envelope_sha256: "in-hash-2".into(),
                prev_hash: "in-hash-1".into(),
                receipt: "another".into(),
                received_at: T0,
            },
            MessageEffect::None,
        )
        .await
        .unwrap();
    assert!(
        matches!(&replay, Accepted::Duplicate(seen) if seen.receipt == "our receipt 2"),
        "{replay:?}"
    );
    store
        .security_event(SecurityEvent {
            at: T0,
            code: "after-the-move".into(),
            sender: None,
            message_id: None,
            detail: "new".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        store.security_events(1).await.unwrap()[0].code,
        "after-the-move"
    );
    let bob = store.user_by_name("bob").await.unwrap().unwrap();
    assert!(bob.disabled);
    assert_eq!(bob.locked_until, Some(T0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_sqlite_copies_everything_once() {
    let dir = tempfile::tempdir().unwrap();
    let from = SqliteStore::open(&dir.path().join("a.db")).unwrap();
    let to = SqliteStore::open(&dir.path().join("b.db")).unwrap();
    let expected = populate(&from).await;
    assert!(is_empty(&to).await.unwrap());
    assert_eq!(copy_all(&from, &to).await.unwrap(), expected);
    assert_same(&from, &to).await;
    assert!(matches!(
        copy_all(&from, &to).await,
        Err(MigrateError::TargetNotEmpty("node settings"))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_holding_anything_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let from = SqliteStore::open(&dir.path().join("a.db")).unwrap();
    populate(&from).await;
    let to = SqliteStore::open(&dir.path().join("b.db")).unwrap();
    to.create_case(case(9)).await.unwrap();
    let refused = copy_all(&from, &to).await.unwrap_err();
    assert!(matches!(refused, MigrateError::TargetNotEmpty("cases")));
    assert!(refused.to_string().contains("not empty"), "{refused}");
    assert!(to.request("req-00000").await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_and_back_keeps_every_record() {
    let Some(db) = TestSchema::new() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(&dir.path().join("node.db")).unwrap();
    let expected = populate(&sqlite).await;
    let postgres = db.store().await;

    assert_eq!(copy_all(&sqlite, &postgres).await.unwrap(), expected);
    assert_same(&sqlite, &postgres).await;

    // A second run into the same target is refused and changes nothing.
    assert!(matches!(
        copy_all(&sqlite, &postgres).await,
        Err(MigrateError::TargetNotEmpty(_))
    ));
    assert_same(&sqlite, &postgres).await;

    // The moved node goes on working: the version check holds on the copied request.
    let stale = postgres
        .transition(Transition {
            event: event("req-00000", 2, "draft", "sent", T0),
            expected_version: 1,
            next_due: None,
            document: None,
            outbox: None,
            link: None,
        })
        .await;
    assert!(
        matches!(
            stale,
            Err(comity_store::StoreError::Conflict { found: 2, .. })
        ),
        "{stale:?}"
    );

    // And back again into a fresh SQLite file.
    let back = SqliteStore::open(&dir.path().join("back.db")).unwrap();
    assert_eq!(copy_all(&postgres, &back).await.unwrap(), expected);
    assert_same(&sqlite, &back).await;
    federation_carries_on(&postgres).await;
    federation_carries_on(&back).await;
    postgres.close();
}
