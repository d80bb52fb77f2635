#!/usr/bin/env bash
# Benchmark of comity-store: latency of listing and searching requests with one million stored, on SQLite and on
# PostgreSQL. Queries run one at a time through the Store trait (so the times include connection pooling and
# row decoding); prints Markdown rows: backend, query, p50, p95, p99, max (ms), rows returned on average.
#
# Usage: bench/store/run.sh [rows] [queries-per-kind]
# Environment: STORE_BENCH_DIR (SQLite file, default under the target dir), STORE_BENCH_POSTGRES_URL (default
# postgres://postgres@127.0.0.1:5432/test; tables go in schema comity_bench), STORE_BENCH_CLEAN=1 to remove both
# data sets afterwards (otherwise later runs reuse them and skip loading).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-pg}"
rows="${1:-1000000}"
runs="${2:-300}"
dir="${STORE_BENCH_DIR:-$CARGO_TARGET_DIR/store-bench}"
url="${STORE_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
mkdir -p "$dir"

if ! (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null && [[ -z "${STORE_BENCH_POSTGRES_URL:-}" ]]; then
    echo "starting the local PostgreSQL cluster" >&2
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
fi

echo "machine: $(nproc) cores, $(uname -srm), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rustc: $(rustc --version)"
psql "$url" -Atc "SELECT version()" 2>/dev/null | sed 's/^/postgres: /' || true

cargo build --release --quiet --manifest-path "$root/crates/comity-store/Cargo.toml" --example list_bench
bench="$CARGO_TARGET_DIR/release/examples/list_bench"

# Load first (a no-op when the data is there), refresh the planner statistics as autovacuum would, then measure.
"$bench" sqlite "$dir/node.db" "$rows" 0
"$bench" postgres "$url" "$rows" 0
if command -v psql >/dev/null; then
    psql "$url" -qc "ANALYZE comity_bench.requests; ANALYZE comity_bench.cases"
else
    echo "no psql: waiting for autovacuum to analyze the new rows" >&2
    sleep 90
fi

echo
echo "| backend | query | p50 ms | p95 ms | p99 ms | max ms | rows |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
"$bench" sqlite "$dir/node.db" "$rows" "$runs"
"$bench" postgres "$url" "$rows" "$runs"

if [[ "${STORE_BENCH_CLEAN:-0}" == 1 ]]; then
    rm -f "$dir"/node.db "$dir"/node.db-wal "$dir"/node.db-shm
    psql "$url" -qc "DROP SCHEMA comity_bench CASCADE"
fi
