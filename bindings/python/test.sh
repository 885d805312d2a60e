#!/usr/bin/env bash
# The Python binding's tests, run the way a user gets the package (issue 20):
# builds the abi3 manylinux x86_64 wheel and the sdist with the release
# script (bindings/python/dist.sh: zig-linked against glibc 2.17, auditwheel,
# metadata and twine checks), dev profile by default so CI reuses little but
# stays quick, then installs the wheel into a fresh venv with no cargo on PATH
# and runs the test suite from it against real `tenure dev` clusters (pytest,
# mypy --strict included: tools/dist/test-python-wheel.sh).
#
# The wheel is also installed into bindings/python/.venv, which tools/docs.sh
# (pdoc) and local development use.
#
# Needs: python3 (3.9+), cargo, and the server binary (cargo build --workspace;
# or set TENURE_BIN). Everything else (maturin, ziglang, pytest, mypy) comes
# from PyPI. Extra arguments go to pytest, e.g. `bindings/python/test.sh -k fork -x`.
#
#   TENURE_DIST_PROFILE   cargo profile of the wheel: dev (default here) or release
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${TENURE_PY_VENV:-$HERE/.venv}"
OUT="$REPO/target/dist-ci/python"

export TENURE_BIN="${TENURE_BIN:-$REPO/target/debug/tenure}"
if [ ! -x "$TENURE_BIN" ]; then
    echo "test.sh: $TENURE_BIN not found; run 'cargo build --workspace' first or set TENURE_BIN" >&2
    exit 1
fi

echo "== building the x86_64 wheel and the sdist (bindings/python/dist.sh)"
bash "$HERE/dist.sh" --profile "${TENURE_DIST_PROFILE:-dev}" --no-aarch64 --no-sdist-check --out "$OUT"
WHEEL="$(ls "$OUT"/tenure-*-manylinux*_x86_64.whl | head -n 1)"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps "$WHEEL"

bash "$REPO/tools/dist/test-python-wheel.sh" "$WHEEL" -- "$@"
