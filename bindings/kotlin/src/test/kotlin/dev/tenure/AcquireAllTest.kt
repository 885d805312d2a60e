package dev.tenure

import java.time.Duration
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** acquireAll beyond the shared scenario: cancellation, modes, options, bad input, Locks.close. */
@Timeout(120)
class AcquireAllTest : ClusterTest() {
    private suspend fun TenureClient.free(names: List<String>) = names.all { describe(it) == null }

    @Test
    fun `cancelling a waiting acquireAll leaves nothing held`() = runBlocking {
        val holder = client()
        val waiter = client()
        val admin = admin()
        val names = listOf("kt/aa/cancel/a", "kt/aa/cancel/b")
        val held = holder.tryLock(names[1])
        val waiting = async { waiter.acquireAll(names, 60.seconds) }
        delay(300) // queued behind the holder in both queues
        waiting.cancel()
        assertFailsWith<CancellationException> { waiting.await() }
        held.release()
        // The cancel withdrew both queue entries: nobody takes the locks once they are free.
        delay(1_000)
        assertTrue(admin.free(names), "nothing held after the cancel")
        // withTimeoutOrNull is a cancellation too.
        holder.tryLock(names[0]).use {
            assertNull(withTimeoutOrNull(300.milliseconds) { waiter.acquireAll(names, 60.seconds) })
        }
        delay(1_000)
        assertTrue(admin.free(names), "nothing held after the timeout")
        // And the client can take both at once afterwards (no AlreadyHeld, no release pending).
        waiter.acquireAll(names).use { assertEquals(names, it.map { lock -> lock.name }) }
        assertTrue(admin.free(names))
    }

    @Test
    fun `a cancel racing the grant releases what the try got`() = runBlocking {
        val c = client()
        val admin = admin()
        val names = listOf("kt/aa/race/a", "kt/aa/race/b", "kt/aa/race/c")
        repeat(30) { i ->
            val job = async { c.acquireAll(names, 5.seconds) }
            delay((i % 6).toLong())
            job.cancel()
            // Granted before the cancel: the caller has the locks and releases them.
            runCatching { job.await() }.getOrNull()?.release()
            eventually(what = "nothing held after cancel $i") { admin.free(names) }
        }
        c.acquireAll(names).use { assertEquals(3, it.size) }
    }

    @Test
    fun `shared, value and lock delay apply to every grant`() = runBlocking {
        val a = client()
        val b = client()
        val admin = admin()
        val names = listOf("kt/aa/shared/a", "kt/aa/shared/b")
        val shared = AcquireOptions().shared().withValue("reader")
        a.acquireAll(names, shared).use { mine ->
            b.acquireAllBlocking(names, shared).use { theirs ->
                assertTrue((mine + theirs).all { it.mode == LockMode.SHARED && it.isHeld() })
                for (name in names) {
                    assertEquals(listOf("reader", "reader"), admin.describe(name)!!.holders.map { it.value })
                }
                assertFailsWith<TenureException.LockHeld> { client().acquireAll(names) }
            }
        }
        assertTrue(admin.free(names))
        // A lock-delay on every grant: after the session expires, neither name is granted for a while.
        val doomed = client(ClientOptions(ttl = Duration.ofSeconds(2)))
        val delayed = doomed.acquireAll(names, AcquireOptions(lockDelay = Duration.ofSeconds(30)))
        val session = delayed[0].sessionId
        admin.blacklist(session, "kotlin test")
        withTimeout(10.seconds) { delayed.forEach { it.awaitLost() } }
        eventually(what = "the session expired on the server") { admin.listSessions().none { it.sessionId == session } }
        assertTrue(names.all { admin.describe(it)?.holders.isNullOrEmpty() })
        for (name in names) assertFailsWith<TenureException.LockHeld> { b.tryLock(name) }
    }

    @Test
    fun `bad input holds nothing`() = runBlocking {
        val c = client()
        val admin = admin()
        assertEquals(64, TenureClient.MAX_ACQUIRE_ALL)
        val tooMany = List(TenureClient.MAX_ACQUIRE_ALL + 1) { "kt/aa/bad/$it" }
        for (names in listOf(emptyList(), tooMany, listOf("kt/aa/bad/x", ""), listOf("kt/aa/bad/x", "kt/aa/bad/x"))) {
            assertFailsWith<TenureException.InvalidArgument> { c.acquireAll(names) }
        }
        val permits = AcquireOptions(mode = LockMode.PERMITS, permits = 1, permitLimit = 2)
        assertFailsWith<TenureException.InvalidArgument> { c.acquireAll(listOf("kt/aa/bad/p"), permits) }
        assertEquals(emptyList(), admin.listLocks("kt/aa/bad/"))
        // The most names there may be, at once.
        c.acquireAll(tooMany.drop(1), 10.seconds).use { assertEquals(tooMany.drop(1), it.map { lock -> lock.name }) }
        c.tryLock("kt/aa/bad/1").use {
            assertFailsWith<TenureException.AlreadyHeld> { c.acquireAll(listOf("kt/aa/bad/0", "kt/aa/bad/1")) }
        }
        assertEquals(emptyList(), admin.listLocks("kt/aa/bad/"))
    }

    @Test
    fun `closing Locks releases every lock and reports a loss`() = runBlocking {
        val c = client()
        val admin = admin()
        val names = listOf("kt/aa/close/a", "kt/aa/close/b", "kt/aa/close/c")
        val locks = c.acquireAll(names)
        admin.forceRelease(names[1], locks[1].ownerId, "kotlin test")
        eventually(what = "the holder learns the loss") { !locks[1].isHeld() }
        val lost = assertFailsWith<TenureException.LockLost> { locks.use { } }
        assertTrue(lost.message.orEmpty().isNotEmpty())
        assertTrue(locks.none { it.isHeld() })
        assertTrue(admin.free(names), "the others were released too")
        locks.release() // idempotent, and it reports no loss
    }
}
