//! Inclusion and consistency proofs: generation from stored hashes and verification (RFC 9162 §2.1.3, §2.1.4).

use crate::hash::{Hash, leaf_hash, node_hash, split_point};

/// Reads the hash of a complete (perfect) subtree of the log.
///
/// The node at `(level, index)` covers the leaves `index << level .. (index + 1) << level`;
/// level 0 nodes are leaf hashes. Callers only ask for nodes that are complete in the tree they
/// prove against, so a reader over a larger tree of the same log answers them too.
pub trait HashReader {
    /// Error returned when a hash cannot be read.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Returns the hash of the perfect subtree at `(level, index)`.
    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

impl<R: HashReader + ?Sized> HashReader for &R {
    type Error = R::Error;

    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        (**self).read_hash(level, index)
    }
}

/// A proof that could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum ProveError<E: std::error::Error + 'static> {
    /// The leaf is not in the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize {
        /// Requested leaf index.
        index: u64,
        /// Tree size.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one, or from the empty tree.
    #[error("no consistency proof from size {size1} to size {size2}")]
    SizesOutOfOrder {
        /// Older tree size.
        size1: u64,
        /// Newer tree size.
        size2: u64,
    },
    /// The hash reader failed.
    #[error("cannot read a stored hash")]
    Read(#[source] E),
}

/// A proof that does not verify or is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// The older tree is larger than the newer one.
    #[error("tree size {size1} is larger than tree size {size2}")]
    SizesOutOfOrder {
        /// Claimed older size.
        size1: u64,
        /// Claimed newer size.
        size2: u64,
    },
    /// Consistency with the empty tree proves nothing and is refused.
    #[error(
        "consistency from the empty tree proves nothing; check the root of the new tree instead"
    )]
    EmptyTree,
    /// The proof has the wrong number of hashes for the claimed sizes.
    #[error("proof has {actual} hashes, expected {expected} for these sizes")]
    WrongProofLength {
        /// Length implied by the sizes.
        expected: usize,
        /// Length received.
        actual: usize,
    },
    /// A hash in the proof or a root is not a 32-byte value.
    #[error("malformed hash in proof or root")]
    MalformedHash,
    /// The proof does not lead to the claimed root(s).
    #[error("proof does not match the root")]
    Mismatch,
}

/// Hash of the leaves `lo..hi` (RFC 6962 MTH), where `lo` is a multiple of the largest power of two
/// not above `hi - lo`; built from perfect subtrees read from `reader`.
pub fn subtree_hash<R: HashReader>(reader: &R, lo: u64, hi: u64) -> Result<Hash, R::Error> {
    debug_assert!(lo < hi);
    let n = hi - lo;
    if n.is_power_of_two() {
        let level = n.trailing_zeros() as u8;
        return reader.read_hash(level, lo >> level);
    }
    let k = split_point(n);
    let left = subtree_hash(reader, lo, lo + k)?;
    let right = subtree_hash(reader, lo + k, hi)?;
    Ok(node_hash(&left, &right))
}

/// Root of the tree of `size` leaves; the empty root for size 0.
pub fn tree_root<R: HashReader>(reader: &R, size: u64) -> Result<Hash, R::Error> {
    if size == 0 {
        return Ok(crate::hash::empty_root());
    }
    subtree_hash(reader, 0, size)
}

/// Inclusion proof (RFC 9162 §2.1.3.1 PATH) for leaf `index` in the tree of `size` leaves.
pub fn inclusion_proof<R: HashReader>(
    reader: &R,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    if index >= size {
        return Err(ProveError::IndexBeyondSize { index, size });
    }
    let mut proof = Vec::new();
    // Walk down from the root, collecting the sibling of each subtree holding the leaf; the
    // proof lists them bottom-up, so reverse at the end.
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        let sibling = if index < lo + k {
            let s = subtree_hash(reader, lo + k, hi);
            hi = lo + k;
            s
        } else {
            let s = subtree_hash(reader, lo, lo + k);
            lo += k;
            s
        };
        proof.push(sibling.map_err(ProveError::Read)?);
    }
    proof.reverse();
    Ok(proof)
}

