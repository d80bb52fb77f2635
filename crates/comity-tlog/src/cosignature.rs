//! C2SP tlog-cosignature v1 and a witness that cosigns only consistent checkpoints.
//!
//! A cosignature signs `cosignature/v1\ntime <t>\n` followed by the checkpoint body. The note
//! signature bytes are the 8-byte big-endian timestamp followed by the Ed25519 signature, and
//! the key ID uses algorithm byte 0x04.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::hash::Hash;
use crate::note::{
    KeyId, Note, NoteError, NoteSignature, NoteVerifier, check_key_name, hex_key_id, key_id,
    split_key_string,
};
use crate::proof::{VerifyError, verify_consistency};

/// Algorithm byte of cosignature/v1 keys.
pub const ALG_COSIGNATURE_V1: u8 = 0x04;

/// Length of a cosignature/v1 signature: timestamp and Ed25519 signature.
pub const COSIGNATURE_LEN: usize = 8 + 64;

/// The message a cosigner signs for `checkpoint_body` at `timestamp` (seconds since the epoch).
pub fn cosigned_message(checkpoint_body: &str, timestamp: u64) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_body}").into_bytes()
}

/// A witness key that produces cosignature/v1 signatures.
#[derive(Clone)]
pub struct CosignatureSigner {
    name: String,
    key_id: KeyId,
    key: SigningKey,
}

impl fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignatureSigner")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl CosignatureSigner {
    /// A cosigner named `name` (a schema-less URL identifying the witness).
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, ALG_COSIGNATURE_V1, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Private key string `PRIVATE+KEY+<name>+<hex key ID>+base64(0x04 || seed)`, the same shape as
    /// a note signing key with the cosignature algorithm byte.
    pub fn to_private_key_string(&self) -> String {
        let mut raw = vec![ALG_COSIGNATURE_V1];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex_key_id(&self.key_id),
            BASE64.encode(raw)
        )
    }

    /// Parses a private key string; see [`CosignatureSigner::to_private_key_string`].
    pub fn from_private_key_string(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or(NoteError::MalformedPrivateKey)?;
        let (name, id, raw) = split_key_string(rest).ok_or(NoteError::MalformedPrivateKey)?;
        let raw = BASE64
            .decode(raw)
            .map_err(|_| NoteError::MalformedPrivateKey)?;
        let (&alg, seed) = raw.split_first().ok_or(NoteError::MalformedPrivateKey)?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| NoteError::MalformedPrivateKey)?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::MalformedPrivateKey);
        }
        let signer = Self::new(name, SigningKey::from_bytes(&seed))
            .map_err(|_| NoteError::MalformedPrivateKey)?;
        if hex_key_id(&signer.key_id) != id {
            return Err(NoteError::MalformedPrivateKey);
        }
        Ok(signer)
    }

    /// Cosigns a checkpoint body at `timestamp`.
    pub fn cosign(&self, checkpoint_body: &str, timestamp: u64) -> NoteSignature {
        let sig = self.key.sign(&cosigned_message(checkpoint_body, timestamp));
        let mut signature = Vec::with_capacity(COSIGNATURE_LEN);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.key_id,
            signature,
        }
    }
}

/// A witness public key that checks cosignature/v1 signatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    key_id: KeyId,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// A verifier for the witness `name` with public key `key`.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, ALG_COSIGNATURE_V1, key.as_bytes()),
            key,
        })
    }

    /// The timestamp of a cosignature by this key, if it is well-formed; not verified.
    pub fn timestamp(signature: &NoteSignature) -> Option<u64> {
        let ts: [u8; 8] = signature.signature.get(..8)?.try_into().ok()?;
        Some(u64::from_be_bytes(ts))
    }

    /// Parses a verifier key string `<name>+<hex key ID>+base64(0x04 || public key)`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let (name, id, raw) = split_key_string(text.trim())
            .ok_or(NoteError::MalformedVerifierKey("expected three parts"))?;
        let raw = BASE64
            .decode(raw)
            .map_err(|_| NoteError::MalformedVerifierKey("key is not base64"))?;
        let (&alg, key) = raw
            .split_first()
            .ok_or(NoteError::MalformedVerifierKey("key is empty"))?;
        if alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::MalformedVerifierKey(
                "not a cosignature/v1 key (algorithm byte 0x04)",
            ));
        }
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| NoteError::MalformedVerifierKey("key must be 32 bytes"))?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| NoteError::MalformedVerifierKey("key is not a curve point"))?;
        let verifier = Self::new(name, key)?;
        if hex_key_id(&verifier.key_id) != id {
            return Err(NoteError::MalformedVerifierKey(
                "key ID does not match name and key",
            ));
        }
        Ok(verifier)
    }

    /// Verifier key string `<name>+<hex key ID>+base64(0x04 || public key)`.
    pub fn to_key_string(&self) -> String {
        let mut raw = vec![ALG_COSIGNATURE_V1];
        raw.extend_from_slice(self.key.as_bytes());
        let id: String = self.key_id.iter().map(|b| format!("{b:02x}")).collect();
        format!("{}+{}+{}", self.name, id, BASE64.encode(raw))
    }
}

