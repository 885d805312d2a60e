#!/usr/bin/env bash
# Install test of the Node packages: what `npm install tenure` gives a user
# without Rust, on x86_64 Linux with glibc.
#
# A fresh npm project in a temporary directory, with no cargo or rustc on PATH,
# installs the packed main package and the x86_64 glibc platform package
# (tenure-<v>.tgz and tenure-linux-x64-gnu-<v>.tgz, from bindings/node/dist.sh)
# plus the test tools from the npm registry (typescript, @types/node; the
# compiled better-sqlite3 of bindings/node/node_modules is linked in when there
# is one, else it comes from the registry too). Then, in that project:
#
#   - `require('tenure')` (CommonJS) and `import ... from 'tenure'` (ESM) load
#     the installed package, and its addon from node_modules/tenure-linux-x64-gnu;
#   - tsc type-checks a CommonJS and an ESM TypeScript consumer, the binding's
#     type tests (test/types.ts) and compiles examples/node/worker.ts, all
#     against the installed .d.ts files (skipLibCheck off);
#   - the binding's test suite (a copy of bindings/node/test, and a copy of
#     examples/node that the examples test runs) runs against real `tenure dev`
#     clusters. Every Node process of the run (test files, fixtures, examples)
#     preloads a guard that fails it unless `tenure` resolves inside the
#     temporary project and every tenure addon it loaded came from there;
#   - a second project that installs only the main package (no platform
#     package) gets the loader's error naming tenure-linux-x64-gnu.
#
#   tools/dist/test-node-packages.sh [DIR] [-- node --test args]
#
# DIR holds the tarballs (default dist/node). TENURE_BIN is the server (default
# target/debug/tenure). TENURE_NODE_TEST_SQLITE=registry installs better-sqlite3
# from the registry even when bindings/node has a compiled one.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DIR="$REPO/dist/node"
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
    DIR="$1"
    shift
fi
[ "${1:-}" = "--" ] && shift
DIR="$(cd "$DIR" && pwd)"
START=$(date +%s)

say() { printf '== %s\n' "$*"; }
fail() { printf 'test-node-packages: %s\n' "$*" >&2; exit 1; }

VERSION="$(node -p 'require(process.argv[1]).version' "$REPO/bindings/node/package.json")"
MAIN_TGZ="$DIR/tenure-$VERSION.tgz"
PLAT_TGZ="$DIR/tenure-linux-x64-gnu-$VERSION.tgz"
for f in "$MAIN_TGZ" "$PLAT_TGZ"; do
    [ -f "$f" ] || fail "$f not found: run bindings/node/dist.sh first"
done

export TENURE_BIN="${TENURE_BIN:-$REPO/target/debug/tenure}"
[ -x "$TENURE_BIN" ] || fail "$TENURE_BIN not found: cargo build --workspace (or set TENURE_BIN)"
dev_version() { node -p 'require(process.argv[1]).devDependencies[process.argv[2]]' "$REPO/bindings/node/package.json" "$1"; }
TS_SPEC="typescript@$(dev_version typescript)"
TYPES_SPEC="@types/node@$(dev_version @types/node)"
SQLITE_SPEC="better-sqlite3@$(dev_version better-sqlite3)"
SQLITE_LOCAL="$REPO/bindings/node/node_modules/better-sqlite3"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tenure-node-install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
APP="$WORK/app"
mkdir -p "$APP"

# Everything from here on runs with PATH minus every directory that holds
# cargo or rustc (~/.cargo/bin, rustup's toolchains) and without cargo's and
# rustup's environment: nothing can build the addon from source.
CLEAN_PATH=""
IFS=: read -r -a path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
    [ -n "$d" ] || continue
    case "$d" in *.cargo* | *rustup*) continue ;; esac
    [ -e "$d/cargo" ] || [ -e "$d/rustc" ] && continue
    CLEAN_PATH="${CLEAN_PATH:+$CLEAN_PATH:}$d"
done
CLEAN=(env -u CARGO_HOME -u RUSTUP_HOME -u RUSTUP_TOOLCHAIN -u CARGO -u RUSTC -u CARGO_TARGET_DIR
    -u NODE_OPTIONS -u NODE_PATH "PATH=$CLEAN_PATH")
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
    CLEAN+=("npm_config_nodedir=/usr")
fi
say "a fresh project in $APP, no Rust toolchain on PATH"
"${CLEAN[@]}" bash -c '
    if command -v cargo || command -v rustc; then
        echo "test-node-packages: cargo/rustc is on PATH ($PATH)" >&2; exit 1
    fi
    command -v node >/dev/null && command -v npm >/dev/null || {
        echo "test-node-packages: node/npm not on the cleaned PATH ($PATH)" >&2; exit 1; }
    echo "cargo: not on PATH ($PATH); node $(node --version), npm $(npm --version)"'

