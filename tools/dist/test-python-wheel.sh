#!/usr/bin/env bash
# Install test of the Python wheel (issue 20): what a user without Rust gets.
#
# A fresh venv, with no cargo or rustc on PATH, installs the x86_64 wheel from
# dist/python (plus only the test extras, pytest, pytest-timeout and mypy, as
# binary wheels from PyPI) and runs the binding's test suite against real
# `tenure` clusters. The tests run from a copy in a temporary directory, so the
# only `tenure` they can import is the installed one; a pytest plugin asserts
# that tenure and tenure._native come from the venv before any test runs.
#
#   tools/dist/test-python-wheel.sh [WHEEL] [-- pytest args]
#
# WHEEL defaults to the manylinux x86_64 wheel in dist/python. PYTHON picks the
# interpreter of the venv (default python3; any CPython >= 3.9 can install the
# abi3 wheel). TENURE_BIN is the server (default target/debug/tenure, with
# tenure-testkit next to it: cargo build --bin tenure --bin tenure-testkit).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"

WHEEL=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    WHEEL="$1"
    shift
fi
[ "${1:-}" = "--" ] && shift
if [ -z "$WHEEL" ]; then
    WHEEL="$(ls "$REPO"/dist/python/tenure-*-manylinux*_x86_64.whl 2>/dev/null | head -n 1 || true)"
fi
if [ -z "$WHEEL" ] || [ ! -f "$WHEEL" ]; then
    echo "test-python-wheel: no x86_64 wheel in dist/python; run bindings/python/dist.sh first" >&2
    exit 1
fi
WHEEL="$(cd "$(dirname "$WHEEL")" && pwd)/$(basename "$WHEEL")"

export TENURE_BIN="${TENURE_BIN:-$REPO/target/debug/tenure}"
for bin in "$TENURE_BIN" "$(dirname "$TENURE_BIN")/tenure-testkit"; do
    if [ ! -x "$bin" ]; then
        echo "test-python-wheel: $bin not found: cargo build --bin tenure --bin tenure-testkit" >&2
        exit 1
    fi
done

# The interpreter itself, not a pyenv shim (shims need their own PATH).
PY_REAL="$("$PYTHON" -c 'import sys; print(sys.executable)')"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tenure-wheel-test.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
VENV="$WORK/venv"
TREE="$WORK/tree"

# Everything from here on sees only the system PATH: no ~/.cargo/bin.
CLEAN_ENV=(env -i "HOME=$HOME" "PATH=/usr/bin:/bin" "LANG=C.UTF-8" "TMPDIR=${TMPDIR:-/tmp}"
    "TENURE_BIN=$TENURE_BIN" "PIP_DISABLE_PIP_VERSION_CHECK=1")

echo "== fresh venv ($("$PY_REAL" --version)) with no Rust toolchain on PATH"
"${CLEAN_ENV[@]}" bash -c '
    if command -v cargo || command -v rustc; then
        echo "test-python-wheel: cargo/rustc is on PATH ($PATH)" >&2; exit 1
    fi
    echo "cargo: not on PATH ($PATH)"'
"${CLEAN_ENV[@]}" "$PY_REAL" -m venv "$VENV"

echo "== pip install $(basename "$WHEEL")[test]"
# --only-binary: nothing is built from source, the wheel under test included.
"${CLEAN_ENV[@]}" "$VENV/bin/python" -m pip install --quiet --only-binary :all: "$WHEEL[test]"
"${CLEAN_ENV[@]}" "$VENV/bin/python" -m pip list --format=freeze | grep -E '^(tenure|pytest|mypy)'

# The tests expect the repository's layout around them (examples/python and
# tests/scenarios.toml from <repo>, pyproject.toml as mypy's config, and the
# package sources for the mypy --strict test): a copy of those, with the
# package's Python files taken from the INSTALLED wheel.
mkdir -p "$TREE/bindings/python" "$TREE/examples" "$TREE/tests"
cp -r "$REPO/bindings/python/tests" "$TREE/bindings/python/tests"
cp "$REPO/bindings/python/pyproject.toml" "$TREE/bindings/python/"
cp -r "$REPO/examples/python" "$TREE/examples/python"
cp "$REPO/tests/scenarios.toml" "$TREE/tests/"
SITE_PKG="$("${CLEAN_ENV[@]}" "$VENV/bin/python" -c 'import os, tenure; print(os.path.dirname(tenure.__file__))')"
mkdir -p "$TREE/bindings/python/python/tenure"
(cd "$SITE_PKG" && cp ./*.py ./*.pyi py.typed "$TREE/bindings/python/python/tenure/")
find "$TREE" -name __pycache__ -prune -exec rm -rf {} +

mkdir -p "$WORK/plugins"
cat >"$WORK/plugins/tenure_installed_check.py" <<'EOF'
"""Refuses to run the suite unless `tenure` is the package installed in the venv."""
import os
import sys


def pytest_configure(config):  # type: ignore[no-untyped-def]
    import tenure
    import tenure._native

    venv = os.path.realpath(sys.prefix)
    for mod in (tenure, tenure._native):
        path = os.path.realpath(mod.__file__ or "")
        if not path.startswith(venv + os.sep):
            raise RuntimeError(f"{mod.__name__} imported from {path}, not from the venv {venv}")
    print(f"\ntenure from {tenure.__file__}\nnative {tenure._native.__file__}")
EOF

echo "== pytest (copy of bindings/python/tests in $TREE, package from the venv)"
cd "$TREE/bindings/python"
"${CLEAN_ENV[@]}" "PYTHONPATH=$WORK/plugins" "$VENV/bin/pytest" -p tenure_installed_check \
    -p no:cacheprovider -q -rs tests "$@"
