//! Storage of comity behind one trait, [`Store`], with an SQLite implementation ([`sqlite::SqliteStore`]) and a
//! PostgreSQL one ([`postgres::PostgresStore`]); [`migrate::copy_all`] moves a node from one to the other.
//!
//! The store keeps cases, requests and the append-only events of each request. A request row carries a projection of
//! its state (kept in the same transaction as the event that changes it) so lists are fast; the events remain the
//! truth, and the node checks the projection against a replay when it reads a request.
//!
//! Every write is committed durably (SQLite: WAL with `synchronous=FULL`; PostgreSQL: `synchronous_commit=on`) before
//! the call returns: a caller may acknowledge as soon as it has the result. Documents are opaque text here; the store knows nothing of their format.

pub mod evidence;
pub mod migrate;
pub mod postgres;
pub mod sqlite;

use time::OffsetDateTime;

pub use evidence::{EvidenceRecord, EvidenceStore, TransferState, UploadRecord};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A record with this id or reference exists already.
    #[error("{what} `{id}` exists already")]
    Duplicate { what: &'static str, id: String },
    /// The record changed since it was read; read it again and retry.
    #[error(
        "request `{id}` changed meanwhile (expected version {expected}, found {found}); read it again and retry"
    )]
    Conflict {
        id: String,
        expected: u64,
        found: u64,
    },
    /// A referenced record does not exist.
    #[error("{what} `{id}` does not exist")]
    NotFound { what: &'static str, id: String },
    /// The database holds something it should not.
    #[error("the store is inconsistent: {0}")]
    Corrupt(String),
    /// The database failed.
    #[error("database error: {0}")]
    Backend(String),
}

/// A case: the investigation a set of requests belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRecord {
    /// Id.
    pub id: String,
    /// The authority's own case reference (unique).
    pub reference: String,
    /// Title.
    pub title: String,
    /// Who opened it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
}

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// Id.
    pub id: String,
    /// Case it belongs to.
    pub case_id: String,
    /// Mechanism id.
    pub mechanism: String,
    /// Projected state (the events are the truth).
    pub state: String,
    /// The request document, opaque text.
    pub document: String,
    /// Urgency name, for the urgent queue.
    pub urgency: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: OffsetDateTime,
    /// Last change.
    pub updated_at: OffsetDateTime,
    /// The soonest running clock, if any.
    pub next_due: Option<OffsetDateTime>,
    /// Number of events recorded.
    pub version: u64,
}

/// One recorded lifecycle step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// The request.
    pub request_id: String,
    /// Position, from 1.
    pub seq: u64,
    /// Action name.
    pub action: String,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Who acted.
    pub actor: String,
    /// When.
    pub at: OffsetDateTime,
    /// Why, if said.
    pub reason: Option<String>,
    /// Structured detail (for example refusal grounds), opaque text.
    pub detail: String,
}

/// A change of a request: one event plus the new projection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The event to append; its `seq` must be `expected_version + 1`.
    pub event: EventRecord,
    /// The version the caller read.
    pub expected_version: u64,
    /// The new soonest clock.
    pub next_due: Option<OffsetDateTime>,
    /// A replacement document, if the step changes it.
    pub document: Option<String>,
    /// A message to deliver, written in the same transaction (the transactional outbox).
    pub outbox: Option<OutboxRecord>,
    /// A link of the request to a cross-border thread, created with this step.
    pub link: Option<RequestLink>,
}

/// How a local request is tied to a cross-border thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLink {
    /// The local request.
    pub request_id: String,
    /// `outgoing` (this node asked) or `incoming` (this node was asked).
    pub direction: String,
    /// The other authority.
    pub counterpart: String,
    /// The thread id, shared by both sides.
    pub thread: String,
    /// For a request forwarded onwards: the incoming request it came from.
    pub upstream: Option<String>,
}

