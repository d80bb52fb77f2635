//! Test support: a node directory, a throwaway PostgreSQL schema per test (dropped even after a panic), and a hung
//! peer.
#![allow(
    clippy::unwrap_used,
    dead_code,
    reason = "test support; each test file uses part of it"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};
use comity_store::postgres::PostgresStore;
use time::OffsetDateTime;

/// Where the tests find PostgreSQL when `COMITY_TEST_POSTGRES_URL` is unset.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The server to test against: `COMITY_TEST_POSTGRES_URL`, or the local default if something listens on 5432.
pub fn postgres_url() -> Option<String> {
    if let Ok(url) = std::env::var("COMITY_TEST_POSTGRES_URL") {
        return Some(url);
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 5432));
    std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(1))
        .ok()
        .map(|_| DEFAULT_URL.to_owned())
}

/// A new node directory for `authority` (kind contact point, State FR) in `parent`.
pub async fn init_node(parent: &std::path::Path, authority: &str, now: OffsetDateTime) -> PathBuf {
    init_node_as(parent, authority, AuthorityKind::ContactPoint, now).await
}

/// A new node directory for `authority` of `kind` (State FR) in `parent`.
pub async fn init_node_as(
    parent: &std::path::Path,
    authority: &str,
    kind: AuthorityKind,
    now: OffsetDateTime,
) -> PathBuf {
    let dir = parent.join(authority);
    let params = InitParams {
        authority: AuthorityId::parse(authority).unwrap(),
        state: IsoCountry::parse("FR").unwrap(),
        kind,
        name: "Test authority".into(),
    };
    config::init(&dir, &params, now).await.unwrap();
    dir
}

/// A schema of its own on the test server.
pub struct TestSchema {
    pub url: String,
    pub name: String,
}

impl TestSchema {
    /// A fresh schema name, or `None` (after saying so) when there is no server.
    pub fn new() -> Option<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let Some(url) = postgres_url() else {
            println!("skipped: no PostgreSQL (set COMITY_TEST_POSTGRES_URL)");
            return None;
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "comity_node_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Some(Self { url, name })
    }

    /// A store in this schema (created, with migrations applied, on first use).
    pub async fn store(&self) -> PostgresStore {
        PostgresStore::connect_in_schema(&self.url, &self.name)
            .await
            .unwrap()
    }

    /// The URL with this schema as its search path, as a user would write it in `config.toml`.
    pub fn url_in_schema(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-csearch_path%3D{}", self.url, self.name)
    }

    /// A raw connection whose `search_path` is this schema, for going around the store.
    pub async fn raw(&self) -> tokio_postgres::Client {
        let mut config: tokio_postgres::Config = self.url.parse().unwrap();
        config.options(format!("-c search_path={}", self.name));
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .unwrap();
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                    .await
                    .unwrap();
            });
        });
        if cleanup.join().is_err() {
            eprintln!("could not drop test schema `{}`", self.name);
        }
    }
}

/// Takes `port` on loopback once it is free (a stopped server may hold it a moment) and behaves like a hung process:
/// it accepts every connection and never answers. Abort the task to let go of the port.
pub async fn hung_peer(port: u16) -> tokio::task::JoinHandle<()> {
    let mut bound = None;
    for _ in 0..100 {
        if let Ok(listener) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            bound = Some(listener);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let listener = bound.expect("the port is free again");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((conn, _)) = listener.accept().await {
            held.push(conn);
        }
    })
}
