//! C2SP tlog-checkpoint: origin, tree size and root hash, with optional extension lines.

use std::fmt;

use crate::hash::Hash;
use crate::note::{Note, NoteError, NoteSigner, NoteVerifier};

/// A malformed checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    /// Fewer than three lines, or the body does not end in a newline.
    #[error("checkpoint must have origin, size and root lines, each ending with a newline")]
    TooShort,
    /// The origin line is empty.
    #[error("checkpoint origin line is empty")]
    EmptyOrigin,
    /// The size line is not a canonical decimal number.
    #[error("checkpoint size `{0}` is not a decimal number without leading zeros")]
    BadSize(String),
    /// The root line is not base64 of 32 bytes.
    #[error("checkpoint root `{0}` is not base64 of a 32-byte hash")]
    BadRoot(String),
    /// An extension line is empty.
    #[error("checkpoint extension line {0} is empty")]
    EmptyExtension(usize),
    /// A line holds a control character.
    #[error("checkpoint line {0} contains a control character")]
    ControlCharacter(usize),
    /// The signed note around the checkpoint is malformed or unverified.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The note is signed but its origin is not the expected one.
    #[error("checkpoint origin `{found}` is not the expected `{expected}`")]
    WrongOrigin {
        /// Origin required by the caller.
        expected: String,
        /// Origin in the checkpoint.
        found: String,
    },
}

/// A checkpoint: the state of a log at one tree size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique identifier of the log, usually a schema-less URL.
    pub origin: String,
    /// Number of entries in the tree.
    pub size: u64,
    /// Root hash of the tree.
    pub root: Hash,
    /// Extension lines, without their newlines; each non-empty.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// Parses a checkpoint body (the note text).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        let body = text.strip_suffix('\n').ok_or(CheckpointError::TooShort)?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::TooShort);
        };
        for (i, line) in body.split('\n').enumerate() {
            if line.chars().any(char::is_control) {
                return Err(CheckpointError::ControlCharacter(i + 1));
            }
        }
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        let size = parse_size(size)?;
        let root =
            Hash::from_base64(root).map_err(|_| CheckpointError::BadRoot(root.to_owned()))?;
        let mut extensions = Vec::new();
        for (i, line) in lines.enumerate() {
            if line.is_empty() {
                return Err(CheckpointError::EmptyExtension(i + 1));
            }
            extensions.push(line.to_owned());
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The checkpoint body, as signed.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// Signs the checkpoint with the log key and returns the signed note.
    pub fn sign(&self, signer: &dyn NoteSigner) -> Result<Note, CheckpointError> {
        let mut note = Note::new(self.to_text())?;
        note.sign(signer);
        Ok(note)
    }

    /// Parses a signed checkpoint note, checks its origin, and verifies the log signature.
    pub fn open(
        note_bytes: &[u8],
        origin: &str,
        log_key: &dyn NoteVerifier,
    ) -> Result<(Self, Note), CheckpointError> {
        let note = Note::parse(note_bytes)?;
        let checkpoint = Self::parse(note.text())?;
        if checkpoint.origin != origin {
            return Err(CheckpointError::WrongOrigin {
                expected: origin.to_owned(),
                found: checkpoint.origin,
            });
        }
        note.verify(&[log_key])?;
        Ok((checkpoint, note))
    }
}

fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    let bad = || CheckpointError::BadSize(text.to_owned());
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(bad());
    }
    text.parse().map_err(|_| bad())
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.origin)?;
        writeln!(f, "{}", self.size)?;
        writeln!(f, "{}", self.root)?;
        for line in &self.extensions {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::empty_root;
    use crate::note::Ed25519Signer;
    use ed25519_dalek::SigningKey;

    const EXAMPLE: &str =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

    #[test]
    fn parses_the_spec_example_and_writes_it_back() {
        let cp = Checkpoint::parse(EXAMPLE).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20_852_163);
        assert_eq!(cp.to_text(), EXAMPLE);
        let with_ext = format!("{EXAMPLE}extension one\nanother\n");
        let cp = Checkpoint::parse(&with_ext).unwrap();
        assert_eq!(cp.extensions, vec!["extension one", "another"]);
        assert_eq!(cp.to_text(), with_ext);
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let root = empty_root().to_base64();
        let cases: Vec<(String, CheckpointError)> = vec![
            ("o\n1\n".into(), CheckpointError::TooShort),
            (format!("o\n1\n{root}"), CheckpointError::TooShort),
            (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
            (
                format!("o\n01\n{root}\n"),
                CheckpointError::BadSize("01".into()),
            ),
            (
                format!("o\n+1\n{root}\n"),
                CheckpointError::BadSize("+1".into()),
            ),
            (
                format!("o\n-1\n{root}\n"),
                CheckpointError::BadSize("-1".into()),
            ),
            (
                format!("o\n18446744073709551616\n{root}\n"),
                CheckpointError::BadSize("18446744073709551616".into()),
            ),
            (
                format!("o\n\n{root}\n"),
                CheckpointError::BadSize(String::new()),
            ),
            (
                "o\n1\nZG9uJ3Q=\n".into(),
                CheckpointError::BadRoot("ZG9uJ3Q=".into()),
            ),
            (
                format!("o\n1\n{root}\n\n"),
                CheckpointError::EmptyExtension(1),
            ),
            (
                format!("o\t\n1\n{root}\n"),
                CheckpointError::ControlCharacter(1),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
        }
        assert_eq!(
            Checkpoint::parse(&format!("o\n0\n{root}\n")).unwrap().size,
            0
        );
    }

    #[test]
    fn open_checks_origin_and_signature() {
        let log = Ed25519Signer::new("example.com/log", SigningKey::from_bytes(&[7; 32])).unwrap();
        let other =
            Ed25519Signer::new("example.com/log", SigningKey::from_bytes(&[8; 32])).unwrap();
        let cp = Checkpoint::new("example.com/log", 5, empty_root());
        let bytes = cp.sign(&log).unwrap().to_bytes();
        let (opened, _) = Checkpoint::open(&bytes, "example.com/log", &log.verifier()).unwrap();
        assert_eq!(opened, cp);
        assert!(matches!(
            Checkpoint::open(&bytes, "example.com/other", &log.verifier()),
            Err(CheckpointError::WrongOrigin { .. })
        ));
        assert_eq!(
            Checkpoint::open(&bytes, "example.com/log", &other.verifier()),
            Err(CheckpointError::Note(NoteError::NoKnownSignature))
        );
        let tampered = String::from_utf8(bytes)
            .unwrap()
            .replacen("\n5\n", "\n6\n", 1);
        assert_eq!(
            Checkpoint::open(tampered.as_bytes(), "example.com/log", &log.verifier()),
            Err(CheckpointError::Note(NoteError::BadSignature))
        );
    }
}
