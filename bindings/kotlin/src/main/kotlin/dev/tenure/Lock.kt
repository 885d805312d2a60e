package dev.tenure

import dev.tenure.ffi.FfiAcquired
import dev.tenure.ffi.FfiLock
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.selects.select
import java.time.Duration
import java.util.concurrent.atomic.AtomicBoolean

/**
 * A held lock: its name, fencing token and owner id, whether it is still held, and how to
 * learn that it was lost.
 *
 * [close] releases it (and waits for the server's answer), so `use {}` and Java's
 * try-with-resources hold the lock exactly for their block:
 *
 * ```kotlin
 * client.lock("jobs/nightly", 10.seconds).use { lock ->
 *     storage.write(data, fence = lock.fence)
 * }
 * ```
 *
 * A lock that is neither released nor closed is released in the background once the garbage
 * collector frees it. Losing the lock (session expired or blacklisted, force-released) is
 * reported by [isHeld], [lostReason], [awaitLost], [lostFlow] and [onLost]; [run] cancels work
 * when the lock is lost. Thread-safe.
 */
class Lock internal constructor(acquired: FfiAcquired) : AutoCloseable {
    // The grant's fixed properties come with the acquire's answer (one FFI call, not six).
    private val raw: FfiLock = acquired.lock
    private val closed = AtomicBoolean(false)

    @Volatile
    private var finalReason: LostReason? = null

    /** The lock's name. */
    val name: String = acquired.name

    /**
     * The fencing token of this grant: greater than every token granted before it, for any
     * lock. The core's u64 as a Long (tokens count grants from 1 and stay far below 2^63).
     */
    val fencingToken: Long = acquired.fencingToken

    /** The grant's unique owner id (32 hex digits), for [TenureClient.forceRelease]. */
    val ownerId: String = acquired.ownerId

    /** Exclusive or shared. */
    val mode: LockMode = acquired.mode

    /** The id of the session holding the lock. */
    val sessionId: Long = acquired.sessionId

    /** The fence to pass to storage with every write ([Fence.HEADER]`: <lock>=<token>`). */
    val fence: Fence
        get() = Fence(name, fencingToken)

    /**
     * Whether the lock is still held, judged locally without network: not released, not lost,
     * and the session's local expiry not passed.
     */
    fun isHeld(): Boolean = !closed.get() && raw.isHeld()

    /** How long the lock is certainly held without a further renewal (zero once lost). */
    fun remaining(): Duration = if (closed.get()) Duration.ZERO else raw.remaining()

    /** Why the lock is no longer held, or null while it is. */
    val lostReason: LostReason?
        get() = if (closed.get()) finalReason else raw.lostReason()

    /**
     * Suspends until the lock is lost or released and returns the reason. Returns at the
     * session's local expiry at the latest, even if no renewal answer ever arrives.
     */
    suspend fun awaitLost(): LostReason {
        if (closed.get()) return finalReason ?: LostReason.RELEASED
        return mapErrors { raw.lost() }
    }

    /** A flow that emits the reason once, when the lock is lost or released, and completes. */
    fun lostFlow(): Flow<LostReason> = flow { emit(awaitLost()) }

    /**
     * Calls [callback] once when the lock is lost or released (soon, if it already is). It runs
     * on the binding's callback thread, never on the caller's.
     */
    fun onLost(callback: LostCallback) {
        if (closed.get()) {
            val reason = finalReason ?: LostReason.RELEASED
            CallbackThread.run("lost") { callback.onLost(reason) }
            return
        }
        raw.onLost(LostBridge(callback))
    }

    /** Releases the lock and waits for the server. Idempotent: releasing a released or lost lock succeeds. */
    suspend fun release() {
        if (closed.get()) return
        mapErrors { raw.release() }
    }

    /** [release], blocking the calling thread (for Java). */
    fun releaseBlocking() = runBlocking { release() }

    /**
     * Runs [block] while the lock is held. If the lock is lost first, [block] is cancelled and
     * [TenureException.LockLost] thrown. Does not release the lock (see [TenureClient.withLock]).
     */
    suspend fun <T> run(block: suspend (Lock) -> T): T = coroutineScope {
        val work = async { block(this@Lock) }
        val lost = async { awaitLost() }
        select {
            work.onAwait { value ->
                lost.cancel()
                value
            }
            lost.onAwait { reason ->
                work.cancel()
                throw TenureException.LockLost("lock \"$name\" lost: ${reason.text}")
            }
        }
    }

    /**
     * Releases the lock (blocking until the server answered, at most the client's call timeout)
     * and frees the native handle. Idempotent. Throws if the release failed (the grant then
     * ends with the session at the latest).
     */
    override fun close() = runBlocking { closeSuspending() }

    /** [close] without blocking a thread: releases, then frees the native handle. */
    internal suspend fun closeSuspending() {
        if (!closed.compareAndSet(false, true)) return
        try {
            mapErrors { raw.release() }
        } finally {
            finalReason = runCatching { raw.lostReason() }.getOrNull() ?: LostReason.RELEASED
            raw.destroy()
        }
    }

    /** Name, token, owner and whether it is held. */
    override fun toString(): String = "Lock(name=$name, token=$fencingToken, owner=$ownerId, held=${isHeld()})"
}
