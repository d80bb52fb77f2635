//! Why sealing, verifying or opening failed. Every variant names the file or entry at fault.
//!
//! Decryption failures stay coarse (they must not serve as an oracle); integrity failures name the exact file.

use std::path::PathBuf;

/// The error type of this crate.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is {kind}; only regular files and directories can be sealed")]
    UnsupportedInput { path: PathBuf, kind: &'static str },
    #[error("`{path}` has a name that is not valid UTF-8; rename it before sealing")]
    NameNotUtf8 { path: PathBuf },
    #[error(
        "two inputs would both be stored as `{name}`; rename one or put them in different directories"
    )]
    DuplicateInput { name: String },
    #[error("`{path}` changed while it was being sealed; seal it again once it is stable")]
    InputChanged { path: PathBuf },
    #[error("no input given; name at least one file or directory to seal")]
    NoInputs,
    #[error("no recipient given; name at least one age recipient (`age1...`)")]
    NoRecipients,
    #[error("`{path}` already exists; choose another output or remove it first")]
    OutputExists { path: PathBuf },
    #[error("output `{output}` is inside input `{input}`; write it elsewhere")]
    OutputInsideInput { output: PathBuf, input: PathBuf },
    #[error("{field} must be a single line of text without control characters")]
    InvalidField { field: &'static str },
    #[error("cannot encrypt to the given recipients: {reason}")]
    Encrypt { reason: String },

    #[error("seal statement `{path}` not found; it travels beside the package as `FILE.seal.json`")]
    StatementMissing { path: PathBuf },
    #[error("seal statement `{path}` is not a valid comity seal statement")]
    StatementMalformed { path: PathBuf },
    #[error("seal statement `{path}` is not validly signed by {producer}")]
    StatementSignature { path: PathBuf, producer: String },
    #[error("`{path}` does not match its seal statement: {what} differs")]
    CiphertextMismatch { path: PathBuf, what: &'static str },

    #[error(
        "cannot decrypt `{path}` with this identity (it is not a recipient, or the header was modified)"
    )]
    Decrypt { path: PathBuf },
    #[error("`{path}` is damaged or was modified: the encrypted stream does not authenticate")]
    Damaged { path: PathBuf },
    #[error("`{path}` does not contain a valid tar archive: {reason}")]
    Archive { path: PathBuf, reason: String },
    #[error("entry `{entry}` refused: {reason}")]
    UnsafeEntry { entry: String, reason: String },
    #[error("entry `{entry}` claims {size_bytes} bytes, more than {limit_bytes} bytes {why}")]
    TooLarge {
        entry: String,
        size_bytes: u64,
        limit_bytes: u64,
        why: &'static str,
    },
    #[error("bag check failed: `{file}` {problem}")]
    Bag { file: String, problem: String },
    #[error("signature `{file}` over the tag manifest is not valid for {producer}")]
    BagSignature { file: String, producer: String },

    #[error(transparent)]
    Key(#[from] comity_seal::KeyError),
}

/// Shorthand for results of this crate.
pub type Result<T, E = EvidenceError> = std::result::Result<T, E>;

impl EvidenceError {
    pub(crate) fn read(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Read { path, source }
    }

    pub(crate) fn write(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Write { path, source }
    }

    pub(crate) fn bag(file: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Bag {
            file: file.into(),
            problem: problem.into(),
        }
    }
}
