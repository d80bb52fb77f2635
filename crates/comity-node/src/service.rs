//! The request service: everything a node does with cases and requests, shared by the HTTP API and the CLI.
//!
//! It turns input into core types, asks the core what is allowed, and writes through the store. It owns the two
//! outside facts the core must not reach for: the time ([`Clock`]) and the store.

use std::sync::{Arc, Mutex};

use comity_core::catalogue::{Catalogue, Mechanism};
use comity_core::clock;
use comity_core::lifecycle::{self, Action, State, Step, TransitionError};
use comity_core::request::{self, FieldProblem};
use comity_store::{
    CaseRecord, EventRecord, RequestFilter, RequestOrder, RequestRecord, Store, StoreError,
    Transition,
};
use time::OffsetDateTime;

use crate::config::NodeIdentity;
use crate::eventlog::leaf::{self, Leaf, Side};
use crate::eventlog::{LogReader, NodeLog};
use crate::safeguards::{
    self as node_safeguards, AssessmentView, FindingView, FindingsView, Safeguards,
};
use crate::statistics::{self, EevArt28Return, Period, StatisticsView};
use crate::wire::{
    self, CaseInput, CaseView, ClockView, EventView, MechanismList, MechanismView, NewRequestInput,
    NodeView, RequestInput, RequestView, TransitionInput,
};

/// Where the time comes from.
pub trait Clock: Send + Sync + 'static {
    /// Now.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that moves only when told: for tests and simulations.
#[derive(Debug)]
pub struct ManualClock(Mutex<OffsetDateTime>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: OffsetDateTime) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: time::Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by;
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|e| *e.into_inner())
    }
}

/// Who the events written by the clock sweeper name as actor.
pub const CLOCK_ACTOR: &str = "comity-clock";

/// Why the service refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input fields are wrong; nothing was written.
    #[error("the input has {} problem(s)", .0.len())]
    Invalid(Vec<FieldProblem>),
    /// No such record.
    #[error("{what} `{id}` does not exist")]
    NotFound { what: &'static str, id: String },
    /// The action is not allowed in the current state.
    #[error("{message}")]
    NotAllowed {
        message: String,
        state: String,
        allowed: Vec<String>,
    },
    /// Somebody else changed the record, or the record exists already.
    #[error("{0}")]
    Conflict(String),
    /// The safeguards engine found something that blocks this step; nothing was written.
    #[error("{} finding(s) block this step", .0.len())]
    Blocked(Vec<FindingView>),
    /// The store failed or holds something it should not.
    #[error("{0}")]
    Internal(String),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate { .. } | StoreError::Conflict { .. } => {
                Self::Conflict(e.to_string())
            }
            StoreError::NotFound { what, id } => Self::NotFound { what, id },
            StoreError::Corrupt(_) | StoreError::Backend(_) => Self::Internal(e.to_string()),
        }
    }
}

/// A step the lifecycle does not allow, as the API reports it: the state and the steps open from it, or the missing
/// reason.
pub(crate) fn step_refused(e: TransitionError) -> ServiceError {
    match e {
        TransitionError::NotAllowed {
            state, ref allowed, ..
        } => ServiceError::NotAllowed {
            message: e.to_string(),
            state: state.to_string(),
            allowed: allowed.iter().map(|a| a.to_string()).collect(),
        },
        TransitionError::ReasonRequired { .. } => invalid("/reason", e.to_string()),
    }
}

/// One field refused, at its JSON pointer.
pub(crate) fn invalid(pointer: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid(vec![FieldProblem::new(pointer, message)])
}

/// A failure inside the node.
pub(crate) fn internal(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only this case.
    pub case_id: Option<String>,
    /// Only this state.
    pub state: Option<String>,
    /// Only this mechanism.
    pub mechanism: Option<String>,
    /// Only this urgency.
    pub urgency: Option<String>,
    /// Soonest clock first, only requests with a running clock.
    pub due: bool,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<u32>,
}

/// The service of one node.
#[derive(Clone)]
pub struct NodeService {
    pub(crate) identity: NodeIdentity,
    pub(crate) catalogue: Arc<Catalogue>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) safeguards: Arc<Safeguards>,
    pub(crate) federation: Arc<crate::federation::Federation>,
    pub(crate) log: Option<NodeLog>,
    pub(crate) log_reader: Option<LogReader>,
    pub(crate) evidence: Option<Arc<crate::evidence::EvidenceSide>>,
}

impl std::fmt::Debug for NodeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeService({})", self.identity.authority)
    }
}