impl NoteVerifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        if signature.len() != COSIGNATURE_LEN {
            return false;
        }
        let (ts, sig) = signature.split_at(8);
        let Ok(ts) = <[u8; 8]>::try_from(ts) else {
            return false;
        };
        let Ok(sig) = Signature::from_slice(sig) else {
            return false;
        };
        let Ok(body) = std::str::from_utf8(text) else {
            return false;
        };
        let msg = cosigned_message(body, u64::from_be_bytes(ts));
        self.key.verify_strict(&msg, &sig).is_ok()
    }
}

/// Why a witness refused to cosign.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// The checkpoint's origin is not a log this witness follows.
    #[error("unknown log origin `{0}`")]
    UnknownLog(String),
    /// The checkpoint note is malformed or not signed by the log key.
    #[error("checkpoint refused: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The claimed old size is beyond the checkpoint's size.
    #[error("old size {old_size} is larger than checkpoint size {new_size}")]
    OldSizeBeyondNew {
        /// Claimed old size.
        old_size: u64,
        /// Size of the offered checkpoint.
        new_size: u64,
    },
    /// The log offered a smaller tree than one already cosigned.
    #[error(
        "rollback of `{origin}`: already cosigned size {cosigned_size}, offered {offered_size}"
    )]
    Rollback {
        /// Log origin.
        origin: String,
        /// Size of the last cosigned checkpoint.
        cosigned_size: u64,
        /// Size of the offered checkpoint.
        offered_size: u64,
    },
    /// The proof starts from a size other than the last cosigned one; retry from `cosigned_size`.
    #[error(
        "proof for `{origin}` starts at size {claimed_old_size} but the last cosigned size is {cosigned_size}; send a proof from {cosigned_size}"
    )]
    OldSizeMismatch {
        /// Log origin.
        origin: String,
        /// Size of the last cosigned checkpoint.
        cosigned_size: u64,
        /// Old size claimed by the request.
        claimed_old_size: u64,
    },
    /// Same size as the cosigned checkpoint, different root: the log showed two different trees.
    #[error(
        "split view of `{origin}` at size {size}: cosigned root {cosigned_root}, offered root {offered_root}"
    )]
    SplitView {
        /// Log origin.
        origin: String,
        /// Tree size of both checkpoints.
        size: u64,
        /// Root already cosigned.
        cosigned_root: Hash,
        /// Root offered now.
        offered_root: Hash,
    },
    /// The consistency proof from the cosigned tree to the offered one does not verify, so the
    /// offered tree does not extend the cosigned one (a split view or rewritten history).
    #[error(
        "inconsistent history of `{origin}`: no valid consistency proof from cosigned size {cosigned_size} to {offered_size}"
    )]
    Inconsistent {
        /// Log origin.
        origin: String,
        /// Size of the last cosigned checkpoint.
        cosigned_size: u64,
        /// Size of the offered checkpoint.
        offered_size: u64,
        /// Why the proof failed.
        #[source]
        cause: VerifyError,
    },
}

#[derive(Clone, Debug)]
struct FollowedLog {
    key: crate::note::Ed25519Verifier,
    latest: Option<Checkpoint>,
}

/// A witness: keeps the last checkpoint it cosigned per log and cosigns only checkpoints that
/// extend it, following C2SP tlog-witness.
#[derive(Debug)]
pub struct Witness {
    signer: CosignatureSigner,
    logs: BTreeMap<String, FollowedLog>,
}

impl Witness {
    /// A witness signing with `signer`, following no log yet.
    pub fn new(signer: CosignatureSigner) -> Self {
        Self {
            signer,
            logs: BTreeMap::new(),
        }
    }

    /// Follows the log `origin`, whose checkpoints are signed by `key`.
    pub fn follow(&mut self, origin: &str, key: crate::note::Ed25519Verifier) {
        self.logs
            .insert(origin.to_owned(), FollowedLog { key, latest: None });
    }

    /// Restores the last cosigned checkpoint of a followed log (from the witness's own storage).
    pub fn restore(&mut self, checkpoint: Checkpoint) -> Result<(), WitnessError> {
        let log = self
            .logs
            .get_mut(&checkpoint.origin)
            .ok_or_else(|| WitnessError::UnknownLog(checkpoint.origin.clone()))?;
        log.latest = Some(checkpoint);
        Ok(())
    }

