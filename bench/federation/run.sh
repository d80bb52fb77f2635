#!/usr/bin/env bash
# Federation benchmark between two nodes on loopback over TLS (certificate pinned as the directory lists it).
# Usage: bench/federation/run.sh [runs] [seconds per phase] [concurrency] [rate per second]
# Each delivery is a freshly signed request message POSTed to the receiver's federation endpoint; the receiver checks it
# against the directory, stores it durably (SQLite, synchronous=FULL) and answers with a signed receipt, which the
# sender verifies. The floor is a bare HTTPS POST to a trivial handler behind the same TLS listener and client, measured
# in the same run. Throughput is closed-loop (concurrency clients); latency is open-loop at the rate.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}; seconds=${2:-10}; concurrency=${3:-32}; rate=${4:-100}
cargo build --release -q -p comity-node --example federation_load
bin="${CARGO_TARGET_DIR:-target}/release/examples/federation_load"
out=$(mktemp)
for i in $(seq "$runs"); do
  echo "run $i"
  "$bin" "$seconds" "$concurrency" "$rate" | tee -a "$out"
done
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
echo "--- medians over $runs runs (${seconds}s per phase, concurrency $concurrency, open loop at ${rate}/s)"
echo "floor HTTPS POST/s      $(grep -o 'floor_posts_per_s=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "deliveries/s            $(grep -o 'deliveries_per_s=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "delivery/floor          $(grep -o 'delivery_vs_floor_ratio=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "floor p50 ms @${rate}/s   $(grep -o 'floor_p50_ms=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "floor p99 ms @${rate}/s   $(grep -o 'floor_p99_ms=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "p50 ms @${rate}/s         $(grep -o 'delivery_p50_ms=[0-9.]*' "$out" | cut -d= -f2 | median)"
echo "p99 ms @${rate}/s         $(grep -o 'delivery_p99_ms=[0-9.]*' "$out" | cut -d= -f2 | median)"
rm -f "$out"
