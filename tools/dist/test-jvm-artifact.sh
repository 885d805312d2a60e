#!/usr/bin/env bash
# Install test of the JVM artifact: what a user of dev.tenure:tenure-kotlin gets.
#
# A fresh Maven project in a temporary directory, whose POM depends only on the installed
# coordinate dev.tenure:tenure-kotlin:<version> (as bindings/kotlin/dist.sh installed it into
# the local Maven repository) plus the test libraries, gets a copy of the binding's Kotlin tests
# (src/test/kotlin) and runs them with `mvn test` against real `tenure dev` / tenure-testkit
# clusters. Maven runs with no cargo or rustc on PATH, no LD_LIBRARY_PATH and no
# jna.library.path. A guard test (InstalledArtifactTest, written here) fails the run unless
#   - the binding's classes come from the jar in the local repository, byte for byte the jar
#     in dist/jvm, and
#   - JNA loaded libtenure_ffi from the jar's linux-x86-64/ resource (extracted to JNA's temp
#     directory), not from a libtenure_ffi.so on disk (the checkout's target/ or build/).
# Then the examples (examples/kotlin, copied) run against a cluster from the same artifact.
#
#   tools/dist/test-jvm-artifact.sh [-- mvn args, e.g. -Dtest=LockTest]
#
# TENURE_BIN is the server (default target/debug/tenure, tenure-testkit next to it:
# cargo build --workspace). TENURE_M2_REPO: the local repository dist.sh installed into.
# Prints `kotlin: N passed, N failed, N skipped` from the surefire reports.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ "${1:-}" = "--" ] && shift
START=$(date +%s)
log() { echo "[jvm-artifact +$(( $(date +%s) - START ))s] $*" >&2; }

VERSION="$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' "$REPO/Cargo.toml")"
DIST_JAR="$REPO/dist/jvm/tenure-kotlin-$VERSION.jar"
[ -f "$DIST_JAR" ] || { log "no $DIST_JAR: run bindings/kotlin/dist.sh first"; exit 1; }

export TENURE_BIN="${TENURE_BIN:-$REPO/target/debug/tenure}"
TESTKIT="$(dirname "$TENURE_BIN")/tenure-testkit"
for bin in "$TENURE_BIN" "$TESTKIT"; do
    [ -x "$bin" ] || { log "$bin not found: cargo build --workspace"; exit 1; }
done

# Versions of the test libraries and of the Kotlin compiler: the binding's own.
eval "$(python3 - "$REPO/bindings/kotlin/pom.xml" <<'EOF'
import sys, xml.etree.ElementTree as ET
ns = {"m": "http://maven.apache.org/POM/4.0.0"}
props = ET.parse(sys.argv[1]).getroot().find("m:properties", ns)
for key in ("kotlin.version", "junit.version", "sqlite.version", "jna.version"):
    print(f'{key.replace(".", "_").upper()}="{props.find("m:" + key, ns).text}"')
