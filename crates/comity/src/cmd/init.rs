//! `comity init`: create a node directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use comity_core::{AuthorityId, AuthorityKind, IsoCountry};
use comity_node::config::{self, InitParams};

/// Arguments of `comity init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Directory of the new node (absent or empty).
    #[arg(long)]
    dir: PathBuf,
    /// Authority id, for example `fr-247`.
    #[arg(long)]
    authority: String,
    /// State, ISO 3166-1 alpha-2, for example `FR`.
    #[arg(long)]
    state: String,
    /// central-authority, contact-point, judicial, provider or oversight.
    #[arg(long)]
    kind: String,
    /// Name of the authority.
    #[arg(long)]
    name: String,
}

pub async fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let authority = AuthorityId::parse(&args.authority)?;
    let state = IsoCountry::parse(&args.state)?;
    let kind: AuthorityKind = args.kind.parse()?;
    let name = args.name.trim().to_owned();
    anyhow::ensure!(
        !name.is_empty() && name.chars().count() <= 200,
        "give the authority a name of 1 to 200 characters with --name"
    );
    let params = InitParams {
        authority,
        state,
        kind,
        name,
    };
    let node = config::init(&args.dir, &params, time::OffsetDateTime::now_utc())
        .await
        .with_context(|| format!("cannot create a node in `{}`", args.dir.display()))?;
    println!(
        "created node `{}` ({} {}) in {}",
        node.identity.authority,
        node.identity.state,
        node.identity.kind,
        args.dir.display()
    );
    println!("  signing key   {}", node.identity.signing_public_key);
    println!("  age recipient {}", node.identity.age_recipient);
    println!(
        "  TLS cert      sha256 {}",
        node.config.tls_cert_sha256.as_deref().unwrap_or_default()
    );
    println!("next: comity serve --dir {}", args.dir.display());
    Ok(ExitCode::SUCCESS)
}
