//! Evidence records, transfer jobs and resumable uploads in PostgreSQL (schema 6).

use deadpool_postgres::GenericClient;
use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::{PostgresStore, backend, from_ms, is, to_i64, to_ms, to_u64};
use crate::evidence::{TRANSFER_DELIVERED, TRANSFER_PENDING, TRANSFER_REFUSED};
use crate::{EvidenceRecord, EvidenceStore, StoreError, TransferState, UploadRecord};

const EVIDENCE_COLUMNS: &str = "id, request_id, direction, counterpart, thread, package_sha256, size_bytes, \
     statement, producer, seal_status, chunk_bytes, chunk_digests, created_ms, transfer_state, attempts, \
     next_attempt_ms, last_error, upload_id, chunks_sent, receipt, receipt_ms";

const UPLOAD_COLUMNS: &str = "upload_id, sender, thread, request_id, package_sha256, size_bytes, statement, \
     chunk_bytes, chunk_digests, created_ms, chunk_writes, evidence_id";

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(r: &'a Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i).map_err(backend)
}

fn evidence_row(r: &Row) -> Result<EvidenceRecord, StoreError> {
    let transfer = match get::<Option<String>>(r, 13)? {
        Some(state) => Some(TransferState {
            state,
            attempts: u32::try_from(get::<i64>(r, 14)?).unwrap_or(u32::MAX),
            next_attempt_at: get::<Option<i64>>(r, 15)?.map(from_ms).transpose()?,
            last_error: get(r, 16)?,
            upload_id: get(r, 17)?,
            chunks_sent: to_u64(get(r, 18)?),
        }),
        None => None,
    };
    Ok(EvidenceRecord {
        id: get(r, 0)?,
        request_id: get(r, 1)?,
        direction: get(r, 2)?,
        counterpart: get(r, 3)?,
        thread: get(r, 4)?,
        package_sha256: get(r, 5)?,
        size_bytes: to_u64(get(r, 6)?),
        statement: get(r, 7)?,
        producer: get(r, 8)?,
        seal_status: get(r, 9)?,
        chunk_bytes: to_u64(get(r, 10)?),
        chunk_digests: get(r, 11)?,
        created_at: from_ms(get(r, 12)?)?,
        transfer,
        receipt: get(r, 19)?,
        receipt_at: get::<Option<i64>>(r, 20)?.map(from_ms).transpose()?,
    })
}

fn upload_row(r: &Row) -> Result<UploadRecord, StoreError> {
    Ok(UploadRecord {
        upload_id: get(r, 0)?,
        sender: get(r, 1)?,
        thread: get(r, 2)?,
        request_id: get(r, 3)?,
        package_sha256: get(r, 4)?,
        size_bytes: to_u64(get(r, 5)?),
        statement: get(r, 6)?,
        chunk_bytes: to_u64(get(r, 7)?),
        chunk_digests: get(r, 8)?,
        created_at: from_ms(get(r, 9)?)?,
        chunk_writes: to_u64(get(r, 10)?),
        evidence_id: get(r, 11)?,
    })
}

async fn insert_evidence(
    client: &impl GenericClient,
    e: &EvidenceRecord,
) -> Result<(), StoreError> {
    let t = e.transfer.as_ref();
    client
        .execute(
            &format!(
                "INSERT INTO evidence ({EVIDENCE_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
                 $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
            ),
            &[
                &e.id,
                &e.request_id,
                &e.direction,
                &e.counterpart,
                &e.thread,
                &e.package_sha256,
                &to_i64(e.size_bytes),
                &e.statement,
                &e.producer,
                &e.seal_status,
                &to_i64(e.chunk_bytes),
                &e.chunk_digests,
                &to_ms(e.created_at),
                &t.map(|t| t.state.clone()),
                &i64::from(t.map_or(0, |t| t.attempts)),
                &t.and_then(|t| t.next_attempt_at).map(to_ms),
                &t.and_then(|t| t.last_error.clone()),
                &t.and_then(|t| t.upload_id.clone()),
                &to_i64(t.map_or(0, |t| t.chunks_sent)),
                &e.receipt,
                &e.receipt_at.map(to_ms),
            ],
        )
        .await
        .map(|_| ())
        .map_err(|err| {
            if is(&err, &SqlState::UNIQUE_VIOLATION) {
                StoreError::Duplicate {
                    what: "evidence package",
                    id: format!("sha256:{} on request {}", e.package_sha256, e.request_id),
                }
            } else if is(&err, &SqlState::FOREIGN_KEY_VIOLATION) {
                StoreError::NotFound {
                    what: "request",
                    id: e.request_id.clone(),
                }
            } else {
                backend(err)
            }
        })
}

