//! Witnessing over HTTP, following C2SP tlog-witness: the witness side (`POST /log/witness/add-checkpoint`, with the
//! last cosigned checkpoint of each followed log kept durably in `witness.state`) and the log side (asking each
//! configured witness to cosign the published checkpoint and keeping the cosigned note).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use comity_tlog::cosignature::CosignatureVerifier;
use comity_tlog::{Checkpoint, Ed25519Verifier, Hash, Note, Witness, WitnessError};

use super::{EventLogError, NodeLog, write_atomic};

/// The witness state file in the node directory.
pub const WITNESS_STATE_FILE: &str = "witness.state";
/// Largest add-checkpoint body accepted.
pub const MAX_ADD_CHECKPOINT_BYTES: usize = 16 * 1024;
/// Most proof lines in an add-checkpoint body (a consistency proof of a 2^63 tree has fewer).
const MAX_PROOF_LINES: usize = 128;

/// Why a witness did not cosign, with the HTTP status tlog-witness gives it.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The body is not an add-checkpoint request (400).
    #[error("malformed add-checkpoint request: {0}")]
    Malformed(String),
    /// The log is not followed (404).
    #[error("this witness does not follow `{0}`")]
    UnknownLog(String),
    /// The checkpoint signature does not verify (403).
    #[error("the checkpoint is not signed by the log's key")]
    BadSignature,
    /// The request starts from another size than the last cosigned one, or goes back (409, body: that size).
    #[error("{reason}")]
    SizeMismatch {
        /// Last cosigned size.
        cosigned_size: u64,
        /// Explanation.
        reason: String,
    },
    /// The log showed two trees of the same size (409).
    #[error("{0}")]
    SplitView(String),
    /// The consistency proof does not verify (422).
    #[error("{0}")]
    BadProof(String),
    /// The witness could not record its state (500).
    #[error("the witness could not record its state")]
    Internal,
}

impl Refusal {
    /// The HTTP status tlog-witness assigns.
    pub fn status(&self) -> u16 {
        match self {
            Self::Malformed(_) => 400,
            Self::BadSignature => 403,
            Self::UnknownLog(_) => 404,
            Self::SizeMismatch { .. } | Self::SplitView(_) => 409,
            Self::BadProof(_) => 422,
            Self::Internal => 500,
        }
    }
}

/// A log this node witnesses.
#[derive(Debug, Clone)]
pub struct FollowedLog {
    /// Checkpoint origin.
    pub origin: String,
    /// The log's key.
    pub key: Ed25519Verifier,
}

/// The witness of a node: cosigns only checkpoints consistent with what it cosigned before, and remembers what it
/// cosigned across restarts.
#[derive(Debug)]
pub struct NodeWitness {
    state_path: PathBuf,
    witness: Mutex<Witness>,
}

impl NodeWitness {
    /// The witness of the node in `node_dir`, following `logs`, restored from its state file.
    pub fn open(
        node_dir: &Path,
        signer: comity_tlog::CosignatureSigner,
        logs: &[FollowedLog],
    ) -> Result<Self, EventLogError> {
        let mut witness = Witness::new(signer);
        for log in logs {
            witness.follow(&log.origin, log.key.clone());
        }
        let state_path = node_dir.join(WITNESS_STATE_FILE);
        match std::fs::read_to_string(&state_path) {
            Ok(text) => {
                for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
                    let checkpoint = Checkpoint::parse(&format!("{}\n", block.trim_end()))
                        .map_err(|_| EventLogError::BadKeyFile(state_path.clone()))?;
                    // A log no longer followed keeps its line, so following it again resumes from there.
                    let _ = witness.restore(checkpoint);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(EventLogError::Io {
                    path: state_path,
                    source,
                });
            }
        }
        Ok(Self {
            state_path,
            witness: Mutex::new(witness),
        })
    }

