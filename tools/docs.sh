#!/usr/bin/env bash
# API documentation of every language, generated from the code into target/docs/:
#   rust/    rustdoc of the core (crate `tenure`), warnings are errors
#   python/  pdoc of the `tenure` package (docstrings and the typed .pyi stubs)
#   node/    TypeDoc of the package's declarations (index.d.ts)
#   kotlin/  Dokka (Maven plugin) of the Kotlin API and the generated layers
# Reuses what `make test-python`, `test-node` and `test-kotlin` left behind (the
# venv, node_modules, the generated Kotlin sources) and builds what is missing.
# CI builds the docs (make test) and checks nothing else about them.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
out="$root/target/docs"
start=$(date +%s)
log() { echo "[docs +$(( $(date +%s) - start ))s] $*" >&2; }
rm -rf "$out"
mkdir -p "$out"

log "rustdoc (core)"
(cd "$root" && RUSTDOCFLAGS="-D warnings" cargo doc -q -p tenure --no-deps)
cp -r "$target/doc" "$out/rust"

log "pdoc (python)"
venv="${TENURE_PY_VENV:-$root/bindings/python/.venv}"
if ! "$venv/bin/python" -c "import tenure" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "maturin>=1.9,<2"
    dist="$(mktemp -d)"
    (cd "$root/bindings/python" && "$venv/bin/maturin" build --profile dev --interpreter "$venv/bin/python" --out "$dist")
    "$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps "$dist"/tenure-*.whl
    rm -rf "$dist"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check "pdoc==16.0.0"
"$venv/bin/pdoc" -o "$out/python" tenure

log "TypeDoc (node)"
cd "$root/bindings/node"
if [[ ! -x node_modules/.bin/typedoc || ! -f native.d.ts ]]; then
    TENURE_NODE_PROFILE=debug npm ci --no-audit --no-fund
fi
node_modules/.bin/typedoc --entryPoints index.d.ts --tsconfig tsconfig.json --out "$out/node" --logLevel Error

log "Dokka (kotlin)"
cd "$root/bindings/kotlin"
if [[ ! -d build/generated/kotlin/dev/tenure/ffi ]]; then
    (cd "$root" && cargo build -q --workspace)
    mkdir -p build/generated/kotlin
    "$target/debug/uniffi-bindgen" generate --library "$target/debug/libtenure_ffi.so" \
        --language kotlin --out-dir build/generated/kotlin --no-format >/dev/null
fi
mvn -B -q -Dstyle.color=never dokka:dokka
cp -r target/dokka "$out/kotlin"

for lang in rust python node kotlin; do
    [[ -n "$(ls -A "$out/$lang" 2>/dev/null)" ]] || { log "no $lang docs were made"; exit 1; }
done
log "docs in $out: rust, python, node, kotlin"
