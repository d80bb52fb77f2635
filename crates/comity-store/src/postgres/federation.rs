//! Cross-border records in PostgreSQL: request links, the hash chain of each thread, the transactional outbox with
//! claims for several delivering processes, the inbox, and security events.
//!
//! Semantics match the SQLite store. What differs is concurrency: several processes may share the database, so
//! - a thread's head is locked (`FOR UPDATE`) before it moves, and a first message racing another into a new thread
//!   finds the row taken and fails as a [`StoreError::Conflict`], as a broken chain does;
//! - an inbox entry is inserted first (`ON CONFLICT DO NOTHING`): of two processes accepting one message id, one
//!   stores it and the other gets [`Accepted::Duplicate`] with the stored receipt;
//! - outbox messages are claimed (`FOR UPDATE SKIP LOCKED`, then `claimed_by`/`claimed_until_ms`) so that each due
//!   message goes to one deliverer; a claim left by a process that died runs out and the message is claimed again;
//! - a message is marked delivered, retried or failed only while undelivered, so a late deliverer changes nothing.

use time::OffsetDateTime;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::{
    PostgresStore, apply_transition, backend, from_ms, insert_request, is, rows, to_i64, to_ms,
    to_u64,
};
use crate::{
    Accepted, CaseRecord, InboxRecord, MessageEffect, OutboxRecord, RequestLink, SecurityEvent,
    StoreError, Transition,
};

const LINK_COLUMNS: &str = "request_id, direction, counterpart, thread, upstream";
const OUTBOX_COLUMNS: &str = "seq, message_id, recipient, thread, envelope, created_ms, attempts, next_attempt_ms, receipt, failed";
const INBOX_COLUMNS: &str = "message_id, sender, thread, envelope_sha256, receipt, received_ms";

fn link_row(r: &Row) -> Result<RequestLink, StoreError> {
    Ok(RequestLink {
        request_id: r.try_get(0).map_err(backend)?,
        direction: r.try_get(1).map_err(backend)?,
        counterpart: r.try_get(2).map_err(backend)?,
        thread: r.try_get(3).map_err(backend)?,
        upstream: r.try_get(4).map_err(backend)?,
    })
}

fn outbox_row(r: &Row) -> Result<OutboxRecord, StoreError> {
    Ok(OutboxRecord {
        seq: to_u64(r.try_get(0).map_err(backend)?),
        message_id: r.try_get(1).map_err(backend)?,
        recipient: r.try_get(2).map_err(backend)?,
        thread: r.try_get(3).map_err(backend)?,
        envelope: r.try_get(4).map_err(backend)?,
        prev_hash: String::new(),
        envelope_hash: String::new(),
        created_at: from_ms(r.try_get(5).map_err(backend)?)?,
        attempts: u32::try_from(r.try_get::<_, i64>(6).map_err(backend)?).unwrap_or(u32::MAX),
        next_attempt_at: from_ms(r.try_get(7).map_err(backend)?)?,
        receipt: r.try_get(8).map_err(backend)?,
        failed: r.try_get(9).map_err(backend)?,
    })
}

fn inbox_row(r: &Row) -> Result<InboxRecord, StoreError> {
    Ok(InboxRecord {
        message_id: r.try_get(0).map_err(backend)?,
        sender: r.try_get(1).map_err(backend)?,
        thread: r.try_get(2).map_err(backend)?,
        envelope_sha256: r.try_get(3).map_err(backend)?,
        prev_hash: String::new(),
        receipt: r.try_get(4).map_err(backend)?,
        received_at: from_ms(r.try_get(5).map_err(backend)?)?,
    })
}

type Tx<'a> = deadpool_postgres::Transaction<'a>;

/// Ties a request to a thread; a thread already tied to a request with that counterpart is a duplicate.
pub(super) async fn insert_link(tx: &Tx<'_>, link: &RequestLink) -> Result<(), StoreError> {
    let stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO request_links ({LINK_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))
        .await
        .map_err(backend)?;
    tx.execute(
        &stmt,
        &[
            &link.request_id,
            &link.direction,
            &link.counterpart,
            &link.thread,
            &link.upstream,
        ],
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        if is(&e, &SqlState::UNIQUE_VIOLATION) {
            StoreError::Duplicate {
                what: "thread link",
                id: format!("{} with {}", link.thread, link.counterpart),
            }
        } else {
            backend(e)
        }
    })
}

