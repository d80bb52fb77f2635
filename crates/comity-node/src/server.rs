//! Running a node: open its directory, build the service, listen, and stop cleanly on a signal.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::api::{AppState, router};
use crate::config::{self, NodeDirError};
use crate::service::{Clock, NodeService, SystemClock};

/// A node ready to serve.
pub struct Node {
    /// The service.
    pub service: NodeService,
    /// The API token.
    pub token: String,
    /// Default listen address from the config.
    pub listen: String,
    store: comity_store::sqlite::SqliteStore,
}

impl Node {
    /// Opens the node in `dir` with the system clock.
    pub fn open(dir: &Path) -> Result<Self, NodeDirError> {
        Self::open_with_clock(dir, Arc::new(SystemClock))
    }

    /// Opens the node in `dir` with a given clock.
    pub fn open_with_clock(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, NodeDirError> {
        let node_dir = config::open(dir)?;
        let catalogue = node_dir.catalogue()?;
        let store = node_dir.store()?;
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
        let service = NodeService::new(
            node_dir.identity.clone(),
            catalogue,
            safeguards,
            federation,
            Arc::new(store.clone()),
            clock,
        );
        Ok(Self {
            service,
            token,
            listen: node_dir.config.listen.clone(),
            store,
        })
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
        let deliverer = tokio::spawn(deliver_forever(self.service.clone()));
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
        deliverer.abort();
        self.store.close();
        Ok(())
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
