//! Evidence records, transfer jobs and resumable uploads in SQLite (schema 6).

use rusqlite::{Connection, OptionalExtension, Row, params};
use time::OffsetDateTime;

use super::{SqliteStore, backend, from_ms, is_unique_violation, to_ms, to_u64};
use crate::evidence::{TRANSFER_DELIVERED, TRANSFER_PENDING, TRANSFER_REFUSED};
use crate::{EvidenceRecord, EvidenceStore, StoreError, TransferState, UploadRecord};

const EVIDENCE_COLUMNS: &str = "id, request_id, direction, counterpart, thread, package_sha256, size_bytes, \
     statement, producer, seal_status, chunk_bytes, chunk_digests, created_ms, transfer_state, attempts, \
     next_attempt_ms, last_error, upload_id, chunks_sent, receipt, receipt_ms";

const UPLOAD_COLUMNS: &str = "upload_id, sender, thread, request_id, package_sha256, size_bytes, statement, \
     chunk_bytes, chunk_digests, created_ms, chunk_writes, evidence_id";

fn big(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn evidence_row(r: &Row<'_>) -> rusqlite::Result<EvidenceRecord> {
    let transfer_state: Option<String> = r.get(13)?;
    let transfer = match transfer_state {
        Some(state) => Some(TransferState {
            state,
            attempts: u32::try_from(r.get::<_, i64>(14)?).unwrap_or(u32::MAX),
            next_attempt_at: r.get::<_, Option<i64>>(15)?.map(from_ms).transpose()?,
            last_error: r.get(16)?,
            upload_id: r.get(17)?,
            chunks_sent: to_u64(r.get(18)?),
        }),
        None => None,
    };
    Ok(EvidenceRecord {
        id: r.get(0)?,
        request_id: r.get(1)?,
        direction: r.get(2)?,
        counterpart: r.get(3)?,
        thread: r.get(4)?,
        package_sha256: r.get(5)?,
        size_bytes: to_u64(r.get(6)?),
        statement: r.get(7)?,
        producer: r.get(8)?,
        seal_status: r.get(9)?,
        chunk_bytes: to_u64(r.get(10)?),
        chunk_digests: r.get(11)?,
        created_at: from_ms(r.get(12)?)?,
        transfer,
        receipt: r.get(19)?,
        receipt_at: r.get::<_, Option<i64>>(20)?.map(from_ms).transpose()?,
    })
}

fn upload_row(r: &Row<'_>) -> rusqlite::Result<UploadRecord> {
    Ok(UploadRecord {
        upload_id: r.get(0)?,
        sender: r.get(1)?,
        thread: r.get(2)?,
        request_id: r.get(3)?,
        package_sha256: r.get(4)?,
        size_bytes: to_u64(r.get(5)?),
        statement: r.get(6)?,
        chunk_bytes: to_u64(r.get(7)?),
        chunk_digests: r.get(8)?,
        created_at: from_ms(r.get(9)?)?,
        chunk_writes: to_u64(r.get(10)?),
        evidence_id: r.get(11)?,
    })
}

fn insert_evidence(conn: &Connection, e: &EvidenceRecord) -> Result<(), StoreError> {
    let t = e.transfer.as_ref();
    conn.execute(
        &format!(
            "INSERT INTO evidence ({EVIDENCE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
             ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)"
        ),
        params![
            e.id,
            e.request_id,
            e.direction,
            e.counterpart,
            e.thread,
            e.package_sha256,
            big(e.size_bytes),
            e.statement,
            e.producer,
            e.seal_status,
            big(e.chunk_bytes),
            e.chunk_digests,
            to_ms(e.created_at),
            t.map(|t| t.state.clone()),
            i64::from(t.map_or(0, |t| t.attempts)),
            t.and_then(|t| t.next_attempt_at).map(to_ms),
            t.and_then(|t| t.last_error.clone()),
            t.and_then(|t| t.upload_id.clone()),
            big(t.map_or(0, |t| t.chunks_sent)),
            e.receipt,
            e.receipt_at.map(to_ms),
        ],
    )
    .map(|_| ())
    .map_err(|err| {
        if is_unique_violation(&err) {
            StoreError::Duplicate {
                what: "evidence package",
                id: format!("sha256:{} on request {}", e.package_sha256, e.request_id),
            }
        } else if matches!(&err, rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
        {
            StoreError::NotFound {
                what: "request",
                id: e.request_id.clone(),
            }
        } else {
            backend(err)
        }
    })
}

/// Runs an update of one pending transfer; a transfer that is not there or not pending is reported.
fn update_pending(
    conn: &Connection,
    id: &str,
    sql: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<(), StoreError> {
    let n = conn.execute(sql, params).map_err(backend)?;
    if n == 0 {
        return Err(StoreError::NotFound {
            what: "pending evidence transfer",
            id: id.to_owned(),
        });
    }
    Ok(())
}

#[async_trait::async_trait]
impl EvidenceStore for SqliteStore {
    async fn add_evidence(&self, record: EvidenceRecord) -> Result<(), StoreError> {
        self.write(move |conn| insert_evidence(conn, &record)).await
    }

    async fn evidence(&self, id: &str) -> Result<Option<EvidenceRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id = ?1"),
                [id],
                evidence_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn evidence_of_request(
        &self,
        request_id: &str,
    ) -> Result<Vec<EvidenceRecord>, StoreError> {
        let request_id = request_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE request_id = ?1 ORDER BY created_ms, id"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([request_id], evidence_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn due_evidence_transfers(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<EvidenceRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE transfer_state = '{TRANSFER_PENDING}' \
                     AND next_attempt_ms <= ?1 ORDER BY next_attempt_ms, id LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![to_ms(now), i64::from(limit)], evidence_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn next_evidence_attempt(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        self.read(move |conn| {
            let ms: Option<i64> = conn
                .query_row(
                    &format!(
                        "SELECT MIN(next_attempt_ms) FROM evidence WHERE transfer_state = '{TRANSFER_PENDING}'"
                    ),
                    [],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            ms.map(from_ms).transpose().map_err(backend)
        })
        .await
    }

    async fn evidence_upload_opened(&self, id: &str, upload_id: &str) -> Result<(), StoreError> {
        let (id, upload_id) = (id.to_owned(), upload_id.to_owned());
        self.write(move |conn| {
            update_pending(
                conn,
                &id,
                &format!(
                    "UPDATE evidence SET upload_id = ?2 WHERE id = ?1 AND transfer_state = '{TRANSFER_PENDING}'"
                ),
                &[&id, &upload_id],
            )
        })
        .await
    }

    async fn evidence_chunk_sent(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |conn| {
            update_pending(
                conn,
                &id,
                &format!(
                    "UPDATE evidence SET chunks_sent = chunks_sent + 1 WHERE id = ?1 \
                     AND transfer_state = '{TRANSFER_PENDING}'"
                ),
                &[&id],
            )
        })
        .await
    }

    async fn evidence_transfer_retry(
        &self,
        id: &str,
        error: &str,
        next: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.write(move |conn| {
            update_pending(
                conn,
                &id,
                &format!(
                    "UPDATE evidence SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3 \
                     WHERE id = ?1 AND transfer_state = '{TRANSFER_PENDING}'"
                ),
                &[&id, &error, &to_ms(next)],
            )
        })
        .await
    }

    async fn evidence_transfer_refused(&self, id: &str, error: &str) -> Result<(), StoreError> {
        let (id, error) = (id.to_owned(), error.to_owned());
        self.write(move |conn| {
            update_pending(
                conn,
                &id,
                &format!(
                    "UPDATE evidence SET transfer_state = '{TRANSFER_REFUSED}', last_error = ?2, \
                     next_attempt_ms = NULL WHERE id = ?1 AND transfer_state = '{TRANSFER_PENDING}'"
                ),
                &[&id, &error],
            )
        })
        .await
    }

    async fn evidence_delivered(
        &self,
        id: &str,
        receipt: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (id, receipt) = (id.to_owned(), receipt.to_owned());
        self.write(move |conn| {
            update_pending(
                conn,
                &id,
                &format!(
                    "UPDATE evidence SET transfer_state = '{TRANSFER_DELIVERED}', receipt = ?2, receipt_ms = ?3, \
                     next_attempt_ms = NULL, last_error = NULL WHERE id = ?1 AND transfer_state = '{TRANSFER_PENDING}'"
                ),
                &[&id, &receipt, &to_ms(at)],
            )
        })
        .await
    }

    async fn open_upload(&self, upload: UploadRecord) -> Result<UploadRecord, StoreError> {
        self.write(move |conn| {
            let existing = conn
                .query_row(
                    &format!(
                        "SELECT {UPLOAD_COLUMNS} FROM evidence_uploads WHERE sender = ?1 AND thread = ?2 \
                         AND package_sha256 = ?3"
                    ),
                    params![upload.sender, upload.thread, upload.package_sha256],
                    upload_row,
                )
                .optional()
                .map_err(backend)?;
            if let Some(found) = existing {
                return Ok(found);
            }
            conn.execute(
                &format!(
                    "INSERT INTO evidence_uploads ({UPLOAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, \
                     ?10, 0, NULL)"
                ),
                params![
                    upload.upload_id,
                    upload.sender,
                    upload.thread,
                    upload.request_id,
                    upload.package_sha256,
                    big(upload.size_bytes),
                    upload.statement,
                    big(upload.chunk_bytes),
                    upload.chunk_digests,
                    to_ms(upload.created_at),
                ],
            )
            .map_err(backend)?;
            Ok(UploadRecord {
                chunk_writes: 0,
                evidence_id: None,
                ..upload
            })
        })
        .await
    }

    async fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>, StoreError> {
        let upload_id = upload_id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                &format!("SELECT {UPLOAD_COLUMNS} FROM evidence_uploads WHERE upload_id = ?1"),
                [upload_id],
                upload_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn upload_chunks(&self, upload_id: &str) -> Result<Vec<u64>, StoreError> {
        let upload_id = upload_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT idx FROM evidence_upload_chunks WHERE upload_id = ?1 ORDER BY idx",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([upload_id], |r| r.get::<_, i64>(0).map(to_u64))
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn record_upload_chunk(
        &self,
        upload_id: &str,
        index: u64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let upload_id = upload_id.to_owned();
        self.write(move |conn| {
            let n = conn
                .execute(
                    "UPDATE evidence_uploads SET chunk_writes = chunk_writes + 1 WHERE upload_id = ?1 \
                     AND evidence_id IS NULL",
                    [&upload_id],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: "open upload",
                    id: upload_id,
                });
            }
            conn.execute(
                "INSERT INTO evidence_upload_chunks (upload_id, idx, received_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (upload_id, idx) DO NOTHING",
                params![upload_id, big(index), to_ms(at)],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn complete_upload(
        &self,
        upload_id: &str,
        record: EvidenceRecord,
    ) -> Result<(), StoreError> {
        let upload_id = upload_id.to_owned();
        self.write(move |conn| {
            insert_evidence(conn, &record)?;
            let n = conn
                .execute(
                    "UPDATE evidence_uploads SET evidence_id = ?2 WHERE upload_id = ?1 AND evidence_id IS NULL",
                    params![upload_id, record.id],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(StoreError::Duplicate {
                    what: "completed upload",
                    id: upload_id,
                });
            }
            Ok(())
        })
        .await
    }

    async fn discard_upload(&self, upload_id: &str) -> Result<(), StoreError> {
        let upload_id = upload_id.to_owned();
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM evidence_upload_chunks WHERE upload_id = ?1 AND upload_id IN \
                 (SELECT upload_id FROM evidence_uploads WHERE evidence_id IS NULL)",
                [&upload_id],
            )
            .map_err(backend)?;
            conn.execute(
                "DELETE FROM evidence_uploads WHERE upload_id = ?1 AND evidence_id IS NULL",
                [&upload_id],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }
}
