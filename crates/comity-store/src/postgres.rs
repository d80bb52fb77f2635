//! The server store: PostgreSQL through a small pool of connections, for nodes that outgrow one file.
//!
//! Semantics match [`crate::sqlite::SqliteStore`]: every write is one transaction committed before the call returns
//! (the server's default `synchronous_commit = on` makes the commit durable), a [`Transition`] locks its request row
//! (`SELECT ... FOR UPDATE`) and checks the version the caller read, and the same errors come back for the same
//! failures. Several processes may share one database: the row lock, not a single writer, keeps transitions ordered.
//! Cross-border records (`federation.rs`) lock thread heads likewise, and outbox messages are claimed so that each is
//! delivered by one process.
//!
//! Migrations live in `migrations/postgres/`, in step with `migrations/sqlite/`, and are applied under an advisory
//! lock so that processes starting together do not race. Connections are plain TCP or Unix sockets (no TLS yet).

mod accounts;
mod evidence;
mod federation;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use time::OffsetDateTime;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

/// The parsed form of a PostgreSQL address, for checking one before connecting.
pub use tokio_postgres::Config;

use crate::{
    Accepted, CaseRecord, Cell, ColumnKind, CopiedTable, EventRecord, Import, InboxRecord,
    MessageEffect, OutboxRecord, RequestFilter, RequestLink, RequestOrder, RequestRecord,
    SecurityEvent, Store, StoreError, Transition,
};

/// Connections kept open by default.
pub const DEFAULT_POOL_SIZE: usize = 16;
/// How long a caller waits for a free connection before failing.
const POOL_WAIT: Duration = Duration::from_secs(30);
/// How long opening one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The advisory lock key under which migrations run (any fixed number; "comity" in ASCII).
const MIGRATION_LOCK: i64 = 0x636f_6d69_7479;

/// Migrations, in order, matching the SQLite ones by number and name.
const MIGRATIONS: &[(i32, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_list_indexes.sql"),
    ),
    (
        3,
        include_str!("../migrations/postgres/0003_federation.sql"),
    ),
    (4, include_str!("../migrations/postgres/0004_users.sql")),
    (5, include_str!("../migrations/postgres/0005_leases.sql")),
    (6, include_str!("../migrations/postgres/0006_evidence.sql")),
    (7, include_str!("../migrations/postgres/0007_claims.sql")),
    (
        8,
        include_str!("../migrations/postgres/0008_log_pending.sql"),
    ),
];

/// The PostgreSQL store.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    /// Where it points, without credentials, for messages.
    target: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PostgresStore({})", self.target)
    }
}

/// Maps a database error to a message without the row it concerns (the detail may quote a document).
fn backend(e: impl Into<PgError>) -> StoreError {
    StoreError::Backend(e.into().0)
}

/// A database error already reduced to a message that is safe to show and log.
struct PgError(String);

impl From<tokio_postgres::Error> for PgError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => PgError(format!("{} ({})", db.message(), db.code().code())),
            None => PgError(e.to_string()),
        }
    }
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => PgError(format!("no database connection: {other}")),
        }
    }
}

fn is(e: &tokio_postgres::Error, state: &SqlState) -> bool {
    e.code() == Some(state)
}

fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_ms(ms: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map_err(|e| StoreError::Corrupt(format!("time {ms} out of range: {e}")))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Whether `name` is a plain lower-case SQL identifier (so it can be spliced into `search_path` as is).
fn plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && name.len() <= 63
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user@host:port/dbname`, libpq key-value strings work too)
    /// and applies migrations. Tables live in the connection's default schema.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(url, None, DEFAULT_POOL_SIZE).await
    }

    /// Like [`PostgresStore::connect`], but keeps the tables in `schema`, created if missing. `schema` must be a
    /// plain lower-case identifier.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        Self::open(url, Some(schema), DEFAULT_POOL_SIZE).await
    }

    /// Connects with at most `pool_size` connections, in `schema` if given, and applies migrations.
    pub async fn open(
        url: &str,
        schema: Option<&str>,
        pool_size: usize,
    ) -> Result<Self, StoreError> {
        let mut config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::Backend(format!(
                "the PostgreSQL address is not valid ({e}); expected `postgres://user@host:port/dbname`"
            ))
        })?;
        config.connect_timeout(CONNECT_TIMEOUT);
        if config.get_application_name().is_none() {
            config.application_name("comity");
        }
        if let Some(schema) = schema {
            if !plain_identifier(schema) {
                return Err(StoreError::Backend(format!(
                    "schema `{schema}` is not a plain lower-case identifier; use letters, digits and `_`"
                )));
            }
            config.options(format!("-c search_path={schema}"));
        }
        let target = describe(&config, schema);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Backend(format!("cannot build the connection pool: {e}")))?;
        let store = Self { pool, target };
        store.migrate(schema).await?;
        Ok(store)
    }

    /// Where this store points, without credentials.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Closes every connection; later calls fail.
    pub fn close(&self) {
        self.pool.close();
    }

    async fn migrate(&self, schema: Option<&str>) -> Result<(), StoreError> {
        let mut client = self.pool.get().await.map_err(|e| {
            StoreError::Backend(format!(
                "cannot connect to PostgreSQL at {}: {}",
                self.target,
                PgError::from(e).0
            ))
        })?;
        let tx = client.transaction().await.map_err(backend)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(backend)?;
        if let Some(schema) = schema {
            // Checked by `plain_identifier` in `open`.
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(backend)?;
        }
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_ms BIGINT NOT NULL)",
        )
        .await
        .map_err(backend)?;
        let current: i32 = tx
            .query_one(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                &[],
            )
            .await
            .map_err(backend)?
            .try_get(0)
            .map_err(backend)?;
        let newest = MIGRATIONS.last().map_or(0, |m| m.0);
        if current > newest {
            return Err(StoreError::Corrupt(format!(
                "the database is at schema {current}, newer than this comity knows ({newest}); upgrade comity"
            )));
        }
        for (version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
            tx.batch_execute(sql).await.map_err(backend)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_ms) VALUES ($1, $2)",
                &[version, &to_ms(OffsetDateTime::now_utc())],
            )
            .await
            .map_err(backend)?;
            tracing::info!(version, "applied store migration");
        }
        tx.commit().await.map_err(backend)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        self.pool.get().await.map_err(backend)
    }
}

/// `host:port/dbname (schema)`, never the password.
fn describe(config: &tokio_postgres::Config, schema: Option<&str>) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().unwrap_or("(default)");
    match schema {
        Some(s) => format!("{host}:{port}/{db} (schema {s})"),
        None => format!("{host}:{port}/{db}"),
    }
}

const REQUEST_COLUMNS: &str = "id, case_id, mechanism, state, document, urgency, created_by, created_ms, updated_ms, next_due_ms, version";
const CASE_COLUMNS: &str = "id, reference, title, created_by, created_ms";
const EVENT_COLUMNS: &str =
    "request_id, seq, action, from_state, to_state, actor, at_ms, reason, detail";

