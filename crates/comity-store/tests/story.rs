//! The store story: one long scenario run against every backend (SQLite always; PostgreSQL when a server is
//! reachable, see `common::postgres_url`).
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::sync::Arc;

use comity_store::sqlite::SqliteStore;
use comity_store::{
    CaseRecord, EventRecord, Import, RequestFilter, RequestOrder, RequestRecord, Store, StoreError,
    Transition,
};
use common::TestSchema;
use time::OffsetDateTime;
use time::macros::datetime;

fn case(id: &str, reference: &str) -> CaseRecord {
    CaseRecord {
        id: id.into(),
        reference: reference.into(),
        title: "Ransomware on a hospital".into(),
        created_by: "alice".into(),
        created_at: datetime!(2026-11-23 03:00 UTC),
    }
}

fn request(id: &str, case_id: &str, at: OffsetDateTime) -> RequestRecord {
    RequestRecord {
        id: id.into(),
        case_id: case_id.into(),
        mechanism: "expedited-preservation".into(),
        state: "draft".into(),
        document: "{\"doc\":1}".into(),
        urgency: "urgent".into(),
        created_by: "alice".into(),
        created_at: at,
        updated_at: at,
        next_due: None,
        version: 0,
    }
}

fn step(id: &str, seq: u64, action: &str, from: &str, to: &str, at: OffsetDateTime) -> EventRecord {
    EventRecord {
        request_id: id.into(),
        seq,
        action: action.into(),
        from_state: from.into(),
        to_state: to.into(),
        actor: "alice".into(),
        at,
        reason: None,
        detail: "{}".into(),
    }
}

