//! DSSE v1 envelopes (secure-systems-lab/dsse): a payload, its type, and Ed25519 signatures over the
//! pre-authentication encoding `PAE(type, payload)`.
//!
//! The JSON form is the standard one (`payload`, `payloadType`, `signatures[].keyid`, `signatures[].sig`, base64),
//! so any DSSE library can check a comity envelope.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::keys::{NodeSigningKey, PublicKey};

/// A signed envelope as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Base64 of the payload bytes.
    pub payload: String,
    /// Media type of the payload, for example `application/vnd.comity.request+json`.
    #[serde(rename = "payloadType")]
    pub payload_type: String,
    /// One or more signatures.
    pub signatures: Vec<EnvelopeSignature>,
}

/// One signature of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeSignature {
    /// The signer's key id (see [`PublicKey::key_id`]).
    pub keyid: String,
    /// Base64 of the 64-byte Ed25519 signature.
    pub sig: String,
}

/// Why an envelope was not accepted. Deliberately coarse: it must not help a forger.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("envelope is not valid JSON or not a DSSE envelope")]
    Malformed,
    #[error("envelope payload type is `{found}`, expected `{expected}`")]
    WrongPayloadType { expected: String, found: String },
    #[error("envelope carries no valid signature by the expected key")]
    BadSignature,
}

/// The DSSE v1 pre-authentication encoding.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

impl Envelope {
    /// Signs `payload` with `key`.
    pub fn sign(payload_type: &str, payload: &[u8], key: &NodeSigningKey) -> Self {
        let sig = key.sign(&pae(payload_type, payload));
        Self {
            payload: B64.encode(payload),
            payload_type: payload_type.to_owned(),
            signatures: vec![EnvelopeSignature {
                keyid: key.public_key().key_id(),
                sig: B64.encode(sig),
            }],
        }
    }

    /// Parses the JSON form.
    pub fn from_json(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        serde_json::from_slice(bytes).map_err(|_| EnvelopeError::Malformed)
    }

    /// The JSON form.
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising plain strings and vectors cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Checks the payload type and a signature by `signer`, and returns the payload bytes.
    pub fn verify(
        &self,
        expected_type: &str,
        signer: &PublicKey,
    ) -> Result<Vec<u8>, EnvelopeError> {
        if self.payload_type != expected_type {
            return Err(EnvelopeError::WrongPayloadType {
                expected: expected_type.to_owned(),
                found: self.payload_type.clone(),
            });
        }
        let payload = B64
            .decode(&self.payload)
            .map_err(|_| EnvelopeError::Malformed)?;
        let message = pae(&self.payload_type, &payload);
        let key_id = signer.key_id();
        let signed = self
            .signatures
            .iter()
            .filter(|s| s.keyid == key_id)
            .filter_map(|s| B64.decode(&s.sig).ok())
            .any(|sig| signer.verify(&message, &sig));
        if signed {
            Ok(payload)
        } else {
            Err(EnvelopeError::BadSignature)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPE: &str = "application/vnd.comity.request+json";

    #[test]
    fn pae_matches_the_specification_example() {
        // From the DSSE protocol document: PAE("http://example.com/HelloWorld", "hello world").
        assert_eq!(
            pae("http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
    }

    #[test]
    fn signed_envelope_verifies_after_a_json_round_trip() {
        let key = NodeSigningKey::from_seed([3; 32]);
        let env = Envelope::sign(TYPE, b"{\"a\":1}", &key);
        let back = Envelope::from_json(&env.to_json()).unwrap();
        assert_eq!(back.verify(TYPE, &key.public_key()).unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn tampering_is_detected() {
        let key = NodeSigningKey::from_seed([3; 32]);
        let other = NodeSigningKey::from_seed([4; 32]);
        let env = Envelope::sign(TYPE, b"payload", &key);

        let mut payload = env.clone();
        payload.payload = B64.encode(b"paylaod");
        assert_eq!(
            payload.verify(TYPE, &key.public_key()),
            Err(EnvelopeError::BadSignature)
        );

        let mut kind = env.clone();
        kind.payload_type = "application/vnd.comity.receipt+json".into();
        assert!(matches!(
            kind.verify(TYPE, &key.public_key()),
            Err(EnvelopeError::WrongPayloadType { .. })
        ));
        assert!(
            kind.verify(&kind.payload_type.clone(), &key.public_key())
                .is_err()
        );

        assert_eq!(
            env.verify(TYPE, &other.public_key()),
            Err(EnvelopeError::BadSignature)
        );

        let forged = Envelope::sign(TYPE, b"payload", &other);
        let mut relabelled = forged.clone();
        relabelled.signatures[0].keyid = key.public_key().key_id();
        assert_eq!(
            relabelled.verify(TYPE, &key.public_key()),
            Err(EnvelopeError::BadSignature)
        );

        assert_eq!(
            Envelope::from_json(b"{\"payload\":1}"),
            Err(EnvelopeError::Malformed)
        );
    }
}
