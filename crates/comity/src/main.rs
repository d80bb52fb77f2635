//! The comity command line: create and run a node, read the rules catalogue, handle cases and requests, and run
//! the demonstration.
//!
//! Errors are presented here and only here: one line per problem, each saying what to do, and a non-zero exit.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// comity: international cooperation against cybercrime, with safeguards enforced by software.
#[derive(Debug, Parser)]
#[command(name = "comity", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scripted walk-through on a throwaway node and show each step.
    Demo(cmd::demo::DemoArgs),
    /// Create a new node: keys, config, API token and database.
    Init(cmd::init::InitArgs),
    /// Serve a node's HTTP API.
    Serve(cmd::serve::ServeArgs),
    /// Move a node's records from its SQLite file to a new PostgreSQL database.
    Migrate(cmd::migrate::MigrateArgs),
    /// Read the rules catalogue: mechanisms, fields, clocks, refusal grounds, citations.
    #[command(subcommand)]
    Rules(cmd::rules::RulesCommand),
    /// Open and list cases.
    #[command(subcommand)]
    Case(cmd::request::CaseCommand),
    /// Create, show, list and move requests through their lifecycle.
    #[command(subcommand)]
    Request(cmd::request::RequestCommand),
    /// Add, disable, reset and list the accounts of the web UI.
    #[command(subcommand)]
    User(cmd::user::UserCommand),
    /// Verify a node's transparency log, prove that an event is in it, check a proof.
    #[command(subcommand)]
    Log(cmd::log::LogCommand),
    /// Statistics of a period from the log, or the EEV Art 28 annual return.
    Stats(cmd::stats::StatsArgs),
    /// Prepare, sign, check and load the signed directory of authorities.
    #[command(subcommand)]
    Directory(cmd::directory::DirectoryCommand),
    /// Seal, verify and open evidence packages (BagIt + CASE/UCO + DSSE, encrypted with age); send them to the
    /// other side of a request.
    #[command(subcommand)]
    Evidence(cmd::evidence::EvidenceCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COMITY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo(args) => cmd::demo::run(args).await,
            Command::Init(args) => cmd::init::run(args).await,
            Command::Serve(args) => cmd::serve::run(args).await,
            Command::Migrate(args) => cmd::migrate::run(args).await,
            Command::Rules(c) => cmd::rules::run(c),
            Command::Case(c) => cmd::request::run_case(c).await,
            Command::Request(c) => cmd::request::run(c).await,
            Command::User(c) => cmd::user::run(c).await,
            Command::Log(c) => cmd::log::run(c).await,
            Command::Stats(args) => cmd::stats::run(args).await,
            Command::Directory(c) => cmd::directory::run(c).await,
            Command::Evidence(c) => cmd::evidence::run(c).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            for line in format!("{e:#}").lines() {
                eprintln!("error: {line}");
            }
            ExitCode::FAILURE
        }
    }
}
