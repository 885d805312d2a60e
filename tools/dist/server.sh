#!/usr/bin/env bash
# The server release artifacts, into dist/server/:
#
#   tenure-<v>-x86_64-unknown-linux-musl.tar.gz
#   tenure-<v>-aarch64-unknown-linux-musl.tar.gz
#   SHA256SUMS                                   sha256sum -c SHA256SUMS
#
# Each tarball unpacks to tenure-<v>-<target>/ with the `tenure` binary (static,
# stripped), LICENSE, a README (what is inside, how to install) and the systemd
# unit and its sample environment file (systemd/, from deploy/systemd).
#
# The binaries are fully static musl executables (no interpreter, no shared
# libraries): they run on any Linux kernel of the architecture, whatever its
# libc. cargo-zigbuild links them with zig (the `ziglang` package from PyPI),
# which is also the C compiler for ring's and the bundled SQLite's C code;
# aarch64 is cross-compiled the same way. <v> is [workspace.package] version in
# Cargo.toml.
#
# Checks, before anything is written to dist/server: each binary is static (no
# PT_INTERP, no DT_NEEDED) for the right machine; the x86_64 binary from its
# tarball runs a 1-node cluster (`tenure server`) on loopback that
# `tenure status --ready` accepts and `tenure lock` takes a lock on, then stops
# on SIGTERM; the aarch64 one does the same under qemu-aarch64-static (Debian's
# qemu-user-static) when that is installed, else only its ELF headers are checked.
#
# The sources are the committed tree of HEAD (`git archive` into
# target/dist-tools/src), not the working tree: a release is built from a
# commit, and the README in the tarball names it. --worktree builds the
# checkout as it is instead (uncommitted changes included).
#
#   tools/dist/server.sh [--no-aarch64] [--no-smoke] [--worktree]
#                        [--profile release|dev] [--out DIR]
#
#   --no-aarch64   skip the aarch64 tarball (also TENURE_DIST_AARCH64=0)
#   --no-smoke     only the ELF checks, no cluster
#   --worktree     build the working tree, not HEAD (also TENURE_DIST_WORKTREE=1)
#   --profile P    cargo profile: release (default; what is published) or dev
#                  (CI: the same static build, packaging, checks and smoke test,
#                  unoptimised; also TENURE_DIST_PROFILE)
#   --out DIR      where the tarballs go (default dist/server; CI's dev ones go
#                  elsewhere so that dist/ only holds release builds)
#
# Needs: python3 (3.9+), rustup/cargo, readelf, file, sha256sum. ziglang is
# installed into target/dist-tools/venv and cargo-zigbuild into
# target/dist-tools/bin on first use. Builds run under nice.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
TOOLS="$REPO/target/dist-tools"
OUT="$REPO/dist/server"

AARCH64="${TENURE_DIST_AARCH64:-1}"
SMOKE=1
WORKTREE="${TENURE_DIST_WORKTREE:-0}"
PROFILE="${TENURE_DIST_PROFILE:-release}"
while [ $# -gt 0 ]; do
    case "$1" in
        --no-aarch64) AARCH64=0 ;;
        --no-smoke) SMOKE=0 ;;
        --worktree) WORKTREE=1 ;;
        --profile) PROFILE="${2:?--profile needs release or dev}"; shift ;;
        --out) OUT="$(mkdir -p "${2:?--out needs a directory}" && cd "$2" && pwd)"; shift ;;
        *) echo "server.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
case "$PROFILE" in
    release) PROFILE_DIR=release ;;
    dev) PROFILE_DIR=debug ;;
    *) echo "server.sh: --profile must be release or dev, got $PROFILE" >&2; exit 2 ;;
esac

say() { printf '== %s\n' "$*"; }
fail() { printf 'server.sh: %s\n' "$*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s) - $1 )) s"; }
# readelf (binutils) and file come from Debian's packages when missing (as root).
if ! command -v readelf >/dev/null || ! command -v file >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        say "installing binutils and file from Debian's packages"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q binutils file >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null && apt-get install -y -q binutils file >/dev/null; }
    fi
fi
for tool in readelf file sha256sum tar gzip; do
    command -v "$tool" >/dev/null || fail "needs $tool"
done