/// Consistency proof (RFC 9162 §2.1.4.1 SUBPROOF) from the tree of `size1` leaves to the tree of
/// `size2` leaves. Requires `0 < size1 <= size2`; equal sizes give the empty proof.
pub fn consistency_proof<R: HashReader>(
    reader: &R,
    size1: u64,
    size2: u64,
) -> Result<Vec<Hash>, ProveError<R::Error>> {
    if size1 == 0 || size1 > size2 {
        return Err(ProveError::SizesOutOfOrder { size1, size2 });
    }
    let mut proof = Vec::new();
    let (mut lo, mut hi) = (0u64, size2);
    let mut m = size1;
    let mut whole_old_tree = true;
    // INVARIANT: `m` counts the old leaves inside `lo..hi`, and `0 < m <= hi - lo`.
    while m < hi - lo {
        let k = split_point(hi - lo);
        if m <= k {
            proof.push(subtree_hash(reader, lo + k, hi).map_err(ProveError::Read)?);
            hi = lo + k;
        } else {
            proof.push(subtree_hash(reader, lo, lo + k).map_err(ProveError::Read)?);
            lo += k;
            m -= k;
            whole_old_tree = false;
        }
    }
    if !whole_old_tree {
        proof.push(subtree_hash(reader, lo, hi).map_err(ProveError::Read)?);
    }
    proof.reverse();
    Ok(proof)
}

/// Number of hashes in the inclusion proof for `index < size`.
fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = (index >> inner).count_ones();
    (inner + border) as usize
}

/// Number of hashes in the consistency proof for `0 < size1 < size2`.
fn consistency_proof_len(size1: u64, size2: u64) -> usize {
    let last = size1 - 1;
    let inner = 64 - (last ^ (size2 - 1)).leading_zeros();
    let border = (last >> inner).count_ones();
    let shift = size1.trailing_zeros();
    let first = usize::from(!size1.is_power_of_two());
    first + (inner - shift.min(inner) + border) as usize
}

/// Root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1 to 3).
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexBeyondSize { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(VerifyError::Mismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(VerifyError::Mismatch);
    }
    Ok(r)
}

/// Verifies that `leaf` is the leaf hash at `index` in the tree of `size` leaves with `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf, index, size, proof)?;
    if &computed != root {
        return Err(VerifyError::Mismatch);
    }
    Ok(())
}

/// Verifies that `entry` (not yet hashed) is at `index`; see [`verify_inclusion`].
pub fn verify_entry_inclusion(
    entry: &[u8],
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    verify_inclusion(&leaf_hash(entry), index, size, proof, root)
}

/// Verifies that the tree of `size1` leaves with `root1` is a prefix of the tree of `size2`
/// leaves with `root2` (RFC 9162 §2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. The empty tree is refused as `size1`:
/// every tree extends it, so such a proof carries no information.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), VerifyError> {
    check_consistency_sizes(size1, size2)?;
    if size1 == size2 {
        return check_equal_trees(proof.len(), root1.as_ref(), root2.as_ref());
    }
    let expected = consistency_proof_len(size1, size2);
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength {
            expected,
            actual: proof.len(),
        });
    }
    // Step 2: a power-of-two old tree is itself a node of the new tree, so it opens the path.
    let mut path = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(*root1);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(VerifyError::Mismatch);
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(VerifyError::Mismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 || &fr != root1 || &sr != root2 {
        return Err(VerifyError::Mismatch);
    }
    Ok(())
}

fn check_consistency_sizes(size1: u64, size2: u64) -> Result<(), VerifyError> {
    if size1 > size2 {
        return Err(VerifyError::SizesOutOfOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(VerifyError::EmptyTree);
    }
    Ok(())
}

fn check_equal_trees(proof_len: usize, root1: &[u8], root2: &[u8]) -> Result<(), VerifyError> {
    if proof_len != 0 {
        return Err(VerifyError::WrongProofLength {
            expected: 0,
            actual: proof_len,
        });
    }
    if root1 != root2 {
        return Err(VerifyError::Mismatch);
    }
    Ok(())
}

fn parse_hashes<B: AsRef<[u8]>>(proof: &[B]) -> Result<Vec<Hash>, VerifyError> {
    proof
        .iter()
        .map(|p| Hash::from_slice(p.as_ref()).map_err(|_| VerifyError::MalformedHash))
        .collect()
}

/// [`verify_inclusion`] on raw byte strings as received on the wire; any value that is not
/// 32 bytes is refused as [`VerifyError::MalformedHash`].
pub fn verify_inclusion_bytes<B: AsRef<[u8]>>(
    leaf: &[u8],
    index: u64,
    size: u64,
    proof: &[B],
    root: &[u8],
) -> Result<(), VerifyError> {
    let leaf = Hash::from_slice(leaf).map_err(|_| VerifyError::MalformedHash)?;
    let root = Hash::from_slice(root).map_err(|_| VerifyError::MalformedHash)?;
    let proof = parse_hashes(proof)?;
    verify_inclusion(&leaf, index, size, &proof, &root)
}

/// [`verify_consistency`] on raw byte strings as received on the wire.
///
/// When the sizes are equal nothing is hashed: the roots are compared byte for byte and the proof
/// must be empty. Otherwise any value that is not 32 bytes is refused as
/// [`VerifyError::MalformedHash`].
pub fn verify_consistency_bytes<B: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    proof: &[B],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), VerifyError> {
    check_consistency_sizes(size1, size2)?;
    if size1 == size2 {
        return check_equal_trees(proof.len(), root1, root2);
    }
    let root1 = Hash::from_slice(root1).map_err(|_| VerifyError::MalformedHash)?;
    let root2 = Hash::from_slice(root2).map_err(|_| VerifyError::MalformedHash)?;
    let proof = parse_hashes(proof)?;
    verify_consistency(size1, size2, &proof, &root1, &root2)
}

