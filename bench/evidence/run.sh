#!/usr/bin/env bash
# Benchmark of sealed evidence (comity-evidence), as asked in the issue "Sealed evidence":
#   - seal a generated file vs the standard two-step pipeline `sha256sum FILE` then `age -r RECIPIENT -o OUT FILE`
#     (target ratio <= 0.3) and vs `age` alone (target <= 1.2);
#   - `open` vs `age -d`;
#   - peak RSS while sealing and opening (target <= 64 MiB at any size).
# Medians of RUNS runs (default 3) for a SIZE_GIB file (default 2). With LARGE_GIB=10 it also seals and opens a
# 10 GiB file once, for peak RSS and times. Prints a Markdown section for bench/RESULTS.md.
# Generated files go to WORK_DIR (default: a directory beside the repository) and are deleted at the end.
# CPU time (user + system) is reported beside wall time: on a machine shared with other work it is the steadier
# measure.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
SIZE_GIB="${SIZE_GIB:-2}"
RUNS="${RUNS:-3}"
LARGE_GIB="${LARGE_GIB:-0}"
WORK_DIR="${WORK_DIR:-$(dirname "$repo")/comity-evidence-bench.$$}"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"

for tool in age age-keygen sha256sum /usr/bin/time python3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing: $tool (see crates/comity-evidence/tests/interop/install.sh; GNU time is Debian package 'time')" >&2; exit 1; }
done

echo "building the release binary..." >&2
(cd "$repo" && CARGO_TARGET_DIR="$target_dir" cargo build --release -q -p comity-evidence)
bin="$target_dir/release/comity-evidence"

mkdir -p "$WORK_DIR"
trap 'rm -rf "$WORK_DIR"' EXIT
cd "$WORK_DIR"
age-keygen -o identity.txt 2>/dev/null
recipient="$(sed -n 's/^# public key: //p' identity.txt)"
printf 'COMITY-ED25519-SECRET-KEY-1 %s\n' "$(head -c 32 /dev/urandom | base64)" > signing.key

# timed LABEL COMMAND...: runs COMMAND, appends "LABEL seconds peak_kib user_seconds system_seconds" to times.txt.
# Dirty pages left by earlier steps are flushed first, so that no step pays for another's write-back.
timed() {
    local label="$1"; shift
    sync
    /usr/bin/time -f "$label %e %M %U %S" -a -o times.txt "$@" >/dev/null
}

# `comity-evidence` fsyncs what it writes before it reports success; `age` does not. For a like-for-like
# comparison, these variants time `age` followed by `sync` as well.
age_durable() { age "$@" && sync; }
export -f age_durable

generate() { # generate FILE GIB
    echo "generating a $2 GiB file..." >&2
    head -c "$(( $2 * 1024 * 1024 * 1024 ))" /dev/urandom > "$1"
}

one_round() { # one_round FILE
    local file="$1"
    rm -rf sealed.age sealed.age.seal.json plain.age opened plain.out
    timed seal "$bin" seal -r "$recipient" --signing-key signing.key --out sealed.age "$file"
    timed sha256sum sha256sum "$file"
    timed age age -r "$recipient" -o plain.age "$file"
    rm -f plain.age
    timed age+sync bash -c 'age_durable "$@"' _ -r "$recipient" -o plain.age "$file"
    timed open "$bin" open sealed.age --identity identity.txt --out opened
    timed age-d age -d -i identity.txt -o plain.out plain.age
    rm -f plain.out
    timed age-d+sync bash -c 'age_durable "$@"' _ -d -i identity.txt -o plain.out plain.age
    rm -rf sealed.age sealed.age.seal.json plain.age opened plain.out
    sync
}

: > times.txt
generate payload.bin "$SIZE_GIB"
free_gib=$(df -BG --output=avail . | tail -1 | tr -dc '0-9')
echo "free space: ${free_gib} GiB" >&2
for i in $(seq "$RUNS"); do
    echo "round $i of $RUNS..." >&2
    one_round payload.bin
done
rm -f payload.bin
cp times.txt small.txt