# --- sources ---------------------------------------------------------------
# HEAD's tree in target/dist-tools/src, brought up to date when HEAD moves (the
# same path each time, so that the shared target directory's fingerprints stay
# valid).
if [ "$WORKTREE" = 1 ]; then
    SRC="$REPO"
    COMMIT="$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)+worktree"
    EPOCH="${SOURCE_DATE_EPOCH:-$(date +%s)}"
else
    COMMIT="$(git -C "$REPO" rev-parse --short=12 HEAD)"
    EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$REPO" log -1 --format=%ct HEAD)}"
    SRC="$TOOLS/src"
    if [ "$(cat "$TOOLS/src.commit" 2>/dev/null)" != "$COMMIT" ]; then
        rm -f "$TOOLS/src.commit"
        rm -rf "$TOOLS/src.new"
        mkdir -p "$TOOLS/src.new" "$SRC"
        git -C "$REPO" archive HEAD | tar -x -C "$TOOLS/src.new"
        # Into $SRC, touching only the files that changed (cargo decides what
        # to rebuild by mtime: a commit that changes no Rust source rebuilds
        # nothing), and deleting the files HEAD no longer has.
        "$PYTHON" - "$TOOLS/src.new" "$SRC" <<'PYEOF'
import filecmp, os, shutil, sys
new, src = sys.argv[1:]
def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.remove(path)
for root, dirs, files in os.walk(new):
    rel = os.path.relpath(root, new)
    os.makedirs(os.path.join(src, rel), exist_ok=True)
    for f in files:
        a, b = os.path.join(root, f), os.path.join(src, rel, f)
        if os.path.islink(a) or os.path.islink(b) or not os.path.isfile(b) \
                or not filecmp.cmp(a, b, shallow=False):
            if os.path.lexists(b):
                remove(b)
            shutil.copy2(a, b, follow_symlinks=False)
            if not os.path.islink(b):
                os.utime(b)  # now: newer than any earlier build
        elif os.stat(a).st_mode != os.stat(b).st_mode:
            shutil.copymode(a, b)
for root, dirs, files in os.walk(src, topdown=False):
    rel = os.path.relpath(root, src)
    for f in files + dirs:
        if not os.path.lexists(os.path.join(new, rel, f)):
            remove(os.path.join(root, f))
PYEOF
        rm -rf "$TOOLS/src.new"
        echo "$COMMIT" > "$TOOLS/src.commit"
    fi
fi
say "sources: $([ "$WORKTREE" = 1 ] && echo "working tree" || echo "HEAD") $COMMIT"

# --- version ---------------------------------------------------------------
VERSION="$("$PYTHON" - "$SRC/Cargo.toml" <<'EOF'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    print(tomllib.load(f)["workspace"]["package"]["version"])
EOF
)"
[ -n "$VERSION" ] || fail "no [workspace.package] version in Cargo.toml"
say "tenure $VERSION"

# --- tools -----------------------------------------------------------------
# shellcheck source=zig-tools.sh
. "$HERE/zig-tools.sh"
zig_tools "$TOOLS"

TARGETS=(x86_64-unknown-linux-musl)
[ "$AARCH64" = 0 ] || TARGETS+=(aarch64-unknown-linux-musl)
rustup target add "${TARGETS[@]}" >/dev/null

# --- build -----------------------------------------------------------------
# Release profile, symbols stripped and no debug info (the workspace's release
# profile keeps line tables for backtraces; a release binary does not ship them).
export CARGO_PROFILE_RELEASE_STRIP=symbols
export CARGO_PROFILE_RELEASE_DEBUG=false
export CARGO_PROFILE_DEV_STRIP=symbols
export CARGO_PROFILE_DEV_DEBUG=false
# musl targets link statically (+crt-static) by default; said here so that a
# changed default cannot quietly produce a dynamic binary (the checks would fail).
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=+crt-static"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS="-C target-feature=+crt-static"

declare -A BUILD_TIME
for target in "${TARGETS[@]}"; do
    say "building tenure for $target"
    start=$(date +%s)
    (cd "$SRC" && CARGO_TARGET_DIR="$REPO/target" nice -n 19 cargo zigbuild --profile "$PROFILE" --locked \
        -p tenure-cli --bin tenure --target "$target")
    BUILD_TIME[$target]="$(elapsed "$start")"
    say "built $target in ${BUILD_TIME[$target]}"
