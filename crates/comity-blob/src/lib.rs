//! Evidence blobs of comity behind one trait, [`BlobStore`]: a local directory by default ([`local::LocalBlobStore`])
//! and S3-compatible object storage for nodes that outgrow one disk ([`s3::S3BlobStore`]).
//!
//! Blobs are content-addressed by SHA-256: the id is the digest, storing the same content twice stores it once, and
//! every read checks the content against its id before handing it out. A blob is immutable once stored.
//! Contents are opaque bytes here and never logged.

pub mod local;
pub mod s3;

use std::path::Path;

use sha2::{Digest, Sha256};

/// The id of a blob: the SHA-256 of its content, `sha256:` and 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId([u8; 32]);

/// Something that is not a blob id.
#[derive(Debug, thiserror::Error)]
#[error("`{0}` is not a blob id; expected `sha256:` and 64 lower-case hex digits")]
pub struct BadBlobId(String);

impl BlobId {
    /// The id of `content`.
    pub fn of(content: &[u8]) -> Self {
        Self(Sha256::digest(content).into())
    }

    /// The id from a finished hash.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// Parses `sha256:<64 hex>`.
    pub fn parse(text: &str) -> Result<Self, BadBlobId> {
        let bad = || BadBlobId(text.chars().take(80).collect());
        let hex = text.strip_prefix("sha256:").ok_or_else(bad)?;
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            out[i] = digit(pair[0]).ok_or_else(bad)? << 4 | digit(pair[1]).ok_or_else(bad)?;
        }
        Ok(Self(out))
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> String {
        hex(&self.0)
    }
}

impl std::fmt::Display for BlobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// What can go wrong with a blob store.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The stored content does not match its id: the store was damaged or tampered with.
    #[error("blob {0} is damaged: its content does not match its digest; restore it from a copy")]
    Corrupt(BlobId),
    /// A file or directory could not be used.
    #[error("cannot use `{path}`: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    /// The object store refused or failed a request.
    #[error("object store {operation} failed: {message}")]
    Remote {
        operation: &'static str,
        message: String,
    },
    /// The configuration is not usable.
    #[error("{0}")]
    Config(String),
}

/// Where a node keeps evidence blobs.
#[async_trait::async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `content` durably and returns its id; storing content that is there already changes nothing.
    async fn put(&self, content: &[u8]) -> Result<BlobId, BlobError>;
    /// Stores the file at `path` (read once to hash it, once to store it; never whole in memory).
    async fn put_file(&self, path: &Path) -> Result<BlobId, BlobError>;
    /// The content of a blob, checked against its id; `None` if there is no such blob.
    async fn get(&self, id: &BlobId) -> Result<Option<Vec<u8>>, BlobError>;
    /// `len` bytes of a blob from `offset` (fewer at its end), `None` if there is no such blob. A part cannot be
    /// checked against the blob's id: the caller checks it against a digest of its own (a transfer's chunk list).
    /// The default reads the whole blob, checked, and cuts the part out.
    async fn get_range(
        &self,
        id: &BlobId,
        offset: u64,
        len: u64,
    ) -> Result<Option<Vec<u8>>, BlobError> {
        Ok(self.get(id).await?.map(|whole| {
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(whole.len());
            let end = start
                .saturating_add(usize::try_from(len).unwrap_or(usize::MAX))
                .min(whole.len());
            whole[start..end].to_vec()
        }))
    }
    /// Whether a blob is stored.
    async fn contains(&self, id: &BlobId) -> Result<bool, BlobError>;
    /// Removes a blob (for example when its retention ends); removing a missing blob is not an error.
    async fn delete(&self, id: &BlobId) -> Result<(), BlobError>;
}

/// The SHA-256 of a file, read in chunks.
pub(crate) async fn hash_file(path: &Path) -> Result<(BlobId, u64), BlobError> {
    use tokio::io::AsyncReadExt;
    let io = |source| BlobError::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((BlobId(hasher.finalize().into()), size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_refuse_anything_else() {
        let id = BlobId::of(b"abc");
        assert_eq!(
            id.to_string(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(matches!(BlobId::parse(&id.to_string()), Ok(p) if p == id));
        for bad in [
            "",
            "sha256:",
            "sha1:ba7816bf",
            "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
            "sha256:../../../../etc/passwd",
        ] {
            assert!(BlobId::parse(bad).is_err(), "`{bad}` parsed");
        }
    }
}
