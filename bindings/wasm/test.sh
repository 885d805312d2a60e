#!/usr/bin/env bash
# Builds the WebAssembly package and tests it, stopping at the first failure:
# clippy for wasm32, the package (build.sh), the TypeScript declarations
# (tsc), then `node --test`: the client in Node against real `tenure dev
# --web` and `tenure server --web-origin` clusters, in Deno (the `deno`
# binary from npm), and the web demo (examples/web) in a real headless
# Chromium (playwright-core driving Debian's chromium), a module Worker
# included. Runnable from any directory.
#
# Assumes `cargo build --workspace` already ran (target/debug/tenure exists),
# or TENURE_BIN points at a tenure binary. Installs what else it needs: npm
# packages (npm ci with the committed package-lock.json), wasm-bindgen-cli
# (build.sh, with cargo), and when run as root without /usr/bin/chromium,
# Debian's chromium package.
#
# Environment:
#   TENURE_BIN            the server binary (default <repo>/target/debug/tenure)
#   TENURE_WASM_PROFILE   debug (default here: faster to build) or release
#   CHROMIUM              the browser (default /usr/bin/chromium)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
start=$(date +%s)

export TENURE_BIN="${TENURE_BIN:-$root/target/debug/tenure}"
if [[ ! -x "$TENURE_BIN" ]]; then
  echo "test.sh: $TENURE_BIN not found; run 'cargo build --workspace' in $root first" >&2
  exit 1
fi
for tool in node npm cargo; do
  command -v "$tool" >/dev/null || { echo "test.sh: $tool is required" >&2; exit 1; }
done
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if (( node_major < 20 )); then
  echo "test.sh: Node 20 or newer is required (found $(node --version))" >&2
  exit 1
fi
cargo=(cargo)
command -v nice >/dev/null && cargo=(nice -n 19 cargo)

# rust-toolchain.toml names the target; older rustup versions need it added.
if command -v rustup >/dev/null && ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
echo "== clippy for wasm32 (-D warnings)"
(cd "$root" && "${cargo[@]}" clippy -p tenure-wasm --target wasm32-unknown-unknown -- -D warnings)

echo "== build the package (bindings/wasm/build.sh)"
export TENURE_WASM_PROFILE="${TENURE_WASM_PROFILE:-debug}"
bash "$here/build.sh"

echo "== npm install in bindings/wasm (playwright-core, typescript, deno)"
cd "$here"
npm_flags=(--no-audit --no-fund)
if [[ -d node_modules ]]; then
  npm install "${npm_flags[@]}"
else
  npm ci "${npm_flags[@]}"
fi

echo "== type-check (tsc: index.d.ts, the generated pkg/tenure_wasm.d.ts, test/types.ts)"
node_modules/.bin/tsc -p tsconfig.json

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
    echo "== apt-get install chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
  fi
  [[ -x "$CHROMIUM" ]] || { echo "test.sh: $CHROMIUM not found (apt-get install chromium, or set CHROMIUM)" >&2; exit 1; }
fi

echo "== node --test (Node, Deno, then Chromium: page and Worker)"
node --test --test-concurrency=1 test/lock.test.mjs test/watch.test.mjs test/admin.test.mjs test/errors.test.mjs test/gc.test.mjs test/deno.test.mjs test/browser.test.mjs

echo "== bindings/wasm/test.sh passed in $(( $(date +%s) - start )) s"
