#!/usr/bin/env bash
# Request-creation benchmark of the HTTP API on the embedded (SQLite, durable) store.
# Usage: bench/api/run.sh [runs] [seconds per phase] [concurrency] [rate per second]
# Prints each run and the medians. Throughput is closed-loop (concurrency clients); latency is open-loop at the rate.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}; seconds=${2:-10}; concurrency=${3:-64}; rate=${4:-200}
cargo build --release -q -p comity-node --example api_load
bin=target/release/examples/api_load
out=$(mktemp)
for i in $(seq "$runs"); do
  echo "run $i"
  "$bin" "$seconds" "$concurrency" "$rate" | tee -a "$out"
done
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.2f", m}'; }
echo "--- medians over $runs runs (${seconds}s per phase, concurrency $concurrency, open loop at ${rate}/s)"
echo "healthz/s           $(grep -o 'healthz_per_s=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "creates/s           $(grep -o 'creates_per_s=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "create/healthz      $(grep -o 'create_vs_healthz_ratio=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "p50 ms @${rate}/s     $(grep -o 'p50_ms=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "p99 ms @${rate}/s     $(grep -o 'p99_ms=[0-9.]*' "$out" | cut -d= -f2 | median)"
rm -f "$out"
