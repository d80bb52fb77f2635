//! C2SP signed notes: text plus signature lines, Ed25519 note keys and verifier key strings.
//!
//! A note is UTF-8 text ending in a newline, a blank line, then one or more lines
//! `— <key name> base64(key ID || signature)`. The key ID is the first four bytes of
//! SHA-256(name || "\n" || algorithm byte || public key).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Algorithm byte of Ed25519 note signatures.
pub const ALG_ED25519: u8 = 0x01;

/// Most signature lines accepted in one note; bounds the work an untrusted note can cause.
pub const MAX_SIGNATURES: usize = 100;

/// Start of every signature line: U+2014 EM DASH and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// A four-byte key ID.
pub type KeyId = [u8; 4];

/// A malformed or unverifiable note.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    /// The note is not UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The note text is empty or does not end in a newline.
    #[error("note text must be non-empty and end with a newline")]
    TextNotTerminated,
    /// The note text holds a control character other than newline.
    #[error("note text contains control character U+{0:04X}; only newline is allowed")]
    ControlCharacter(u32),
    /// No blank line separates the text from the signatures.
    #[error("note has no signature block after a blank line")]
    MissingSignatures,
    /// A signature line does not follow `— <name> <base64>`.
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSignatureLine {
        /// 1-based line number inside the signature block.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The note carries more signature lines than [`MAX_SIGNATURES`].
    #[error("note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A key name is empty or holds whitespace or `+`.
    #[error("key name `{0}` is invalid: it must be non-empty without spaces or `+`")]
    InvalidKeyName(String),
    /// A verifier key string could not be parsed.
    #[error("verifier key is malformed: {0}")]
    MalformedVerifierKey(&'static str),
    /// A private key string could not be parsed.
    #[error("private key is malformed")]
    MalformedPrivateKey,
    /// A signature by a known key does not verify.
    #[error("note signature does not verify")]
    BadSignature,
    /// No signature by any of the expected keys is present.
    #[error("note has no signature from a known key")]
    NoKnownSignature,
}

/// One signature line of a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    /// Key name.
    pub name: String,
    /// Key ID computed from name, algorithm and public key.
    pub key_id: KeyId,
    /// Signature bytes after the key ID (format depends on the algorithm).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    /// The line as written in a note, with its final newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id);
        raw.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(raw))
    }

    fn parse_line(line: &str, number: usize) -> Result<Self, NoteError> {
        let malformed = |reason| NoteError::MalformedSignatureLine {
            line: number,
            reason,
        };
        let rest = line
            .strip_prefix(SIG_PREFIX)
            .ok_or(malformed("it does not start with an em dash and a space"))?;
        let (name, b64) = rest
            .split_once(' ')
            .ok_or(malformed("no space between name and signature"))?;
        check_key_name(name).map_err(|_| malformed("invalid key name"))?;
        let raw = BASE64
            .decode(b64)
            .map_err(|_| malformed("signature is not base64"))?;
        if raw.len() <= 4 {
            return Err(malformed("signature is too short"));
        }
        let (id, signature) = raw.split_at(4);
        let key_id = [id[0], id[1], id[2], id[3]];
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signature: signature.to_vec(),
        })
    }
}

/// A signed note: text and signature lines, kept in the order they were read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

/// Checks a key name: non-empty, no Unicode whitespace, no `+`.
pub fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains('+') || name.chars().any(char::is_whitespace) {
        return Err(NoteError::InvalidKeyName(name.to_owned()));
    }
    Ok(())
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::TextNotTerminated);
    }
    if let Some(c) = text.chars().find(|&c| c.is_control() && c != '\n') {
        return Err(NoteError::ControlCharacter(u32::from(c)));
    }
    Ok(())
}

