#!/usr/bin/env bash
# Builds the Node packages as they are published (main package + the x86_64
# glibc platform package, bindings/node/dist.sh), type-checks, and runs the
# binding's tests from a fresh npm project that installed the packed tarballs
# without a Rust toolchain on PATH (tools/dist/test-node-packages.sh), against
# real `tenure dev` clusters. Runnable from any directory.
#
# Assumes `cargo build --workspace` already ran (target/debug/tenure exists),
# or TENURE_BIN points at a tenure binary. Installs everything else it needs
# from the npm registry (npm ci with the committed package-lock.json).
#
# Environment:
#   TENURE_BIN            the server binary (default <repo>/target/debug/tenure)
#   TENURE_NODE_PROFILE   cargo profile of the addon: dev (default here; it
#                         reuses the warm target/x86_64-unknown-linux-gnu/debug)
#                         or release
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
examples="$root/examples/node"
packed="${CARGO_TARGET_DIR:-$root/target}/dist-ci/node"
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

profile="${TENURE_NODE_PROFILE:-dev}"
[[ "$profile" == debug ]] && profile=dev
# better-sqlite3 (a test dependency) compiles from source when no prebuilt
# binary can be downloaded; node-gyp then needs the Node headers, which the
# machine's Node package ships under /usr/include/node.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node.h ]]; then
  export npm_config_nodedir=/usr
fi
npm_flags=(--no-audit --no-fund --foreground-scripts)

echo "== npm install in bindings/node (the build and test tools: @napi-rs/cli, typescript, typedoc, better-sqlite3)"
cd "$here"
if [[ -d node_modules ]]; then
  npm install "${npm_flags[@]}"
else
  npm ci "${npm_flags[@]}"
fi

echo "== build the x86_64 glibc addon ($profile) and pack the packages (dist.sh --no-cross)"
bash "$here/dist.sh" --no-cross --host-linker --profile "$profile" --out "$packed"
# The same addon as the checkout's local build, which native.js falls back to
# (examples/node below installs this folder). Taken from scripts/build.js's
# output directory, which only this profile's x86_64 build writes.
cp "${CARGO_TARGET_DIR:-$root/target}/node-addon/x86_64-unknown-linux-gnu-$profile/tenure.linux-x64-gnu.node" "$here/"

echo "== examples/node: install the package folder (npm install), type-check and compile worker.ts"
cd "$examples"
npm install "${npm_flags[@]}"
node -e "const t = require('tenure'); if (typeof t.Client !== 'function') process.exit(1)"
cd "$here"
node_modules/.bin/tsc -p tsconfig.json
node_modules/.bin/tsc -p "$examples/tsconfig.json"

echo "== install test: the packed tarballs in a fresh project, the test suite from there"
bash "$root/tools/dist/test-node-packages.sh" "$packed"

echo "== bindings/node/test.sh passed in $(( $(date +%s) - start )) s"
