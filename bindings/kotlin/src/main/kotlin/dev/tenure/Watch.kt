package dev.tenure

import dev.tenure.ffi.NativeWatcher
import java.util.concurrent.atomic.AtomicBoolean
import kotlinx.coroutines.CoroutineName
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Deferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock

/**
 * The changes of every lock whose name starts with [prefix], from [TenureClient.watch].
 *
 * Each [next] returns a [WatchBatch]: the changes since the previous batch ([WatchBatch.events],
 * in increasing revisions), or, with [WatchBatch.reset] set, the state itself
 * ([WatchBatch.locks]: every lock under the prefix with holders or waiters), which replaces
 * whatever the caller knew. A watch from revision 0 starts with a reset; one resumed from a
 * batch's revision replays the changes after it, or starts over with a reset if the server no
 * longer has them all (it keeps a bounded backlog of recent changes). So a watcher never misses
 * a change without being told. The core reconnects inside, following the leader across
 * failovers, and resumes from the last revision.
 *
 * ```kotlin
 * client.watch("jobs/").use { watcher ->
 *     while (true) {
 *         val batch = watcher.next()
 *         if (batch.reset) state = batch.locks.associateBy { it.name }
 *         for (e in batch.events) println("${e.revision} ${e.change.code} ${e.name} ${e.ownerId}")
 *     }
 * }
 * // or: client.watch("jobs/").asFlow().collect { batch -> ... } (cancelling it closes the watcher)
 * ```
 *
 * Cancelling a waiting [next] loses nothing: the batch it would have returned is the next
 * call's. [close] ends a waiting [next] with [TenureException.Cancelled]; close a watcher you
 * no longer read (`use {}`), or its stream stays open on the server. Thread-safe; calls of
 * [next] take turns.
 */
class Watcher internal constructor(private val raw: NativeWatcher) : AutoCloseable {
    private val relay = NextRelay(raw::next, raw::cancel)

    @Volatile
    private var delivered: ULong = raw.revision()

    /** The prefix watched ("" for every lock). */
    val prefix: String = raw.prefix()

    /**
     * The revision up to which every change was delivered by [next] (the start revision before
     * the first batch). Pass it to [TenureClient.watch] to resume in another watcher, in this
     * process or another.
     */
    val revision: ULong
        // The core's own revision also moves with the server's progress messages; a batch that
        // a cancelled next() left for the next call is not delivered yet.
        get() = if (relay.holdsAnswer) delivered else raw.revision()

    /** Whether [close] was called. */
    val isClosed: Boolean
        get() = relay.isClosed

    /**
     * Suspends until the next batch: changes, or a reset with the state (see [Watcher]).
     * Waits as long as nothing changes. If the cluster cannot be reached for the client's call
     * timeout, throws [TenureException.Unavailable] (or another kind); a later call tries again
     * from the same revision. After [close], throws [TenureException.Cancelled].
     */
    suspend fun next(): WatchBatch = relay.next().also { delivered = it.revision }

    /** [next], blocking the calling thread (for Java). */
    fun nextBlocking(): WatchBatch = runBlocking { next() }

    /**
     * The batches as a flow. The flow owns the watcher: when its collection ends (cancelled,
     * `take(n)`, an error, or [close] from elsewhere, which completes it) the watcher is closed.
     * Collect it once.
     */
    fun asFlow(): Flow<WatchBatch> = relay.asFlow(::next)

    /**
     * Stops the watcher: a waiting [next] and every later one throw
     * [TenureException.Cancelled], and its stream is closed. Idempotent.
     */
    override fun close() = relay.close()

    /** Prefix and revision. */
    override fun toString(): String = "Watcher(prefix=$prefix, revision=$revision, closed=$isClosed)"
}

/**
 * What [Watcher] and [Observer] share: one native `next()` at a time, whose answer outlives a
 * cancelled caller (it is the next caller's), `close()`, and a flow that closes on its end.
 */
internal class NextRelay<T>(private val nativeNext: suspend () -> T, private val nativeClose: () -> Unit) {
    private val turns = Mutex()
    private val closed = AtomicBoolean()

    // The native call in flight (guarded by [turns]). It runs in [calls], not in its caller, so a
    // caller's cancellation never drops an answer the core has already taken from its stream.
    @Volatile
    private var inFlight: Deferred<Result<T>>? = null

    val isClosed: Boolean
        get() = closed.get()

    /** Whether an answer arrived for a caller that was cancelled, waiting for the next call. */
    val holdsAnswer: Boolean
        get() = inFlight?.isCompleted == true

    suspend fun next(): T = turns.withLock {
        // After close, every call fails with the core's Cancelled, even with an answer waiting.
        if (isClosed) inFlight = null
        val call = inFlight ?: calls.async { runCatching { mapErrors { nativeNext() } } }.also { inFlight = it }
        val result = call.await() // cancels the caller only, never the call
        inFlight = null
        result.getOrThrow()
    }

    fun close() {
        if (closed.compareAndSet(false, true)) nativeClose()
    }

    /** [next] (the owner's, which may note what it delivers) as a flow; see [Watcher.asFlow]. */
    fun asFlow(next: suspend () -> T): Flow<T> = flow {
        try {
            while (true) {
                val item = try {
                    next()
                } catch (e: TenureException.Cancelled) {
                    if (isClosed) break else throw e
                }
                emit(item)
            }
        } finally {
            close()
        }
    }

    private companion object {
        val calls = CoroutineScope(SupervisorJob() + Dispatchers.Default + CoroutineName("tenure-next"))
    }
}
