package dev.tenure

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.async
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

/** Cancelling the coroutine of a waiting acquire withdraws it from the server's queue. */
@Timeout(60)
class CancellationTest : ClusterTest() {
    @Test
    fun `cancelling a waiting acquire withdraws it`() = runBlocking {
        val holder = client()
        val waiter = client()
        val admin = admin()
        val held = holder.tryLock("kt/cancel")
        val waiterSession = waiter.sessionId()

        val waiting = async { waiter.lock("kt/cancel", 60.seconds) }
        eventually(what = "the acquire waits in the queue") {
            admin.describe("kt/cancel")?.waiters?.map { it.sessionId } == listOf(waiterSession)
        }
        waiting.cancel()
        assertFailsWith<CancellationException> { waiting.await() }

        // Withdrawn long before its 60 s wait would end.
        eventually(timeout = 10.seconds, what = "the cancelled acquire left the queue") {
            admin.describe("kt/cancel")?.waiters.isNullOrEmpty()
        }
        assertEquals(0u, admin.listSessions().single { it.sessionId == waiterSession }.waiting)

        // When the holder releases, nobody gets the lock: the waiter is gone.
        held.release()
        assertTrue(admin.describe("kt/cancel")?.holders.isNullOrEmpty())
        // And the waiting client still works.
        waiter.tryLock("kt/cancel").use { assertEquals(waiterSession, it.sessionId) }
    }

    @Test
    fun `withTimeout around an acquire withdraws it too`() = runBlocking {
        val holder = client()
        val waiter = client()
        val admin = admin()
        holder.tryLock("kt/cancel/timeout").use {
            val got = withTimeoutOrNull(300.milliseconds) { waiter.lock("kt/cancel/timeout", 60.seconds) }
            assertNull(got)
            eventually(what = "the abandoned acquire left the queue") {
                admin.describe("kt/cancel/timeout")?.waiters.isNullOrEmpty()
            }
        }
        // Released by use {}; no grant went to the abandoned acquire.
        assertTrue(admin.describe("kt/cancel/timeout")?.holders.isNullOrEmpty())
        withTimeout(10.seconds) { waiter.tryLock("kt/cancel/timeout").close() }
    }
}
