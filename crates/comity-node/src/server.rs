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
    /// How the web UI sets its cookies.
    pub ui: crate::ui::UiOptions,
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
        let service = NodeService::new(
            node_dir.identity.clone(),
            catalogue,
            Arc::new(store.clone()),
            clock,
        );
        Ok(Self {
            service,
            token,
            listen: node_dir.config.listen.clone(),
            ui: crate::ui::UiOptions::default(),
            store,
        })
    }

    /// The router of this node.
    pub fn router(&self) -> axum::Router {
        router(AppState {
            service: self.service.clone(),
            token: self.token.as_str().into(),
            ui: self.ui,
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
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await?;
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
