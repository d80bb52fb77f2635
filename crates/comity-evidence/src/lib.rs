//! Sealed evidence: any amount of data streamed into an open-standard package that a court can check without comity.
//!
//! A package is a standard age v1 file (`FILE`) holding a tar stream of a BagIt v1.0 bag: payload under `data/`,
//! `manifest-sha256.txt`, `bag-info.txt`, a CASE/UCO custody record (`custody-record.jsonld`), `tagmanifest-sha256.txt`
//! and the producer's DSSE signature over the tag manifest (`signature-tagmanifest.dsse.json`). Beside it, the
//! plaintext seal statement `FILE.seal.json` (a DSSE envelope) records the SHA-256 of the ciphertext and of the tag
//! manifest, so that anyone can check integrity and origin without decrypting.
//!
//! [`seal`], [`verify`] and [`open`] stream: memory stays bounded whatever the payload size (it grows only with
//! the number of payload files, by about a path and a digest each). [`cli`] holds the `comity evidence` commands.

mod age_reader;
mod age_writer;
pub mod bagit;
pub mod cli;
pub mod custody;
pub mod digest;
mod direct;
mod error;
mod pipeline;
mod seal;
pub mod statement;
mod unseal;

pub use error::{EvidenceError, Result};
pub use seal::{SealOptions, SealReport, seal};
pub use statement::{SEAL_STATEMENT_TYPE, SealStatement, statement_path};
pub use unseal::{
    Limits, OpenReport, UnsealOptions, VerifyReport, open, open_with, verify, verify_with,
};

/// File name of the producer's signature inside the bag.
pub const SIGNATURE_NAME: &str = "signature-tagmanifest.dsse.json";
/// DSSE payload type of that signature; its payload is the exact bytes of `tagmanifest-sha256.txt`.
pub const TAGMANIFEST_SIGNATURE_TYPE: &str = "application/vnd.comity.bagit-tagmanifest";
/// Tool name recorded in `bag-info.txt` and the custody record.
pub const TOOL_NAME: &str = "comity-evidence";
/// Tool version recorded in `bag-info.txt` and the custody record.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Receives progress as bytes stream past. Implementations must be cheap: they are called once per chunk.
pub trait ProgressSink: Sync {
    /// The number of bytes the whole operation will process.
    fn set_total(&self, total_bytes: u64);
    /// `bytes` more have been processed.
    fn advance(&self, bytes: u64);
}

/// Progress that goes nowhere.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn set_total(&self, _: u64) {}
    fn advance(&self, _: u64) {}
}
