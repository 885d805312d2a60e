package dev.tenure

import dev.tenure.ffi.NativeAcquired
import dev.tenure.ffi.NativeLock
import dev.tenure.ffi.NativeWork
import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.async
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.runBlocking
import java.time.Duration

/**
 * A held lock: its name, fencing token and owner id, whether it is still held, and how to
 * learn that it was lost.
 *
 * [close] releases it (and waits for the server's answer), so `use {}` and Java's
 * try-with-resources hold the lock exactly for their block; if the lock was lost during the
 * block, [close] throws [TenureException.LockLost] (the core's `Lock::finish`), so work done
 * after the loss does not go unnoticed:
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
 * when the lock is lost. Another client may ask the holder to release
 * ([TenureClient.requestRelease]): [revokeRequested], [awaitRevokeRequested] and
 * [onRevokeRequested] report it, and the lock stays held until the holder releases it.
 * [setValue] replaces the value kept with the grant (an elected leader's proclaim: the
 * leadership from [Election.campaign] is a Lock). Thread-safe.
 */
class Lock internal constructor(acquired: NativeAcquired) : AutoCloseable {
    // The grant's fixed properties come with the acquire's answer (one FFI call, not six).
    private val raw: NativeLock = acquired.lock

    /** The lock's name. */
    val name: String = acquired.name

    /** The fencing token of this grant: greater than every token granted before it, for any lock. */
    val fencingToken: ULong = acquired.fencingToken

    /** The grant's unique owner id (32 hex digits), for [TenureClient.forceRelease]. */
    val ownerId: String = acquired.ownerId

    /** Exclusive or shared. */
    val mode: LockMode = acquired.mode

    /** The id of the session holding the lock. */
    val sessionId: ULong = acquired.sessionId

    /** The fence to pass to storage with every write ([Fence.HEADER]`: <lock>=<token>`). */
    val fence: Fence
        get() = Fence(name, fencingToken)

    /**
     * Whether the lock is still held, judged locally without network: not released, not lost,
     * and the session's local expiry not passed.
     */
    fun isHeld(): Boolean = raw.isHeld()

    /** How long the lock is certainly held without a further renewal (zero once lost). */
    fun remaining(): Duration = raw.remaining()

    /** Why the lock is no longer held, or null while it is. */
    val lostReason: LostReason?
        get() = raw.lostReason()

    /**
     * Suspends until the lock is lost or released and returns the reason. Returns at the
     * session's local expiry at the latest, even if no renewal answer ever arrives.
     */
    suspend fun awaitLost(): LostReason = mapErrors { raw.lost() }

    /** A flow that emits the reason once, when the lock is lost or released, and completes. */
    fun lostFlow(): Flow<LostReason> = flow { emit(awaitLost()) }

    /**
     * Calls [callback] once when the lock is lost or released (soon, if it already is). It runs
     * on the binding's callback thread, never on the caller's.
     */
    fun onLost(callback: LostCallback) = raw.onLost(LostBridge(callback))

    /**
     * Whether someone asked this holder to release the lock ([TenureClient.requestRelease]),
     * judged locally: the request arrives with a renewal. Advisory: the lock is still held until
     * the holder releases it (or loses it).
     */
    val revokeRequested: Boolean
        get() = raw.isRevokeRequested()

    /**
     * Suspends until someone asks this holder to release the lock (within a keepalive interval of
     * the request; at once if someone already has). Never returns for a lock lost without a
     * request: cancel it, or race it with [awaitLost].
     */
    suspend fun awaitRevokeRequested() = mapErrors { raw.revokeRequested() }

    /**
     * Calls [callback] once when someone asks this holder to release the lock (soon, if someone
     * already has), for example to finish the work at hand and [release]. It runs on the
     * binding's callback thread, never on the caller's. The lock stays held until released.
     */
    fun onRevokeRequested(callback: RevokeCallback) = raw.onRevokeRequested(RevokeBridge(callback))

    /**
     * Replaces the value kept with this grant (at most 1,024 bytes, no control characters but
     * tab): shown by [TenureClient.describe], watches (a VALUE_CHANGED change) and an election's
     * observers, so a leader proclaims a new value this way. Throws [TenureException.LockLost] if
     * the lock is no longer held, [TenureException.InvalidArgument] for a bad value.
     */
    suspend fun setValue(value: String) = mapErrors { raw.setValue(value) }

    /** [setValue], blocking the calling thread (for Java). */
    fun setValueBlocking(value: String) = runBlocking { setValue(value) }

    /** Releases the lock and waits for the server. Idempotent: releasing a released or lost lock succeeds. */
    suspend fun release() = mapErrors { raw.release() }

    /** [release], blocking the calling thread (for Java). */
    fun releaseBlocking() = runBlocking { release() }

    /**
     * Runs [block] while the lock is held: the core's `Lock::run`. If the lock is lost first,
     * [block] is cancelled and [TenureException.LockLost] thrown. Does not release the lock
     * (see [TenureClient.withLock]).
     */
    suspend fun <T> run(block: suspend (Lock) -> T): T {
        val ended = NativeWork()
        return underCore({ block(this) }, ended::done) { raw.run(ended) }
    }

    /**
     * Releases the lock (blocking until the server answered, at most the client's call timeout)
     * and throws [TenureException.LockLost] if it was lost before: the core's `Lock::finish`.
     * Idempotent.
     */
    override fun close() = runBlocking { finish() }

    /** [close] without blocking a thread. */
    suspend fun finish() = mapErrors { raw.finish() }

    /** Name, token, owner and whether it is held. */
    override fun toString(): String = "Lock(name=$name, token=$fencingToken, owner=$ownerId, held=${isHeld()})"
}

/**
 * Runs [work] while the core watches the lock: [done] tells the core the work ended, and
 * [outcome] throws (LockLost, ...) when the core decides the work must stop; [work] is then
 * cancelled. The work's own result or exception comes after the core's verdict.
 */
internal suspend fun <T> underCore(work: suspend () -> T, done: () -> Unit, outcome: suspend () -> Unit): T =
    coroutineScope {
        // The work's failure is held until the core has spoken, so the core's order of errors holds.
        val task = async { runCatching { work() } }
        task.invokeOnCompletion { done() }
        try {
            mapErrors { outcome() }
        } catch (e: Throwable) {
            task.cancel(e as? CancellationException ?: CancellationException(e.message, e))
            throw e
        }
        task.await().getOrThrow()
    }