/// A message waiting for delivery, or delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    /// Position; delivery within a thread follows it.
    pub seq: u64,
    /// Message id.
    pub message_id: String,
    /// Recipient authority.
    pub recipient: String,
    /// Thread id.
    pub thread: String,
    /// The signed envelope (JSON).
    pub envelope: String,
    /// The hash of the thread's previous message this one links to (`""` for the first); checked on write.
    pub prev_hash: String,
    /// The SHA-256 of this envelope, the thread's new head.
    pub envelope_hash: String,
    /// When it was queued.
    pub created_at: OffsetDateTime,
    /// Delivery attempts so far.
    pub attempts: u32,
    /// Not before.
    pub next_attempt_at: OffsetDateTime,
    /// The signed receipt, once delivered.
    pub receipt: Option<String>,
    /// Why delivery was given up, if it was.
    pub failed: Option<String>,
}

/// A message accepted from another node, with the receipt given for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxRecord {
    /// Message id.
    pub message_id: String,
    /// Sender authority.
    pub sender: String,
    /// Thread id.
    pub thread: String,
    /// SHA-256 of the envelope as received.
    pub envelope_sha256: String,
    /// The thread's previous head the message linked to (`""` for the first); checked on write.
    pub prev_hash: String,
    /// The signed receipt (JSON).
    pub receipt: String,
    /// When.
    pub received_at: OffsetDateTime,
}

/// What accepting a message does to the node's records, atomically with the inbox entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "built once per message received; boxing buys nothing here"
)]
pub enum MessageEffect {
    /// Nothing beyond recording it.
    None,
    /// A new incoming request (with its case, if new) and its first events.
    NewRequest {
        case: Option<CaseRecord>,
        request: RequestRecord,
        link: RequestLink,
        events: Vec<EventRecord>,
        /// The soonest clock once the events are applied.
        next_due: Option<OffsetDateTime>,
    },
    /// A step on an existing request.
    Step(Box<Transition>),
}

/// The outcome of accepting a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Stored now.
    New,
    /// Seen before: the stored record, whose receipt is to be returned again.
    Duplicate(InboxRecord),
}

/// Something refused at the door.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    /// When.
    pub at: OffsetDateTime,
    /// Reason code.
    pub code: String,
    /// Claimed sender.
    pub sender: Option<String>,
    /// Claimed message id.
    pub message_id: Option<String>,
    /// What happened.
    pub detail: String,
}

fn unsupported() -> StoreError {
    StoreError::Backend(
        "cross-border messages are not supported on this store; run federating nodes on SQLite or PostgreSQL"
            .into(),
    )
}

/// How to order a list of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestOrder {
    /// Newest first.
    #[default]
    Newest,
    /// Soonest running clock first; requests without one are left out.
    Due,
}

/// Which requests to list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestFilter {
    /// Only this case.
    pub case_id: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only this mechanism.
    pub mechanism: Option<String>,
    /// Only this urgency.
    pub urgency: Option<String>,
    /// Order.
    pub order: RequestOrder,
    /// At most this many (capped at 1000).
    pub limit: u32,
}

/// Records written as they are, for moving a node from one store to another ([`migrate::copy_all`]).
///
/// Requests keep their state, version and document; events keep their positions. Nothing is replayed or checked
/// beyond the database's own constraints (unique keys, references).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Import {
    /// Node settings.
    pub meta: Vec<(String, String)>,
    /// Cases.
    pub cases: Vec<CaseRecord>,
    /// Requests; their cases must exist in the target or come in the same import.
    pub requests: Vec<RequestRecord>,
    /// Events; their requests must exist in the target or come in the same import.
    pub events: Vec<EventRecord>,
}

/// The type of a column copied by [`Store::export_rows`] and [`Store::import_rows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// A 64-bit integer (times in milliseconds, counters, flags, sequence numbers).
    Int,
    /// Text.
    Text,
}

/// One value of a copied row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// SQL NULL.
    Null,
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
}

/// A table of node data that [`migrate::copy_all`] copies row by row, as it is, beyond the typed records of
/// [`Import`]: the same name, columns and order in every backend.
#[derive(Debug)]
pub struct CopiedTable {
    /// Table name.
    pub name: &'static str,
    /// The columns copied, with their types (every column of the table that is node data).
    pub columns: &'static [(&'static str, ColumnKind)],
    /// The ordering that pages through the table (a unique key).
    pub order: &'static str,
    /// The integer key column drawn from a sequence, if any: the target's sequence continues after the copied rows.
    pub serial: Option<&'static str>,
}