    /// The witness's verifier key.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.lock().verifier()
    }

    /// The last cosigned checkpoint of `origin`.
    pub fn latest(&self, origin: &str) -> Option<Checkpoint> {
        self.lock().latest(origin).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Witness> {
        self.witness.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Handles an add-checkpoint body; returns the cosignature line. The new state is durable before it returns.
    pub fn add_checkpoint(&self, body: &[u8], now_unix_secs: u64) -> Result<Vec<u8>, Refusal> {
        let (old_size, proof, note) = parse_add_checkpoint(body)?;
        let mut witness = self.lock();
        let before = witness_snapshot(&witness);
        let signature = witness
            .add_checkpoint(old_size, &proof, note, now_unix_secs)
            .map_err(|e| refusal(e, &witness, note))?;
        let after = witness_snapshot(&witness);
        if before != after
            && let Err(e) = write_atomic(&self.state_path, after.as_bytes())
        {
            tracing::error!(error = %e, "witness state not recorded; cosignature withheld");
            // Roll the in-memory state back so memory never runs ahead of the disk.
            if let Ok(checkpoint) = Checkpoint::parse(note_text(note).as_str())
                && let Some(previous) = before_checkpoint(&before, &checkpoint.origin)
            {
                let _ = witness.restore(previous);
            }
            return Err(Refusal::Internal);
        }
        tracing::info!(size = old_size, "checkpoint cosigned");
        Ok(signature.to_line().into_bytes())
    }
}

fn note_text(note: &[u8]) -> String {
    Note::parse(note)
        .map(|n| n.text().to_owned())
        .unwrap_or_default()
}

fn before_checkpoint(snapshot: &str, origin: &str) -> Option<Checkpoint> {
    snapshot
        .split("\n\n")
        .filter_map(|b| Checkpoint::parse(&format!("{}\n", b.trim_end())).ok())
        .find(|c| c.origin == origin)
}

fn witness_snapshot(witness: &Witness) -> String {
    witness
        .origins()
        .filter_map(|o| witness.latest(o))
        .map(|c| c.to_text())
        .collect::<Vec<_>>()
        .join("\n")
}

fn refusal(e: WitnessError, witness: &Witness, note: &[u8]) -> Refusal {
    let origin = Note::parse(note)
        .ok()
        .and_then(|n| Checkpoint::parse(n.text()).ok())
        .map(|c| c.origin)
        .unwrap_or_default();
    let cosigned_size = witness.latest(&origin).map_or(0, |c| c.size);
    match e {
        WitnessError::UnknownLog(o) => Refusal::UnknownLog(o),
        WitnessError::Checkpoint(_) => Refusal::BadSignature,
        WitnessError::OldSizeBeyondNew { .. } => Refusal::Malformed(e.to_string()),
        WitnessError::Rollback { .. } | WitnessError::OldSizeMismatch { .. } => {
            tracing::warn!(%origin, cosigned_size, "checkpoint refused: size mismatch");
            Refusal::SizeMismatch {
                cosigned_size,
                reason: e.to_string(),
            }
        }
        WitnessError::SplitView { .. } => {
            tracing::error!(%origin, "split view detected");
            Refusal::SplitView(e.to_string())
        }
        WitnessError::Inconsistent { .. } => {
            tracing::error!(%origin, "inconsistent checkpoint refused");
            Refusal::BadProof(e.to_string())
        }
    }
}

/// Parses `old <size>\n<proof lines>\n\n<signed checkpoint>`.
pub fn parse_add_checkpoint(body: &[u8]) -> Result<(u64, Vec<Hash>, &[u8]), Refusal> {
    let bad = |m: &str| Refusal::Malformed(m.to_owned());
    if body.len() > MAX_ADD_CHECKPOINT_BYTES {
        return Err(bad("body too large"));
    }
    let split = body
        .windows(2)
        .position(|w| w == b"\n\n")
        .ok_or_else(|| bad("no blank line before the checkpoint"))?;
    let head = std::str::from_utf8(&body[..split]).map_err(|_| bad("not UTF-8"))?;
    let note = &body[split + 2..];
    let mut lines = head.split('\n');
    let old = lines
        .next()
        .and_then(|l| l.strip_prefix("old "))
        .ok_or_else(|| bad("first line must be `old <size>`"))?;
    if old.is_empty()
        || !old.bytes().all(|b| b.is_ascii_digit())
        || (old.len() > 1 && old.starts_with('0'))
    {
        return Err(bad("old size is not a decimal number"));
    }
    let old_size: u64 = old.parse().map_err(|_| bad("old size out of range"))?;
    let mut proof = Vec::new();
    for line in lines {
        if proof.len() == MAX_PROOF_LINES {
            return Err(bad("too many proof lines"));
        }
        proof.push(Hash::from_base64(line).map_err(|_| bad("proof line is not a base64 hash"))?);
    }
    Ok((old_size, proof, note))
}

/// Builds an add-checkpoint body.
pub fn add_checkpoint_body(old_size: u64, proof: &[Hash], signed_checkpoint: &[u8]) -> Vec<u8> {
    let mut body = format!("old {old_size}\n");
    for h in proof {
        body.push_str(&h.to_base64());
        body.push('\n');
    }
    body.push('\n');
    let mut bytes = body.into_bytes();
    bytes.extend_from_slice(signed_checkpoint);
    bytes
}

/// A witness this node's log asks for cosignatures.
#[derive(Debug, Clone)]
pub struct WitnessTarget {
    /// Base URL of the witness node (`http://host:port`).
    pub url: String,
    /// Its cosignature key.
    pub key: CosignatureVerifier,
}

/// What one round of collecting cosignatures gave.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    /// Tree size of the checkpoint offered.
    pub size: u64,
    /// Names of the witnesses that cosigned.
    pub cosigned_by: Vec<String>,
    /// Witnesses that did not, with why.
    pub failed: Vec<(String, String)>,
}