done

# --- static checks ---------------------------------------------------------
check_static() {
    local bin="$1" machine="$2" info
    info="$(file -b "$bin")"
    echo "   file: $info"
    readelf -h "$bin" | grep -q "Machine:[[:space:]]*$machine" \
        || fail "$bin: machine is not $machine: $(readelf -h "$bin" | grep Machine:)"
    if readelf -l "$bin" | grep -q 'INTERP'; then
        fail "$bin has a program interpreter (dynamically linked)"
    fi
    if readelf -d "$bin" | grep -q '(NEEDED)'; then
        fail "$bin needs shared libraries: $(readelf -d "$bin" | grep '(NEEDED)')"
    fi
    case "$info" in
        *"statically linked"* | *"static-pie linked"*) ;;
        *) fail "$bin: file does not call it static: $info" ;;
    esac
    case "$info" in
        *", stripped"*) ;;
        *) fail "$bin is not stripped: $info" ;;
    esac
    echo "   readelf: Machine $machine, no INTERP, no NEEDED"
}

# --- tarballs --------------------------------------------------------------
STAGE="$(mktemp -d "${TMPDIR:-/tmp}/tenure-dist-server.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$STAGE"
}
trap cleanup EXIT

# Reproducible archives: the commit's time on every entry (EPOCH), sorted, no owner.

