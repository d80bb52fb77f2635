//! Streaming in constant memory: a large generated payload is sealed and opened by the command in a separate
//! process whose peak resident memory (VmHWM) is watched. 200 MiB in release builds; 24 MiB in debug builds,
//! where the unoptimised ciphers would make the test slow.

mod common;

use std::io::{Read, Write};
use std::process::Command;
use std::time::Duration;

use common::Fixture;
use sha2::{Digest, Sha256};

const PEAK_LIMIT_KIB: u64 = 64 * 1024;

fn payload_mib() -> u64 {
    if cfg!(debug_assertions) { 24 } else { 200 }
}

/// Deterministic pseudo-random bytes (xorshift), written in 1 MiB pieces so the test itself stays small.
fn write_payload(path: &std::path::Path, mib: u64) -> [u8; 32] {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create payload"));
    let mut hasher = Sha256::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut block = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        hasher.update(&block);
        file.write_all(&block).expect("write payload");
    }
    file.flush().expect("flush payload");
    hasher.finalize().into()
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs the command and returns the highest VmHWM seen while it ran (the high-water mark only grows, so the last
/// reading before exit is the peak up to that moment).
fn run_watching_memory(fx: &Fixture, args: &[&str]) -> u64 {
    let mut child = Command::new(env!("CARGO_BIN_EXE_comity-evidence"))
        .current_dir(fx.dir.path())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn comity-evidence");
    let mut peak = 0;
    loop {
        if let Some(kib) = vm_hwm_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            let mut err = String::new();
            if let Some(mut stderr) = child.stderr.take() {
                stderr.read_to_string(&mut err).expect("stderr");
            }
            assert!(status.success(), "{args:?} failed: {err}");
            return peak;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn large_payload_streams_in_bounded_memory() {
    let fx = Fixture::new();
    let mib = payload_mib();
    let expected = write_payload(&fx.path("big.bin"), mib);
    let key = fx.key_file();
    let identity = fx.identity_file();
    let recipient = fx.recipient().to_string();

    let seal_peak = run_watching_memory(
        &fx,
        &[
            "seal",
            "-r",
            &recipient,
            "--signing-key",
            key.to_str().expect("utf-8"),
            "--out",
            "big.age",
            "big.bin",
        ],
    );
    let open_peak = run_watching_memory(
        &fx,
        &[
            "open",
            "big.age",
            "--identity",
            identity.to_str().expect("utf-8"),
            "--out",
            "opened",
        ],
    );
    eprintln!("{mib} MiB payload: peak RSS seal {seal_peak} KiB, open {open_peak} KiB");
    assert!(seal_peak > 0 && open_peak > 0, "VmHWM was never read");
    assert!(
        seal_peak < PEAK_LIMIT_KIB,
        "sealing peaked at {seal_peak} KiB"
    );
    assert!(
        open_peak < PEAK_LIMIT_KIB,
        "opening peaked at {open_peak} KiB"
    );

    let mut opened = std::fs::File::open(fx.path("opened/data/big.bin")).expect("opened payload");
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = opened.read(&mut buf).expect("read opened payload");
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    assert_eq!(<[u8; 32]>::from(hasher.finalize()), expected);
}
