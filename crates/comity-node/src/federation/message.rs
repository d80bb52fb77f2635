//! Cross-border messages and receipts: DSSE envelopes signed by the sending authority, chained per thread by the hash
//! of the previous message, and signed receipts that say whether the receiver stored the message or why it refused.

use base64::Engine;
use comity_seal::dsse::Envelope;
use comity_seal::keys::{NodeSigningKey, PublicKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Payload type of a receipt.
pub const RECEIPT_TYPE: &str = "application/vnd.comity.receipt+json";
/// Prefix of message payload types: `application/vnd.comity.<kind>+json`.
pub const MESSAGE_TYPE_PREFIX: &str = "application/vnd.comity.";

/// The kinds of message.
pub const KIND_REQUEST: &str = "request";
/// A lifecycle step taken by one side, mirrored by the other.
pub const KIND_STATUS: &str = "status";

/// The payload type of a message kind.
pub fn payload_type(kind: &str) -> String {
    format!("{MESSAGE_TYPE_PREFIX}{kind}+json")
}

/// The signed content of a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessagePayload {
    /// Unique id chosen by the sender.
    pub message_id: String,
    /// The thread (the requesting side's request id), shared by both sides.
    pub thread: String,
    /// `request` or `status`.
    pub kind: String,
    /// Sending authority.
    pub sender: String,
    /// Receiving authority.
    pub recipient: String,
    /// When it was signed (RFC 3339).
    pub created_at: String,
    /// SHA-256 (hex) of the previous envelope between these two authorities in this thread; empty for the first.
    pub prev: String,
    /// What the message says.
    pub body: serde_json::Value,
}

/// The body of a `request` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBody {
    /// The request document.
    pub document: crate::wire::RequestInput,
    /// The requesting authority's State.
    pub requesting_state: String,
    /// The requesting side's case reference.
    pub case_reference: String,
}

/// The body of a `status` message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    /// The action taken.
    pub action: String,
    /// Why, if said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Refusal grounds, if any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grounds: Vec<String>,
}

/// SHA-256 of an envelope's bytes, hex.
pub fn envelope_hash(bytes: &[u8]) -> String {
    crate::evidence::protocol::sha256_hex(bytes)
}

impl MessagePayload {
    /// Signs the payload; returns the envelope and its JSON bytes.
    pub fn seal(&self, key: &NodeSigningKey) -> (Envelope, Vec<u8>) {
        let payload = serde_json::to_vec(self).unwrap_or_default();
        let env = Envelope::sign(&payload_type(&self.kind), &payload, key);
        let bytes = env.to_json();
        (env, bytes)
    }
}

/// Reads a message's claims without trusting them (to find the claimed sender's key).
pub fn unverified_payload(env: &Envelope) -> Option<MessagePayload> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&env.payload)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Why a message was refused; the code travels in the signed negative receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a comity envelope.
    Malformed,
    /// The sender is not in the directory.
    UnknownSender,
    /// The sender's key was revoked.
    RevokedKey,
    /// The sender's key is outside its validity period.
    ExpiredKey,
    /// The message is for someone else.
    WrongRecipient,
    /// The signature does not verify with the sender's key.
    BadSignature,
    /// The previous-message hash is not the thread's head here.
    BrokenThread,
    /// A message id seen before, with different content.
    ReusedId,
    /// The creation time is too far from this node's clock.
    ClockSkew,
    /// The step does not follow the lifecycle of the request here.
    InvalidStep,
    /// This node holds no directory to check senders against.
    NoDirectory,
}

impl Refusal {
    /// The reason code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownSender => "unknown-sender",
            Self::RevokedKey => "revoked-key",
            Self::ExpiredKey => "expired-key",
            Self::WrongRecipient => "wrong-recipient",
            Self::BadSignature => "bad-signature",
            Self::BrokenThread => "broken-thread",
            Self::ReusedId => "reused-id",
            Self::ClockSkew => "clock-skew",
            Self::InvalidStep => "invalid-step",
            Self::NoDirectory => "no-directory",
        }
    }
}

/// A receipt's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptPayload {
    /// The message acknowledged (as claimed, for a refusal).
    pub message_id: String,
    /// SHA-256 (hex) of the envelope as received.
    pub envelope_sha256: String,
    /// The receiving authority.
    pub receiver: String,
    /// When it was stored or refused (RFC 3339).
    pub received_at: String,
    /// Stored durably.
    pub accepted: bool,
    /// For a refusal: the reason code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    /// For a refusal: a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl ReceiptPayload {
    /// Signs the receipt.
    pub fn sign(&self, key: &NodeSigningKey) -> Envelope {
        Envelope::sign(
            RECEIPT_TYPE,
            &serde_json::to_vec(self).unwrap_or_default(),
            key,
        )
    }

    /// Checks a receipt's signature by the receiver and returns its content.
    pub fn verify(env: &Envelope, receiver: &PublicKey) -> Option<Self> {
        let payload = env.verify(RECEIPT_TYPE, receiver).ok()?;
        serde_json::from_slice(&payload).ok()
    }
}
