//! Storage of comity behind one trait, [`Store`], with an SQLite implementation ([`sqlite::SqliteStore`]) and a
//! PostgreSQL one ([`postgres::PostgresStore`]); [`migrate::copy_all`] moves a node from one to the other.
//!
//! The store keeps cases, requests and the append-only events of each request. A request row carries a projection of
//! its state (kept in the same transaction as the event that changes it) so lists are fast; the events remain the
//! truth, and the node checks the projection against a replay when it reads a request.
//!
//! Every write is committed durably (SQLite: WAL with `synchronous=FULL`; PostgreSQL: `synchronous_commit=on`) before
//! the call returns: a caller may acknowledge as soon as it has the result. Documents are opaque text here; the store knows nothing of their format.

pub mod migrate;
pub mod postgres;
pub mod sqlite;

use time::OffsetDateTime;

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

/// The storage of one node.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
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
    /// Appends an event and updates the projection atomically, if nobody changed the request since
    /// `expected_version`. Returns the updated request.
    async fn transition(&self, change: Transition) -> Result<RequestRecord, StoreError>;
    /// Reads a node setting.
    async fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Writes a node setting.
    async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Every node setting, by key.
    async fn all_meta(&self) -> Result<Vec<(String, String)>, StoreError>;
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