cat >"$APP/package.json" <<'EOF'
{
  "name": "tenure-install-test",
  "version": "0.0.0",
  "private": true,
  "description": "A consumer of the packed tenure packages (tools/dist/test-node-packages.sh)"
}
EOF
npm_flags=(--no-audit --no-fund --no-update-notifier)
specs=("$MAIN_TGZ" "$PLAT_TGZ" "$TS_SPEC" "$TYPES_SPEC")
if [ "${TENURE_NODE_TEST_SQLITE:-}" = registry ] || [ ! -f "$SQLITE_LOCAL/build/Release/better_sqlite3.node" ]; then
    specs+=("$SQLITE_SPEC")
    SQLITE_FROM=registry
else
    SQLITE_FROM=checkout
fi
say "npm install $(basename "$MAIN_TGZ") $(basename "$PLAT_TGZ") ${specs[*]:2}"
(cd "$APP" && "${CLEAN[@]}" npm install "${npm_flags[@]}" "${specs[@]}")
if [ "$SQLITE_FROM" = checkout ]; then
    # A test tool only (fenced-sqlite.test.mjs): the copy bindings/node compiled.
    ln -s "$SQLITE_LOCAL" "$APP/node_modules/better-sqlite3"
    echo "better-sqlite3: linked from bindings/node/node_modules"
fi

say "what npm installed"
(cd "$APP" && "${CLEAN[@]}" node - "$APP" "$VERSION" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [app, version] = process.argv.slice(2);
const fail = (msg) => { console.error(`test-node-packages: ${msg}`); process.exit(1); };
const modules = fs.realpathSync(path.join(app, 'node_modules'));
const resolved = fs.realpathSync(require.resolve('tenure'));
if (!resolved.startsWith(path.join(modules, 'tenure') + path.sep)) fail(`require.resolve('tenure') is ${resolved}, outside ${app}`);
const pkg = require('tenure/package.json');
if (pkg.version !== version) fail(`installed tenure ${pkg.version}, expected ${version}`);
for (const s of ['preinstall', 'install', 'postinstall']) if (pkg.scripts?.[s]) fail(`tenure has a ${s} script`);
const nodeFiles = fs.readdirSync(path.join(modules, 'tenure')).filter((f) => f.endsWith('.node'));
if (nodeFiles.length) fail(`the main package holds ${nodeFiles}`);
const lock = require(path.join(app, 'package-lock.json'));
for (const [where, entry] of Object.entries(lock.packages)) {
  if (entry.hasInstallScript && /node_modules\/tenure/.test(where)) fail(`${where} has an install script`);
}
const plat = require('tenure-linux-x64-gnu/package.json');
if (plat.version !== version) fail(`tenure-linux-x64-gnu ${plat.version}, expected ${version}`);
console.log(`tenure ${pkg.version} at ${path.dirname(resolved)}`);
console.log(`tenure-linux-x64-gnu ${plat.version} at ${path.dirname(require.resolve('tenure-linux-x64-gnu/package.json'))}`);
EOF
)