impl PostgresStore {
    /// Runs an update of one pending transfer; a transfer that is not there or not pending is reported.
    async fn update_pending(
        &self,
        id: &str,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let n = client.execute(sql, params).await.map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "pending evidence transfer",
                id: id.to_owned(),
            });
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl EvidenceStore for PostgresStore {
    async fn add_evidence(&self, record: EvidenceRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        insert_evidence(&client, &record).await
    }

    async fn evidence(&self, id: &str) -> Result<Option<EvidenceRecord>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!("SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id = $1"),
                &[&id],
            )
            .await
            .map_err(backend)?
            .as_ref()
            .map(evidence_row)
            .transpose()
    }

    async fn evidence_of_request(
        &self,
        request_id: &str,
    ) -> Result<Vec<EvidenceRecord>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                &format!(
                    "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE request_id = $1 ORDER BY created_ms, id"
                ),
                &[&request_id],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(evidence_row)
            .collect()
    }

    async fn due_evidence_transfers(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<EvidenceRecord>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                &format!(
                    "SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE transfer_state = '{TRANSFER_PENDING}' \
                     AND next_attempt_ms <= $1 ORDER BY next_attempt_ms, id LIMIT $2"
                ),
                &[&to_ms(now), &i64::from(limit)],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(evidence_row)
            .collect()
    }

    async fn next_evidence_attempt(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                &format!(
                    "SELECT MIN(next_attempt_ms) FROM evidence WHERE transfer_state = '{TRANSFER_PENDING}'"
                ),
                &[],
            )
            .await
            .map_err(backend)?;
        get::<Option<i64>>(&row, 0)?.map(from_ms).transpose()
    }

    async fn evidence_upload_opened(&self, id: &str, upload_id: &str) -> Result<(), StoreError> {
        self.update_pending(
            id,
            &format!(
                "UPDATE evidence SET upload_id = $2 WHERE id = $1 AND transfer_state = '{TRANSFER_PENDING}'"
            ),
            &[&id, &upload_id],
        )
        .await
    }

    async fn evidence_chunk_sent(&self, id: &str) -> Result<(), StoreError> {
        self.update_pending(
            id,
            &format!(
                "UPDATE evidence SET chunks_sent = chunks_sent + 1 WHERE id = $1 \
                 AND transfer_state = '{TRANSFER_PENDING}'"
            ),
            &[&id],
        )
        .await
    }

    async fn evidence_transfer_retry(
        &self,
        id: &str,
        error: &str,
        next: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.update_pending(
            id,
            &format!(
                "UPDATE evidence SET attempts = attempts + 1, last_error = $2, next_attempt_ms = $3 \
                 WHERE id = $1 AND transfer_state = '{TRANSFER_PENDING}'"
            ),
            &[&id, &error, &to_ms(next)],
        )
        .await
    }

    async fn evidence_transfer_refused(&self, id: &str, error: &str) -> Result<(), StoreError> {
        self.update_pending(
            id,
            &format!(
                "UPDATE evidence SET transfer_state = '{TRANSFER_REFUSED}', last_error = $2, \
                 next_attempt_ms = NULL WHERE id = $1 AND transfer_state = '{TRANSFER_PENDING}'"
            ),
            &[&id, &error],
        )
        .await
    }

    async fn evidence_delivered(
        &self,
        id: &str,
        receipt: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.update_pending(
            id,
            &format!(
                "UPDATE evidence SET transfer_state = '{TRANSFER_DELIVERED}', receipt = $2, receipt_ms = $3, \
                 next_attempt_ms = NULL, last_error = NULL WHERE id = $1 AND transfer_state = '{TRANSFER_PENDING}'"
            ),
            &[&id, &receipt, &to_ms(at)],
        )
        .await
    }

    async fn open_upload(&self, upload: UploadRecord) -> Result<UploadRecord, StoreError> {
        let client = self.client().await?;
        // The unique (sender, thread, package) key decides between two concurrent offers: one inserts, both read it.
        client
            .execute(
                &format!(
                    "INSERT INTO evidence_uploads ({UPLOAD_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, \
                     $10, 0, NULL) ON CONFLICT (sender, thread, package_sha256) DO NOTHING"
                ),
                &[
                    &upload.upload_id,
                    &upload.sender,
                    &upload.thread,
                    &upload.request_id,
                    &upload.package_sha256,
                    &to_i64(upload.size_bytes),
                    &upload.statement,
                    &to_i64(upload.chunk_bytes),
                    &upload.chunk_digests,
                    &to_ms(upload.created_at),
                ],
            )
            .await
            .map_err(backend)?;
        let row = client
            .query_one(
                &format!(
                    "SELECT {UPLOAD_COLUMNS} FROM evidence_uploads WHERE sender = $1 AND thread = $2 \
                     AND package_sha256 = $3"
                ),
                &[&upload.sender, &upload.thread, &upload.package_sha256],
            )
            .await
            .map_err(backend)?;
        upload_row(&row)
    }

    async fn upload(&self, upload_id: &str) -> Result<Option<UploadRecord>, StoreError> {
        let client = self.client().await?;
        client
            .query_opt(
                &format!("SELECT {UPLOAD_COLUMNS} FROM evidence_uploads WHERE upload_id = $1"),
                &[&upload_id],
            )
            .await
            .map_err(backend)?
            .as_ref()
            .map(upload_row)
            .transpose()
    }

    async fn upload_chunks(&self, upload_id: &str) -> Result<Vec<u64>, StoreError> {
        let client = self.client().await?;
        client
            .query(
                "SELECT idx FROM evidence_upload_chunks WHERE upload_id = $1 ORDER BY idx",
                &[&upload_id],
            )
            .await
            .map_err(backend)?
            .iter()
            .map(|r| get::<i64>(r, 0).map(to_u64))
            .collect()
    }

    async fn record_upload_chunk(
        &self,
        upload_id: &str,
        index: u64,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let n = tx
            .execute(
                "UPDATE evidence_uploads SET chunk_writes = chunk_writes + 1 WHERE upload_id = $1 \
                 AND evidence_id IS NULL",
                &[&upload_id],
            )
            .await
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "open upload",
                id: upload_id.to_owned(),
            });
        }
        tx.execute(
            "INSERT INTO evidence_upload_chunks (upload_id, idx, received_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (upload_id, idx) DO NOTHING",
            &[&upload_id, &to_i64(index), &to_ms(at)],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn complete_upload(
        &self,
        upload_id: &str,
        record: EvidenceRecord,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        // The row lock makes a second completion wait, then find the upload completed.
        let n = tx
            .execute(
                "UPDATE evidence_uploads SET evidence_id = NULL WHERE upload_id = $1 AND evidence_id IS NULL",
                &[&upload_id],
            )
            .await
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::Duplicate {
                what: "completed upload",
                id: upload_id.to_owned(),
            });
        }
        insert_evidence(&tx, &record).await?;
        tx.execute(
            "UPDATE evidence_uploads SET evidence_id = $2 WHERE upload_id = $1",
            &[&upload_id, &record.id],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn discard_upload(&self, upload_id: &str) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute(
            "DELETE FROM evidence_upload_chunks WHERE upload_id = $1 AND upload_id IN \
             (SELECT upload_id FROM evidence_uploads WHERE evidence_id IS NULL)",
            &[&upload_id],
        )
        .await
        .map_err(backend)?;
        tx.execute(
            "DELETE FROM evidence_uploads WHERE upload_id = $1 AND evidence_id IS NULL",
            &[&upload_id],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }
}
