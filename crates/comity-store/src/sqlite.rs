//! The embedded store: one SQLite file in WAL mode, one writer thread with group commit, a small pool of readers.
//!
//! Writers queue jobs to the writer thread. It takes every job waiting (up to [`MAX_BATCH`]), runs each in its own
//! savepoint inside one transaction, commits once with `synchronous=FULL`, and only then answers each caller. One
//! fsync thus covers many requests, and nothing is acknowledged before it is on disk. A job that fails rolls back its
//! own savepoint without disturbing the others in the batch.

mod accounts;
mod evidence;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, mpsc};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use time::OffsetDateTime;
use tokio::sync::oneshot;

use crate::{
    Accepted, CaseRecord, Cell, CopiedTable, EventRecord, Import, InboxRecord, MessageEffect,
    OutboxRecord, RequestFilter, RequestLink, RequestOrder, RequestRecord, SecurityEvent, Store,
    StoreError, Transition,
};

/// The most jobs committed together.
pub const MAX_BATCH: usize = 512;
/// The most idle reader connections kept.
const MAX_IDLE_READERS: usize = 8;

/// Migrations, in order. A migration is never edited once released; a change is a new file.
const MIGRATIONS: &[(u32, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (
        2,
        include_str!("../migrations/sqlite/0002_list_indexes.sql"),
    ),
    (3, include_str!("../migrations/sqlite/0003_federation.sql")),
    (4, include_str!("../migrations/sqlite/0004_users.sql")),
    (5, include_str!("../migrations/sqlite/0005_leases.sql")),
    (6, include_str!("../migrations/sqlite/0006_evidence.sql")),
    (7, include_str!("../migrations/sqlite/0007_claims.sql")),
    (8, include_str!("../migrations/sqlite/0008_log_pending.sql")),
];

type Completion = Box<dyn FnOnce(Option<&StoreError>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;

/// The SQLite store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SqliteStore({})", self.inner.path.display())
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn configure(conn: &Connection) -> Result<(), StoreError> {
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(backend)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
    )
    .map_err(backend)
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL) STRICT",
    )
    .map_err(backend)?;
    let current: u32 = conn
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            [],
            |r| r.get(0),
        )
        .map_err(backend)?;
    let newest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > newest {
        return Err(StoreError::Corrupt(format!(
            "the database is at schema {current}, newer than this comity knows ({newest}); upgrade comity"
        )));
    }
    for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        let tx = conn.transaction().map_err(backend)?;
        tx.execute_batch(sql).map_err(backend)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_ms) VALUES (?1, ?2)",
            params![version, to_ms(OffsetDateTime::now_utc())],
        )
        .map_err(backend)?;
        tx.commit().map_err(backend)?;
        tracing::info!(version, "applied store migration");
    }
    Ok(())
}

fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_ms(ms: i64) -> rusqlite::Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Integer, Box::new(e))
    })
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Copies the WAL back into the database in the background, so that no commit waits for a checkpoint.
fn checkpoint_loop(path: &Path, store: &std::sync::Weak<Inner>) {
    let Ok(conn) = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    ) else {
        return;
    };
    loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        match store.upgrade() {
            Some(inner) if inner.writer.lock().is_ok_and(|w| w.is_some()) => {}
            _ => return,
        }
        if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)") {
            tracing::warn!(error = %e, "background checkpoint failed");
        }
    }
}

