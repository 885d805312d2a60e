#!/usr/bin/env bash
# The JVM release artifact, dev.tenure:tenure-kotlin:<version> as it would be published to
# Maven Central, into dist/jvm/:
#
#   tenure-kotlin-<v>.jar           classes (the idiomatic API dev.tenure and the generated
#                                   uniffi layers dev.tenure.ffi, dev.tenure.core) and the
#                                   native library under JNA's resource prefixes:
#                                   linux-x86-64/libtenure_ffi.so, linux-aarch64/libtenure_ffi.so
#   tenure-kotlin-<v>-sources.jar   src/main/kotlin and the generated Kotlin sources
#   tenure-kotlin-<v>-javadoc.jar   Dokka, javadoc format
#   tenure-kotlin-<v>.pom           the POM users' builds read (metadata Central requires)
#   repo/                           the same files in a Maven repository layout with their
#                                   .md5/.sha1 (what `mvn deploy` uploads), a file:// repository
#   natives.txt                     readelf/objdump report: machine and GLIBC_ symbol versions
#
# and installs the artifact into the local Maven repository (~/.m2, or TENURE_M2_REPO), where
# tools/dist/test-jvm-artifact.sh and examples/kotlin resolve it.
#
#   bindings/kotlin/dist.sh [--no-aarch64] [--no-javadoc] [--test]
#
#   TENURE_DIST_PROFILE=release   (default) cargo profile of the natives. release builds both
#                                 architectures with zig as the linker against glibc 2.17
#                                 (x86_64-unknown-linux-gnu.2.17, aarch64-unknown-linux-gnu.2.17),
#                                 so they load on old distributions; stripped.
#   TENURE_DIST_PROFILE=dev       CI: the x86-64 library is the host build of `cargo build
#                                 --workspace` (target/debug, warm; glibc floor of this host,
#                                 debug info stripped): for tests, not for publishing.
#                                 dev runs `cargo build --workspace` (uniffi-bindgen, and the
#                                 tenure and tenure-testkit the tests need); release builds only
#                                 uniffi-bindgen on the host (--test needs target/debug/tenure).
#   --no-aarch64                  x86-64 only (also TENURE_DIST_AARCH64=0; CI)
#   --no-javadoc                  no javadoc jar (also TENURE_DIST_JAVADOC=0); not publishable
#   --test                        then tools/dist/test-jvm-artifact.sh (the binding's tests from
#                                 a fresh Maven project against the installed artifact)
#
# Needs cargo/rustup, a JDK 17+ and Maven (installed from Debian's packages when missing).
# zig (the `ziglang` package from PyPI, in target/dist-tools/venv) and cargo-zigbuild
# (target/dist-tools/bin) are installed on first use. Builds run under nice.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$REPO/target}"
TOOLS="$REPO/target/dist-tools"
OUT="$REPO/dist/jvm"
PROFILE="${TENURE_DIST_PROFILE:-release}"
AARCH64="${TENURE_DIST_AARCH64:-1}"
JAVADOC="${TENURE_DIST_JAVADOC:-1}"
TEST=0
for arg in "$@"; do
    case "$arg" in
        --no-aarch64) AARCH64=0 ;;
        --no-javadoc) JAVADOC=0 ;;
        --test) TEST=1 ;;
        *) echo "dist.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done
case "$PROFILE" in
    release) PROFILE_DIR=release ;;
    dev) PROFILE_DIR=debug ;;
    *) echo "dist.sh: TENURE_DIST_PROFILE is release or dev, not $PROFILE" >&2; exit 2 ;;
esac

START=$(date +%s)
log() { echo "[jvm-dist +$(( $(date +%s) - START ))s] $*" >&2; }

# --- tools --------------------------------------------------------------------------------
if ! command -v mvn >/dev/null || ! command -v javac >/dev/null; then
    log "installing a JDK and Maven from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq openjdk-17-jdk-headless maven >/dev/null
fi

# The version: the workspace's, which the POM must carry (tests/tests/versions.rs checks too).
VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml")"
POM_VERSION="$(python3 - "$HERE/pom.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
print(ET.parse(sys.argv[1]).getroot().find("m:version", ns).text)
EOF
)"
[[ "$VERSION" == "$POM_VERSION" ]] || { log "pom.xml says $POM_VERSION, Cargo.toml $VERSION"; exit 1; }

# llvm's objcopy strips any architecture (GNU strip on x86-64 hosts knows no AArch64):
# Debian's llvm-objcopy, else the toolchain's rust-objcopy (llvm-tools), else GNU objcopy
# (x86-64 only; an aarch64 library then stays unstripped).
OBJCOPY=""
for c in llvm-objcopy "$(cd "$REPO" && rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-objcopy"; do
    if "$c" --version >/dev/null 2>&1; then OBJCOPY="$c"; break; fi
