package dev.tenure

import java.time.Duration
import kotlin.time.toJavaDuration
import kotlinx.coroutines.runBlocking

/**
 * A counting semaphore of [permits] permits, from [TenureClient.semaphore].
 *
 * Each acquire returns a [Lock] with its own owner id and fencing token, granted in FIFO order
 * while the permits held by everyone stay within [permits], and given back when released or when
 * the holder's session ends. The number of permits is fixed while anyone holds or waits for the
 * name: another number throws [TenureException.InvalidArgument]. A client may hold several grants
 * of one semaphore (permits are counted, unlike a lock's single grant per session).
 *
 * @property name the semaphore's name (a lock name).
 * @property permits its number of permits (1 to 1,000,000).
 */
class Semaphore internal constructor(
    private val client: TenureClient,
    val name: String,
    val permits: Int,
) {
    /** Waits up to [timeout] for [count] permits ([TenureException.Timeout] after). */
    suspend fun acquire(timeout: Duration, count: Int = 1, value: String = ""): Lock =
        client.acquire(name, options(timeout, count, value))

    /** Waits up to [timeout] for [count] permits ([TenureException.Timeout] after). */
    suspend fun acquire(timeout: kotlin.time.Duration, count: Int = 1, value: String = ""): Lock =
        acquire(timeout.toJavaDuration(), count, value)

    /** Takes [count] permits if they are free now ([TenureException.LockHeld] if not). */
    suspend fun tryAcquire(count: Int = 1, value: String = ""): Lock =
        client.acquire(name, options(null, count, value))

    /** [acquire], blocking the calling thread (for Java). */
    @JvmOverloads
    fun acquireBlocking(timeout: Duration, count: Int = 1, value: String = ""): Lock =
        runBlocking { acquire(timeout, count, value) }

    /** [tryAcquire], blocking the calling thread (for Java). */
    @JvmOverloads
    fun tryAcquireBlocking(count: Int = 1, value: String = ""): Lock = runBlocking { tryAcquire(count, value) }

    private fun options(wait: Duration?, count: Int, value: String) =
        AcquireOptions(mode = LockMode.PERMITS, wait = wait, value = value, permits = count, permitLimit = permits)

    /** For logs. */
    override fun toString() = "Semaphore(name=$name, permits=$permits)"
}
