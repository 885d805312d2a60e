#!/usr/bin/env bash
# What CI runs for the Kotlin/JVM binding (make test-kotlin): the artifact users install,
# tested as they would use it.
#
#   1. bindings/kotlin/dist.sh with the dev profile and x86-64 only (TENURE_DIST_PROFILE=dev,
#      TENURE_DIST_AARCH64=0): the natives from the warm `cargo build --workspace`, the
#      generated uniffi sources, the jar + sources jar + javadoc jar + POM into dist/jvm and
#      installed into ~/.m2 (dev.tenure:tenure-kotlin:<version>), with their checks;
#   2. tools/dist/test-jvm-artifact.sh: the binding's JUnit tests, copied into a fresh Maven
#      project that depends only on that coordinate, run once against real `tenure dev` and
#      tenure-testkit clusters with no cargo on PATH, asserting that the classes and the
#      native library come from the installed jar; then the examples (examples/kotlin).
#
# Assumes `cargo build --workspace` ran (target/debug/tenure exists; it runs it again, a no-op
# when warm); needs a JDK 17+ and Maven (installed from Debian's packages if missing). Maven
# downloads go to ~/.m2.
# TENURE_KOTLIN_SKIP_TESTS=1 only builds and installs the jar (no javadoc jar, no tests, no
# examples): the benchmark's preparation (bench/bindings/prepare.sh).
# Extra arguments go to the test run's mvn (e.g. -Dtest=LockTest).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
START=$(date +%s)

log() { echo "[kotlin +$(( $(date +%s) - START ))s] $*" >&2; }

cd "$REPO"
log "cargo build --workspace"
# A failed build stops the run (set -e): the tests never run against stale binaries.
cargo build --workspace -q
BIN="${TENURE_BIN:-$TARGET/debug/tenure}"
[[ -x "$BIN" ]] || { log "$BIN not found"; exit 1; }

DIST=(--no-aarch64)
[[ "${TENURE_KOTLIN_SKIP_TESTS:-0}" == 1 ]] && DIST+=(--no-javadoc)
log "dist.sh (dev profile, linux-x86-64)"
TENURE_DIST_PROFILE=dev bash "$HERE/dist.sh" "${DIST[@]}"

[[ "${TENURE_KOTLIN_SKIP_TESTS:-0}" == 1 ]] && exit 0

log "tests from a fresh project against the installed artifact, then the examples"
TENURE_BIN="$BIN" bash "$REPO/tools/dist/test-jvm-artifact.sh" -- "$@"

log "done in $(( $(date +%s) - START )) s"