# The guard every Node process of the test run preloads (NODE_OPTIONS).
cat >"$WORK/guard.mjs" <<EOF
// Fails the process unless 'tenure' is the package installed in the project.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const modules = fs.realpathSync(${APP@Q} + '/node_modules');
const require = createRequire(process.cwd() + '/');
let resolved = null;
try {
  resolved = fs.realpathSync(require.resolve('tenure'));
} catch {}
if (resolved !== null && !resolved.startsWith(path.join(modules, 'tenure') + path.sep)) {
  console.error(\`install-test guard: require.resolve('tenure') from \${process.cwd()} is \${resolved}, not inside \${modules}\`);
  process.exit(70);
}
process.on('exit', () => {
  const addons = Object.keys(createRequire(import.meta.url).cache).filter((f) => /tenure[^/]*\.node$/.test(f));
  const wrong = addons.filter((f) => !fs.realpathSync(f).startsWith(path.join(modules, 'tenure-linux-x64-gnu') + path.sep));
  if (wrong.length) {
    console.error(\`install-test guard: tenure addon loaded from \${wrong.join(', ')}, not from \${modules}/tenure-linux-x64-gnu\`);
    process.exitCode = 70;
  }
});
EOF

say "CommonJS require('tenure') and ESM import"
(cd "$APP" && "${CLEAN[@]}" node -e '
  const tenure = require("tenure");
  const assert = require("node:assert/strict");
  assert.equal(typeof tenure.Client.connect, "function");
  assert.equal(tenure.FENCE_HEADER, "tenure-fence");
  const f = new tenure.Fence("jobs/a", 7n);
  assert.equal(f.headerValue(), "jobs/a=7");
  const addon = Object.keys(require.cache).find((k) => k.endsWith(".node"));
  assert.ok(addon.includes("/node_modules/tenure-linux-x64-gnu/"), addon);
  console.log(`cjs: ${Object.keys(tenure).length} exports, addon ${addon}`);
')
(cd "$APP" && "${CLEAN[@]}" node --input-type=module -e '
  import assert from "node:assert/strict";
  import tenure, { Client, Fence, LockHeldError, TenureError, ErrorCode } from "tenure";
  import * as ns from "tenure";
  assert.equal(typeof Client.connect, "function");
  assert.equal(tenure.Client, Client);
  assert.equal(ns.Client, Client);
  assert.ok(new LockHeldError("x") instanceof TenureError);
  assert.equal(ErrorCode.LOCK_HELD, "LOCK_HELD");
  assert.equal(Fence.parse("jobs/a=7").token, 7n);
  const url = import.meta.resolve("tenure");
  assert.match(url, /\/node_modules\/tenure\/index\.mjs$/);
  console.log(`esm: ${Object.keys(ns).length} exports from ${url}`);
')

say "TypeScript consumers against the installed .d.ts (tsc, skipLibCheck off)"
mkdir -p "$APP/ts" "$APP/examples"
cat >"$APP/ts/consumer.mts" <<'EOF'
import { Client, Fence, LockHeldError, type ClientOptions, type Lock } from 'tenure';

const options: ClientOptions = { ttlMs: 10_000, label: 'consumer' };
export async function once(endpoints: string): Promise<bigint | null> {
  const client = await Client.connect(endpoints, options);
  try {
    const lock: Lock = await client.tryLock('ts/consumer');
    const fence: Fence = lock.fence;
    await lock.release();
    return fence.token;
  } catch (e) {
    if (e instanceof LockHeldError) return null;
    throw e;
  } finally {
    await client.close();
  }
}
EOF
cat >"$APP/ts/consumer.cts" <<'EOF'
import tenure = require('tenure');

export function header(lock: string, token: bigint): string {
  return new tenure.Fence(lock, token).headerValue();
}
// @ts-expect-error: a fencing token is a bigint
header('a', 1);
EOF
cat >"$APP/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    "lib": ["ES2023", "ESNext.Disposable"],
    "types": ["node"],
    "strict": true,
    "noEmit": true,
    "skipLibCheck": false
  },
  "files": ["ts/consumer.mts", "ts/consumer.cts", "test/types.ts"]
}
EOF
cp -r "$REPO/bindings/node/test" "$APP/test"
rm -rf "$APP/test/.tmp"
cp "$REPO"/examples/node/*.mjs "$REPO"/examples/node/*.ts "$APP/examples/"
echo '{ "private": true, "type": "module" }' >"$APP/examples/package.json"
# The examples' own tsconfig, minus the typeRoots that point into the checkout.
node -e '
  const fs = require("node:fs");
  const [from, to] = process.argv.slice(1);
  const c = JSON.parse(fs.readFileSync(from, "utf8"));
  delete c.compilerOptions.typeRoots;
  fs.writeFileSync(to, JSON.stringify(c, null, 2));
' "$REPO/examples/node/tsconfig.json" "$APP/examples/tsconfig.json"
(cd "$APP" && "${CLEAN[@]}" node_modules/.bin/tsc -p tsconfig.json)
(cd "$APP/examples" && "${CLEAN[@]}" ../node_modules/.bin/tsc -p tsconfig.json)
echo "tsc: ts/consumer.mts, ts/consumer.cts, test/types.ts, examples/worker.ts -> examples/dist/worker.js"

say "without the platform package: the loader names it"
mkdir -p "$WORK/bare"
echo '{ "name": "tenure-bare", "version": "0.0.0", "private": true }' >"$WORK/bare/package.json"
(cd "$WORK/bare" && "${CLEAN[@]}" npm install "${npm_flags[@]}" --loglevel=error "$MAIN_TGZ")
(cd "$WORK/bare" && "${CLEAN[@]}" node -e '
  const assert = require("node:assert/strict");
  assert.throws(() => require("tenure"), (e) => {
    assert.equal(e.code, "TENURE_ADDON_NOT_FOUND");
    assert.match(e.message, /tenure-linux-x64-gnu@/);
    console.log(`error: ${e.message}`);
    return true;
  });
')

say "node --test (a copy of bindings/node/test in $APP, tenure from its node_modules)"
cd "$APP"
set +e
"${CLEAN[@]}" "NODE_OPTIONS=--import=$WORK/guard.mjs" "TENURE_REPO_ROOT=$REPO" \
    "TENURE_NODE_EXAMPLES=$APP/examples" \
    node --test --test-concurrency=1 "$@" test/*.test.mjs
rc=$?
set -e
[ "$rc" = 0 ] || fail "the test suite failed (exit $rc)"
say "test-node-packages passed in $(( $(date +%s) - START )) s"
