//! `comity serve`: run a node's API and web UI over HTTPS (its pinned self-signed certificate) until Ctrl-C or
//! SIGTERM; plain HTTP only on loopback and only with `--insecure-http`.

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
    /// Serve plain HTTP instead of HTTPS, with web UI cookies that travel without `Secure`: only on a loopback
    /// address, for local demonstrations and tests.
    #[arg(long, alias = "plain-http-cookies")]
    insecure_http: bool,
}

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut node = super::open_node(&args.dir, args.database.as_deref()).await?;
    let addr = args.listen.clone().unwrap_or_else(|| node.listen.clone());
    let listener = node.bind(&addr).await.with_context(|| {
        format!("cannot listen on `{addr}`; choose another address with --listen")
    })?;
    let local = listener.local_addr()?;
    if args.insecure_http {
        comity_node::tls::check_plain_http_listener(local)
            .map_err(|e| anyhow::anyhow!("--insecure-http refused: {e}"))?;
        node.ui = comity_node::ui::UiOptions::plain_http_on_loopback(&local)?;
    }
    let scheme = if args.insecure_http { "http" } else { "https" };
    println!(
        "comity node `{}` listening on {scheme}://{local}",
        node.service.node().authority
    );
    if !args.insecure_http {
        println!("  TLS certificate sha256 {}", node.tls_cert_sha256);
    }
    println!("  records in {}", node.store().describe());
    println!("  web UI at {scheme}://{local}/ (add accounts with `comity user add`)");
    println!(
        "  API token in {}",
        args.dir.join(comity_node::config::API_TOKEN_FILE).display()
    );
    if args.insecure_http {
        node.serve(listener, shutdown_signal()).await?;
    } else {
        node.serve_tls(listener, shutdown_signal()).await?;
    }
    println!("stopped");
    Ok(ExitCode::SUCCESS)
}
