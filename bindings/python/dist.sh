#!/usr/bin/env bash
# The Python release artifacts (issue 20), into dist/python/:
#
#   tenure-<v>-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl
#   tenure-<v>-cp39-abi3-manylinux2014_aarch64.manylinux_2_17_aarch64.whl
#   tenure-<v>.tar.gz                      the sdist (builds offline, see below)
#   auditwheel.txt                         `auditwheel show` of every wheel
#
# One abi3 wheel per architecture serves CPython 3.9 and later. maturin links
# with zig (the `ziglang` package from PyPI) against glibc 2.17, so the wheels
# are manylinux2014 without a manylinux container; aarch64 is cross-compiled
# the same way (rustup target add aarch64-unknown-linux-gnu).
#
#   bindings/python/dist.sh [--test] [--no-aarch64] [--no-sdist-check]
#                           [--profile release|dev] [--out DIR]
#
#   --test            then install the x86_64 wheel into a fresh venv without
#                     cargo on PATH and run the test suite from it
#                     (tools/dist/test-python-wheel.sh)
#   --no-aarch64      skip the aarch64 wheel (also TENURE_DIST_AARCH64=0)
#   --no-sdist-check  skip building a wheel from the unpacked sdist offline
#                     (tools/dist/check-python-sdist.sh)
#   --profile P       cargo profile of the wheels: release (default, what is
#                     published) or dev (CI: the same packaging and checks,
#                     unoptimised code; also TENURE_DIST_PROFILE)
#   --out DIR         where the artifacts go (default dist/python; CI's dev
#                     wheels go elsewhere so dist/ only holds release builds)
#
# Needs: python3 (3.9+), rustup/cargo. maturin, ziglang, auditwheel and twine are
# installed from PyPI into target/dist-python/venv. Builds run under nice.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
VENV="${TENURE_DIST_VENV:-$REPO/target/dist-python/venv}"
OUT="$REPO/dist/python"
PROFILE="${TENURE_DIST_PROFILE:-release}"

TEST=0
AARCH64="${TENURE_DIST_AARCH64:-1}"
SDIST_CHECK=1
while [ $# -gt 0 ]; do
    case "$1" in
        --test) TEST=1 ;;
        --no-aarch64) AARCH64=0 ;;
        --no-sdist-check) SDIST_CHECK=0 ;;
        --profile) PROFILE="${2:?--profile needs release or dev}"; shift ;;
        --out) OUT="${2:?--out needs a directory}"; shift ;;
        *) echo "dist.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
case "$PROFILE" in
    release|dev) ;;
    *) echo "dist.sh: --profile must be release or dev, got $PROFILE" >&2; exit 2 ;;
esac
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin>=1.9,<2" "ziglang>=0.13" "auditwheel>=6" "twine>=6"
export PATH="$VENV/bin:$PATH"

rm -rf "$OUT"
mkdir -p "$OUT"

elapsed() { echo "$(( $(date +%s) - $1 )) s"; }

# x86_64 and aarch64: builds with zig as the linker, glibc 2.17.
build_wheel() {
    local target="$1" start
    start=$(date +%s)
    echo "== wheel for $target"
    # --strip: without it the release profile's line tables and the symbol
    # table make the module 39 MB (a 9.6 MB wheel); only the final link changes.
    (cd "$HERE" && nice -n 19 maturin build --profile "$PROFILE" --strip --zig --compatibility manylinux2014 \
        --target "$target" --interpreter "$VENV/bin/python" --out "$OUT")
    echo "== wheel for $target built in $(elapsed "$start")"
}

build_wheel x86_64-unknown-linux-gnu
if [ "$AARCH64" = 1 ]; then
    if rustup target list --installed | grep -qx aarch64-unknown-linux-gnu ||
        rustup target add aarch64-unknown-linux-gnu; then
        build_wheel aarch64-unknown-linux-gnu
    else
        echo "dist.sh: no aarch64-unknown-linux-gnu target for rustup; skipping the aarch64 wheel" >&2
    fi
fi

echo "== sdist"
(cd "$HERE" && maturin sdist --out "$OUT")

echo "== auditwheel show"
: >"$OUT/auditwheel.txt"
for whl in "$OUT"/*.whl; do
    {
        echo "\$ auditwheel show $(basename "$whl")"
        auditwheel show "$whl"
        echo
    } | tee -a "$OUT/auditwheel.txt"
done

# What a wheel must carry: the native module, the stub, py.typed, the
# metadata with the workspace's version, license, URLs and classifiers.
echo "== wheel contents"
"$VENV/bin/python" - "$OUT" "$REPO/Cargo.toml" <<'EOF'
import pathlib, re, sys, zipfile

out, cargo = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]).read_text()
version = re.search(r'\[workspace\.package\][^\[]*?\nversion = "([^"]+)"', cargo).group(1)
repo = re.search(r'\[workspace\.package\][^\[]*?\nrepository = "([^"]+)"', cargo).group(1)
for whl in sorted(out.glob("*.whl")):
    names = zipfile.ZipFile(whl).namelist()
    meta = zipfile.ZipFile(whl).read(f"tenure-{version}.dist-info/METADATA").decode()
    need = ["tenure/__init__.py", "tenure/py.typed", "tenure/_native.pyi", "tenure/_native.abi3.so"]
    missing = [n for n in need if n not in names]
    missing += [h for h in (f"Version: {version}", "License: Apache-2.0", repo,
                            "Classifier: Typing :: Typed", "Requires-Python: >=3.9")
                if h not in meta]
    if missing:
        sys.exit(f"{whl.name}: missing {missing}")
    print(f"{whl.name}: {len(names)} files, metadata ok")
EOF

# The metadata and README as PyPI will render them (what an upload checks).
echo "== twine check --strict"
twine check --strict "$OUT"/*.whl "$OUT"/*.tar.gz

if [ "$SDIST_CHECK" = 1 ]; then
    bash "$REPO/tools/dist/check-python-sdist.sh" "$OUT"/tenure-*.tar.gz
fi

echo "== dist/python"
ls -l "$OUT"

if [ "$TEST" = 1 ]; then
    bash "$REPO/tools/dist/test-python-wheel.sh" "$(ls "$OUT"/tenure-*-manylinux*_x86_64.whl | head -n 1)"
fi