/// Node data copied as rows, in this order, after the cases, requests and events (request links name requests).
/// Sessions, leases, outbox claims and log notes are not node data: a moved node starts with none.
pub const COPIED_TABLES: &[CopiedTable] = {
    use ColumnKind::{Int, Text};
    &[
        CopiedTable {
            name: "users",
            columns: &[
                ("id", Text),
                ("username", Text),
                ("display_name", Text),
                ("role", Text),
                ("authority", Text),
                ("language", Text),
                ("password_hash", Text),
                ("totp_secret", Text),
                ("disabled", Int),
                ("failed_logins", Int),
                ("locked_until_ms", Int),
                ("last_totp_step", Int),
                ("created_ms", Int),
            ],
            order: "id",
            serial: None,
        },
        CopiedTable {
            name: "request_links",
            columns: &[
                ("request_id", Text),
                ("direction", Text),
                ("counterpart", Text),
                ("thread", Text),
                ("upstream", Text),
            ],
            order: "request_id",
            serial: None,
        },
        CopiedTable {
            name: "threads",
            columns: &[
                ("thread", Text),
                ("counterpart", Text),
                ("last_hash", Text),
                ("messages", Int),
            ],
            order: "thread, counterpart",
            serial: None,
        },
        CopiedTable {
            name: "outbox",
            columns: &[
                ("seq", Int),
                ("message_id", Text),
                ("recipient", Text),
                ("thread", Text),
                ("envelope", Text),
                ("created_ms", Int),
                ("attempts", Int),
                ("next_attempt_ms", Int),
                ("last_error", Text),
                ("delivered_ms", Int),
                ("receipt", Text),
                ("failed", Text),
            ],
            order: "seq",
            serial: Some("seq"),
        },
        CopiedTable {
            name: "inbox",
            columns: &[
                ("message_id", Text),
                ("sender", Text),
                ("thread", Text),
                ("envelope_sha256", Text),
                ("receipt", Text),
                ("received_ms", Int),
            ],
            order: "message_id",
            serial: None,
        },
        CopiedTable {
            name: "security_events",
            columns: &[
                ("id", Int),
                ("at_ms", Int),
                ("code", Text),
                ("sender", Text),
                ("message_id", Text),
                ("detail", Text),
            ],
            order: "id",
            serial: Some("id"),
        },
        // Evidence records (digests, sizes, signed statements, transfer state and receipts); the packages stay in
        // the blob store. Uploads still being received are not copied: their senders resume them.
        CopiedTable {
            name: "evidence",
            columns: &[
                ("id", Text),
                ("request_id", Text),
                ("direction", Text),
                ("counterpart", Text),
                ("thread", Text),
                ("package_sha256", Text),
                ("size_bytes", Int),
                ("statement", Text),
                ("producer", Text),
                ("seal_status", Text),
                ("chunk_bytes", Int),
                ("chunk_digests", Text),
                ("created_ms", Int),
                ("transfer_state", Text),
                ("attempts", Int),
                ("next_attempt_ms", Int),
                ("last_error", Text),
                ("upload_id", Text),
                ("chunks_sent", Int),
                ("receipt", Text),
                ("receipt_ms", Int),
            ],
            order: "id",
            serial: None,
        },
    ]
};

/// A local user account of the web UI.
///
/// The password is kept only as an Argon2id PHC string, the TOTP secret only in base32; neither is ever logged.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Id.
    pub id: String,
    /// Login name (unique).
    pub username: String,
    /// Name shown in the UI.
    pub display_name: String,
    /// Role name (caseworker, supervisor, judge, admin, auditor).
    pub role: String,
    /// The authority the user works for.
    pub authority: String,
    /// Preferred language tag.
    pub language: String,
    /// Argon2id hash in PHC string format.
    pub password_hash: String,
    /// TOTP secret, base32.
    pub totp_secret: String,
    /// Refused at login.
    pub disabled: bool,
    /// Failed logins since the last success.
    pub failed_logins: u32,
    /// No login before this time.
    pub locked_until: Option<OffsetDateTime>,
    /// The last TOTP time step accepted, so that a code is never accepted twice.
    pub last_totp_step: u64,
    /// When the account was created.
    pub created_at: OffsetDateTime,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("authority", &self.authority)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A login session of the web UI.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// SHA-256 (hex) of the cookie value; the value itself is never stored.
    pub id_hash: String,
    /// The user.
    pub user_id: String,
    /// The CSRF token every form of this session must carry.
    pub csrf_token: String,
    /// When it started.
    pub created_at: OffsetDateTime,
    /// When it ends.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// User accounts and sessions of the web UI.
