//! Offline proofs that an event is in a node's log: the file `comity log prove` writes and `comity log check-proof`
//! checks anywhere, without the node.
//!
//! The file is JSON: the leaf, its index, the inclusion proof, the signed checkpoint (with any cosignatures), the
//! log key, and the opening of the leaf's commitment (the event's facts and its per-event salt, which opens this
//! commitment and no other).
//!
//! A second, smaller form proves that a node logged a message it exchanged, without opening anything: the receiver
//! serves it for each message it received, the sender keeps it with its receipt, and anyone holding the message's
//! digest can check it against the receiver's log key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use comity_tlog::{Checkpoint, Ed25519Verifier, Hash, leaf_hash, verify_inclusion};
use serde::{Deserialize, Serialize};

use super::leaf::{self, EventFacts, Leaf};

/// The format name inside proof files.
pub const PROOF_FORMAT: &str = "comity-event-proof/v1";

/// The facts of an event and the salt that opens its commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    /// Request id.
    pub request_id: String,
    /// Position of the event.
    pub seq: u64,
    /// Action.
    pub action: String,
    /// State before.
    pub from_state: String,
    /// State after.
    pub to_state: String,
    /// Time, milliseconds since the epoch.
    pub at_ms: i64,
    /// The per-event salt, base64.
    pub event_salt: String,
}

/// An offline proof file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventProof {
    /// Always [`PROOF_FORMAT`].
    pub format: String,
    /// The log's verifier key.
    pub log_key: String,
    /// The leaf, as logged.
    pub leaf: String,
    /// Its index.
    pub index: u64,
    /// Inclusion proof hashes, base64.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: String,
    /// The opening of the commitment.
    pub opening: Opening,
}

/// Why a proof does not check out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// Not a proof file.
    #[error("not a {PROOF_FORMAT} file: {0}")]
    Malformed(String),
    /// The log key is not usable.
    #[error(
        "log key `{0}` is not a signed-note verifier key; pass the `log_public_key` from the node's config.toml"
    )]
    BadKey(String),
    /// The checkpoint is not signed by the log key.
    #[error("the checkpoint is not signed by log key `{0}`")]
    Checkpoint(String),
    /// The leaf is not in the tree of the checkpoint.
    #[error(
        "the leaf is not at index {index} of the tree of size {size}: the inclusion proof does not verify"
    )]
    NotIncluded {
        /// Index claimed.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// The opening does not give the leaf's commitment.
    #[error("the event facts do not open the leaf's commitment")]
    Opening,
    /// The leaf is about another message, or none.
    #[error("the leaf does not carry the digest of this message")]
    OtherMessage,
}

/// What a checked proof shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The leaf.
    pub leaf: Leaf,
    /// Its index in the log.
    pub index: u64,
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Names of the cosignatures present (not verified without witness keys).
    pub cosignature_names: Vec<String>,
}

/// Builds a proof.
pub fn build(
    log_key: &Ed25519Verifier,
    inclusion: &super::Inclusion,
    opening: Opening,
) -> EventProof {
    EventProof {
        format: PROOF_FORMAT.to_owned(),
        log_key: log_key.to_string(),
        leaf: String::from_utf8_lossy(&inclusion.leaf).into_owned(),
        index: inclusion.index,
        inclusion_proof: inclusion.proof.iter().map(Hash::to_base64).collect(),
        checkpoint: String::from_utf8_lossy(&inclusion.checkpoint).into_owned(),
        opening,
    }
}

/// Checks a proof file. With `trusted_key`, the checkpoint must be signed by that key, whatever the file says.
pub fn check(bytes: &[u8], trusted_key: Option<&str>) -> Result<Checked, ProofError> {
    let proof: EventProof =
        serde_json::from_slice(bytes).map_err(|e| ProofError::Malformed(e.to_string()))?;
    if proof.format != PROOF_FORMAT {
        return Err(ProofError::Malformed(format!("format `{}`", proof.format)));
    }
    let checked = included(
        trusted_key.unwrap_or(&proof.log_key),
        &proof.leaf,
        proof.index,
        &proof.inclusion_proof,
        &proof.checkpoint,
    )?;
    let o = &proof.opening;
    let salt: [u8; 32] = BASE64
        .decode(&o.event_salt)
        .ok()
        .and_then(|s| s.try_into().ok())
        .ok_or(ProofError::Opening)?;
    let commitment = leaf::commitment(
        &salt,
        &EventFacts {
            request_id: &o.request_id,
            seq: o.seq,
            action: &o.action,
            from_state: &o.from_state,
            to_state: &o.to_state,
            at_ms: o.at_ms,
        },
    );
    if commitment != checked.leaf.commitment || o.action != checked.leaf.kind.to_string() {
        return Err(ProofError::Opening);
    }
    Ok(checked)
}