fn broken_chain(thread: &str, counterpart: &str) -> StoreError {
    StoreError::Conflict {
        id: format!("thread {thread} with {counterpart}"),
        expected: 0,
        found: 0,
    }
}

/// Moves a thread's head from `prev` to `next`, refusing if the head is not `prev` (a broken or forked chain).
async fn advance_thread(
    tx: &Tx<'_>,
    thread: &str,
    counterpart: &str,
    prev: &str,
    next: &str,
) -> Result<(), StoreError> {
    let lock = tx
        .prepare_cached(
            "SELECT last_hash FROM threads WHERE thread = $1 AND counterpart = $2 FOR UPDATE",
        )
        .await
        .map_err(backend)?;
    let head: Option<String> = tx
        .query_opt(&lock, &[&thread, &counterpart])
        .await
        .map_err(backend)?
        .map(|r| r.try_get(0).map_err(backend))
        .transpose()?;
    match head {
        Some(head) if head == prev => {
            let stmt = tx
                .prepare_cached(
                    "UPDATE threads SET last_hash = $3, messages = messages + 1
                     WHERE thread = $1 AND counterpart = $2",
                )
                .await
                .map_err(backend)?;
            tx.execute(&stmt, &[&thread, &counterpart, &next])
                .await
                .map_err(backend)?;
            Ok(())
        }
        None if prev.is_empty() => {
            // A first message: whoever inserts the row first starts the chain; the other finds it taken.
            let stmt = tx
                .prepare_cached(
                    "INSERT INTO threads (thread, counterpart, last_hash, messages) VALUES ($1, $2, $3, 1)
                     ON CONFLICT (thread, counterpart) DO NOTHING",
                )
                .await
                .map_err(backend)?;
            match tx.execute(&stmt, &[&thread, &counterpart, &next]).await {
                Ok(1) => Ok(()),
                Ok(_) => Err(broken_chain(thread, counterpart)),
                Err(e) => Err(backend(e)),
            }
        }
        _ => Err(broken_chain(thread, counterpart)),
    }
}

/// Queues a message, moving its thread's head.
pub(super) async fn enqueue(tx: &Tx<'_>, m: &OutboxRecord) -> Result<(), StoreError> {
    advance_thread(tx, &m.thread, &m.recipient, &m.prev_hash, &m.envelope_hash).await?;
    let stmt = tx
        .prepare_cached(
            "INSERT INTO outbox (message_id, recipient, thread, envelope, created_ms, attempts, next_attempt_ms)
             VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .await
        .map_err(backend)?;
    tx.execute(
        &stmt,
        &[
            &m.message_id,
            &m.recipient,
            &m.thread,
            &m.envelope,
            &to_ms(m.created_at),
            &to_ms(m.next_attempt_at),
        ],
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        if is(&e, &SqlState::UNIQUE_VIOLATION) {
            StoreError::Duplicate {
                what: "message",
                id: m.message_id.clone(),
            }
        } else {
            backend(e)
        }
    })
}

async fn insert_case_if_new(tx: &Tx<'_>, case: &CaseRecord) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO cases (id, reference, title, created_by, created_ms) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING",
        &[
            &case.id,
            &case.reference,
            &case.title,
            &case.created_by,
            &to_ms(case.created_at),
        ],
    )
    .await
    .map(|_| ())
    .map_err(|e| {
        if is(&e, &SqlState::UNIQUE_VIOLATION) {
            StoreError::Duplicate {
                what: "case",
                id: case.reference.clone(),
            }
        } else {
            backend(e)
        }
    })
}

async fn load_inbox(
    client: &deadpool_postgres::Object,
    message_id: &str,
) -> Result<Option<InboxRecord>, StoreError> {
    client
        .query_opt(
            &format!("SELECT {INBOX_COLUMNS} FROM inbox WHERE message_id = $1"),
            &[&message_id],
        )
        .await
        .map_err(backend)?
        .as_ref()
        .map(inbox_row)
        .transpose()
}