#[async_trait::async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// Stores a new user; refuses a username that exists.
    async fn create_user(&self, user: UserRecord) -> Result<(), StoreError>;
    /// A user by login name.
    async fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// A user by id.
    async fn user(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Every user, by login name.
    async fn users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Replaces a user's record (matched by id).
    async fn update_user(&self, user: UserRecord) -> Result<(), StoreError>;
    /// Stores a new session.
    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError>;
    /// A session by the hash of its cookie value.
    async fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Ends a session.
    async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;
    /// Ends every session of a user.
    async fn delete_sessions_of(&self, user_id: &str) -> Result<(), StoreError>;
}

/// The storage of one node.
#[async_trait::async_trait]
pub trait Store: AccountStore + EvidenceStore + Send + Sync + 'static {
    /// Stores a new case.
    async fn create_case(&self, case: CaseRecord) -> Result<(), StoreError>;
    /// A case by id.
    async fn case(&self, id: &str) -> Result<Option<CaseRecord>, StoreError>;
    /// All cases, newest first, at most `limit`.
    async fn cases(&self, limit: u32) -> Result<Vec<CaseRecord>, StoreError>;
    /// Stores a new request (version 0, no events yet); its case must exist.
    async fn create_request(&self, request: RequestRecord) -> Result<(), StoreError>;
    /// A request by id.
    async fn request(&self, id: &str) -> Result<Option<RequestRecord>, StoreError>;
    /// Requests matching a filter.
    async fn requests(&self, filter: &RequestFilter) -> Result<Vec<RequestRecord>, StoreError>;
    /// The events of a request, in order.
    async fn events(&self, request_id: &str) -> Result<Vec<EventRecord>, StoreError>;
    /// A request and its events read from one consistent snapshot.
    async fn request_with_events(
        &self,
        id: &str,
    ) -> Result<Option<(RequestRecord, Vec<EventRecord>)>, StoreError> {
        // Backends without snapshot reads retry until the projection and the events agree.
        for _ in 0..5 {
            let Some(record) = self.request(id).await? else {
                return Ok(None);
            };
            let events = self.events(id).await?;
            if events.len() as u64 == record.version {
                return Ok(Some((record, events)));
            }
        }
        Err(StoreError::Backend(format!(
            "request `{id}` kept changing while being read"
        )))
    }
    /// Appends an event and updates the projection atomically, if nobody changed the request since
    /// `expected_version`. Returns the updated request.
    async fn transition(&self, change: Transition) -> Result<RequestRecord, StoreError>;
    /// Reads a node setting.
    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes a node setting.
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// The cross-border link of a request.
    async fn link(&self, _request_id: &str) -> Result<Option<RequestLink>, StoreError> {
        Err(unsupported())
    }
    /// The local request of a thread with a counterpart.
    async fn link_by_thread(
        &self,
        _thread: &str,
        _counterpart: &str,
    ) -> Result<Option<RequestLink>, StoreError> {
        Err(unsupported())
    }
    /// The hash of the last message of a thread with a counterpart (`""` if none).
    async fn thread_head(&self, _thread: &str, _counterpart: &str) -> Result<String, StoreError> {
        Err(unsupported())
    }
    /// Records an accepted message and applies its effect, atomically; a message id seen before changes nothing.
    async fn accept_message(
        &self,
        _inbox: InboxRecord,
        _effect: MessageEffect,
    ) -> Result<Accepted, StoreError> {
        Err(unsupported())
    }
    /// The inbox record of a message id.
    async fn inbox(&self, _message_id: &str) -> Result<Option<InboxRecord>, StoreError> {
        Err(unsupported())
    }
    /// Messages due for delivery at `now`: the oldest undelivered message of each thread, if due.
    async fn due_outbox(
        &self,
        _now: OffsetDateTime,
        _limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        Err(unsupported())
    }
    /// Claims messages due at `now` for `holder` until `now + ttl_ms`: the oldest undelivered message of each thread,
    /// if due and not claimed by another holder whose claim still runs. Of several processes claiming at once, each
    /// message goes to one; a claim that runs out (its holder died) lets the message be claimed again. A store
    /// served by one process may simply return [`Store::due_outbox`].
    async fn claim_outbox(
        &self,
        now: OffsetDateTime,
        _holder: &str,
        _ttl_ms: u64,
        limit: u32,
    ) -> Result<Vec<OutboxRecord>, StoreError> {
        self.due_outbox(now, limit).await
    }
    /// The soonest next attempt among undelivered messages.
    async fn next_outbox_attempt(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Err(unsupported())
    }
    /// Marks a message delivered with its receipt; a message already delivered or given up stays as it was.
    async fn outbox_delivered(
        &self,
        _seq: u64,
        _receipt: &str,
        _at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }
    /// Records a failed attempt and when to try again.
    async fn outbox_retry(
        &self,
        _seq: u64,
        _error: &str,
        _next: OffsetDateTime,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }
    /// Gives up on a message (a signed refusal from the receiver).
    async fn outbox_failed(
        &self,
        _seq: u64,
        _reason: &str,
        _receipt: &str,
    ) -> Result<(), StoreError> {
        Err(unsupported())
    }
    /// The messages of a thread, sent or queued.
    async fn outbox_of_thread(&self, _thread: &str) -> Result<Vec<OutboxRecord>, StoreError> {
        Err(unsupported())
    }
    /// Records a security event.
    async fn security_event(&self, _event: SecurityEvent) -> Result<(), StoreError> {
        Err(unsupported())
    }
    /// The latest security events.
    async fn security_events(&self, _limit: u32) -> Result<Vec<SecurityEvent>, StoreError> {
        Err(unsupported())
    }

    /// Events noted for the node's log and not yet marked appended ([`Store::log_appended`]), in key order, at most
    /// `limit`. A store whose writing process appends to the log itself (SQLite) notes none.
    async fn log_pending(&self, _limit: u32) -> Result<Vec<EventRecord>, StoreError> {
        Ok(Vec::new())
    }
    /// Removes the notes of events now in the log.
    async fn log_appended(&self, _events: &[(String, u64)]) -> Result<(), StoreError> {
        Ok(())
    }

    /// Every node setting, by key.
    async fn all_meta(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.meta_with_prefix("").await
    }
    /// The node settings whose key starts with `prefix`, by key: the small work lists the clock and the delivery
    /// loop keep (`pending/...`).
    async fn meta_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Removes a node setting; nothing happens if there is none.
    async fn delete_meta(&self, key: &str) -> Result<(), StoreError>;
    /// Cases by id (bytewise), after `after` if given, at most `limit`: pages through every case.
    async fn cases_by_id(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CaseRecord>, StoreError>;
    /// Requests by id (bytewise), after `after` if given, at most `limit`: pages through every request.
    async fn requests_by_id(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RequestRecord>, StoreError>;
    /// Events by request id (bytewise) and position, after `after` if given, at most `limit`: pages through every
    /// event of the node.
    async fn events_by_key(
        &self,
        after: Option<(&str, u64)>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError>;
    /// Writes records as they are, all or nothing (see [`Import`]).
    async fn import(&self, records: Import) -> Result<(), StoreError>;
    /// Rows `offset..offset + limit` of a copied table in its order, values in the order of its columns.
    async fn export_rows(
        &self,
        table: &'static CopiedTable,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<Vec<Cell>>, StoreError>;
    /// Writes rows of a copied table as they are, all or nothing; a serial key's sequence continues after them.
    async fn import_rows(
        &self,
        table: &'static CopiedTable,
        rows: Vec<Vec<Cell>>,
    ) -> Result<(), StoreError>;

    /// Takes or renews the lease `name` for `holder` until `now + ttl_ms`, if nobody else holds it at `now`.
    /// Returns whether `holder` holds it now. Atomic across every process sharing the store: of several holders
    /// asking at once, at most one gets `true`.
    ///
    /// Holders compare `now` from their own clocks: the lease is safe as long as clocks differ by less than the time
    /// a holder keeps in hand (renew well before `ttl_ms` runs out).
    async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: u64,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Gives the lease `name` up if `holder` holds it, so another may take it at once.
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError>;
}
