package dev.tenure

import java.time.Duration
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlinx.coroutines.withTimeoutOrNull
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** Watches and elections: flows, close, cancellation, every kind of change, bad input. */
@Timeout(60)
class WatchTest : ClusterTest() {
    private suspend fun Watcher.nextSoon(): WatchBatch = withTimeout(15.seconds) { next() }

    private suspend fun Observer.nextSoon(): Leader? = withTimeout(15.seconds) { next() }

    @Test
    fun `lock changes keep the core's codes`() {
        val codes = listOf(
            "granted", "released", "expired", "force_released", "waiter_added", "waiter_removed",
            "value_changed", "release_requested",
        )
        assertEquals(codes, LockChange.entries.map { it.code })
        assertEquals(dev.tenure.ffi.lockChangeCodes(), LockChange.entries.map { it.code })
    }

    @Test
    fun `cancelling the flow's collector closes the watcher`() = runBlocking {
        val watcher = client().watch("kt/flow/")
        val got = Channel<WatchBatch>(Channel.UNLIMITED)
        val collector = launch { watcher.asFlow().collect { got.send(it) } }
        assertTrue(withTimeout(15.seconds) { got.receive() }.reset)
        delay(200) // the collector waits in next()
        assertFalse(watcher.isClosed)
        collector.cancelAndJoin()
        assertTrue(watcher.isClosed)
        assertFailsWith<TenureException.Cancelled> { watcher.next() }
        // An observer's flow too, here ended by first().
        val observer = client().election("kt/flow/leader").observe()
        assertNull(withTimeout(15.seconds) { observer.asFlow().first() })
        assertTrue(observer.isClosed)
        assertFailsWith<TenureException.Cancelled> { observer.next() }
        Unit
    }

    @Test
    fun `close ends a waiting next with Cancelled`() = runBlocking {
        val client = client()
        val watcher = client.watch("kt/close/")
        assertTrue(watcher.nextSoon().reset)
        // runCatching: a failed async would cancel the test's coroutine.
        val waiting = async { runCatching { watcher.next() } }
        delay(300)
        assertFalse(waiting.isCompleted)
        watcher.close()
        val e = withTimeout(10.seconds) { waiting.await() }.exceptionOrNull()
        assertIs<TenureException.Cancelled>(e)
        assertEquals("CANCELLED", e.code)
        assertFailsWith<TenureException.Cancelled> { watcher.next() } // and every later one
        watcher.close() // idempotent

        val observer = client.election("kt/close/leader").observe()
        assertNull(observer.nextSoon())
        val observing = async { runCatching { observer.next() } }
        delay(300)
        observer.close()
        assertIs<TenureException.Cancelled>(withTimeout(10.seconds) { observing.await() }.exceptionOrNull())
        // A flow of a closed observer completes at once.
        assertEquals(emptyList(), observer.asFlow().let { flow -> buildList { flow.collect { add(it) } } })
    }

    @Test
    @Timeout(120)
    fun `closing a watcher while next waits frees its stream at once`() = runBlocking {
        val client = client()
        // More watchers, one after the other, than a node serves at once (1,024), each closed
        // while a next() waits, and all still referenced: the garbage collector frees none.
        val kept = mutableListOf<Watcher>()
        repeat(1_100) {
            val watcher = client.watch("kt/many/")
            kept += watcher
            assertTrue(watcher.nextSoon().reset) // the stream is open
            val waiting = async { runCatching { watcher.next() } }
            delay(10)
            watcher.close()
            assertIs<TenureException.Cancelled>(waiting.await().exceptionOrNull())
        }
        assertTrue(kept.all { it.isClosed })
    }

    @Test
    fun `a cancelled next loses no batch`() = runBlocking {
        val client = client()
        client.watch("kt/keep/").use { watcher ->
            val reset = watcher.nextSoon()
            assertNull(withTimeoutOrNull(300.milliseconds) { watcher.next() })
            val lock = client.tryLock("kt/keep/a")
            // The change reaches the call the cancelled next() left running; it waits for the
            // next caller and does not count as delivered meanwhile.
            delay(1_000)
            val revisionBefore = watcher.revision
            val batch = watcher.nextSoon()
            assertEquals(listOf(LockChange.GRANTED to lock.ownerId), batch.events.map { it.change to it.ownerId })
            assertTrue(revisionBefore < batch.revision, "revision $revisionBefore counted an undelivered batch")
            assertTrue(revisionBefore >= reset.revision)
            assertTrue(watcher.revision >= batch.revision)
            lock.release()
            // Blocking, for Java.
            assertEquals(listOf(LockChange.RELEASED), watcher.nextBlocking().events.map { it.change })
        }
    }

