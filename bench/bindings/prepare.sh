#!/usr/bin/env bash
# Builds the three bindings with the release profile for scenario 7 of `make bench`
# (binding overhead), so that each is compared with the release Rust client:
#   - Python: the release wheel in a venv at target/bench-venv;
#   - Node: the release addon in bindings/node;
#   - Kotlin: the release libtenure_ffi.so in target/release (tenure-bench hands it to
#     JNA with -Djna.library.path) and the binding's jar in ~/.m2 (bindings/kotlin/test.sh
#     builds and installs it when it is missing).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
log() { echo "[bench/bindings/prepare] $*" >&2; }

log "python: release wheel into target/bench-venv"
VENV="$REPO/target/bench-venv"
[[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2"
DIST="$(mktemp -d)"
trap 'rm -rf "$DIST"' EXIT
(cd bindings/python && "$VENV/bin/maturin" build --release --interpreter "$VENV/bin/python" --out "$DIST")
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$DIST"/tenure-*.whl

log "node: release addon"
(
    cd bindings/node
    # The build and test tools (@napi-rs/cli; better-sqlite3 for the tests).
    [[ -d node_modules ]] || npm ci --no-audit --no-fund
    # The release addon as the checkout's local build (./tenure.<platform>.node).
    node scripts/build.js --profile release
)

log "kotlin: release native library and the jar"
cargo build --release -p tenure-ffi
# Always this checkout's jar: ~/.m2 may hold one built from another checkout, whose
# generated bindings do not match this native library.
TENURE_KOTLIN_SKIP_TESTS=1 bash bindings/kotlin/test.sh
