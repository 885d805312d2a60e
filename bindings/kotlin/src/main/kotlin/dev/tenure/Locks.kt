package dev.tenure

import kotlinx.coroutines.runBlocking

/**
 * The locks of [TenureClient.acquireAll]: a list with one [Lock] per name, in the order the
 * names were given, each with its own fencing token and owner id; and an [AutoCloseable] that
 * releases every one, so `use {}` (or Java's try-with-resources) holds them all exactly for its
 * block:
 *
 * ```kotlin
 * client.acquireAll(listOf("accounts/a", "accounts/b"), 10.seconds).use { (a, b) ->
 *     transfer(from = a.fence, to = b.fence)
 * }
 * ```
 *
 * [close] releases every lock as [Lock.close] does, even when one of them fails, then throws the
 * first failure ([TenureException.LockLost] if a lock was lost before), the others added as
 * suppressed. Each lock can also be used, released or watched on its own; the grants are
 * independent once made (losing one does not release the others).
 */
class Locks internal constructor(private val locks: List<Lock>) : List<Lock> by locks, AutoCloseable {
    /** Releases every lock and waits for the server (idempotent, as [Lock.release]). */
    suspend fun release() = forEachLock { it.release() }

    /** [release], blocking the calling thread (for Java). */
    fun releaseBlocking() = runBlocking { release() }

    /**
     * Releases every lock (blocking until the server answered) and throws
     * [TenureException.LockLost] if one was lost before: [Lock.close] for each. Idempotent.
     */
    override fun close() = runBlocking { finish() }

    /** [close] without blocking a thread. */
    suspend fun finish() = forEachLock { it.finish() }

    /** Runs [action] on every lock, then throws the first failure (the others suppressed). */
    private suspend fun forEachLock(action: suspend (Lock) -> Unit) {
        var first: Throwable? = null
        for (lock in locks) {
            try {
                action(lock)
            } catch (e: Throwable) {
                first?.addSuppressed(e) ?: run { first = e }
            }
        }
        first?.let { throw it }
    }

    /** The locks, as [Lock.toString] shows them. */
    override fun toString(): String = "Locks($locks)"
}