fn writer_loop(conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut completions = Vec::with_capacity(batch.len());
        let outcome = (|| -> Result<(), StoreError> {
            conn.execute_batch("BEGIN IMMEDIATE").map_err(backend)?;
            for job in batch.drain(..) {
                conn.execute_batch("SAVEPOINT job").map_err(backend)?;
                let (ok, completion) = job(&conn);
                completions.push(completion);
                let end = if ok {
                    "RELEASE job"
                } else {
                    "ROLLBACK TO job; RELEASE job"
                };
                conn.execute_batch(end).map_err(backend)?;
            }
            conn.execute_batch("COMMIT").map_err(backend)
        })();
        // Jobs never queued because of an early failure are dropped: their callers see the writer as gone.
        drop(batch);
        if let Err(e) = &outcome {
            tracing::error!(error = %e, "store batch failed; rolling back");
            let _ = conn.execute_batch("ROLLBACK");
        }
        for completion in completions {
            completion(outcome.as_ref().err());
        }
    }
    // Close cleanly so the WAL is checkpointed.
    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "closing the store database failed");
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies migrations.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let mut conn = Connection::open(path).map_err(|e| {
            StoreError::Backend(format!("cannot open database `{}`: {e}", path.display()))
        })?;
        configure(&conn)?;
        // The writer never checkpoints; `checkpoint_loop` does, off the commit path.
        conn.execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(backend)?;
        migrate(&mut conn)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("comity-store-writer".into())
            .spawn(move || writer_loop(conn, rx))
            .map_err(backend)?;
        let store = Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(Some(tx)),
                readers: Mutex::new(Vec::new()),
            }),
        };
        let weak = Arc::downgrade(&store.inner);
        let checkpoint_path = path.to_owned();
        std::thread::Builder::new()
            .name("comity-store-checkpoint".into())
            .spawn(move || checkpoint_loop(&checkpoint_path, &weak))
            .map_err(backend)?;
        Ok(store)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn: &Connection| {
            let result = f(conn);
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |commit: Option<&StoreError>| {
                let answer = match (commit, result) {
                    (Some(e), Ok(_)) => Err(StoreError::Backend(format!("commit failed: {e}"))),
                    (_, result) => result,
                };
                let _ = tx.send(answer);
            });
            (ok, completion)
        });
        let sender = self
            .inner
            .writer
            .lock()
            .map_err(|_| backend("writer lock poisoned"))?
            .clone()
            .ok_or_else(|| backend("the store is closed"))?;
        sender
            .send(job)
            .map_err(|_| backend("the store writer has stopped"))?;
        rx.await
            .map_err(|_| backend("the store writer stopped before committing"))?
    }

    async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R, StoreError> + Send + 'static,
    ) -> Result<R, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner
                .readers
                .lock()
                .map_err(|_| backend("reader pool poisoned"))?
                .pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                    )
                    .map_err(backend)?;
                    c.busy_timeout(std::time::Duration::from_secs(10))
                        .map_err(backend)?;
                    c
                }
            };
            let result = f(&conn);
            if let Ok(mut pool) = inner.readers.lock()
                && pool.len() < MAX_IDLE_READERS
            {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(backend)?
    }

    /// Stops the writer after the jobs already queued; later writes fail.
    pub fn close(&self) {
        if let Ok(mut w) = self.inner.writer.lock() {
            w.take();
        }
    }
}

const REQUEST_COLUMNS: &str = "id, case_id, mechanism, state, document, urgency, created_by, created_ms, updated_ms, next_due_ms, version";

fn request_row(r: &Row<'_>) -> rusqlite::Result<RequestRecord> {
    Ok(RequestRecord {
        id: r.get(0)?,
        case_id: r.get(1)?,
        mechanism: r.get(2)?,
        state: r.get(3)?,
        document: r.get(4)?,
        urgency: r.get(5)?,
        created_by: r.get(6)?,
        created_at: from_ms(r.get(7)?)?,
        updated_at: from_ms(r.get(8)?)?,
        next_due: r.get::<_, Option<i64>>(9)?.map(from_ms).transpose()?,
        version: to_u64(r.get(10)?),
    })
}

fn case_row(r: &Row<'_>) -> rusqlite::Result<CaseRecord> {
    Ok(CaseRecord {
        id: r.get(0)?,
        reference: r.get(1)?,
        title: r.get(2)?,
        created_by: r.get(3)?,
        created_at: from_ms(r.get(4)?)?,
    })
}

fn event_row(r: &Row<'_>) -> rusqlite::Result<EventRecord> {
    Ok(EventRecord {
        request_id: r.get(0)?,
        seq: to_u64(r.get(1)?),
        action: r.get(2)?,
        from_state: r.get(3)?,
        to_state: r.get(4)?,
        actor: r.get(5)?,
        at: from_ms(r.get(6)?)?,
        reason: r.get(7)?,
        detail: r.get(8)?,
    })
}