    @Test
    fun `every kind of change reaches a watcher`() = runBlocking {
        val admin = admin()
        val holder = client(ClientOptions(ttl = Duration.ofSeconds(3)))
        val other = client()
        val watcher = admin.watch("kt/kinds/")
        val changes = Channel<WatchEvent>(Channel.UNLIMITED)
        val started = CompletableDeferred<WatchBatch>()
        val collector = launch {
            watcher.asFlow().collect { b ->
                started.complete(b)
                b.events.forEach { changes.send(it) }
            }
        }
        assertTrue(withTimeout(15.seconds) { started.await() }.reset)
        suspend fun expect(change: LockChange): WatchEvent {
            val e = withTimeout(15.seconds) { changes.receive() }
            assertEquals(change, e.change, "$e")
            return e
        }
        val lock = holder.tryLock("kt/kinds/a")
        assertEquals(lock.fencingToken, expect(LockChange.GRANTED).token)
        lock.setValue("v2")
        assertEquals("v2", expect(LockChange.VALUE_CHANGED).value)
        admin.requestRelease("kt/kinds/a", reason = "test")
        assertEquals(lock.ownerId, expect(LockChange.RELEASE_REQUESTED).ownerId)
        val waiting = async { other.lock("kt/kinds/a", 20.seconds) }
        val added = expect(LockChange.WAITER_ADDED)
        assertTrue(added.requestId > 0u)
        waiting.cancel()
        assertEquals(added.requestId, expect(LockChange.WAITER_REMOVED).requestId)
        admin.forceRelease("kt/kinds/a", lock.ownerId, "test")
        assertEquals(lock.ownerId, expect(LockChange.FORCE_RELEASED).ownerId)
        val again = holder.tryLock("kt/kinds/a")
        expect(LockChange.GRANTED)
        admin.blacklist(again.sessionId, "test")
        assertEquals(again.ownerId, expect(LockChange.EXPIRED).ownerId)
        collector.cancelAndJoin()
        assertTrue(watcher.isClosed)
    }

    @Test
    fun `an election - campaign, proclaim, losing the leadership, bad input`() = runBlocking {
        val admin = admin()
        val a = client()
        val b = client()
        val election = a.election("kt/elect")
        assertEquals("kt/elect", election.name)
        assertNull(election.leader())
        election.observe().use { observer ->
            assertNull(observer.nextSoon())
            val leading = election.tryCampaign("a")
            assertEquals(Leader("kt/elect", leading.sessionId, leading.fencingToken, leading.ownerId, "a"), observer.nextSoon())
            assertEquals(leading.fencingToken, b.election("kt/elect").leaderBlocking()?.token)
            assertFailsWith<TenureException.LockHeld> { b.election("kt/elect").tryCampaign("b") }
            assertFailsWith<TenureException.Timeout> { b.election("kt/elect").campaign("b", 200.milliseconds) }
            assertFailsWith<TenureException.AlreadyHeld> { election.campaign("a again", 1.seconds) }
            leading.setValueBlocking("a2")
            assertEquals("a2", observer.nextSoon()?.value)
            // Leadership taken away: the leader learns it, observers see nobody lead.
            admin.forceRelease("kt/elect", leading.ownerId, "test")
            assertEquals(LostReason.FORCE_RELEASED, withTimeout(10.seconds) { leading.awaitLost() })
            assertNull(observer.nextSoon())
            assertFailsWith<TenureException.LockLost> { leading.setValue("late") }
        }
        assertFailsWith<TenureException.InvalidArgument> { a.election("") }
        assertFailsWith<TenureException.InvalidArgument> { a.watch("bad\nprefix") }
        assertFailsWith<TenureException.InvalidArgument> { election.tryCampaign("two\nlines") }
        a.tryLock("kt/elect/value").use { lock ->
            assertFailsWith<TenureException.InvalidArgument> { lock.setValue("v".repeat(1025)) }
        }
        a.watch().use { assertEquals("", it.prefix) }
    }
}