write_readme() {
    local target="$1"
    cat <<EOF
tenure $VERSION for $target
$(printf '=%.0s' $(seq 1 $(( ${#VERSION} + ${#target} + 12 ))))

tenure is a Raft-replicated lock service with fencing tokens. This archive
holds the \`tenure\` command (server node, local dev cluster, admin and client
CLI) as one statically linked executable (musl): it needs no shared libraries
and runs on any Linux kernel of this architecture.

  tenure             the binary (built from commit $COMMIT)
  LICENSE            Apache License 2.0
  systemd/           tenure.service (one node under systemd) and tenure.env
                     (its settings: node id, listen address, peers)

Verify, unpack and try it:

  sha256sum -c --ignore-missing SHA256SUMS
  tar -xzf tenure-$VERSION-$target.tar.gz
  ./tenure-$VERSION-$target/tenure dev          # a local 3-node cluster
  ./tenure-$VERSION-$target/tenure status --ready

Install one node of a cluster under systemd (as root, on every node):

  install -m 0755 tenure /usr/local/bin/tenure
  useradd --system --home-dir /var/lib/tenure tenure
  install -D -m 0640 systemd/tenure.env /etc/tenure/tenure.env   # edit: id, peers
  install -m 0644 systemd/tenure.service /etc/systemd/system/
  systemctl daemon-reload && systemctl enable --now tenure
  tenure status --ready --endpoints 10.0.0.1:7100

Every node needs a durable disk of its own and a stable address in --peers;
for production, TLS between nodes and an access file (docs/security.md). The
container image, the Kubernetes example and the documentation are in the
repository: https://github.com/tenure-locks/tenure (deploy/, docs/).
EOF
}

declare -A TARBALL
for target in "${TARGETS[@]}"; do
    name="tenure-$VERSION-$target"
    dir="$STAGE/$name"
    mkdir -p "$dir/systemd"
    install -m 0755 "$REPO/target/$target/$PROFILE_DIR/tenure" "$dir/tenure"
    install -m 0644 "$SRC/LICENSE" "$dir/LICENSE"
    install -m 0644 "$SRC/deploy/systemd/tenure.service" "$SRC/deploy/systemd/tenure.env" "$dir/systemd/"
    write_readme "$target" > "$dir/README.md"
    chmod 0644 "$dir/README.md"
    tar -C "$STAGE" --sort=name --owner=0 --group=0 --numeric-owner \
        --mtime="@$EPOCH" -cf - "$name" | gzip -9 -n > "$STAGE/$name.tar.gz"
    TARBALL[$target]="$STAGE/$name.tar.gz"
done

# --- checks on the binaries as unpacked from the tarballs -------------------
# A port below the kernel's ephemeral range that nothing listens on.
free_port() {
    local lo hi port
    read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
    for _ in $(seq 1 200); do
        port=$(( 20000 + RANDOM % (lo > 21000 ? lo - 20000 : 1000) ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    fail "no free port found"
}

# smoke RUNNER... BIN: a 1-node cluster, the readiness probe, a lock, SIGTERM.
smoke() {
    local bin="${*: -1}" runner=("${@:1:$#-1}") port mport data log start ready=0 rc
    port="$(free_port)"
    mport="$(free_port)"
    [ "$port" != "$mport" ] || mport=$((port + 1))
    data="$(mktemp -d "$STAGE/data.XXXXXX")"
    log="$data.log"
    start=$(date +%s)
    "${runner[@]}" "$bin" server --id 1 --listen "127.0.0.1:$port" \
        --peers "1=127.0.0.1:$port" --data-dir "$data" \
        --metrics-listen "127.0.0.1:$mport" > "$log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 1 120); do
        if "${runner[@]}" "$bin" status --ready --endpoints "127.0.0.1:$port" > "$data.status" 2>&1; then
            ready=1
            break
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log" >&2; fail "the server exited before it was ready"; }
        sleep 0.5
    done
    if [ "$ready" != 1 ]; then
        cat "$log" "$data.status" >&2
        fail "tenure status --ready did not pass within 60 s"
    fi
    echo "   tenure server on 127.0.0.1:$port ready after $(elapsed "$start"); tenure status --ready exited 0:"
    sed 's/^/     /' "$data.status"
    "${runner[@]}" "$bin" lock --endpoints "127.0.0.1:$port" --timeout 10s dist/smoke \
        -- sh -c 'echo "     tenure lock ran the command holding dist/smoke (fencing token $TENURE_FENCING_TOKEN)"' \
        || fail "tenure lock failed"
    kill -TERM "$SERVER_PID"
    rc=0
    wait "$SERVER_PID" || rc=$?
    SERVER_PID=""
    [ "$rc" = 0 ] || { cat "$log" >&2; fail "the server exited with $rc on SIGTERM"; }
    echo "   stopped by SIGTERM, exit status 0"
}

QEMU=""
for q in qemu-aarch64-static qemu-aarch64; do
    if command -v "$q" >/dev/null; then QEMU="$(command -v "$q")"; break; fi
done

for target in "${TARGETS[@]}"; do
    name="tenure-$VERSION-$target"
    unpacked="$STAGE/unpacked-$target"
    mkdir -p "$unpacked"
    tar -C "$unpacked" -xzf "${TARBALL[$target]}"
    bin="$unpacked/$name/tenure"
    for f in tenure LICENSE README.md systemd/tenure.service systemd/tenure.env; do
        [ -f "$unpacked/$name/$f" ] || fail "$name.tar.gz lacks $f"
    done
    say "checking $name.tar.gz ($(stat -c %s "${TARBALL[$target]}") bytes; binary $(stat -c %s "$bin") bytes)"
    case "$target" in
        x86_64-*)
            check_static "$bin" "Advanced Micro Devices X86-64"
            echo "   $("$bin" --version)"
            [ "$SMOKE" = 0 ] || smoke "$bin"
            ;;
        aarch64-*)
            check_static "$bin" "AArch64"
            if [ -n "$QEMU" ]; then
                echo "   $("$QEMU" "$bin" --version) (under $(basename "$QEMU"))"
                [ "$SMOKE" = 0 ] || smoke "$QEMU" "$bin"
            else
                echo "   no qemu-aarch64(-static) (apt-get install qemu-user-static): ELF headers checked only"
            fi
            ;;
    esac
done

# --- publish into dist/server ----------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
for target in "${TARGETS[@]}"; do
    cp "${TARBALL[$target]}" "$OUT/"
done
(cd "$OUT" && sha256sum -- *.tar.gz > SHA256SUMS && sha256sum -c --quiet SHA256SUMS)

say "dist/server:"
for target in "${TARGETS[@]}"; do
    printf '   %-52s %9s bytes  (binary %s bytes, built in %s)\n' \
        "tenure-$VERSION-$target.tar.gz" "$(stat -c %s "$OUT/tenure-$VERSION-$target.tar.gz")" \
        "$(stat -c %s "$REPO/target/$target/$PROFILE_DIR/tenure")" "${BUILD_TIME[$target]}"
done
printf '   %-52s\n' SHA256SUMS
