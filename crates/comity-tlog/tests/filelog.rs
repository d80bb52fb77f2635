//! The file-backed log: durable appends, crash recovery at every fault point, tamper detection,
//! and a rewritten history refused by a witness.

#![allow(
    clippy::unwrap_used,
    reason = "test setup helpers panic on failure, which fails the test"
)]

use comity_tlog::checkpoint::Checkpoint;
use comity_tlog::cosignature::{CosignatureSigner, Witness, WitnessError};
use comity_tlog::filelog::{FaultPoint, FileLog, LogError};
use comity_tlog::hash::{Hash, leaf_hash, root_from_leaf_hashes};
use comity_tlog::note::Ed25519Signer;
use comity_tlog::proof::{verify_consistency, verify_inclusion};
use ed25519_dalek::SigningKey;

const ORIGIN: &str = "log.comity.example/test";

fn signer() -> Ed25519Signer {
    Ed25519Signer::new(ORIGIN, SigningKey::from_bytes(&[42; 32])).unwrap()
}

fn batch(tag: &str, range: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    range.map(|i| format!("{tag} {i}").into_bytes()).collect()
}

/// Checks the whole published state of `log` against the entries it should hold.
fn check_log(log: &FileLog, expected: &[Vec<u8>], history: &[Checkpoint]) {
    let size = expected.len() as u64;
    assert_eq!(log.size(), size);
    let leaves: Vec<Hash> = expected.iter().map(|e| leaf_hash(e)).collect();
    let root = root_from_leaf_hashes(&leaves);
    assert_eq!(log.checkpoint().root, root);
    assert_eq!(log.root_at(size).unwrap(), root);
    let (opened, _) =
        Checkpoint::open(log.signed_checkpoint(), ORIGIN, &signer().verifier()).unwrap();
    assert_eq!(&opened, log.checkpoint());
    if size == 0 {
        return;
    }
    let step = (size / 17).max(1);
    for index in (0..size).step_by(step as usize).chain([size - 1]) {
        assert_eq!(log.read_entry(index).unwrap(), expected[index as usize]);
        let proof = log.inclusion_proof(index, size).unwrap();
        verify_inclusion(&leaves[index as usize], index, size, &proof, &root).unwrap();
    }
    for old in history {
        if old.size == 0 || old.size > size {
            continue;
        }
        assert_eq!(
            old.root,
            root_from_leaf_hashes(&leaves[..old.size as usize]),
            "published checkpoint at {} no longer matches the entries",
            old.size
        );
        let proof = log.consistency_proof(old.size, size).unwrap();
        verify_consistency(old.size, size, &proof, &old.root, &root).unwrap();
    }
}

#[test]
fn appends_across_tile_boundaries_and_reopens() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FileLog::create(dir.path(), signer()).unwrap();
    let mut all = Vec::new();
    let mut history = vec![log.checkpoint().clone()];
    for (i, n) in [1u64, 254, 1, 1, 256, 300, 2, 65_536 - 815 + 3]
        .into_iter()
        .enumerate()
    {
        let entries = batch(&format!("b{i}"), 0..n);
        let first = log.append_batch(&entries).unwrap();
        assert_eq!(first, all.len() as u64);
        all.extend(entries);
        history.push(log.checkpoint().clone());
    }
    assert_eq!(log.append_batch::<Vec<u8>>(&[]).unwrap(), all.len() as u64);
    check_log(&log, &all, &history);
    // Superseded partial tiles are gone; the full ones remain.
    assert!(dir.path().join("tile/0/000").exists());
    assert!(!dir.path().join("tile/0/000.p").exists());
    drop(log);

    let log = FileLog::open(dir.path(), signer()).unwrap();
    assert!(log.recovery().removed_files.is_empty());
    check_log(&log, &all, &history);
    assert!(matches!(
        log.read_entry(all.len() as u64),
        Err(LogError::IndexBeyondSize { .. })
    ));
    assert!(matches!(
        log.inclusion_proof(0, all.len() as u64 + 1),
        Err(LogError::BadProofSizes { .. })
    ));
}

#[test]
fn recovers_from_a_crash_at_every_fault_point() {
    for fault in [
        FaultPoint::AfterEntryBundles,
        FaultPoint::BeforeCheckpoint,
        FaultPoint::BeforeCheckpointRename,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut log = FileLog::create(dir.path(), signer()).unwrap();
        let mut all = batch("a", 0..300);
        log.append_batch(&all).unwrap();
        let mut history = vec![log.checkpoint().clone()];

        // The interrupted batch crosses a tile boundary and grows the level 1 tile.
        log.inject_fault(fault);
        let lost = batch("lost", 0..600);
        assert!(matches!(
            log.append_batch(&lost),
            Err(LogError::InjectedFault(f)) if f == fault
        ));
        assert!(matches!(log.append_batch(&lost), Err(LogError::Poisoned)));
        drop(log);

        let mut log = FileLog::open(dir.path(), signer()).unwrap();
        assert_eq!(log.size(), 300, "{fault:?}");
        assert!(
            !log.recovery().removed_files.is_empty(),
            "{fault:?} left no orphan"
        );
        check_log(&log, &all, &history);

        // Later batches overwrite the orphans' positions with different entries.
        for (i, n) in [100u64, 700, 5].into_iter().enumerate() {
            let entries = batch(&format!("after {i}"), 0..n);
            log.append_batch(&entries).unwrap();
            all.extend(entries);
            history.push(log.checkpoint().clone());
        }
        check_log(&log, &all, &history);
        drop(log);
        let log = FileLog::open(dir.path(), signer()).unwrap();
        assert!(log.recovery().removed_files.is_empty());
        check_log(&log, &all, &history);
    }
}

