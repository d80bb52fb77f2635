//! The `comity evidence` commands: `seal`, `verify` and `open`, with progress bars on a terminal and `--json` output.
//!
//! The `comity` binary mounts [`EvidenceCommand`] as `comity evidence ...` and calls [`run`].

use std::io::IsTerminal;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::Context;
use comity_seal::{NodeSigningKey, PublicKey, keys::read_age_identity};
use serde::Serialize;

use crate::{Limits, ProgressSink, SealOptions, UnsealOptions};

/// Sealed evidence: seal, verify and open evidence packages.
#[derive(Debug, clap::Subcommand)]
pub enum EvidenceCommand {
    /// Seal files and directories into an encrypted, signed evidence package (BagIt inside age)
    Seal(SealArgs),
    /// Check a package against its seal statement; with --identity, also decrypt it and check every file
    Verify(VerifyArgs),
    /// Decrypt, verify and extract a package into a new directory
    Open(OpenArgs),
}

/// Arguments of `seal`.
#[derive(Debug, clap::Args)]
pub struct SealArgs {
    /// An age X25519 recipient (`age1...`) who can open the package; repeat for several
    #[arg(
        long = "recipient",
        short = 'r',
        value_name = "AGE_RECIPIENT",
        required_unless_present = "to"
    )]
    pub recipients: Vec<String>,
    /// The producing authority's signing key file (not with --dir: there the node's own key signs)
    #[arg(long, value_name = "KEYFILE", required_unless_present = "dir")]
    pub signing_key: Option<PathBuf>,
    /// The request this evidence answers (recorded as External-Identifier; with --dir, the node's request id, and
    /// the request's thread is recorded)
    #[arg(long = "request", value_name = "ID")]
    pub request: Option<String>,
    /// Seal inside a node: the node directory whose signing key signs (`comity evidence seal` only)
    #[arg(long, value_name = "DIR", requires = "request")]
    pub dir: Option<PathBuf>,
    /// With --dir: an authority of the node's directory who can open the package (its age recipient is looked up);
    /// repeat for several
    #[arg(long = "to", value_name = "AUTHORITY", requires = "dir")]
    pub to: Vec<String>,
    /// The producing authority (recorded as Source-Organization); defaults to the signing key
    #[arg(long, value_name = "NAME")]
    pub source_organization: Option<String>,
    /// The legal basis of the transfer, stated in the custody record
    #[arg(long, value_name = "TEXT")]
    pub legal_basis: Option<String>,
    /// Confidentiality condition that travels with the evidence
    #[arg(long, value_name = "TEXT")]
    pub confidentiality: Option<String>,
    /// Speciality condition (permitted use) that travels with the evidence
    #[arg(long, value_name = "TEXT")]
    pub speciality: Option<String>,
    /// The package to write (the seal statement is written beside it as FILE.seal.json)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: PathBuf,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
    /// Files and directories to seal
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
}

/// Arguments of `verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The package
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// An age identity file of a recipient: decrypt and check every file of the bag
    #[arg(long, short = 'i', value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// The producer's public key (`ed25519:...`); without it the key named in the statement is reported
    #[arg(long, value_name = "KEY")]
    pub producer_key: Option<PublicKey>,
    /// Largest payload accepted, in bytes or with a K, M, G or T suffix
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `open`.
#[derive(Debug, clap::Args)]
pub struct OpenArgs {
    /// The package
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// An age identity file of a recipient
    #[arg(long, short = 'i', value_name = "FILE")]
    pub identity: PathBuf,
    /// The directory to create (it must not exist)
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
    /// The producer's public key (`ed25519:...`); without it the key named in the statement is reported
    #[arg(long, value_name = "KEY")]
    pub producer_key: Option<PublicKey>,
    /// Largest payload accepted, in bytes or with a K, M, G or T suffix
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_size: Option<u64>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// Parses `123`, `64K`, `512M`, `2G`, `1T` (binary multiples; `KiB`-style and `B` suffixes accepted too).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a size (examples: 1048576, 512M, 2G, 1T)");
    let trimmed = text.trim();
    let upper = trimmed.to_ascii_uppercase();
    let upper = upper
        .strip_suffix("IB")
        .or_else(|| upper.strip_suffix('B'))
        .unwrap_or(&upper);
    let (digits, shift) = match upper.chars().last() {
        Some('K') => (&upper[..upper.len() - 1], 10),
        Some('M') => (&upper[..upper.len() - 1], 20),
        Some('G') => (&upper[..upper.len() - 1], 30),
        Some('T') => (&upper[..upper.len() - 1], 40),
        _ => (upper, 0),
    };
    let value: u64 = digits.trim().parse().map_err(|_| bad())?;
    value.checked_mul(1u64 << shift).ok_or_else(bad)
}

/// A terminal progress bar, or nothing when stderr is not a terminal.
struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    fn new(message: &'static str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message);
        Self(Some(bar))
    }

    fn sink(&self) -> Option<&dyn ProgressSink> {
        self.0.as_ref().map(|_| self as &dyn ProgressSink)
    }
}

