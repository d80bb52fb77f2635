//! Property tests: formats read back what they write, and proofs break under any bit flip.

#![allow(
    clippy::unwrap_used,
    reason = "test setup helpers panic on failure, which fails the test"
)]

use comity_tlog::checkpoint::Checkpoint;
use comity_tlog::hash::{Hash, leaf_hash};
use comity_tlog::note::{Ed25519Signer, Note};
use comity_tlog::proof::{
    MemoryHashes, consistency_proof, inclusion_proof, tree_root, verify_consistency,
    verify_inclusion,
};
use comity_tlog::tiles::{TileId, decode_bundle, encode_bundle};
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

fn tree(size: u64) -> MemoryHashes {
    MemoryHashes::new((0..size).map(|i| leaf_hash(&i.to_le_bytes())).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn checkpoint_and_note_round_trip(
        origin in "[a-z0-9./-]{1,40}",
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        extensions in proptest::collection::vec("[ -~]{1,30}", 0..4),
    ) {
        let mut cp = Checkpoint::new(origin, size, Hash(root));
        cp.extensions = extensions;
        let text = cp.to_text();
        prop_assert_eq!(Checkpoint::parse(&text).unwrap(), cp);

        let signer = Ed25519Signer::new("k.example/log", SigningKey::from_bytes(&[3; 32])).unwrap();
        let mut note = Note::new(text).unwrap();
        note.sign(&signer);
        let bytes = note.to_bytes();
        let parsed = Note::parse(&bytes).unwrap();
        prop_assert_eq!(parsed.to_bytes(), bytes);
        prop_assert!(parsed.verify(&[&signer.verifier()]).is_ok());
    }

    #[test]
    fn note_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Note::parse(&bytes);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = Checkpoint::parse(text);
            let _ = TileId::parse_path(text);
        }
    }

    #[test]
    fn bundles_round_trip(entries in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..300), 1..=256)
    ) {
        let bytes = encode_bundle(&entries).unwrap();
        let width = u16::try_from(entries.len()).unwrap();
        prop_assert_eq!(decode_bundle(&bytes, width).unwrap(), entries);
    }

    #[test]
    fn tile_paths_round_trip(level in 0u8..8, index in any::<u64>(), width in 1u16..=256) {
        let tile = TileId::hashes(level, index, width);
        prop_assert_eq!(TileId::parse_path(&tile.path()).unwrap(), tile);
        let bundle = TileId::entries(index, width);
        prop_assert_eq!(TileId::parse_path(&bundle.path()).unwrap(), bundle);
    }

    #[test]
    fn inclusion_proofs_break_under_any_bit_flip(
        size in 1u64..200, index_seed in any::<u64>(), flip in any::<u16>(),
    ) {
        let t = tree(size);
        let index = index_seed % size;
        let root = tree_root(&t, size).unwrap();
        let mut proof = inclusion_proof(&t, index, size).unwrap();
        let leaf = t.leaves()[index as usize];
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_ok());
        if !proof.is_empty() {
            let bit = usize::from(flip) % (proof.len() * 256);
            proof[bit / 256].0[(bit % 256) / 8] ^= 1 << (bit % 8);
            prop_assert!(verify_inclusion(&leaf, index, size, &proof, &root).is_err());
        }
        let mut bad_root = root;
        bad_root.0[usize::from(flip) % 32] ^= 1;
        let proof = inclusion_proof(&t, index, size).unwrap();
        prop_assert!(verify_inclusion(&leaf, index, size, &proof, &bad_root).is_err());
        // A neighbouring index swaps the order of the first hashing step.
        if size > 1 && index ^ 1 < size {
            prop_assert!(verify_inclusion(&leaf, index ^ 1, size, &proof, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_break_under_any_bit_flip(
        size2 in 2u64..200, size1_seed in any::<u64>(), flip in any::<u16>(),
    ) {
        let t = tree(size2);
        let size1 = 1 + size1_seed % (size2 - 1);
        let root1 = tree_root(&t, size1).unwrap();
        let root2 = tree_root(&t, size2).unwrap();
        let mut proof = consistency_proof(&t, size1, size2).unwrap();
        prop_assert!(verify_consistency(size1, size2, &proof, &root1, &root2).is_ok());
        let bit = usize::from(flip) % (proof.len() * 256);
        proof[bit / 256].0[(bit % 256) / 8] ^= 1 << (bit % 8);
        prop_assert!(verify_consistency(size1, size2, &proof, &root1, &root2).is_err());
    }
}