#[test]
fn refuses_to_open_tampered_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FileLog::create(dir.path(), signer()).unwrap();
    log.append_batch(&batch("x", 0..300)).unwrap();
    drop(log);

    // A flipped bit in the partial level 0 tile disagrees with the entry bundle.
    let tile = dir.path().join("tile/0/001.p/44");
    let original = std::fs::read(&tile).unwrap();
    let mut flipped = original.clone();
    flipped[5] ^= 0x10;
    std::fs::write(&tile, &flipped).unwrap();
    assert!(matches!(
        FileLog::open(dir.path(), signer()),
        Err(LogError::Corrupt(_))
    ));
    // A truncated tile.
    std::fs::write(&tile, &original[..original.len() - 1]).unwrap();
    assert!(matches!(
        FileLog::open(dir.path(), signer()),
        Err(LogError::Tile(_))
    ));
    std::fs::write(&tile, &original).unwrap();

    // A flipped bit in the full level 0 tile changes the root.
    let full = dir.path().join("tile/0/000");
    let original_full = std::fs::read(&full).unwrap();
    let mut flipped = original_full.clone();
    flipped[100] ^= 1;
    std::fs::write(&full, &flipped).unwrap();
    assert!(matches!(
        FileLog::open(dir.path(), signer()),
        Err(LogError::Corrupt(_))
    ));
    std::fs::write(&full, &original_full).unwrap();

    // The checkpoint must verify under the log key.
    let other = Ed25519Signer::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap();
    assert!(matches!(
        FileLog::open(dir.path(), other),
        Err(LogError::Checkpoint(_))
    ));
    let cp = dir.path().join("checkpoint");
    let signed = std::fs::read(&cp).unwrap();
    std::fs::write(&cp, &signed[..signed.len() - 10]).unwrap();
    assert!(matches!(
        FileLog::open(dir.path(), signer()),
        Err(LogError::Checkpoint(_))
    ));
    std::fs::write(&cp, &signed).unwrap();

    let log = FileLog::open(dir.path(), signer()).unwrap();
    assert_eq!(log.size(), 300);
    assert!(matches!(
        FileLog::open(dir.path(), signer()),
        Err(LogError::Locked(_))
    ));
    assert!(matches!(
        FileLog::create(tempfile::tempdir().unwrap().path(), signer())
            .and_then(|l| FileLog::create(l.dir(), signer())),
        Err(LogError::Locked(_))
    ));
    assert!(matches!(
        FileLog::open(tempfile::tempdir().unwrap().path(), signer()),
        Err(LogError::NotALog(_))
    ));
}

#[test]
fn oversized_entries_are_refused_without_poisoning() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = FileLog::create(dir.path(), signer()).unwrap();
    assert!(matches!(
        log.append_batch(&[vec![0u8; 70_000]]),
        Err(LogError::Tile(_))
    ));
    assert_eq!(log.append_batch(&[b"ok".to_vec()]).unwrap(), 0);
}

#[test]
fn witness_refuses_a_rewritten_history() {
    let honest_dir = tempfile::tempdir().unwrap();
    let mut honest = FileLog::create(honest_dir.path(), signer()).unwrap();
    let entries = batch("e", 0..500);
    honest.append_batch(&entries).unwrap();

    let mut witness = Witness::new(
        CosignatureSigner::new(
            "witness.comity.example/w1",
            SigningKey::from_bytes(&[7; 32]),
        )
        .unwrap(),
    );
    witness.follow(ORIGIN, signer().verifier());
    witness
        .add_checkpoint(0, &[], honest.signed_checkpoint(), 1)
        .unwrap();

    // The same key rebuilds the log with entry 123 changed, then grows it.
    let forged_dir = tempfile::tempdir().unwrap();
    drop(honest);
    let mut forged = FileLog::create(forged_dir.path(), signer()).unwrap();
    let mut rewritten = entries.clone();
    rewritten[123] = b"a different request".to_vec();
    forged.append_batch(&rewritten).unwrap();

    // Same size, different root.
    let err = witness
        .add_checkpoint(500, &[], forged.signed_checkpoint(), 2)
        .unwrap_err();
    assert!(
        matches!(err, WitnessError::SplitView { size: 500, .. }),
        "{err}"
    );

    // Grown past the cosigned size, with the forged log's own proof.
    forged.append_batch(&batch("more", 0..40)).unwrap();
    let proof = forged.consistency_proof(500, 540).unwrap();
    let err = witness
        .add_checkpoint(500, &proof, forged.signed_checkpoint(), 3)
        .unwrap_err();
    assert!(
        matches!(
            err,
            WitnessError::Inconsistent {
                cosigned_size: 500,
                offered_size: 540,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(witness.latest(ORIGIN).unwrap().size, 500);

    // The honest log, grown the same way, is cosigned.
    let mut honest = FileLog::open(honest_dir.path(), signer()).unwrap();
    honest.append_batch(&batch("more", 0..40)).unwrap();
    let proof = honest.consistency_proof(500, 540).unwrap();
    witness
        .add_checkpoint(500, &proof, honest.signed_checkpoint(), 4)
        .unwrap();
}
