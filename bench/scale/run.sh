#!/usr/bin/env bash
# Scale-out benchmark: request creation through the HTTP API with one and with three `comity serve` processes on one
# PostgreSQL database (release build). Every process serves the same node; the load generator spreads its clients
# over them. Runs against the local server (COMITY_BENCH_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432);
# it creates and drops its own database `comity_bench_scale`.
# Usage: bench/scale/run.sh [runs] [seconds] [concurrency]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}; seconds=${2:-10}; concurrency=${3:-48}
server=${COMITY_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
db=comity_bench_scale
cargo build --release -q -p comity
cargo build --release -q -p comity-node --example api_load_targets
target=${CARGO_TARGET_DIR:-target}
comity=$target/release/comity
load=$target/release/examples/api_load_targets

work=$(mktemp -d)
pids=()
stop() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'stop; rm -rf "$work"' EXIT
"$comity" init --dir "$work/node" --authority fr-247 --state FR --kind contact-point --name bench >/dev/null
token=$(cat "$work/node/api.token")

fresh_db() {
  psql "$server/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
}

urls=()
serve() { # n processes on ports 7451.., their URLs in `urls`
  urls=()
  for i in $(seq "$1"); do
    local port=$((7450 + i))
    "$comity" serve --dir "$work/node" --listen "127.0.0.1:$port" --database "$server/$db" --insecure-http >"$work/serve-$i.log" 2>&1 &
    pids+=($!)
    urls+=("http://127.0.0.1:$port")
  done
  for u in "${urls[@]}"; do
    for _ in $(seq 100); do curl -sf "$u/healthz" >/dev/null && break; sleep 0.1; done
  done
}

out=$(mktemp)
for n in 1 3; do
  for r in $(seq "$runs"); do
    fresh_db
    serve "$n"
    "$load" "$seconds" "$concurrency" "$token" "${urls[@]}" | tee -a "$out"
    stop
  done
done
psql "$server/postgres" -q -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.0f", m}'; }
echo "--- medians over $runs runs (${seconds}s, concurrency $concurrency, $(nproc) cores)"
for n in 1 3; do
  echo "processes=$n creates/s $(grep "^processes=$n " "$out" | grep -o 'creates_per_s=[0-9.]*' | cut -d= -f2 | median)"
done
rm -f "$out"
