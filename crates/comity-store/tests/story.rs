//! The store story: one long scenario run against every backend (SQLite always; more as they are added).
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

use comity_store::sqlite::SqliteStore;
use comity_store::{
    CaseRecord, EventRecord, RequestFilter, RequestOrder, RequestRecord, Store, StoreError,
    Transition,
};
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

#[tokio::test]
async fn many_concurrent_writes_are_all_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("node.db")).unwrap();
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
}
