//! The evidence transfer protocol between two nodes: the sender's signed offer, the receiver's answer, and the
//! receiver's signed receipt. This is a wire format: fields are only ever added.
//!
//! 1. `POST /federation/v1/evidence/offers` with an [`Offer`] (a DSSE envelope signed by the sending node's key)
//!    naming the thread, the seal statement, the size and the SHA-256 of every chunk. The receiver checks the
//!    signature, the statement and the thread, and answers with an [`OfferAnswer`]: an upload id and the chunks it
//!    holds already (a repeated offer resumes the same upload).
//! 2. `PUT /federation/v1/evidence/uploads/{upload_id}/chunks/{index}` for each missing chunk; a chunk that does not
//!    match its digest in the signed offer is refused and nothing is written.
//! 3. `POST /federation/v1/evidence/uploads/{upload_id}/complete`: the receiver checks the whole ciphertext against
//!    the seal statement, decrypts and checks the bag with its age identity, stores the package, records it against
//!    the request, and only then answers with an [`EvidenceReceipt`] signed by its node key.

use comity_seal::dsse::Envelope;
use comity_seal::keys::{NodeSigningKey, PublicKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// DSSE payload type of an offer.
pub const OFFER_TYPE: &str = "application/vnd.comity.evidence-offer+json";
/// DSSE payload type of a receipt for a package.
pub const RECEIPT_TYPE: &str = "application/vnd.comity.evidence-receipt+json";
/// The largest chunk accepted.
pub const MAX_CHUNK_BYTES: u64 = 16 << 20;
/// The most chunks one package may have.
pub const MAX_CHUNKS: u64 = 1 << 20;

/// The sender's signed offer of a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    /// The sending authority.
    pub sender: String,
    /// The receiving authority.
    pub recipient: String,
    /// The request thread shared by both sides (the requesting side's request id).
    pub thread: String,
    /// When it was signed (RFC 3339).
    pub created_at: String,
    /// The seal statement, verbatim (a DSSE envelope, JSON).
    pub statement: String,
    /// Size of the ciphertext.
    pub size_bytes: u64,
    /// Size of every chunk but the last.
    pub chunk_bytes: u64,
    /// SHA-256 of each chunk, lower-case hex, in order.
    pub chunk_sha256: Vec<String>,
}

impl Offer {
    /// Signs the offer; returns the envelope's JSON.
    pub fn sign(&self, key: &NodeSigningKey) -> Vec<u8> {
        Envelope::sign(
            OFFER_TYPE,
            &serde_json::to_vec(self).unwrap_or_default(),
            key,
        )
        .to_json()
    }

    /// The offer's claims, not yet trusted (to find the claimed sender's key).
    pub fn unverified(env: &Envelope) -> Option<Self> {
        use base64::Engine;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&env.payload)
            .ok()?;
        serde_json::from_slice(&bytes).ok()
    }
}

/// The receiver's answer to an offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferAnswer {
    /// Where to put the chunks.
    pub upload_id: String,
    /// The chunks held already: send only the others.
    pub received: Vec<u64>,
    /// The signed receipt (DSSE envelope, JSON), when the package was received already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

/// What the receiver's signed receipt says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceReceipt {
    /// The upload.
    pub upload_id: String,
    /// The sending authority.
    pub sender: String,
    /// The receiving authority, who signs.
    pub receiver: String,
    /// The request thread.
    pub thread: String,
    /// SHA-256 of the ciphertext received, lower-case hex.
    pub package_sha256: String,
    /// Its size.
    pub size_bytes: u64,
    /// SHA-256 of the seal statement received, lower-case hex.
    pub statement_sha256: String,
    /// What the receiver checked: `bag` (decrypted, every file against the manifest, signatures).
    pub checked: String,
    /// When it was stored (RFC 3339).
    pub received_at: String,
}

impl EvidenceReceipt {
    /// Signs the receipt; returns the envelope's JSON.
    pub fn sign(&self, key: &NodeSigningKey) -> String {
        let env = Envelope::sign(
            RECEIPT_TYPE,
            &serde_json::to_vec(self).unwrap_or_default(),
            key,
        );
        String::from_utf8_lossy(&env.to_json()).into_owned()
    }

    /// Checks a receipt's signature by `receiver` and returns what it says.
    pub fn verify(text: &str, receiver: &PublicKey) -> Option<Self> {
        let env = Envelope::from_json(text.as_bytes()).ok()?;
        let payload = env.verify(RECEIPT_TYPE, receiver).ok()?;
        serde_json::from_slice(&payload).ok()
    }
}

/// SHA-256, lower-case hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&comity_evidence::digest::sha256(bytes))
}

pub(crate) use comity_evidence::digest::hex;

/// Whether `text` is a SHA-256 in lower-case hex.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// How many chunks of `chunk_bytes` a package of `size_bytes` has.
pub fn chunk_count(size_bytes: u64, chunk_bytes: u64) -> u64 {
    if chunk_bytes == 0 {
        return 0;
    }
    size_bytes.div_ceil(chunk_bytes)
}

/// The length of chunk `index`.
pub fn chunk_len(size_bytes: u64, chunk_bytes: u64, index: u64) -> u64 {
    let start = index.saturating_mul(chunk_bytes);
    size_bytes.saturating_sub(start).min(chunk_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_package_exactly() {
        assert_eq!(chunk_count(10, 4), 3);
        assert_eq!(chunk_count(8, 4), 2);
        assert_eq!(chunk_count(0, 4), 0);
        assert_eq!(chunk_count(5, 0), 0);
        assert_eq!(
            (0..3).map(|i| chunk_len(10, 4, i)).collect::<Vec<_>>(),
            [4, 4, 2]
        );
        assert_eq!(chunk_len(10, 4, 3), 0);
    }

    #[test]
    fn receipts_verify_only_with_the_receivers_key() {
        let key = NodeSigningKey::from_seed([1; 32]);
        let other = NodeSigningKey::from_seed([2; 32]);
        let receipt = EvidenceReceipt {
            upload_id: "up-1".into(),
            sender: "a".into(),
            receiver: "b".into(),
            thread: "t".into(),
            package_sha256: "00".repeat(32),
            size_bytes: 1,
            statement_sha256: "11".repeat(32),
            checked: "bag".into(),
            received_at: "2026-11-23T03:00:00Z".into(),
        };
        let text = receipt.sign(&key);
        assert_eq!(
            EvidenceReceipt::verify(&text, &key.public_key()),
            Some(receipt)
        );
        assert_eq!(EvidenceReceipt::verify(&text, &other.public_key()), None);
        assert!(is_sha256_hex(&"ab".repeat(32)));
        assert!(!is_sha256_hex(&"AB".repeat(32)));
        assert!(!is_sha256_hex("../x"));
    }
}