EOF
)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tenure-jvm-artifact.XXXXXX")"
DEV=""
cleanup() {
    if [ -n "$DEV" ]; then kill -TERM "$DEV" 2>/dev/null || true; wait "$DEV" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT
PROJECT="$WORK/project"
TREE="$WORK/tree" # what the tests read from the repository: tests/scenarios.toml
mkdir -p "$PROJECT/src/test/kotlin" "$PROJECT/src/test/resources" "$TREE/tests"
cp -r "$REPO/bindings/kotlin/src/test/kotlin/." "$PROJECT/src/test/kotlin/"
cp "$REPO/tests/scenarios.toml" "$TREE/tests/"

# Everything from here on sees only the system PATH: no ~/.cargo/bin, no LD_LIBRARY_PATH.
CLEAN_ENV=(env -i "HOME=$HOME" "PATH=/usr/bin:/bin" "LANG=C.UTF-8" "TMPDIR=${TMPDIR:-/tmp}"
    "TENURE_BIN=$TENURE_BIN" "TENURE_TESTKIT=$TESTKIT")
[ -n "${TENURE_SCENARIOS:-}" ] && CLEAN_ENV+=("TENURE_SCENARIOS=$TENURE_SCENARIOS")
"${CLEAN_ENV[@]}" bash -c '
    if command -v cargo || command -v rustc; then
        echo "test-jvm-artifact: cargo/rustc is on PATH ($PATH)" >&2; exit 1
    fi
    echo "cargo: not on PATH ($PATH)"; command -v mvn java'
MVN_ARGS=(-B -q -Dstyle.color=never)
if [ -n "${TENURE_M2_REPO:-}" ]; then
    MVN_ARGS+=("-Dmaven.repo.local=$TENURE_M2_REPO")
    LOCAL_REPO="$TENURE_M2_REPO"
else
    LOCAL_REPO="$HOME/.m2/repository"
fi
LOCAL_REPO="$(cd "$LOCAL_REPO" && pwd -P)"

cat >"$PROJECT/pom.xml" <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!-- A user's project: the published coordinate and test libraries, nothing from the checkout. -->
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
         xsi:schemaLocation="http://maven.apache.org/POM/4.0.0 https://maven.apache.org/xsd/maven-4.0.0.xsd">
  <modelVersion>4.0.0</modelVersion>
  <groupId>example</groupId>
  <artifactId>tenure-kotlin-install-test</artifactId>
  <version>1</version>
  <properties>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencyManagement>
    <dependencies>
      <!-- One JUnit version for the engine, the launcher and kotlin-test-junit5. -->
      <dependency>
        <groupId>org.junit</groupId>
        <artifactId>junit-bom</artifactId>
        <version>$JUNIT_VERSION</version>
        <type>pom</type>
        <scope>import</scope>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>dev.tenure</groupId>
      <artifactId>tenure-kotlin</artifactId>
      <version>$VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.junit.jupiter</groupId>
      <artifactId>junit-jupiter</artifactId>
      <version>$JUNIT_VERSION</version>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>org.jetbrains.kotlin</groupId>
      <artifactId>kotlin-test-junit5</artifactId>
      <version>$KOTLIN_VERSION</version>
      <scope>test</scope>
    </dependency>
    <dependency>
      <groupId>org.xerial</groupId>
      <artifactId>sqlite-jdbc</artifactId>
      <version>$SQLITE_VERSION</version>
      <scope>test</scope>
    </dependency>
  </dependencies>
  <build>
    <testSourceDirectory>src/test/kotlin</testSourceDirectory>
    <plugins>
      <plugin>
        <groupId>org.jetbrains.kotlin</groupId>
        <artifactId>kotlin-maven-plugin</artifactId>
        <version>$KOTLIN_VERSION</version>
        <configuration>
          <jvmTarget>17</jvmTarget>
        </configuration>
        <executions>
          <execution>
            <id>test-compile</id>
            <phase>test-compile</phase>
            <goals>
              <goal>test-compile</goal>
            </goals>
          </execution>
        </executions>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-surefire-plugin</artifactId>
        <version>3.5.4</version>
        <configuration>
          <systemPropertyVariables>
            <tenure.repo>$TREE</tenure.repo>
            <tenure.expected.jar>$DIST_JAR</tenure.expected.jar>
            <tenure.local.repo>$LOCAL_REPO</tenure.local.repo>
            <tenure.checkout>$REPO</tenure.checkout>
          </systemPropertyVariables>
          <trimStackTrace>false</trimStackTrace>
        </configuration>
      </plugin>
    </plugins>
  </build>
</project>
EOF

# The guard runs first (class order) and in the same JVM as every other test class.
cat >"$PROJECT/src/test/resources/junit-platform.properties" <<'EOF'
junit.jupiter.testclass.order.default=org.junit.jupiter.api.ClassOrderer$OrderAnnotation
EOF
cat >"$PROJECT/src/test/kotlin/dev/tenure/InstalledArtifactTest.kt" <<'EOF'
package dev.tenure

import com.sun.jna.Library
import com.sun.jna.NativeLibrary
import java.io.File
import java.security.MessageDigest
import kotlin.test.assertEquals
import kotlin.test.assertNull
import kotlin.test.assertTrue
import org.junit.jupiter.api.Order
import org.junit.jupiter.api.Test

/** Written by tools/dist/test-jvm-artifact.sh: the tests run against the installed artifact. */
@Order(0)
class InstalledArtifactTest {
    private fun sha256(f: File) = MessageDigest.getInstance("SHA-256").digest(f.readBytes()).joinToString("") { "%02x".format(it) }

    private fun origin(c: Class<*>) = File(c.protectionDomain.codeSource.location.toURI()).canonicalFile

    @Test
    fun `the classes come from the installed jar`() {
        val expected = File(System.getProperty("tenure.expected.jar"))
        val repo = File(System.getProperty("tenure.local.repo")).canonicalPath
        for (c in listOf(TenureClient::class.java, dev.tenure.ffi.NativeClient::class.java, dev.tenure.core.LockInfo::class.java)) {
            val jar = origin(c)
            assertTrue(jar.isFile && jar.path.startsWith("$repo/dev/tenure/tenure-kotlin/"), "${c.name} from $jar")
            assertEquals(sha256(expected), sha256(jar), "$jar is not $expected")
        }
        println("classes: ${origin(TenureClient::class.java)} (= ${expected.name})")
    }

    @Test
    fun `JNA loaded the native library from the jar`() {
        assertNull(System.getProperty("jna.library.path"), "jna.library.path is set")
        assertNull(System.getenv("LD_LIBRARY_PATH"), "LD_LIBRARY_PATH is set")
        dev.tenure.ffi.errorCodes() // loads libtenure_ffi
        val mapped = File("/proc/self/maps").readLines().filter { "tenure_ffi" in it }
        assertTrue(mapped.isEmpty(), "a libtenure_ffi file is mapped: $mapped")
        val options = mapOf(Library.OPTION_CLASSLOADER to dev.tenure.ffi.NativeClient::class.java.classLoader)
        val file = NativeLibrary.getInstance("tenure_ffi", options).file.absoluteFile
        val checkout = File(System.getProperty("tenure.checkout")).canonicalPath
        // A class-path resource inside a jar is extracted to JNA's temp directory as jna*.tmp,
        // loaded, and the file deleted at once (the mapping stays).
        assertTrue(file.name.startsWith("jna") && file.name.endsWith(".tmp") && !file.path.startsWith(checkout),
            "libtenure_ffi from $file")
        val maps = File("/proc/self/maps").readLines()
        assertTrue(maps.any { it.endsWith(" ${file.path}") || it.endsWith(" ${file.path} (deleted)") },
            "$file is not mapped")
        val resource = checkNotNull(javaClass.classLoader.getResource("linux-x86-64/libtenure_ffi.so"))
        assertTrue(resource.protocol == "jar" && "/dev/tenure/tenure-kotlin/" in resource.path, "the resource is $resource")
        println("native library: $file, extracted from $resource")
    }
}
EOF

log "fresh project $PROJECT: dev.tenure:tenure-kotlin:$VERSION from $LOCAL_REPO"
cd "$PROJECT"
"${CLEAN_ENV[@]}" mvn "${MVN_ARGS[@]}" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:tree -Dscope=runtime -DoutputFile="$WORK/deps.txt" >/dev/null
sed 's/^/  /' "$WORK/deps.txt"

log "mvn test (copy of the binding's tests, against real clusters)"
rc=0
"${CLEAN_ENV[@]}" mvn "${MVN_ARGS[@]}" test "$@" || rc=$?
python3 - "$PROJECT/target/surefire-reports" <<'EOF'
import glob, sys, xml.etree.ElementTree as ET
t = f = e = s = 0
for path in glob.glob(sys.argv[1] + "/TEST-*.xml"):
    r = ET.parse(path).getroot()
    t += int(r.get("tests", 0)); f += int(r.get("failures", 0))
    e += int(r.get("errors", 0)); s += int(r.get("skipped", 0))
failed = f + e
print(f"kotlin: {t - failed - s} passed, {failed} failed, {s} skipped")
EOF
grep -h -E '^(classes|native library):' "$PROJECT"/target/surefire-reports/*-output.txt 2>/dev/null | sed 's/^/  /' || true
if [ $rc -ne 0 ]; then
    cp -r "$PROJECT/target/surefire-reports" "$REPO/target/jvm-artifact-surefire-reports" 2>/dev/null || true
    log "mvn test failed (exit $rc); reports copied to target/jvm-artifact-surefire-reports"
    exit $rc
fi

# --- the examples, from a copy, against a real cluster -----------------------------------
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
"$TENURE_BIN" dev --nodes 3 --port "$PORT" >"$WORK/dev.out" 2>"$WORK/dev.err" &
DEV=$!
for _ in $(seq 1 300); do
    grep -q '^endpoints:' "$WORK/dev.out" && break
    kill -0 "$DEV" 2>/dev/null || { cat "$WORK/dev.err" >&2; exit 1; }
    sleep 0.1
done
ENDPOINTS="$(sed -n 's/^endpoints: //p' "$WORK/dev.out" | head -1)"
[ -n "$ENDPOINTS" ] || { log "tenure dev did not start"; cat "$WORK/dev.err" >&2; exit 1; }

cp -r "$REPO/examples/kotlin" "$WORK/examples"
rm -rf "$WORK/examples/target"
cd "$WORK/examples"
log "examples: quickstart and fenced worker against $ENDPOINTS"
"${CLEAN_ENV[@]}" "TENURE_ENDPOINTS=$ENDPOINTS" mvn "${MVN_ARGS[@]}" compile exec:java@quickstart exec:java@fenced-worker

log "done in $(( $(date +%s) - START )) s"
