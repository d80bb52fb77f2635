//! The log sequencer of a node served by several processes from one shared store.
//!
//! Exactly one process appends to the event log: the holder of the store lease [`LEASE`]. Every process commits its
//! events to the store, which notes each one for the log in the same transaction (`log_pending`); that is the
//! hand-over: each round the holder appends the events noted, whoever wrote them, and clears their notes
//! ([`NodeService::drain_log_pending`]), and on taking over, and every [`FULL_EVERY`] rounds, whatever events the
//! store holds and the log does not ([`NodeService::catch_up_log`]). The others append nothing. When the holder
//! dies its lease runs out after [`LogSequencer::ttl_ms`]; the next process to take it opens the log where it was
//! published (the tiles, `checkpoint` and `events.idx` in the shared log directory, an interrupted append rolled
//! back) and catches up from the store, so no event is lost and none is logged twice (`events.idx` keys leaves by
//! event).
//!
//! The lease says who should write; the log's own file lock says who can. A holder that stalls past its lease keeps
//! the file lock until it notices and closes the log, so the next holder cannot open it meanwhile and waits a round.

use std::path::PathBuf;
use std::time::Duration;

use super::witness::{self, WitnessTarget};
use super::{EventLogError, LogKeys, NodeLog};
use crate::service::{NodeService, ServiceError};

/// The store lease that makes one process the log's sequencer.
pub const LEASE: &str = "log-sequencer";
/// Batches of noted events appended per round at most, so that a round stays well within the lease.
const PAGES_PER_ROUND: usize = 8;
/// Every this many rounds, the holder also looks for events the log lacks that nobody noted (written before the
/// node ran on a shared store, or by an older version).
const FULL_EVERY: u64 = 60;

/// What one round did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Round {
    /// Whether this process held the lease and had the log open.
    pub sequencing: bool,
    /// Events appended.
    pub appended: usize,
}

/// Sequences the log in one process of several.
pub struct LogSequencer {
    service: NodeService,
    node_dir: PathBuf,
    keys: LogKeys,
    holder: String,
    interval: Duration,
    ttl_ms: u64,
    log: Option<NodeLog>,
    witnesses: Vec<WitnessTarget>,
    http: reqwest::Client,
    cosigned_size: Option<u64>,
    rounds: u64,
}

impl std::fmt::Debug for LogSequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogSequencer")
            .field("holder", &self.holder)
            .field("sequencing", &self.log.is_some())
            .finish_non_exhaustive()
    }
}

impl LogSequencer {
    /// A sequencer for the node in `node_dir`, known to the others as `holder` (unique per process), running a round
    /// every `interval`. The lease lasts ten intervals.
    pub fn new(
        service: NodeService,
        node_dir: impl Into<PathBuf>,
        keys: LogKeys,
        holder: impl Into<String>,
        interval: Duration,
    ) -> Self {
        let ttl_ms = u64::try_from(interval.as_millis().saturating_mul(10)).unwrap_or(u64::MAX);
        Self {
            service,
            node_dir: node_dir.into(),
            keys,
            holder: holder.into(),
            interval,
            ttl_ms,
            log: None,
            witnesses: Vec::new(),
            http: reqwest::Client::new(),
            cosigned_size: None,
            rounds: 0,
        }
    }

    /// Has each new checkpoint cosigned by `witnesses`.
    pub fn with_witnesses(mut self, witnesses: Vec<WitnessTarget>, http: reqwest::Client) -> Self {
        self.witnesses = witnesses;
        self.http = http;
        self
    }

    /// How long the lease lasts without renewal.
    pub fn ttl_ms(&self) -> u64 {
        self.ttl_ms
    }

    /// The log, while this process sequences it.
    pub fn log(&self) -> Option<&NodeLog> {
        self.log.as_ref()
    }

    /// One round: take or renew the lease; open the log if newly held (close it if lost); append what the store
    /// holds and the log does not.
    pub async fn round(&mut self) -> Result<Round, ServiceError> {
        let held = match self
            .service
            .try_acquire_lease(LEASE, &self.holder, self.ttl_ms)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                // Without the store we cannot know whether we still hold the lease: stop writing.
                self.close("the store did not answer");
                return Err(e);
            }
        };
        if !held {
            self.close("another process holds the lease");
            return Ok(Round::default());
        }
        let (log, opened) = match &self.log {
            Some(log) => (log.clone(), false),
            None => match self.open().await? {
                Some(log) => (log, true),
                None => return Ok(Round::default()),
            },
        };
        let service = self.service.clone().with_log(log.clone());
        // What others noted since; on taking over and now and then, everything the log lacks, noted or not.
        let mut appended = service.drain_log_pending(PAGES_PER_ROUND).await?;
        self.rounds = self.rounds.wrapping_add(1);
        if opened || self.rounds.is_multiple_of(FULL_EVERY) {
            appended += service.catch_up_log().await?;
        }
        self.cosign(&log).await;
        Ok(Round {
            sequencing: true,
            appended,
        })
    }

    async fn open(&mut self) -> Result<Option<NodeLog>, ServiceError> {
        let (dir, keys) = (self.node_dir.clone(), self.keys.clone());
        let opened = tokio::task::spawn_blocking(move || NodeLog::open(&dir, &keys))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        match opened {
            Ok(log) => {
                tracing::info!(
                    size = log.published().size,
                    "this process now sequences the event log"
                );
                self.log = Some(log.clone());
                Ok(Some(log))
            }
            // The previous holder has not closed it yet (or a command has it open): next round.
            Err(EventLogError::Log(comity_tlog::LogError::Locked(_))) => {
                tracing::info!("event log still open elsewhere; trying again next round");
                Ok(None)
            }
            Err(e) => Err(ServiceError::Internal(e.to_string())),
        }
    }

    fn close(&mut self, why: &str) {
        if self.log.take().is_some() {
            tracing::warn!(reason = why, "this process stops sequencing the event log");
        }
    }

    async fn cosign(&mut self, log: &NodeLog) {
        let size = log.published().size;
        if self.witnesses.is_empty() || self.cosigned_size == Some(size) {
            return;
        }
        match witness::collect_cosignatures(log, &self.witnesses, &self.http).await {
            Ok(c) if c.failed.is_empty() => self.cosigned_size = Some(c.size),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cosignatures not collected"),
        }
    }

    /// Runs rounds every interval until `shutdown` completes, then closes the log and gives the lease up.
    pub async fn run(mut self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = tick.tick() => {
                    if let Err(e) = self.round().await {
                        tracing::warn!(error = %e, "event log round failed; trying again next round");
                    }
                }
            }
        }
        self.close("the node stops");
        if let Err(e) = self.service.release_lease(LEASE, &self.holder).await {
            tracing::warn!(error = %e, "releasing the log sequencer lease failed");
        }
    }
}
