//! The evidence story on every backend (SQLite always; PostgreSQL when a server is reachable): an outgoing package
//! with its transfer job through retries to its receipt, and an upload resumed chunk by chunk, completed once,
//! refused and discarded without a trace.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use comity_store::evidence::{
    INCOMING, OUTGOING, TRANSFER_DELIVERED, TRANSFER_PENDING, TRANSFER_REFUSED,
};
use comity_store::sqlite::SqliteStore;
use comity_store::{
    CaseRecord, EvidenceRecord, EvidenceStore, RequestRecord, Store, StoreError, TransferState,
    UploadRecord,
};
use common::TestSchema;
use time::Duration;
use time::macros::datetime;

const T0: time::OffsetDateTime = datetime!(2026-11-23 03:00 UTC);

async fn setup(store: &dyn Store) {
    store
        .create_case(CaseRecord {
            id: "c1".into(),
            reference: "BR-1".into(),
            title: "t".into(),
            created_by: "alice".into(),
            created_at: T0,
        })
        .await
        .unwrap();
    for id in ["r1", "r2"] {
        store
            .create_request(RequestRecord {
                id: id.into(),
                case_id: "c1".into(),
                mechanism: "production-order".into(),
                state: "draft".into(),
                document: "{}".into(),
                urgency: "normal".into(),
                created_by: "alice".into(),
                created_at: T0,
                updated_at: T0,
                next_due: None,
                version: 0,
            })
            .await
            .unwrap();
    }
}

fn outgoing(id: &str, request: &str, sha: &str) -> EvidenceRecord {
    EvidenceRecord {
        id: id.into(),
        request_id: request.into(),
        direction: OUTGOING.into(),
        counterpart: "fr-central".into(),
        thread: "req-fr-1".into(),
        package_sha256: sha.into(),
        size_bytes: 10,
        statement: "{\"statement\":1}".into(),
        producer: "br-hosting".into(),
        seal_status: "statement".into(),
        chunk_bytes: 4,
        chunk_digests: "a\nb\nc".into(),
        created_at: T0,
        transfer: Some(TransferState {
            state: TRANSFER_PENDING.into(),
            attempts: 0,
            next_attempt_at: Some(T0),
            last_error: None,
            upload_id: None,
            chunks_sent: 0,
        }),
        receipt: None,
        receipt_at: None,
    }
}

fn upload(id: &str) -> UploadRecord {
    UploadRecord {
        upload_id: id.into(),
        sender: "br-hosting".into(),
        thread: "req-fr-1".into(),
        request_id: "r2".into(),
        package_sha256: "ff".repeat(32),
        size_bytes: 10,
        statement: "{}".into(),
        chunk_bytes: 4,
        chunk_digests: "a\nb\nc".into(),
        created_at: T0,
        chunk_writes: 0,
        evidence_id: None,
    }
}