    /// The origins of the followed logs.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.logs.keys().map(String::as_str)
    }

    /// The last checkpoint cosigned for `origin`.
    pub fn latest(&self, origin: &str) -> Option<&Checkpoint> {
        self.logs.get(origin)?.latest.as_ref()
    }

    /// The witness's verifier key.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.signer.verifier()
    }

    /// Checks a signed checkpoint against the last cosigned one and cosigns it.
    ///
    /// `old_size` is the size the consistency `proof` starts from; it must be the last cosigned
    /// size (0 when none). Returns the cosignature line to add to the note.
    pub fn add_checkpoint(
        &mut self,
        old_size: u64,
        proof: &[Hash],
        signed_checkpoint: &[u8],
        now_unix_secs: u64,
    ) -> Result<NoteSignature, WitnessError> {
        let note = Note::parse(signed_checkpoint).map_err(CheckpointError::from)?;
        let offered = Checkpoint::parse(note.text())?;
        let origin = offered.origin.clone();
        let log = self
            .logs
            .get_mut(&origin)
            .ok_or_else(|| WitnessError::UnknownLog(origin.clone()))?;
        note.verify(&[&log.key]).map_err(CheckpointError::from)?;

        if old_size > offered.size {
            return Err(WitnessError::OldSizeBeyondNew {
                old_size,
                new_size: offered.size,
            });
        }
        let cosigned_size = log.latest.as_ref().map_or(0, |c| c.size);
        if offered.size < cosigned_size {
            return Err(WitnessError::Rollback {
                origin,
                cosigned_size,
                offered_size: offered.size,
            });
        }
        if old_size != cosigned_size {
            return Err(WitnessError::OldSizeMismatch {
                origin,
                cosigned_size,
                claimed_old_size: old_size,
            });
        }
        match &log.latest {
            Some(latest) if latest.size == offered.size => {
                if latest.root != offered.root {
                    return Err(WitnessError::SplitView {
                        origin,
                        size: offered.size,
                        cosigned_root: latest.root,
                        offered_root: offered.root,
                    });
                }
                if !proof.is_empty() {
                    return Err(WitnessError::Inconsistent {
                        origin,
                        cosigned_size,
                        offered_size: offered.size,
                        cause: VerifyError::WrongProofLength {
                            expected: 0,
                            actual: proof.len(),
                        },
                    });
                }
            }
            Some(latest) if latest.size > 0 => {
                verify_consistency(
                    latest.size,
                    offered.size,
                    proof,
                    &latest.root,
                    &offered.root,
                )
                .map_err(|cause| WitnessError::Inconsistent {
                    origin: origin.clone(),
                    cosigned_size,
                    offered_size: offered.size,
                    cause,
                })?;
            }
            _ => {
                // Nothing cosigned yet, or only the empty tree: every tree extends it.
                if !proof.is_empty() {
                    return Err(WitnessError::Inconsistent {
                        origin,
                        cosigned_size,
                        offered_size: offered.size,
                        cause: VerifyError::WrongProofLength {
                            expected: 0,
                            actual: proof.len(),
                        },
                    });
                }
            }
        }
        let cosignature = self.signer.cosign(note.text(), now_unix_secs);
        log.latest = Some(offered);
        Ok(cosignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Ed25519Signer;

    #[test]
    fn cosignature_round_trip_and_tamper() {
        let w =
            CosignatureSigner::new("witness.example/w1", SigningKey::from_bytes(&[1; 32])).unwrap();
        let body = "example.com/log\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let sig = w.cosign(body, 1_700_000_000);
        assert_eq!(sig.signature.len(), COSIGNATURE_LEN);
        assert_eq!(CosignatureVerifier::timestamp(&sig), Some(1_700_000_000));
        let v = w.verifier();
        assert!(v.verify(body.as_bytes(), &sig.signature));
        let mut later = sig.signature.clone();
        later[7] ^= 1;
        assert!(!v.verify(body.as_bytes(), &later));
        assert!(!v.verify(body.replace('3', "4").as_bytes(), &sig.signature));
        assert!(!v.verify(body.as_bytes(), &sig.signature[..71]));
        // Algorithm byte 0x04 separates the cosignature key ID from a note key ID.
        let note_key =
            Ed25519Signer::new("witness.example/w1", SigningKey::from_bytes(&[1; 32])).unwrap();
        assert_ne!(crate::note::NoteSigner::key_id(&note_key), v.key_id());
        assert!(v.to_key_string().starts_with("witness.example/w1+"));
    }

    #[test]
    fn key_strings_round_trip_and_refuse_note_keys() {
        let w =
            CosignatureSigner::new("witness.example/w1", SigningKey::from_bytes(&[2; 32])).unwrap();
        let parsed = CosignatureVerifier::parse(&w.verifier().to_key_string()).unwrap();
        assert_eq!(parsed, w.verifier());
        let again = CosignatureSigner::from_private_key_string(&w.to_private_key_string()).unwrap();
        assert_eq!(again.verifier(), w.verifier());
        let note_key =
            Ed25519Signer::new("witness.example/w1", SigningKey::from_bytes(&[2; 32])).unwrap();
        assert!(CosignatureVerifier::parse(&note_key.verifier().to_string()).is_err());
        assert!(
            CosignatureSigner::from_private_key_string(&note_key.to_private_key_string()).is_err()
        );
        let mut wrong_id = w.verifier().to_key_string();
        wrong_id.replace_range(19..20, if &wrong_id[19..20] == "0" { "1" } else { "0" });
        assert!(CosignatureVerifier::parse(&wrong_id).is_err());
    }
}
