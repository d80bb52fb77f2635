//! `comity serve`: run a node's HTTP API until Ctrl-C or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use comity_node::server::shutdown_signal;

/// Arguments of `comity serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The node directory.
    #[arg(long)]
    dir: PathBuf,
    /// Address to listen on (default: the config's `listen`, 127.0.0.1:7410).
    #[arg(long)]
    listen: Option<String>,
    /// The database, if not the one the config names (default `node.db` in the directory):
    /// `postgres://user@host:port/dbname`, shared by every process serving this node, or `sqlite:PATH`.
    #[arg(long, env = "COMITY_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Let the web UI's cookies travel over plain HTTP (no `Secure`): only on a loopback address, for local
    /// demonstrations and tests. Anywhere else, serve behind TLS.
    #[arg(long)]
    plain_http_cookies: bool,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut node = super::open_node(&args.dir, args.database.as_deref()).await?;
    let addr = args.listen.clone().unwrap_or_else(|| node.listen.clone());
    let listener = node.bind(&addr).await.with_context(|| {
        format!("cannot listen on `{addr}`; choose another address with --listen")
    })?;
    let local = listener.local_addr()?;
    if args.plain_http_cookies {
        node.ui = comity_node::ui::UiOptions::plain_http_on_loopback(&local)?;
    }
    println!(
        "comity node `{}` listening on http://{local}",
        node.service.node().authority
    );
    println!("  records in {}", node.store().describe());
    println!("  web UI at http://{local}/ (add accounts with `comity user add`)");
    println!(
        "  API token in {}",
        args.dir.join(comity_node::config::API_TOKEN_FILE).display()
    );
    node.serve(listener, shutdown_signal()).await?;
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}
