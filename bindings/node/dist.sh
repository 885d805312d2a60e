#!/usr/bin/env bash
# The Node release artifacts, into dist/node/: `npm pack` of every package that
# `npm install tenure` can fetch.
#
#   tenure-<v>.tgz                   the main package: JS wrapper (CJS index.js,
#                                    ESM index.mjs), loader (native.js), types;
#                                    no install script, no .node file
#   tenure-linux-x64-gnu-<v>.tgz     the addon for x86_64 glibc (2.17 or newer)
#   tenure-linux-arm64-gnu-<v>.tgz   the addon for aarch64 glibc (2.17 or newer)
#   tenure-linux-x64-musl-<v>.tgz    the addon for x86_64 musl (Alpine)
#   addons.txt                       what each addon needs (readelf, objdump -T)
#   SHA256SUMS                       sha256sum -c SHA256SUMS
#
# The main package's optionalDependencies name the three platform packages at
# exactly its own version; npm installs the one whose os/cpu/libc match, and
# native.js loads it. The addons are built with @napi-rs/cli (scripts/build.js)
# and linked with zig through cargo-zigbuild: the gnu ones against glibc 2.17
# (zig's x86_64-unknown-linux-gnu.2.17, as the Python wheels), so they load on
# old distributions, the musl one as a dynamic musl object (-crt-static) as
# Node on Alpine needs; aarch64 is cross-compiled the same way.
#
# Checks, before anything is written to the output directory: each addon is an
# ELF shared object for the right machine; a gnu addon needs no glibc symbol
# version newer than 2.17 (objdump -T); the musl addon references no glibc
# symbol version and no glibc library, and needs musl's libc (readelf -d), and
# when musl's dynamic linker is installed it resolves everything but napi_*; the
# x86_64 gnu addon loads in this Node; each tarball holds exactly the expected
# files, with the project's version everywhere and no install script.
#
#   bindings/node/dist.sh [--no-cross] [--profile release|dev] [--host-linker]
#                         [--out DIR] [--test]
#
#   --no-cross      only the x86_64 glibc addon (also TENURE_DIST_CROSS=0); the
#                   main package still names all three platform packages
#   --profile P     cargo profile of the addons: release (default, what is
#                   published; stripped, no debug info) or dev (CI speed: the
#                   same packaging, unoptimised code; also TENURE_DIST_PROFILE)
#   --host-linker   build the x86_64 glibc addon with the host's toolchain
#                   instead of zig (no glibc 2.17 pin: the addon needs the
#                   build machine's glibc; what CI's test run uses, it reuses the
#                   warm target/x86_64-unknown-linux-gnu/debug). With
#                   --no-cross, no zig and no cargo-zigbuild are needed at all
#   --out DIR       where the tarballs go (default dist/node; CI packs its dev
#                   build elsewhere so dist/ only holds release builds)
#   --test          then run the install test (tools/dist/test-node-packages.sh)
#                   on the main and x86_64 glibc tarballs
#
# Needs: node 20+, npm, cargo/rustup, python3 (3.9+), readelf, objdump.
# @napi-rs/cli comes from bindings/node's package-lock.json (npm ci when
# missing). ziglang is installed into target/dist-tools/venv and cargo-zigbuild
# into target/dist-tools/bin on first use (target/ is CARGO_TARGET_DIR when
# set). Builds run under nice.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
TOOLS="$TARGET_DIR/dist-tools"
OUT="$REPO/dist/node"
PROFILE="${TENURE_DIST_PROFILE:-release}"
CROSS="${TENURE_DIST_CROSS:-1}"
HOST_LINKER=0
TEST=0
GLIBC_MAX=2.17

while [ $# -gt 0 ]; do
    case "$1" in
        --no-cross) CROSS=0 ;;
        --profile) PROFILE="${2:?--profile needs release or dev}"; shift ;;
        --host-linker) HOST_LINKER=1 ;;
        --out) OUT="${2:?--out needs a directory}"; shift ;;
        --test) TEST=1 ;;
        *) echo "dist.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
