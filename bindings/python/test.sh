#!/usr/bin/env bash
# Builds the Python binding from source, installs it into a venv, and runs its
# tests (pytest against real `tenure dev` clusters, mypy --strict included).
#
# Needs: python3 (3.9+), cargo, and the server binary (cargo build --workspace;
# or set TENURE_BIN). Everything else (maturin, pytest, mypy) comes from PyPI.
# Extra arguments go to pytest, e.g. `bindings/python/test.sh -k fork -x`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${TENURE_PY_VENV:-$HERE/.venv}"

export TENURE_BIN="${TENURE_BIN:-$REPO/target/debug/tenure}"
if [ ! -x "$TENURE_BIN" ]; then
    echo "test.sh: $TENURE_BIN not found; run 'cargo build --workspace' first or set TENURE_BIN" >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
VPY="$VENV/bin/python"
"$VPY" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VPY" -m pip install --quiet --disable-pip-version-check \
    "maturin>=1.9,<2" "pytest>=7" "pytest-timeout>=2" "mypy>=1.10"

# Build the abi3 wheel (dev profile: the workspace's debug artifacts are reused)
# and install it like a user would.
DIST="$(mktemp -d)"
trap 'rm -rf "$DIST"' EXIT
echo "== building the wheel"
(cd "$HERE" && "$VENV/bin/maturin" build --profile dev --interpreter "$VPY" --out "$DIST")
"$VPY" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$DIST"/tenure-*.whl

echo "== pytest (includes mypy --strict on the package and the examples)"
cd "$HERE"
"$VPY" -m pytest -q -p no:cacheprovider tests "$@"