/// Key ID: the first four bytes of SHA-256(name || "\n" || algorithm || public key).
pub fn key_id(name: &str, algorithm: u8, public_key: &[u8]) -> KeyId {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([algorithm]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

impl Note {
    /// A note with the given text and no signatures yet.
    pub fn new(text: impl Into<String>) -> Result<Self, NoteError> {
        let text = text.into();
        check_text(&text)?;
        Ok(Self {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note. Signatures are not verified; see [`Note::verify`].
    pub fn parse(bytes: &[u8]) -> Result<Self, NoteError> {
        let msg = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
        let split = msg.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
        let (text, block) = (&msg[..=split], &msg[split + 2..]);
        check_text(text)?;
        if block.is_empty() {
            return Err(NoteError::MissingSignatures);
        }
        let Some(block) = block.strip_suffix('\n') else {
            return Err(NoteError::MalformedSignatureLine {
                line: block.lines().count(),
                reason: "it does not end with a newline",
            });
        };
        let mut signatures = Vec::new();
        for (i, line) in block.split('\n').enumerate() {
            if signatures.len() == MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures);
            }
            signatures.push(NoteSignature::parse_line(line, i + 1)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, ending in a newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// All signature lines, verified or not.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line.
    pub fn push_signature(&mut self, signature: NoteSignature) {
        self.signatures.push(signature);
    }

    /// Signs the text with `signer` and adds the signature line.
    pub fn sign(&mut self, signer: &dyn NoteSigner) {
        let signature = signer.sign(self.text.as_bytes());
        self.signatures.push(NoteSignature {
            name: signer.name().to_owned(),
            key_id: signer.key_id(),
            signature,
        });
    }

    /// The serialized note: text, a blank line, the signature lines.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.text.clone();
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out.into_bytes()
    }

    /// Verifies the signatures made by any of `verifiers`.
    ///
    /// Lines whose name and key ID match no verifier are ignored. A line that matches a verifier
    /// but does not verify fails the whole note. Returns the verified signatures, at least one.
    pub fn verify<'a>(
        &'a self,
        verifiers: &[&dyn NoteVerifier],
    ) -> Result<Vec<&'a NoteSignature>, NoteError> {
        let mut verified = Vec::new();
        for sig in &self.signatures {
            let Some(verifier) = verifiers
                .iter()
                .find(|v| v.name() == sig.name && v.key_id() == sig.key_id)
            else {
                continue;
            };
            if !verifier.verify(self.text.as_bytes(), &sig.signature) {
                return Err(NoteError::BadSignature);
            }
            verified.push(sig);
        }
        if verified.is_empty() {
            return Err(NoteError::NoKnownSignature);
        }
        Ok(verified)
    }
}

/// Something that checks note signatures for one key.
pub trait NoteVerifier {
    /// Key name.
    fn name(&self) -> &str;
    /// Key ID.
    fn key_id(&self) -> KeyId;
    /// Whether `signature` (the bytes after the key ID) is valid over the note `text`.
    fn verify(&self, text: &[u8], signature: &[u8]) -> bool;
}

/// Something that signs notes with one key.
pub trait NoteSigner {
    /// Key name.
    fn name(&self) -> &str;
    /// Key ID.
    fn key_id(&self) -> KeyId;
    /// Signature over `text`, without the key ID.
    fn sign(&self, text: &[u8]) -> Vec<u8>;
}

/// An Ed25519 note signing key with its name.
#[derive(Clone)]
pub struct Ed25519Signer {
    name: String,
    key_id: KeyId,
    key: SigningKey,
}

impl fmt::Debug for Ed25519Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Signer")
            .field("name", &self.name)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl Ed25519Signer {
    /// A signer for `name` with the given key.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let key_id = key_id(name, ALG_ED25519, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key_id,
            key,
        })
    }

    /// A signer with a fresh random key.
    pub fn generate<R: rand_core::CryptoRngCore + ?Sized>(
        name: &str,
        rng: &mut R,
    ) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::generate(rng))
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Ed25519Verifier {
        Ed25519Verifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Private key string `PRIVATE+KEY+<name>+<hex key ID>+base64(0x01 || seed)`.
    pub fn to_private_key_string(&self) -> String {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex_key_id(&self.key_id),
            BASE64.encode(raw)
        )
    }

    /// Parses a private key string; see [`Ed25519Signer::to_private_key_string`].
    pub fn from_private_key_string(text: &str) -> Result<Self, NoteError> {
        let rest = text
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
        if alg != ALG_ED25519 {
            return Err(NoteError::MalformedPrivateKey);
        }
        let signer = Self::new(name, SigningKey::from_bytes(&seed))
            .map_err(|_| NoteError::MalformedPrivateKey)?;
        if hex_key_id(&signer.key_id) != id {
            return Err(NoteError::MalformedPrivateKey);
        }
        Ok(signer)
    }
}

