//! Interop with an independent implementation, the `tlog_tiles` crate (a port of Go's
//! `x/mod/sumdb/tlog`): roots, inclusion and consistency proofs both ways, tile paths,
//! checkpoints, and its authenticating tile reader run over a `FileLog` directory.

#![allow(
    clippy::unwrap_used,
    reason = "test setup helpers panic on failure, which fails the test"
)]

use comity_tlog::checkpoint::Checkpoint;
use comity_tlog::filelog::FileLog;
use comity_tlog::hash::{Hash, leaf_hash, root_from_leaf_hashes};
use comity_tlog::note::Ed25519Signer;
use comity_tlog::proof::{
    MemoryHashes, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion,
};
use comity_tlog::tiles::TileId;
use ed25519_dalek::SigningKey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tlog_tiles::tlog;

/// Go-style stored hashes, filled with `tlog::stored_hashes`.
#[derive(Default)]
struct Stored(Vec<tlog::Hash>);

impl tlog::HashReader for Stored {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog::Hash>, tlog::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

fn theirs(h: &Hash) -> tlog::Hash {
    tlog::Hash(h.0)
}

fn ours(h: &tlog::Hash) -> Hash {
    Hash(h.0)
}

fn random_entries(rng: &mut StdRng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| {
            let len = rng.gen_range(0..64);
            (0..len).map(|_| rng.r#gen::<u8>()).collect()
        })
        .collect()
}

fn sample(rng: &mut StdRng, size: u64) -> Vec<u64> {
    if size <= 48 {
        return (0..size).collect();
    }
    let mut picks: Vec<u64> = (0..12).map(|_| rng.gen_range(0..size)).collect();
    picks.extend([0, 1, size / 2, size - 2, size - 1]);
    picks
}

#[test]
fn roots_and_proofs_match_for_sizes_1_to_300() {
    let mut rng = StdRng::seed_from_u64(0x00c0_517e);
    let entries = random_entries(&mut rng, 300);
    let mut stored = Stored::default();
    let mut mem = MemoryHashes::default();
    let mut compared = (0usize, 0usize);
    for (i, entry) in entries.iter().enumerate() {
        let new = tlog::stored_hashes(i as u64, entry, &stored).unwrap();
        stored.0.extend(new);
        mem.push(leaf_hash(entry));
        let size = i as u64 + 1;

        let root = root_from_leaf_hashes(mem.leaves());
        let their_root = tlog::tree_hash(size, &stored).unwrap();
        assert_eq!(root, ours(&their_root), "root at size {size}");

        for index in sample(&mut rng, size) {
            let proof = inclusion_proof(&mem, index, size).unwrap();
            let their_proof = tlog::prove_record(size, index, &stored).unwrap();
            assert_eq!(
                proof,
                their_proof.iter().map(ours).collect::<Vec<_>>(),
                "inclusion of {index} in {size}"
            );
            let leaf = mem.leaves()[index as usize];
            tlog::check_record(
                &proof.iter().map(theirs).collect::<Vec<_>>(),
                size,
                their_root,
                index,
                theirs(&leaf),
            )
            .unwrap();
            verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
            compared.0 += 1;
        }
        for old in sample(&mut rng, size).into_iter().map(|s| s + 1) {
            let proof = consistency_proof(&mem, old, size).unwrap();
            let their_proof = tlog::prove_tree(size, old, &stored).unwrap();
            assert_eq!(
                proof,
                their_proof.iter().map(ours).collect::<Vec<_>>(),
                "consistency {old} to {size}"
            );
            let old_root = root_from_leaf_hashes(&mem.leaves()[..old as usize]);
            tlog::check_tree(
                &proof.iter().map(theirs).collect::<Vec<_>>(),
                size,
                their_root,
                old,
                theirs(&old_root),
            )
            .unwrap();
            verify_consistency(old, size, &proof, &old_root, &root).unwrap();
            compared.1 += 1;
        }
    }
    println!(
        "compared {} inclusion and {} consistency proofs",
        compared.0, compared.1
    );
    assert!(compared.0 > 1000 && compared.1 > 1000);
}

#[test]
fn tile_paths_match_apart_from_the_height_segment() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut indexes = vec![0u64, 1, 999, 1000, 1_234_067, u64::MAX / 2];
    indexes.extend((0..50).map(|_| rng.gen_range(0..10_000_000_000u64)));
    for n in indexes {
        for w in [1u16, 17, 255, 256] {
            for level in [0u8, 1, 2, 7] {
                let mine = TileId::hashes(level, n, w).path();
                let theirs = tlog_tiles::Tile::new(8, level, n, u32::from(w), false).path();
                // Go's sumdb layout keeps the tile height in the path: `tile/8/<L>/...`.
                assert_eq!(theirs.replacen("tile/8/", "tile/", 1), mine);
                let back =
                    tlog_tiles::Tile::from_path(&mine.replacen("tile/", "tile/8/", 1)).unwrap();
                assert_eq!(back.level_index(), n);
                assert_eq!(back.width(), u32::from(w));
            }
            let mine = TileId::entries(n, w).path();
            let theirs = tlog_tiles::Tile::new(8, 0, n, u32::from(w), true).path();
            assert_eq!(theirs.replacen("tile/8/data/", "tile/entries/", 1), mine);
        }
    }
}

