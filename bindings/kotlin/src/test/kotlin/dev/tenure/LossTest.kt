package dev.tenure

import java.time.Duration
import java.util.concurrent.CompletableFuture
import java.util.concurrent.CopyOnWriteArrayList
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.launch
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** Losing a lock: blacklist, force-release, session close; callbacks, suspend, flows, run(); release requests. */
@Timeout(60)
class LossTest : ClusterTest() {
    private fun short() = ClientOptions(ttl = Duration.ofSeconds(3))

    @Test
    fun `a blacklisted session loses its lock and the lock passes on`() = runBlocking {
        val zombie = client(short())
        val waiter = client()
        val admin = admin()
        val lock = zombie.tryLock("kt/zombie")
        val session = lock.sessionId
        val byCallback = CompletableFuture<LostReason>()
        lock.onLost { byCallback.complete(it) }
        val bySuspend = async { lock.awaitLost() }
        val byFlow = async { lock.lostFlow().first() }
        val states = CopyOnWriteArrayList<SessionState>()
        val sub = zombie.onSessionState { states += it }
        val next = async { waiter.lock("kt/zombie", 20.seconds) }

        val left = admin.blacklist(session, "kotlin test")
        assertTrue(left <= Duration.ofSeconds(3), "$left")
        withTimeout(10.seconds) {
            assertEquals(LostReason.SESSION_BLACKLISTED, bySuspend.await())
            assertEquals(LostReason.SESSION_BLACKLISTED, byFlow.await())
        }
        assertEquals(LostReason.SESSION_BLACKLISTED, byCallback.get(10, TimeUnit.SECONDS))
        assertFalse(lock.isHeld())
        assertEquals(LostReason.SESSION_BLACKLISTED, lock.lostReason)
        assertEquals(SessionState.EXPIRED, zombie.sessionState)
        eventually(what = "the EXPIRED state reaches the callback") { SessionState.EXPIRED in states }
        sub.close()

        // At the session's deadline the waiter gets the lock with a higher token.
        val granted = withTimeout(15.seconds) { next.await() }
        assertTrue(granted.fencingToken > lock.fencingToken)
        granted.close()
        // The zombie's client opens a fresh session for later work.
        zombie.tryLock("kt/zombie/other").use { assertNotEquals(session, it.sessionId) }
        assertTrue(admin.audit(50u).any { it.action == "blacklist" && it.target == "session $session" })
    }

    @Test
    fun `force-release is a compare-and-swap and the holder learns it`() = runBlocking {
        val holder = client(short())
        val waiter = client()
        val admin = admin()
        val lock = holder.tryLock("kt/force")
        val next = async { waiter.lock("kt/force", 20.seconds) }
        eventually(what = "waiter queued") { admin.describe("kt/force")?.waiters?.size == 1 }

        val stale = assertFailsWith<TenureException.NotHolder> {
            admin.forceRelease("kt/force", "0".repeat(32), "wrong owner")
        }
        assertEquals("NOT_HOLDER", stale.code)
        assertTrue(lock.isHeld())

        val grants = admin.forceRelease("kt/force", lock.ownerId, "kotlin test")
        assertEquals(1, grants.size)
        assertTrue(grants[0].token > lock.fencingToken)
        val granted = withTimeout(10.seconds) { next.await() }
        assertEquals(grants[0].ownerId, granted.ownerId)
        assertEquals(LostReason.FORCE_RELEASED, withTimeout(10.seconds) { lock.awaitLost() })
        assertFalse(lock.isHeld())
        assertTrue(admin.audit(50u).any { it.action == "force-release" && it.detail.contains(lock.ownerId) })
        granted.close()
        lock.release() // releasing a force-released lock is fine
        // Ending its scope reports the loss (the core's Lock::finish), as in every language.
        assertFailsWith<TenureException.LockLost> { lock.close() }
        Unit
    }

