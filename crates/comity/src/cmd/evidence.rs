//! `comity evidence`: the package commands of `comity-evidence` (`seal`, `verify`, `open`), sealing inside a node
//! (`seal --dir NODE --to AUTHORITY --request ID`: the recipient from the node's directory, the node's own key), and
//! attaching a package to a request so that it travels to the other side (`send`), and listing it (`list`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use comity_evidence::cli::SealArgs;
use comity_node::evidence::EvidenceView;

/// `comity evidence` subcommands.
#[derive(Debug, Subcommand)]
pub enum EvidenceCommand {
    #[command(flatten)]
    Package(comity_evidence::cli::EvidenceCommand),
    /// Attach a sealed package (and FILE.seal.json beside it) to a request; it travels to the other side of the
    /// request, which acknowledges it with a signed receipt
    Send(SendArgs),
    /// List the evidence held against a request, with seal, transfer and receipt status
    List(ListArgs),
}

/// Arguments of `send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The node directory
    #[arg(long)]
    dir: PathBuf,
    /// The node's database, if not the one its config names
    #[arg(long, env = "COMITY_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// The request (received from or sent to another authority)
    #[arg(long, value_name = "ID")]
    request: String,
    /// Who attaches (logged), default the login name
    #[arg(long, env = "USER", default_value = "operator")]
    actor: String,
    /// Send it from this process and wait for the receipt, instead of leaving it to `comity serve`
    #[arg(long)]
    wait: bool,
    /// Print JSON
    #[arg(long)]
    json: bool,
    /// The sealed package
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Arguments of `list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// The node directory
    #[arg(long)]
    dir: PathBuf,
    /// The node's database, if not the one its config names
    #[arg(long, env = "COMITY_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// The request
    #[arg(long, value_name = "ID")]
    request: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Runs one `comity evidence` command.
pub async fn run(command: EvidenceCommand) -> anyhow::Result<ExitCode> {
    match command {
        EvidenceCommand::Package(comity_evidence::cli::EvidenceCommand::Seal(args))
            if args.dir.is_some() =>
        {
            seal_in_node(args).await
        }
        EvidenceCommand::Package(c) => {
            tokio::task::spawn_blocking(move || {
                comity_evidence::cli::run(c).map(|()| ExitCode::SUCCESS)
            })
            .await?
        }
        EvidenceCommand::Send(args) => send(args).await,
        EvidenceCommand::List(args) => list(args).await,
    }
}

/// Seals with the node's key, to the age recipients the node's directory lists for `--to`, recording the request's
/// thread (the id both sides share) as the request.
async fn seal_in_node(mut args: SealArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.clone().context("`--dir` names the node")?;
    if args.signing_key.is_some() {
        anyhow::bail!(
            "inside a node the node's own key signs; drop `--signing-key` or drop `--dir`"
        );
    }
    let node = super::open_node(&dir, None).await?;
    let service = &node.service;
    let request = args
        .request
        .clone()
        .context("name the request the evidence answers with `--request ID`")?;
    let link = service.store().link(&request).await?.with_context(|| {
        format!(
            "request `{request}` was neither received from nor sent to another authority; evidence travels only on \
             such a request (see `comity request show --dir {} {request}`)",
            dir.display()
        )
    })?;
    let directory = service.federation().directory().with_context(|| {
        format!(
            "the node holds no directory of authorities; load one with `comity directory load --dir {}`",
            dir.display()
        )
    })?;
    let mut recipients = comity_evidence::cli::parse_recipients(&args.recipients)?;
    for to in &args.to {
        let authority = directory.authority(to).with_context(|| {
            format!(
                "`{to}` is not in directory version {}; see `comity directory show`",
                directory.version
            )
        })?;
        recipients.push(
            authority
                .entry
                .age_recipient
                .parse()
                .map_err(|_| {
                    anyhow::anyhow!(
                        "the directory's age recipient for `{to}` is malformed; ask the directory operator to fix it"
                    )
                })?,
        );
    }
    if !args.to.contains(&link.counterpart) {
        eprintln!(
            "note: request `{request}` is with `{}`; `comity evidence send` refuses a package `{}` cannot open",
            link.counterpart, link.counterpart
        );
    }
    let identity = service.identity();
    args.source_organization
        .get_or_insert_with(|| format!("{} ({})", identity.name, identity.authority));
    args.request = Some(link.thread.clone());
    let key = comity_seal::NodeSigningKey::read(&dir.join(comity_node::config::SIGNING_KEY_FILE))?;
    node.store().close();
    tokio::task::spawn_blocking(move || comity_evidence::cli::seal_with(args, recipients, &key))
        .await??;
    Ok(ExitCode::SUCCESS)
}

fn print_view(e: &EvidenceView) {
    println!(
        "{}  {}  {} bytes  seal: {}  {}{}  receipt: {}",
        e.id,
        e.package_sha256,
        e.size_bytes,
        e.seal_status,
        e.direction,
        match (&e.transfer, e.chunks_sent) {
            (Some(state), Some(sent)) => format!(
                " to {} ({state}, {sent}/{} chunks)",
                e.counterpart, e.chunk_count
            ),
            _ => format!(" from {}", e.counterpart),
        },
        e.receipt
    );
    if let Some(error) = &e.last_error {
        println!("    last error: {error}");
    }
}

async fn send(args: SendArgs) -> anyhow::Result<ExitCode> {
    let node = super::open_node(&args.dir, args.database.as_deref()).await?;
    let service = &node.service;
    let statement_file = comity_evidence::statement_path(&args.file);
    let statement = std::fs::read(&statement_file).with_context(|| {
        format!(
            "cannot read the seal statement `{}`; it is written beside the package by `comity evidence seal`",
            statement_file.display()
        )
    })?;
    let view = service
        .attach_evidence(
            &args.request,
            &args.file,
            &statement,
            &format!("cli:{}", args.actor),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))
        .with_context(|| {
            format!(
                "`{}` was not attached; nothing was stored",
                args.file.display()
            )
        })?;
    let mut view = view;
    if args.wait {
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            service
                .deliver_evidence_due()
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            view = service
                .evidence_list(&args.request)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?
                .evidence
                .into_iter()
                .find(|e| e.id == view.id)
                .context("the attached evidence disappeared")?;
            if view.transfer.as_deref() != Some("pending") || std::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    node.store().close();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print_view(&view);
        if !args.wait {
            println!("queued: the serving node (`comity serve`) sends it and records the receipt");
        }
    }
    match view.transfer.as_deref() {
        Some("refused") => {
            anyhow::bail!(
                "`{}` refused the package: {}",
                view.counterpart,
                view.last_error.unwrap_or_default()
            )
        }
        Some("pending") if args.wait => anyhow::bail!(
            "no receipt yet from `{}` ({}); `comity serve` keeps trying",
            view.counterpart,
            view.last_error.unwrap_or_default()
        ),
        _ => Ok(ExitCode::SUCCESS),
    }
}

async fn list(args: ListArgs) -> anyhow::Result<ExitCode> {
    let node = super::open_node(&args.dir, args.database.as_deref()).await?;
    let list = node
        .service
        .evidence_list(&args.request)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    node.store().close();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else if list.evidence.is_empty() {
        println!("no evidence on request `{}`", args.request);
    } else {
        for e in &list.evidence {
            print_view(e);
        }
    }
    Ok(ExitCode::SUCCESS)
}