/// Asks every witness to cosign the published checkpoint and records the cosigned note.
///
/// A witness that answers 409 with its size gets a second request with a proof from that size.
pub async fn collect_cosignatures(
    log: &NodeLog,
    witnesses: &[WitnessTarget],
    client: &reqwest::Client,
) -> Result<Collected, EventLogError> {
    let published = log.published();
    let mut note = Note::parse(&published.signed)
        .map_err(|_| EventLogError::BadCheckpoint(log.origin().to_owned()))?;
    let mut collected = Collected {
        size: published.size,
        ..Collected::default()
    };
    for target in witnesses {
        let name = comity_tlog::note::NoteVerifier::name(&target.key).to_owned();
        match ask(log, target, &published.signed, published.size, client).await {
            Ok(signature) => {
                note.push_signature(signature);
                collected.cosigned_by.push(name);
            }
            Err(reason) => {
                tracing::warn!(witness = %name, %reason, "no cosignature");
                collected.failed.push((name, reason));
            }
        }
    }
    if !collected.cosigned_by.is_empty() {
        log.set_cosigned(&published.signed, note.to_bytes())?;
    }
    Ok(collected)
}

async fn ask(
    log: &NodeLog,
    target: &WitnessTarget,
    signed: &[u8],
    size: u64,
    client: &reqwest::Client,
) -> Result<comity_tlog::NoteSignature, String> {
    let url = format!(
        "{}/log/witness/add-checkpoint",
        target.url.trim_end_matches('/')
    );
    let mut old_size = 0;
    for _ in 0..2 {
        let proof = if old_size == 0 || old_size == size {
            Vec::new()
        } else if old_size > size {
            return Err(format!(
                "the witness has cosigned size {old_size}, beyond this log's {size}"
            ));
        } else {
            log.reader()
                .consistency(old_size, size)
                .map_err(|e| e.to_string())?
        };
        let response = client
            .post(&url)
            .body(add_checkpoint_body(old_size, &proof, signed))
            .send()
            .await
            .map_err(|e| format!("cannot reach the witness: {e}"))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("cannot read the answer: {e}"))?;
        match status {
            200 => {
                let mut cosigned = signed.to_vec();
                cosigned.extend_from_slice(&body);
                let note =
                    Note::parse(&cosigned).map_err(|_| "malformed cosignature".to_owned())?;
                let verified = note
                    .verify(&[&target.key])
                    .map_err(|_| "the cosignature does not verify".to_owned())?;
                return verified
                    .first()
                    .map(|s| (*s).clone())
                    .ok_or_else(|| "no cosignature by this witness".to_owned());
            }
            409 => {
                let text = std::str::from_utf8(&body).unwrap_or("").trim();
                match text.parse::<u64>() {
                    Ok(n) if n != old_size => old_size = n,
                    _ => return Err(format!("refused (409): {text}")),
                }
            }
            other => {
                return Err(format!(
                    "refused ({other}): {}",
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(200)
                        .collect::<String>()
                ));
            }
        }
    }
    Err("the witness keeps changing its size".to_owned())
}