done
strip_to() { # mode src dest
    if [[ -n "$OBJCOPY" ]]; then
        "$OBJCOPY" "--strip-$1" "$2" "$3"
    elif objcopy "--strip-$1" "$2" "$3" 2>/dev/null; then
        :
    else
        log "no objcopy for $2: copied unstripped"
        cp "$2" "$3"
    fi
}

# zig_tools TOOLS: zig and cargo-zigbuild on PATH (shared with the other release scripts).
# shellcheck source=../../tools/dist/zig-tools.sh
. "$REPO/tools/dist/zig-tools.sh"

# Cross (or glibc-2.17) build with zig as the linker; prints the built library's path.
zig_build() { # rust-target
    local target="$1"
    zig_tools "$TOOLS"
    if ! rustup target list --installed | grep -qx "$target"; then
        rustup target add "$target" >&2
    fi
    log "cargo zigbuild -p tenure-ffi --profile $PROFILE --target $target.2.17"
    (cd "$REPO" && nice -n 19 cargo zigbuild -q -p tenure-ffi --lib --profile "$PROFILE" \
        --target "$target.2.17" >&2)
    echo "$TARGET/$target/$PROFILE_DIR/libtenure_ffi.so"
}

# --- natives ------------------------------------------------------------------------------
NATIVE="$HERE/build/native"
GEN="$HERE/build/generated/kotlin"
rm -rf "$NATIVE" "$GEN"
mkdir -p "$NATIVE/linux-x86-64" "$GEN"

# The host build: uniffi-bindgen, and for dev the library too. dev builds the whole workspace,
# as CI and the tests do (tenure, tenure-testkit): `-p` alone would unify other features and
# rebuild dependencies that `cargo build --workspace` then rebuilds back; a no-op when warm.
# release needs only uniffi-bindgen on the host (the natives come from zig_build).
if [[ "$PROFILE" == dev ]]; then
    log "cargo build --workspace (host, dev)"
    (cd "$REPO" && nice -n 19 cargo build -q --workspace)
    X86="$TARGET/debug/libtenure_ffi.so"
    STRIP=debug # what test.sh always shipped: symbols kept for backtraces
else
    log "cargo build -p uniffi-bindgen (host, dev)"
    (cd "$REPO" && nice -n 19 cargo build -q -p uniffi-bindgen)
    X86="$(zig_build x86_64-unknown-linux-gnu)"
    STRIP=all
fi
strip_to "$STRIP" "$X86" "$NATIVE/linux-x86-64/libtenure_ffi.so"

if [[ "$AARCH64" == 1 ]]; then
    ARM="$(zig_build aarch64-unknown-linux-gnu)"
    mkdir -p "$NATIVE/linux-aarch64"
    strip_to "$STRIP" "$ARM" "$NATIVE/linux-aarch64/libtenure_ffi.so"
fi

log "generating the uniffi Kotlin sources (from the x86-64 library)"
"$TARGET/debug/uniffi-bindgen" generate --library "$X86" \
    --language kotlin --out-dir "$GEN" --no-format >/dev/null

