//! The clock sweeper: a background task that expires preservations whose expiry clock has run out.
//!
//! Several processes may serve one node from one database; the sweep must run in only one of them at a time. Each
//! round, a sweeper takes or renews the store lease [`LEASE`] and sweeps only while it holds it. If the holder stops
//! (crash, kill, network), its lease runs out after [`ClockSweeper::ttl_ms`] and another process's next round takes
//! over. The time comes from the service's clock, so tests drive rounds with a manual clock and no sleeping.

use std::time::Duration;

use crate::service::{NodeService, ServiceError};

/// The store lease that guards the sweep.
pub const LEASE: &str = "clock-sweeper";
/// Requests handled per state per round, so one round stays short.
pub const ROUND_LIMIT: u32 = 200;

/// What one round did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Round {
    /// Whether this process held the lease (and so swept).
    pub held: bool,
    /// The requests expired.
    pub expired: Vec<String>,
    /// The emergency orders quarantined because their validation did not come in time.
    pub quarantined: Vec<String>,
}

/// Expires what is due, in one process of several.
#[derive(Debug, Clone)]
pub struct ClockSweeper {
    service: NodeService,
    holder: String,
    interval: Duration,
    ttl_ms: u64,
}

impl ClockSweeper {
    /// A sweeper for `service`, known to the others as `holder` (unique per process), sweeping every `interval`.
    /// The lease lasts three intervals, so a holder that misses a round keeps it, and one that stops is replaced
    /// within about three.
    pub fn new(service: NodeService, holder: impl Into<String>, interval: Duration) -> Self {
        let ttl_ms = u64::try_from(interval.as_millis().saturating_mul(3)).unwrap_or(u64::MAX);
        Self {
            service,
            holder: holder.into(),
            interval,
            ttl_ms,
        }
    }

    /// How long the lease lasts without renewal.
    pub fn ttl_ms(&self) -> u64 {
        self.ttl_ms
    }

    /// Who this sweeper is.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// One round: take or renew the lease, and sweep if held.
    pub async fn round(&self) -> Result<Round, ServiceError> {
        if !self
            .service
            .try_acquire_lease(LEASE, &self.holder, self.ttl_ms)
            .await?
        {
            return Ok(Round::default());
        }
        let expired = self.service.expire_due(ROUND_LIMIT).await?;
        let quarantined = self.service.quarantine_lapsed().await?;
        if !expired.is_empty() {
            tracing::info!(
                count = expired.len(),
                "expired preservations whose clock ran out"
            );
        }
        Ok(Round {
            held: true,
            expired,
            quarantined,
        })
    }

    /// Gives the lease up, so another process takes over at its next round.
    pub async fn release(&self) -> Result<(), ServiceError> {
        self.service.release_lease(LEASE, &self.holder).await
    }

    /// Runs rounds every interval until `shutdown` completes, then releases the lease.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send) {
        let mut tick = tokio::time::interval(self.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                _ = tick.tick() => {
                    if let Err(e) = self.round().await {
                        tracing::warn!(error = %e, "clock sweep failed; trying again next round");
                    }
                }
            }
        }
        if let Err(e) = self.release().await {
            tracing::warn!(error = %e, "releasing the clock sweeper lease failed");
        }
    }
}