async fn story(store: &dyn Store) {
    setup(store).await;
    let sha = "ab".repeat(32);
    store
        .add_evidence(outgoing("ev-1", "r1", &sha))
        .await
        .unwrap();
    assert!(matches!(
        store.add_evidence(outgoing("ev-2", "r1", &sha)).await,
        Err(StoreError::Duplicate { .. })
    ));
    assert!(matches!(
        store
            .add_evidence(outgoing("ev-3", "nope", &"cd".repeat(32)))
            .await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.evidence("ev-2").await.unwrap().is_none());
    assert_eq!(
        store.evidence("ev-1").await.unwrap().unwrap(),
        outgoing("ev-1", "r1", &sha)
    );

    // The transfer job: due, opened, chunks counted, a retry pushes it back, the receipt ends it.
    assert_eq!(store.next_evidence_attempt().await.unwrap(), Some(T0));
    assert_eq!(store.due_evidence_transfers(T0, 10).await.unwrap().len(), 1);
    assert!(
        store
            .due_evidence_transfers(T0 - Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    store.evidence_upload_opened("ev-1", "up-1").await.unwrap();
    store.evidence_chunk_sent("ev-1").await.unwrap();
    store.evidence_chunk_sent("ev-1").await.unwrap();
    let later = T0 + Duration::seconds(5);
    store
        .evidence_transfer_retry("ev-1", "cannot reach", later)
        .await
        .unwrap();
    assert!(
        store
            .due_evidence_transfers(T0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let t = store
        .evidence("ev-1")
        .await
        .unwrap()
        .unwrap()
        .transfer
        .unwrap();
    assert_eq!(
        (
            t.attempts,
            t.next_attempt_at,
            t.upload_id.as_deref(),
            t.chunks_sent,
            t.last_error.as_deref()
        ),
        (1, Some(later), Some("up-1"), 2, Some("cannot reach"))
    );
    store
        .evidence_delivered("ev-1", "{\"receipt\":1}", later)
        .await
        .unwrap();
    let e = store.evidence("ev-1").await.unwrap().unwrap();
    assert_eq!(e.transfer.unwrap().state, TRANSFER_DELIVERED);
    assert_eq!(
        (e.receipt.as_deref(), e.receipt_at),
        (Some("{\"receipt\":1}"), Some(later))
    );
    assert_eq!(store.next_evidence_attempt().await.unwrap(), None);
    assert!(
        matches!(
            store.evidence_chunk_sent("ev-1").await,
            Err(StoreError::NotFound { .. })
        ),
        "a delivered transfer takes no more progress"
    );

    let other = "ee".repeat(32);
    store
        .add_evidence(outgoing("ev-4", "r1", &other))
        .await
        .unwrap();
    store
        .evidence_transfer_refused("ev-4", "package-digest: no")
        .await
        .unwrap();
    let e = store.evidence("ev-4").await.unwrap().unwrap();
    assert_eq!(e.transfer.unwrap().state, TRANSFER_REFUSED);
    assert!(
        store
            .due_evidence_transfers(later, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // An upload: opened once, resumed with the same id, chunks counted, completed once.
    let opened = store.open_upload(upload("up-a")).await.unwrap();
    assert_eq!(opened.upload_id, "up-a");
    let again = store.open_upload(upload("up-b")).await.unwrap();
    assert_eq!(
        again.upload_id, "up-a",
        "the same offer resumes the same upload"
    );
    assert!(store.upload("up-b").await.unwrap().is_none());
    store.record_upload_chunk("up-a", 2, T0).await.unwrap();
    store.record_upload_chunk("up-a", 0, T0).await.unwrap();
    store.record_upload_chunk("up-a", 0, T0).await.unwrap();
    assert_eq!(store.upload_chunks("up-a").await.unwrap(), vec![0, 2]);
    assert_eq!(store.upload("up-a").await.unwrap().unwrap().chunk_writes, 3);
    assert!(matches!(
        store.record_upload_chunk("up-x", 0, T0).await,
        Err(StoreError::NotFound { .. })
    ));
    let received = EvidenceRecord {
        direction: INCOMING.into(),
        transfer: None,
        receipt: Some("{\"r\":2}".into()),
        receipt_at: Some(T0),
        request_id: "r2".into(),
        ..outgoing("ev-in", "r2", &"ff".repeat(32))
    };
    store
        .complete_upload("up-a", received.clone())
        .await
        .unwrap();
    assert_eq!(
        store
            .upload("up-a")
            .await
            .unwrap()
            .unwrap()
            .evidence_id
            .as_deref(),
        Some("ev-in")
    );
    assert!(matches!(
        store
            .complete_upload(
                "up-a",
                EvidenceRecord {
                    id: "ev-in2".into(),
                    ..received.clone()
                }
            )
            .await,
        Err(StoreError::Duplicate { .. })
    ));
    assert!(
        store.evidence("ev-in2").await.unwrap().is_none(),
        "a second completion leaves nothing"
    );
    assert!(
        matches!(
            store.record_upload_chunk("up-a", 1, T0).await,
            Err(StoreError::NotFound { .. })
        ),
        "a completed upload takes no more chunks"
    );
    store.discard_upload("up-a").await.unwrap();
    assert!(
        store.upload("up-a").await.unwrap().is_some(),
        "a completed upload is kept"
    );
    assert_eq!(
        store.evidence_of_request("r2").await.unwrap(),
        vec![received]
    );

    // A refused upload is forgotten with its chunks.
    let refused = UploadRecord {
        package_sha256: "11".repeat(32),
        ..upload("up-c")
    };
    store.open_upload(refused).await.unwrap();
    store.record_upload_chunk("up-c", 0, T0).await.unwrap();
    store.discard_upload("up-c").await.unwrap();
    assert!(store.upload("up-c").await.unwrap().is_none());
    assert!(store.upload_chunks("up-c").await.unwrap().is_empty());

    let listed: Vec<_> = store
        .evidence_of_request("r1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(listed, ["ev-1", "ev-4"]);
}

#[tokio::test]
async fn sqlite_keeps_evidence_transfers_and_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("node.db")).unwrap();
    story(&store).await;
    // Reopened, everything is still there.
    store.close();
    drop(store);
    let store = SqliteStore::open(&dir.path().join("node.db")).unwrap();
    assert_eq!(store.evidence_of_request("r1").await.unwrap().len(), 2);
    assert_eq!(store.upload("up-a").await.unwrap().unwrap().chunk_writes, 3);
}

#[tokio::test]
async fn postgres_keeps_evidence_transfers_and_uploads() {
    let Some(db) = TestSchema::new() else { return };
    let store = db.store().await;
    story(&store).await;
}
