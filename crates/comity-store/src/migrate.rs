//! Moving a node from one store to another (for example from SQLite to PostgreSQL), ids, versions and events intact,
//! with its user accounts and its cross-border records ([`crate::COPIED_TABLES`]).
//!
//! The node's event log is not in the store: its tiles, checkpoint and index stay in the node directory. Since every
//! event keeps its request id and position, the index still names the same events, and the log carries on from the
//! new store without appending anything twice.

use crate::{COPIED_TABLES, Import, Store, StoreError};

/// Records read and written per page.
pub const PAGE: u32 = 2000;

/// What [`copy_all`] moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Copied {
    /// Node settings.
    pub meta: u64,
    /// Cases.
    pub cases: u64,
    /// Requests.
    pub requests: u64,
    /// Events.
    pub events: u64,
    /// Rows of the other copied tables: user accounts, request links, threads, outbox, inbox, security events.
    pub other: u64,
}

/// Why a copy did not run or stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The target holds data already; copying into it could mix two nodes.
    #[error(
        "the target store is not empty (it holds {0}); copy into a new, empty database, or drop the target's tables first"
    )]
    TargetNotEmpty(&'static str),
    /// Reading the source failed.
    #[error("reading the source store failed: {0}")]
    Source(#[source] StoreError),
    /// Writing the target failed; the target may hold part of the data and must be emptied before a retry.
    #[error(
        "writing the target store failed: {0}; the target may hold part of the data, empty it before trying again"
    )]
    Target(#[source] StoreError),
}

/// Whether `store` holds no settings, cases, requests or events. Its schema may exist.
pub async fn is_empty(store: &dyn Store) -> Result<bool, StoreError> {
    Ok(first_record(store).await?.is_none())
}

async fn first_record(store: &dyn Store) -> Result<Option<&'static str>, StoreError> {
    if !store.all_meta().await?.is_empty() {
        return Ok(Some("node settings"));
    }
    if !store.cases_by_id(None, 1).await?.is_empty() {
        return Ok(Some("cases"));
    }
    if !store.requests_by_id(None, 1).await?.is_empty() {
        return Ok(Some("requests"));
    }
    if !store.events_by_key(None, 1).await?.is_empty() {
        return Ok(Some("events"));
    }
    for table in COPIED_TABLES {
        if !store.export_rows(table, 0, 1).await?.is_empty() {
            return Ok(Some(table.name));
        }
    }
    Ok(None)
}

/// Copies every setting, case, request and event of `from` into `to`, then the rows of [`COPIED_TABLES`], as they
/// are, and refuses if `to` holds anything already (so a second run into the same target is refused).
///
/// The source should not change meanwhile (stop the node first). Each page is one transaction in the target, in the
/// order cases, requests, events, so references always point to rows already copied; the node settings go last, so
/// an interrupted copy never looks like a finished node. An interrupted copy leaves a non-empty target, which a new
/// run refuses: empty it first.
#[tracing::instrument(skip_all)]
pub async fn copy_all(from: &dyn Store, to: &dyn Store) -> Result<Copied, MigrateError> {
    if let Some(what) = first_record(to).await.map_err(MigrateError::Target)? {
        return Err(MigrateError::TargetNotEmpty(what));
    }
    let mut copied = Copied::default();

    let mut after: Option<String> = None;
    loop {
        let page = from
            .cases_by_id(after.as_deref(), PAGE)
            .await
            .map_err(MigrateError::Source)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        copied.cases += page.len() as u64;
        to.import(Import {
            cases: page,
            ..Import::default()
        })
        .await
        .map_err(MigrateError::Target)?;
    }

    let mut after: Option<String> = None;
    loop {
        let page = from
            .requests_by_id(after.as_deref(), PAGE)
            .await
            .map_err(MigrateError::Source)?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.clone());
        copied.requests += page.len() as u64;
        to.import(Import {
            requests: page,
            ..Import::default()
        })
        .await
        .map_err(MigrateError::Target)?;
    }

    let mut after: Option<(String, u64)> = None;
    loop {
        let page = from
            .events_by_key(after.as_ref().map(|(id, seq)| (id.as_str(), *seq)), PAGE)
            .await
            .map_err(MigrateError::Source)?;
        let Some(last) = page.last() else { break };
        after = Some((last.request_id.clone(), last.seq));
        copied.events += page.len() as u64;
        to.import(Import {
            events: page,
            ..Import::default()
        })
        .await
        .map_err(MigrateError::Target)?;
    }

    for table in COPIED_TABLES {
        let mut offset = 0;
        loop {
            let page = from
                .export_rows(table, offset, PAGE)
                .await
                .map_err(MigrateError::Source)?;
            if page.is_empty() {
                break;
            }
            offset += page.len() as u64;
            copied.other += page.len() as u64;
            to.import_rows(table, page)
                .await
                .map_err(MigrateError::Target)?;
        }
    }

    let meta = from.all_meta().await.map_err(MigrateError::Source)?;
    copied.meta = meta.len() as u64;
    to.import(Import {
        meta,
        ..Import::default()
    })
    .await
    .map_err(MigrateError::Target)?;

    tracing::info!(
        cases = copied.cases,
        requests = copied.requests,
        events = copied.events,
        other = copied.other,
        "copied the node to the new store"
    );
    Ok(copied)
}
