//! Key files: the node's Ed25519 signing key and its age X25519 encryption identity.
//!
//! A signing key file holds one line, `COMITY-ED25519-SECRET-KEY-1 <base64 seed>`; its public half is written as
//! `ed25519:<base64>`. The age identity file is the same text `age-keygen` writes, so the real `age` tool can use it.
//! Secret files are created with mode 0600 and never overwritten.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer, Verifier};
use secrecy::ExposeSecret;

const SECRET_KEY_LABEL: &str = "COMITY-ED25519-SECRET-KEY-1";
const PUBLIC_KEY_PREFIX: &str = "ed25519:";

/// What can go wrong with a key file or a key string.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file `{path}`: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write key file `{path}`: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "`{path}` is not a comity signing key file (expected a line starting with `{SECRET_KEY_LABEL}`)"
    )]
    NotASigningKey { path: String },
    #[error(
        "`{0}` is not an ed25519 public key (expected `ed25519:` followed by 32 bytes in base64)"
    )]
    BadPublicKey(String),
    #[error(
        "`{path}` is not an age identity file (expected a line starting with `AGE-SECRET-KEY-1`)"
    )]
    NotAnAgeIdentity { path: String },
}

/// A node's Ed25519 signing key.
pub struct NodeSigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for NodeSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NodeSigningKey({})", self.public_key())
    }
}

impl NodeSigningKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        Self(ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng))
    }

    /// A key from its 32-byte seed (used by tests and by deterministic fixtures).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// Reads a key file written by [`NodeSigningKey::write_new`].
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text).ok_or_else(|| KeyError::NotASigningKey {
            path: path.display().to_string(),
        })
    }

    fn parse(text: &str) -> Option<Self> {
        let line = text.lines().find(|l| l.starts_with(SECRET_KEY_LABEL))?;
        let encoded = line.strip_prefix(SECRET_KEY_LABEL)?.trim();
        let seed: [u8; 32] = B64.decode(encoded).ok()?.try_into().ok()?;
        Some(Self::from_seed(seed))
    }

    /// Writes the key to a new file with mode 0600; refuses to overwrite an existing file.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let text = format!(
            "# comity node signing key; public key: {}\n{SECRET_KEY_LABEL} {}\n",
            self.public_key(),
            B64.encode(self.0.to_bytes())
        );
        write_secret_file(path, text.as_bytes())
    }

    /// The public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message`; the signature is 64 bytes.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

/// An Ed25519 public key, written `ed25519:<base64>`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// The raw 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// A public key from its raw 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| KeyError::BadPublicKey(B64.encode(bytes)))
    }

    /// Checks a signature strictly (no malleable or small-order forms).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(bytes) = <[u8; 64]>::try_from(signature) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(&bytes);
        self.0.verify_strict(message, &signature).is_ok()
            && self.0.verify(message, &signature).is_ok()
    }

    /// A short stable identifier: the first 8 bytes of SHA-256 of the key, in hex.
    pub fn key_id(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(self.0.to_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PUBLIC_KEY_PREFIX}{}", B64.encode(self.0.to_bytes()))
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || KeyError::BadPublicKey(s.to_owned());
        let encoded = s.strip_prefix(PUBLIC_KEY_PREFIX).ok_or_else(bad)?;
        let bytes: [u8; 32] = B64
            .decode(encoded)
            .map_err(|_| bad())?
            .try_into()
            .map_err(|_| bad())?;
        Self::from_bytes(&bytes).map_err(|_| bad())
    }
}

/// A fresh age X25519 identity, returned as the text of an identity file and its public recipient string.
pub fn generate_age_identity(created_at: &str) -> (String, String) {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let text = format!(
        "# created: {created_at}\n# public key: {recipient}\n{}\n",
        identity.to_string().expose_secret()
    );
    (text, recipient)
}

/// Reads an age identity file (as written by `age-keygen` or [`generate_age_identity`]).
pub fn read_age_identity(path: &Path) -> Result<age::x25519::Identity, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })?;
    text.lines()
        .map(str::trim)
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .and_then(|l| age::x25519::Identity::from_str(l).ok())
        .ok_or_else(|| KeyError::NotAnAgeIdentity {
            path: path.display().to_string(),
        })
}

/// Creates `path` with mode 0600 and writes `bytes`, durably; refuses if the file exists.
pub fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let err = |source| KeyError::Write {
        path: path.display().to_string(),
        source,
    };
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(err)?;
    file.write_all(bytes).map_err(err)?;
    file.sync_all().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_key_file_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing.key");
        let key = NodeSigningKey::generate();
        key.write_new(&path).unwrap();
        let back = NodeSigningKey::read(&path).unwrap();
        assert_eq!(key.public_key(), back.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(
            matches!(key.write_new(&path), Err(KeyError::Write { .. })),
            "must not overwrite"
        );
    }

    #[test]
    fn public_key_string_round_trips_and_rejects_garbage() {
        let key = NodeSigningKey::from_seed([7; 32]).public_key();
        assert_eq!(key.to_string().parse::<PublicKey>().unwrap(), key);
        for bad in [
            "",
            "ed25519:",
            "ed25519:AAAA",
            "rsa:abc",
            &key.to_string()[1..],
        ] {
            assert!(bad.parse::<PublicKey>().is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn signatures_verify_and_forgeries_do_not() {
        let key = NodeSigningKey::from_seed([1; 32]);
        let other = NodeSigningKey::from_seed([2; 32]);
        let sig = key.sign(b"order");
        assert!(key.public_key().verify(b"order", &sig));
        assert!(!key.public_key().verify(b"orders", &sig));
        assert!(!other.public_key().verify(b"order", &sig));
        let mut flipped = sig;
        flipped[5] ^= 1;
        assert!(!key.public_key().verify(b"order", &flipped));
        assert!(!key.public_key().verify(b"order", &sig[..63]));
    }

    #[test]
    fn age_identity_file_is_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("age.key");
        let (text, recipient) = generate_age_identity("2026-01-01T00:00:00Z");
        write_secret_file(&path, text.as_bytes()).unwrap();
        let identity = read_age_identity(&path).unwrap();
        assert_eq!(identity.to_public().to_string(), recipient);
        assert!(recipient.starts_with("age1"));
    }
}