case "$PROFILE" in
    release|dev) ;;
    debug) PROFILE=dev ;;
    *) echo "dist.sh: --profile must be release or dev, got $PROFILE" >&2; exit 2 ;;
esac
mkdir -p "$(dirname "$OUT")"
OUT="$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")"

say() { printf '== %s\n' "$*"; }
fail() { printf 'dist.sh: %s\n' "$*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }
for tool in node npm cargo readelf objdump sha256sum tar; do
    command -v "$tool" >/dev/null || fail "needs $tool"
done
START=$(date +%s)

# --- version ---------------------------------------------------------------
VERSION="$("$PYTHON" - "$REPO/Cargo.toml" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print(tomllib.load(f)["workspace"]["package"]["version"])
EOF
)"
[ -n "$VERSION" ] || fail "no [workspace.package] version in Cargo.toml"
say "tenure $VERSION, profile $PROFILE"

# target triple (as given to napi build) | platform | readelf machine | libc
TARGETS=()
if [ "$HOST_LINKER" = 1 ]; then
    TARGETS+=("x86_64-unknown-linux-gnu|linux-x64-gnu|X86-64|gnu-host")
else
    TARGETS+=("x86_64-unknown-linux-gnu.$GLIBC_MAX|linux-x64-gnu|X86-64|gnu")
fi
if [ "$CROSS" != 0 ]; then
    TARGETS+=("aarch64-unknown-linux-gnu.$GLIBC_MAX|linux-arm64-gnu|AArch64|gnu")
    TARGETS+=("x86_64-unknown-linux-musl|linux-x64-musl|X86-64|musl")
fi

# --- tools -----------------------------------------------------------------
cd "$HERE"
if [ ! -f node_modules/@napi-rs/cli/package.json ]; then
    say "npm ci in bindings/node (@napi-rs/cli)"
    if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
        export npm_config_nodedir=/usr
    fi
    npm ci --no-audit --no-fund
fi
NEED_ZIG=0
for spec in "${TARGETS[@]}"; do
    [ "$(echo "$spec" | cut -d'|' -f4)" = gnu-host ] || NEED_ZIG=1
done
if [ "$NEED_ZIG" = 1 ]; then
    # shellcheck source=../../tools/dist/zig-tools.sh
    . "$REPO/tools/dist/zig-tools.sh"
    zig_tools "$TOOLS"
    rustup_targets=()
    for spec in "${TARGETS[@]}"; do
        rustup_targets+=("$(echo "$spec" | cut -d'|' -f1 | cut -d. -f1)")
    done
    rustup target add "${rustup_targets[@]}" >/dev/null
fi

# --- build -----------------------------------------------------------------
# Each addon is copied into the staging directory as soon as it is built, and
# everything after works on that copy (a later build in the checkout, such as
# test.sh's, cannot swap it).
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/tenure-dist-node.XXXXXX")"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/addons" "$STAGE/out"
declare -A BUILD_TIME
for spec in "${TARGETS[@]}"; do
    IFS='|' read -r triple platform _machine libc <<<"$spec"
    start=$(date +%s)
    say "building npm/$platform ($triple, $PROFILE)"
    zig=(--zig)
    [ "$libc" = gnu-host ] && zig=()
    nice -n 19 node scripts/build.js --target "$triple" --profile "$PROFILE" "${zig[@]}" --no-local --check-dts
    # From build.js's own output directory (a concurrent build in the checkout
    # may rewrite npm/$platform/ meanwhile).
    cp "$TARGET_DIR/node-addon/$triple-$PROFILE/tenure.$platform.node" "$STAGE/addons/"
    BUILD_TIME[$platform]="$(elapsed "$start")"
    say "built $platform in ${BUILD_TIME[$platform]}"
done

# --- addon checks ----------------------------------------------------------
REPORT="$STAGE/addons.txt"
: >"$REPORT"

version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n 1)" = "$1" ]; }

