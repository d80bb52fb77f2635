//! Judges' own signing keys and the judicial decisions they sign: authorising a measure before it leaves, and
//! validating an emergency order after the fact.
//!
//! Every judge has an Ed25519 key of their own, made when the account is created (or reset). The node keeps only
//! the public half in the clear; the secret half is sealed under a key derived from the judge's password with
//! Argon2id, so the node cannot sign for a judge without the judge typing their password. A decision is a DSSE
//! envelope over a small statement that names the request, the SHA-256 of the exact document the judge saw, the
//! decision and the time. The service accepts `authorise` and `validate` only with such an envelope, checked against
//! the registered key of an active judge.

use std::sync::Arc;

use argon2::Argon2;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use comity_seal::{Envelope, NodeSigningKey, PublicKey};
use comity_store::Store;
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::access::Role;

/// The DSSE payload type of a judicial decision.
pub const DECISION_TYPE: &str = "application/vnd.comity.judicial-decision+json";

/// How far in the future a decision's time may lie (clock skew between the judge's machine and the node).
const MAX_SKEW: time::Duration = time::Duration::minutes(5);

/// How long a signed decision may wait before it is recorded.
const MAX_AGE: time::Duration = time::Duration::hours(24);

/// Where a judge's key is kept in the store's metadata.
fn meta_key(username: &str) -> String {
    format!("judge-key/{username}")
}

/// A judge's key as the node keeps it: the public half, and the secret half sealed under the password.
#[derive(Debug, Serialize, Deserialize)]
struct StoredKey {
    public_key: String,
    salt: String,
    nonce: String,
    sealed: String,
    created_at: String,
    /// Keys the judge held before a reset, kept to check decisions signed with them.
    #[serde(default)]
    retired: Vec<String>,
}

/// The statement a judge signs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    /// Statement version.
    pub v: u32,
    /// `authorise` or `validate`.
    pub decision: String,
    /// The request.
    pub request: String,
    /// The measure.
    pub mechanism: String,
    /// SHA-256 (hex) of the request document as the judge saw it.
    pub document_sha256: String,
    /// The judge's username.
    pub judge: String,
    /// When it was signed (RFC 3339).
    pub signed_at: String,
}

/// Why a judicial decision was not accepted or could not be made.
#[derive(Debug, thiserror::Error)]
pub enum JudicialError {
    /// No such judge, or not a judge, or disabled.
    #[error(
        "`{0}` is not an active judge of this node; a judge's account signs judicial decisions"
    )]
    NotAJudge(String),
    /// The judge has no key yet.
    #[error("judge `{0}` has no signing key; reset the account (`comity user reset`) to make one")]
    NoKey(String),
    /// The password does not open the key.
    #[error("the password does not open the signing key of `{0}`")]
    WrongPassword(String),
    /// The envelope or its statement cannot be read.
    #[error("the signed decision cannot be read: {0}")]
    Malformed(String),
    /// The signature does not check against the judge's key.
    #[error("the signature is not the signature of judge `{0}`")]
    BadSignature(String),
    /// It is about something else.
    #[error("the signed decision is for {0}")]
    Mismatch(String),
    /// Too old or in the future.
    #[error("the signed decision was made at {0}; sign it again now")]
    Stale(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] comity_store::StoreError),
    /// Something that should not happen.
    #[error("{0}")]
    Internal(String),
}

/// SHA-256 (hex) of a request document as stored.
pub fn document_digest(document: &str) -> String {
    crate::evidence::protocol::sha256_hex(document.as_bytes())
}

fn wrapping_key(password: &str, salt: &[u8]) -> Result<[u8; 32], JudicialError> {
    let mut key = [0u8; 32];
    Argon2::default()
        .hash_password_into(password.as_bytes(), salt, &mut key)
        .map_err(|e| JudicialError::Internal(format!("argon2: {e}")))?;
    Ok(key)
}

fn aad(username: &str) -> Vec<u8> {
    format!("comity judge key v1:{username}").into_bytes()
}

/// Makes a new signing key for `username`, sealed under `password`; an earlier key is retired (kept for checking).
/// Returns the new public key.
pub async fn enrol(
    store: &Arc<dyn Store>,
    username: &str,
    password: &str,
    now: OffsetDateTime,
) -> Result<PublicKey, JudicialError> {
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let key = NodeSigningKey::from_seed(seed);
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    let mut nonce = [0u8; 12];
    OsRng.fill_bytes(&mut nonce);
    let wrap = wrapping_key(password, &salt)?;
    let sealed = ChaCha20Poly1305::new((&wrap).into())
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &seed,
                aad: &aad(username),
            },
        )
        .map_err(|_| JudicialError::Internal("cannot seal the key".into()))?;
    let mut retired = Vec::new();
    if let Some(old) = stored(store, username).await? {
        retired = old.retired;
        retired.push(old.public_key);
    }
    let record = StoredKey {
        public_key: key.public_key().to_string(),
        salt: B64.encode(salt),
        nonce: B64.encode(nonce),
        sealed: B64.encode(sealed),
        created_at: crate::wire::rfc3339(now),
        retired,
    };
    let text =
        serde_json::to_string(&record).map_err(|e| JudicialError::Internal(e.to_string()))?;
    store.set_meta(&meta_key(username), &text).await?;
    Ok(key.public_key())
}

