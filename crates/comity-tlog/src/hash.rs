//! RFC 6962 Merkle tree hashing: leaf and node hashes, roots, and the compact range used to append.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

/// Size of a tree hash in bytes (SHA-256).
pub const HASH_SIZE: usize = 32;

/// A SHA-256 hash of a leaf, an interior node or a whole tree.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Hash(pub [u8; HASH_SIZE]);

/// A byte string that is not a hash: wrong length or bad base64.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The decoded value has the wrong number of bytes.
    #[error("hash must be {HASH_SIZE} bytes, got {0}")]
    WrongLength(usize),
    /// The text is not standard padded base64.
    #[error("hash is not valid base64")]
    Base64,
}

impl Hash {
    /// Takes a hash from a byte slice of exactly [`HASH_SIZE`] bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashError> {
        let array: [u8; HASH_SIZE] = bytes
            .try_into()
            .map_err(|_| HashError::WrongLength(bytes.len()))?;
        Ok(Self(array))
    }

    /// Parses standard padded base64, as used in checkpoints and proofs.
    pub fn from_base64(text: &str) -> Result<Self, HashError> {
        let bytes = BASE64.decode(text).map_err(|_| HashError::Base64)?;
        Self::from_slice(&bytes)
    }

    /// Standard padded base64 encoding.
    pub fn to_base64(&self) -> String {
        BASE64.encode(self.0)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_SIZE] {
        &self.0
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_base64())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

/// Root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// Leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(entry);
    Hash(hasher.finalize().into())
}

/// Interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// Root of the tree whose leaves have the given leaf hashes (RFC 6962 §2.1 MTH).
///
/// Computed bottom-up with a compact range, so it needs no recursion.
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for leaf in leaves {
        range.push(*leaf, |_, _, _| {});
    }
    range.root()
}

/// Largest power of two strictly smaller than `n` (`n >= 2`): the split point `k` of RFC 6962.
pub(crate) fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The roots of the perfect subtrees that make up a tree of some size: its right frontier.
///
/// A tree of size `n` is the concatenation of perfect subtrees, one per set bit of `n`, largest
/// first. Appending a leaf merges equal-sized subtrees, so the frontier holds at most 64 hashes
/// and appending costs amortised two hashes.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    // INVARIANT: `nodes[i]` is the root of the i-th perfect subtree in decreasing size order; its
    // height is the position of the i-th highest set bit of `size`.
    nodes: Vec<Hash>,
}

/// A frontier that does not match its declared size.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a tree of size {size} has {expected} frontier hashes, got {actual}")]
pub struct FrontierError {
    /// Declared tree size.
    pub size: u64,
    /// Number of set bits in `size`.
    pub expected: usize,
    /// Number of hashes given.
    pub actual: usize,
}

impl CompactRange {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from its perfect subtree roots, largest first.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Result<Self, FrontierError> {
        let expected = size.count_ones() as usize;
        if nodes.len() != expected {
            return Err(FrontierError {
                size,
                expected,
                actual: nodes.len(),
            });
        }
        Ok(Self { size, nodes })
    }

    /// The perfect subtrees of a tree of `size` leaves as `(level, index)` node coordinates,
    /// largest first: the node at `(level, index)` covers leaves `index << level .. (index + 1) << level`.
    pub fn frontier_coordinates(size: u64) -> Vec<(u8, u64)> {
        let mut out = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            if size & (1 << level) != 0 {
                out.push((level, start >> level));
                start += 1 << level;
            }
        }
        out
    }

    /// Number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect subtree roots, largest first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends a leaf hash. `on_node(level, index, hash)` is called for the new leaf (level 0) and
    /// for each interior node the append completes, bottom-up.
    pub fn push(&mut self, leaf: Hash, mut on_node: impl FnMut(u8, u64, &Hash)) {
        let index = self.size;
        on_node(0, index, &leaf);
        let mut hash = leaf;
        let mut level = 0u8;
        // Each trailing one bit of the old size is a subtree of the same height as `hash`.
        while (index >> level) & 1 == 1 {
            let Some(left) = self.nodes.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            on_node(level, index >> level, &hash);
        }
        self.nodes.push(hash);
        self.size += 1;
        debug_assert_eq!(self.nodes.len(), self.size.count_ones() as usize);
    }

    /// Root of the tree appended so far; the empty root for size 0.
    pub fn root(&self) -> Hash {
        let mut iter = self.nodes.iter().rev();
        let Some(last) = iter.next() else {
            return empty_root();
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(
            empty_root().to_base64(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(root_from_leaf_hashes(&[]), empty_root());
    }

    #[test]
    fn split_point_is_largest_power_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(1 << 40), 1 << 39);
    }

    #[test]
    fn push_reports_completed_nodes() {
        let mut range = CompactRange::new();
        let mut seen = Vec::new();
        for i in 0..4u8 {
            range.push(leaf_hash(&[i]), |level, index, _| seen.push((level, index)));
        }
        assert_eq!(
            seen,
            vec![(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0)]
        );
        assert_eq!(range.nodes().len(), 1);
    }

    #[test]
    fn frontier_coordinates_cover_the_tree() {
        assert_eq!(
            CompactRange::frontier_coordinates(13),
            vec![(3, 0), (2, 2), (0, 12)]
        );
        assert!(CompactRange::frontier_coordinates(0).is_empty());
    }

    #[test]
    fn from_parts_checks_node_count() {
        assert!(CompactRange::from_parts(3, vec![empty_root()]).is_err());
        assert!(CompactRange::from_parts(3, vec![empty_root(), empty_root()]).is_ok());
    }

    #[test]
    fn hash_parsing_rejects_bad_input() {
        assert_eq!(Hash::from_slice(&[0; 31]), Err(HashError::WrongLength(31)));
        assert_eq!(Hash::from_base64("not base64!"), Err(HashError::Base64));
        assert_eq!(
            Hash::from_base64("ZG9uJ3Q="),
            Err(HashError::WrongLength(5))
        );
    }
}
