//! `comity log`: verify a node's published log from outside, write an offline proof of one event, check a proof.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::Subcommand;
use comity_node::eventlog::leaf::{self, Leaf};
use comity_node::eventlog::proof::{self, Opening};
use comity_node::eventlog::{LogReader, read_keys};
use comity_tlog::proof::{HashReader, MemoryHashes};
use comity_tlog::tiles::{TILE_HEIGHT, TILE_WIDTH, TileKind, decode_bundle, decode_hash_tile};
use comity_tlog::{Checkpoint, CosignatureVerifier, Ed25519Verifier, Hash, Note, leaf_hash};
use serde::{Deserialize, Serialize};

/// `comity log` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Fetch a node's log, re-derive the tree, check the checkpoint, its cosignatures and consistency with the last
    /// checkpoint this verifier saw.
    Verify {
        /// Base URL of the node (`https://host:port`, or `http://` on loopback).
        #[arg(long)]
        url: String,
        /// The node's certificate fingerprint (`tls_cert_sha256` in its config.toml or directory entry), required
        /// for an `https://` URL: the node is trusted only if it presents exactly that certificate.
        #[arg(long)]
        tls_cert_sha256: Option<String>,
        /// The log's verifier key (`log_public_key` in the node's config.toml); needed the first time, then kept in
        /// the state file.
        #[arg(long)]
        log_key: Option<String>,
        /// A witness whose cosignature is required (cosignature/v1 verifier key); repeat for several.
        #[arg(long = "witness-key")]
        witness_keys: Vec<String>,
        /// Where this verifier keeps the last checkpoint it saw.
        #[arg(long, default_value = "comity-log-verify.state")]
        state_file: PathBuf,
    },
    /// Write an offline proof that an event is in the node's log.
    Prove {
        /// The node directory.
        #[arg(long)]
        dir: PathBuf,
        /// The event, `REQUEST_ID:SEQ`.
        #[arg(long)]
        event: String,
        /// Where to write the proof (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// Check an offline proof: of an event (`comity log prove`), or that a node logged a message it received (kept
    /// with the receipt, in the request's exchange view).
    CheckProof {
        /// The proof file.
        file: PathBuf,
        /// The log key to trust (default: the one in the file, which proves only self-consistency).
        #[arg(long)]
        log_key: Option<String>,
        /// For a message proof: the SHA-256 (hex) of the envelope you hold (default: the one in the file).
        #[arg(long)]
        message_sha256: Option<String>,
    },
    /// Reconcile two nodes' published logs: what A logged as sent to B against what B logged as received from A.
    /// Exits non-zero when they disagree.
    Reconcile {
        /// Node A's base URL.
        #[arg(long)]
        a_url: String,
        /// Node A's log key (`log_public_key` in its config.toml or directory entry).
        #[arg(long)]
        a_log_key: String,
        /// Node A's certificate fingerprint, for an `https://` URL.
        #[arg(long)]
        a_tls_cert_sha256: Option<String>,
        /// Node A's State (ISO 3166 code).
        #[arg(long)]
        a_state: String,
        /// Node B's base URL.
        #[arg(long)]
        b_url: String,
        /// Node B's log key.
        #[arg(long)]
        b_log_key: String,
        /// Node B's certificate fingerprint, for an `https://` URL.
        #[arg(long)]
        b_tls_cert_sha256: Option<String>,
        /// Node B's State (ISO 3166 code).
        #[arg(long)]
        b_state: String,
        /// First day (YYYY-MM-DD), default 1 January of this year.
        #[arg(long)]
        from: Option<String>,
        /// Last day (YYYY-MM-DD), default today.
        #[arg(long)]
        to: Option<String>,
    },
}

