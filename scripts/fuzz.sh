#!/usr/bin/env bash
# Runs the fuzz targets of fuzz/ (docs/fuzzing.md), each for a bounded time, as CI does after
# the tests; fails on the first crash (panic, abort, stack overflow), time-out or memory blow-up,
# naming the reproducer it saved. Works from any directory.
#
#   scripts/fuzz.sh                  every target, ESB_FUZZ_SECONDS (default 30) each
#   scripts/fuzz.sh s3 sigv4         only these targets
#
# Environment:
#   ESB_FUZZ_SECONDS  seconds per target (default 30)
#   ESB_FUZZ_CACHE    cargo-fuzz, build output, the corpus grown by earlier runs and crash
#                     reproducers (default /var/cache/esb/fuzz; scripts/test-tools.sh installs
#                     cargo-fuzz there)
#   ESB_FUZZ_SANITIZER  address (the default) or none: see docs/fuzzing.md
#   ESB_FUZZ_MAX_CORPUS past this many inputs (default 2000), a target's cached corpus is
#                     first merged down to the inputs that add coverage
#
# cargo-fuzz needs nightly compiler flags (-Zsanitizer, sanitizer coverage); RUSTC_BOOTSTRAP=1
# lets the pinned stable compiler accept them, for this build only.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${ESB_FUZZ_SECONDS:-30}
cache=${ESB_FUZZ_CACHE:-/var/cache/esb/fuzz}
sanitizer=${ESB_FUZZ_SANITIZER:-address}
max_corpus=${ESB_FUZZ_MAX_CORPUS:-2000}
export PATH="$cache/bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export RUSTC_BOOTSTRAP=1

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz not found in $cache/bin; run scripts/test-tools.sh" >&2
    exit 1
fi

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi

build=(--fuzz-dir fuzz --target-dir "$cache/target" --sanitizer "$sanitizer" --debug-assertions)
start=$SECONDS
mkdir -p "$cache"
if ! cargo fuzz build "${build[@]}" >"$cache/build.log" 2>&1; then
    tail -n 60 "$cache/build.log" >&2
    echo "fuzz.sh: the fuzz targets did not build (log: $cache/build.log)" >&2
    exit 1
fi
echo "built in $((SECONDS - start))s"

for target in "${targets[@]}"; do
    corpus="$cache/corpus/$target"
    artifacts="$cache/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    echo "---- $target: ${seconds}s"
    # libFuzzer replays the whole corpus before it mutates, outside -max_total_time: keep the
    # corpus the cache grows from run to run small enough to replay in a few seconds.
    if (($(find "$corpus" -type f | wc -l) > max_corpus)); then
        rm -rf "$corpus.merged" && mkdir -p "$corpus.merged"
        if cargo fuzz run "${build[@]}" "$target" "$corpus.merged" "$corpus" -- \
            -merge=1 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 >"$cache/$target.merge.log" 2>&1; then
            rm -rf "$corpus" && mv "$corpus.merged" "$corpus"
            echo "merged the cached corpus down to $(find "$corpus" -type f | wc -l) inputs"
        fi
    fi
    # New inputs go to the first corpus directory (the cache); the checked-in seeds are read.
    # -timeout: one input running longer is a failure; -rss_limit_mb: so is a memory blow-up.
    # -detect_leaks=0: LeakSanitizer scans the heap after every input that allocated more than
    # it freed (caches, the engine's state), which made the targets 4x slower.
    if ! cargo fuzz run "${build[@]}" "$target" "$corpus" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
        -artifact_prefix="$artifacts/" -print_final_stats=1 \
        >"$cache/$target.log" 2>&1; then
        tail -n 60 "$cache/$target.log" >&2
        echo "fuzz.sh: $target failed; reproducer in $artifacts/ (docs/fuzzing.md says how to replay it)" >&2
        exit 1
    fi
    grep -E '^(#[0-9]+\s+DONE|stat::number_of_executed_units|stat::average_exec_per_sec|Done )' \
        "$cache/$target.log" || true
done
echo "fuzzed ${#targets[@]} targets in $((SECONDS - start))s"
