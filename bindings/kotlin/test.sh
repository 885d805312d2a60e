#!/usr/bin/env bash
# Builds the Kotlin/JVM binding from source, runs its JUnit tests against real `tenure dev`
# clusters, installs the jar into ~/.m2 and runs the examples once against a cluster.
#
# Assumes `cargo build --workspace` ran (target/debug/tenure exists); needs a JDK 17+ and
# Maven (installed from Debian's packages if missing). Maven downloads go to ~/.m2.
# TENURE_KOTLIN_SKIP_TESTS=1 only builds and installs the jar (the benchmark's preparation).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
EXAMPLES="$REPO/examples/kotlin"
START=$(date +%s)

log() { echo "[kotlin +$(( $(date +%s) - START ))s] $*" >&2; }

# --- tools -------------------------------------------------------------------------------
if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
    log "installing a JDK and Maven from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi

# --- native library and generated sources -------------------------------------------------
cd "$REPO"
log "cargo build --workspace"
# A failed build stops the run (set -e): the tests never run against stale binaries.
cargo build --workspace -q
BIN="${TENURE_BIN:-$TARGET/debug/tenure}"
[[ -x "$BIN" ]] || { log "$BIN not found"; exit 1; }

GEN="$HERE/build/generated/kotlin"
NATIVE="$HERE/build/native/linux-x86-64"
rm -rf "$GEN" "$NATIVE"
mkdir -p "$GEN" "$NATIVE"
log "generating the uniffi Kotlin sources"
"$TARGET/debug/uniffi-bindgen" generate --library "$TARGET/debug/libtenure_ffi.so" \
    --language kotlin --out-dir "$GEN" --no-format >/dev/null
# The debug library carries ~120 MB of debug info; the jar gets it without.
if command -v strip >/dev/null; then
    strip --strip-debug -o "$NATIVE/libtenure_ffi.so" "$TARGET/debug/libtenure_ffi.so"
else
    cp "$TARGET/debug/libtenure_ffi.so" "$NATIVE/"
fi

# --- compile, test, package, install ------------------------------------------------------
MVN=(mvn -B -q -Dstyle.color=never)
[[ "${TENURE_KOTLIN_SKIP_TESTS:-0}" == 1 ]] && MVN+=(-DskipTests)
cd "$HERE"
log "mvn install (compile, JUnit tests against real clusters, jar)"
rc=0
"${MVN[@]}" install || rc=$?

# Summary of the surefire reports (also when a test failed).
summary() {
    python3 - "$HERE/target/surefire-reports" <<'EOF'
import glob, sys, xml.etree.ElementTree as ET
t = f = e = s = 0
for path in glob.glob(sys.argv[1] + "/TEST-*.xml"):
    r = ET.parse(path).getroot()
    t += int(r.get("tests", 0)); f += int(r.get("failures", 0))
    e += int(r.get("errors", 0)); s += int(r.get("skipped", 0))
failed = f + e
print(f"kotlin: {t - failed - s} passed, {failed} failed, {s} skipped")
EOF
}
summary
if [[ $rc -ne 0 ]]; then
    log "mvn install failed (exit $rc); reports in $HERE/target/surefire-reports"
    exit $rc
fi

[[ "${TENURE_KOTLIN_SKIP_TESTS:-0}" == 1 ]] && exit 0

JAR="$HERE/target/tenure-kotlin-0.1.0.jar"
if ! unzip -l "$JAR" 2>/dev/null | grep -q "linux-x86-64/libtenure_ffi.so" &&
   ! jar tf "$JAR" | grep -q "linux-x86-64/libtenure_ffi.so"; then
    log "the jar does not bundle linux-x86-64/libtenure_ffi.so"
    exit 1
fi

# --- examples against a real cluster ------------------------------------------------------
PORT=$(python3 - <<'EOF'
import socket
for _ in range(100):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    if p + 2 > 65535:
        continue
    ok = True
    for q in (p, p + 1, p + 2):
        t = socket.socket()
        try:
            t.bind(("127.0.0.1", q))
        except OSError:
            ok = False
        finally:
            t.close()
    if ok:
        print(p); break
EOF
)
LOGDIR="$(mktemp -d)"
"$BIN" dev --nodes 3 --port "$PORT" >"$LOGDIR/dev.out" 2>"$LOGDIR/dev.err" &
DEV=$!
cleanup() {
    kill -TERM "$DEV" 2>/dev/null || true
    wait "$DEV" 2>/dev/null || true
    rm -rf "$LOGDIR"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
    grep -q '^endpoints:' "$LOGDIR/dev.out" && break
    kill -0 "$DEV" 2>/dev/null || { cat "$LOGDIR/dev.err" >&2; exit 1; }
    sleep 0.1
done
export TENURE_ENDPOINTS
TENURE_ENDPOINTS="$(sed -n 's/^endpoints: //p' "$LOGDIR/dev.out" | head -1)"
[[ -n "$TENURE_ENDPOINTS" ]] || { log "tenure dev did not start"; cat "$LOGDIR/dev.err" >&2; exit 1; }

cd "$EXAMPLES"
log "examples: quickstart and fenced worker against $TENURE_ENDPOINTS"
"${MVN[@]}" compile exec:java@quickstart exec:java@fenced-worker

log "done in $(( $(date +%s) - START )) s"