async fn accept(
    tx: &Tx<'_>,
    inbox: &InboxRecord,
    effect: &MessageEffect,
) -> Result<bool, StoreError> {
    // The insert comes first: a second process accepting the same id waits here for the first to finish.
    let inserted = tx
        .execute(
            "INSERT INTO inbox (message_id, sender, thread, envelope_sha256, receipt, received_ms)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message_id) DO NOTHING",
            &[
                &inbox.message_id,
                &inbox.sender,
                &inbox.thread,
                &inbox.envelope_sha256,
                &inbox.receipt,
                &to_ms(inbox.received_at),
            ],
        )
        .await
        .map_err(backend)?;
    if inserted == 0 {
        return Ok(false);
    }
    advance_thread(
        tx,
        &inbox.thread,
        &inbox.sender,
        &inbox.prev_hash,
        &inbox.envelope_sha256,
    )
    .await?;
    match effect {
        MessageEffect::None => {}
        MessageEffect::NewRequest {
            case,
            request,
            link,
            events,
            next_due,
        } => {
            if let Some(case) = case {
                insert_case_if_new(tx, case).await?;
            }
            insert_request(tx, request).await?;
            insert_link(tx, link).await?;
            for (version, (i, event)) in (request.version..).zip(events.iter().enumerate()) {
                apply_transition(
                    tx,
                    &Transition {
                        event: event.clone(),
                        expected_version: version,
                        next_due: if i + 1 == events.len() {
                            *next_due
                        } else {
                            None
                        },
                        document: None,
                        outbox: None,
                        link: None,
                    },
                )
                .await?;
            }
        }
        MessageEffect::Step(change) => {
            apply_transition(tx, change).await?;
        }
    }
    Ok(true)
}

