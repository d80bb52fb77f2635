//! The seal statement: a plaintext DSSE envelope beside the package (`FILE.seal.json`) that lets anyone check the
//! ciphertext's integrity and origin without decrypting it.
//!
//! Its payload (type [`SEAL_STATEMENT_TYPE`]) is JSON recording the SHA-256 and size of the whole `.age` file, the
//! SHA-256 of the bag's tag manifest, the producer's public key, the request id, payload sizes and the time.

use std::path::{Path, PathBuf};

use comity_seal::{Envelope, NodeSigningKey, PublicKey};
use serde::{Deserialize, Serialize};

use crate::error::{EvidenceError, Result};

/// DSSE payload type of the seal statement.
pub const SEAL_STATEMENT_TYPE: &str = "application/vnd.comity.seal+json";
/// Value of the `statement` field, versioning the payload format.
pub const SEAL_STATEMENT_VERSION: &str = "comity.seal.v1";

/// The signed facts about one sealed package. This is a wire format: fields are only ever added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealStatement {
    /// Always [`SEAL_STATEMENT_VERSION`].
    pub statement: String,
    /// The encrypted package.
    pub package: PackageFacts,
    /// The bag inside it.
    pub bag: BagFacts,
    /// The producer's public key, `ed25519:<base64>`.
    pub producer: String,
    /// The producing authority, as in `bag-info.txt`.
    pub source_organization: String,
    /// The request this evidence answers, as `External-Identifier` in `bag-info.txt`.
    pub request_id: Option<String>,
    /// The age recipients it was encrypted to.
    pub recipients: Vec<String>,
    /// RFC 3339 UTC time at which sealing finished.
    pub sealed_at: String,
}

/// Facts about the ciphertext file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageFacts {
    /// File name when sealed (informative: the file may be renamed).
    pub file_name: String,
    /// SHA-256 of the whole `.age` file, lowercase hex.
    pub sha256: String,
    pub size_bytes: u64,
}

/// Facts about the bag inside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BagFacts {
    /// SHA-256 of `tagmanifest-sha256.txt`, lowercase hex.
    pub tagmanifest_sha256: String,
    pub payload_files: u64,
    pub payload_bytes: u64,
}

/// Where the statement of `package` lives: `package` with `.seal.json` appended.
pub fn statement_path(package: &Path) -> PathBuf {
    let mut name = package.as_os_str().to_owned();
    name.push(".seal.json");
    PathBuf::from(name)
}

impl SealStatement {
    /// Signs the statement into a DSSE envelope.
    pub fn sign(&self, key: &NodeSigningKey) -> Envelope {
        let payload = serde_json::to_vec(self).unwrap_or_default();
        Envelope::sign(SEAL_STATEMENT_TYPE, &payload, key)
    }

    /// Reads the statement at `path` and checks its signature, by `producer` if given, else by the key it names.
    /// Returns the statement and the key that signed it.
    pub fn read_verified(path: &Path, producer: Option<&PublicKey>) -> Result<(Self, PublicKey)> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(EvidenceError::StatementMissing { path: path.into() });
            }
            Err(e) => return Err(EvidenceError::read(path)(e)),
        };
        let malformed = || EvidenceError::StatementMalformed { path: path.into() };
        let envelope = Envelope::from_json(&bytes).map_err(|_| malformed())?;
        if envelope.payload_type != SEAL_STATEMENT_TYPE {
            return Err(malformed());
        }
        // The key named inside is only trusted after the signature checks out against it (or the pinned key).
        let unverified = Self::decode_unverified(&envelope).ok_or_else(malformed)?;
        let named: PublicKey = unverified.producer.parse().map_err(|_| malformed())?;
        let signer = producer.copied().unwrap_or(named);
        let payload = envelope.verify(SEAL_STATEMENT_TYPE, &signer).map_err(|_| {
            EvidenceError::StatementSignature {
                path: path.into(),
                producer: signer.to_string(),
            }
        })?;
        let statement: Self = serde_json::from_slice(&payload).map_err(|_| malformed())?;
        if statement.statement != SEAL_STATEMENT_VERSION || statement.producer != signer.to_string()
        {
            return Err(EvidenceError::StatementSignature {
                path: path.into(),
                producer: signer.to_string(),
            });
        }
        Ok((statement, signer))
    }

    fn decode_unverified(envelope: &Envelope) -> Option<Self> {
        use base64::Engine;
        let payload = base64::engine::general_purpose::STANDARD
            .decode(&envelope.payload)
            .ok()?;
        serde_json::from_slice(&payload).ok()
    }
}