fn load_request(conn: &Connection, id: &str) -> Result<Option<RequestRecord>, StoreError> {
    conn.query_row(
        &format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = ?1"),
        [id],
        request_row,
    )
    .optional()
    .map_err(backend)
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Appends an event and updates the projection, with its outbox message and link, inside the caller's transaction.
fn apply_transition(conn: &Connection, change: &Transition) -> Result<RequestRecord, StoreError> {
    let e = &change.event;
    let current = load_request(conn, &e.request_id)?.ok_or_else(|| StoreError::NotFound {
        what: "request",
        id: e.request_id.clone(),
    })?;
    if current.version != change.expected_version || e.seq != change.expected_version + 1 {
        return Err(StoreError::Conflict {
            id: e.request_id.clone(),
            expected: change.expected_version,
            found: current.version,
        });
    }
    if current.state != e.from_state {
        return Err(StoreError::Corrupt(format!(
            "request `{}` is `{}` but the event starts from `{}`",
            e.request_id, current.state, e.from_state
        )));
    }
    conn.prepare_cached(
            "INSERT INTO events (request_id, seq, action, from_state, to_state, actor, at_ms, reason, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )
        .and_then(|mut stmt| {
            stmt.execute(params![
                e.request_id,
                i64::try_from(e.seq).unwrap_or(i64::MAX),
                e.action,
                e.from_state,
                e.to_state,
                e.actor,
                to_ms(e.at),
                e.reason,
                e.detail,
            ])
        })
        .map_err(backend)?;
    conn.prepare_cached(
        "UPDATE requests SET state = ?2, version = ?3, updated_ms = ?4, next_due_ms = ?5,
             document = COALESCE(?6, document) WHERE id = ?1",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            e.request_id,
            e.to_state,
            i64::try_from(e.seq).unwrap_or(i64::MAX),
            to_ms(e.at),
            change.next_due.map(to_ms),
            change.document,
        ])
    })
    .map_err(backend)?;
    if let Some(link) = &change.link {
        insert_link(conn, link)?;
    }
    if let Some(message) = &change.outbox {
        enqueue(conn, message)?;
    }
    load_request(conn, &e.request_id)?
        .ok_or_else(|| StoreError::Corrupt(format!("request `{}` vanished", e.request_id)))
}

fn insert_link(conn: &Connection, link: &RequestLink) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO request_links (request_id, direction, counterpart, thread, upstream) VALUES (?1, ?2, ?3, ?4, ?5)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![link.request_id, link.direction, link.counterpart, link.thread, link.upstream])
    })
    .map(|_| ())
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate { what: "thread link", id: format!("{} with {}", link.thread, link.counterpart) }
        } else {
            backend(e)
        }
    })
}

