package dev.tenure

import java.time.Duration
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNotNull
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** Acquire, release, contention, waiting, try-lock, `use {}`, withLock. */
@Timeout(60)
class LockTest : ClusterTest() {
    @Test
    fun `acquire and release`() = runBlocking {
        val client = client()
        val admin = admin()
        val lock = client.tryLock("kt/acquire")
        assertTrue(lock.isHeld())
        assertNull(lock.lostReason)
        assertEquals("kt/acquire", lock.name)
        assertEquals(LockMode.EXCLUSIVE, lock.mode)
        assertTrue(lock.fencingToken > 0u)
        assertTrue(Regex("[0-9a-f]{32}").matches(lock.ownerId), lock.ownerId)
        assertEquals(client.sessionId(), lock.sessionId)
        assertTrue(lock.remaining() > Duration.ZERO)
        assertEquals(Fence("kt/acquire", lock.fencingToken), lock.fence)

        val info = assertNotNull(admin.describe("kt/acquire"))
        assertEquals(1, info.holders.size)
        assertEquals(lock.ownerId, info.holders[0].ownerId)
        assertEquals(lock.fencingToken, info.holders[0].token)
        assertEquals(lock.sessionId, info.holders[0].sessionId)

        lock.release()
        assertFalse(lock.isHeld())
        assertEquals(LostReason.RELEASED, lock.lostReason)
        assertEquals(Duration.ZERO, lock.remaining())
        lock.release() // idempotent
        assertTrue(admin.describe("kt/acquire")?.holders.isNullOrEmpty())
    }

    @Test
    fun `use releases the lock when the block ends`() = runBlocking {
        val client = client()
        val admin = admin()
        val token = client.lock("kt/use", 5.seconds).use { lock ->
            assertEquals(1, admin.describe("kt/use")?.holders?.size)
            lock.fencingToken
        }
        assertTrue(admin.describe("kt/use")?.holders.isNullOrEmpty())
        // Also on an exception, and the next holder gets a higher token.
        assertFailsWith<IllegalStateException> {
            client.tryLockBlocking("kt/use").use { error("boom") }
        }
        assertTrue(admin.describe("kt/use")?.holders.isNullOrEmpty())
        client.tryLock("kt/use").use { assertTrue(it.fencingToken > token) }
    }

    @Test
    fun `contention - a second client waits and gets a higher token`() = runBlocking {
        val a = client()
        val b = client()
        val held = a.tryLock("kt/contention")
        val err = assertFailsWith<TenureException.LockHeld> { b.tryLock("kt/contention") }
        assertEquals("LOCK_HELD", err.code)
        val waiting = async { b.lock("kt/contention", 20.seconds) }
        eventually(what = "b waits in the queue") {
            a.describe("kt/contention")?.waiters?.size == 1
        }
        assertFalse(waiting.isCompleted)
        held.release()
        val next = withTimeout(15.seconds) { waiting.await() }
        assertTrue(next.isHeld())
        assertTrue(next.fencingToken > held.fencingToken)
        assertEquals(b.sessionId(), next.sessionId)
        next.close()
    }

    @Test
    fun `a waiting acquire times out`() = runBlocking {
        val a = client()
        val b = client()
        a.tryLock("kt/timeout").use {
            val err = assertFailsWith<TenureException.Timeout> { b.lock("kt/timeout", Duration.ofMillis(300)) }
            assertEquals("TIMEOUT", err.code)
            assertTrue(it.isHeld())
            assertTrue(a.describe("kt/timeout")?.waiters.isNullOrEmpty())
        }
    }

    @Test
    fun `shared locks admit several holders but no exclusive one`() = runBlocking {
        val a = client()
        val b = client()
        val s1 = a.acquire("kt/shared", AcquireOptions.tryOnce().shared())
        val s2 = b.acquire("kt/shared", AcquireOptions().shared())
        assertEquals(LockMode.SHARED, s1.mode)
        assertEquals(2, a.describe("kt/shared")?.holders?.size)
        assertFailsWith<TenureException.LockHeld> { b.tryLock("kt/shared/other").use { a.tryLock("kt/shared/other") } }
        // An exclusive acquire by a third session; by a holding session it is ALREADY_HELD.
        assertFailsWith<TenureException.LockHeld> { client().tryLock("kt/shared") }
        assertFailsWith<TenureException.AlreadyHeld> { a.tryLock("kt/shared") }
        s1.close()
        s2.close()
    }

    @Test
    fun `withLock runs the block under the lock and releases it`() = runBlocking {
        val client = client()
        val admin = admin()
        val seen = client.withLock("kt/with", 5.seconds) { lock ->
            assertTrue(lock.isHeld())
            admin.describe("kt/with")?.holders?.single()?.ownerId
        }
        assertNotNull(seen)
        assertTrue(admin.describe("kt/with")?.holders.isNullOrEmpty())
        assertFailsWith<ArithmeticException> {
            client.withLock("kt/with", 5.seconds) { throw ArithmeticException("in block") }
        }
        assertTrue(admin.describe("kt/with")?.holders.isNullOrEmpty())
    }

    @Test
    fun `tokens grow across grants and locks`() = runBlocking {
        val client = client()
        var last = 0uL
        for (name in listOf("kt/tok/a", "kt/tok/b", "kt/tok/a", "kt/tok/c")) {
            client.tryLock(name).use {
                assertTrue(it.fencingToken > last, "${it.fencingToken} > $last")
                last = it.fencingToken
            }
        }
        assertTrue(client.status().nextToken > last)
    }

    @Test
    fun `blocking API for Java callers`() {
        val client = TenureClient.connectBlocking(cluster.endpoints, ClientOptions().withLabel("kt-blocking"))
        client.use {
            val lock = it.lockBlocking("kt/blocking", Duration.ofSeconds(5))
            assertTrue(lock.isHeld())
            val sessions = it.listSessionsBlocking()
            assertTrue(sessions.any { s -> s.label == "kt-blocking" && "kt/blocking" in s.held })
            lock.releaseBlocking()
            assertFalse(lock.isHeld())
            assertTrue(it.describeBlocking("kt/blocking")?.holders.isNullOrEmpty())
        }
        // close() closed the session on the server.
        val admin = admin()
        runBlocking { assertTrue(admin.listSessions().none { it.label == "kt-blocking" }) }
    }

    @Test
    fun `admin reads - status, list locks, sessions`() = runBlocking {
        val client = client(ClientOptions(label = "kt-admin-reads"))
        client.tryLock("kt/list/one").use {
            val status = client.status()
            assertEquals(3, status.members.size)
            assertNotNull(status.leaderId)
            assertTrue(client.listLocks("kt/list/").any { l -> l.name == "kt/list/one" })
            val mine = client.listSessions().single { s -> s.label == "kt-admin-reads" }
            assertEquals(listOf("kt/list/one"), mine.held)
            assertTrue(mine.ttl > Duration.ZERO)
            assertEquals(client.sessionId(), mine.sessionId)
            val node = client.nodeStatus(client.endpoints.first().split(",").first())
            assertTrue(node.role.isNotEmpty())
        }
    }
}
