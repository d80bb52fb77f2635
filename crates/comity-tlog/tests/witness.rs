//! Witness behaviour: cosigns consistent growth, refuses rollback, split views and forged checkpoints.

#![allow(
    clippy::unwrap_used,
    reason = "test setup helpers panic on failure, which fails the test"
)]

use comity_tlog::checkpoint::{Checkpoint, CheckpointError};
use comity_tlog::cosignature::{CosignatureSigner, CosignatureVerifier, Witness, WitnessError};
use comity_tlog::hash::{Hash, leaf_hash};
use comity_tlog::note::{Ed25519Signer, Note, NoteError};
use comity_tlog::proof::{MemoryHashes, consistency_proof, tree_root};
use ed25519_dalek::SigningKey;

const ORIGIN: &str = "log.comity.example/test";

struct Log {
    signer: Ed25519Signer,
    hashes: MemoryHashes,
}

impl Log {
    fn new(seed: u8) -> Self {
        Self {
            signer: Ed25519Signer::new(ORIGIN, SigningKey::from_bytes(&[seed; 32])).unwrap(),
            hashes: MemoryHashes::default(),
        }
    }

    fn append(&mut self, entries: impl IntoIterator<Item = Vec<u8>>) {
        for e in entries {
            self.hashes.push(leaf_hash(&e));
        }
    }

    fn checkpoint_at(&self, size: u64) -> Vec<u8> {
        let root = tree_root(&self.hashes, size).unwrap();
        Checkpoint::new(ORIGIN, size, root)
            .sign(&self.signer)
            .unwrap()
            .to_bytes()
    }

    fn proof(&self, from: u64, to: u64) -> Vec<Hash> {
        if from == 0 {
            return Vec::new();
        }
        consistency_proof(&self.hashes, from, to).unwrap()
    }
}

fn entries(range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
    range.map(|i| format!("entry {i}").into_bytes()).collect()
}

fn witness_for(log: &Log) -> Witness {
    let signer = CosignatureSigner::new(
        "witness.comity.example/w1",
        SigningKey::from_bytes(&[99; 32]),
    )
    .unwrap();
    let mut w = Witness::new(signer);
    w.follow(ORIGIN, log.signer.verifier());
    w
}

#[test]
fn cosigns_consistent_growth_and_cosignature_verifies() {
    let mut log = Log::new(1);
    log.append(entries(0..10));
    let mut w = witness_for(&log);
    let cp10 = log.checkpoint_at(10);
    let sig = w.add_checkpoint(0, &[], &cp10, 1000).unwrap();

    let mut note = Note::parse(&cp10).unwrap();
    note.push_signature(sig);
    let verifier: CosignatureVerifier = w.verifier();
    let verified = note.verify(&[&verifier]).unwrap();
    assert_eq!(CosignatureVerifier::timestamp(verified[0]), Some(1000));

    for (from, to) in [(10u64, 11u64), (11, 64), (64, 200)] {
        log.append(entries(
            u32::try_from(from).unwrap()..u32::try_from(to).unwrap(),
        ));
        let cp = log.checkpoint_at(to);
        w.add_checkpoint(from, &log.proof(from, to), &cp, 1000 + to)
            .unwrap();
        assert_eq!(w.latest(ORIGIN).unwrap().size, to);
    }
    // Re-offering the same checkpoint is idempotent.
    let cp = log.checkpoint_at(200);
    w.add_checkpoint(200, &[], &cp, 5000).unwrap();
}

#[test]
fn refuses_rollback() {
    let mut log = Log::new(1);
    log.append(entries(0..20));
    let mut w = witness_for(&log);
    w.add_checkpoint(0, &[], &log.checkpoint_at(20), 1).unwrap();
    let err = w
        .add_checkpoint(0, &[], &log.checkpoint_at(15), 2)
        .unwrap_err();
    assert_eq!(
        err,
        WitnessError::Rollback {
            origin: ORIGIN.into(),
            cosigned_size: 20,
            offered_size: 15
        }
    );
    assert!(err.to_string().contains("rollback"));
    assert_eq!(w.latest(ORIGIN).unwrap().size, 20);
}

