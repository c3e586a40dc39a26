#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): dependencies, formatting, lints, tests, then
# every fuzz target for ESB_FUZZ_SECONDS (default 30) seconds each (scripts/fuzz.sh).
# Stops at the first failure with a non-zero exit. Works from any directory.
# The corpus tests read ../shared/corpus beside the repository.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

suite_start=$SECONDS
section() { printf '\n==== %s ====\n' "$*"; }
step() {
    local name=$1 start=$SECONDS
    shift
    section "$name"
    echo "+ $*"
    local rc=0
    "$@" || rc=$?
    if [[ $rc -ne 0 ]]; then
        printf -- '---- %s: FAILED (exit %s, %ss)\n' "$name" "$rc" "$((SECONDS - start))" >&2
        exit "$rc"
    fi
    printf -- '---- %s: ok (%ss)\n' "$name" "$((SECONDS - start))"
}

step "dependencies" scripts/install.sh --deps-only
# The target dir outside the clone keeps runs incremental, but it only ever grows (old
# dependency versions, incremental caches): past ESB_TARGET_LIMIT_GB it is trimmed, so CI never
# fills the disk (a full disk fails every test that writes).
trim_target_dir() {
    local dir limit_kb
    dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    limit_kb=$(( ${ESB_TARGET_LIMIT_GB:-20} * 1024 * 1024 ))
    [[ -d $dir/debug ]] || return 0
    over() { (( $(du -sk "$dir" | cut -f1) > limit_kb )); }
    if over; then
        echo "$dir is over ${ESB_TARGET_LIMIT_GB:-20} GB: removing its incremental caches"
        rm -rf "$dir"/debug/incremental
    fi
    if over; then
        echo "$dir is still over the limit: removing its debug build (one full rebuild)"
        rm -rf "$dir"/debug
    fi
}
# install.sh may have found cargo in ~/.cargo/bin without it being on our PATH.
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
step "target dir size" trim_target_dir
step "test tools (AWS CLI, moto_server, cargo-fuzz)" scripts/test-tools.sh

if [[ ! -d ../shared/corpus ]]; then
    echo "note: ../shared/corpus not found beside the repository; corpus tests will not find it"
fi

step "format" cargo fmt --all -- --check
step "format (fuzz targets)" cargo fmt --manifest-path fuzz/Cargo.toml -- --check
step "clippy" cargo clippy --workspace --all-targets --locked -- -D warnings
step "tests" cargo test --workspace --locked
step "fuzz (${ESB_FUZZ_SECONDS:-30}s per target)" scripts/fuzz.sh

section "all checks passed in $((SECONDS - suite_start))s"