/// Moves a thread's head from `prev` to `next`, refusing if the head is not `prev` (a broken or forked chain).
fn advance_thread(
    conn: &Connection,
    thread: &str,
    counterpart: &str,
    prev: &str,
    next: &str,
) -> Result<(), StoreError> {
    let head: Option<String> = conn
        .query_row(
            "SELECT last_hash FROM threads WHERE thread = ?1 AND counterpart = ?2",
            params![thread, counterpart],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    if head.as_deref().unwrap_or("") != prev {
        return Err(StoreError::Conflict {
            id: format!("thread {thread} with {counterpart}"),
            expected: 0,
            found: 0,
        });
    }
    conn.execute(
        "INSERT INTO threads (thread, counterpart, last_hash, messages) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT(thread, counterpart) DO UPDATE SET last_hash = excluded.last_hash, messages = messages + 1",
        params![thread, counterpart, next],
    )
    .map(|_| ())
    .map_err(backend)
}

fn enqueue(conn: &Connection, m: &OutboxRecord) -> Result<(), StoreError> {
    advance_thread(
        conn,
        &m.thread,
        &m.recipient,
        &m.prev_hash,
        &m.envelope_hash,
    )?;
    conn.prepare_cached(
        "INSERT INTO outbox (message_id, recipient, thread, envelope, created_ms, attempts, next_attempt_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)",
    )
    .and_then(|mut stmt| {
        stmt.execute(params![
            m.message_id,
            m.recipient,
            m.thread,
            m.envelope,
            to_ms(m.created_at),
            to_ms(m.next_attempt_at)
        ])
    })
    .map(|_| ())
    .map_err(backend)
}

const OUTBOX_COLUMNS: &str = "seq, message_id, recipient, thread, envelope, created_ms, attempts, next_attempt_ms, receipt, failed";

fn outbox_row(r: &Row<'_>) -> rusqlite::Result<OutboxRecord> {
    Ok(OutboxRecord {
        seq: to_u64(r.get(0)?),
        message_id: r.get(1)?,
        recipient: r.get(2)?,
        thread: r.get(3)?,
        envelope: r.get(4)?,
        prev_hash: String::new(),
        envelope_hash: String::new(),
        created_at: from_ms(r.get(5)?)?,
        attempts: u32::try_from(r.get::<_, i64>(6)?).unwrap_or(u32::MAX),
        next_attempt_at: from_ms(r.get(7)?)?,
        receipt: r.get(8)?,
        failed: r.get(9)?,
    })
}

fn inbox_row(r: &Row<'_>) -> rusqlite::Result<InboxRecord> {
    Ok(InboxRecord {
        message_id: r.get(0)?,
        sender: r.get(1)?,
        thread: r.get(2)?,
        envelope_sha256: r.get(3)?,
        prev_hash: String::new(),
        receipt: r.get(4)?,
        received_at: from_ms(r.get(5)?)?,
    })
}

fn link_row(r: &Row<'_>) -> rusqlite::Result<RequestLink> {
    Ok(RequestLink {
        request_id: r.get(0)?,
        direction: r.get(1)?,
        counterpart: r.get(2)?,
        thread: r.get(3)?,
        upstream: r.get(4)?,
    })
}

fn load_inbox(conn: &Connection, message_id: &str) -> Result<Option<InboxRecord>, StoreError> {
    conn.query_row(
        "SELECT message_id, sender, thread, envelope_sha256, receipt, received_ms FROM inbox WHERE message_id = ?1",
        [message_id],
        inbox_row,
    )
    .optional()
    .map_err(backend)
}

fn insert_case(conn: &Connection, case: &CaseRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO cases (id, reference, title, created_by, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![case.id, case.reference, case.title, case.created_by, to_ms(case.created_at)],
    )
    .map(|_| ())
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate { what: "case", id: case.reference.clone() }
        } else {
            backend(e)
        }
    })
}

fn insert_request(conn: &Connection, r: &RequestRecord) -> Result<(), StoreError> {
    conn.prepare_cached(&format!(
        "INSERT INTO requests ({REQUEST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            r.id,
            r.case_id,
            r.mechanism,
            r.state,
            r.document,
            r.urgency,
            r.created_by,
            to_ms(r.created_at),
            to_ms(r.updated_at),
            r.next_due.map(to_ms),
            i64::try_from(r.version).unwrap_or(i64::MAX),
        ])
    })
    .map(|_| ())
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Duplicate { what: "request", id: r.id.clone() }
        } else {
            backend(e)
        }
    })
}

