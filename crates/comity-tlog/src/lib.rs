//! Transparency log formats and a durable file-backed log.
//!
//! The pure formats: RFC 6962 hashing ([`hash`]), inclusion and consistency proofs ([`proof`]),
//! C2SP signed notes ([`note`]), checkpoints ([`checkpoint`]), cosignatures and a witness
//! ([`cosignature`]), and the tlog-tiles layout ([`tiles`]). [`filelog`] is the only module that
//! touches the file system: a log on a directory that publishes signed checkpoints durably.

pub mod checkpoint;
pub mod cosignature;
pub mod filelog;
pub mod hash;
pub mod note;
pub mod proof;
pub mod tiles;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use cosignature::{CosignatureSigner, CosignatureVerifier, Witness, WitnessError};
pub use filelog::{FileLog, LogError};
pub use hash::{CompactRange, Hash, empty_root, leaf_hash, node_hash};
pub use note::{Ed25519Signer, Ed25519Verifier, Note, NoteError, NoteSignature};
pub use proof::{HashReader, VerifyError, verify_consistency, verify_inclusion};
