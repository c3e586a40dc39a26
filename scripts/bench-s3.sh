#!/usr/bin/env bash
# Benchmarks S3 servers side by side on 127.0.0.1 only: the embedded one (release
# `esb s3 serve`), moto_server (from scripts/test-tools.sh) and s3s-fs 0.14.1 (the s3s
# crate's own file-system server, if it builds here), plus `dd ... conv=fsync` for the disk's
# write speed. Runs crates/esb-s3/benches/compare.rs RUNS times (default 3) and prints the
# median of each column. Everything it starts is stopped on exit.
#
#   scripts/bench-s3.sh            # all servers, 3 runs
#   RUNS=1 SECONDS_PER_PHASE=3 CONCURRENCY=16 scripts/bench-s3.sh
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOOLS=${ESB_TEST_TOOLS:-$HOME/.esb/test-tools}
CACHE=${ESB_BENCH_CACHE:-$HOME/.cache/esb-bench}
RUNS=${RUNS:-3}
SECONDS_PER_PHASE=${SECONDS_PER_PHASE:-5}
CONCURRENCY=${CONCURRENCY:-32}
LARGE_MB=${LARGE_MB:-256}
ACCESS=esbbench
SECRET=esb-bench-secret
# Data directories and the dd file share one disk (the temp dir's).
WORK=$(mktemp -d "${TMPDIR:-/tmp}/esb-bench-s3.XXXXXX")
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
    for _ in $(seq 200); do
        if (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1 (see $WORK/*.log)" >&2
    return 1
}

echo "== machine"
echo "$(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr), $(rustc --version)"

echo "== building"
(cd "$ROOT" && cargo build --release -p esb-cli --quiet)
(cd "$ROOT" && cargo bench -p esb-s3 --bench compare --no-run --quiet)
ESB=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release/esb

S3S_FS=$CACHE/s3s-fs/bin/s3s-fs
if [[ ! -x $S3S_FS ]]; then
    mkdir -p "$CACHE"
    if ! cargo install s3s-fs --version =0.14.1 --features binary --root "$CACHE/s3s-fs" --quiet >"$CACHE/s3s-fs-install.log" 2>&1; then
        echo "s3s-fs 0.14.1 did not build; skipped. Last lines of $CACHE/s3s-fs-install.log:"
        tail -n 15 "$CACHE/s3s-fs-install.log"
    fi
fi

echo "== disk: dd 256 MiB with fsync, $RUNS runs"
DD=()
for _ in $(seq "$RUNS"); do
    rate=$(dd if=/dev/zero of="$WORK/dd.bin" bs=1M count=256 conv=fsync 2>&1 | tail -n1)
    echo "  $rate"
    DD+=("$(python3 -c 'import re, sys
m = re.search(r"([\d.]+) (GB|MB|kB)/s", sys.argv[1])
print(float(m.group(1)) * {"GB": 1000, "MB": 1, "kB": 0.001}[m.group(2)])' "$rate")")
    rm -f "$WORK/dd.bin"
done

echo "== servers"
ENDPOINTS=()
port=$(free_port)
mkdir -p "$WORK/esb"
"$ESB" s3 serve --bind 127.0.0.1 --port "$port" --data-dir "$WORK/esb" \
    --access-key-id "$ACCESS" --secret-access-key "$SECRET" >"$WORK/esb.log" 2>&1 &
PIDS+=($!)
wait_port "$port"
ENDPOINTS+=("esb=http://127.0.0.1:$port")

if [[ -x $TOOLS/bin/moto_server ]]; then
    port=$(free_port)
    "$TOOLS/bin/moto_server" -H 127.0.0.1 -p "$port" >"$WORK/moto.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
    ENDPOINTS+=("moto=http://127.0.0.1:$port")
else
    echo "moto_server missing at $TOOLS/bin: run scripts/test-tools.sh; skipped"
fi

if [[ -x $S3S_FS ]]; then
    port=$(free_port)
    mkdir -p "$WORK/s3s-fs"
    "$S3S_FS" --host 127.0.0.1 --port "$port" --access-key "$ACCESS" --secret-key "$SECRET" \
        "$WORK/s3s-fs" >"$WORK/s3s-fs.log" 2>&1 &
    PIDS+=($!)
    wait_port "$port"
    ENDPOINTS+=("s3s-fs=http://127.0.0.1:$port")
fi

echo "== compare: ${ENDPOINTS[*]}"
for run in $(seq "$RUNS"); do
    echo "-- run $run"
    (cd "$ROOT" && ESB_BENCH_ACCESS_KEY=$ACCESS ESB_BENCH_SECRET_KEY=$SECRET \
        cargo bench -p esb-s3 --bench compare --quiet -- \
        --concurrency "$CONCURRENCY" --seconds "$SECONDS_PER_PHASE" --large-mb "$LARGE_MB" \
        $(printf -- '--endpoint %s ' "${ENDPOINTS[@]}")) | tee "$WORK/run-$run.md"
done

echo "== medians of $RUNS runs (dd: ${DD[*]} MB/s)"
python3 - "$WORK" "$RUNS" "${DD[@]}" <<'EOF'
import statistics, sys
work, runs, dd = sys.argv[1], int(sys.argv[2]), [float(x) for x in sys.argv[3:]]
rows, header = {}, None
for run in range(1, runs + 1):
    for line in open(f"{work}/run-{run}.md"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| server"):
            header = cells
        elif line.startswith("| ") and not line.startswith("|---") and len(cells) == len(header or []):
            rows.setdefault(cells[0], []).append(cells[1:])
print("| " + " | ".join(header[:-1] + ["% of dd"]) + " |")
print("|" + "---|" * len(header))
disk = statistics.median(dd)
for server, samples in rows.items():
    medians = []
    for col in range(len(header) - 2):
        values = [float(s[col]) for s in samples]
        medians.append(statistics.median(values))
    fmt = [f"{v:.0f}" if v >= 100 else f"{v:.2f}" for v in medians]
    # The raw client's large PUT (last column) is the server's figure; see compare.rs.
    print(f"| {server} | " + " | ".join(fmt) + f" | {100 * medians[-1] / disk:.0f} % |")
blanks = " | " * (len(header) - 3)
print(f"| dd bs=1M count=256 conv=fsync{blanks}| {disk:.0f} | 100 % |")
EOF
