//! `comity user add|disable|reset|list`: local accounts of the web UI.
//!
//! Passwords are read from standard input (one line), never from the command line, so they stay out of shell
//! history and process lists. The TOTP secret is printed once, when an account is made or reset.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use comity_node::access::Role;
use comity_node::accounts::{NewUser, TotpEnrolment};

/// Account commands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account; reads the password from standard input and prints the TOTP secret once.
    Add(AddArgs),
    /// Disable an account and end its sessions.
    Disable(NameArgs),
    /// Give an account a new password (from standard input) and a new TOTP secret; unlocks and re-enables it.
    Reset(NameArgs),
    /// List the accounts.
    List(DirArgs),
}

/// The node directory.
#[derive(Debug, Args)]
pub struct DirArgs {
    /// The node directory.
    #[arg(long)]
    dir: PathBuf,
}

/// Arguments of `comity user add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The node directory.
    #[arg(long)]
    dir: PathBuf,
    /// Login name.
    username: String,
    /// Role: caseworker, supervisor, judge, admin or auditor.
    #[arg(long)]
    role: String,
    /// Name shown in the UI (default: the login name).
    #[arg(long)]
    name: Option<String>,
    /// Language of the UI: en, fr, es, ru, zh or ar.
    #[arg(long, default_value = "en")]
    language: String,
    /// The authority the user works for (default: the node's own).
    #[arg(long)]
    authority: Option<String>,
}

/// A node directory and a login name.
#[derive(Debug, Args)]
pub struct NameArgs {
    /// The node directory.
    #[arg(long)]
    dir: PathBuf,
    /// Login name.
    username: String,
}

pub(crate) fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        anyhow::bail!(
            "no password on standard input; pipe one line, for example `read -rs P && echo \"$P\" | comity user add ...`"
        );
    }
    Ok(password)
}

fn show(enrolment: &TotpEnrolment) {
    println!(
        "TOTP secret (shown once; enter it in an authenticator app): {}",
        enrolment.secret_base32
    );
    println!("otpauth URI: {}", enrolment.uri);
}

pub async fn run(command: UserCommand) -> anyhow::Result<ExitCode> {
    match command {
        UserCommand::Add(args) => {
            let role: Role = args.role.parse()?;
            let password = read_password()?;
            let node = super::open_node(&args.dir, None).await?;
            let authority = args
                .authority
                .unwrap_or_else(|| node.service.node().authority);
            let enrolment = node
                .service
                .accounts()
                .add(NewUser {
                    display_name: args.name.unwrap_or_else(|| args.username.clone()),
                    username: args.username.clone(),
                    role,
                    authority,
                    language: args.language,
                    password,
                })
                .await?;
            println!("added `{}` ({role})", args.username);
            show(&enrolment);
        }
        UserCommand::Disable(args) => {
            let node = super::open_node(&args.dir, None).await?;
            node.service.accounts().disable(&args.username).await?;
            println!("disabled `{}`; their sessions have ended", args.username);
        }
        UserCommand::Reset(args) => {
            let password = read_password()?;
            let node = super::open_node(&args.dir, None).await?;
            let enrolment = node
                .service
                .accounts()
                .reset(&args.username, password)
                .await?;
            println!(
                "reset `{}`: new password, new TOTP secret, unlocked and enabled",
                args.username
            );
            show(&enrolment);
        }
        UserCommand::List(args) => {
            let node = super::open_node(&args.dir, None).await?;
            for u in node.service.accounts().list().await? {
                let status = if u.disabled { "disabled" } else { "enabled" };
                println!(
                    "{}\t{}\t{}\t{}\t{status}",
                    u.username, u.role, u.authority, u.language
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
