#!/usr/bin/env bash
# Builds the Node binding from source, installs it, type-checks, and runs its
# tests against real `tenure dev` clusters. Runnable from any directory.
#
# Assumes `cargo build --workspace` already ran (target/debug/tenure exists),
# or TENURE_BIN points at a tenure binary. Installs everything else it needs
# from the npm registry (npm install with the committed package-lock.json).
#
# Environment:
#   TENURE_BIN            the server binary (default <repo>/target/debug/tenure)
#   TENURE_NODE_PROFILE   cargo profile of the addon: debug (default here) or release
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
examples="$root/examples/node"
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

# Debug builds reuse more of the warm workspace target; consumers get release.
export TENURE_NODE_PROFILE="${TENURE_NODE_PROFILE:-debug}"
# better-sqlite3 (a test dependency) compiles from source when no prebuilt
# binary can be downloaded; node-gyp then needs the Node headers, which the
# machine's Node package ships under /usr/include/node.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node.h ]]; then
  export npm_config_nodedir=/usr
fi
npm_flags=(--no-audit --no-fund --foreground-scripts)

echo "== npm install in bindings/node (dependencies, then the addon via the install script)"
cd "$here"
if [[ -d node_modules ]]; then
  npm install "${npm_flags[@]}"
else
  npm ci "${npm_flags[@]}"
fi
[[ -f native.js && -n "$(ls tenure.*.node 2>/dev/null)" ]] || { echo "test.sh: the addon was not built" >&2; exit 1; }

echo "== install the package into examples/node (as a consumer would: npm install of the folder)"
cd "$examples"
# The addon was just built by the install above; the linked package's install
# script would only rebuild the same thing.
TENURE_NODE_SKIP_BUILD=1 npm install "${npm_flags[@]}"
node -e "require.resolve('tenure')" >/dev/null

echo "== type-check (tsc --noEmit) and compile the TypeScript example"
cd "$here"
node_modules/.bin/tsc -p tsconfig.json
node_modules/.bin/tsc -p "$examples/tsconfig.json"

echo "== node --test"
node --test --test-concurrency=1 test/*.test.mjs

echo "== bindings/node/test.sh passed in $(( $(date +%s) - start )) s"