/// Checks that `leaf` is at `index` of the tree of a checkpoint signed by `key_text`.
fn included(
    key_text: &str,
    leaf_text: &str,
    index: u64,
    inclusion_proof: &[String],
    checkpoint_text: &str,
) -> Result<Checked, ProofError> {
    let key =
        Ed25519Verifier::parse(key_text).map_err(|_| ProofError::BadKey(key_text.to_owned()))?;
    let origin = comity_tlog::note::NoteVerifier::name(&key).to_owned();
    let (checkpoint, note) = Checkpoint::open(checkpoint_text.as_bytes(), &origin, &key)
        .map_err(|_| ProofError::Checkpoint(key_text.to_owned()))?;
    let leaf =
        Leaf::parse(leaf_text.as_bytes()).map_err(|e| ProofError::Malformed(e.to_string()))?;
    let hashes = inclusion_proof
        .iter()
        .map(|h| Hash::from_base64(h))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ProofError::Malformed("an inclusion proof hash is not base64".into()))?;
    verify_inclusion(
        &leaf_hash(leaf_text.as_bytes()),
        index,
        checkpoint.size,
        &hashes,
        &checkpoint.root,
    )
    .map_err(|_| ProofError::NotIncluded {
        index,
        size: checkpoint.size,
    })?;
    Ok(Checked {
        leaf,
        index,
        checkpoint,
        cosignature_names: note
            .signatures()
            .iter()
            .map(|s| s.name.clone())
            .filter(|n| *n != origin)
            .collect(),
    })
}

/// The format name of message proofs.
pub const MESSAGE_PROOF_FORMAT: &str = "comity-message-proof/v1";

/// A proof that a node logged a message it exchanged: the leaf carries the message's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageProof {
    /// Always [`MESSAGE_PROOF_FORMAT`].
    pub format: String,
    /// The logging node's log verifier key.
    pub log_key: String,
    /// SHA-256 of the signed envelope, hex.
    pub message_sha256: String,
    /// The leaf, as logged.
    pub leaf: String,
    /// Its index.
    pub index: u64,
    /// Inclusion proof hashes, base64.
    pub inclusion_proof: Vec<String>,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: String,
}

/// Builds a message proof.
pub fn build_message(
    log_key: &Ed25519Verifier,
    inclusion: &super::Inclusion,
    message_sha256: &str,
) -> MessageProof {
    MessageProof {
        format: MESSAGE_PROOF_FORMAT.to_owned(),
        log_key: log_key.to_string(),
        message_sha256: message_sha256.to_owned(),
        leaf: String::from_utf8_lossy(&inclusion.leaf).into_owned(),
        index: inclusion.index,
        inclusion_proof: inclusion.proof.iter().map(Hash::to_base64).collect(),
        checkpoint: String::from_utf8_lossy(&inclusion.checkpoint).into_owned(),
    }
}

/// Checks a message proof: the leaf is in the log of `trusted_key` (else the key in the file) and carries the
/// digest of the message (`expected_sha256`, hex, when the checker holds the envelope; else the file's).
pub fn check_message(
    bytes: &[u8],
    trusted_key: Option<&str>,
    expected_sha256: Option<&str>,
) -> Result<Checked, ProofError> {
    let proof: MessageProof =
        serde_json::from_slice(bytes).map_err(|e| ProofError::Malformed(e.to_string()))?;
    if proof.format != MESSAGE_PROOF_FORMAT {
        return Err(ProofError::Malformed(format!("format `{}`", proof.format)));
    }
    let checked = included(
        trusted_key.unwrap_or(&proof.log_key),
        &proof.leaf,
        proof.index,
        &proof.inclusion_proof,
        &proof.checkpoint,
    )?;
    let digest = expected_sha256.unwrap_or(&proof.message_sha256);
    let logged = checked
        .leaf
        .message
        .map(|h| comity_evidence::digest::hex(&h.0));
    if logged.as_deref() != Some(digest) {
        return Err(ProofError::OtherMessage);
    }
    Ok(checked)
}