async fn story(store: &dyn Store) {
    store.create_case(case("c1", "FR-2026-001")).await.unwrap();
    assert!(matches!(
        store.create_case(case("c2", "FR-2026-001")).await,
        Err(StoreError::Duplicate { what: "case", .. })
    ));
    assert!(
        store.case("c2").await.unwrap().is_none(),
        "a refused write leaves nothing"
    );
    assert_eq!(
        store.case("c1").await.unwrap().unwrap().reference,
        "FR-2026-001"
    );

    let t0 = datetime!(2026-11-23 03:10 UTC);
    store.create_request(request("r1", "c1", t0)).await.unwrap();
    store
        .create_request(request("r2", "c1", t0 + time::Duration::minutes(1)))
        .await
        .unwrap();
    assert!(matches!(
        store.create_request(request("r3", "nope", t0)).await,
        Err(StoreError::NotFound { what: "case", .. })
    ));
    assert!(matches!(
        store.create_request(request("r1", "c1", t0)).await,
        Err(StoreError::Duplicate { .. })
    ));

    let due = datetime!(2027-01-22 03:00 UTC);
    let sent = store
        .transition(Transition {
            event: step(
                "r1",
                1,
                "send",
                "draft",
                "sent",
                t0 + time::Duration::minutes(2),
            ),
            expected_version: 0,
            next_due: Some(due),
            document: None,
            outbox: None,
            link: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (sent.state.as_str(), sent.version, sent.next_due),
        ("sent", 1, Some(due))
    );

    // A stale writer is refused and nothing is appended.
    let stale = store
        .transition(Transition {
            event: step("r1", 1, "withdraw", "draft", "withdrawn", t0),
            expected_version: 0,
            next_due: None,
            document: None,
            outbox: None,
            link: None,
        })
        .await;
    assert!(matches!(
        stale,
        Err(StoreError::Conflict {
            expected: 0,
            found: 1,
            ..
        })
    ));
    assert_eq!(store.events("r1").await.unwrap().len(), 1);

    let listed = store
        .requests(&RequestFilter {
            case_id: Some("c1".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["r2", "r1"]
    );
    let due_list = store
        .requests(&RequestFilter {
            order: RequestOrder::Due,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        due_list.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["r1"]
    );
    let drafts = store
        .requests(&RequestFilter {
            state: Some("draft".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(drafts.len(), 1);

    store.set_meta("authority", "fr-247").await.unwrap();
    store.set_meta("authority", "fr-248").await.unwrap();
    assert_eq!(
        store.meta("authority").await.unwrap().as_deref(),
        Some("fr-248")
    );

    // Transitions of a request that does not exist, or that start from the wrong state, change nothing.
    assert!(matches!(
        store
            .transition(Transition {
                event: step("ghost", 1, "send", "draft", "sent", t0),
                expected_version: 0,
                next_due: None,
                document: None,
                outbox: None,
                link: None,
            })
            .await,
        Err(StoreError::NotFound {
            what: "request",
            ..
        })
    ));
    assert!(matches!(
        store
            .transition(Transition {
                event: step("r2", 1, "answer", "sent", "answered", t0),
                expected_version: 0,
                next_due: None,
                document: None,
                outbox: None,
                link: None,
            })
            .await,
        Err(StoreError::Corrupt(_))
    ));
    assert!(store.events("r2").await.unwrap().is_empty());

    // A step may replace the document, and clocks end.
    let mut second = step(
        "r1",
        2,
        "answer",
        "sent",
        "answered",
        t0 + time::Duration::minutes(3),
    );
    second.reason = Some("data attached".into());
    let answered = store
        .transition(Transition {
            event: second.clone(),
            expected_version: 1,
            next_due: None,
            document: Some("{\"doc\":2}".into()),
            outbox: None,
            link: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (
            answered.document.as_str(),
            answered.next_due,
            answered.updated_at
        ),
        ("{\"doc\":2}", None, second.at)
    );
    assert_eq!(store.request("r1").await.unwrap().unwrap(), answered);
    assert_eq!(store.events("r1").await.unwrap()[1], second);

    // Paging through everything, as a move to another store does.
    let first = store.requests_by_id(None, 1).await.unwrap();
    assert_eq!(first[0].id, "r1");
    let rest = store.requests_by_id(Some("r1"), 10).await.unwrap();
    assert_eq!(
        rest.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["r2"]
    );
    assert_eq!(store.cases_by_id(None, 10).await.unwrap().len(), 1);
    let events = store.events_by_key(Some(("r1", 1)), 10).await.unwrap();
    assert_eq!(events, [second]);
    assert_eq!(
        store.all_meta().await.unwrap(),
        [("authority".to_owned(), "fr-248".to_owned())]
    );

    // An import is all or nothing, and refuses clashes and dangling references.
    let dangling = Import {
        cases: vec![case("c9", "FR-2026-009")],
        requests: vec![request("r9", "c-missing", t0)],
        ..Import::default()
    };
    assert!(matches!(
        store.import(dangling).await,
        Err(StoreError::NotFound { what: "case", .. })
    ));
    assert!(
        store.case("c9").await.unwrap().is_none(),
        "a refused import leaves nothing"
    );
    assert!(matches!(
        store
            .import(Import {
                requests: vec![request("r1", "c1", t0)],
                ..Import::default()
            })
            .await,
        Err(StoreError::Duplicate { what: "request", ref id }) if id == "r1"
    ));
    assert!(matches!(
        store
            .import(Import {
                events: vec![step("r-missing", 1, "send", "draft", "sent", t0)],
                ..Import::default()
            })
            .await,
        Err(StoreError::NotFound { what: "request", ref id }) if id == "r-missing"
    ));
    store
        .import(Import {
            cases: vec![case("c9", "FR-2026-009")],
            requests: vec![request("r9", "c9", t0)],
            ..Import::default()
        })
        .await
        .unwrap();
    assert_eq!(store.request("r9").await.unwrap().unwrap().case_id, "c9");
}

#[tokio::test]
async fn sqlite_story() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("node.db")).unwrap();
    story(&store).await;
}

#[tokio::test]
async fn sqlite_keeps_everything_across_a_reopen_and_events_are_append_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create_case(case("c1", "R-1")).await.unwrap();
        store
            .create_request(request("r1", "c1", datetime!(2026-11-23 03:10 UTC)))
            .await
            .unwrap();
        store
            .transition(Transition {
                event: step(
                    "r1",
                    1,
                    "send",
                    "draft",
                    "sent",
                    datetime!(2026-11-23 03:11 UTC),
                ),
                expected_version: 0,
                next_due: None,
                document: None,
                outbox: None,
                link: None,
            })
            .await
            .unwrap();
        store.close();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.request("r1").await.unwrap().unwrap().state, "sent");
    let conn = rusqlite::Connection::open(&path).unwrap();
    assert!(
        conn.execute("UPDATE events SET actor = 'mallory'", [])
            .is_err()
    );
    assert!(conn.execute("DELETE FROM events", []).is_err());
}

/// Hundreds of writers at once, one of them failing, and racing transitions of one request: exactly one wins.
async fn concurrent_writes(store: Arc<dyn Store>) {
    store.create_case(case("c1", "R-1")).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..400 {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            s.create_request(request(
                &format!("r{i}"),
                "c1",
                datetime!(2026-11-23 03:10 UTC),
            ))
            .await
        }));
    }
    // One failing job in the middle of a batch must not take the others down.
    let bad = store.create_request(request(
        "bad",
        "missing-case",
        datetime!(2026-11-23 03:10 UTC),
    ));
    assert!(bad.await.is_err());
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let all = store
        .requests(&RequestFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 400);

    let mut racers = Vec::new();
    for i in 0..16 {
        let s = store.clone();
        racers.push(tokio::spawn(async move {
            s.transition(Transition {
                event: step(
                    "r7",
                    1,
                    &format!("send-{i}"),
                    "draft",
                    "sent",
                    datetime!(2026-11-23 03:11 UTC),
                ),
                expected_version: 0,
                next_due: None,
                document: None,
                outbox: None,
                link: None,
            })
            .await
        }));
    }
    let mut won = 0;
    for r in racers {
        match r.await.unwrap() {
            Ok(updated) => {
                won += 1;
                assert_eq!(updated.version, 1);
            }
            Err(StoreError::Conflict {
                expected: 0,
                found: 1,
                ..
            }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(won, 1, "exactly one of the racing transitions wins");
    assert_eq!(store.events("r7").await.unwrap().len(), 1);
}

#[tokio::test]
async fn many_concurrent_writes_are_all_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("node.db")).unwrap();
    concurrent_writes(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_story() {
    let Some(db) = TestSchema::new() else { return };
    let store = db.store().await;
    story(&store).await;
    store.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_many_concurrent_writes_are_all_committed() {
    let Some(db) = TestSchema::new() else { return };
    let store = db.store().await;
    concurrent_writes(Arc::new(store.clone())).await;
    store.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_everything_across_a_reconnect_and_events_are_append_only() {
    let Some(db) = TestSchema::new() else { return };
    {
        let store = db.store().await;
        store.create_case(case("c1", "R-1")).await.unwrap();
        store
            .create_request(request("r1", "c1", datetime!(2026-11-23 03:10 UTC)))
            .await
            .unwrap();
        store
            .transition(Transition {
                event: step(
                    "r1",
                    1,
                    "send",
                    "draft",
                    "sent",
                    datetime!(2026-11-23 03:11 UTC),
                ),
                expected_version: 0,
                next_due: None,
                document: None,
                outbox: None,
                link: None,
            })
            .await
            .unwrap();
        store.close();
    }
    // A second open finds the schema migrated and leaves it as it is.
    let store = db.store().await;
    assert_eq!(store.request("r1").await.unwrap().unwrap().state, "sent");
    let raw = db.raw().await;
    let migrations: i64 = raw
        .query_one("SELECT COUNT(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
        .unwrap()
        .count();
    assert_eq!(migrations, files as i64, "every migration applied once");
    for attempt in [
        "UPDATE events SET actor = 'mallory'",
        "DELETE FROM events",
        "TRUNCATE events CASCADE",
    ] {
        let refused = raw.batch_execute(attempt).await.unwrap_err();
        let message = refused.as_db_error().unwrap().message();
        assert_eq!(message, "events are append-only", "{attempt}");
    }
    assert_eq!(store.events("r1").await.unwrap().len(), 1);
    store.close();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refuses_a_database_newer_than_it_knows() {
    let Some(db) = TestSchema::new() else { return };
    db.store().await.close();
    db.raw()
        .await
        .batch_execute("INSERT INTO schema_migrations (version, applied_ms) VALUES (99, 0)")
        .await
        .unwrap();
    let refused = comity_store::postgres::PostgresStore::connect_in_schema(&db.url, &db.name).await;
    assert!(
        matches!(&refused, Err(StoreError::Corrupt(m)) if m.contains("schema 99")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn postgres_unreachable_is_a_clear_error() {
    // Port 1 on the loopback: nothing listens there.
    let refused =
        comity_store::postgres::PostgresStore::connect("postgres://nobody:secret@127.0.0.1:1/x")
            .await;
    let Err(StoreError::Backend(message)) = refused else {
        panic!("expected a backend error")
    };
    assert!(message.contains("127.0.0.1:1/x"), "{message}");
    assert!(!message.contains("secret"), "{message}");
    assert!(matches!(
        comity_store::postgres::PostgresStore::connect_in_schema(common::DEFAULT_URL, "Bad;Name")
            .await,
        Err(StoreError::Backend(_))
    ));
}