fn accept(
    conn: &Connection,
    inbox: &InboxRecord,
    effect: &MessageEffect,
) -> Result<Accepted, StoreError> {
    if let Some(seen) = load_inbox(conn, &inbox.message_id)? {
        return Ok(Accepted::Duplicate(seen));
    }
    advance_thread(
        conn,
        &inbox.thread,
        &inbox.sender,
        &inbox.prev_hash,
        &inbox.envelope_sha256,
    )?;
    conn.execute(
        "INSERT INTO inbox (message_id, sender, thread, envelope_sha256, receipt, received_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            inbox.message_id,
            inbox.sender,
            inbox.thread,
            inbox.envelope_sha256,
            inbox.receipt,
            to_ms(inbox.received_at)
        ],
    )
    .map_err(backend)?;
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
                let exists: bool = conn
                    .query_row(
                        "SELECT EXISTS(SELECT 1 FROM cases WHERE id = ?1)",
                        [&case.id],
                        |r| r.get(0),
                    )
                    .map_err(backend)?;
                if !exists {
                    insert_case(conn, case)?;
                }
            }
            insert_request(conn, request)?;
            insert_link(conn, link)?;
            for (version, (i, event)) in (request.version..).zip(events.iter().enumerate()) {
                apply_transition(
                    conn,
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
                )?;
            }
        }
        MessageEffect::Step(change) => {
            apply_transition(conn, change)?;
        }
    }
    Ok(Accepted::New)
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn create_case(&self, case: CaseRecord) -> Result<(), StoreError> {
        self.write(move |conn| insert_case(conn, &case)).await
    }

    async fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT id, reference, title, created_by, created_ms FROM cases WHERE id = ?1",
                [id],
                case_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn cases(&self, limit: u32) -> Result<Vec<CaseRecord>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id, reference, title, created_by, created_ms FROM cases ORDER BY created_ms DESC, id DESC LIMIT ?1",
                )
                .map_err(backend)?;
            let rows = stmt.query_map([limit.min(1000)], case_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn create_request(&self, r: RequestRecord) -> Result<(), StoreError> {
        self.write(move |conn| {
            let case_exists: bool = conn
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM cases WHERE id = ?1)",
                    [&r.case_id],
                    |row| row.get(0),
                )
                .map_err(backend)?;
            if !case_exists {
                return Err(StoreError::NotFound {
                    what: "case",
                    id: r.case_id,
                });
            }
            insert_request(conn, &r)
        })
        .await
    }

    async fn request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| load_request(conn, &id)).await
    }

    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRecord>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| {
            let mut sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE 1=1");
            let mut args: Vec<String> = Vec::new();
            // SQLite keeps no statistics here, so it cannot tell a case (a handful of requests) from a state (a large
            // share of them). Steer it: with a case, the case index; in the due queue, the due index of the state
            // or of all. A `+column` term cannot pick an index. Any other combination is served by an index carrying
            // the other filters.
            let indexed = match (&filter.case_id, filter.order) {
                (Some(_), _) => Some("case_id"),
                (None, RequestOrder::Due) => Some("state"),
                (None, RequestOrder::Newest) => None,
            };
            for (column, value) in [
                ("case_id", &filter.case_id),
                ("state", &filter.state),
                ("mechanism", &filter.mechanism),
                ("urgency", &filter.urgency),
            ] {
                if let Some(v) = value {
                    args.push(v.clone());
                    let unindexed = match indexed {
                        Some(only) if only != column => "+",
                        _ => "",
                    };
                    sql.push_str(&format!(" AND {unindexed}{column} = ?{}", args.len()));
                }
            }
            sql.push_str(match filter.order {
                RequestOrder::Newest => " ORDER BY created_ms DESC, id DESC",
                RequestOrder::Due => {
                    " AND next_due_ms IS NOT NULL ORDER BY next_due_ms ASC, id ASC"
                }
            });
            let limit = if filter.limit == 0 {
                100
            } else {
                filter.limit.min(1000)
            };
            sql.push_str(&format!(" LIMIT {limit}"));
            let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
            let rows = stmt
                .query_map(rusqlite::params_from_iter(args.iter()), request_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn events(&self, request_id: &str) -> Result<Vec<EventRecord>, StoreError> {
        let id = request_id.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT request_id, seq, action, from_state, to_state, actor, at_ms, reason, detail
                     FROM events WHERE request_id = ?1 ORDER BY seq",
                )
                .map_err(backend)?;
            let rows = stmt.query_map([id], event_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn transition(&self, change: Transition) -> Result<RequestRecord, StoreError> {
        self.write(move |conn| apply_transition(conn, &change))
            .await
    }

    async fn request_with_events(
        &self,
        id: &str,
    ) -> Result<Option<(RequestRecord, Vec<EventRecord>)>, StoreError> {
        let id = id.to_owned();
        self.read(move |conn| {
            // One read transaction: the request row and its events come from the same snapshot.
            conn.execute_batch("BEGIN").map_err(backend)?;
            let result = (|| {
                let Some(record) = load_request(conn, &id)? else {
                    return Ok(None);
                };
                let mut stmt = conn
                    .prepare_cached(
                        "SELECT request_id, seq, action, from_state, to_state, actor, at_ms, reason, detail
                         FROM events WHERE request_id = ?1 ORDER BY seq",
                    )
                    .map_err(backend)?;
                let events = stmt
                    .query_map([&id], event_row)
                    .map_err(backend)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(backend)?;
                Ok(Some((record, events)))
            })();
            let _ = conn.execute_batch("COMMIT");
            result
        })
        .await
    }

    async fn link(&self, request_id: &str) -> Result<Option<RequestLink>, StoreError> {
        let id = request_id.to_owned();
        self.read(move |conn| {
            conn.query_row(
                "SELECT request_id, direction, counterpart, thread, upstream FROM request_links WHERE request_id = ?1",
                [id],
                link_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn link_by_thread(
        &self,
        thread: &str,
        counterpart: &str,
    ) -> Result<Option<RequestLink>, StoreError> {
        let (thread, counterpart) = (thread.to_owned(), counterpart.to_owned());
        self.read(move |conn| {
            conn.query_row(
                "SELECT request_id, direction, counterpart, thread, upstream FROM request_links
                 WHERE thread = ?1 AND counterpart = ?2",
                params![thread, counterpart],
                link_row,
            )
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn thread_head(&self, thread: &str, counterpart: &str) -> Result<String, StoreError> {
        let (thread, counterpart) = (thread.to_owned(), counterpart.to_owned());
        self.read(move |conn| {
            conn.query_row(
                "SELECT last_hash FROM threads WHERE thread = ?1 AND counterpart = ?2",
                params![thread, counterpart],
                |r| r.get::<_, String>(0),
            )
            .optional()
            .map(Option::unwrap_or_default)
            .map_err(backend)
        })
        .await
    }

    async fn accept_message(
        &self,
        inbox: InboxRecord,
        effect: MessageEffect,
    ) -> Result<Accepted, StoreError> {
        self.write(move |conn| accept(conn, &inbox, &effect)).await
    }

    async fn inbox(&self, message_id: &str) -> Result<Option<InboxRecord>, StoreError> {
        let id = message_id.to_owned();
        self.read(move |conn| load_inbox(conn, &id)).await
    }

    async fn due_outbox(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.read(move |conn| {
            // The head of each thread only, so that messages of one thread arrive in order.
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox o
                     WHERE delivered_ms IS NULL AND failed IS NULL AND next_attempt_ms <= ?1
                       AND seq = (SELECT MIN(seq) FROM outbox p
                                  WHERE p.thread = o.thread AND p.recipient = o.recipient
                                    AND p.delivered_ms IS NULL AND p.failed IS NULL)
                     ORDER BY seq LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![to_ms(now), limit.min(1000)], outbox_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn next_outbox_attempt(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        self.read(move |conn| {
            let ms: Option<i64> = conn
                .query_row(
                    "SELECT MIN(next_attempt_ms) FROM outbox WHERE delivered_ms IS NULL AND failed IS NULL",
                    [],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            ms.map(from_ms).transpose().map_err(backend)
        })
        .await
    }

    async fn outbox_delivered(
        &self,
        seq: u64,
        receipt: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let receipt = receipt.to_owned();
        self.write(move |conn| {
            conn.execute(
                "UPDATE outbox SET delivered_ms = ?2, receipt = ?3, attempts = attempts + 1
                 WHERE seq = ?1 AND delivered_ms IS NULL AND failed IS NULL",
                params![i64::try_from(seq).unwrap_or(i64::MAX), to_ms(at), receipt],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn outbox_retry(
        &self,
        seq: u64,
        error: &str,
        next: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.write(move |conn| {
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_ms = ?3
                 WHERE seq = ?1 AND delivered_ms IS NULL AND failed IS NULL",
                params![i64::try_from(seq).unwrap_or(i64::MAX), error, to_ms(next)],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn outbox_failed(&self, seq: u64, reason: &str, receipt: &str) -> Result<(), StoreError> {
        let (reason, receipt) = (reason.to_owned(), receipt.to_owned());
        self.write(move |conn| {
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, failed = ?2, receipt = ?3
                 WHERE seq = ?1 AND delivered_ms IS NULL AND failed IS NULL",
                params![i64::try_from(seq).unwrap_or(i64::MAX), reason, receipt],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn outbox_of_thread(&self, thread: &str) -> Result<Vec<OutboxRecord>, StoreError> {
        let thread = thread.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE thread = ?1 ORDER BY seq"
                ))
                .map_err(backend)?;
            let rows = stmt.query_map([thread], outbox_row).map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn security_event(&self, event: SecurityEvent) -> Result<(), StoreError> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO security_events (at_ms, code, sender, message_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![to_ms(event.at), event.code, event.sender, event.message_id, event.detail],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn security_events(&self, limit: u32) -> Result<Vec<SecurityEvent>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT at_ms, code, sender, message_id, detail FROM security_events ORDER BY id DESC LIMIT ?1",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([limit.min(1000)], |r| {
                    Ok(SecurityEvent {
                        at: from_ms(r.get(0)?)?,
                        code: r.get(1)?,
                        sender: r.get(2)?,
                        message_id: r.get(3)?,
                        detail: r.get(4)?,
                    })
                })
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let key = key.to_owned();
        self.read(move |conn| {
            conn.query_row("SELECT value FROM node_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(backend)
        })
        .await
    }

    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO node_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: u64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        let now_ms = to_ms(now);
        let expires_ms = now_ms.saturating_add(i64::try_from(ttl_ms).unwrap_or(i64::MAX));
        self.write(move |conn| {
            conn.query_row(
                "INSERT INTO leases (name, holder, expires_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                 WHERE leases.holder = excluded.holder OR leases.expires_ms <= ?4
                 RETURNING holder",
                params![name, holder, expires_ms, now_ms],
                |_| Ok(()),
            )
            .optional()
            .map(|taken| taken.is_some())
            .map_err(backend)
        })
        .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM leases WHERE name = ?1 AND holder = ?2",
                params![name, holder],
            )
            .map(|_| ())
            .map_err(backend)
        })
        .await
    }

    async fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let prefix = prefix.to_owned();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT key, value FROM node_meta WHERE substr(key, 1, length(?1)) = ?1 ORDER BY key",
                )
                .map_err(backend)?;
            let rows = stmt
                .query_map([prefix], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |conn| {
            conn.execute("DELETE FROM node_meta WHERE key = ?1", [key])
                .map(|_| ())
                .map_err(backend)
        })
        .await
    }

    async fn cases_by_id(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let after = after.map(str::to_owned);
        self.read(move |conn| {
            // `?1 = ?1` rather than `?1 IS NULL OR id > ?1`, so that each page is an index range.
            let (condition, start) = match &after {
                Some(id) => ("id > ?1", id.as_str()),
                None => ("?1 = ?1", ""),
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT id, reference, title, created_by, created_ms FROM cases WHERE {condition} ORDER BY id LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![start, limit], case_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn requests_by_id(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let after = after.map(str::to_owned);
        self.read(move |conn| {
            let (condition, start) = match &after {
                Some(id) => ("id > ?1", id.as_str()),
                None => ("?1 = ?1", ""),
            };
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {REQUEST_COLUMNS} FROM requests WHERE {condition} ORDER BY id LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![start, limit], request_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn events_by_key(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let (condition, after_id, after_seq) = match after {
            Some((id, seq)) => (
                "(request_id, seq) > (?1, ?2)",
                id.to_owned(),
                i64::try_from(seq).unwrap_or(i64::MAX),
            ),
            None => ("?1 = ?1 AND ?2 = ?2", String::new(), 0),
        };
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT request_id, seq, action, from_state, to_state, actor, at_ms, reason, detail FROM events
                     WHERE {condition} ORDER BY request_id, seq LIMIT ?3"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![after_id, after_seq, limit], event_row)
                .map_err(backend)?;
            rows.collect::<Result<_, _>>().map_err(backend)
        })
        .await
    }

    async fn import(&self, records: Import) -> Result<(), StoreError> {
        self.write(move |conn| {
            for (key, value) in &records.meta {
                conn.prepare_cached("INSERT INTO node_meta (key, value) VALUES (?1, ?2)")
                    .and_then(|mut stmt| stmt.execute(params![key, value]))
                    .map_err(|e| imported(e, "setting", key, None))?;
            }
            for c in &records.cases {
                conn.prepare_cached(
                    "INSERT INTO cases (id, reference, title, created_by, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![c.id, c.reference, c.title, c.created_by, to_ms(c.created_at)])
                })
                .map_err(|e| imported(e, "case", &c.id, None))?;
            }
            for r in &records.requests {
                conn.prepare_cached(&format!(
                    "INSERT INTO requests ({REQUEST_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                ))
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        r.id,
                        r.case_id,
                        r.mechanism,
                        r.state,
                        r.document,
                        r.urgency,
                        r.created_by,
                        to_ms(r.created_at),
                        to_ms(r.updated_at),
                        r.next_due.map(to_ms),
                        i64::try_from(r.version).unwrap_or(i64::MAX),
                    ])
                })
                .map_err(|e| imported(e, "request", &r.id, Some(("case", &r.case_id))))?;
            }
            for e in &records.events {
                conn.prepare_cached(
                    "INSERT INTO events (request_id, seq, action, from_state, to_state, actor, at_ms, reason, detail)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        e.request_id,
                        i64::try_from(e.seq).unwrap_or(i64::MAX),
                        e.action,
                        e.from_state,
                        e.to_state,
                        e.actor,
                        to_ms(e.at),
                        e.reason,
                        e.detail,
                    ])
                })
                .map_err(|err| {
                    imported(
                        err,
                        "event",
                        &format!("{}#{}", e.request_id, e.seq),
                        Some(("request", &e.request_id)),
                    )
                })?;
            }
            Ok(())
        })
        .await
    }

    async fn export_rows(
        &self,
        table: &'static CopiedTable,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        self.read(move |conn| {
            let columns: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {} FROM {} ORDER BY {} LIMIT ?1 OFFSET ?2",
                    columns.join(", "),
                    table.name,
                    table.order
                ))
                .map_err(backend)?;
            let mut rows = stmt
                .query(params![limit, i64::try_from(offset).unwrap_or(i64::MAX)])
                .map_err(backend)?;
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(backend)? {
                let mut cells = Vec::with_capacity(columns.len());
                for i in 0..columns.len() {
                    cells.push(cell_of(row.get(i).map_err(backend)?)?);
                }
                out.push(cells);
            }
            Ok(out)
        })
        .await
    }

    async fn import_rows(
        &self,
        table: &'static CopiedTable,
        rows: Vec<Vec<Cell>>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            let columns: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
            let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
            let mut stmt = conn
                .prepare_cached(&format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    table.name,
                    columns.join(", "),
                    marks.join(", ")
                ))
                .map_err(backend)?;
            for row in &rows {
                let values: Vec<rusqlite::types::Value> = row.iter().map(sql_value).collect();
                let key = match row.first() {
                    Some(Cell::Text(t)) => t.clone(),
                    Some(Cell::Int(i)) => i.to_string(),
                    _ => String::new(),
                };
                stmt.execute(rusqlite::params_from_iter(values.iter()))
                    .map_err(|e| imported(e, table.name, &key, None))?;
            }
            // AUTOINCREMENT keys continue after the largest inserted one by themselves.
            Ok(())
        })
        .await
    }
}

fn cell_of(v: rusqlite::types::Value) -> Result<Cell, StoreError> {
    match v {
        rusqlite::types::Value::Null => Ok(Cell::Null),
        rusqlite::types::Value::Integer(i) => Ok(Cell::Int(i)),
        rusqlite::types::Value::Text(t) => Ok(Cell::Text(t)),
        other => Err(StoreError::Corrupt(format!(
            "unexpected value of type {:?} in a copied table",
            other.data_type()
        ))),
    }
}

fn sql_value(c: &Cell) -> rusqlite::types::Value {
    match c {
        Cell::Null => rusqlite::types::Value::Null,
        Cell::Int(i) => rusqlite::types::Value::Integer(*i),
        Cell::Text(t) => rusqlite::types::Value::Text(t.clone()),
    }
}

/// Maps a failed import insert: a taken key is a duplicate, a missing `parent` a missing record.
fn imported(
    e: rusqlite::Error,
    what: &'static str,
    id: &str,
    parent: Option<(&'static str, &str)>,
) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Duplicate {
            what,
            id: id.to_owned(),
        }
    } else if matches!(&e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
        && let Some((what, id)) = parent
    {
        StoreError::NotFound {
            what,
            id: id.to_owned(),
        }
    } else {
        backend(e)
    }
}
