#!/usr/bin/env bash
# Benchmark the embedded DynamoDB (`esb dynamodb serve`, release build) against dynalite and
# moto_server, all on 127.0.0.1, with aws-sdk-dynamodb (crates/esb-dynamodb/benches/compare.rs):
# a PutItem phase then a GetItem phase against each, 16 requests in flight; prints ops/s, p50
# and p99. Everything started here is stopped on exit.
#
#   scripts/bench-dynamodb.sh                 # one run, 20000 requests or 20 s per phase
#   RUNS=3 REQUESTS=20000 SECONDS_PER_PHASE=20 scripts/bench-dynamodb.sh
#   ONLY=esb scripts/bench-dynamodb.sh        # just one server (esb, dynalite or moto)
#
# Needs: node + npm (dynalite is installed into ~/.cache/esb-bench/dynalite on first use) and
# moto_server from scripts/test-tools.sh (~/.esb/test-tools/bin/moto_server).
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS="${RUNS:-1}"
REQUESTS="${REQUESTS:-20000}"
SECONDS_PER_PHASE="${SECONDS_PER_PHASE:-20}"
ONLY="${ONLY:-esb,dynalite,moto}"
DYNALITE_DIR="${DYNALITE_DIR:-$HOME/.cache/esb-bench/dynalite}"
MOTO_SERVER="${MOTO_SERVER:-$HOME/.esb/test-tools/bin/moto_server}"
export AWS_ACCESS_KEY_ID=esb AWS_SECRET_ACCESS_KEY=esb-local-secret
export ESB_BENCH_ACCESS_KEY_ID=esb ESB_BENCH_SECRET_ACCESS_KEY=esb-local-secret

work="$(mktemp -d -t esb-bench-dynamodb.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Wait until something answers HTTP on 127.0.0.1:$1.
wait_http() {
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "http://127.0.0.1:$1/"; then return 0; fi
    sleep 0.1
  done
  echo "nothing answered on 127.0.0.1:$1 ($2); its log:" >&2
  cat "$work/$2.log" >&2 || true
  exit 1
}

wants() { [[ ",$ONLY," == *",$1,"* ]]; }

echo "== building (release)"
cargo build --release -p esb-cli
cargo bench -p esb-dynamodb --bench compare --no-run
target_dir="$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
esb="$target_dir/release/esb"

endpoints=()
server_pids=()
if wants esb; then
  port="$(free_port)"
  "$esb" dynamodb serve --bind 127.0.0.1 --port "$port" --data-dir "$work/esb-data" \
    >"$work/esb.log" 2>&1 &
  pids+=("$!")
  wait_http "$port" esb
  endpoints+=("esb=http://127.0.0.1:$port")
  server_pids+=("esb=${pids[-1]}")
fi
if wants dynalite; then
  if [[ ! -f "$DYNALITE_DIR/node_modules/dynalite/cli.js" ]]; then
    echo "== installing dynalite into $DYNALITE_DIR"
    mkdir -p "$DYNALITE_DIR"
    (cd "$DYNALITE_DIR" && npm install --no-audit --no-fund dynalite >/dev/null)
  fi
  port="$(free_port)"
  # In memory (dynalite's default): it does not write to disk at all.
  node "$DYNALITE_DIR/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$port" \
    --createTableMs 0 --deleteTableMs 0 >"$work/dynalite.log" 2>&1 &
  pids+=("$!")
  wait_http "$port" dynalite
  endpoints+=("dynalite=http://127.0.0.1:$port")
  server_pids+=("dynalite=${pids[-1]}")
fi
if wants moto; then
  port="$(free_port)"
  "$MOTO_SERVER" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  pids+=("$!")
  wait_http "$port" moto
  endpoints+=("moto=http://127.0.0.1:$port")
  server_pids+=("moto=${pids[-1]}")
fi

echo "== machine: $(nproc) cores, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for run in $(seq 1 "$RUNS"); do
  echo "== run $run of $RUNS"
  ESB_BENCH_ENDPOINTS="$(IFS=,; echo "${endpoints[*]}")" \
    ESB_BENCH_PIDS="$(IFS=,; echo "${server_pids[*]}")" \
    cargo bench -q -p esb-dynamodb --bench compare -- \
    --requests "$REQUESTS" --seconds "$SECONDS_PER_PHASE" --in-flight 16
done
