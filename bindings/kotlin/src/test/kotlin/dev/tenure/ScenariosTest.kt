package dev.tenure

import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.io.PrintWriter
import java.time.Duration
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotEquals
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.test.fail
import kotlin.time.Duration.Companion.seconds
import org.junit.jupiter.api.DynamicTest
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestFactory
import org.junit.jupiter.api.Timeout

/** A tenure-testkit process: a cluster of real `tenure server` processes driven over stdin. */
class Kit : AutoCloseable {
    private val process: Process = ProcessBuilder(binary().path)
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start()
    private val input = PrintWriter(process.outputStream, true)
    private val output = BufferedReader(InputStreamReader(process.inputStream))
    val endpoints: String = field(answer(), "endpoints")

    private fun answer(): String {
        val line = output.readLine() ?: error("tenure-testkit exited")
        check(!line.contains("\"error\"")) { line }
        return line
    }

    /** Sends [command]; returns the JSON answer line. */
    fun send(command: String): String {
        input.println(command)
        return answer()
    }

    override fun close() {
        input.close()
        if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly()
    }

    companion object {
        fun binary(): File = File(System.getenv("TENURE_TESTKIT") ?: File(TenureCluster.binary().parentFile, "tenure-testkit").path)

        /** The value of a string or number field of a one-line JSON object. */
        fun field(json: String, name: String): String =
            Regex("\"$name\":(?:\"([^\"]*)\"|([0-9]+))").find(json)
                ?.groupValues?.let { it[1].ifEmpty { it[2] } }
                ?: error("no $name in $json")
    }
}

/**
 * The shared scenario list (tests/scenarios.toml), run by the Kotlin binding. A scenario of the
 * file without an implementation here fails.
 */
@Timeout(600)
class ScenariosTest {
    private val listed: List<String> = Regex("^id = \"([a-z0-9_]+)\"$", RegexOption.MULTILINE)
        .findAll(File(System.getProperty("tenure.repo") ?: "../..", "tests/scenarios.toml").readText())
        .map { it.groupValues[1] }
        .toList()

    private val clients = CopyOnWriteArrayList<TenureClient>()

    private suspend fun Kit.client(ttl: Duration = Duration.ofSeconds(5)): TenureClient =
        TenureClient.connect(endpoints, ClientOptions(ttl = ttl)).also { clients += it }

    private fun Kit.admin(): TenureClient = TenureClient.connectLazy(endpoints).also { clients += it }

    private suspend fun Kit.waiters(name: String): Int = admin().describe(name)?.waiters?.size ?: 0