#[test]
fn refuses_split_view_at_same_size() {
    let mut log = Log::new(1);
    log.append(entries(0..20));
    let mut fork = Log::new(1);
    fork.append(entries(0..19));
    fork.append([b"forged".to_vec()]);
    let mut w = witness_for(&log);
    w.add_checkpoint(0, &[], &log.checkpoint_at(20), 1).unwrap();
    let err = w
        .add_checkpoint(20, &[], &fork.checkpoint_at(20), 2)
        .unwrap_err();
    assert!(
        matches!(err, WitnessError::SplitView { size: 20, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("split view"));
}

#[test]
fn refuses_fork_that_grows_past_the_cosigned_size() {
    let mut log = Log::new(1);
    log.append(entries(0..20));
    let mut fork = Log::new(1);
    fork.append(entries(0..7));
    fork.append([b"rewritten".to_vec()]);
    fork.append(entries(8..30));
    let mut w = witness_for(&log);
    w.add_checkpoint(0, &[], &log.checkpoint_at(20), 1).unwrap();
    // The fork's own proof from 20 to 30 does not connect to the cosigned root.
    let err = w
        .add_checkpoint(20, &fork.proof(20, 30), &fork.checkpoint_at(30), 2)
        .unwrap_err();
    assert!(
        matches!(
            err,
            WitnessError::Inconsistent {
                cosigned_size: 20,
                offered_size: 30,
                ..
            }
        ),
        "{err}"
    );
    // Nor does an honest proof with the fork's checkpoint.
    log.append(entries(20..30));
    let err = w
        .add_checkpoint(20, &log.proof(20, 30), &fork.checkpoint_at(30), 3)
        .unwrap_err();
    assert!(matches!(err, WitnessError::Inconsistent { .. }), "{err}");
    assert_eq!(w.latest(ORIGIN).unwrap().size, 20);
    // The honest log still gets cosigned afterwards.
    w.add_checkpoint(20, &log.proof(20, 30), &log.checkpoint_at(30), 4)
        .unwrap();
}

#[test]
fn refuses_bad_signatures_unknown_logs_and_wrong_old_size() {
    let mut log = Log::new(1);
    log.append(entries(0..8));
    let mut w = witness_for(&log);

    let impostor = Log {
        signer: Ed25519Signer::new(ORIGIN, SigningKey::from_bytes(&[2; 32])).unwrap(),
        hashes: log.hashes.clone(),
    };
    assert_eq!(
        w.add_checkpoint(0, &[], &impostor.checkpoint_at(8), 1),
        Err(WitnessError::Checkpoint(CheckpointError::Note(
            NoteError::NoKnownSignature
        )))
    );

    let mut tampered = String::from_utf8(log.checkpoint_at(8)).unwrap();
    tampered = tampered.replacen("\n8\n", "\n9\n", 1);
    assert_eq!(
        w.add_checkpoint(0, &[], tampered.as_bytes(), 1),
        Err(WitnessError::Checkpoint(CheckpointError::Note(
            NoteError::BadSignature
        )))
    );

    let stranger =
        Ed25519Signer::new("other.example/log", SigningKey::from_bytes(&[3; 32])).unwrap();
    let foreign = Checkpoint::new("other.example/log", 1, leaf_hash(b"x"))
        .sign(&stranger)
        .unwrap()
        .to_bytes();
    assert_eq!(
        w.add_checkpoint(0, &[], &foreign, 1),
        Err(WitnessError::UnknownLog("other.example/log".into()))
    );

    assert!(matches!(
        w.add_checkpoint(0, &[], b"not a note", 1),
        Err(WitnessError::Checkpoint(_))
    ));

    w.add_checkpoint(0, &[], &log.checkpoint_at(4), 1).unwrap();
    assert!(matches!(
        w.add_checkpoint(2, &log.proof(2, 8), &log.checkpoint_at(8), 2),
        Err(WitnessError::OldSizeMismatch {
            cosigned_size: 4,
            claimed_old_size: 2,
            ..
        })
    ));
    assert!(matches!(
        w.add_checkpoint(9, &[], &log.checkpoint_at(8), 2),
        Err(WitnessError::OldSizeBeyondNew { .. })
    ));
    // A truncated proof is refused with the cause.
    let mut short = log.proof(4, 8);
    short.pop();
    let mut long = log.proof(4, 8);
    long.push(long[0]);
    for proof in [short, long, Vec::new()] {
        assert!(matches!(
            w.add_checkpoint(4, &proof, &log.checkpoint_at(8), 2),
            Err(WitnessError::Inconsistent { .. })
        ));
    }
    w.add_checkpoint(4, &log.proof(4, 8), &log.checkpoint_at(8), 2)
        .unwrap();
}