impl PostgresStore {
    pub(super) async fn fed_link(
        &self,
        request_id: &str,
    ) -> Result<Option<RequestLink>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {LINK_COLUMNS} FROM request_links WHERE request_id = $1"
            ))
            .await
            .map_err(backend)?;
        client
            .query_opt(&stmt, &[&request_id])
            .await
            .map_err(backend)?
            .as_ref()
            .map(link_row)
            .transpose()
    }

    pub(super) async fn fed_link_by_thread(
        &self,
        thread: &str,
        counterpart: &str,
    ) -> Result<Option<RequestLink>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {LINK_COLUMNS} FROM request_links WHERE thread = $1 AND counterpart = $2"
            ))
            .await
            .map_err(backend)?;
        client
            .query_opt(&stmt, &[&thread, &counterpart])
            .await
            .map_err(backend)?
            .as_ref()
            .map(link_row)
            .transpose()
    }

    pub(super) async fn fed_thread_head(
        &self,
        thread: &str,
        counterpart: &str,
    ) -> Result<String, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT last_hash FROM threads WHERE thread = $1 AND counterpart = $2")
            .await
            .map_err(backend)?;
        Ok(client
            .query_opt(&stmt, &[&thread, &counterpart])
            .await
            .map_err(backend)?
            .map(|r| r.try_get::<_, String>(0).map_err(backend))
            .transpose()?
            .unwrap_or_default())
    }

    pub(super) async fn fed_accept(
        &self,
        inbox: InboxRecord,
        effect: MessageEffect,
    ) -> Result<Accepted, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        if accept(&tx, &inbox, &effect).await? {
            tx.commit().await.map_err(backend)?;
            return Ok(Accepted::New);
        }
        tx.rollback().await.map_err(backend)?;
        let seen = load_inbox(&client, &inbox.message_id)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "message `{}` is neither new nor stored",
                    inbox.message_id
                ))
            })?;
        Ok(Accepted::Duplicate(seen))
    }

    pub(super) async fn fed_inbox(
        &self,
        message_id: &str,
    ) -> Result<Option<InboxRecord>, StoreError> {
        let client = self.client().await?;
        load_inbox(&client, message_id).await
    }

    pub(super) async fn fed_due_outbox(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let client = self.client().await?;
        // The head of each thread only, so that messages of one thread arrive in order.
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox o
                 WHERE delivered_ms IS NULL AND failed IS NULL AND next_attempt_ms <= $1
                   AND seq = (SELECT MIN(seq) FROM outbox p
                              WHERE p.thread = o.thread AND p.recipient = o.recipient
                                AND p.delivered_ms IS NULL AND p.failed IS NULL)
                 ORDER BY seq LIMIT $2"
            ))
            .await
            .map_err(backend)?;
        let found = client
            .query(&stmt, &[&to_ms(now), &i64::from(limit.min(1000))])
            .await
            .map_err(backend)?;
        rows(found, outbox_row)
    }

    pub(super) async fn fed_claim_outbox(
        &self,
        now: OffsetDateTime,
        holder: &str,
        ttl_ms: u64,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let now_ms = to_ms(now);
        let until_ms = now_ms.saturating_add(to_i64(ttl_ms));
        let client = self.client().await?;
        // Rows another deliverer is claiming right now are skipped, not waited for; the claim columns then keep the
        // message away from the others until it is marked or the claim runs out.
        let stmt = client
            .prepare_cached(&format!(
                "WITH picked AS (
                     SELECT seq FROM outbox o
                     WHERE delivered_ms IS NULL AND failed IS NULL AND next_attempt_ms <= $1
                       AND (claimed_until_ms IS NULL OR claimed_until_ms <= $1)
                       AND seq = (SELECT MIN(seq) FROM outbox p
                                  WHERE p.thread = o.thread AND p.recipient = o.recipient
                                    AND p.delivered_ms IS NULL AND p.failed IS NULL)
                     ORDER BY seq LIMIT $4
                     FOR UPDATE SKIP LOCKED)
                 UPDATE outbox SET claimed_by = $2, claimed_until_ms = $3
                 FROM picked WHERE outbox.seq = picked.seq
                 RETURNING {}",
                OUTBOX_COLUMNS
                    .split(", ")
                    .map(|c| format!("outbox.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .await
            .map_err(backend)?;
        let found = client
            .query(
                &stmt,
                &[&now_ms, &holder, &until_ms, &i64::from(limit.min(1000))],
            )
            .await
            .map_err(backend)?;
        let mut claimed = rows(found, outbox_row)?;
        claimed.sort_by_key(|m| m.seq);
        Ok(claimed)
    }

    pub(super) async fn fed_next_outbox_attempt(
        &self,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let client = self.client().await?;
        let ms: Option<i64> = client
            .query_one(
                "SELECT MIN(GREATEST(next_attempt_ms, COALESCE(claimed_until_ms, 0))) FROM outbox
                 WHERE delivered_ms IS NULL AND failed IS NULL",
                &[],
            )
            .await
            .map_err(backend)?
            .try_get(0)
            .map_err(backend)?;
        ms.map(from_ms).transpose()
    }

    pub(super) async fn fed_outbox_delivered(
        &self,
        seq: u64,
        receipt: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE outbox SET delivered_ms = $2, receipt = $3, attempts = attempts + 1,
                     claimed_by = NULL, claimed_until_ms = NULL
                 WHERE seq = $1 AND delivered_ms IS NULL AND failed IS NULL",
                &[&to_i64(seq), &to_ms(at), &receipt],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    pub(super) async fn fed_outbox_retry(
        &self,
        seq: u64,
        error: &str,
        next: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_ms = $3,
                     claimed_by = NULL, claimed_until_ms = NULL
                 WHERE seq = $1 AND delivered_ms IS NULL AND failed IS NULL",
                &[&to_i64(seq), &error, &to_ms(next)],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    pub(super) async fn fed_outbox_failed(
        &self,
        seq: u64,
        reason: &str,
        receipt: &str,
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "UPDATE outbox SET attempts = attempts + 1, failed = $2, receipt = $3,
                     claimed_by = NULL, claimed_until_ms = NULL
                 WHERE seq = $1 AND delivered_ms IS NULL AND failed IS NULL",
                &[&to_i64(seq), &reason, &receipt],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    pub(super) async fn fed_outbox_of_thread(
        &self,
        thread: &str,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE thread = $1 ORDER BY seq"
            ))
            .await
            .map_err(backend)?;
        let found = client.query(&stmt, &[&thread]).await.map_err(backend)?;
        rows(found, outbox_row)
    }

    pub(super) async fn fed_security_event(&self, event: SecurityEvent) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "INSERT INTO security_events (at_ms, code, sender, message_id, detail) VALUES ($1, $2, $3, $4, $5)",
                &[
                    &to_ms(event.at),
                    &event.code,
                    &event.sender,
                    &event.message_id,
                    &event.detail,
                ],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    pub(super) async fn fed_security_events(
        &self,
        limit: u32,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        let client = self.client().await?;
        let found = client
            .query(
                "SELECT at_ms, code, sender, message_id, detail FROM security_events ORDER BY id DESC LIMIT $1",
                &[&i64::from(limit.min(1000))],
            )
            .await
            .map_err(backend)?;
        rows(found, |r| {
            Ok(SecurityEvent {
                at: from_ms(r.try_get(0).map_err(backend)?)?,
                code: r.try_get(1).map_err(backend)?,
                sender: r.try_get(2).map_err(backend)?,
                message_id: r.try_get(3).map_err(backend)?,
                detail: r.try_get(4).map_err(backend)?,
            })
        })
    }
}
