//! Formats that travel between comity nodes and outlive them: key files and DSSE envelopes.
//!
//! Everything here reads and writes bytes; nothing opens sockets or databases. Key files are read and
//! written through [`keys`], envelopes are built and checked through [`dsse`].

pub mod dsse;
pub mod keys;

pub use dsse::{Envelope, EnvelopeError};
pub use keys::{KeyError, NodeSigningKey, PublicKey};
