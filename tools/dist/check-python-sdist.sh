#!/usr/bin/env bash
# The Python sdist builds offline from the tarball alone (issue 20).
#
#   tools/dist/check-python-sdist.sh dist/python/tenure-<v>.tar.gz
#
# Unpacks the tarball in an empty temporary directory (nothing of the checkout
# around it) and builds a wheel from it with pip, offline:
#   - pip: --no-index --no-build-isolation, so the build backend (maturin) must
#     already be in the build environment (a venv here; pip would otherwise
#     fetch maturin from PyPI, as `pip install tenure-<v>.tar.gz` does online);
#   - cargo: the crates of the sdist's Cargo.lock are vendored first
#     (`cargo vendor`, itself offline, from the local registry cache: the step
#     that downloads them on a machine that has never built tenure), then the
#     build runs with a fresh, empty CARGO_HOME whose only config replaces
#     crates.io with that vendor directory, and net.offline = true. So the
#     build sees the tarball, the vendored crates and the Rust toolchain
#     (rustup's; 1.88 or later), nothing else. The workspace crates (tenure,
#     tenure-proto, the binding, the .proto files) come from the tarball;
#     protoc is the vendored protoc-bin-vendored crate, no system protoc.
# Then installs that wheel into the same venv and imports it.
#
# CARGO_TARGET_DIR is target/dist-python/sdist-target of the checkout (or
# TENURE_SDIST_TARGET_DIR), kept between runs so that only the first check
# compiles every crate; not target/release, whose lib_native.so other tools
# use. The vendor directory and the CARGO_HOME are kept next to it
# (sdist-vendor, sdist-cargo-home: cargo's fingerprints include their paths),
# rewritten by every run. The tarball's own crates are always compiled from
# the unpacked sources.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SDIST="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
PYTHON="${PYTHON:-python3}"
export CARGO_TARGET_DIR="${TENURE_SDIST_TARGET_DIR:-$REPO/target/dist-python/sdist-target}"
VENDOR="$CARGO_TARGET_DIR/../sdist-vendor"
BUILD_CARGO_HOME="$CARGO_TARGET_DIR/../sdist-cargo-home"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tenure-sdist-check.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
start=$(date +%s)

echo "== sdist check: $(basename "$SDIST") in $WORK, offline"
tar -xzf "$SDIST" -C "$WORK"
SRC="$(echo "$WORK"/tenure-*)"
echo "   $(find "$SRC" -type f | wc -l) files; workspace members: $(grep '^members' "$SRC/Cargo.toml")"

"$PYTHON" -m venv "$WORK/venv"
# The build backend, the one thing the build needs from PyPI (done before going offline).
"$WORK/venv/bin/python" -m pip install --quiet --disable-pip-version-check "maturin>=1.9,<2"

echo "== cargo vendor (offline, from the local registry cache)"
mkdir -p "$VENDOR"
VENDOR="$(cd "$VENDOR" && pwd)"
CARGO_NET_OFFLINE=true cargo vendor --quiet --manifest-path "$SRC/Cargo.toml" "$VENDOR" >/dev/null
echo "   $(ls "$VENDOR" | wc -l) crates, $(du -sh "$VENDOR" | cut -f1) in $VENDOR"
rm -rf "$BUILD_CARGO_HOME"
mkdir -p "$BUILD_CARGO_HOME"
BUILD_CARGO_HOME="$(cd "$BUILD_CARGO_HOME" && pwd)"
printf '%s\n' \
    '[source.crates-io]' 'replace-with = "vendored"' '' \
    '[source.vendored]' "directory = \"$VENDOR\"" '' \
    '[net]' 'offline = true' >"$BUILD_CARGO_HOME/config.toml"

echo "== pip wheel from the sdist (CARGO_HOME=$BUILD_CARGO_HOME: vendored crates only; no index)"
(
    cd "$WORK"
    export CARGO_HOME="$BUILD_CARGO_HOME" CARGO_NET_OFFLINE=true
    export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1
    export PATH="$WORK/venv/bin:$PATH"
    nice -n 19 "$WORK/venv/bin/python" -m pip wheel --no-cache-dir --no-build-isolation --no-deps -v \
        --wheel-dir "$WORK/wheel" "$SDIST"
    "$WORK/venv/bin/python" -m pip install --quiet --no-deps "$WORK"/wheel/tenure-*.whl
    "$WORK/venv/bin/python" -c 'import tenure, tenure._native; print("imported", tenure.__file__)'
)
echo "== sdist check passed in $(( $(date +%s) - start )) s: $(basename "$(echo "$WORK"/wheel/*.whl)")"