impl NoteSigner for Ed25519Signer {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn sign(&self, text: &[u8]) -> Vec<u8> {
        self.key.sign(text).to_bytes().to_vec()
    }
}

/// An Ed25519 note verifier key with its name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ed25519Verifier {
    name: String,
    key_id: KeyId,
    key: VerifyingKey,
}

pub(crate) fn hex_key_id(id: &KeyId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits `name+hexid+base64` into its three parts.
pub(crate) fn split_key_string(text: &str) -> Option<(&str, &str, &str)> {
    let (name, rest) = text.split_once('+')?;
    let (id, raw) = rest.split_once('+')?;
    Some((name, id, raw))
}

impl Ed25519Verifier {
    /// A verifier for `name` with the given public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, ALG_ED25519, key.as_bytes()),
            key,
        })
    }

    /// Parses a verifier key string `<name>+<hex key ID>+base64(0x01 || public key)`.
    pub fn parse(text: &str) -> Result<Self, NoteError> {
        let (name, id, raw) = split_key_string(text)
            .ok_or(NoteError::MalformedVerifierKey("expected three parts"))?;
        check_key_name(name)?;
        if id.len() != 8
            || !id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(NoteError::MalformedVerifierKey(
                "key ID must be 8 lowercase hex digits",
            ));
        }
        let raw = BASE64
            .decode(raw)
            .map_err(|_| NoteError::MalformedVerifierKey("key is not base64"))?;
        let (&alg, key) = raw
            .split_first()
            .ok_or(NoteError::MalformedVerifierKey("key is empty"))?;
        if alg != ALG_ED25519 {
            return Err(NoteError::MalformedVerifierKey("unsupported algorithm"));
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

    /// The public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Display for Ed25519Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{}+{}",
            self.name,
            hex_key_id(&self.key_id),
            BASE64.encode(raw)
        )
    }
}

