//! Running a node: open its directory, build the service, listen, and stop cleanly on a signal.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{AppState, router};
use crate::config::{self, NodeDirError};
use crate::database::{Database, NodeStore};
use crate::service::{Clock, NodeService, SystemClock};
use crate::sweeper::ClockSweeper;

/// How often a serving node looks for preservations whose expiry clock ran out.
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

/// A node ready to serve.
pub struct Node {
    /// The service.
    pub service: NodeService,
    /// The API token.
    pub token: String,
    /// Default listen address from the config.
    pub listen: String,
    store: NodeStore,
}

impl Node {
    /// Opens the node in `dir` with the system clock.
    pub fn open(dir: &Path) -> Result<Self, NodeDirError> {
        Self::open_with_clock(dir, Arc::new(SystemClock))
    }

    /// Opens the node in `dir` with a given clock, on its SQLite file. A node whose config names a PostgreSQL
    /// database is refused: use [`Node::connect`].
    pub fn open_with_clock(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, NodeDirError> {
        let node_dir = config::open(dir)?;
        match node_dir.database()? {
            Database::Sqlite(path) => Self::open_with_store(
                dir,
                NodeStore::Sqlite(comity_store::sqlite::SqliteStore::open(&path)?),
                clock,
            ),
            other => Err(NodeDirError::NeedsConnect(other.describe())),
        }
    }

    /// Opens the node in `dir` on the store `database` names (`postgres://...` or `sqlite:PATH`), else the one its
    /// config names, else its SQLite file. A database that holds another node's records is refused; an empty one
    /// is marked as this node's.
    pub async fn connect(
        dir: &Path,
        database: Option<&Database>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, NodeDirError> {
        let node_dir = config::open(dir)?;
        let database = match database {
            Some(d) => d.clone(),
            None => node_dir.database()?,
        };
        let store = database.open().await?;
        let shared = store.shared();
        let expected = node_dir.identity.authority.as_str();
        match shared.meta("authority").await? {
            Some(found) if found != expected => {
                store.close();
                return Err(NodeDirError::ForeignDatabase {
                    database: database.describe(),
                    found,
                    expected: expected.to_owned(),
                });
            }
            Some(_) => {}
            None => shared.set_meta("authority", expected).await?,
        }
        Self::open_with_store(dir, store, clock)
    }

    /// Opens the node in `dir` on a store already opened (for example a PostgreSQL schema of its own in a test).
    pub fn open_with_store(
        dir: &Path,
        store: NodeStore,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, NodeDirError> {
        let node_dir = config::open(dir)?;
        let catalogue = node_dir.catalogue()?;
        let token = node_dir.api_token()?;
        let safeguards =
            crate::safeguards::Safeguards::embedded(&catalogue).map_err(|message| {
                NodeDirError::Catalogue {
                    path: "(safeguard rules and profiles)".into(),
                    message,
                }
            })?;
        let service = NodeService::new(
            node_dir.identity.clone(),
            catalogue,
            safeguards,
            store.shared(),
            clock,
        );
        Ok(Self {
            service,
            token,
            listen: node_dir.config.listen.clone(),
            store,
        })
    }

    /// The store this node runs on.
    pub fn store(&self) -> &NodeStore {
        &self.store
    }

    /// The router of this node.
    pub fn router(&self) -> axum::Router {
        router(AppState {
            service: self.service.clone(),
            token: self.token.as_str().into(),
        })
    }

    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(&self, addr: &str) -> std::io::Result<TcpListener> {
        TcpListener::bind(addr).await
    }

    /// Serves until `shutdown` completes, then lets the store finish its queued writes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let app = self.router();
        // Expiry clocks fire in one process of all those serving this node: the sweeper holds a store lease.
        let sweeper = ClockSweeper::new(
            self.service.clone(),
            format!(
                "serve-{}-{}",
                std::process::id(),
                uuid::Uuid::now_v7().simple()
            ),
            SWEEP_INTERVAL,
        );
        let (stop_sweeper, stopped) = tokio::sync::oneshot::channel::<()>();
        let sweeping = tokio::spawn(sweeper.run(async {
            let _ = stopped.await;
        }));
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        let _ = stop_sweeper.send(());
        if let Err(e) = sweeping.await {
            tracing::warn!(error = %e, "the clock sweeper stopped abnormally");
        }
        self.store.close();
        served
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
