//! Throughput of durable sequencing and of inclusion proofs, printed as medians over several runs.
//!
//! Run with `cargo bench --bench tlog` (or `bench/tlog/run.sh`). Environment:
//! `TLOG_BENCH_DIR` (where the logs are written; default the system temp dir),
//! `TLOG_BENCH_ENTRIES` (entries per sequencing run; default 100000),
//! `TLOG_BENCH_RUNS` (runs per measurement; default 5).

use std::path::PathBuf;
use std::time::Instant;

use comity_tlog::filelog::FileLog;
use comity_tlog::hash::leaf_hash;
use comity_tlog::note::Ed25519Signer;
use comity_tlog::proof::verify_inclusion;
use ed25519_dalek::SigningKey;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ENTRY_BYTES: usize = 200;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return 0.0;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

fn signer() -> Result<Ed25519Signer, Box<dyn std::error::Error>> {
    Ok(Ed25519Signer::new(
        "bench.comity.example/log",
        SigningKey::from_bytes(&[9; 32]),
    )?)
}

fn entries(rng: &mut StdRng, n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|_| (0..ENTRY_BYTES).map(|_| rng.r#gen::<u8>()).collect())
        .collect()
}

/// Appends `total` entries in batches of `batch`; returns entries per second.
fn sequence(
    base: &std::path::Path,
    total: u64,
    batch: usize,
    seed: u64,
) -> Result<(f64, tempfile::TempDir), Box<dyn std::error::Error>> {
    let dir = tempfile::Builder::new()
        .prefix("comity-tlog-bench")
        .tempdir_in(base)?;
    let mut log = FileLog::create(dir.path(), signer()?)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let batches: Vec<Vec<Vec<u8>>> = (0..total.div_ceil(batch as u64))
        .map(|_| entries(&mut rng, batch))
        .collect();
    let start = Instant::now();
    for b in &batches {
        log.append_batch(b)?;
    }
    let secs = start.elapsed().as_secs_f64();
    Ok((log.size() as f64 / secs, dir))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let base: PathBuf = std::env::var_os("TLOG_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let total = env_u64("TLOG_BENCH_ENTRIES", 100_000);
    let runs = env_u64("TLOG_BENCH_RUNS", 5).max(1);
    println!(
        "comity-tlog bench: {total} entries of {ENTRY_BYTES} bytes per run, {runs} runs, fsync on, dir {}",
        base.display()
    );

    let mut kept = None;
    for batch in [256usize, 1024] {
        let mut rates = Vec::new();
        for run in 0..runs {
            let (rate, dir) = sequence(&base, total, batch, run)?;
            rates.push(rate);
            if batch == 1024 && kept.is_none() {
                kept = Some(dir);
            }
        }
        let min = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let max = rates.iter().copied().fold(0.0, f64::max);
        println!(
            "sequencing batch={batch}: median {:.0} entries/s (min {min:.0}, max {max:.0})",
            median(rates)
        );
    }

    let Some(dir) = kept else {
        return Ok(());
    };
    let log = FileLog::open(dir.path(), signer()?)?;
    let size = log.size();
    let root = log.checkpoint().root;
    let mut rng = StdRng::seed_from_u64(77);
    let proofs_per_run = 20_000usize;
    let mut gen_rates = Vec::new();
    let mut verify_rates = Vec::new();
    for _ in 0..runs {
        let indexes: Vec<u64> = (0..proofs_per_run)
            .map(|_| rng.gen_range(0..size))
            .collect();
        let start = Instant::now();
        let mut proofs = Vec::with_capacity(indexes.len());
        for &i in &indexes {
            proofs.push(log.inclusion_proof(i, size)?);
        }
        gen_rates.push(proofs_per_run as f64 / start.elapsed().as_secs_f64());

        let leaves: Vec<_> = indexes
            .iter()
            .map(|&i| log.read_entry(i).map(|e| leaf_hash(&e)))
            .collect::<Result<_, _>>()?;
        let start = Instant::now();
        for ((&i, proof), leaf) in indexes.iter().zip(&proofs).zip(&leaves) {
            verify_inclusion(leaf, i, size, proof, &root)?;
        }
        verify_rates.push(proofs_per_run as f64 / start.elapsed().as_secs_f64());
    }
    println!(
        "inclusion proof generation (tree {size}, tiles read from disk): median {:.0} proofs/s",
        median(gen_rates)
    );
    println!(
        "inclusion proof verification (tree {size}): median {:.0} proofs/s",
        median(verify_rates)
    );
    Ok(())
}