impl NodeService {
    /// A service over a store.
    pub fn new(
        identity: NodeIdentity,
        catalogue: Catalogue,
        safeguards: Safeguards,
        federation: crate::federation::Federation,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            identity,
            catalogue: Arc::new(catalogue),
            store,
            clock,
            safeguards: Arc::new(safeguards),
            federation: Arc::new(federation),
            log: None,
            log_reader: None,
            evidence: None,
        }
    }

    /// The user accounts of this node.
    pub fn accounts(&self) -> crate::accounts::Accounts {
        crate::accounts::Accounts::new(
            self.store.clone(),
            self.clock.clone(),
            format!("comity {}", self.identity.authority),
        )
    }

    /// Now, by the node's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Who this node is, as configured.
    pub fn identity(&self) -> &NodeIdentity {
        &self.identity
    }

    /// The latest messages refused at the door.
    pub async fn security_events(
        &self,
        limit: u32,
    ) -> Result<Vec<comity_store::SecurityEvent>, ServiceError> {
        Ok(self.store.security_events(limit).await?)
    }

    /// The federation side (directory, keys, delivery).
    pub fn federation(&self) -> &crate::federation::Federation {
        &self.federation
    }

    /// The same service, keeping evidence packages as `evidence` says (see [`crate::evidence`]).
    pub fn with_evidence(mut self, evidence: crate::evidence::EvidenceSide) -> Self {
        self.evidence = Some(Arc::new(evidence));
        self
    }

    /// The evidence side, when the node keeps evidence.
    pub fn evidence_side(&self) -> Option<&Arc<crate::evidence::EvidenceSide>> {
        self.evidence.as_ref()
    }

    /// The same service, reading the published log through `reader` (for statistics), whoever appends to it.
    pub fn with_log_reader(mut self, reader: LogReader) -> Self {
        self.log_reader = Some(reader);
        self
    }

    /// Reads the published log, whoever appends to it.
    pub fn log_reader(&self) -> Option<&LogReader> {
        self.log_reader.as_ref()
    }

    /// The published log and its leaves.
    async fn published_leaves(&self) -> Result<(u64, String, Vec<Leaf>), ServiceError> {
        let reader = self
            .log_reader
            .clone()
            .ok_or_else(|| ServiceError::Internal("this node has no event log".into()))?;
        tokio::task::spawn_blocking(move || {
            let (checkpoint, note) = reader
                .checkpoint()
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let leaves = reader
                .leaves(checkpoint.size)
                .map_err(|e| ServiceError::Internal(e.to_string()))?
                .iter()
                .map(|b| Leaf::parse(b))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            Ok((
                checkpoint.size,
                String::from_utf8_lossy(&note).into_owned(),
                leaves,
            ))
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// Days from a request's sending (or receipt) to its execution, for executions on a day of `period`.
    async fn days_to_execution(&self, period: Period) -> Result<Vec<f64>, ServiceError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self.store.requests_by_id(after.as_deref(), 500).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.id.clone());
            for record in &page {
                let events = self.store.events(&record.id).await?;
                let start = events
                    .iter()
                    .find(|e| e.action == "send" || e.action == "receive")
                    .map(|e| e.at);
                let done = events
                    .iter()
                    .find(|e| e.action == "execute" || e.action == "execute-partially")
                    .map(|e| e.at);
                if let (Some(start), Some(done)) = (start, done)
                    && period.contains(done.to_offset(time::UtcOffset::UTC).date())
                {
                    out.push((done - start).as_seconds_f64() / 86_400.0);
                }
            }
        }
        Ok(out)
    }

    /// Statistics of a period, from the published leaves, with the checkpoint they were computed against.
    pub async fn statistics(&self, period: Period) -> Result<StatisticsView, ServiceError> {
        if period.from > period.to {
            return Err(invalid("/from", "`from` must not be after `to`"));
        }
        let (size, checkpoint, leaves) = self.published_leaves().await?;
        let counts = statistics::count(&leaves, period);
        let median = statistics::median(self.days_to_execution(period).await?);
        Ok(StatisticsView {
            from: period.from.to_string(),
            to: period.to.to_string(),
            counts,
            median_days_to_execution: median,
            log_size: size,
            checkpoint,
        })
    }

    /// The EEV Art 28 annual return for `year`.
    pub async fn eev_art28(&self, year: i32) -> Result<EevArt28Return, ServiceError> {
        let (size, checkpoint, leaves) = self.published_leaves().await?;
        let mut r = statistics::eev_art28(&leaves, year);
        let period = Period {
            from: time::Date::from_calendar_date(year, time::Month::January, 1)
                .map_err(|e| invalid("/year", e.to_string()))?,
            to: time::Date::from_calendar_date(year, time::Month::December, 31)
                .map_err(|e| invalid("/year", e.to_string()))?,
        };
        r.median_days_to_data = statistics::median(self.days_to_execution(period).await?);
        r.log_size = size;
        r.checkpoint = checkpoint;
        Ok(r)
    }

    /// The same service, appending every lifecycle event to `log`.
    pub fn with_log(mut self, log: NodeLog) -> Self {
        self.log = Some(log);
        self
    }

    /// The event log, when this process holds it.
    pub fn log(&self) -> Option<&NodeLog> {
        self.log.as_ref()
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The safeguard rules and profiles in force.
    pub fn safeguards(&self) -> &Safeguards {
        &self.safeguards
    }

    /// The catalogue in force.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// Who this node is.
    pub fn node(&self) -> NodeView {
        NodeView {
            authority: self.identity.authority.to_string(),
            state: self.identity.state.to_string(),
            kind: self.identity.kind.to_string(),
            name: self.identity.name.clone(),
            signing_public_key: self.identity.signing_public_key.clone(),
            age_recipient: self.identity.age_recipient.clone(),
            catalogue_version: self.catalogue.version.clone(),
            software_version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }

    /// Every mechanism of the catalogue.
    pub fn mechanisms(&self) -> MechanismList {
        MechanismList::new(&self.catalogue)
    }

    /// One mechanism.
    pub fn mechanism(&self, id: &str) -> Result<MechanismView, ServiceError> {
        self.catalogue
            .mechanism(id)
            .map(|m| MechanismView::new(m, &self.catalogue))
            .ok_or_else(|| ServiceError::NotFound {
                what: "mechanism",
                id: id.to_owned(),
            })
    }

    /// Opens a case.
    pub async fn create_case(
        &self,
        input: CaseInput,
        actor: &str,
    ) -> Result<CaseView, ServiceError> {
        let mut problems = Vec::new();
        let reference = input.reference.trim();
        if reference.is_empty() || reference.len() > 100 || reference.chars().any(char::is_control)
        {
            problems.push(FieldProblem::new(
                "/reference",
                "give a case reference of 1 to 100 printable characters",
            ));
        }
        let title = input.title.trim();
        if title.is_empty() || title.chars().count() > 500 || title.chars().any(char::is_control) {
            problems.push(FieldProblem::new(
                "/title",
                "give a title of 1 to 500 printable characters",
            ));
        }
        if !problems.is_empty() {
            return Err(ServiceError::Invalid(problems));
        }
        let record = CaseRecord {
            id: format!("case-{}", uuid::Uuid::now_v7()),
            reference: reference.to_owned(),
            title: title.to_owned(),
            created_by: actor.to_owned(),
            created_at: self.clock.now(),
        };
        self.store.create_case(record.clone()).await?;
        Ok(case_view(record))
    }

    /// Lists cases, newest first.
    pub async fn cases(&self, limit: u32) -> Result<Vec<CaseView>, ServiceError> {
        Ok(self
            .store
            .cases(limit)
            .await?
            .into_iter()
            .map(case_view)
            .collect())
    }

    /// One case.
    pub async fn case(&self, id: &str) -> Result<CaseView, ServiceError> {
        self.store
            .case(id)
            .await?
            .map(case_view)
            .ok_or_else(|| ServiceError::NotFound {
                what: "case",
                id: id.to_owned(),
            })
    }

    /// Creates a request in `draft`. Incomplete drafts are accepted (the missing fields are listed and block sending);
    /// malformed values, unknown catalogue entries and mismatches are refused.
    pub async fn create_request(
        &self,
        input: NewRequestInput,
        actor: &str,
    ) -> Result<RequestView, ServiceError> {
        let doc = input
            .document
            .into_document(&self.identity.authority, &self.catalogue)
            .map_err(|problems| {
                ServiceError::Invalid(
                    problems
                        .into_iter()
                        .map(|p| FieldProblem::new(format!("/document{}", p.pointer), p.message))
                        .collect(),
                )
            })?;
        let now = self.clock.now();
        let stored = wire::document_to_input(&doc);
        let document =
            serde_json::to_string(&stored).map_err(|e| ServiceError::Internal(e.to_string()))?;
        let record = RequestRecord {
            id: format!("req-{}", uuid::Uuid::now_v7()),
            case_id: input.case_id.clone(),
            mechanism: doc.mechanism.clone(),
            state: State::Draft.to_string(),
            document,
            urgency: doc.urgency.to_string(),
            created_by: actor.to_owned(),
            created_at: now,
            updated_at: now,
            next_due: None,
            version: 0,
        };
        self.store
            .create_request(record.clone())
            .await
            .map_err(|e| match e {
                StoreError::NotFound { what: "case", id } => invalid(
                    "/case_id",
                    format!("case `{id}` does not exist; open it first (POST /api/v1/cases)"),
                ),
                other => other.into(),
            })?;
        self.view(&record, &[], Some(&doc))
    }

    /// One request, with its events and clocks; checks that the stored state follows from the events.
    pub async fn request(&self, id: &str) -> Result<RequestView, ServiceError> {
        let (record, events, _) = self.load(id).await?;
        let mut view = self.view(&record, &events, None)?;
        view.events = events.iter().map(event_view).collect();
        view.exchange = self.exchange_view(&record.id).await?;
        Ok(view)
    }

    async fn exchange_view(
        &self,
        id: &str,
    ) -> Result<Option<crate::wire::ExchangeView>, ServiceError> {
        if self.federation.directory().is_none() {
            return Ok(None);
        }
        let Some(link) = self.store.link(id).await? else {
            return Ok(None);
        };
        let mut sent: Vec<crate::wire::SentMessageView> = self
            .store
            .outbox_of_thread(&link.thread)
            .await?
            .into_iter()
            .filter(|m| m.recipient == link.counterpart)
            .map(|m| crate::wire::SentMessageView {
                status: if m.failed.is_some() {
                    "refused"
                } else if m.receipt.is_some() {
                    "delivered"
                } else {
                    "pending"
                }
                .into(),
                message_id: m.message_id,
                recipient: m.recipient,
                attempts: m.attempts,
                refusal: m.failed,
                receipt: m.receipt,
                receiver_log_proof: None,
            })
            .collect();
        for m in &mut sent {
            m.receiver_log_proof = self
                .receiver_proof(&m.message_id)
                .await?
                .and_then(|p| serde_json::to_value(p).ok());
        }
        Ok(Some(crate::wire::ExchangeView {
            direction: link.direction,
            counterpart: link.counterpart,
            thread: link.thread,
            upstream: link.upstream,
            sent,
        }))
    }

    /// Lists requests.
    pub async fn requests(&self, query: &ListQuery) -> Result<Vec<RequestView>, ServiceError> {
        if let Some(s) = &query.state {
            s.parse::<State>()
                .map_err(|e| invalid("/state", e.to_string()))?;
        }
        if let Some(m) = &query.mechanism
            && self.catalogue.mechanism(m).is_none()
        {
            return Err(invalid(
                "/mechanism",
                format!("`{m}` is not a mechanism of the catalogue"),
            ));
        }
        let filter = RequestFilter {
            case_id: query.case_id.clone(),
            state: query.state.clone(),
            mechanism: query.mechanism.clone(),
            urgency: query.urgency.clone(),
            order: if query.due {
                RequestOrder::Due
            } else {
                RequestOrder::Newest
            },
            limit: query.limit.unwrap_or(100).clamp(1, 1000),
        };
        let records = self.store.requests(&filter).await?;
        records.iter().map(|r| self.view(r, &[], None)).collect()
    }

    /// Takes one lifecycle step.
    pub async fn transition(
        &self,
        id: &str,
        input: TransitionInput,
        actor: &str,
    ) -> Result<RequestView, ServiceError> {
        let (record, events, mechanism) = self.load(id).await?;
        let state: State = record
            .state
            .parse()
            .map_err(|e: lifecycle::UnknownName| ServiceError::Internal(e.to_string()))?;
        let action: Action = input
            .action
            .parse()
            .map_err(|e: lifecycle::UnknownName| invalid("/action", e.to_string()))?;
        if action.is_record() {
            return Err(invalid(
                "/action",
                format!(
                    "`{action}` is a record, not a step: use its own route (validations, consents, onward-uses, notice)"
                ),
            ));
        }
        if let Some(expected) = input.expected_version
            && expected != record.version
        {
            return Err(ServiceError::Conflict(format!(
                "request `{id}` is at version {}, not {expected}; read it again and decide anew",
                record.version
            )));
        }
        let reason = input
            .reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > wire::MAX_TEXT_CHARS) {
            return Err(invalid(
                "/reason",
                format!("is longer than {} characters", wire::MAX_TEXT_CHARS),
            ));
        }
        let to = lifecycle::apply(mechanism.lifecycle_rules(), state, action, reason)
            .map_err(step_refused)?;
        let doc = self.document(&record)?;
        if matches!(action, Action::Send | Action::SubmitForAuthorisation) {
            let missing = request::missing_fields(&doc, mechanism);
            if !missing.is_empty() {
                let basis = mechanism
                    .citations
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join("; ");
                return Err(ServiceError::Invalid(
                    missing
                        .iter()
                        .map(|f| {
                            FieldProblem::new(
                                format!("/document/{f}"),
                                format!(
                                    "required for {} ({basis}); fill it in before `{action}`",
                                    mechanism.id
                                ),
                            )
                        })
                        .collect(),
                ));
            }
        }
        let grounds = self.check_grounds(action, &input.grounds, mechanism)?;
        let done: Vec<Action> = events
            .iter()
            .filter_map(|e| e.action.parse().ok())
            .collect();
        let warnings = self.check_safeguards(action, &input, &doc, mechanism, &done)?;
        let mut actor = actor.to_owned();
        let mut detail = serde_json::json!({ "grounds": grounds });
        if action == Action::Authorise {
            let (judge, envelope) = self
                .check_judicial(&record, "authorise", input.authorisation.as_deref())
                .await?;
            detail["judicial_decision"] = envelope;
            actor = judge;
        }
        let now = self.clock.now().max(record.updated_at);
        let validation_pending =
            action == Action::Send && warnings.contains(&"issuer.validation-pending");
        if validation_pending {
            detail["validation_pending"] = serde_json::Value::Bool(true);
            let due = self
                .safeguards
                .rules
                .emergency_validation
                .duration
                .after(now);
            self.index_validation(&record.id, due).await?;
        }
        let actor = actor.as_str();
        let mut entered = entered_states(&events);
        entered.push((to, now));
        let next_due = next_due(mechanism, &doc, &entered);
        let (outbox, link) = self
            .outgoing_message(
                &record,
                &doc,
                action,
                reason,
                &grounds,
                input.recipient.as_deref(),
                now,
            )
            .await?;
        if let Some(o) = &outbox {
            // Both sides log the digest of the envelope they exchanged, so their logs can be reconciled.
            detail["message"] = serde_json::Value::String(o.envelope_hash.clone());
        }
        let detail = detail.to_string();
        let queued = outbox.is_some();
        let updated = self
            .store
            .transition(Transition {
                event: EventRecord {
                    request_id: record.id.clone(),
                    seq: record.version + 1,
                    action: action.to_string(),
                    from_state: state.to_string(),
                    to_state: to.to_string(),
                    actor: actor.to_owned(),
                    at: now,
                    reason: reason.map(str::to_owned),
                    detail,
                },
                expected_version: record.version,
                next_due,
                document: None,
                outbox,
                link,
            })
            .await?;
        if queued {
            self.federation.notify();
        }
        tracing::info!(request = %record.id, %action, from = %state, %to, "request transition");
        self.log_latest(&updated).await
    }

    /// Logs the latest event of a request just written, and returns the request as it now stands.
    pub(crate) async fn log_latest(
        &self,
        updated: &RequestRecord,
    ) -> Result<RequestView, ServiceError> {
        let events = self.store.events(&updated.id).await?;
        let doc = self.document(updated)?;
        if let Some(log) = &self.log
            && let Some(event) = events.last()
        {
            // The store has committed: the event is kept whatever happens here, and a failed append is made good by
            // the next catch-up.
            match self.leaf_for(log, &doc, &updated.mechanism, event) {
                Ok(leaf) => {
                    if let Err(e) = log.append(&event.request_id, event.seq, &leaf).await {
                        tracing::warn!(request = %updated.id, seq = event.seq, error = %e, "event not yet logged");
                    }
                }
                Err(e) => {
                    tracing::error!(request = %updated.id, seq = event.seq, error = %e, "no leaf for event")
                }
            }
        }
        let mut view = self.view(updated, &events, Some(&doc))?;
        view.events = events.iter().map(event_view).collect();
        view.exchange = self.exchange_view(&updated.id).await?;
        Ok(view)
    }

    /// The log leaf of an event: a commitment to it and its coarse facts, never its content.
    fn leaf_for(
        &self,
        log: &NodeLog,
        doc: &comity_core::request::RequestDocument,
        mechanism: &str,
        event: &EventRecord,
    ) -> Result<Leaf, String> {
        let at_ms = i64::try_from(event.at.unix_timestamp_nanos() / 1_000_000)
            .map_err(|_| "event time out of range".to_owned())?;
        let salt = leaf::event_salt(log.salt(), &event.request_id, event.seq);
        let commitment = leaf::commitment(
            &salt,
            &leaf::EventFacts {
                request_id: &event.request_id,
                seq: event.seq,
                action: &event.action,
                from_state: &event.from_state,
                to_state: &event.to_state,
                at_ms,
            },
        );
        let (side, sending_state, receiving_state) =
            if doc.requesting_authority == self.identity.authority {
                (Side::Sent, self.identity.state, doc.requested_state)
            } else {
                // A request that came in. Federation records the sender's State from its signed envelope; until
                // then the authority id's country prefix stands in, else this node's own State.
                let sender = doc
                    .requesting_authority
                    .as_str()
                    .get(..2)
                    .and_then(|p| comity_core::IsoCountry::parse(p).ok())
                    .unwrap_or(self.identity.state);
                (Side::Received, sender, self.identity.state)
            };
        let leaf = Leaf {
            commitment,
            side,
            kind: event
                .action
                .parse()
                .map_err(|e: lifecycle::UnknownName| e.to_string())?,
            mechanism: mechanism.to_owned(),
            instrument: doc.instrument.clone(),
            sending_state,
            receiving_state,
            urgency: doc.urgency,
            day: event.at.to_offset(time::UtcOffset::UTC).date(),
            grounds: event_grounds(event),
            message: event_message(event),
        };
        leaf.check().map_err(|e| e.to_string())?;
        Ok(leaf)
    }

    /// Appends every event the store holds and the log does not: after a crash between the store commit and the
    /// append, or events written by another process while this one held the log. Returns how many were appended.
    pub async fn catch_up_log(&self) -> Result<usize, ServiceError> {
        let Some(log) = &self.log else {
            return Ok(0);
        };
        // Every event in key order, a page at a time; only requests with events not yet logged are read again.
        let mut unlogged: std::collections::BTreeMap<String, Vec<EventRecord>> =
            std::collections::BTreeMap::new();
        let mut after: Option<(String, u64)> = None;
        loop {
            let page = self
                .store
                .events_by_key(after.as_ref().map(|(id, seq)| (id.as_str(), *seq)), 2000)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.request_id.clone(), last.seq));
            let keys: Vec<(String, u64)> =
                page.iter().map(|e| (e.request_id.clone(), e.seq)).collect();
            let logged = log.logged(&keys);
            for (event, _) in page.into_iter().zip(logged).filter(|(_, l)| !*l) {
                unlogged
                    .entry(event.request_id.clone())
                    .or_default()
                    .push(event);
            }
        }
        let count = self.append_unlogged(log, unlogged).await?;
        if count > 0 {
            tracing::info!(count, "event log caught up with the store");
        }
        Ok(count)
    }

    /// Appends the events of each request given (events the log does not hold), oldest first. Returns how many.
    async fn append_unlogged(
        &self,
        log: &NodeLog,
        unlogged: std::collections::BTreeMap<String, Vec<EventRecord>>,
    ) -> Result<usize, ServiceError> {
        let mut missing: Vec<(OffsetDateTime, String, u64, Leaf)> = Vec::new();
        for (id, events) in unlogged {
            let Some(record) = self.store.request(&id).await? else {
                tracing::error!(request = %id, "events of a request that does not exist cannot be logged");
                continue;
            };
            let doc = match self.document(&record) {
                Ok(doc) => doc,
                Err(e) => {
                    tracing::error!(request = %record.id, error = %e, "events of request cannot be logged");
                    continue;
                }
            };
            for event in &events {
                match self.leaf_for(log, &doc, &record.mechanism, event) {
                    Ok(leaf) => missing.push((event.at, event.request_id.clone(), event.seq, leaf)),
                    Err(e) => {
                        tracing::error!(request = %record.id, seq = event.seq, error = %e, "no leaf for event")
                    }
                }
            }
        }
        missing.sort_by(|a, b| (a.0, &a.1, a.2).cmp(&(b.0, &b.1, b.2)));
        let count = missing.len();
        let mut tasks = tokio::task::JoinSet::new();
        for (_, request_id, seq, leaf) in missing {
            let log = log.clone();
            tasks.spawn(async move { log.append(&request_id, seq, &leaf).await });
        }
        while let Some(joined) = tasks.join_next().await {
            joined
                .map_err(|e| ServiceError::Internal(e.to_string()))?
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
        }
        Ok(count)
    }

    /// Appends the events of one request that the log does not hold yet: those a received message or a receipt just
    /// wrote. Returns how many were appended.
    pub(crate) async fn log_unlogged_of(&self, request_id: &str) -> Result<usize, ServiceError> {
        let Some(log) = &self.log else {
            return Ok(0);
        };
        let events = self.store.events(request_id).await?;
        let keys: Vec<(String, u64)> = events
            .iter()
            .map(|e| (e.request_id.clone(), e.seq))
            .collect();
        let logged = log.logged(&keys);
        let unlogged: Vec<EventRecord> = events
            .into_iter()
            .zip(logged)
            .filter(|(_, l)| !*l)
            .map(|(e, _)| e)
            .collect();
        if unlogged.is_empty() {
            return Ok(0);
        }
        let mut by_request = std::collections::BTreeMap::new();
        by_request.insert(request_id.to_owned(), unlogged);
        self.append_unlogged(log, by_request).await
    }

    /// Appends the events the store noted for the log ([`comity_store::Store::log_pending`]) and clears their notes,
    /// at most `pages` batches: the work of the process that sequences the log of a shared store, whoever recorded
    /// the events. Returns how many were appended.
    pub async fn drain_log_pending(&self, pages: usize) -> Result<usize, ServiceError> {
        let Some(log) = &self.log else {
            return Ok(0);
        };
        let mut total = 0;
        for _ in 0..pages {
            let page = self.store.log_pending(2000).await?;
            if page.is_empty() {
                break;
            }
            let keys: Vec<(String, u64)> =
                page.iter().map(|e| (e.request_id.clone(), e.seq)).collect();
            // A note left by a holder that died after appending: the event is logged already.
            let logged = log.logged(&keys);
            let mut unlogged: std::collections::BTreeMap<String, Vec<EventRecord>> =
                std::collections::BTreeMap::new();
            for (event, _) in page.into_iter().zip(logged).filter(|(_, l)| !*l) {
                unlogged
                    .entry(event.request_id.clone())
                    .or_default()
                    .push(event);
            }
            total += self.append_unlogged(log, unlogged).await?;
            self.store.log_appended(&keys).await?;
        }
        Ok(total)
    }

    fn check_grounds(
        &self,
        action: Action,
        grounds: &[String],
        mechanism: &Mechanism,
    ) -> Result<Vec<String>, ServiceError> {
        if action != Action::Refuse {
            if !grounds.is_empty() {
                return Err(invalid(
                    "/grounds",
                    format!("grounds go only with `refuse`, not `{action}`"),
                ));
            }
            return Ok(Vec::new());
        }
        if grounds.is_empty() {
            let open = mechanism.refusal_grounds.join(", ");
            return Err(invalid(
                "/grounds",
                format!("a refusal needs at least one ground; open grounds: {open}"),
            ));
        }
        let mut problems = Vec::new();
        for (i, g) in grounds.iter().enumerate() {
            let at = format!("/grounds/{i}");
            match self.catalogue.refusal_ground(g) {
                None => problems.push(FieldProblem::new(
                    at,
                    format!("`{g}` is not a refusal ground of the catalogue"),
                )),
                Some(ground) if !ground.permitted => {
                    let cites = ground
                        .citations
                        .iter()
                        .map(|c| c.to_string())
                        .collect::<Vec<_>>()
                        .join("; ");
                    problems.push(FieldProblem::new(
                        at,
                        format!("{} may not be a ground for refusal ({cites})", ground.title),
                    ))
                }
                Some(_) if !mechanism.refusal_grounds.contains(g) => {
                    problems.push(FieldProblem::new(
                        at,
                        format!(
                            "`{g}` is not open against {}; open grounds: {}",
                            mechanism.id,
                            mechanism.refusal_grounds.join(", ")
                        ),
                    ))
                }
                Some(_) => {}
            }
        }
        if problems.is_empty() {
            Ok(grounds.to_vec())
        } else {
            Err(ServiceError::Invalid(problems))
        }
    }

    /// Runs the safeguards engine on a step: the send gate on `send`, the decision check on decisions.
    fn check_safeguards(
        &self,
        action: Action,
        input: &TransitionInput,
        doc: &comity_core::request::RequestDocument,
        mechanism: &Mechanism,
        done: &[Action],
    ) -> Result<Vec<&'static str>, ServiceError> {
        use comity_core::safeguards::{self, ChecklistAnswer, Decision, Finding, Severity};
        let issuer = match &input.issuer {
            Some(i) => Some(
                i.parse()
                    .map_err(|e: lifecycle::UnknownName| invalid("/issuer", e.to_string()))?,
            ),
            None => None,
        };
        let mut findings: Vec<Finding> = Vec::new();
        if action == Action::Send {
            let to_kind = self.addressee_kind(input.recipient.as_deref(), doc);
            let sending =
                node_safeguards::sending(self.identity.kind, mechanism, to_kind, issuer, done);
            findings =
                self.safeguards
                    .outgoing(doc, &self.catalogue, self.identity.state, &sending);
            if let Some(from) = self.safeguards.profile(self.identity.state)
                && let Some(citations) =
                    safeguards::authorisation_required(mechanism, doc, from, &self.safeguards.rules)
                && !done.contains(&Action::Authorise)
            {
                findings.push(Finding {
                    severity: Severity::Block,
                    code: "authorisation.required",
                    message: format!(
                        "{} needs a judicial authorisation before it leaves; use `submit-for-authorisation`, then a judge uses `authorise`",
                        mechanism.id
                    ),
                    citations,
                });
            }
        }
        let decision = matches!(
            action,
            Action::Execute
                | Action::ExecutePartially
                | Action::Postpone
                | Action::Refuse
                | Action::Preserve
                | Action::Accept
                | Action::Decline
        );
        if decision
            && let Some(assessment) = self.safeguards.incoming(
                doc,
                &self.catalogue,
                self.identity.state,
                doc.requested_state,
            )
        {
            let decision = Decision {
                action,
                grounds: input.grounds.clone(),
                reasons: input.reason.clone().unwrap_or_default(),
                consulted_before: done.contains(&Action::Consult),
                checklist_answers: input
                    .checklist
                    .iter()
                    .map(|a| ChecklistAnswer {
                        id: a.id.clone(),
                        concern: a.concern,
                        note: a.note.clone(),
                    })
                    .collect(),
                conditions: None,
            };
            findings.extend(safeguards::check_decision(
                &decision,
                &assessment,
                &self.safeguards.rules,
            ));
        }
        if safeguards::blocks(&findings) {
            return Err(ServiceError::Blocked(
                findings
                    .iter()
                    .filter(|f| f.severity == Severity::Block)
                    .map(FindingView::from)
                    .collect(),
            ));
        }
        Ok(findings.iter().map(|f| f.code).collect())
    }

    /// Takes or renews the lease `name` for `holder` at the service's clock (see [`Store::try_acquire_lease`]).
    pub async fn try_acquire_lease(
        &self,
        name: &str,
        holder: &str,
        ttl_ms: u64,
    ) -> Result<bool, ServiceError> {
        Ok(self
            .store
            .try_acquire_lease(name, holder, ttl_ms, self.clock.now())
            .await?)
    }

    /// Gives a lease up.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), ServiceError> {
        Ok(self.store.release_lease(name, holder).await?)
    }

    /// Expires the preservations whose expiry clock has run out, at most `limit` of each state (`active`,
    /// `extended`) per call, soonest first. Returns the ids expired.
    ///
    /// A request a person changes meanwhile is left for the next call (the step names the version it read). Each
    /// step is an ordinary `expire` event by [`CLOCK_ACTOR`], with the clock and its end in the reason.
    pub async fn expire_due(&self, limit: u32) -> Result<Vec<String>, ServiceError> {
        let now = self.clock.now();
        let mut expired = Vec::new();
        for state in [State::Active, State::Extended] {
            let due = self
                .store
                .requests(&RequestFilter {
                    state: Some(state.to_string()),
                    order: RequestOrder::Due,
                    limit: limit.clamp(1, 1000),
                    ..RequestFilter::default()
                })
                .await?;
            // INVARIANT: the list is in order of `next_due`, so the first one not yet due ends the round.
            for record in due
                .iter()
                .take_while(|r| r.next_due.is_some_and(|d| d <= now))
            {
                let (record, events, mechanism) = self.load(&record.id).await?;
                let doc = self.document(&record)?;
                let entered = entered_states(&events);
                let running = clock::clocks(mechanism, &doc.instrument, doc.urgency, &entered);
                let Some(ran_out) = running.iter().find(|c| {
                    c.kind() == comity_core::catalogue::ClockKind::Expiry
                        && c.is_running()
                        && c.due_at <= now
                }) else {
                    continue;
                };
                let due_at = ran_out
                    .due_at
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                let step = TransitionInput {
                    action: Action::Expire.to_string(),
                    reason: Some(format!(
                        "the expiry clock `{}` ran out at {due_at}",
                        ran_out.rule.id
                    )),
                    grounds: Vec::new(),
                    expected_version: Some(record.version),
                    issuer: None,
                    checklist: Vec::new(),
                    recipient: None,
                    authorisation: None,
                };
                match self.transition(&record.id, step, CLOCK_ACTOR).await {
                    Ok(_) => expired.push(record.id.clone()),
                    Err(ServiceError::Conflict(_) | ServiceError::NotAllowed { .. }) => {
                        tracing::info!(request = %record.id, "changed meanwhile; expiry left for the next sweep");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(expired)
    }

    /// The safeguard findings on a request: outgoing findings, and the requested side's assessment.
    pub async fn findings(&self, id: &str) -> Result<FindingsView, ServiceError> {
        let (record, events, mechanism) = self.load(id).await?;
        let doc = self.document(&record)?;
        let done: Vec<Action> = events
            .iter()
            .filter_map(|e| e.action.parse().ok())
            .collect();
        Ok(self.findings_of(&record.id, &doc, mechanism, &done))
    }

    /// The safeguard findings on a document that is not stored (a draft being written).
    pub fn check_document(&self, input: &RequestInput) -> Result<FindingsView, ServiceError> {
        let doc = input
            .into_document(&self.identity.authority, &self.catalogue)
            .map_err(ServiceError::Invalid)?;
        let mechanism = self
            .catalogue
            .mechanism(&doc.mechanism)
            .ok_or_else(|| invalid("/mechanism", "not a mechanism of the catalogue"))?;
        Ok(self.findings_of("", &doc, mechanism, &[]))
    }

    /// The kind of the authority a request goes to, when the directory knows the one named (the recipient chosen
    /// at sending, else the document's addressee).
    fn addressee_kind(
        &self,
        recipient: Option<&str>,
        doc: &comity_core::request::RequestDocument,
    ) -> Option<comity_core::AuthorityKind> {
        let named = recipient.or(doc.addressee.as_deref())?;
        self.federation
            .directory()
            .and_then(|d| d.authority(named).map(|a| a.kind))
    }

    fn findings_of(
        &self,
        id: &str,
        doc: &comity_core::request::RequestDocument,
        mechanism: &Mechanism,
        done: &[Action],
    ) -> FindingsView {
        let sending = node_safeguards::sending(
            self.identity.kind,
            mechanism,
            self.addressee_kind(None, doc),
            None,
            done,
        );
        let outgoing =
            self.safeguards
                .outgoing(doc, &self.catalogue, self.identity.state, &sending);
        let incoming = self.safeguards.incoming(
            doc,
            &self.catalogue,
            self.identity.state,
            doc.requested_state,
        );
        FindingsView {
            request_id: id.to_owned(),
            blocks_sending: comity_core::safeguards::blocks(&outgoing),
            outgoing: outgoing.iter().map(FindingView::from).collect(),
            incoming: incoming.as_ref().map(AssessmentView::from),
        }
    }

    pub(crate) async fn load(
        &self,
        id: &str,
    ) -> Result<(RequestRecord, Vec<EventRecord>, &Mechanism), ServiceError> {
        let (record, events) =
            self.store
                .request_with_events(id)
                .await?
                .ok_or_else(|| ServiceError::NotFound {
                    what: "request",
                    id: id.to_owned(),
                })?;
        let mechanism = self.catalogue.mechanism(&record.mechanism).ok_or_else(|| {
            ServiceError::Internal(format!(
                "request `{id}` uses mechanism `{}`, which the catalogue in force no longer has",
                record.mechanism
            ))
        })?;
        let steps = events
            .iter()
            .map(|e| {
                Ok(Step {
                    action: e
                        .action
                        .parse()
                        .map_err(|x: lifecycle::UnknownName| x.to_string())?,
                    from: e
                        .from_state
                        .parse()
                        .map_err(|x: lifecycle::UnknownName| x.to_string())?,
                    to: e
                        .to_state
                        .parse()
                        .map_err(|x: lifecycle::UnknownName| x.to_string())?,
                })
            })
            .collect::<Result<Vec<_>, String>>()
            .map_err(ServiceError::Internal)?;
        let derived = lifecycle::replay(mechanism.lifecycle_rules(), steps)
            .map_err(|e| ServiceError::Internal(format!("request `{id}`: {e}")))?;
        if derived.as_str() != record.state || events.len() as u64 != record.version {
            return Err(ServiceError::Internal(format!(
                "request `{id}` is stored as `{}` but its events lead to `{derived}`",
                record.state
            )));
        }
        Ok((record, events, mechanism))
    }

    pub(crate) fn document(
        &self,
        record: &RequestRecord,
    ) -> Result<comity_core::request::RequestDocument, ServiceError> {
        let input: RequestInput = serde_json::from_str(&record.document).map_err(|e| {
            ServiceError::Internal(format!(
                "request `{}` has an unreadable document: {e}",
                record.id
            ))
        })?;
        // A request received from, or forwarded by, another authority keeps its requesting authority.
        let author = input
            .requesting_authority
            .as_deref()
            .and_then(|a| comity_core::AuthorityId::parse(a).ok())
            .unwrap_or_else(|| self.identity.authority.clone());
        input
            .into_document(&author, &self.catalogue)
            .map_err(|problems| {
                ServiceError::Internal(format!(
                    "request `{}` no longer fits the catalogue in force: {}",
                    record.id,
                    problems
                        .iter()
                        .map(|p| format!("{} {}", p.pointer, p.message))
                        .collect::<Vec<_>>()
                        .join("; ")
                ))
            })
    }

    fn view(
        &self,
        record: &RequestRecord,
        events: &[EventRecord],
        doc: Option<&comity_core::request::RequestDocument>,
    ) -> Result<RequestView, ServiceError> {
        let now = self.clock.now();
        let parsed;
        let doc = match doc {
            Some(d) => d,
            None => {
                parsed = self.document(record)?;
                &parsed
            }
        };
        let mechanism = self.catalogue.mechanism(&record.mechanism).ok_or_else(|| {
            ServiceError::Internal(format!("unknown mechanism `{}`", record.mechanism))
        })?;
        let state: State = record
            .state
            .parse()
            .map_err(|e: lifecycle::UnknownName| ServiceError::Internal(e.to_string()))?;
        let entered = entered_states(events);
        let clocks = clock::clocks(mechanism, &doc.instrument, doc.urgency, &entered);
        Ok(RequestView {
            id: record.id.clone(),
            case_id: record.case_id.clone(),
            mechanism: record.mechanism.clone(),
            state: record.state.clone(),
            urgency: record.urgency.clone(),
            version: record.version,
            created_at: wire::rfc3339(record.created_at),
            updated_at: wire::rfc3339(record.updated_at),
            next_due: record.next_due.map(wire::rfc3339),
            allowed_actions: lifecycle::allowed_actions(mechanism.lifecycle_rules(), state)
                .iter()
                .map(|a| a.to_string())
                .collect(),
            missing_fields: request::missing_fields(doc, mechanism)
                .iter()
                .map(|f| f.to_string())
                .collect(),
            clocks: clocks.iter().map(|c| ClockView::new(c, now)).collect(),
            document: wire::document_to_input(doc),
            events: Vec::new(),
            exchange: None,
            records: self.records_view(doc, events),
        })
    }
}

fn case_view(r: CaseRecord) -> CaseView {
    CaseView {
        id: r.id,
        reference: r.reference,
        title: r.title,
        created_by: r.created_by,
        created_at: wire::rfc3339(r.created_at),
    }
}

/// The refusal grounds recorded with an event.
/// The digest of the envelope an event sent or received, if it crossed a node boundary (hex SHA-256 in the event
/// detail, as the thread chain writes it).
pub(crate) fn event_message(e: &EventRecord) -> Option<comity_tlog::Hash> {
    let detail: serde_json::Value = serde_json::from_str(&e.detail).ok()?;
    comity_evidence::digest::parse_sha256_hex(detail["message"].as_str()?).map(comity_tlog::Hash)
}

pub(crate) fn event_grounds(e: &EventRecord) -> Vec<String> {
    serde_json::from_str::<serde_json::Value>(&e.detail)
        .ok()
        .and_then(|v| v.get("grounds").cloned())
        .and_then(|g| serde_json::from_value::<Vec<String>>(g).ok())
        .unwrap_or_default()
}

fn event_view(e: &EventRecord) -> EventView {
    let grounds = event_grounds(e);
    EventView {
        seq: e.seq,
        action: e.action.clone(),
        from: e.from_state.clone(),
        to: e.to_state.clone(),
        actor: e.actor.clone(),
        at: wire::rfc3339(e.at),
        reason: e.reason.clone(),
        grounds,
    }
}

/// The states a request entered, in order, with when: what its clocks run from.
pub(crate) fn entered_states(events: &[EventRecord]) -> Vec<(State, OffsetDateTime)> {
    events
        .iter()
        .filter_map(|e| e.to_state.parse::<State>().ok().map(|s| (s, e.at)))
        .collect()
}

/// The soonest running clock of a request that entered `entered`.
pub(crate) fn next_due(
    mechanism: &Mechanism,
    doc: &comity_core::request::RequestDocument,
    entered: &[(State, OffsetDateTime)],
) -> Option<OffsetDateTime> {
    clock::next_due(&clock::clocks(
        mechanism,
        &doc.instrument,
        doc.urgency,
        entered,
    ))
}
