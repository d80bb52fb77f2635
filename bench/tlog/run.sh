#!/usr/bin/env bash
# Benchmark of comity-tlog: durable sequencing (fsync on) with batches of 256 and 1024 entries,
# inclusion-proof generation and verification. Prints medians over several runs.
#
# Usage: bench/tlog/run.sh [entries-per-run] [runs]
# Writes the logs under $TLOG_BENCH_DIR (default: target dir of this bench), on the disk to measure.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-tlog}"
export TLOG_BENCH_ENTRIES="${1:-100000}"
export TLOG_BENCH_RUNS="${2:-5}"
export TLOG_BENCH_DIR="${TLOG_BENCH_DIR:-$CARGO_TARGET_DIR/tlog-bench}"
mkdir -p "$TLOG_BENCH_DIR"

echo "machine: $(nproc) cores, $(uname -srm)"
echo "rustc: $(rustc --version)"

# Context for the sequencing numbers: the latency of one small write + fsync on this disk.
if command -v python3 >/dev/null; then
    python3 - "$TLOG_BENCH_DIR" <<'PY'
import os, sys, time, statistics
path = os.path.join(sys.argv[1], "fsync-probe")
lat = []
for i in range(200):
    t = time.perf_counter()
    with open(path, "wb") as f:
        f.write(b"x" * 8192)
        f.flush()
        os.fsync(f.fileno())
    lat.append(time.perf_counter() - t)
os.remove(path)
print(f"fsync probe: 8 KiB write + fsync, median {statistics.median(lat) * 1e6:.0f} us over 200")
PY
fi

cargo bench --manifest-path "$root/crates/comity-tlog/Cargo.toml" --bench tlog 2>&1 \
    | grep -v -E '^\s*(Compiling|Finished|Running)'