# What the natives need from the C library: the highest GLIBC_ version must be <= 2.17 for
# the release build (a dev build links against this host's glibc).
rm -rf "$OUT"
mkdir -p "$OUT"
{
    for so in "$NATIVE"/*/libtenure_ffi.so; do
        rel="${so#"$NATIVE"/}"
        echo "== $rel ($(stat -c %s "$so") bytes)"
        readelf -h "$so" | grep -E 'Class|Machine'
        echo "  needed: $(readelf -d "$so" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
        # GNU objdump knows x86 only; llvm-objdump reads both.
        dump=objdump
        [[ "$rel" == linux-x86-64/* ]] || dump="$(command -v llvm-objdump || echo objdump)"
        glibc="$("$dump" -T "$so" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -Vu | tr '\n' ' ')"
        echo "  $dump -T | grep GLIBC_: $glibc"
        echo "  highest: $(echo "$glibc" | tr ' ' '\n' | grep . | sort -V | tail -1)"
    done
} | tee "$OUT/natives.txt"
if [[ "$PROFILE" == release ]]; then
    while read -r _ highest; do
        if [[ "$(printf '%s\n%s\n' "$highest" GLIBC_2.17 | sort -V | tail -1)" != GLIBC_2.17 ]]; then
            log "a native library needs $highest (> GLIBC_2.17)"; exit 1
        fi
    done < <(grep 'highest:' "$OUT/natives.txt")
fi
if [[ "$AARCH64" == 1 ]] && ! readelf -h "$NATIVE/linux-aarch64/libtenure_ffi.so" | grep 'Machine:.*AArch64' >/dev/null; then
    log "linux-aarch64/libtenure_ffi.so is not an AArch64 ELF"; exit 1
fi

# --- jar, sources, javadoc, POM: install, and deploy into a file repository ---------------
# Maven copies resources into target/classes without deleting what an earlier build left
# there: a native library of an architecture this run does not build (--no-aarch64) would
# otherwise go into the jar stale.
rm -rf "$HERE/target/classes/linux-x86-64" "$HERE/target/classes/linux-aarch64"
MVN=(mvn -B -q -Dstyle.color=never -Dmaven.test.skip=true)
[[ "$JAVADOC" == 1 ]] || MVN+=(-Ddokka.javadoc.skip=true)
[[ -n "${TENURE_M2_REPO:-}" ]] && MVN+=("-Dmaven.repo.local=$TENURE_M2_REPO")
log "mvn deploy (compile, jar, sources jar$([[ $JAVADOC == 1 ]] && echo ", javadoc jar"), install, deploy to dist/jvm/repo)"
cd "$HERE"
rm -rf target/sources-jar target/dokkaJavadocJar target/tenure-kotlin-*.jar
nice -n 19 "${MVN[@]}" deploy "-DaltDeploymentRepository=dist::file://$OUT/repo"

COORD="$OUT/repo/dev/tenure/tenure-kotlin/$VERSION"
for f in "$COORD"/tenure-kotlin-"$VERSION"{.jar,-sources.jar,-javadoc.jar,.pom}; do
    [[ -f "$f" ]] && cp "$f" "$OUT/"
done
# Maven's file repository keeps maven-metadata.xml beside them; a release has no other files.

# --- checks -------------------------------------------------------------------------------
log "checking the jar, the sources jar, the javadoc jar and the POM"
python3 - "$OUT" "$VERSION" "$AARCH64" "$JAVADOC" <<'EOF'
import pathlib, sys, zipfile, xml.etree.ElementTree as ET

out, version, aarch64, javadoc = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3] == "1", sys.argv[4] == "1"
base = f"tenure-kotlin-{version}"
problems = []

def names(suffix):
    path = out / f"{base}{suffix}"
    if not path.exists():
        problems.append(f"{path.name} missing")
        return set()
    return set(zipfile.ZipFile(path).namelist())

jar = names(".jar")
need = ["linux-x86-64/libtenure_ffi.so", "dev/tenure/TenureClient.class", "dev/tenure/Lock.class",
        "dev/tenure/ffi/NativeClient.class", "dev/tenure/core/LockInfo.class",
        "META-INF/maven/dev.tenure/tenure-kotlin/pom.xml"]
if aarch64:
    need.append("linux-aarch64/libtenure_ffi.so")
problems += [f"jar lacks {n}" for n in need if n not in jar]
problems += [f"jar has stray {n}" for n in jar if n.endswith(".kt") or "/test/" in n]

src = names("-sources.jar")
problems += [f"sources jar lacks {n}" for n in
             ("dev/tenure/Client.kt", "dev/tenure/ffi/tenure_ffi.kt", "dev/tenure/core/tenure.kt") if n not in src]
if javadoc:
    doc = names("-javadoc.jar")
    if "index.html" not in doc:
        problems.append("javadoc jar has no index.html")

ns = {"m": "http://maven.apache.org/POM/4.0.0"}
pom = ET.parse(out / f"{base}.pom").getroot()
def text(path):
    e = pom.find(path, ns)
    return (e.text or "").strip() if e is not None else ""
for path in ("m:groupId", "m:artifactId", "m:version", "m:name", "m:description", "m:url",
             "m:licenses/m:license/m:name", "m:licenses/m:license/m:url",
             "m:developers/m:developer/m:name", "m:scm/m:url", "m:scm/m:connection"):
    if not text(path):
        problems.append(f"POM lacks {path.replace('m:', '')}")
if text("m:licenses/m:license/m:name") != "Apache-2.0":
    problems.append("POM license is not Apache-2.0")
scopes = {}
for d in pom.findall("m:dependencies/m:dependency", ns):
    scopes[d.find("m:artifactId", ns).text] = (d.find("m:scope", ns).text if d.find("m:scope", ns) is not None else "compile")
runtime = sorted(a for a, s in scopes.items() if s in ("compile", "runtime"))
if runtime != ["jna", "kotlin-stdlib", "kotlinx-coroutines-core"]:
    problems.append(f"POM compile/runtime dependencies are {runtime}")
if problems:
    sys.exit("\n".join(problems))
print(f"jar: {len(jar)} entries; sources jar: {len(src)}; dependencies: "
      + ", ".join(f"{a} ({s})" for a, s in sorted(scopes.items())))
EOF

echo "== dist/jvm ($PROFILE natives: linux-x86-64$([[ $AARCH64 == 1 ]] && echo ", linux-aarch64"))"
( cd "$OUT" && ls -l --block-size=K ./*.jar ./*.pom | awk '{print "  " $5 "\t" $9}' )
echo "  natives in the jar:"
unzip -lv "$OUT/tenure-kotlin-$VERSION.jar" | awk '/libtenure_ffi.so$/ {printf "    %s: %d bytes, %d compressed\n", $8, $1, $3}'
log "done in $(( $(date +%s) - START )) s"

if [[ "$TEST" == 1 ]]; then
    bash "$REPO/tools/dist/test-jvm-artifact.sh"
fi
