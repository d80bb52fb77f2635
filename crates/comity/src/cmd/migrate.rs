//! `comity migrate`: move a node's records from its SQLite file to PostgreSQL, ids, versions and events intact.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use comity_node::config::{self, CONFIG_FILE};
use comity_node::database::{Database, redact};
use comity_store::migrate::{MigrateError, copy_all};

/// Arguments of `comity migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// The node directory.
    #[arg(long)]
    dir: PathBuf,
    /// Where the records are now (default: `node.db` in the directory), as `sqlite:PATH`.
    #[arg(long)]
    from: Option<String>,
    /// The new, empty database: `postgres://user@host:port/dbname`.
    #[arg(long, env = "COMITY_MIGRATE_TO", hide_env_values = true)]
    to: String,
}

pub async fn run(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let node_dir = config::open(&args.dir)?;
    let from = match &args.from {
        Some(address) => Database::parse(address)?,
        None => Database::Sqlite(args.dir.join(config::DATABASE_FILE)),
    };
    let Database::Sqlite(source_path) = &from else {
        bail!("`--from` must name the SQLite file the node runs on now, as `sqlite:PATH`");
    };
    if !source_path.is_file() {
        bail!(
            "`{}` does not exist; name the node's database with `--from sqlite:PATH`",
            source_path.display()
        );
    }
    let to = Database::parse(&args.to)?;
    let Database::Postgres(url) = &to else {
        bail!("`--to` must be a PostgreSQL database, `postgres://user@host:port/dbname`");
    };
    let source = from
        .open()
        .await
        .with_context(|| format!("cannot open {}", from.describe()))?;
    let target = to
        .open()
        .await
        .with_context(|| format!("cannot open {}", to.describe()))?;
    let copied = copy_all(source.shared().as_ref(), target.shared().as_ref()).await;
    source.close();
    target.close();
    let copied = match copied {
        Ok(c) => c,
        // One line: the refusal says why and what to do.
        Err(refusal @ MigrateError::TargetNotEmpty(_)) => bail!(
            "{refusal}; if `comity migrate` ran already, the node only needs `database` in its {CONFIG_FILE}"
        ),
        Err(e) => return Err(e.into()),
    };
    println!(
        "copied {} case(s), {} request(s), {} event(s), {} other record(s) (accounts, cross-border links, threads \
         and messages) and {} setting(s) from {} to {}",
        copied.cases,
        copied.requests,
        copied.events,
        copied.other,
        copied.meta,
        from.describe(),
        to.describe()
    );
    let shown = redact(url, "PASSWORD");
    println!(
        "to run the node on PostgreSQL, add this line to {}:",
        args.dir.join(CONFIG_FILE).display()
    );
    println!("  database = \"{shown}\"");
    if shown != *url {
        println!(
            "  (put the password in place of PASSWORD and keep {CONFIG_FILE} readable by the node's user only, or leave `database` out and set COMITY_DATABASE for `comity serve`)"
        );
    }
    if node_dir.config.database.is_some() {
        println!("  replacing the `database` line it has now");
    }
    println!(
        "{} is left as it was; keep it until the node runs on PostgreSQL",
        source_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
