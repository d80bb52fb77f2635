//! Leases: of three holders competing through their own connections, exactly one holds the lease; it renews; when
//! it stops renewing, another takes over after expiry, and a release hands over at once. SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, reason = "a failing unwrap is a failing test")]

mod common;

use std::sync::Arc;

use comity_store::Store;
use comity_store::sqlite::SqliteStore;
use common::TestSchema;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const T0: OffsetDateTime = datetime!(2026-11-23 03:00 UTC);
const TTL_MS: u64 = 10_000;
const LEASE: &str = "clock-sweeper";

/// Each holder asks at the same instant through its own store; returns who got it.
async fn compete(holders: &[(&str, Arc<dyn Store>)], now: OffsetDateTime) -> Vec<String> {
    let attempts = holders.iter().map(|(name, store)| {
        let (name, store) = (name.to_string(), store.clone());
        tokio::spawn(async move {
            let won = store
                .try_acquire_lease(LEASE, &name, TTL_MS, now)
                .await
                .unwrap();
            won.then_some(name)
        })
    });
    let mut winners = Vec::new();
    for a in attempts.collect::<Vec<_>>() {
        if let Some(w) = a.await.unwrap() {
            winners.push(w);
        }
    }
    winners
}

async fn three_holders_and_fail_over(stores: [Arc<dyn Store>; 3]) {
    let [a, b, c] = stores;
    let all = [("a", a.clone()), ("b", b.clone()), ("c", c.clone())];

    let winners = compete(&all, T0).await;
    assert_eq!(winners.len(), 1, "exactly one holder: {winners:?}");
    let first = winners[0].clone();
    let store_of = |name: &str| all.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    let others: Vec<_> = all.iter().filter(|(n, _)| *n != first).cloned().collect();

    // The holder renews; nobody else gets it while it is valid, not even a millisecond before it ends.
    let renewed_at = T0 + Duration::seconds(5);
    assert!(
        store_of(&first)
            .try_acquire_lease(LEASE, &first, TTL_MS, renewed_at)
            .await
            .unwrap()
    );
    let ends = renewed_at + Duration::milliseconds(TTL_MS as i64);
    assert!(
        compete(&others, ends - Duration::milliseconds(1))
            .await
            .is_empty()
    );

    // The holder dies (stops renewing): after expiry exactly one of the others takes over.
    let winners = compete(&others, ends).await;
    assert_eq!(winners.len(), 1, "exactly one successor: {winners:?}");
    let second = winners[0].clone();
    assert_ne!(second, first);
    assert!(
        !store_of(&first)
            .try_acquire_lease(LEASE, &first, TTL_MS, ends + Duration::milliseconds(1))
            .await
            .unwrap(),
        "the old holder, back, must not take it"
    );

    // A release by someone who does not hold it changes nothing; the holder's release hands over at once.
    store_of(&first).release_lease(LEASE, &first).await.unwrap();
    let third = others.iter().find(|(n, _)| *n != second).unwrap();
    let now = ends + Duration::seconds(1);
    assert!(
        !third
            .1
            .try_acquire_lease(LEASE, third.0, TTL_MS, now)
            .await
            .unwrap()
    );
    store_of(&second)
        .release_lease(LEASE, &second)
        .await
        .unwrap();
    assert!(
        third
            .1
            .try_acquire_lease(LEASE, third.0, TTL_MS, now)
            .await
            .unwrap()
    );

    // Under repeated contention, every round after expiry has exactly one winner.
    let mut at = now;
    for round in 0..20 {
        at += Duration::milliseconds(TTL_MS as i64);
        let winners = compete(&all, at).await;
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
    }

    // Another lease name is independent.
    assert!(a.try_acquire_lease("other", "a", TTL_MS, T0).await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn sqlite_three_holders_one_lease_and_fail_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    // Three stores on one file, each with its own writer: as three processes would have.
    let stores = [
        Arc::new(SqliteStore::open(&path).unwrap()) as Arc<dyn Store>,
        Arc::new(SqliteStore::open(&path).unwrap()),
        Arc::new(SqliteStore::open(&path).unwrap()),
    ];
    three_holders_and_fail_over(stores).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn postgres_three_holders_one_lease_and_fail_over() {
    let Some(db) = TestSchema::new() else { return };
    // Three pools on one database: as three processes would have.
    let stores = [
        Arc::new(db.store().await) as Arc<dyn Store>,
        Arc::new(db.store().await),
        Arc::new(db.store().await),
    ];
    three_holders_and_fail_over(stores).await;
}