    @Test
    fun `a release request reaches only the grant named and frees nothing`() = runBlocking {
        val admin = admin()
        val shared = AcquireOptions().shared()
        val one = client(short()).acquire("kt/revoke", shared)
        val two = client(short()).acquire("kt/revoke", shared)
        val asked = admin.requestReleaseBlocking("kt/revoke", two.ownerId, "kotlin test")
        assertEquals(listOf(two.ownerId), asked.map { it.ownerId })
        withTimeout(10.seconds) { two.awaitRevokeRequested() }
        // Registered after the request: runs soon, on the callback thread.
        val late = CompletableFuture<String>()
        two.onRevokeRequested { late.complete(Thread.currentThread().name) }
        assertEquals("tenure-callbacks", late.get(10, TimeUnit.SECONDS))
        assertFalse(one.revokeRequested)
        assertTrue(one.isHeld() && two.isHeld())
        val flags = admin.describe("kt/revoke")!!.holders.associate { it.ownerId to it.releaseRequested }
        assertEquals(mapOf(one.ownerId to false, two.ownerId to true), flags)
        assertTrue(admin.audit(50u).any { it.action == "request-release" && it.detail.contains(two.ownerId) })
        assertFailsWith<TenureException.InvalidArgument> { admin.requestRelease("kt/revoke", "not an owner id") }
        assertFailsWith<TenureException.InvalidArgument> { admin.requestRelease("") }
        one.release()
        two.release()
        // Nobody holds it: nobody is asked.
        assertEquals(emptyList(), admin.requestRelease("kt/revoke"))
    }

    @Test
    fun `run cancels the work when the lock is lost`() = runBlocking {
        val holder = client(short())
        val admin = admin()
        val lock = holder.tryLock("kt/run")
        val started = CompletableDeferred<Unit>()
        // runCatching: a failed child would otherwise cancel this test's scope first.
        val running = async {
            runCatching {
                lock.run {
                    started.complete(Unit)
                    awaitCancellation()
                }
            }
        }
        withTimeout(10.seconds) { started.await() }
        admin.forceRelease("kt/run", lock.ownerId, "cancel the work")
        val err = withTimeout(10.seconds) { running.await() }.exceptionOrNull()
        assertIs<TenureException.LockLost>(err)
        assertTrue(err.message!!.contains("force-released"), err.message)
        assertEquals("LOCK_LOST", err.code)
        // A block that finishes first returns its value.
        holder.tryLock("kt/run").use { assertEquals(42, it.run { 42 }) }
    }

    @Test
    fun `closing the session marks locks lost and reports EXPIRED`() = runBlocking {
        val client = client()
        val states = Channel<SessionState>(Channel.UNLIMITED)
        val collector = launch { client.sessionStates().collect { states.send(it) } }
        val lock = client.tryLock("kt/close")
        // The flow starts with the current state; once it is here, the flow is subscribed.
        assertEquals(SessionState.HEALTHY, withTimeout(10.seconds) { states.receive() })
        client.closeSession()
        assertEquals(LostReason.CLIENT_CLOSED, withTimeout(10.seconds) { lock.awaitLost() })
        assertEquals(SessionState.EXPIRED, withTimeout(10.seconds) { states.receive() })
        collector.cancel()
        assertEquals(SessionState.EXPIRED, client.sessionState)
        assertTrue(admin().describe("kt/close")?.holders.isNullOrEmpty())
        // The client is still usable: a fresh session.
        client.tryLock("kt/close").use { assertTrue(it.isHeld()) }
        assertEquals(SessionState.HEALTHY, client.sessionState)
    }

    @Test
    fun `a callback registered after the loss still runs`() = runBlocking {
        val client = client()
        val lock = client.tryLock("kt/late")
        lock.release()
        val late = CompletableFuture<LostReason>()
        lock.onLost { late.complete(it) }
        assertEquals(LostReason.RELEASED, late.get(10, TimeUnit.SECONDS))
        assertEquals("released", LostReason.RELEASED.text)
        // A throwing callback does not break anything.
        val after = CompletableFuture<LostReason>()
        val other = client.tryLock("kt/late")
        other.onLost { throw IllegalStateException("callback fails") }
        other.onLost { after.complete(it) }
        other.release()
        assertEquals(LostReason.RELEASED, after.get(10, TimeUnit.SECONDS))
    }
}