#[test]
fn checkpoints_parse_both_ways() {
    let root = leaf_hash(b"root");
    let mut cp = Checkpoint::new("example.com/log", 123_456, root);
    cp.extensions = vec!["ext one".into(), "ext two".into()];
    let text = cp.to_text();
    let parsed = tlog_tiles::Checkpoint::from_bytes(text.as_bytes()).unwrap();
    assert_eq!(parsed.origin(), "example.com/log");
    assert_eq!(parsed.size(), 123_456);
    assert_eq!(parsed.hash().0, root.0);
    assert_eq!(parsed.extension(), "ext one\next two\n");
    assert_eq!(parsed.to_bytes(), text.as_bytes());

    let theirs = tlog_tiles::Checkpoint::new("o.example/x", 9, tlog::Hash(root.0), "").unwrap();
    let back = Checkpoint::parse(std::str::from_utf8(&theirs.to_bytes()).unwrap()).unwrap();
    assert_eq!(back, Checkpoint::new("o.example/x", 9, root));
}

/// Serves tiles from a `FileLog` directory to `tlog_tiles`, mapping its Go-style paths.
struct DirTiles(std::path::PathBuf);

impl tlog_tiles::TileReader for DirTiles {
    fn height(&self) -> u8 {
        8
    }

    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog::Error> {
        tiles
            .iter()
            .map(|t| {
                let path = t.path().replacen("tile/8/", "tile/", 1);
                std::fs::read(self.0.join(path)).map_err(|_| tlog::Error::InvalidTile)
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

#[test]
fn tlog_tiles_reads_and_authenticates_filelog_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let signer = Ed25519Signer::new(
        "log.comity.example/interop",
        SigningKey::from_bytes(&[5; 32]),
    )
    .unwrap();
    let mut log = FileLog::create(dir.path(), signer).unwrap();
    let mut rng = StdRng::seed_from_u64(11);
    let mut checkpoints = Vec::new();
    let mut leaves = Vec::new();
    // Past 65,536 entries so that level 2 tiles exist.
    while log.size() < 66_000 {
        let n = rng.gen_range(1..3000);
        let entries = random_entries(&mut rng, n);
        leaves.extend(entries.iter().map(|e| leaf_hash(e)));
        log.append_batch(&entries).unwrap();
        checkpoints.push(log.checkpoint().clone());
    }
    let size = log.size();
    let root = log.checkpoint().root;
    let reader = DirTiles(dir.path().to_path_buf());
    let hashes = tlog_tiles::TileHashReader::new(size, theirs(&root), &reader);
    assert_eq!(ours(&tlog::tree_hash(size, &hashes).unwrap()), root);
    for index in sample(&mut rng, size) {
        let proof: Vec<Hash> = tlog::prove_record(size, index, &hashes)
            .unwrap()
            .iter()
            .map(ours)
            .collect();
        assert_eq!(proof, log.inclusion_proof(index, size).unwrap());
        verify_inclusion(&leaves[index as usize], index, size, &proof, &root).unwrap();
    }
    for old in &checkpoints {
        let proof: Vec<Hash> = tlog::prove_tree(size, old.size, &hashes)
            .unwrap()
            .iter()
            .map(ours)
            .collect();
        assert_eq!(proof, log.consistency_proof(old.size, size).unwrap());
        verify_consistency(old.size, size, &proof, &old.root, &root).unwrap();
    }
    // A tampered tile never yields a proof that verifies. Flip node (8, 1), a sibling on the
    // path of every leaf below 256.
    //
    // `tlog_tiles` 0.2 (like Go's reader it ports) authenticates the non-root tiles starting at
    // position `len(stx)` of its fetch list, but deduplicates the tiles of the root's subtrees,
    // so when several of them share a tile (this seeded log has 67,552 entries: 7 subtrees in 3 tiles) the first fetched
    // non-root tiles are returned unauthenticated. Verification against the root catches it.
    let tile = dir.path().join("tile/1/000");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[32] ^= 1;
    std::fs::write(&tile, &bytes).unwrap();
    let hashes = tlog_tiles::TileHashReader::new(size, theirs(&root), &reader);
    if let Ok(proof) = tlog::prove_record(size, 3, &hashes) {
        let proof: Vec<Hash> = proof.iter().map(ours).collect();
        assert!(verify_inclusion(&leaves[3], 3, size, &proof, &root).is_err());
        println!("tlog_tiles returned hashes from an unauthenticated tile; the proof was refused");
    }
    // A tile holding one of the root's subtrees is authenticated against the root.
    let level2 = dir.path().join("tile/2/000.p/1");
    let mut bytes = std::fs::read(&level2).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&level2, &bytes).unwrap();
    let hashes = tlog_tiles::TileHashReader::new(size, theirs(&root), &reader);
    assert!(tlog::prove_record(size, 3, &hashes).is_err());
    assert!(
        log.inclusion_proof(3, size)
            .is_ok_and(|proof| { verify_inclusion(&leaves[3], 3, size, &proof, &root).is_err() })
    );
}