for spec in "${TARGETS[@]}"; do
    IFS='|' read -r triple platform machine libc <<<"$spec"
    addon="$STAGE/addons/tenure.$platform.node"
    say "checking tenure.$platform.node"
    [ -f "$addon" ] || fail "$addon was not built"
    readelf -h "$addon" | grep -q 'Type:[[:space:]]*DYN' || fail "$addon is not a shared object"
    readelf -h "$addon" | grep -q "Machine:.*$machine\$" \
        || fail "$addon: machine is not $machine: $(readelf -h "$addon" | grep Machine:)"
    needed="$(readelf -d "$addon" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
    glibc_versions="$(objdump -T "$addon" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -u -V | tr '\n' ' ' || true)"
    newest="$(echo "$glibc_versions" | tr ' ' '\n' | sed -n 's/^GLIBC_//p' | sort -V | tail -n 1)"
    case "$libc" in
        gnu|gnu-host)
            [ -n "$newest" ] || fail "$addon references no glibc symbol version (not a glibc object?)"
            if [ "$libc" = gnu ] && ! version_le "$newest" "$GLIBC_MAX"; then
                fail "$addon needs GLIBC_$newest, newer than the $GLIBC_MAX it targets: $glibc_versions"
            fi
            ;;
        musl)
            [ -z "$glibc_versions" ] || fail "$addon references glibc symbol versions: $glibc_versions"
            case " $needed " in
                *" libc.so.6 "* | *" ld-linux"* | *" libpthread.so.0 "* | *" libm.so.6 "* | *" libdl.so.2 "*)
                    fail "$addon needs a glibc library: $needed" ;;
            esac
            case " $needed " in
                *" libc.so "* | *" libc.musl-"*) ;;
                *) fail "$addon does not need musl's libc (NEEDED: $needed)" ;;
            esac
            # With musl's dynamic linker installed (Debian: apt-get install musl),
            # resolve it as Node on Alpine would: libc.so is musl itself, and only
            # the napi_* symbols (from the node executable) may stay unresolved.
            ldmusl="/lib/ld-musl-$(case "$machine" in X86-64) echo x86_64 ;; AArch64) echo aarch64 ;; esac).so.1"
            if [ -x "$ldmusl" ]; then
                unresolved="$("$ldmusl" --list "$addon" 2>&1 | grep 'symbol not found' || true)"
                others="$(echo "$unresolved" | grep -v ': napi_[a-z_0-9]*: symbol not found' | grep . || true)"
                [ -z "$others" ] || fail "$addon: musl cannot resolve: $others"
                echo "   $ldmusl --list: libc.so is musl; unresolved only napi_* ($(echo "$unresolved" | grep -c .) symbols, from node)"
            fi
            ;;
    esac
    {
        echo "tenure.$platform.node ($triple, $PROFILE)"
        echo "  size:     $(stat -c %s "$addon") bytes"
        echo "  file:     $(file -b "$addon" 2>/dev/null || echo '?')"
        echo "  NEEDED:   $needed"
        echo "  glibc:    ${glibc_versions:-none}${newest:+ (newest GLIBC_$newest)}"
        echo "  built in: ${BUILD_TIME[$platform]}"
        echo
    } | tee -a "$REPORT"
done

# The x86_64 glibc addon loads in this Node and exposes the core's lists.
node -e '
  const addon = require(process.argv[1]);
  const kinds = addon.errorKinds();
  if (!Array.isArray(kinds) || kinds.length === 0 || typeof addon.connect !== "function") {
    throw new Error("the addon does not export the expected API");
  }
  console.log(`   loads in node ${process.version}: ${kinds.length} error kinds`);
' "$STAGE/addons/tenure.linux-x64-gnu.node"