    private fun holder(vararg args: String, env: Map<String, String> = emptyMap()): Process {
        val java = File(System.getProperty("java.home"), "bin/java").path
        val builder = ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ScenarioHolder::class.java.name, *args)
        builder.environment().putAll(env)
        return builder.start()
    }

    private fun Process.finish(): Triple<Int, String, String> {
        val out = inputStream.bufferedReader().readText()
        val err = errorStream.bufferedReader().readText()
        check(waitFor(60, TimeUnit.SECONDS)) { "holder did not exit" }
        return Triple(exitValue(), out, err)
    }

    /** Types a scenario's body (a suspend lambda). */
    private fun scenario(body: suspend (Kit) -> Unit) = body

    private val scenarios: Map<String, suspend (Kit) -> Unit> = mapOf(
        "acquire_release_rising_tokens" to scenario { kit ->
            val c = kit.client()
            var last = 0uL
            repeat(3) {
                val lock = c.tryLock("kt/rising")
                assertTrue(lock.fencingToken > last)
                last = lock.fencingToken
                lock.close()
                assertFalse(lock.isHeld())
                assertEquals(null, c.describe("kt/rising"))
            }
        },
        "fifo_handover_three_waiters" to scenario { kit ->
            coroutineScope {
                val first = kit.client().tryLock("kt/fifo")
                val waiting = (1..3).map { i ->
                    val c = kit.client()
                    async { c.lock("kt/fifo", 30.seconds) }.also {
                        eventually(what = "waiter $i queued") { kit.waiters("kt/fifo") == i }
                    }
                }
                var token = first.fencingToken
                first.release()
                for (w in waiting) {
                    val lock = w.await()
                    assertTrue(lock.fencingToken > token, "FIFO order or token broken")
                    token = lock.fencingToken
                    lock.release()
                }
            }
        },
        "wait_timeout" to scenario { kit ->
            kit.client().tryLock("kt/timeout").use {
                assertFailsWith<TenureException.Timeout> { kit.client().lock("kt/timeout", Duration.ofMillis(300)) }
                assertEquals(0, kit.waiters("kt/timeout"))
            }
        },
        "try_lock" to scenario { kit ->
            val b = kit.client()
            kit.client().tryLock("kt/try").use {
                assertFailsWith<TenureException.LockHeld> { b.tryLock("kt/try") }
            }
            b.tryLock("kt/try").release()
        },
        "acquire_all" to scenario { kit ->
            coroutineScope {
                val a = kit.client()
                val b = kit.client()
                val both = a.acquireAll(listOf("kt/all/a", "kt/all/b"))
                assertEquals(listOf("kt/all/a", "kt/all/b"), both.map { it.name })
                assertNotEquals(both[0].ownerId, both[1].ownerId)
                assertTrue(both[1].fencingToken > both[0].fencingToken)
                both.release()
                val held = b.tryLock("kt/all/b")
                val err = assertFailsWith<TenureException.LockHeld> { a.acquireAll(listOf("kt/all/c", "kt/all/b")) }
                assertTrue("kt/all/b" in err.message.orEmpty(), "names the lock taken: ${err.message}")
                assertNull(kit.admin().describe("kt/all/c"), "kt/all/c stays free")
                val waiting = async { a.acquireAll(listOf("kt/all/c", "kt/all/b"), 20.seconds) }
                delay(300)
                held.release()
                waiting.await().use { got ->
                    assertEquals(listOf("kt/all/c", "kt/all/b"), got.map { it.name })
                    assertTrue(got[1].fencingToken > held.fencingToken)
                }
                assertFailsWith<TenureException.InvalidArgument> { a.acquireAll(listOf("kt/all/d", "kt/all/d")) }
                for (name in listOf("kt/all/a", "kt/all/b", "kt/all/c", "kt/all/d")) assertNull(kit.admin().describe(name), name)
            }
        },
        "already_held" to scenario { kit ->
            coroutineScope {
                val a = kit.client()
                val b = kit.client()
                val held = a.tryLock("kt/again")
                assertFailsWith<TenureException.AlreadyHeld> { a.tryLock("kt/again") }
                // Queued behind its own grant it would end with Timeout, not AlreadyHeld.
                assertFailsWith<TenureException.AlreadyHeld> { a.lock("kt/again", 10.seconds) }
                assertEquals(0, kit.waiters("kt/again"))
                val waiting = async { b.lock("kt/again", 20.seconds) }
                eventually(what = "b queued") { kit.waiters("kt/again") == 1 }
                val first = held.fencingToken
                held.release()
                val theirs = waiting.await()
                assertTrue(theirs.fencingToken > first)
                theirs.release()
                val again = a.tryLock("kt/again")
                assertTrue(again.fencingToken > theirs.fencingToken)
                again.release()
            }
        },
        "lock_value" to scenario { kit ->
            coroutineScope {
                val a = kit.client()
                val b = kit.client()
                val held = a.acquire("kt/valued", AcquireOptions().withValue("a at 10.0.0.1:80"))
                val waiting = async {
                    b.acquire("kt/valued", AcquireOptions.wait(20.seconds).withValue("b\twaits"))
                }
                eventually(what = "b queued") { kit.waiters("kt/valued") == 1 }
                val info = kit.admin().describe("kt/valued")!!
                assertEquals(listOf("a at 10.0.0.1:80"), info.holders.map { it.value })
                assertEquals(listOf("b\twaits"), info.waiters.map { it.value })
                assertEquals("a at 10.0.0.1:80", kit.admin().listLocks("kt/valued")[0].holders[0].value)
                held.release()
                val theirs = waiting.await()
                assertEquals("b\twaits", kit.admin().describe("kt/valued")!!.holders[0].value)
                theirs.release()
                for (bad in listOf("v".repeat(1025), "two\nlines")) {
                    assertFailsWith<TenureException.InvalidArgument> {
                        a.acquire("kt/valued", AcquireOptions().withValue(bad))
                    }
                }
                assertEquals(null, kit.admin().describe("kt/valued"))
            }
        },
        "semaphore" to scenario { kit ->
            coroutineScope {
                val (a, b, c, d) = List(4) { kit.client() }
                val one = a.semaphore("kt/sem", 2).tryAcquire()
                val two = b.semaphore("kt/sem", 2).tryAcquire()
                assertTrue(two.fencingToken > one.fencingToken)
                assertTrue(two.ownerId != one.ownerId)
                assertFailsWith<TenureException.LockHeld> { c.semaphore("kt/sem", 2).tryAcquire() }
                assertFailsWith<TenureException.InvalidArgument> { c.semaphore("kt/sem", 3).tryAcquire() }
                assertFailsWith<TenureException.InvalidArgument> { c.tryLock("kt/sem") }
                val waiting = async { c.semaphore("kt/sem", 2).acquire(20.seconds) }
                eventually(what = "third queued") { kit.waiters("kt/sem") == 1 }
                one.release()
                val three = waiting.await()
                assertTrue(three.fencingToken > two.fencingToken)
                b.close()
                val four = d.semaphore("kt/sem", 2).tryAcquire()
                val info = kit.admin().describe("kt/sem")!!
                assertEquals(2u, info.permitLimit)
                assertEquals(2u, info.holders.sumOf { it.permits })
                three.release()
                four.release()
            }
        },
        "revoke_request" to scenario { kit ->
            coroutineScope {
                val holder = kit.client(Duration.ofSeconds(3))
                val other = kit.client(Duration.ofSeconds(3))
                val lock = holder.tryLock("kt/revoke")
                val calls = AtomicInteger()
                lock.onRevokeRequested { calls.incrementAndGet() }
                assertFalse(lock.revokeRequested)
                assertEquals(emptyList(), other.requestRelease("kt/revoke", "7".padStart(32, '0'), "not it"))
                val asked = other.requestRelease("kt/revoke", reason = "deploy")
                assertEquals(listOf(lock.ownerId to lock.fencingToken), asked.map { it.ownerId to it.token })
                withTimeout(10.seconds) { lock.awaitRevokeRequested() }
                assertTrue(lock.revokeRequested)
                eventually(what = "the callback ran") { calls.get() > 0 }
                // Every renewal repeats the request until the grant ends: two more keepalive
                // intervals later the callback still ran only once.
                delay(2_500)
                assertEquals(1, calls.get(), "the callback ran more than once")
                assertEquals(listOf(true), other.describe("kt/revoke")?.holders?.map { it.releaseRequested })
                // Still held: the holder decides.
                assertTrue(lock.isHeld())
                assertFailsWith<TenureException.LockHeld> { other.tryLock("kt/revoke") }
                val waiting = async { other.lock("kt/revoke", 20.seconds) }
                eventually(what = "waiter queued") { kit.waiters("kt/revoke") == 1 }
                lock.release()
                val next = waiting.await()
                assertTrue(next.fencingToken > lock.fencingToken)
                assertFalse(next.revokeRequested)
                assertEquals(listOf(false), holder.describe("kt/revoke")?.holders?.map { it.releaseRequested })
                next.release()
            }
        },
        "watch_prefix" to scenario { kit ->
            coroutineScope {
                val a = kit.client()
                val b = kit.client()
                val first = a.acquire("kt/w/a", AcquireOptions().withValue("a1"))
                a.watch("kt/w/").use { watcher ->
                    val reset = watcher.nextSoon()
                    assertTrue(reset.reset && reset.events.isEmpty(), "$reset")
                    assertEquals(listOf("kt/w/a"), reset.locks.map { it.name })
                    assertEquals("a1", reset.locks[0].holders[0].value)
                    val waiting = async { b.acquire("kt/w/a", AcquireOptions.wait(20.seconds)) }
                    val added = watcher.nextSoon()
                    assertEquals(listOf("waiter_added"), added.events.map { it.change.code })
                    val resumeAt = added.revision
                    assertTrue(resumeAt > reset.revision)
                    // Not under the prefix: not reported.
                    val other = a.tryLock("kt/x/other")
                    first.release()
                    val second = waiting.await()
                    second.setValue("b2")
                    val seen = mutableListOf<WatchEvent>()
                    var last = resumeAt
                    while (seen.size < 3) {
                        val batch = watcher.nextSoon()
                        assertFalse(batch.reset, "$batch")
                        for (e in batch.events) {
                            assertTrue(e.revision > last, "revisions must increase")
                            last = e.revision
                            assertEquals("kt/w/a", e.name)
                            seen += e
                        }
                    }
                    assertEquals(listOf(LockChange.RELEASED, LockChange.GRANTED, LockChange.VALUE_CHANGED), seen.map { it.change })
                    assertEquals(first.fencingToken, seen[0].token)
                    assertEquals(second.fencingToken, seen[1].token)
                    assertTrue(seen[1].requestId > 0u && seen[1].sessionId == second.sessionId, "${seen[1]}")
                    assertEquals("b2", seen[2].value)
                    assertTrue(watcher.revision >= last)
                    // A second watcher resumes after the waiter_added batch: no reset.
                    b.watch("kt/w/", resumeAt).use { resumed ->
                        val again = mutableListOf<String>()
                        while (again.size < 3) {
                            val batch = resumed.nextSoon()
                            assertFalse(batch.reset, "resumed with a reset: $batch")
                            again += batch.events.map { it.change.code }
                        }
                        assertEquals(listOf("released", "granted", "value_changed"), again)
                    }
                    other.release()
                    second.release()
                }
            }
        },
        "election" to scenario { kit ->
            coroutineScope {
                val (a, b, watching) = List(3) { kit.client(Duration.ofSeconds(3)) }
                val leading = a.election("kt/e/leader").campaign("n1", 5.seconds)
                watching.election("kt/e/leader").observe().use { observer ->
                    val seen = assertNotNull(observer.nextSoon(), "a leader")
                    assertEquals("n1" to leading.fencingToken, seen.value to seen.token)
                    assertEquals(seen, watching.election("kt/e/leader").leader())
                    val waiting = async { b.election("kt/e/leader").campaign("n2", 20.seconds) }
                    eventually(what = "b waits") { kit.waiters("kt/e/leader") == 1 }
                    leading.setValue("n1b") // proclaim
                    val proclaimed = assertNotNull(observer.nextSoon(), "still a")
                    assertEquals("n1b" to leading.fencingToken, proclaimed.value to proclaimed.token)
                    leading.release() // resign
                    assertNull(observer.nextSoon(), "the leader going away")
                    val second = waiting.await()
                    val next = assertNotNull(observer.nextSoon(), "b")
                    assertEquals("n2", next.value)
                    assertEquals(second.fencingToken, next.token)
                    assertTrue(next.token > leading.fencingToken)
                    b.close()
                    assertNull(observer.nextSoon(), "the closed leader going away")
                    assertNull(watching.election("kt/e/leader").leader())
                }
            }
        },
        "cancel_withdraws" to scenario { kit ->
            coroutineScope {
                val held = kit.client().tryLock("kt/cancel")
                val b = kit.client()
                val waiting = async { b.lock("kt/cancel", 30.seconds) }
                eventually(what = "waiter queued") { kit.waiters("kt/cancel") == 1 }
                waiting.cancel()
                assertFailsWith<CancellationException> { waiting.await() }
                eventually(what = "waiter withdrawn") { kit.waiters("kt/cancel") == 0 }
                held.release()
            }
        },
        "shared_mode" to scenario { kit ->
            val shared = AcquireOptions().shared()
            val one = kit.client().acquire("kt/shared", shared)
            val two = kit.client().acquire("kt/shared", shared)
            assertTrue(one.isHeld() && two.isHeld())
            val c = kit.client()
            assertFailsWith<TenureException.LockHeld> { c.tryLock("kt/shared") }
            one.release()
            assertFailsWith<TenureException.LockHeld> { c.tryLock("kt/shared") }
            two.release()
            c.tryLock("kt/shared").release()
        },
        "lost_after_blacklist" to scenario { kit ->
            val lock = kit.client(Duration.ofSeconds(3)).tryLock("kt/blacklist")
            kit.admin().blacklist(lock.sessionId, "scenario")
            assertEquals(LostReason.SESSION_BLACKLISTED, lock.awaitLost())
            assertFalse(lock.isHeld())
        },
        "lost_after_sigstop" to scenario { kit ->
            val child = holder("pause", kit.endpoints, "kt/pause")
            val lines = child.inputStream.bufferedReader()
            val stale = lines.readLine().split(" ")[1].toULong()
            val pid = child.pid().toString()
            ProcessBuilder("kill", "-STOP", pid).start().waitFor()
            val storage = FenceValidator()
            val lock = try {
                kit.client().lock("kt/pause", Duration.ofSeconds(20)).also {
                    assertTrue(it.fencingToken > stale)
                    storage.check(it.fence)
                }
            } finally {
                ProcessBuilder("kill", "-CONT", pid).start().waitFor()
            }
            val resumed = System.nanoTime()
            assertEquals("lost session_expired", lines.readLine())
            assertTrue(System.nanoTime() - resumed < 1_000_000_000L, "isHeld() stayed true after the resume")
            assertFailsWith<TenureException.LockLost> { storage.check(Fence("kt/pause", stale)) }
            lock.release()
            child.waitFor(30, TimeUnit.SECONDS)
        },
        "jeopardy_then_expired" to scenario { kit ->
            val c = kit.client(Duration.ofSeconds(2))
            val lock = c.tryLock("kt/jeopardy")
            val seen = CopyOnWriteArrayList<SessionState>()
            c.onSessionState { seen += it }.use {
                kit.send("pause-all")
                try {
                    eventually(10.seconds, "expired") { SessionState.EXPIRED in seen }
                } finally {
                    kit.send("resume-all")
                }
            }
            assertEquals(listOf(SessionState.JEOPARDY, SessionState.EXPIRED), seen.take(2))
            assertEquals(LostReason.SESSION_EXPIRED, lock.lostReason)
        },
        "force_release" to scenario { kit ->
            coroutineScope {
                val old = kit.client().tryLock("kt/force")
                val waiter = kit.client()
                val next = async { waiter.lock("kt/force", 30.seconds) }
                eventually(what = "waiter queued") { kit.waiters("kt/force") == 1 }
                val boss = kit.admin()
                assertEquals(1, boss.forceRelease("kt/force", old.ownerId, "scenario").size)
                val lock = next.await()
                assertTrue(lock.fencingToken > old.fencingToken)
                assertEquals(LostReason.FORCE_RELEASED, old.awaitLost())
                assertFailsWith<TenureException.NotHolder> { boss.forceRelease("kt/force", old.ownerId, "again") }
                lock.release()
            }
        },
        "leader_killed_lock_held" to scenario { kit ->
            val c = kit.client(Duration.ofSeconds(3))
            val lock = c.tryLock("kt/failover")
            val session = c.sessionId()
            kit.send("kill-leader")
            delay(6_000) // two TTLs across the failover
            assertTrue(lock.isHeld(), "lost: ${lock.lostReason}")
            assertEquals(session, c.sessionId())
            assertEquals(SessionState.HEALTHY, c.sessionState)
            lock.release()
        },
        "retried_request_applies_once" to scenario { kit ->
            val proxy = Kit.field(kit.send("proxy"), "proxy")
            val options = ClientOptions(ttl = Duration.ofSeconds(5), attemptTimeout = Duration.ofSeconds(1))
            val c = TenureClient.connect(proxy, options).also { clients += it }
            val before = kit.admin().status().nextToken
            kit.send("cut-next-reply")
            val lock = c.tryLock("kt/retry")
            assertEquals("1", Kit.field(kit.send("cuts"), "cuts"))
            assertEquals(before + 1u, kit.admin().status().nextToken)
            assertEquals(listOf(lock.ownerId), kit.admin().describe("kt/retry")?.holders?.map { it.ownerId })
            lock.release()
        },
        "bad_input" to scenario { kit ->
            val c = kit.client()
            val kept = c.tryLock("kt/bad/kept")
            val before = kit.admin().listLocks()
            for (name in listOf("", "x".repeat(257), "a\u0007b")) {
                assertFailsWith<TenureException.InvalidArgument>(name) { c.tryLock(name) }
            }
            assertFailsWith<TenureException.InvalidArgument> { c.lock("kt/bad", Duration.ofMillis(-1)) }
            assertFailsWith<TenureException.InvalidArgument> { Fence.parse("no-token") }
            assertFailsWith<TenureException.InvalidArgument> { Fence("", 1u) }
            assertEquals(before, kit.admin().listLocks())
            kept.release()
        },
        "scope_exit_after_loss" to scenario { kit ->
            val c = kit.client()
            val boss = kit.admin()
            assertFailsWith<TenureException.LockLost> {
                c.tryLock("kt/scope").use { lock ->
                    boss.forceRelease("kt/scope", lock.ownerId, "scenario")
                    lock.awaitLost()
                }
            }
            assertFailsWith<TenureException.LockLost> {
                c.withLock("kt/scope", 5.seconds) { lock ->
                    boss.forceRelease("kt/scope", lock.ownerId, "scenario")
                    awaitCancellation()
                }
            }
            assertEquals(7, c.withLock("kt/scope", 5.seconds) { 7 })
            c.tryLock("kt/scope").use { }
        },
        "release_on_drop" to scenario { kit ->
            val a = kit.client(Duration.ofSeconds(30))
            val b = kit.client()
            a.tryLock("kt/drop") // dropped at once: the garbage collector frees it
            val got = run {
                var lock: Lock? = null
                eventually(20.seconds, "released after GC") {
                    System.gc()
                    lock = runCatching { b.tryLock("kt/drop") }.getOrNull()
                    lock != null
                }
                lock
            }
            assertNotNull(got).release()
        },
        "clean_exit_with_open_clients" to scenario { kit ->
            val (code, out, err) = holder("exit", kit.endpoints, "kt/exit").finish()
            assertEquals(0, code, err)
            assertEquals("acquired", out.trim())
            // Free once the exited holder's session has expired (ttl 3 s).
            kit.client().lock("kt/exit", Duration.ofSeconds(10)).release()
        },
        "env_configuration" to scenario { kit ->
            val env = mapOf("TENURE_ENDPOINTS" to kit.endpoints)
            val (code, out, err) = holder("env", "-", "kt/env", env = env).finish()
            assertEquals(0, code, err)
            assertEquals("acquired", out.trim())
            val (optedOut, _, optedErr) = holder("env", "-", "kt/env", "no-env", env = env).finish()
            assertNotEquals(0, optedOut)
            assertTrue("InvalidArgument" in optedErr, optedErr)
        },
    )

    private suspend fun Watcher.nextSoon(): WatchBatch = withTimeout(15.seconds) { next() }

    private suspend fun Observer.nextSoon(): Leader? = withTimeout(15.seconds) { next() }

    /** Scenarios that stop or kill nodes get a cluster of their own. */
    private val ownCluster = setOf("jeopardy_then_expired", "leader_killed_lock_held", "retried_request_applies_once")

    @Test
    fun `reads the kit's answers`() {
        assertEquals("a:1,b:2", Kit.field("""{"endpoints":"a:1,b:2"}""", "endpoints"))
        assertEquals("3", Kit.field("""{"killed":3,"leader":1}""", "killed"))
    }

    @Test
    fun `implements exactly the listed scenarios`() {
        assertEquals(listed.sorted(), scenarios.keys.sorted())
    }

    @TestFactory
    fun `shared scenarios`(): List<DynamicTest> {
        val shared = lazy { Kit() }
        // TENURE_SCENARIOS=id,id runs only those (the others are skipped, not dropped).
        val only = System.getenv("TENURE_SCENARIOS")?.split(",")?.toSet()
        val tests = listed.filter { only == null || it in only }.map { id ->
            DynamicTest.dynamicTest(id) {
                val run = scenarios[id] ?: fail("tests/scenarios.toml lists $id but Kotlin has no implementation")
                runBlocking {
                    if (id in ownCluster) Kit().use { run(it) } else run(shared.value)
                }
                clients.forEach { runCatching { it.close() } }
                clients.clear()
            }
        }
        return tests + DynamicTest.dynamicTest("stop the shared cluster") {
            if (shared.isInitialized()) shared.value.close()
        }
    }
}