/// A [`HashReader`] over all leaf hashes kept in memory; interior nodes are computed on demand.
///
/// Meant for small trees and tests: reading a node at level `l` hashes `2^l` leaves.
#[derive(Clone, Debug, Default)]
pub struct MemoryHashes {
    leaves: Vec<Hash>,
}

/// A node that is not complete in a [`MemoryHashes`] tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node at level {level} index {index} is not complete in a tree of size {size}")]
pub struct MissingNode {
    /// Node level.
    pub level: u8,
    /// Node index at that level.
    pub index: u64,
    /// Tree size.
    pub size: u64,
}

impl MemoryHashes {
    /// A reader over the given leaf hashes.
    pub fn new(leaves: Vec<Hash>) -> Self {
        Self { leaves }
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.leaves.push(leaf);
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// The leaf hashes.
    pub fn leaves(&self) -> &[Hash] {
        &self.leaves
    }
}

impl HashReader for MemoryHashes {
    type Error = MissingNode;

    fn read_hash(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        let missing = MissingNode {
            level,
            index,
            size: self.size(),
        };
        if level >= 64 {
            return Err(missing);
        }
        let start = index.checked_shl(u32::from(level)).ok_or(missing.clone())?;
        let end = start.checked_add(1 << level).ok_or(missing.clone())?;
        if end > self.size() {
            return Err(missing);
        }
        let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
            return Err(missing);
        };
        Ok(crate::hash::root_from_leaf_hashes(&self.leaves[start..end]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::root_from_leaf_hashes;

    fn tree(n: u64) -> MemoryHashes {
        MemoryHashes::new((0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect())
    }

    #[test]
    fn every_inclusion_proof_verifies_up_to_40() {
        for size in 1..=40u64 {
            let t = tree(size);
            let root = root_from_leaf_hashes(t.leaves());
            assert_eq!(tree_root(&t, size).unwrap(), root);
            for index in 0..size {
                let proof = inclusion_proof(&t, index, size).unwrap();
                assert_eq!(proof.len(), inclusion_proof_len(index, size));
                verify_inclusion(&t.leaves()[index as usize], index, size, &proof, &root).unwrap();
                let other = leaf_hash(b"other");
                assert_eq!(
                    verify_inclusion(&other, index, size, &proof, &root),
                    Err(VerifyError::Mismatch)
                );
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_up_to_40() {
        for size2 in 1..=40u64 {
            let t = tree(size2);
            let root2 = tree_root(&t, size2).unwrap();
            for size1 in 1..=size2 {
                let root1 = tree_root(&t, size1).unwrap();
                let proof = consistency_proof(&t, size1, size2).unwrap();
                if size1 < size2 {
                    assert_eq!(proof.len(), consistency_proof_len(size1, size2));
                }
                verify_consistency(size1, size2, &proof, &root1, &root2).unwrap();
                if size1 < size2 {
                    let bad = leaf_hash(b"x");
                    assert!(verify_consistency(size1, size2, &proof, &bad, &root2).is_err());
                    assert!(verify_consistency(size1, size2, &proof, &root1, &bad).is_err());
                }
            }
        }
    }

    #[test]
    fn generation_refuses_bad_sizes() {
        let t = tree(5);
        assert!(matches!(
            inclusion_proof(&t, 5, 5),
            Err(ProveError::IndexBeyondSize { .. })
        ));
        assert!(matches!(
            consistency_proof(&t, 0, 5),
            Err(ProveError::SizesOutOfOrder { .. })
        ));
        assert!(matches!(
            consistency_proof(&t, 4, 3),
            Err(ProveError::SizesOutOfOrder { .. })
        ));
        assert!(matches!(
            inclusion_proof(&t, 1, 6),
            Err(ProveError::Read(MissingNode { .. }))
        ));
    }

    #[test]
    fn truncated_and_extended_proofs_are_refused() {
        let t = tree(11);
        let root = tree_root(&t, 11).unwrap();
        let mut proof = inclusion_proof(&t, 3, 11).unwrap();
        let leaf = t.leaves()[3];
        let last = proof.pop().unwrap();
        assert!(verify_inclusion(&leaf, 3, 11, &proof, &root).is_err());
        proof.push(last);
        proof.push(last);
        assert!(verify_inclusion(&leaf, 3, 11, &proof, &root).is_err());
    }
}