impl NoteVerifier for Ed25519Verifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> KeyId {
        self.key_id
    }

    fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        let Ok(sig) = Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(text, &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str, seed: u8) -> Ed25519Signer {
        Ed25519Signer::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
    }

    #[test]
    fn sign_parse_verify_round_trip() {
        let s = signer("example.com/log", 1);
        let mut note = Note::new("hello\nworld\n").unwrap();
        note.sign(&s);
        let bytes = note.to_bytes();
        let parsed = Note::parse(&bytes).unwrap();
        assert_eq!(parsed, note);
        assert_eq!(parsed.to_bytes(), bytes);
        let v = s.verifier();
        assert_eq!(parsed.verify(&[&v]).unwrap().len(), 1);
    }

    #[test]
    fn verifier_string_round_trip_and_key_id() {
        let s = signer("example.com/log", 2);
        let text = s.verifier().to_string();
        let v = Ed25519Verifier::parse(&text).unwrap();
        assert_eq!(v, s.verifier());
        let expected = key_id(
            "example.com/log",
            ALG_ED25519,
            s.verifier().public_key().as_bytes(),
        );
        assert_eq!(v.key_id(), expected);
        // Wrong key ID in the string.
        let (name_and_id, raw) = text.rsplit_once('+').unwrap();
        let (name, _) = name_and_id.split_once('+').unwrap();
        let bad = format!("{name}+00000000+{raw}");
        assert!(Ed25519Verifier::parse(&bad).is_err());
        // Name mismatch changes the key ID.
        let renamed = format!("other.example+{}", &text[name.len() + 1..]);
        assert!(Ed25519Verifier::parse(&renamed).is_err());
        assert!(Ed25519Verifier::parse("only+two").is_err());
        assert!(Ed25519Verifier::parse(&format!("{name}+ABCDEF01+{raw}")).is_err());
    }

    #[test]
    fn private_key_string_round_trip() {
        let s = signer("example.com/log", 3);
        let text = s.to_private_key_string();
        let back = Ed25519Signer::from_private_key_string(&text).unwrap();
        assert_eq!(back.verifier(), s.verifier());
        assert!(
            Ed25519Signer::from_private_key_string(&text.replace("PRIVATE", "PUBLIC")).is_err()
        );
        assert!(!format!("{s:?}").contains(&text[text.len() - 20..]));
    }

    #[test]
    fn forged_and_foreign_signatures() {
        let s = signer("example.com/log", 4);
        let other = signer("example.com/log", 5);
        let mut note = Note::new("text\n").unwrap();
        note.sign(&other);
        // Same name, other key: key ID differs, so the line is unknown.
        assert_eq!(
            note.verify(&[&s.verifier()]),
            Err(NoteError::NoKnownSignature)
        );
        // Same name and key ID, bad signature bytes.
        let mut forged = Note::new("text\n").unwrap();
        forged.sign(&s);
        let mut sig = forged.signatures()[0].clone();
        sig.signature[10] ^= 1;
        let mut tampered = Note::new("text\n").unwrap();
        tampered.push_signature(sig);
        assert_eq!(
            tampered.verify(&[&s.verifier()]),
            Err(NoteError::BadSignature)
        );
        // Signature over other text.
        let mut moved = Note::new("other text\n").unwrap();
        moved.push_signature(forged.signatures()[0].clone());
        assert_eq!(moved.verify(&[&s.verifier()]), Err(NoteError::BadSignature));
        // Unknown lines are ignored when a known one verifies.
        let mut both = Note::new("text\n").unwrap();
        both.sign(&other);
        both.sign(&s);
        assert_eq!(both.verify(&[&s.verifier()]).unwrap().len(), 1);
    }

    #[test]
    fn malformed_notes_are_refused() {
        let s = signer("example.com/log", 6);
        let mut note = Note::new("text\n").unwrap();
        note.sign(&s);
        let good = String::from_utf8(note.to_bytes()).unwrap();
        let line = good.split_once("\n\n").unwrap().1.to_owned();

        assert_eq!(Note::parse(b"\xff\n\nx"), Err(NoteError::NotUtf8));
        assert_eq!(
            Note::parse(b"text\nno blank line\n"),
            Err(NoteError::MissingSignatures)
        );
        assert_eq!(Note::parse(b"text\n\n"), Err(NoteError::MissingSignatures));
        assert!(matches!(
            Note::parse(good.trim_end().as_bytes()),
            Err(NoteError::MalformedSignatureLine { .. })
        ));
        assert!(matches!(
            Note::parse(format!("text\n\n{}", line.replacen('\u{2014}', "-", 1)).as_bytes()),
            Err(NoteError::MalformedSignatureLine { .. })
        ));
        assert!(matches!(
            Note::parse(b"text\n\n\xe2\x80\x94 name AAAA\n"),
            Err(NoteError::MalformedSignatureLine { .. })
        ));
        assert!(matches!(
            Note::parse("text\n\n\u{2014} name !!!!\n".as_bytes()),
            Err(NoteError::MalformedSignatureLine { .. })
        ));
        assert!(matches!(
            Note::parse("text\n\n\u{2014} na+me AAAAAAAA\n".as_bytes()),
            Err(NoteError::MalformedSignatureLine { .. })
        ));
        assert_eq!(
            Note::parse(format!("te\rxt\n\n{line}").as_bytes()),
            Err(NoteError::ControlCharacter(0x0d))
        );
        assert_eq!(
            Note::parse(format!("\n\n{line}").as_bytes()),
            Ok(Note {
                text: "\n".into(),
                signatures: note.signatures().to_vec()
            })
        );
        let many = format!("text\n\n{}", line.repeat(MAX_SIGNATURES + 1));
        assert_eq!(
            Note::parse(many.as_bytes()),
            Err(NoteError::TooManySignatures)
        );
        assert_eq!(Note::new("no newline"), Err(NoteError::TextNotTerminated));
        assert!(Ed25519Signer::new("bad name", SigningKey::from_bytes(&[0; 32])).is_err());
        assert!(Ed25519Signer::new("", SigningKey::from_bytes(&[0; 32])).is_err());
    }
}