impl ProgressSink for Bar {
    fn set_total(&self, total_bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.set_length(total_bytes);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).context("cannot format the result as JSON")?
    );
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn limits(max_size: Option<u64>) -> Limits {
    let mut limits = Limits::default();
    if let Some(max) = max_size {
        limits.max_payload_bytes = max;
    }
    limits
}

fn producer_line(report: &crate::VerifyReport) -> String {
    if report.producer_pinned {
        format!("signed by {} (the key you gave)", report.producer)
    } else {
        format!(
            "signed by {} (key taken from the statement: pass --producer-key to check who sealed it)",
            report.producer
        )
    }
}

/// Runs one `comity evidence` command.
pub fn run(cmd: EvidenceCommand) -> anyhow::Result<()> {
    match cmd {
        EvidenceCommand::Seal(args) => run_seal(args),
        EvidenceCommand::Verify(args) => run_verify(args),
        EvidenceCommand::Open(args) => run_open(args),
    }
}

/// The age recipients given with `--recipient`.
pub fn parse_recipients(recipients: &[String]) -> anyhow::Result<Vec<age::x25519::Recipient>> {
    recipients
        .iter()
        .map(|r| {
            age::x25519::Recipient::from_str(r).map_err(|_| {
                anyhow::anyhow!("`{r}` is not an age X25519 recipient (expected `age1...`)")
            })
        })
        .collect()
}

fn run_seal(args: SealArgs) -> anyhow::Result<()> {
    if args.dir.is_some() || !args.to.is_empty() {
        anyhow::bail!(
            "`--dir` and `--to` seal inside a node: run `comity evidence seal --dir NODE --to AUTHORITY ...`"
        );
    }
    let recipients = parse_recipients(&args.recipients)?;
    let Some(key_file) = &args.signing_key else {
        anyhow::bail!("name the producing authority's key with `--signing-key KEYFILE`");
    };
    let key = NodeSigningKey::read(key_file)?;
    seal_with(args, recipients, &key)
}

/// Seals with recipients and a key already resolved (by a node, for `--dir`), and reports as `seal` does.
pub fn seal_with(
    args: SealArgs,
    recipients: Vec<age::x25519::Recipient>,
    key: &NodeSigningKey,
) -> anyhow::Result<()> {
    let source_organization = args
        .source_organization
        .unwrap_or_else(|| format!("authority holding {}", key.public_key()));
    let bar = Bar::new("sealing");
    let report = crate::seal(
        SealOptions {
            recipients,
            signing_key: key,
            request_id: args.request,
            source_organization,
            legal_basis: args.legal_basis,
            confidentiality: args.confidentiality,
            speciality: args.speciality,
            inputs: args.paths,
            progress: bar.sink(),
        },
        &args.out,
    )?;
    drop(bar);
    if args.json {
        return print_json(&report);
    }
    let s = &report.statement;
    println!(
        "sealed {} file(s), {} into `{}`",
        s.bag.payload_files,
        human_bytes(s.bag.payload_bytes),
        report.package.display()
    );
    println!("seal statement: `{}`", report.statement_path.display());
    println!("ciphertext sha256: {}", s.package.sha256);
    println!("signed by: {}", s.producer);
    Ok(())
}

fn run_verify(args: VerifyArgs) -> anyhow::Result<()> {
    let identity = args
        .identity
        .as_deref()
        .map(read_age_identity)
        .transpose()?;
    let bar = Bar::new("verifying");
    let options = UnsealOptions {
        producer: args.producer_key.as_ref(),
        limits: limits(args.max_size),
        progress: bar.sink(),
    };
    let report = crate::verify_with(&args.file, identity.as_ref(), &options)?;
    drop(bar);
    if args.json {
        return print_json(&report);
    }
    println!(
        "ok: `{}` matches its seal statement (ciphertext sha256 {})",
        report.package.display(),
        report.statement.package.sha256
    );
    println!("{}", producer_line(&report));
    match (report.payload_files, report.payload_bytes) {
        (Some(files), Some(bytes)) => println!(
            "bag checked: {files} payload file(s), {}, tag manifest and signature valid",
            human_bytes(bytes)
        ),
        _ => println!("bag not checked: pass --identity to decrypt and check every file"),
    }
    Ok(())
}

fn run_open(args: OpenArgs) -> anyhow::Result<()> {
    let identity = read_age_identity(&args.identity)?;
    let bar = Bar::new("opening");
    let options = UnsealOptions {
        producer: args.producer_key.as_ref(),
        limits: limits(args.max_size),
        progress: bar.sink(),
    };
    let report = crate::open_with(&args.file, &identity, &args.out, &options)?;
    drop(bar);
    if args.json {
        return print_json(&report);
    }
    let v = &report.verification;
    println!(
        "opened `{}` into `{}`: {} payload file(s), {}, all verified",
        v.package.display(),
        report.out_dir.display(),
        v.payload_files.unwrap_or(0),
        human_bytes(v.payload_bytes.unwrap_or(0))
    );
    println!("{}", producer_line(v));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("1T"), Ok(1 << 40));
        for bad in ["", "G", "-1", "1.5G", "12X", "99999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn human_sizes_are_readable() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
