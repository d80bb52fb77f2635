//! Running a node: open its directory, build the service, listen, and stop cleanly on a signal.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{AppState, router};
use crate::config::{self, NodeDirError};
use crate::database::{Database, NodeStore};
use crate::eventlog::witness::{self, Collected, FollowedLog, NodeWitness, WitnessTarget};
use crate::eventlog::{EventLogError, NodeLog};
use crate::service::{Clock, NodeService, ServiceError, SystemClock};
use crate::sweeper::ClockSweeper;

/// How often a serving node appends events other processes wrote to the store.
const CATCH_UP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
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
    /// How the web UI sets its cookies.
    pub ui: crate::ui::UiOptions,
    store: NodeStore,
    witness: Option<Arc<NodeWitness>>,
    witnesses: Vec<WitnessTarget>,
    http: reqwest::Client,
    deliver_in_background: bool,
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
        let federation = crate::federation::Federation::new(
            node_dir.signing_key()?,
            node_dir.directory_operator_key()?,
            Some(dir.join(config::DIRECTORY_FILE)),
        );
        let mut service = NodeService::new(
            node_dir.identity.clone(),
            catalogue,
            safeguards,
            federation,
            store.shared(),
            clock,
        );
        let keys = node_dir.log_keys()?;
        service = service.with_log_reader(crate::eventlog::LogReader::new(
            dir,
            node_dir.log_verifier()?,
        ));
        match NodeLog::open(dir, &keys) {
            Ok(log) => service = service.with_log(log),
            // Another process (usually `comity serve`) holds the log; it appends what this one commits.
            Err(EventLogError::Log(comity_tlog::LogError::Locked(_))) => {
                tracing::info!("event log held by another process");
            }
            Err(e) => return Err(e.into()),
        }
        let bad = |message: String| NodeDirError::BadConfig {
            path: dir.join(config::CONFIG_FILE),
            message,
        };
        let follows = node_dir
            .config
            .witness_follows
            .iter()
            .map(|f| {
                Ok(FollowedLog {
                    origin: f.origin.clone(),
                    key: comity_tlog::Ed25519Verifier::parse(&f.key)
                        .map_err(|e| bad(format!("witness_follows `{}`: {e}", f.origin)))?,
                })
            })
            .collect::<Result<Vec<_>, NodeDirError>>()?;
        let witness = if follows.is_empty()
            && node_dir.identity.kind != comity_core::AuthorityKind::Oversight
        {
            None
        } else {
            Some(Arc::new(NodeWitness::open(
                dir,
                keys.witness.clone(),
                &follows,
            )?))
        };
        let witnesses = node_dir
            .config
            .log_witnesses
            .iter()
            .map(|w| {
                Ok(WitnessTarget {
                    url: w.url.clone(),
                    key: comity_tlog::CosignatureVerifier::parse(&w.key)
                        .map_err(|e| bad(format!("log_witnesses `{}`: {e}", w.url)))?,
                })
            })
            .collect::<Result<Vec<_>, NodeDirError>>()?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| bad(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            service,
            token,
            listen: node_dir.config.listen.clone(),
            ui: crate::ui::UiOptions::default(),
            store,
            witness,
            witnesses,
            http,
            deliver_in_background: true,
        })
    }

    /// Appends the events the store holds and the log does not (see [`NodeService::catch_up_log`]).
    pub async fn catch_up_log(&self) -> Result<usize, ServiceError> {
        self.service.catch_up_log().await
    }

    /// Asks the configured witnesses to cosign the published checkpoint.
    pub async fn collect_cosignatures(&self) -> Result<Collected, EventLogError> {
        match self.service.log() {
            Some(log) if !self.witnesses.is_empty() => {
                witness::collect_cosignatures(log, &self.witnesses, &self.http).await
            }
            _ => Ok(Collected::default()),
        }
    }

    /// This node's witness, if it witnesses logs.
    pub fn witness(&self) -> Option<&Arc<NodeWitness>> {
        self.witness.as_ref()
    }

    /// Background work of a serving node: catch up the log now and then, and have each new checkpoint cosigned.
    fn spawn_log_tasks(&self) -> Option<tokio::task::JoinHandle<()>> {
        let log = self.service.log()?.clone();
        let service = self.service.clone();
        let witnesses = self.witnesses.clone();
        let http = self.http.clone();
        Some(tokio::spawn(async move {
            let mut changes = log.subscribe();
            let mut tick = tokio::time::interval(CATCH_UP_INTERVAL);
            let mut cosigned_size = None;
            loop {
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    _ = tick.tick() => {
                        if let Err(e) = service.catch_up_log().await {
                            tracing::warn!(error = %e, "event log catch-up failed");
                        }
                    }
                }
                // Let a burst of appends settle into one checkpoint before asking the witnesses.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                let size = log.published().size;
                if witnesses.is_empty() || cosigned_size == Some(size) {
                    continue;
                }
                match witness::collect_cosignatures(&log, &witnesses, &http).await {
                    Ok(c) if c.failed.is_empty() => cosigned_size = Some(c.size),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "cosignatures not collected"),
                }
            }
        }))
    }

    /// Leaves delivery of the outbox to explicit calls of `NodeService::deliver_due` (for tests that drive time).
    pub fn without_background_delivery(mut self) -> Self {
        self.deliver_in_background = false;
        self
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
            ui: self.ui,
            witness: self.witness.clone(),
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
        if let Err(e) = self.catch_up_log().await {
            tracing::warn!(error = %e, "event log catch-up failed");
        }
        let background = self.spawn_log_tasks();
        let app = self.router();
        let deliverer = self
            .deliver_in_background
            .then(|| tokio::spawn(deliver_forever(self.service.clone())));
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
        if let Some(task) = deliverer {
            task.abort();
        }
        if let Some(task) = background {
            task.abort();
        }
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

/// Delivers the outbox until aborted: whenever a message is queued, and when the next retry falls due.
async fn deliver_forever(service: NodeService) {
    loop {
        let wait = match service.deliver_due().await {
            Ok(Some(next)) => {
                let ms = (next - service.now()).whole_milliseconds().clamp(10, 1000);
                std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(1000))
            }
            Ok(None) => std::time::Duration::from_secs(1),
            Err(e) => {
                tracing::error!(error = %e, "outbox delivery failed");
                std::time::Duration::from_secs(1)
            }
        };
        service.federation().wait(wait).await;
    }
}