/// Inserts a request: one created here, or one that arrived in a message (inside that message's transaction).
async fn insert_request(
    client: &impl deadpool_postgres::GenericClient,
    r: &RequestRecord,
) -> Result<(), StoreError> {
    let stmt = client
        .prepare_cached(&format!(
            "INSERT INTO requests ({REQUEST_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .await
        .map_err(backend)?;
    client
        .execute(
            &stmt,
            &[
                &r.id,
                &r.case_id,
                &r.mechanism,
                &r.state,
                &r.document,
                &r.urgency,
                &r.created_by,
                &to_ms(r.created_at),
                &to_ms(r.updated_at),
                &r.next_due.map(to_ms),
                &to_i64(r.version),
            ],
        )
        .await
        .map(|_| ())
        .map_err(|e| {
            if is(&e, &SqlState::UNIQUE_VIOLATION) {
                StoreError::Duplicate {
                    what: "request",
                    id: r.id.clone(),
                }
            } else if is(&e, &SqlState::FOREIGN_KEY_VIOLATION) {
                StoreError::NotFound {
                    what: "case",
                    id: r.case_id.clone(),
                }
            } else {
                backend(e)
            }
        })
}

fn request_row(r: &Row) -> Result<RequestRecord, StoreError> {
    Ok(RequestRecord {
        id: r.try_get(0).map_err(backend)?,
        case_id: r.try_get(1).map_err(backend)?,
        mechanism: r.try_get(2).map_err(backend)?,
        state: r.try_get(3).map_err(backend)?,
        document: r.try_get(4).map_err(backend)?,
        urgency: r.try_get(5).map_err(backend)?,
        created_by: r.try_get(6).map_err(backend)?,
        created_at: from_ms(r.try_get(7).map_err(backend)?)?,
        updated_at: from_ms(r.try_get(8).map_err(backend)?)?,
        next_due: r
            .try_get::<_, Option<i64>>(9)
            .map_err(backend)?
            .map(from_ms)
            .transpose()?,
        version: to_u64(r.try_get(10).map_err(backend)?),
    })
}

fn case_row(r: &Row) -> Result<CaseRecord, StoreError> {
    Ok(CaseRecord {
        id: r.try_get(0).map_err(backend)?,
        reference: r.try_get(1).map_err(backend)?,
        title: r.try_get(2).map_err(backend)?,
        created_by: r.try_get(3).map_err(backend)?,
        created_at: from_ms(r.try_get(4).map_err(backend)?)?,
    })
}

fn event_row(r: &Row) -> Result<EventRecord, StoreError> {
    Ok(EventRecord {
        request_id: r.try_get(0).map_err(backend)?,
        seq: to_u64(r.try_get(1).map_err(backend)?),
        action: r.try_get(2).map_err(backend)?,
        from_state: r.try_get(3).map_err(backend)?,
        to_state: r.try_get(4).map_err(backend)?,
        actor: r.try_get(5).map_err(backend)?,
        at: from_ms(r.try_get(6).map_err(backend)?)?,
        reason: r.try_get(7).map_err(backend)?,
        detail: r.try_get(8).map_err(backend)?,
    })
}

fn rows<T>(
    rows: Vec<Row>,
    f: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(f).collect()
}

/// One page of `table` in id order after `after`. Two statements rather than `$1 IS NULL OR id > $1`, so that each
/// page is an index range.
async fn page_by_id(
    client: &deadpool_postgres::Object,
    columns: &str,
    table: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Row>, StoreError> {
    let limit = i64::from(limit);
    match after {
        Some(after) => {
            let sql = format!("SELECT {columns} FROM {table} WHERE id > $1 ORDER BY id LIMIT $2");
            let stmt = client.prepare_cached(&sql).await.map_err(backend)?;
            client.query(&stmt, &[&after, &limit]).await
        }
        None => {
            let sql = format!("SELECT {columns} FROM {table} ORDER BY id LIMIT $1");
            let stmt = client.prepare_cached(&sql).await.map_err(backend)?;
            client.query(&stmt, &[&limit]).await
        }
    }
    .map_err(backend)
}

/// The row limit of a list: 100 when unset, never more than 1000 (as in SQLite).
fn list_limit(limit: u32) -> i64 {
    if limit == 0 {
        100
    } else {
        i64::from(limit.min(1000))
    }
}

/// Appends an event and updates the projection, with its outbox message and link, inside the caller's transaction.
async fn apply_transition(
    tx: &deadpool_postgres::Transaction<'_>,
    change: &Transition,
) -> Result<RequestRecord, StoreError> {
    let e = &change.event;
    // The row lock orders concurrent transitions of one request, across processes too.
    let lock = tx
        .prepare_cached(&format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1 FOR UPDATE"
        ))
        .await
        .map_err(backend)?;
    let current = tx
        .query_opt(&lock, &[&e.request_id])
        .await
        .map_err(backend)?
        .as_ref()
        .map(request_row)
        .transpose()?
        .ok_or_else(|| StoreError::NotFound {
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
    let insert = tx
        .prepare_cached(&format!(
            "INSERT INTO events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .await
        .map_err(backend)?;
    tx.execute(
        &insert,
        &[
            &e.request_id,
            &to_i64(e.seq),
            &e.action,
            &e.from_state,
            &e.to_state,
            &e.actor,
            &to_ms(e.at),
            &e.reason,
            &e.detail,
        ],
    )
    .await
    .map_err(|err| {
        // INVARIANT: the row lock and the version check make a taken position impossible here.
        if is(&err, &SqlState::UNIQUE_VIOLATION) {
            StoreError::Corrupt(format!(
                "request `{}` has an event {} beyond its version",
                e.request_id, e.seq
            ))
        } else {
            backend(err)
        }
    })?;
    let update = tx
        .prepare_cached(&format!(
            "UPDATE requests SET state = $2, version = $3, updated_ms = $4, next_due_ms = $5,
             document = COALESCE($6, document) WHERE id = $1 RETURNING {REQUEST_COLUMNS}"
        ))
        .await
        .map_err(backend)?;
    let updated = tx
        .query_one(
            &update,
            &[
                &e.request_id,
                &e.to_state,
                &to_i64(e.seq),
                &to_ms(e.at),
                &change.next_due.map(to_ms),
                &change.document,
            ],
        )
        .await
        .map_err(backend)?;
    let updated = request_row(&updated)?;
    // Noted for the log in the same transaction: whichever process sequences the log finds it there.
    let note = tx
        .prepare_cached("INSERT INTO log_pending (request_id, seq) VALUES ($1, $2)")
        .await
        .map_err(backend)?;
    tx.execute(&note, &[&e.request_id, &to_i64(e.seq)])
        .await
        .map_err(backend)?;
    if let Some(link) = &change.link {
        federation::insert_link(tx, link).await?;
    }
    if let Some(message) = &change.outbox {
        federation::enqueue(tx, message).await?;
    }
    Ok(updated)
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    #[tracing::instrument(skip_all)]
    async fn create_case(&self, case: CaseRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "INSERT INTO cases ({CASE_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
            ))
            .await
            .map_err(backend)?;
        client
            .execute(
                &stmt,
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

    #[tracing::instrument(skip_all)]
    async fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1"))
            .await
            .map_err(backend)?;
        client
            .query_opt(&stmt, &[&id])
            .await
            .map_err(backend)?
            .as_ref()
            .map(case_row)
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn cases(&self, limit: u32) -> Result<Vec<CaseRecord>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {CASE_COLUMNS} FROM cases ORDER BY created_ms DESC, id DESC LIMIT $1"
            ))
            .await
            .map_err(backend)?;
        let found = client
            .query(&stmt, &[&i64::from(limit.min(1000))])
            .await
            .map_err(backend)?;
        rows(found, case_row)
    }

    #[tracing::instrument(skip_all)]
    async fn create_request(&self, r: RequestRecord) -> Result<(), StoreError> {
        let client = self.client().await?;
        insert_request(&client, &r).await
    }

    #[tracing::instrument(skip_all)]
    async fn request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1"
            ))
            .await
            .map_err(backend)?;
        client
            .query_opt(&stmt, &[&id])
            .await
            .map_err(backend)?
            .as_ref()
            .map(request_row)
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRecord>, StoreError> {
        let mut sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE TRUE");
        let mut args: Vec<&(dyn ToSql + Sync)> = Vec::new();
        for (column, value) in [
            ("case_id", &filter.case_id),
            ("state", &filter.state),
            ("mechanism", &filter.mechanism),
            ("urgency", &filter.urgency),
        ] {
            if let Some(v) = value {
                args.push(v);
                sql.push_str(&format!(" AND {column} = ${}", args.len()));
            }
        }
        sql.push_str(match filter.order {
            RequestOrder::Newest => " ORDER BY created_ms DESC, id DESC",
            RequestOrder::Due => " AND next_due_ms IS NOT NULL ORDER BY next_due_ms ASC, id ASC",
        });
        let limit = list_limit(filter.limit);
        args.push(&limit);
        sql.push_str(&format!(" LIMIT ${}", args.len()));
        let client = self.client().await?;
        // At most 2^4 filters times 2 orders: the statement cache stays small.
        let stmt = client.prepare_cached(&sql).await.map_err(backend)?;
        let found = client.query(&stmt, &args).await.map_err(backend)?;
        rows(found, request_row)
    }

    #[tracing::instrument(skip_all)]
    async fn events(&self, request_id: &str) -> Result<Vec<EventRecord>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE request_id = $1 ORDER BY seq"
            ))
            .await
            .map_err(backend)?;
        let found = client.query(&stmt, &[&request_id]).await.map_err(backend)?;
        rows(found, event_row)
    }

    #[tracing::instrument(skip_all)]
    async fn transition(&self, change: Transition) -> Result<RequestRecord, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let updated = apply_transition(&tx, &change).await?;
        tx.commit().await.map_err(backend)?;
        Ok(updated)
    }

    #[tracing::instrument(skip_all)]
    async fn link(&self, request_id: &str) -> Result<Option<RequestLink>, StoreError> {
        self.fed_link(request_id).await
    }

    #[tracing::instrument(skip_all)]
    async fn link_by_thread(
        &self,
        thread: &str,
        counterpart: &str,
    ) -> Result<Option<RequestLink>, StoreError> {
        self.fed_link_by_thread(thread, counterpart).await
    }

    #[tracing::instrument(skip_all)]
    async fn thread_head(&self, thread: &str, counterpart: &str) -> Result<String, StoreError> {
        self.fed_thread_head(thread, counterpart).await
    }

    #[tracing::instrument(skip_all)]
    async fn accept_message(
        &self,
        inbox: InboxRecord,
        effect: MessageEffect,
    ) -> Result<Accepted, StoreError> {
        self.fed_accept(inbox, effect).await
    }

    #[tracing::instrument(skip_all)]
    async fn inbox(&self, message_id: &str) -> Result<Option<InboxRecord>, StoreError> {
        self.fed_inbox(message_id).await
    }

    #[tracing::instrument(skip_all)]
    async fn due_outbox(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.fed_due_outbox(now, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn claim_outbox(
        &self,
        now: OffsetDateTime,
        holder: &str,
        ttl_ms: u64,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.fed_claim_outbox(now, holder, ttl_ms, limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn next_outbox_attempt(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        self.fed_next_outbox_attempt().await
    }

    #[tracing::instrument(skip_all)]
    async fn outbox_delivered(
        &self,
        seq: u64,
        receipt: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.fed_outbox_delivered(seq, receipt, at).await
    }

    #[tracing::instrument(skip_all)]
    async fn outbox_retry(
        &self,
        seq: u64,
        error: &str,
        next: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.fed_outbox_retry(seq, error, next).await
    }

    #[tracing::instrument(skip_all)]
    async fn outbox_failed(&self, seq: u64, reason: &str, receipt: &str) -> Result<(), StoreError> {
        self.fed_outbox_failed(seq, reason, receipt).await
    }

    #[tracing::instrument(skip_all)]
    async fn outbox_of_thread(&self, thread: &str) -> Result<Vec<OutboxRecord>, StoreError> {
        self.fed_outbox_of_thread(thread).await
    }

    #[tracing::instrument(skip_all)]
    async fn security_event(&self, event: SecurityEvent) -> Result<(), StoreError> {
        self.fed_security_event(event).await
    }

    #[tracing::instrument(skip_all)]
    async fn security_events(&self, limit: u32) -> Result<Vec<SecurityEvent>, StoreError> {
        self.fed_security_events(limit).await
    }

    #[tracing::instrument(skip_all)]
    async fn log_pending(&self, limit: u32) -> Result<Vec<EventRecord>, StoreError> {
        let client = self.client().await?;
        let columns = EVENT_COLUMNS
            .split(", ")
            .map(|c| format!("e.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let stmt = client
            .prepare_cached(&format!(
                "SELECT {columns} FROM log_pending p JOIN events e USING (request_id, seq)
                 ORDER BY p.request_id, p.seq LIMIT $1"
            ))
            .await
            .map_err(backend)?;
        let found = client
            .query(&stmt, &[&i64::from(limit)])
            .await
            .map_err(backend)?;
        rows(found, event_row)
    }

    #[tracing::instrument(skip_all)]
    async fn log_appended(&self, events: &[(String, u64)]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = events.iter().map(|(id, _)| id.as_str()).collect();
        let seqs: Vec<i64> = events.iter().map(|(_, seq)| to_i64(*seq)).collect();
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM log_pending p USING UNNEST($1::text[], $2::bigint[]) AS done(request_id, seq)
                 WHERE p.request_id = done.request_id AND p.seq = done.seq",
                &[&ids, &seqs],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    #[tracing::instrument(skip_all)]
    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached("SELECT value FROM node_meta WHERE key = $1")
            .await
            .map_err(backend)?;
        client
            .query_opt(&stmt, &[&key])
            .await
            .map_err(backend)?
            .map(|r| r.try_get(0).map_err(backend))
            .transpose()
    }

    #[tracing::instrument(skip_all)]
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        let stmt = client
            .prepare_cached(
                "INSERT INTO node_meta (key, value) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .await
            .map_err(backend)?;
        client
            .execute(&stmt, &[&key, &value])
            .await
            .map(|_| ())
            .map_err(backend)
    }

    #[tracing::instrument(skip_all)]
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: u64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let now_ms = to_ms(now);
        let expires_ms = now_ms.saturating_add(to_i64(ttl_ms));
        let client = self.client().await?;
        // One statement: the insert, or the row lock of the conflicting row, orders competing holders.
        let stmt = client
            .prepare_cached(
                "INSERT INTO leases (name, holder, expires_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_ms = excluded.expires_ms
                 WHERE leases.holder = excluded.holder OR leases.expires_ms <= $4
                 RETURNING holder",
            )
            .await
            .map_err(backend)?;
        let taken = client
            .query_opt(&stmt, &[&name, &holder, &expires_ms, &now_ms])
            .await
            .map_err(backend)?;
        Ok(taken.is_some())
    }

    #[tracing::instrument(skip_all)]
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute(
                "DELETE FROM leases WHERE name = $1 AND holder = $2",
                &[&name, &holder],
            )
            .await
            .map(|_| ())
            .map_err(backend)
    }

    #[tracing::instrument(skip_all)]
    async fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError> {
        let client = self.client().await?;
        let found = client
            .query(
                "SELECT key, value FROM node_meta WHERE starts_with(key, $1) ORDER BY key",
                &[&prefix],
            )
            .await
            .map_err(backend)?;
        rows(found, |r| {
            Ok((
                r.try_get(0).map_err(backend)?,
                r.try_get(1).map_err(backend)?,
            ))
        })
    }

    async fn delete_meta(&self, key: &str) -> Result<(), StoreError> {
        let client = self.client().await?;
        client
            .execute("DELETE FROM node_meta WHERE key = $1", &[&key])
            .await
            .map(|_| ())
            .map_err(backend)
    }

    #[tracing::instrument(skip_all)]
    async fn cases_by_id(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRecord>, StoreError> {
        let client = self.client().await?;
        rows(
            page_by_id(&client, CASE_COLUMNS, "cases", after, limit).await?,
            case_row,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn requests_by_id(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RequestRecord>, StoreError> {
        let client = self.client().await?;
        rows(
            page_by_id(&client, REQUEST_COLUMNS, "requests", after, limit).await?,
            request_row,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn events_by_key(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let client = self.client().await?;
        let limit = i64::from(limit);
        let found = match after {
            Some((id, seq)) => {
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {EVENT_COLUMNS} FROM events WHERE (request_id, seq) > ($1, $2)
                         ORDER BY request_id, seq LIMIT $3"
                    ))
                    .await
                    .map_err(backend)?;
                client.query(&stmt, &[&id, &to_i64(seq), &limit]).await
            }
            None => {
                let stmt = client
                    .prepare_cached(&format!(
                        "SELECT {EVENT_COLUMNS} FROM events ORDER BY request_id, seq LIMIT $1"
                    ))
                    .await
                    .map_err(backend)?;
                client.query(&stmt, &[&limit]).await
            }
        }
        .map_err(backend)?;
        rows(found, event_row)
    }

    #[tracing::instrument(skip_all)]
    async fn import(&self, records: Import) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        // One statement per table, the rows passed as arrays: a page of thousands of rows is one round trip.
        if !records.meta.is_empty() {
            let (keys, values): (Vec<&str>, Vec<&str>) = records
                .meta
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .unzip();
            tx.execute(
                "INSERT INTO node_meta (key, value) SELECT * FROM UNNEST($1::text[], $2::text[])",
                &[&keys, &values],
            )
            .await
            .map_err(|e| import_error(e, "setting", None))?;
        }
        if !records.cases.is_empty() {
            let c = &records.cases;
            let ids: Vec<&str> = c.iter().map(|c| c.id.as_str()).collect();
            let references: Vec<&str> = c.iter().map(|c| c.reference.as_str()).collect();
            let titles: Vec<&str> = c.iter().map(|c| c.title.as_str()).collect();
            let creators: Vec<&str> = c.iter().map(|c| c.created_by.as_str()).collect();
            let created: Vec<i64> = c.iter().map(|c| to_ms(c.created_at)).collect();
            tx.execute(
                &format!(
                    "INSERT INTO cases ({CASE_COLUMNS})
                     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[])"
                ),
                &[&ids, &references, &titles, &creators, &created],
            )
            .await
            .map_err(|e| import_error(e, "case", None))?;
        }
        if !records.requests.is_empty() {
            let r = &records.requests;
            let ids: Vec<&str> = r.iter().map(|r| r.id.as_str()).collect();
            let cases: Vec<&str> = r.iter().map(|r| r.case_id.as_str()).collect();
            let mechanisms: Vec<&str> = r.iter().map(|r| r.mechanism.as_str()).collect();
            let states: Vec<&str> = r.iter().map(|r| r.state.as_str()).collect();
            let documents: Vec<&str> = r.iter().map(|r| r.document.as_str()).collect();
            let urgencies: Vec<&str> = r.iter().map(|r| r.urgency.as_str()).collect();
            let creators: Vec<&str> = r.iter().map(|r| r.created_by.as_str()).collect();
            let created: Vec<i64> = r.iter().map(|r| to_ms(r.created_at)).collect();
            let updated: Vec<i64> = r.iter().map(|r| to_ms(r.updated_at)).collect();
            let due: Vec<Option<i64>> = r.iter().map(|r| r.next_due.map(to_ms)).collect();
            let versions: Vec<i64> = r.iter().map(|r| to_i64(r.version)).collect();
            tx.execute(
                &format!(
                    "INSERT INTO requests ({REQUEST_COLUMNS})
                     SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                          $7::text[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[])"
                ),
                &[
                    &ids,
                    &cases,
                    &mechanisms,
                    &states,
                    &documents,
                    &urgencies,
                    &creators,
                    &created,
                    &updated,
                    &due,
                    &versions,
                ],
            )
            .await
            .map_err(|e| import_error(e, "request", Some("case")))?;
        }
        if !records.events.is_empty() {
            let e = &records.events;
            let ids: Vec<&str> = e.iter().map(|e| e.request_id.as_str()).collect();
            let seqs: Vec<i64> = e.iter().map(|e| to_i64(e.seq)).collect();
            let actions: Vec<&str> = e.iter().map(|e| e.action.as_str()).collect();
            let froms: Vec<&str> = e.iter().map(|e| e.from_state.as_str()).collect();
            let tos: Vec<&str> = e.iter().map(|e| e.to_state.as_str()).collect();
            let actors: Vec<&str> = e.iter().map(|e| e.actor.as_str()).collect();
            let ats: Vec<i64> = e.iter().map(|e| to_ms(e.at)).collect();
            let reasons: Vec<Option<&str>> = e.iter().map(|e| e.reason.as_deref()).collect();
            let details: Vec<&str> = e.iter().map(|e| e.detail.as_str()).collect();
            tx.execute(
                &format!(
                    "INSERT INTO events ({EVENT_COLUMNS})
                     SELECT * FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                                          $7::bigint[], $8::text[], $9::text[])"
                ),
                &[
                    &ids, &seqs, &actions, &froms, &tos, &actors, &ats, &reasons, &details,
                ],
            )
            .await
            .map_err(|e| import_error(e, "event", Some("request")))?;
        }
        tx.commit().await.map_err(backend)
    }

    #[tracing::instrument(skip_all)]
    async fn export_rows(
        &self,
        table: &'static CopiedTable,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        let client = self.client().await?;
        let columns: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
        let found = client
            .query(
                &format!(
                    "SELECT {} FROM {} ORDER BY {} LIMIT $1 OFFSET $2",
                    columns.join(", "),
                    table.name,
                    table.order
                ),
                &[&i64::from(limit), &to_i64(offset)],
            )
            .await
            .map_err(backend)?;
        rows(found, |r| {
            table
                .columns
                .iter()
                .enumerate()
                .map(|(i, (_, kind))| {
                    Ok(match kind {
                        ColumnKind::Int => r
                            .try_get::<_, Option<i64>>(i)
                            .map_err(backend)?
                            .map_or(Cell::Null, Cell::Int),
                        ColumnKind::Text => r
                            .try_get::<_, Option<String>>(i)
                            .map_err(backend)?
                            .map_or(Cell::Null, Cell::Text),
                    })
                })
                .collect()
        })
    }

    #[tracing::instrument(skip_all)]
    async fn import_rows(
        &self,
        table: &'static CopiedTable,
        rows: Vec<Vec<Cell>>,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(backend)?;
        let columns: Vec<&str> = table.columns.iter().map(|c| c.0).collect();
        let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
        let stmt = tx
            .prepare(&format!(
                "INSERT INTO {} ({}) VALUES ({})",
                table.name,
                columns.join(", "),
                marks.join(", ")
            ))
            .await
            .map_err(backend)?;
        for row in &rows {
            // Each value as its column's type, NULL as a NULL of that type.
            let values: Vec<Box<dyn ToSql + Sync + Send>> = table
                .columns
                .iter()
                .zip(row)
                .map(|((_, kind), cell)| -> Box<dyn ToSql + Sync + Send> {
                    match (kind, cell) {
                        (_, Cell::Int(i)) => Box::new(Some(*i)),
                        (_, Cell::Text(t)) => Box::new(Some(t.clone())),
                        (ColumnKind::Int, Cell::Null) => Box::new(None::<i64>),
                        (ColumnKind::Text, Cell::Null) => Box::new(None::<String>),
                    }
                })
                .collect();
            let params: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            tx.execute(&stmt, &params)
                .await
                .map_err(|e| import_error(e, table.name, Some("request")))?;
        }
        if let Some(serial) = table.serial {
            // Explicit keys leave the sequence behind: move it past them, so new rows do not collide.
            tx.execute(
                &format!(
                    "SELECT setval(pg_get_serial_sequence('{0}', '{serial}'), GREATEST((SELECT MAX({serial}) FROM {0}), 1))",
                    table.name
                ),
                &[],
            )
            .await
            .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }
}

/// Maps a failed bulk insert. The rows go in as one statement, so the offending key comes from the server's detail
/// (`Key (id)=(r1) already exists.`); the detail of these two errors names only key columns, never a document.
fn import_error(
    e: tokio_postgres::Error,
    what: &'static str,
    parent: Option<&'static str>,
) -> StoreError {
    let key = || {
        e.as_db_error()
            .and_then(|db| db.detail())
            .and_then(key_value)
            .unwrap_or_else(|| "(unnamed)".to_owned())
    };
    if is(&e, &SqlState::UNIQUE_VIOLATION) {
        StoreError::Duplicate { what, id: key() }
    } else if let Some(parent) = parent.filter(|_| is(&e, &SqlState::FOREIGN_KEY_VIOLATION)) {
        StoreError::NotFound {
            what: parent,
            id: key(),
        }
    } else {
        backend(e)
    }
}

/// The value in a constraint detail `Key (column, ...)=(value, ...) ...`.
fn key_value(detail: &str) -> Option<String> {
    let rest = detail.strip_prefix("Key (")?;
    let rest = &rest[rest.find(")=(")? + 3..];
    let end = rest.rfind(')')?;
    Some(rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_values_come_out_of_constraint_details() {
        assert_eq!(
            key_value("Key (id)=(r1) already exists.").as_deref(),
            Some("r1")
        );
        assert_eq!(
            key_value("Key (request_id, seq)=(r1, 2) already exists.").as_deref(),
            Some("r1, 2")
        );
        assert_eq!(
            key_value("Key (case_id)=(c9) is not present in table \"cases\".").as_deref(),
            Some("c9")
        );
        assert_eq!(key_value("something else"), None);
    }

    #[test]
    fn only_plain_identifiers_are_schemas() {
        assert!(plain_identifier("comity_test_1"));
        assert!(!plain_identifier("Comity"));
        assert!(!plain_identifier("a;drop table x"));
        assert!(!plain_identifier("1abc"));
        assert!(!plain_identifier(""));
    }
}