/// The HTTP client for a node: pinned to its certificate (`flag` says how to give it) over HTTPS, plain only on
/// loopback.
fn client_for(url: &str, fingerprint: Option<&str>, flag: &str) -> anyhow::Result<reqwest::Client> {
    Ok(
        match comity_node::tls::route(url, fingerprint)
            .map_err(|e| anyhow!("{e}; pass {flag} for an https:// URL"))?
        {
            comity_node::tls::Route::Pinned(fp) => comity_node::tls::pinned_client(&[&fp])?,
            comity_node::tls::Route::Loopback => comity_node::tls::loopback_client()?,
        },
    )
}

fn parse_day(text: &str, flag: &str) -> anyhow::Result<time::Date> {
    time::Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| anyhow!("{flag} `{text}` is not a day; write it YYYY-MM-DD"))
}

#[allow(
    clippy::too_many_arguments,
    reason = "one argument per command-line flag"
)]
async fn reconcile(
    (a_url, a_key, a_fp, a_state): (&str, &str, Option<&str>, &str),
    (b_url, b_key, b_fp, b_state): (&str, &str, Option<&str>, &str),
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let today = time::OffsetDateTime::now_utc().date();
    let period = comity_node::statistics::Period {
        from: match from {
            Some(d) => parse_day(d, "--from")?,
            None => time::Date::from_calendar_date(today.year(), time::Month::January, 1)?,
        },
        to: match to {
            Some(d) => parse_day(d, "--to")?,
            None => today,
        },
    };
    let state = |code: &str, flag: &str| {
        comity_core::IsoCountry::parse(code)
            .map_err(|e| anyhow!("{flag} `{code}`: {e}; give an ISO 3166 code such as FR"))
    };
    let (a_state, b_state) = (state(a_state, "--a-state")?, state(b_state, "--b-state")?);
    let mut logs = Vec::new();
    for (url, key, fp, flag) in [
        (a_url, a_key, a_fp, "--a-log-key"),
        (b_url, b_key, b_fp, "--b-log-key"),
    ] {
        let key = Ed25519Verifier::parse(key).map_err(|e| {
            anyhow!(
                "{flag} `{key}` is not a verifier key ({e}); copy it from the node's config.toml"
            )
        })?;
        let client = client_for(url, fp, "the certificate fingerprint")?;
        logs.push(
            fetch_log(&client, url.trim_end_matches('/'), &key)
                .await
                .with_context(|| format!("the log at `{url}` does not verify"))?,
        );
    }
    let r = comity_node::statistics::reconcile(
        &logs[0].leaves,
        a_state,
        &logs[1].leaves,
        b_state,
        period,
    );
    println!(
        "{a_state} -> {b_state}, {} to {}: {} matched, {} mismatched (A at size {}, B at size {})",
        period.from,
        period.to,
        r.matched,
        r.mismatches.len(),
        logs[0].checkpoint.size,
        logs[1].checkpoint.size
    );
    for m in &r.mismatches {
        match m {
            comity_node::statistics::Mismatch::NotReceived(h) => {
                println!("  sent by A, not logged as received by B: message {h}")
            }
            comity_node::statistics::Mismatch::NotSent(h) => {
                println!("  received by B, not logged as sent by A: message {h}")
            }
            comity_node::statistics::Mismatch::CountDiffers {
                mechanism,
                sent,
                received,
            } => println!("  {mechanism}: A logged {sent} sent, B logged {received} received"),
        }
    }
    Ok(if r.mismatches.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn run(command: LogCommand) -> anyhow::Result<ExitCode> {
    match command {
        LogCommand::Verify {
            url,
            tls_cert_sha256,
            log_key,
            witness_keys,
            state_file,
        } => {
            let client = client_for(&url, tls_cert_sha256.as_deref(), "--tls-cert-sha256")?;
            verify(&client, &url, log_key, &witness_keys, &state_file).await
        }
        LogCommand::Prove { dir, event, out } => prove(&dir, &event, &out).await,
        LogCommand::Reconcile {
            a_url,
            a_log_key,
            a_tls_cert_sha256,
            a_state,
            b_url,
            b_log_key,
            b_tls_cert_sha256,
            b_state,
            from,
            to,
        } => {
            reconcile(
                (&a_url, &a_log_key, a_tls_cert_sha256.as_deref(), &a_state),
                (&b_url, &b_log_key, b_tls_cert_sha256.as_deref(), &b_state),
                from.as_deref(),
                to.as_deref(),
            )
            .await
        }
        LogCommand::CheckProof {
            file,
            log_key,
            message_sha256,
        } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("cannot read `{}`; check the path", file.display()))?;
            let format = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| v["format"].as_str().map(str::to_owned));
            if format.as_deref() == Some(proof::MESSAGE_PROOF_FORMAT) {
                let checked =
                    proof::check_message(&bytes, log_key.as_deref(), message_sha256.as_deref())?;
                println!(
                    "proof ok: `{}` logged the message as leaf {} ({} {} {}→{} on {}), checkpoint size {}",
                    checked.checkpoint.origin,
                    checked.index,
                    checked.leaf.kind,
                    checked.leaf.mechanism,
                    checked.leaf.sending_state.as_str(),
                    checked.leaf.receiving_state.as_str(),
                    checked.leaf.day,
                    checked.checkpoint.size,
                );
                if log_key.is_none() {
                    println!(
                        "  the log key was taken from the file; pass --log-key to check it against a key you trust"
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            let checked = proof::check(&bytes, log_key.as_deref())?;
            println!(
                "proof ok: leaf {} of `{}` at size {} ({} {} {}→{} on {})",
                checked.index,
                checked.checkpoint.origin,
                checked.checkpoint.size,
                checked.leaf.kind,
                checked.leaf.mechanism,
                checked.leaf.sending_state.as_str(),
                checked.leaf.receiving_state.as_str(),
                checked.leaf.day,
            );
            if log_key.is_none() {
                println!(
                    "  the log key was taken from the file; pass --log-key to check it against a key you trust"
                );
            }
            if !checked.cosignature_names.is_empty() {
                println!("  cosigned by: {}", checked.cosignature_names.join(", "));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn prove(dir: &Path, event: &str, out: &Path) -> anyhow::Result<ExitCode> {
    let (request_id, seq) = event
        .rsplit_once(':')
        .and_then(|(id, seq)| Some((id.to_owned(), seq.parse::<u64>().ok()?)))
        .ok_or_else(|| {
            anyhow!("`{event}` is not an event; give it as REQUEST_ID:SEQ, for example req-...:2")
        })?;
    let node_dir = comity_node::config::open(dir)?;
    let keys = read_keys(dir)?;
    let reader = LogReader::new(dir, node_dir.log_verifier()?);
    let store = node_dir.store()?;
    let events = comity_store::Store::events(&store, &request_id).await?;
    let record = events
        .iter()
        .find(|e| e.seq == seq)
        .ok_or_else(|| {
            anyhow!("request `{request_id}` has no event {seq}; see `comity request show`")
        })?
        .clone();
    let mut index = reader.index_of(&request_id, seq)?;
    if index.is_none() {
        // Not logged yet: catch up if no other process holds the log.
        let node = comity_node::server::Node::open(dir)?;
        node.catch_up_log().await?;
        drop(node);
        index = reader.index_of(&request_id, seq)?;
    }
    store.close();
    let index = index.ok_or(comity_node::eventlog::EventLogError::NotLogged {
        request_id: request_id.clone(),
        seq,
    })?;
    let inclusion = reader.inclusion(index)?;
    let opening = Opening {
        request_id: record.request_id.clone(),
        seq,
        action: record.action.clone(),
        from_state: record.from_state.clone(),
        to_state: record.to_state.clone(),
        at_ms: i64::try_from(record.at.unix_timestamp_nanos() / 1_000_000)?,
        event_salt: leaf::salt_to_base64(&leaf::event_salt(&keys.salt, &request_id, seq)),
    };
    let proof = proof::build(&node_dir.log_verifier()?, &inclusion, opening);
    let bytes = serde_json::to_vec_pretty(&proof)?;
    proof::check(&bytes, None)
        .context("the proof just written does not check; the log may be damaged")?;
    std::fs::write(out, &bytes)
        .with_context(|| format!("cannot write `{}`; choose another --out", out.display()))?;
    println!(
        "wrote {}: event {request_id}:{seq} is leaf {index} of {}",
        out.display(),
        inclusion_size(&inclusion.checkpoint)
    );
    Ok(ExitCode::SUCCESS)
}

fn inclusion_size(note: &[u8]) -> String {
    Note::parse(note)
        .ok()
        .and_then(|n| Checkpoint::parse(n.text()).ok())
        .map(|c| format!("the tree of size {}", c.size))
        .unwrap_or_else(|| "the tree".into())
}

/// What a verifier remembers about a log.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifierState {
    log_key: String,
    size: u64,
    root: String,
}

async fn fetch(client: &reqwest::Client, url: &str) -> anyhow::Result<Vec<u8>> {
    let response = client.get(url).send().await.with_context(|| {
        format!("cannot fetch `{url}`; check --url and that the node is serving")
    })?;
    if !response.status().is_success() {
        bail!("`{url}` answered {}; check --url", response.status());
    }
    Ok(response.bytes().await?.to_vec())
}

/// A log fetched from its tiles and checked: the entries give the root of the signed checkpoint, and every hash
/// tile matches them.
pub(crate) struct FetchedLog {
    pub(crate) checkpoint: Checkpoint,
    note: Note,
    hashes: MemoryHashes,
    pub(crate) leaves: Vec<Leaf>,
}

pub(crate) async fn fetch_log(
    client: &reqwest::Client,
    base: &str,
    key: &Ed25519Verifier,
) -> anyhow::Result<FetchedLog> {
    let note_bytes = fetch(client, &format!("{base}/log/checkpoint")).await?;
    let origin = comity_tlog::note::NoteVerifier::name(key).to_owned();
    let (checkpoint, note) = Checkpoint::open(&note_bytes, &origin, key)
        .map_err(|e| anyhow!("the checkpoint is not signed by the log key: {e}"))?;
    let size = checkpoint.size;

    // Re-derive the tree from the entries, and check every hash tile against it.
    let mut leaves = Vec::new();
    let mut hashes = MemoryHashes::new(Vec::new());
    for tile in comity_tlog::tiles::tiles_for_size(size) {
        if tile.kind != TileKind::Entries {
            continue;
        }
        let bytes = fetch(client, &format!("{base}/log/{}", tile.path())).await?;
        let entries = decode_bundle(&bytes, tile.width)
            .map_err(|e| anyhow!("tile `{}` is damaged: {e}", tile.path()))?;
        for entry in entries {
            let index = hashes.size();
            let parsed = Leaf::parse(&entry).map_err(|e| {
                anyhow!(
                    "leaf {index} in `{}` is not a comity leaf: {e}",
                    tile.path()
                )
            })?;
            leaves.push(parsed);
            hashes.push(leaf_hash(&entry));
        }
    }
    let root = comity_tlog::proof::tree_root(&hashes, size).map_err(|_| {
        anyhow!(
            "the entry bundles hold {} leaves, the checkpoint says {size}",
            hashes.size()
        )
    })?;
    if root != checkpoint.root {
        bail!(
            "inconsistent log: the entries give root {root} for size {size}, the signed checkpoint says {}",
            checkpoint.root
        );
    }
    for tile in comity_tlog::tiles::tiles_for_size(size) {
        let TileKind::Hashes { level } = tile.kind else {
            continue;
        };
        let bytes = fetch(client, &format!("{base}/log/{}", tile.path())).await?;
        let served = decode_hash_tile(&tile, &bytes)
            .map_err(|e| anyhow!("tile `{}` is damaged: {e}", tile.path()))?;
        for (i, h) in served.iter().enumerate() {
            let expected = hashes
                .read_hash(level * TILE_HEIGHT, tile.index * TILE_WIDTH + i as u64)
                .map_err(|_| anyhow!("tile `{}` is beyond the tree", tile.path()))?;
            if *h != expected {
                bail!(
                    "inconsistent log: hash {i} of tile `{}` does not match the entries",
                    tile.path()
                );
            }
        }
    }

    Ok(FetchedLog {
        checkpoint,
        note,
        hashes,
        leaves,
    })
}

async fn verify(
    client: &reqwest::Client,
    url: &str,
    log_key: Option<String>,
    witness_keys: &[String],
    state_file: &Path,
) -> anyhow::Result<ExitCode> {
    let base = url.trim_end_matches('/');
    let previous: Option<VerifierState> = match std::fs::read(state_file) {
        Ok(bytes) => Some(serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "`{}` is not a verifier state file; remove it or choose another --state-file",
                state_file.display()
            )
        })?),
        Err(_) => None,
    };
    let key_text = match (&log_key, &previous) {
        (Some(k), Some(p)) if *k != p.log_key => bail!(
            "--log-key differs from the key in `{}`; a log never changes its key: use another --state-file for another log",
            state_file.display()
        ),
        (Some(k), _) => k.clone(),
        (None, Some(p)) => p.log_key.clone(),
        (None, None) => bail!(
            "no log key known; pass --log-key with the `log_public_key` from the node's config.toml"
        ),
    };
    let key = Ed25519Verifier::parse(&key_text)
        .map_err(|e| anyhow!("--log-key `{key_text}` is not a verifier key ({e}); copy it from the node's config.toml"))?;
    let witnesses = witness_keys
        .iter()
        .map(|w| {
            CosignatureVerifier::parse(w)
                .map_err(|e| anyhow!("--witness-key `{w}`: {e}; give a cosignature/v1 key"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let fetched = fetch_log(client, base, &key).await?;
    for w in &witnesses {
        let name = comity_tlog::note::NoteVerifier::name(w).to_owned();
        fetched.note.verify(&[w]).map_err(|_| {
            anyhow!("the checkpoint carries no valid cosignature by witness `{name}`")
        })?;
    }
    let FetchedLog {
        checkpoint,
        hashes,
        leaves,
        ..
    } = fetched;
    let size = checkpoint.size;
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    for leaf in &leaves {
        *kinds.entry(leaf.kind.to_string()).or_default() += 1;
    }

    // Consistency with what this verifier saw before.
    if let Some(p) = &previous {
        let old_root = Hash::from_base64(&p.root)
            .map_err(|_| anyhow!("`{}` is damaged; remove it", state_file.display()))?;
        if size < p.size {
            bail!(
                "rollback: this verifier saw size {} before, the log now shows {size}",
                p.size
            );
        }
        let now_root = comity_tlog::proof::tree_root(&hashes, p.size)
            .map_err(|_| anyhow!("cannot recompute the tree of size {}", p.size))?;
        if now_root != old_root {
            bail!(
                "history rewritten: the tree of size {} had root {old_root} when this verifier last saw it, now {now_root}",
                p.size
            );
        }
    }
    let state = VerifierState {
        log_key: key_text,
        size,
        root: checkpoint.root.to_base64(),
    };
    let temp = state_file.with_extension("tmp");
    std::fs::write(&temp, serde_json::to_vec_pretty(&state)?)
        .and_then(|()| std::fs::rename(&temp, state_file))
        .with_context(|| {
            format!(
                "cannot write `{}`; choose another --state-file",
                state_file.display()
            )
        })?;

    println!(
        "log `{}` ok: size {size}, root {}",
        checkpoint.origin, checkpoint.root
    );
    if let Some(p) = &previous {
        println!("  consistent with size {} seen before", p.size);
    }
    if !witnesses.is_empty() {
        println!("  cosigned by {} required witness(es)", witnesses.len());
    }
    let summary: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    if !summary.is_empty() {
        println!("  leaves: {}", summary.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
