//! A standalone `comity-evidence` command for end-to-end tests and the benchmark; `comity evidence` is the same.

use clap::Parser;
use comity_evidence::cli::{EvidenceCommand, run};

/// Seal, verify and open evidence packages.
#[derive(Parser)]
#[command(name = "comity-evidence", version)]
struct Cli {
    #[command(subcommand)]
    command: EvidenceCommand,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // Messages of this crate already carry their cause; one line is enough.
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
