#!/usr/bin/env bash
# The gateway load benchmark: warm GET /hello through `esb up` to the Rust example, side by
# side with a bare hyper server (the floor), both on 127.0.0.1 with keep-alive, each run bounded
# by wrk's duration. Prints wrk's latency distribution and requests/s for both.
# Usage: scripts/bench-gateway.sh [seconds=10] [connections=8]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-10}
connections=${2:-8}
command -v wrk >/dev/null || { echo "bench-gateway: needs wrk (apt-get install wrk)" >&2; exit 1; }

cargo build -q --release -p esb-cli -p esb-gateway --example bare_hello
target=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
esb="$target/release/esb"
bare="$target/release/examples/bare_hello"

gateway_port=18443
bare_port=18080
(cd examples/hello-rust && "$esb" up --http --port "$gateway_port" >/dev/null)
trap '(cd examples/hello-rust && "$esb" down >/dev/null 2>&1); kill "${bare_pid:-0}" 2>/dev/null || true' EXIT
"$bare" "127.0.0.1:$bare_port" 2>/dev/null &
bare_pid=$!
sleep 0.5

curl -sf "http://127.0.0.1:$gateway_port/hello" >/dev/null   # warm a worker
# One wrk thread: on two cores, every core wrk takes is one the box cannot use.
for c in 1 "$connections"; do
    echo "== esb gateway → hello-rust (GET /hello), $c connection(s), ${seconds}s"
    wrk -t1 -c"$c" -d"${seconds}s" --latency "http://127.0.0.1:$gateway_port/hello"
    echo
    echo "== bare hyper server, $c connection(s), ${seconds}s"
    wrk -t1 -c"$c" -d"${seconds}s" --latency "http://127.0.0.1:$bare_port/hello"
    echo
done
