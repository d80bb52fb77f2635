//! `comity directory`: prepare, sign, check, show and load the signed directory of authorities.
//!
//! The operator keeps an unsigned draft (JSON), adds nodes to it from their directories, revokes keys, and publishes
//! signed versions. Nodes pin the operator's public key and load a version only if it verifies and is newer.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use comity_node::federation::directory::{
    Directory, DirectoryDocument, DirectoryEntry, Revocation,
};
use comity_seal::dsse::Envelope;
use comity_seal::keys::{NodeSigningKey, PublicKey};

/// `comity directory` subcommands.
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Create a directory operator signing key.
    OperatorKey {
        /// Where to write the key (0600, never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Add (or update) a node's entry in the draft, from the node's directory.
    Add {
        /// The draft (created if absent).
        #[arg(long)]
        draft: PathBuf,
        /// The node directory to describe.
        #[arg(long)]
        node: PathBuf,
        /// The node's base URL, as other nodes reach it.
        #[arg(long)]
        endpoint: String,
        /// Languages accepted, comma-separated ISO 639-1 codes.
        #[arg(long, default_value = "en")]
        languages: String,
        /// Hours of service.
        #[arg(long, default_value = "24/7")]
        hours: String,
        /// On-call contact.
        #[arg(long, default_value = "")]
        on_call: String,
        /// Days the entry stays valid.
        #[arg(long, default_value_t = 365)]
        valid_days: i64,
    },
    /// Revoke an authority's key in the draft.
    Revoke {
        /// The draft.
        #[arg(long)]
        draft: PathBuf,
        /// The authority.
        #[arg(long)]
        authority: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Sign the draft as the next version.
    Publish {
        /// The draft.
        #[arg(long)]
        draft: PathBuf,
        /// The operator key.
        #[arg(long)]
        operator_key: PathBuf,
        /// Where to write the signed directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a signed directory against the operator's public key.
    Verify {
        /// The signed directory.
        file: PathBuf,
        /// The operator's public key, `ed25519:...`.
        #[arg(long)]
        operator: String,
    },
    /// Show the entries of a signed directory or a draft.
    Show {
        /// A signed directory or a draft.
        file: PathBuf,
    },
    /// Install a signed directory on a node (it must verify against the node's pinned operator key and be newer).
    Load {
        /// The node directory.
        #[arg(long)]
        dir: PathBuf,
        /// Pin this operator key first, if the node pins none yet.
        #[arg(long)]
        pin: Option<String>,
        /// The signed directory: a file or an http(s) URL.
        source: String,
    },
}

fn read_draft(path: &Path) -> anyhow::Result<DirectoryDocument> {
    if !path.exists() {
        return Ok(DirectoryDocument {
            version: 0,
            issued_at: String::new(),
            operator: "comity directory".into(),
            authorities: Vec::new(),
        });
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("`{}` is not a directory draft", path.display()))
}

fn write_draft(path: &Path, doc: &DirectoryDocument) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(doc)?)
        .with_context(|| format!("cannot write `{}`", path.display()))
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn print(doc: &DirectoryDocument) {
    println!(
        "directory version {} by {} ({} authorities)",
        doc.version,
        doc.operator,
        doc.authorities.len()
    );
    for e in &doc.authorities {
        let status = e.revoked.as_ref().map_or_else(
            || format!("valid until {}", e.valid_until),
            |r| format!("REVOKED {}: {}", r.at, r.reason),
        );
        println!(
            "  {:<14} {} {:<18} {:<40} {status}",
            e.id, e.state, e.kind, e.endpoint
        );
    }
}

pub async fn run(command: DirectoryCommand) -> anyhow::Result<ExitCode> {
    match command {
        DirectoryCommand::OperatorKey { out } => {
            let key = NodeSigningKey::generate();
            key.write_new(&out)?;
            println!("operator key written to {}", out.display());
            println!("public key (pin it in every node): {}", key.public_key());
        }
        DirectoryCommand::Add {
            draft,
            node,
            endpoint,
            languages,
            hours,
            on_call,
            valid_days,
        } => {
            let node_dir = comity_node::config::open(&node)?;
            let mut doc = read_draft(&draft)?;
            let t = now();
            let entry = DirectoryEntry {
                id: node_dir.identity.authority.to_string(),
                state: node_dir.identity.state.to_string(),
                kind: node_dir.identity.kind.to_string(),
                name: node_dir.identity.name.clone(),
                languages: languages
                    .split(',')
                    .map(|l| l.trim().to_owned())
                    .filter(|l| !l.is_empty())
                    .collect(),
                hours,
                on_call,
                endpoint,
                signing_key: node_dir.identity.signing_public_key.clone(),
                age_recipient: node_dir.identity.age_recipient.clone(),
                tls_cert_sha256: node_dir.config.tls_cert_sha256.clone(),
                declarations: format!("profile:{}", node_dir.identity.state),
                valid_from: comity_node::wire::rfc3339(t),
                valid_until: comity_node::wire::rfc3339(t + time::Duration::days(valid_days)),
                revoked: None,
                log_key: node_dir.config.log_public_key.clone(),
            };
            doc.authorities.retain(|e| e.id != entry.id);
            doc.authorities.push(entry);
            doc.check().context("the entry does not check out")?;
            write_draft(&draft, &doc)?;
            println!(
                "added `{}` to {}",
                node_dir.identity.authority,
                draft.display()
            );
        }
        DirectoryCommand::Revoke {
            draft,
            authority,
            reason,
        } => {
            let mut doc = read_draft(&draft)?;
            let entry = doc
                .authorities
                .iter_mut()
                .find(|e| e.id == authority)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "`{authority}` is not in {}; see `comity directory show`",
                        draft.display()
                    )
                })?;
            entry.revoked = Some(Revocation {
                at: comity_node::wire::rfc3339(now()),
                reason,
            });
            write_draft(&draft, &doc)?;
            println!(
                "revoked `{authority}` in {}; publish to make it effective",
                draft.display()
            );
        }
        DirectoryCommand::Publish {
            draft,
            operator_key,
            out,
        } => {
            let mut doc = read_draft(&draft)?;
            doc.check().context("the draft does not check out")?;
            doc.version += 1;
            doc.issued_at = comity_node::wire::rfc3339(now());
            let key = NodeSigningKey::read(&operator_key)?;
            let env = doc.sign(&key);
            std::fs::write(&out, env.to_json())
                .with_context(|| format!("cannot write `{}`", out.display()))?;
            write_draft(&draft, &doc)?;
            println!(
                "published version {} to {} (operator {})",
                doc.version,
                out.display(),
                key.public_key()
            );
        }
        DirectoryCommand::Verify { file, operator } => {
            let operator: PublicKey = operator.parse()?;
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let env = Envelope::from_json(&bytes)
                .map_err(|e| anyhow::anyhow!("`{}`: {e}", file.display()))?;
            let dir = Directory::verify(&env, &operator)
                .with_context(|| format!("`{}` does not verify", file.display()))?;
            println!(
                "`{}` is directory version {} signed by {operator}, {} authorities",
                file.display(),
                dir.version,
                dir.authorities.len()
            );
        }
        DirectoryCommand::Show { file } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read `{}`", file.display()))?;
            let doc = match Envelope::from_json(&bytes) {
                Ok(env) => {
                    println!("(signed; check the signature with `comity directory verify`)");
                    let payload = comity_node::federation::exchange::payload_text(
                        &String::from_utf8_lossy(&bytes),
                    )
                    .ok_or_else(|| {
                        anyhow::anyhow!("`{}` has an unreadable payload", file.display())
                    })?;
                    let _ = env;
                    serde_json::from_str(&payload)?
                }
                Err(_) => read_draft(&file)?,
            };
            print(&doc);
        }
        DirectoryCommand::Load { dir, pin, source } => {
            let bytes = if source.starts_with("http://") || source.starts_with("https://") {
                reqwest::get(&source)
                    .await
                    .and_then(|r| r.error_for_status())
                    .with_context(|| format!("cannot fetch `{source}`"))?
                    .bytes()
                    .await?
                    .to_vec()
            } else {
                std::fs::read(&source).with_context(|| format!("cannot read `{source}`"))?
            };
            let env =
                Envelope::from_json(&bytes).map_err(|e| anyhow::anyhow!("`{source}`: {e}"))?;
            let mut node_dir = comity_node::config::open(&dir)?;
            if let Some(key) = pin {
                node_dir.pin_directory_operator(&key.parse()?)?;
            }
            let node = comity_node::server::Node::open(&dir)?;
            let version = node.service.federation().install_directory(&env)?;
            println!(
                "node `{}` now uses directory version {version}",
                node_dir.identity.authority
            );
            println!("a running node loads it at restart, or PUT it to /api/v1/directory");
        }
    }
    Ok(ExitCode::SUCCESS)
}
