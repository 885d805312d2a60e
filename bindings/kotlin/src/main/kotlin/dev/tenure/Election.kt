package dev.tenure

import dev.tenure.ffi.NativeElection
import dev.tenure.ffi.NativeObserver
import java.time.Duration
import kotlin.time.toJavaDuration
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.runBlocking

/**
 * Leader election on the lock [name], from [TenureClient.election]: the leader is the lock's
 * holder and its value the holder's value (for example the leader's address).
 *
 * ```kotlin
 * val election = client.election("services/scheduler")
 * election.campaign("10.0.0.7:8080", 1.hours).use { leadership ->
 *     leadership.setValue("10.0.0.7:8081") // proclaim a new value
 *     runAsLeader(fence = leadership.fence) // until done; close() resigns
 * }
 * ```
 *
 * The leadership is a [Lock]: its fencing token orders leaders (a later leader's is greater),
 * [Lock.awaitLost], [Lock.onLost] and [Lock.run] tell when leadership ends (session expired,
 * force-released), [Lock.setValue] proclaims a new value, and [Lock.release] (or [Lock.close])
 * resigns. [observe] follows the leader. No network until a call. Thread-safe.
 */
class Election internal constructor(private val raw: NativeElection) {
    /** The election's name (the lock's). */
    val name: String = raw.name()

    /**
     * Waits (FIFO, up to [timeout]; [TenureException.Timeout] after) to lead, with [value] shown
     * to observers. Returns the leadership as a [Lock]. Cancelling the coroutine withdraws the
     * candidacy, as for an acquire. [TenureException.AlreadyHeld] if this client leads already.
     */
    suspend fun campaign(value: String, timeout: Duration): Lock = Lock(mapErrors { raw.campaign(value, timeout) })

    /** [campaign] with a `kotlin.time.Duration`. */
    suspend fun campaign(value: String, timeout: kotlin.time.Duration): Lock =
        campaign(value, timeout.toJavaDuration())

    /** Leads at once if nobody does; [TenureException.LockHeld] if someone leads. */
    suspend fun tryCampaign(value: String): Lock = Lock(mapErrors { raw.tryCampaign(value) })

    /** The current leader, or null if nobody leads (a linearizable read). */
    suspend fun leader(): Leader? = mapErrors { raw.leader() }

    /**
     * Follows the leader: [Observer.next] returns the current leader first (null if nobody
     * leads), then the leader after each change: a new leader, a new value, or null when the
     * leader goes away (resigned, expired, force-released). Close it when done.
     */
    fun observe(): Observer = Observer(raw.observe())

    /** [campaign], blocking the calling thread (for Java). */
    fun campaignBlocking(value: String, timeout: Duration): Lock = runBlocking { campaign(value, timeout) }

    /** [tryCampaign], blocking the calling thread (for Java). */
    fun tryCampaignBlocking(value: String): Lock = runBlocking { tryCampaign(value) }

    /** [leader], blocking the calling thread (for Java). */
    fun leaderBlocking(): Leader? = runBlocking { leader() }

    /** For logs. */
    override fun toString(): String = "Election(name=$name)"
}

/**
 * The leader changes of one election, from [Election.observe]. Built on a watch of the
 * election's lock, so it reconnects and resumes the same way and sees every change in order.
 *
 * ```kotlin
 * election.observe().asFlow().collect { leader ->
 *     if (leader == null) println("no leader") else println("leader ${leader.value} (token ${leader.token})")
 * }
 * ```
 *
 * Cancelling a waiting [next] loses nothing (the answer is the next call's). [close] ends a
 * waiting [next] with [TenureException.Cancelled]. Thread-safe; calls of [next] take turns.
 */
class Observer internal constructor(raw: NativeObserver) : AutoCloseable {
    private val relay = NextRelay(raw::next, raw::cancel)

    /** Whether [close] was called. */
    val isClosed: Boolean
        get() = relay.isClosed

    /**
     * The next leader: at first the current one (null if nobody leads), then after each change
     * (null when the leader went away). After [close], throws [TenureException.Cancelled].
     */
    suspend fun next(): Leader? = relay.next()

    /** [next], blocking the calling thread (for Java). */
    fun nextBlocking(): Leader? = runBlocking { next() }

    /**
     * The leaders as a flow (null: nobody leads). The flow owns the observer: when its
     * collection ends (cancelled, an error, or [close], which completes it) the observer is
     * closed. Collect it once.
     */
    fun asFlow(): Flow<Leader?> = relay.asFlow(::next)

    /** Stops observing: a waiting [next] and every later one throw [TenureException.Cancelled]. Idempotent. */
    override fun close() = relay.close()
}
