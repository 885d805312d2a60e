#!/usr/bin/env bash
# Every release artifact into dist/, in order; the first step that fails stops it:
#
#   python   bindings/python/dist.sh --test   wheels + sdist, install-tested   dist/python
#   node     bindings/node/dist.sh                                              dist/node
#   kotlin   bindings/kotlin/dist.sh                                            dist/jvm
#   server   tools/dist/server.sh             static musl tarballs, smoke-tested dist/server
#   crates   cargo publish --dry-run -p tenure-proto -p tenure, the .crate files  dist/crates
#
# A step whose script does not exist (yet) is skipped and said so. Then
# dist/SHA256SUMS over every file the steps that ran wrote into their
# directories (paths relative to dist/; verify with `cd dist && sha256sum -c
# SHA256SUMS`) and a table of the artifacts with their sizes. Other files under
# dist/ (left from an earlier run of a step that was skipped) are listed as not
# from this run and left out of SHA256SUMS.
#
#   tools/dist/all.sh
#
#   TENURE_DIST_AARCH64=0          no aarch64 artifacts (the Python, Kotlin and
#                                  server steps read it; for Node it sets
#                                  TENURE_DIST_CROSS=0, which also leaves out
#                                  the x86_64 musl addon)
#   TENURE_DIST_SKIP="python node" skip these steps (for a partial run)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
DIST="$REPO/dist"
export TENURE_DIST_AARCH64="${TENURE_DIST_AARCH64:-1}"
if [ "$TENURE_DIST_AARCH64" = 0 ]; then
    export TENURE_DIST_CROSS=0
