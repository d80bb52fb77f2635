//! `comity stats`: statistics of a period, or the EEV Art 28 annual return, each with the checkpoint it was computed
//! against.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::Args;
use comity_node::server::Node;
use comity_node::statistics::Period;
use time::Date;
use time::macros::format_description;

/// Arguments of `comity stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The node directory.
    #[arg(long)]
    dir: PathBuf,
    /// First day, YYYY-MM-DD (default: 1 January of this year).
    #[arg(long)]
    from: Option<String>,
    /// Last day, YYYY-MM-DD (default: today).
    #[arg(long)]
    to: Option<String>,
    /// Produce the EEV Art 28 annual return instead.
    #[arg(long, requires = "year")]
    eev_art28: bool,
    /// Year of the annual return.
    #[arg(long)]
    year: Option<i32>,
}

fn day(text: Option<&str>, flag: &str, default: Date) -> anyhow::Result<Date> {
    match text {
        None => Ok(default),
        Some(t) => Date::parse(t, format_description!("[year]-[month]-[day]"))
            .map_err(|_| anyhow!("{flag} `{t}` is not a date; give it as YYYY-MM-DD")),
    }
}

pub async fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let node = Node::open(&args.dir)?;
    if let Err(e) = node.catch_up_log().await {
        tracing::warn!(error = %e, "event log catch-up failed");
    }
    let json = if args.eev_art28 {
        let year = args.year.context("--eev-art28 needs --year YYYY")?;
        serde_json::to_string_pretty(&node.service.eev_art28(year).await?)?
    } else {
        if args.year.is_some() {
            bail!("--year goes with --eev-art28; for a period use --from and --to");
        }
        let today = time::OffsetDateTime::now_utc().date();
        let start = Date::from_calendar_date(today.year(), time::Month::January, 1)?;
        let period = Period {
            from: day(args.from.as_deref(), "--from", start)?,
            to: day(args.to.as_deref(), "--to", today)?,
        };
        if period.from > period.to {
            bail!("--from is after --to; swap them");
        }
        serde_json::to_string_pretty(&node.service.statistics(period).await?)?
    };
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
