#!/usr/bin/env bash
# Install esb on a Debian 12 machine: system packages, a check for the Rust toolchain,
# then `cargo install` of the esb binary into ~/.cargo/bin. Safe to run again: packages
# already present are not reinstalled and the build is incremental.
#
#   scripts/install.sh              # dependencies + esb binary
#   scripts/install.sh --deps-only  # dependencies only (used by scripts/test.sh)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

deps_only=false
case "${1:-}" in
    --deps-only) deps_only=true ;;
    "") ;;
    -h | --help)
        sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "install.sh: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
esac

# Debian packages needed to build esb and the examples (pip installs), and to run functions:
# Python's venv for awslambdaric; cmake and autotools for the native build of Node's
# aws-lambda-ric; slirp4netns for sandboxed workers' outbound network; iproute2 for the tests'
# own network namespaces. Node.js itself comes from Debian only when no `node` is installed.
APT_PACKAGES=(build-essential pkg-config python3 python3-pip python3-venv git curl ca-certificates
    cmake autoconf automake libtool slirp4netns iproute2)
if ! command -v node >/dev/null 2>&1; then
    APT_PACKAGES+=(nodejs npm)
fi
# Where .cargo/config.toml puts the cargo target directory.
TARGET_CACHE=/var/cache/esb

log() { printf '==> %s\n' "$*"; }

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "install.sh: '$*' needs root and sudo is not installed; run this script as root" >&2
        exit 1
    fi
}

install_system_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        log "not a Debian system: skipping apt; make sure these are installed: ${APT_PACKAGES[*]}"
        return
    fi
    local missing=() pkg
    for pkg in "${APT_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [[ ${#missing[@]} -eq 0 ]]; then
        log "system packages present"
        return
    fi
    log "installing system packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

ensure_target_dir() {
    if [[ -d $TARGET_CACHE && -w $TARGET_CACHE ]]; then
        return
    fi
    log "creating $TARGET_CACHE for cargo build output"
    as_root mkdir -p "$TARGET_CACHE"
    as_root chown "$(id -u):$(id -g)" "$TARGET_CACHE"
}

ensure_cargo() {
    local cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
    if ! command -v cargo >/dev/null 2>&1 && [[ -x $cargo_bin/cargo ]]; then
        export PATH="$cargo_bin:$PATH"
    fi
    if ! command -v cargo >/dev/null 2>&1; then
        cat >&2 <<'EOF'
install.sh: cargo was not found (looked on PATH and in ~/.cargo/bin).
Install the Rust toolchain with rustup, then run this script again:

    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y
    . "$HOME/.cargo/env"

rust-toolchain.toml pins the version (with rustfmt and clippy); rustup fetches it on first use.
EOF
        exit 1
    fi
    log "$(cargo --version)"
}

install_system_packages
ensure_target_dir
ensure_cargo

if [[ $deps_only == true ]]; then
    exit 0
fi

log "building and installing esb (cargo install --locked --path crates/esb-cli)"
cargo install --locked --path crates/esb-cli

esb_bin="${CARGO_HOME:-$HOME/.cargo}/bin/esb"
log "installed $("$esb_bin" --version 2>/dev/null || echo esb) at $esb_bin"
case ":$PATH:" in
    *":$(dirname "$esb_bin"):"*) ;;
    *) log "add it to your PATH: export PATH=\"$(dirname "$esb_bin"):\$PATH\"" ;;
esac