fi
SKIP=" ${TENURE_DIST_SKIP:-} "
[ $# = 0 ] || { echo "all.sh: no arguments (see the header)" >&2; exit 2; }

say() { printf '\n=== %s\n' "$*"; }
mkdir -p "$DIST"
# Everything written from now on is this run's (mtime at or after the marker).
MARK="$(mktemp "${TMPDIR:-/tmp}/tenure-dist-all.XXXXXX")"
trap 'rm -f "$MARK"' EXIT
sleep 1 # whole-second mtimes on some filesystems: nothing later is "as old"

# The server tarballs are built from HEAD's tree (tools/dist/server.sh), the
# bindings and the crates from the working tree: the same only when it is clean.
DIRTY="$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null | head -5)"
if [ -n "$DIRTY" ]; then
    echo "all.sh: warning: uncommitted changes (the bindings and crates are built from the"
    echo "  working tree, the server tarballs from HEAD; a release wants a clean checkout):"
    echo "$DIRTY" | sed 's/^/  /'
fi

declare -a RAN=() SKIPPED=() TIMES=()
# Where each step writes (what SHA256SUMS covers of the steps that ran).
declare -A OUTDIR=([python]=python [node]=node [kotlin]=jvm [server]=server [crates]=crates)
step() {
    local name="$1" script="$2"; shift 2
    if [[ "$SKIP" == *" $name "* ]]; then
        SKIPPED+=("$name (TENURE_DIST_SKIP)")
        return
    fi
    if [ ! -f "$REPO/$script" ]; then
        say "$name: $script does not exist, skipped"
        SKIPPED+=("$name (no $script)")
        return
    fi
    say "$name: $script $*"
    local start=$SECONDS
    (cd "$REPO" && bash "$script" "$@") || { echo "all.sh: step $name failed" >&2; exit 1; }
    RAN+=("$name")
    TIMES+=("$name $(( SECONDS - start )) s")
}

# `cargo publish --dry-run` packages tenure-proto into a temporary local
# registry and verifies tenure against it. Cargo takes a registry crate of a
# given version to be immutable: it does not unpack it again while
# $CARGO_HOME/registry/src/-<hash>/tenure-proto-<v> exists, and does not rebuild
# it while its artifacts exist, so a later dry run of the same (unpublished)
# version verifies against the old proto and fails once the proto changed.
# Hence the unpacked copies are dropped first, and the dry run uses a target
# directory of its own (target/dist-crates; the dependencies stay built there)
# whose tenure-proto and tenure artifacts are dropped before each run.
crates() {
    local version crate home="${CARGO_HOME:-$HOME/.cargo}" tdir="$REPO/target/dist-crates"
    version="$(cd "$REPO" && cargo metadata --no-deps --format-version 1 \
        | python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "tenure"))')" \
        || return 1
    rm -rf "$home"/registry/src/-*/"tenure-proto-$version" "$home"/registry/src/-*/"tenure-$version"
    rm -rf "$tdir"/package "$tdir"/debug/.fingerprint/tenure-* "$tdir"/debug/build/tenure-* \
        "$tdir"/debug/deps/libtenure* "$tdir"/debug/deps/tenure*
    (cd "$REPO" && CARGO_TARGET_DIR="$tdir" nice -n 19 \
        cargo publish --dry-run --allow-dirty -p tenure-proto -p tenure) || return 1
    rm -rf "$DIST/crates"
    mkdir -p "$DIST/crates"
    # `cargo package` writes package/<crate>.crate; a dry-run publish (cargo
    # 1.95) leaves them in package/tmp-crate/ only (package/ was emptied above).
    for crate in tenure-proto tenure; do
        local f="$tdir/package/$crate-$version.crate"
        [ -f "$f" ] || f="$tdir/package/tmp-crate/$crate-$version.crate"
        cp "$f" "$DIST/crates/" || return 1
    done
}
crates_step() {
    if [[ "$SKIP" == *" crates "* ]]; then
        SKIPPED+=("crates (TENURE_DIST_SKIP)")
        return
    fi
    say "crates: cargo publish --dry-run --allow-dirty -p tenure-proto -p tenure"
    local start=$SECONDS
    crates || { echo "all.sh: step crates failed" >&2; exit 1; }
    RAN+=("crates")
    TIMES+=("crates $(( SECONDS - start )) s")
}

step python bindings/python/dist.sh --test
step node bindings/node/dist.sh
step kotlin bindings/kotlin/dist.sh
step server tools/dist/server.sh
crates_step

say "dist/SHA256SUMS"
cd "$DIST"
rm -f SHA256SUMS
DIRS=()
for name in "${RAN[@]}"; do
    dir="${OUTDIR[$name]}"
    if [ -z "$(find "$dir" -type f -newer "$MARK" 2>/dev/null | head -1)" ]; then
        echo "all.sh: step $name wrote nothing into dist/$dir" >&2
        exit 1
    fi
    DIRS+=("$dir")
done
[ "${#DIRS[@]}" -gt 0 ] || { echo "all.sh: no step ran" >&2; exit 1; }
mapfile -t FRESH < <(find "${DIRS[@]}" -type f -newer "$MARK" -printf '%p\n' | LC_ALL=C sort)
mapfile -t STALE < <(find . -type f ! -path ./SHA256SUMS -printf '%P\n' | LC_ALL=C sort \
    | LC_ALL=C comm -23 - <(printf '%s\n' "${FRESH[@]}" | LC_ALL=C sort))
sha256sum -- "${FRESH[@]}" > SHA256SUMS
sha256sum -c --quiet SHA256SUMS

human() { numfmt --to=iec-i --suffix=B --format='%.1f' "$1" 2>/dev/null || echo "$1 B"; }
printf '\n%-78s %10s %12s\n' artifact size bytes
printf '%-78s %10s %12s\n' "$(printf -- '-%.0s' $(seq 1 78))" ---------- ------------
total=0
for f in "${FRESH[@]}" SHA256SUMS; do
    size=$(stat -c %s "$f")
    total=$(( total + size ))
    printf '%-78s %10s %12s\n' "dist/$f" "$(human "$size")" "$size"
done
printf '%-78s %10s %12s\n' "total (${#FRESH[@]} artifacts + SHA256SUMS)" "$(human "$total")" "$total"

echo
echo "steps run: ${RAN[*]:-none}"
for t in "${TIMES[@]}"; do echo "  $t"; done
if [ "${#SKIPPED[@]}" -gt 0 ]; then
    echo "skipped: ${SKIPPED[*]}"
fi
if [ "${#STALE[@]}" -gt 0 ]; then
    echo "not from this run (not in SHA256SUMS):"
    printf '  dist/%s\n' "${STALE[@]}"
fi