if [ "$LARGE_GIB" -gt 0 ]; then
    if [ "$free_gib" -lt $(( LARGE_GIB * 4 + 2 )) ]; then
        echo "skipping the ${LARGE_GIB} GiB run: needs $(( LARGE_GIB * 4 + 2 )) GiB free, ${free_gib} GiB available" >&2
        LARGE_GIB=0
    else
        : > times.txt
        generate large.bin "$LARGE_GIB"
        echo "large round (${LARGE_GIB} GiB)..." >&2
        one_round large.bin
        rm -f large.bin
        cp times.txt large.txt
    fi
fi

python3 - "$SIZE_GIB" "$RUNS" "$LARGE_GIB" "$(nproc)" "$(age --version)" <<'PY'
import statistics, sys
size, runs, large, cores, age_version = sys.argv[1:6]

def load(path):
    rows = {}
    for line in open(path):
        label, seconds, kib, user, system = line.split()
        rows.setdefault(label, []).append((float(seconds), int(kib), float(user) + float(system)))
    return rows

def med(rows, label):
    return statistics.median(row[0] for row in rows[label])

def cpu(rows, label):
    return statistics.median(row[2] for row in rows[label])

def peak(rows, label):
    return max(row[1] for row in rows[label]) / 1024

r = load("small.txt")
seal, sha, age, open_, aged = (med(r, l) for l in ("seal", "sha256sum", "age", "open", "age-d"))
pipeline = statistics.median(a[0] + b[0] for a, b in zip(r["sha256sum"], r["age"]))
print(f"Payload {size} GiB of random bytes, medians of {runs} runs, {cores} cores, age {age_version}, page cache warm.")
print()
print("| measure | median | target |")
print("|---|---|---|")
print(f"| `comity-evidence seal` | {seal:.2f} s | |")
print(f"| `sha256sum FILE` then `age -r R -o OUT FILE` | {pipeline:.2f} s ({sha:.2f} s + {age:.2f} s) | |")
print(f"| `age -r` alone | {age:.2f} s | |")
print(f"| `age -r` then `sync` (durable, like seal) | {med(r, 'age+sync'):.2f} s | |")
print(f"| `comity-evidence open` | {open_:.2f} s | |")
print(f"| `age -d` | {aged:.2f} s | |")
print(f"| `age -d` then `sync` (durable, like open) | {med(r, 'age-d+sync'):.2f} s | |")
print(f"| ratio seal / (sha256sum + age) | **{seal / pipeline:.2f}** | <= 0.3 |")
print(f"| ratio seal / age | **{seal / age:.2f}** | <= 1.2 |")
print(f"| ratio seal / (age then sync) | **{seal / med(r, 'age+sync'):.2f}** | |")
print(f"| ratio open / age -d | **{open_ / aged:.2f}** | |")
print(f"| ratio open / (age -d then sync) | **{open_ / med(r, 'age-d+sync'):.2f}** | |")
print(f"| CPU time (user + system): seal / sha256sum / age -r | {cpu(r, 'seal'):.2f} s / {cpu(r, 'sha256sum'):.2f} s / {cpu(r, 'age'):.2f} s | |")
print(f"| CPU time (user + system): open / age -d | {cpu(r, 'open'):.2f} s / {cpu(r, 'age-d'):.2f} s | |")
print(f"| peak RSS seal | **{peak(r, 'seal'):.1f} MiB** | <= 64 MiB |")
print(f"| peak RSS open | **{peak(r, 'open'):.1f} MiB** | <= 64 MiB |")
if int(large) > 0:
    l = load("large.txt")
    print(f"| {large} GiB, one run: seal / age / age+sync | {med(l,'seal'):.1f} s / {med(l,'age'):.1f} s / {med(l,'age+sync'):.1f} s | |")
    print(f"| {large} GiB, one run: open / age -d / age -d+sync | {med(l,'open'):.1f} s / {med(l,'age-d'):.1f} s / {med(l,'age-d+sync'):.1f} s | |")
    print(f"| {large} GiB: peak RSS seal / open | **{peak(l,'seal'):.1f} MiB / {peak(l,'open'):.1f} MiB** | <= 64 MiB |")
PY