async fn stored(
    store: &Arc<dyn Store>,
    username: &str,
) -> Result<Option<StoredKey>, JudicialError> {
    match store.meta(&meta_key(username)).await? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| JudicialError::Internal(format!("stored key of `{username}`: {e}"))),
    }
}

/// The current public key of a judge, if they have one.
pub async fn public_key(
    store: &Arc<dyn Store>,
    username: &str,
) -> Result<Option<PublicKey>, JudicialError> {
    match stored(store, username).await? {
        None => Ok(None),
        Some(k) => k
            .public_key
            .parse()
            .map(Some)
            .map_err(|e: comity_seal::KeyError| JudicialError::Internal(e.to_string())),
    }
}

async fn active_judge(store: &Arc<dyn Store>, username: &str) -> Result<(), JudicialError> {
    store
        .user_by_name(username)
        .await?
        .filter(|u| !u.disabled && u.role == Role::Judge.to_string())
        .map(drop)
        .ok_or_else(|| JudicialError::NotAJudge(username.to_owned()))
}

/// Signs `decision` with the judge's own key, opened with their password. Returns the DSSE envelope as JSON.
pub async fn sign(
    store: &Arc<dyn Store>,
    decision: &Decision,
    password: &str,
) -> Result<String, JudicialError> {
    let username = decision.judge.as_str();
    active_judge(store, username).await?;
    let k = stored(store, username)
        .await?
        .ok_or_else(|| JudicialError::NoKey(username.to_owned()))?;
    let bad =
        |what: &str| JudicialError::Internal(format!("stored key of `{username}`: bad {what}"));
    let salt = B64.decode(&k.salt).map_err(|_| bad("salt"))?;
    let nonce = B64.decode(&k.nonce).map_err(|_| bad("nonce"))?;
    let sealed = B64.decode(&k.sealed).map_err(|_| bad("sealed key"))?;
    if nonce.len() != 12 {
        return Err(bad("nonce"));
    }
    let password = password.to_owned();
    let wrap = tokio::task::spawn_blocking(move || wrapping_key(&password, &salt))
        .await
        .map_err(|e| JudicialError::Internal(e.to_string()))??;
    let seed = ChaCha20Poly1305::new((&wrap).into())
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &sealed,
                aad: &aad(username),
            },
        )
        .map_err(|_| JudicialError::WrongPassword(username.to_owned()))?;
    let seed: [u8; 32] = seed.try_into().map_err(|_| bad("sealed key"))?;
    let key = NodeSigningKey::from_seed(seed);
    let payload =
        serde_json::to_vec(decision).map_err(|e| JudicialError::Internal(e.to_string()))?;
    let envelope = Envelope::sign(DECISION_TYPE, &payload, &key);
    String::from_utf8(envelope.to_json()).map_err(|e| JudicialError::Internal(e.to_string()))
}

/// What a signed decision must be about.
pub struct Expected<'a> {
    /// `authorise` or `validate`.
    pub decision: &'a str,
    /// The request.
    pub request: &'a str,
    /// Its measure.
    pub mechanism: &'a str,
    /// Its stored document.
    pub document: &'a str,
}

/// Checks a signed decision: an active judge's current key signed it, about this request, this exact document and
/// this decision, recently. Returns the statement.
pub async fn verify(
    store: &Arc<dyn Store>,
    envelope_json: &str,
    expected: &Expected<'_>,
    now: OffsetDateTime,
) -> Result<Decision, JudicialError> {
    let envelope = Envelope::from_json(envelope_json.as_bytes())
        .map_err(|e| JudicialError::Malformed(e.to_string()))?;
    let payload = B64
        .decode(&envelope.payload)
        .map_err(|_| JudicialError::Malformed("the payload is not base64".into()))?;
    let claimed: Decision =
        serde_json::from_slice(&payload).map_err(|e| JudicialError::Malformed(e.to_string()))?;
    active_judge(store, &claimed.judge).await?;
    let key = public_key(store, &claimed.judge)
        .await?
        .ok_or_else(|| JudicialError::NoKey(claimed.judge.clone()))?;
    envelope
        .verify(DECISION_TYPE, &key)
        .map_err(|_| JudicialError::BadSignature(claimed.judge.clone()))?;
    if claimed.v != 1 {
        return Err(JudicialError::Malformed(format!(
            "statement version {} is not known",
            claimed.v
        )));
    }
    if claimed.decision != expected.decision {
        return Err(JudicialError::Mismatch(format!(
            "`{}`, not `{}`",
            claimed.decision, expected.decision
        )));
    }
    if claimed.request != expected.request || claimed.mechanism != expected.mechanism {
        return Err(JudicialError::Mismatch(format!(
            "request `{}` ({}), not `{}`",
            claimed.request, claimed.mechanism, expected.request
        )));
    }
    if claimed.document_sha256 != document_digest(expected.document) {
        return Err(JudicialError::Mismatch(
            "another version of the document; the judge must see and sign the current one".into(),
        ));
    }
    let at = OffsetDateTime::parse(
        &claimed.signed_at,
        &time::format_description::well_known::Rfc3339,
    )
    .map_err(|_| JudicialError::Malformed("`signed_at` is not an RFC 3339 time".into()))?;
    if at > now + MAX_SKEW || at < now - MAX_AGE {
        return Err(JudicialError::Stale(claimed.signed_at.clone()));
    }
    Ok(claimed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_sha256_hex() {
        assert_eq!(
            document_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
