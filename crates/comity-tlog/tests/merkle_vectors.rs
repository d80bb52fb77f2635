//! Runs every RFC 6962 proof vector in `tests/vectors/merkle` (from transparency-dev/merkle, Apache-2.0; see its
//! README) through the verifiers.
//!
//! Each JSON file is one case with `wantErr`; happy paths must verify and every mutation must be
//! refused. The walk counts cases so the test cannot pass on an empty folder.

#![allow(
    clippy::unwrap_used,
    reason = "test setup helpers panic on failure, which fails the test"
)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use comity_tlog::proof::{verify_consistency_bytes, verify_inclusion_bytes};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionCase {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyCase {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/merkle")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn b64(text: &str) -> Vec<u8> {
    BASE64.decode(text).unwrap()
}

fn b64_list(list: &Option<Vec<String>>) -> Vec<Vec<u8>> {
    list.iter().flatten().map(|p| b64(p)).collect()
}

#[derive(Default, Debug)]
struct Tally {
    accepted: usize,
    rejected: usize,
}

impl Tally {
    fn check(&mut self, path: &Path, desc: &str, want_err: bool, outcome: Result<(), String>) {
        match (want_err, outcome) {
            (false, Ok(())) => self.accepted += 1,
            (true, Err(_)) => self.rejected += 1,
            (false, Err(e)) => panic!("{}: `{desc}` must verify, got {e}", path.display()),
            (true, Ok(())) => panic!("{}: `{desc}` must be refused", path.display()),
        }
    }
}

#[test]
fn merkle_proof_vectors() {
    let root = vectors_dir();

    let mut inclusion = Tally::default();
    let mut files = Vec::new();
    json_files(&root.join("inclusion"), &mut files);
    for path in &files {
        let case: InclusionCase =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let outcome = verify_inclusion_bytes(
            &b64(&case.leaf_hash),
            case.leaf_idx,
            case.tree_size,
            &b64_list(&case.proof),
            &b64(&case.root),
        )
        .map_err(|e| e.to_string());
        inclusion.check(path, &case.desc, case.want_err, outcome);
    }

    let mut consistency = Tally::default();
    let mut files = Vec::new();
    json_files(&root.join("consistency"), &mut files);
    for path in &files {
        let case: ConsistencyCase =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let outcome = verify_consistency_bytes(
            case.size1,
            case.size2,
            &b64_list(&case.proof),
            &b64(&case.root1),
            &b64(&case.root2),
        )
        .map_err(|e| e.to_string());
        consistency.check(path, &case.desc, case.want_err, outcome);
    }

    println!("inclusion vectors: {inclusion:?}");
    println!("consistency vectors: {consistency:?}");
    assert!(inclusion.accepted > 0 && inclusion.rejected > 0);
    assert!(consistency.accepted > 0 && consistency.rejected > 0);
}
