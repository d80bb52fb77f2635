//! Running a node: open its directory, build the service, listen, and stop cleanly on a signal.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::serve::{Listener, ListenerExt};
use tokio::net::TcpListener;

use crate::api::{AppState, router};
use crate::config::{self, NodeDirError};
use crate::database::{Database, NodeStore};
use crate::eventlog::sequencer::LogSequencer;
use crate::eventlog::witness::{self, Collected, FollowedLog, NodeWitness, WitnessTarget};
use crate::eventlog::{EventLogError, NodeLog};
use crate::service::{Clock, NodeService, ServiceError, SystemClock};
use crate::sweeper::ClockSweeper;

/// How often a serving node appends events other processes wrote to the store.
const CATCH_UP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
/// How often a serving node looks for preservations whose expiry clock ran out.
const SWEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
/// How often the log sequencer of a node on a shared store renews its lease and appends what others committed.
const SEQUENCE_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// A node ready to serve.
pub struct Node {
    /// The service.
    pub service: NodeService,
    /// The API token.
    pub token: String,
    /// Default listen address from the config.
    pub listen: String,
    /// The certificate fingerprint peers pin (`tls_cert_sha256`).
    pub tls_cert_sha256: String,
    tls: Arc<rustls::ServerConfig>,
    /// How the web UI sets its cookies.
    pub ui: crate::ui::UiOptions,
    store: NodeStore,
    witness: Option<Arc<NodeWitness>>,
    witnesses: Vec<WitnessTarget>,
    http: reqwest::Client,
    deliver_in_background: bool,
    dir: std::path::PathBuf,
    log_keys: crate::eventlog::LogKeys,
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
        let tls = crate::tls::server_config(dir)?;
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
        let evidence = match &node_dir.config.evidence_store {
            Some(s3) => crate::evidence::EvidenceSide::with_s3(dir, s3.open(dir)?),
            None => crate::evidence::EvidenceSide::new(dir),
        };
        service = service.with_evidence(evidence);
        let keys = node_dir.log_keys()?;
        service = service.with_log_reader(crate::eventlog::LogReader::new(
            dir,
            node_dir.log_verifier()?,
        ));
        // On a shared store, serving processes take turns sequencing the log under a lease (see `run`); on SQLite
        // the process that opens the log first appends, the others leave it their events in the store.
        if matches!(store, NodeStore::Sqlite(_)) {
            match NodeLog::open(dir, &keys) {
                Ok(log) => service = service.with_log(log),
                // Another process (usually `comity serve`) holds the log; it appends what this one commits.
                Err(EventLogError::Log(comity_tlog::LogError::Locked(_))) => {
                    tracing::info!("event log held by another process");
                }
                Err(e) => return Err(e.into()),
            }
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
                let client = match crate::tls::route(&w.url, w.tls_cert_sha256.as_deref())
                    .map_err(|e| bad(format!("log_witnesses: {e}")))?
                {
                    crate::tls::Route::Pinned(fp) => Some(crate::tls::pinned_client(&[&fp])?),
                    crate::tls::Route::Loopback => None,
                };
                Ok(WitnessTarget {
                    url: w.url.clone(),
                    key: comity_tlog::CosignatureVerifier::parse(&w.key)
                        .map_err(|e| bad(format!("log_witnesses `{}`: {e}", w.url)))?,
                    client,
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
            tls_cert_sha256: node_dir.config.tls_cert_sha256.clone().unwrap_or_default(),
            tls,
            ui: crate::ui::UiOptions::default(),
            store,
            witness,
            witnesses,
            http,
            deliver_in_background: true,
            dir: dir.to_owned(),
            log_keys: keys,
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

    /// Serves HTTPS with the node's certificate until `shutdown` completes, then lets the store finish its queued
    /// writes.
    pub async fn serve_tls(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let listener = TlsListener::new(listener, self.tls.clone())?;
        self.run(listener, shutdown).await
    }

    /// Serves plain HTTP until `shutdown` completes; refused unless `listener` is bound to a loopback address.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        crate::tls::check_plain_http_listener(listener.local_addr()?)?;
        self.run(listener, shutdown).await
    }

    async fn run<L>(
        self,
        listener: L,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()>
    where
        L: Listener<Addr = SocketAddr>,
    {
        if let Err(e) = self.catch_up_log().await {
            tracing::warn!(error = %e, "event log catch-up failed");
        }
        let background = self.spawn_log_tasks();
        let app = self.router();
        let deliverer = self
            .deliver_in_background
            .then(|| tokio::spawn(deliver_forever(self.service.clone())));
        let proof_collector = self
            .deliver_in_background
            .then(|| tokio::spawn(collect_proofs_forever(self.service.clone())));
        // This process's name in the store's leases.
        let holder = format!(
            "serve-{}-{}",
            std::process::id(),
            uuid::Uuid::now_v7().simple()
        );
        let evidence_deliverer = self.deliver_in_background.then(|| {
            tokio::spawn(crate::evidence::transfer::deliver_forever(
                self.service.clone(),
                holder.clone(),
            ))
        });
        // Expiry clocks fire in one process of all those serving this node: the sweeper holds a store lease.
        let sweeper = ClockSweeper::new(self.service.clone(), holder.clone(), SWEEP_INTERVAL);
        let (stop_sweeper, stopped) = tokio::sync::oneshot::channel::<()>();
        let sweeping = tokio::spawn(sweeper.run(async {
            let _ = stopped.await;
        }));
        // On a shared store, the log is sequenced by the holder of a lease, whichever process that is.
        let (stop_sequencer, sequencer_stopped) = tokio::sync::oneshot::channel::<()>();
        let sequencing = (self.service.log().is_none()
            && matches!(self.store, NodeStore::Postgres(_)))
        .then(|| {
            let sequencer = LogSequencer::new(
                self.service.clone(),
                &self.dir,
                self.log_keys.clone(),
                format!(
                    "serve-{}-{}",
                    std::process::id(),
                    uuid::Uuid::now_v7().simple()
                ),
                SEQUENCE_INTERVAL,
            )
            .with_witnesses(self.witnesses.clone(), self.http.clone());
            tokio::spawn(sequencer.run(async {
                let _ = sequencer_stopped.await;
            }))
        });
        let served = axum::serve(
            listener.tap_io(|_: &mut L::Io| {}),
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        for task in [deliverer, proof_collector, evidence_deliverer, background]
            .into_iter()
            .flatten()
        {
            task.abort();
        }
        let _ = stop_sweeper.send(());
        if let Err(e) = sweeping.await {
            tracing::warn!(error = %e, "the clock sweeper stopped abnormally");
        }
        let _ = stop_sequencer.send(());
        if let Some(task) = sequencing
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "the log sequencer stopped abnormally");
        }
        self.store.close();
        served
    }
}

/// Serves any router over the same TLS stack as a node (the benchmark's floor uses it) until `shutdown` completes.
pub async fn serve_router_tls(
    listener: TcpListener,
    app: axum::Router,
    tls: Arc<rustls::ServerConfig>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = TlsListener::new(listener, tls)?;
    axum::serve(
        listener.tap_io(|_| {}),
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// How long a client may take to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A TCP listener whose connections come out TLS-terminated. Handshakes run in their own tasks, so a slow or hostile
/// client never holds up the others.
struct TlsListener {
    local: SocketAddr,
    ready: tokio::sync::mpsc::Receiver<(
        tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
        SocketAddr,
    )>,
    acceptor: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn new(tcp: TcpListener, config: Arc<rustls::ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let (tx, ready) = tokio::sync::mpsc::channel(64);
        let tls = tokio_rustls::TlsAcceptor::from(config);
        let acceptor = tokio::spawn(async move {
            let mut tcp = tcp;
            loop {
                let (stream, peer) = Listener::accept(&mut tcp).await;
                let _ = stream.set_nodelay(true);
                let tls = tls.clone();
                let tx = tx.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            let _ = tx.send((stream, peer)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self {
            local,
            ready,
            acceptor,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

impl Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The acceptor only stops when the listener is dropped; wait for shutdown.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
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

/// Fetches the receivers' log proofs of delivered messages, once a second, until aborted. It runs apart from
/// delivery, so that a receiver that accepts connections but never answers delays only its own proofs.
async fn collect_proofs_forever(service: NodeService) {
    loop {
        if let Err(e) = service.collect_receiver_proofs().await {
            tracing::warn!(error = %e, "cannot collect receivers' log proofs");
        }
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
