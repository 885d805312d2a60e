#!/usr/bin/env bash
# Builds the WebAssembly package into bindings/wasm/pkg: the crate for
# wasm32-unknown-unknown, then wasm-bindgen --target web (an ES module that
# loads in browsers, Workers, Node and Deno; index.js is the public entry).
#
# wasm-bindgen-cli must match the wasm-bindgen crate (0.2.130): it is installed
# once with cargo into <repo>/target/wasm-tools. (wasm-pack would download the
# same tool from GitHub, which is not reachable from every build machine.)
#
# Usage: build.sh [--release | --debug]   (default: release; TENURE_WASM_PROFILE too)
# A release build prints the size of the .wasm, raw and gzip.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
profile="${TENURE_WASM_PROFILE:-release}"
case "${1:-}" in
  --release) profile=release ;;
  --debug) profile=debug ;;
  "") ;;
  *) echo "usage: build.sh [--release | --debug]" >&2; exit 2 ;;
esac

bindgen_version=0.2.130
tools="$root/target/wasm-tools"
bindgen="$tools/bin/wasm-bindgen"
cargo=(cargo)
command -v nice >/dev/null && cargo=(nice -n 19 cargo)

if ! "$bindgen" --version 2>/dev/null | grep -qF "$bindgen_version"; then
  echo "== installing wasm-bindgen-cli $bindgen_version into $tools"
  # --locked pins the tool's own dependencies; a registry mirror that lacks one
  # of those exact versions gets the newest compatible ones instead.
  "${cargo[@]}" install wasm-bindgen-cli --version "$bindgen_version" --root "$tools" --locked ||
    "${cargo[@]}" install wasm-bindgen-cli --version "$bindgen_version" --root "$tools"
fi

# rust-toolchain.toml names the target; older rustup versions need it added.
if command -v rustup >/dev/null && ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

cd "$root"
if [[ "$profile" == release ]]; then
  # Cargo.toml's wasm-release profile: opt-level s, LTO, one codegen unit.
  "${cargo[@]}" build -p tenure-wasm --target wasm32-unknown-unknown --profile wasm-release
  dir=wasm-release
else
  "${cargo[@]}" build -p tenure-wasm --target wasm32-unknown-unknown
  dir=debug
fi

rm -rf "$here/pkg"
"$bindgen" --target web --out-dir "$here/pkg" --out-name tenure_wasm \
  "$root/target/wasm32-unknown-unknown/$dir/tenure_wasm.wasm"
# wasm-opt (binaryen), when installed, shrinks a release build further.
if [[ "$profile" == release ]] && command -v wasm-opt >/dev/null; then
  wasm-opt -Os --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-reference-types --enable-mutable-globals \
    -o "$here/pkg/tenure_wasm_bg.wasm" "$here/pkg/tenure_wasm_bg.wasm"
fi
echo "$profile" > "$here/pkg/PROFILE"

wasm="$here/pkg/tenure_wasm_bg.wasm"
raw=$(stat -c %s "$wasm")
gz=$(gzip -9 -c "$wasm" | wc -c)
echo "== bindings/wasm/pkg built ($profile): tenure_wasm_bg.wasm $raw bytes, $gz bytes gzip -9"