# --- packages --------------------------------------------------------------
# Each package is packed from a staged copy with the repository's LICENSE
# added (npm pack takes LICENSE from the package directory).
pack() {
    local dir="$1" name stage
    name="$(node -p 'require(process.argv[1]).name' "$dir/package.json")"
    stage="$STAGE/pkg/$name"
    mkdir -p "$stage"
    cp "$dir/package.json" "$dir/README.md" "$REPO/LICENSE" "$stage/"
    for f in $(node -p 'require(process.argv[1]).files.join(" ")' "$dir/package.json"); do
        if [ -f "$STAGE/addons/$f" ]; then
            cp "$STAGE/addons/$f" "$stage/$f"
        else
            cp "$dir/$f" "$stage/$f"
        fi
    done
    (cd "$stage" && npm pack --silent --pack-destination "$STAGE/out" >/dev/null)
    [ -f "$STAGE/out/$name-$VERSION.tgz" ] || fail "npm pack of $name made no $name-$VERSION.tgz"
}

say "npm pack"
pack "$HERE"
for spec in "${TARGETS[@]}"; do
    IFS='|' read -r _ platform _ _ <<<"$spec"
    pack "$HERE/npm/$platform"
done

# What each tarball must hold, and the metadata npm will publish.
node - "$STAGE/out" "$VERSION" <<'EOF'
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const [out, version] = process.argv.slice(2);
const platforms = ['linux-x64-gnu', 'linux-arm64-gnu', 'linux-x64-musl'];
const fail = (msg) => { console.error(`dist.sh: ${msg}`); process.exit(1); };
for (const tgz of fs.readdirSync(out).filter((f) => f.endsWith('.tgz')).sort()) {
  const file = path.join(out, tgz);
  const files = execFileSync('tar', ['tzf', file], { encoding: 'utf8' }).trim().split('\n').sort();
  const pkg = JSON.parse(execFileSync('tar', ['xzOf', file, 'package/package.json'], { encoding: 'utf8' }));
  const main = pkg.name === 'tenure';
  const platform = main ? null : pkg.name.replace(/^tenure-/, '');
  const want = (main
    ? ['index.js', 'index.mjs', 'index.d.ts', 'native.js', 'native.d.ts']
    : [`tenure.${platform}.node`]
  ).concat(['LICENSE', 'README.md', 'package.json']).map((f) => `package/${f}`).sort();
  if (JSON.stringify(files) !== JSON.stringify(want)) fail(`${tgz} holds ${files.join(', ')}; expected ${want.join(', ')}`);
  if (pkg.version !== version) fail(`${tgz}: version ${pkg.version}, not ${version}`);
  for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) {
    if (pkg.scripts?.[s]) fail(`${tgz}: has a ${s} script`);
  }
  for (const field of ['license', 'repository', 'homepage', 'engines']) {
    if (!pkg[field]) fail(`${tgz}: no ${field}`);
  }
  if (main) {
    if (pkg.dependencies && Object.keys(pkg.dependencies).length) fail(`${tgz}: has dependencies ${Object.keys(pkg.dependencies)}`);
    const opt = pkg.optionalDependencies ?? {};
    const wantOpt = Object.fromEntries(platforms.map((p) => [`tenure-${p}`, version]));
    for (const [name, v] of Object.entries(wantOpt)) {
      if (opt[name] !== v) fail(`${tgz}: optionalDependencies.${name} is ${opt[name]}, not ${v}`);
    }
    if (Object.keys(opt).length !== platforms.length) fail(`${tgz}: optionalDependencies ${Object.keys(opt)}`);
  } else {
    if (pkg.main !== `tenure.${platform}.node`) fail(`${tgz}: main is ${pkg.main}`);
    if (!pkg.os?.length || !pkg.cpu?.length || !pkg.libc?.length) fail(`${tgz}: os/cpu/libc missing`);
  }
  console.log(`   ${tgz}: ${files.length} files, metadata ok`);
}
EOF

rm -rf "$OUT"
mkdir -p "$OUT"
cp "$STAGE"/out/*.tgz "$REPORT" "$OUT/"
(cd "$OUT" && sha256sum -- *.tgz >SHA256SUMS)

say "$OUT ($(elapsed "$START"))"
ls -l "$OUT"

if [ "$TEST" = 1 ]; then
    bash "$REPO/tools/dist/test-node-packages.sh" "$OUT"
fi
