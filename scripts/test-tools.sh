#!/usr/bin/env bash
# Installs the test tools and prints the Python tools' bin directory:
# - the Python tools of scripts/test-tools.txt (AWS CLI, moto_server, boto3) into one
#   virtualenv, ${ESB_TEST_TOOLS:-~/.esb/test-tools}. Tests find the tools there (crates/*/tests
#   read ESB_TEST_TOOLS or that default);
# - cargo-fuzz, for scripts/fuzz.sh, into ${ESB_FUZZ_CACHE:-/var/cache/esb/fuzz}/bin, built in
#   that cache so a rebuild is incremental.
# Safe to rerun: a virtualenv whose requirements did not change and a cargo-fuzz of the pinned
# version are left alone.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# cargo-fuzz 0.13.2 builds with the pinned stable toolchain (rust-toolchain.toml).
CARGO_FUZZ_VERSION=0.13.2

install_cargo_fuzz() {
    local cache=${ESB_FUZZ_CACHE:-/var/cache/esb/fuzz}
    if [[ $("$cache/bin/cargo-fuzz" --version 2>/dev/null) == "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
        return
    fi
    mkdir -p "$cache"
    cargo install --quiet --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION" \
        --root "$cache" --target-dir "$cache/install-target" >&2
}

install_python_tools() {
    local venv=${ESB_TEST_TOOLS:-$HOME/.esb/test-tools}
    local stamp="$venv/.requirements"
    if [[ -x $venv/bin/python3 ]] && cmp -s scripts/test-tools.txt "$stamp"; then
        return
    fi
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/test-tools.txt >&2
    cp scripts/test-tools.txt "$stamp"
}

install_cargo_fuzz
install_python_tools
echo "${ESB_TEST_TOOLS:-$HOME/.esb/test-tools}/bin"
