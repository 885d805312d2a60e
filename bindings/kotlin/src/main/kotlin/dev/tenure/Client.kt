package dev.tenure

import dev.tenure.ffi.NativeClient
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.runBlocking
import java.time.Duration
import java.util.concurrent.atomic.AtomicBoolean
import kotlin.time.toJavaDuration
import dev.tenure.ffi.connect as ffiConnect
import dev.tenure.ffi.connectLazy as ffiConnectLazy
import dev.tenure.ffi.maxAcquireAll

/**
 * A connection to a tenure cluster and its session. Everything hard (heartbeats, client-side
 * expiry, retries across endpoints, leader following, cancel-safe acquires) happens in the
 * Rust core; this class bridges it to coroutines.
 *
 * ```kotlin
 * TenureClient.connect("127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102").use { client ->
 *     client.lock("jobs/nightly", 10.seconds).use { lock ->
 *         println("token ${lock.fencingToken}")
 *     }
 * }
 * ```
 *
 * Every `suspend` function can be cancelled: cancelling a waiting [acquire] withdraws it from
 * the server's queue. Java callers use the `...Blocking` variants. Thread-safe; share one
 * client per process (its locks share one session).
 */
class TenureClient private constructor(private val raw: NativeClient) : AutoCloseable {
    private val closed = AtomicBoolean(false)

    /** Connecting. */
    companion object {
        init {
            FfiThreads.keepAttached()
        }

        /**
         * Connects to the cluster at [endpoints] (any members, `host:port`; an element may
         * hold several, comma-separated) and opens a session.
         */
        suspend fun connect(endpoints: List<String>, options: ClientOptions = ClientOptions()): TenureClient =
            TenureClient(mapErrors { ffiConnect(endpoints, options.toNative()) })

        /** Connects to `host:port[,host:port...]` and opens a session. */
        suspend fun connect(endpoints: String, options: ClientOptions = ClientOptions()): TenureClient =
            connect(listOf(endpoints), options)

        /** [connect], blocking the calling thread (for Java). */
        @JvmStatic
        @JvmOverloads
        fun connectBlocking(endpoints: List<String>, options: ClientOptions = ClientOptions()): TenureClient =
            runBlocking { connect(endpoints, options) }

        /** [connect], blocking the calling thread (for Java). */
        @JvmStatic
        @JvmOverloads
        fun connectBlocking(endpoints: String, options: ClientOptions = ClientOptions()): TenureClient =
            connectBlocking(listOf(endpoints), options)

        /**
         * A client that opens no session until the first acquire: for admin tools that only
         * read or administer. Does not touch the network.
         */
        @JvmStatic
        @JvmOverloads
        fun connectLazy(endpoints: List<String>, options: ClientOptions = ClientOptions()): TenureClient =
            TenureClient(mapErrors { ffiConnectLazy(endpoints, options.toNative()) })

        /** Most names in one [acquireAll] (the server's limit, 64; the core's `MAX_ACQUIRE_ALL`). */
        @JvmField
        val MAX_ACQUIRE_ALL: Int = maxAcquireAll().toInt()

        /** [connectLazy] for `host:port[,host:port...]`. */
        @JvmStatic
        @JvmOverloads
        fun connectLazy(endpoints: String, options: ClientOptions = ClientOptions()): TenureClient =
            connectLazy(listOf(endpoints), options)
    }

    // ------------------------------------------------------------------ acquiring

    /**
     * Acquires [name]. With [AcquireOptions.wait], waits in the server's FIFO queue up to that
     * long ([TenureException.Timeout] after it); without, fails at once with
     * [TenureException.LockHeld] if the lock is taken. Cancelling the coroutine withdraws a
     * waiting acquire (and releases the grant if it raced with the cancel).
     */
    suspend fun acquire(name: String, options: AcquireOptions = AcquireOptions()): Lock =
        Lock(mapErrors { raw.acquire(name, options.toNative()) })

    /** Waits up to [timeout] for an exclusive lock on [name]. */
    suspend fun lock(name: String, timeout: Duration): Lock = acquire(name, AcquireOptions.wait(timeout))

    /** Waits up to [timeout] for an exclusive lock on [name]. */
    suspend fun lock(name: String, timeout: kotlin.time.Duration): Lock = lock(name, timeout.toJavaDuration())

    /** Tries once for an exclusive lock on [name] ([TenureException.LockHeld] if taken). */
    suspend fun tryLock(name: String): Lock = acquire(name, AcquireOptions.tryOnce())

    /**
     * Acquires every lock of [names] at once, or none of them: the server grants the whole set
     * in one step, so the caller never holds some of the locks while it waits for the others,
     * and callers naming overlapping sets in different orders cannot deadlock. Returns one [Lock]
     * per name, in the order given, each with its own fencing token and owner id, as [Locks]
     * (`use {}` releases them all).
     *
     * [options] as for [acquire], applied to every name: [LockMode.EXCLUSIVE] or
     * [LockMode.SHARED] (not [LockMode.PERMITS]), [AcquireOptions.value] and
     * [AcquireOptions.lockDelay] for each grant. Without [AcquireOptions.wait], one try:
     * [TenureException.LockHeld] naming the first lock that is taken, and none is held. With it,
     * waits in every name's FIFO queue at once, holding none of them, until it gets them all or
     * the wait runs out ([TenureException.Timeout]). Callers naming the same locks in any order
     * cannot deadlock, and single acquires ([lock], [acquire]) of these names queue behind it.
     *
     * [TenureException.InvalidArgument] for no names, more than [MAX_ACQUIRE_ALL], a name given
     * twice, a bad name, permits, or a wait over an hour (as for [acquire]); [TenureException.AlreadyHeld] if this client holds one of
     * them. Cancelling the coroutine ends the wait, and whatever a try in flight may have got is
     * released in the background: nothing stays held.
     */
    suspend fun acquireAll(names: List<String>, options: AcquireOptions = AcquireOptions()): Locks =
        Locks(mapErrors { raw.acquireAll(names, options.toNative()) }.map(::Lock))

    /** [acquireAll] of exclusive locks, trying again for up to [timeout] ([TenureException.Timeout] after). */
    suspend fun acquireAll(names: List<String>, timeout: Duration): Locks =
        acquireAll(names, AcquireOptions.wait(timeout))

    /** [acquireAll] of exclusive locks, trying again for up to [timeout] ([TenureException.Timeout] after). */
    suspend fun acquireAll(names: List<String>, timeout: kotlin.time.Duration): Locks =
        acquireAll(names, timeout.toJavaDuration())

    /** The counting semaphore [name] of [permits] permits (1 to 1,000,000). No network until an acquire. */
    fun semaphore(name: String, permits: Int): Semaphore = Semaphore(this, name, permits)

    /** [acquire], blocking the calling thread (for Java). */
    @JvmOverloads
    fun acquireBlocking(name: String, options: AcquireOptions = AcquireOptions()): Lock =
        runBlocking { acquire(name, options) }

    /** [lock], blocking the calling thread (for Java). */
    fun lockBlocking(name: String, timeout: Duration): Lock = runBlocking { lock(name, timeout) }

    /** [tryLock], blocking the calling thread (for Java). */
    fun tryLockBlocking(name: String): Lock = runBlocking { tryLock(name) }

    /** [acquireAll], blocking the calling thread (for Java). */
    @JvmOverloads
    fun acquireAllBlocking(names: List<String>, options: AcquireOptions = AcquireOptions()): Locks =
        runBlocking { acquireAll(names, options) }

    /** [acquireAll] waiting up to [timeout], blocking the calling thread (for Java). */
    fun acquireAllBlocking(names: List<String>, timeout: Duration): Locks = runBlocking { acquireAll(names, timeout) }

    /**
     * The core's `with_lock`: acquires [name] with [options], runs [block] with the lock, and
     * releases it. If the lock is lost during [block], [block] is cancelled and
     * [TenureException.LockLost] thrown; if it is lost before the release, LockLost too. The
     * core's errors come before [block]'s own.
     */
    suspend fun <T> withLock(name: String, options: AcquireOptions, block: suspend (Lock) -> T): T {
        val scope = mapErrors { raw.lockScope(name, options.toNative()) }
        val lock = try {
            Lock(mapErrors { scope.lock() })
        } catch (e: Throwable) {
            scope.cancel()
            throw e
        }
        return underCore({ block(lock) }, scope::workDone) { scope.outcome() }
    }

    /** [withLock] waiting up to [timeout] for an exclusive lock (no default wait, as in every language). */
    suspend fun <T> withLock(name: String, timeout: Duration, block: suspend (Lock) -> T): T =
        withLock(name, AcquireOptions.wait(timeout), block)

    /** [withLock] waiting up to [timeout] for an exclusive lock. */
    suspend fun <T> withLock(name: String, timeout: kotlin.time.Duration, block: suspend (Lock) -> T): T =
        withLock(name, timeout.toJavaDuration(), block)

    // ------------------------------------------------------------------ watches and elections

    /**
     * Watches every lock whose name starts with [prefix] ("" for all; needs read permission on
     * the prefix). From [startRevision] 0 the first batch is the current state (a reset); from
     * the [WatchBatch.revision] of a batch seen before (or a [Watcher.revision]), the changes
     * after it, or a reset if the server no longer has them all. No network until the first
     * [Watcher.next]. Close the watcher when done (`use {}`), or collect [Watcher.asFlow].
     */
    @JvmOverloads
    fun watch(prefix: String = "", startRevision: ULong = 0u): Watcher =
        Watcher(mapErrors { raw.watch(prefix, startRevision) })

    /**
     * The election of [name] (a lock of that name): [Election.campaign], [Election.leader],
     * [Election.observe]. No network.
     */
    fun election(name: String): Election = Election(mapErrors { raw.election(name) })

    // ------------------------------------------------------------------ session

    /** The current session's id, or null if none is open. */
    suspend fun sessionId(): ULong? = raw.sessionId()

    /** [sessionId], blocking the calling thread (for Java). */
    fun sessionIdBlocking(): ULong? = runBlocking { sessionId() }

    /** The current session's state (EXPIRED when there is none). Local, no network. */
    val sessionState: SessionState
        get() = raw.sessionState()

    /**
     * Calls [callback] with every change of the session state (HEALTHY, JEOPARDY, EXPIRED, and
     * HEALTHY again when a later call opens a fresh session) until the subscription is closed.
     * Callbacks run on the binding's callback thread, one at a time, in order.
     */
    fun onSessionState(callback: SessionStateCallback): Subscription =
        Subscription(mapErrors { raw.onSessionState(SessionStateBridge(callback)) })

    /** The session state as a flow: the current state first, then every change. */
    fun sessionStates(): Flow<SessionState> = callbackFlow {
        // Subscribe first, then read the current state: no change is missed in between.
        val subscription = onSessionState { trySend(it) }
        trySend(sessionState)
        awaitClose { subscription.close() }
    }.distinctUntilChanged()

    /**
     * Closes the session: its locks pass on at once and are marked lost (CLIENT_CLOSED). The
     * client stays usable: a later acquire opens a fresh session.
     */
    suspend fun closeSession() = mapErrors { raw.closeSession() }

    /** Closes the session (blocking) and frees the native client. Idempotent. */
    override fun close() {
        if (!closed.compareAndSet(false, true)) return
        try {
            runBlocking { closeSession() }
        } finally {
            raw.destroy()
        }
    }

    /** The endpoints this client was given. */
    val endpoints: List<String>
        get() = raw.endpoints()

    // ------------------------------------------------------------------ metrics

    /**
     * This client's counters, one [PrefixMetrics] per lock-name prefix: a name's first segment
     * with its slash (`jobs/` for `jobs/nightly`, `""` for a name without one, `other` past 256
     * prefixes). Counted: acquires granted ([PrefixMetrics.acquired], their total wait) and
     * failed ([PrefixMetrics.acquireFailed]: held, timed out, ...), grants released by this
     * client ([PrefixMetrics.released]) and lost ([PrefixMetrics.lost]: expired, blacklisted,
     * force-released, closed), with their total hold time. An [acquireAll] counts once per name.
     * Local, no network; since the client was made.
     */
    fun metrics(): List<PrefixMetrics> = raw.metrics()

    /**
     * The same counters in the Prometheus text format (version 0.0.4), for an application's own
     * `/metrics` page: `tenure_client_acquires_total{prefix,result}` (`ok` or the error code,
     * e.g. `LOCK_HELD`), `tenure_client_locks_lost_total{prefix,reason}` (e.g.
     * `force_released`), and the histograms `tenure_client_acquire_wait_seconds` (granted
     * acquires) and `tenure_client_hold_seconds` (grants ended: released or lost). Local, no
     * network.
     */
    fun metricsText(): String = raw.metricsText()

    // ------------------------------------------------------------------ admin and reads

    /** Reads one lock: holders, waiters, lock-delay (null if nobody holds or waits for it). */
    suspend fun describe(name: String): LockInfo? = mapErrors { raw.describe(name) }

    /** Lists the locks whose names start with [prefix] (all pages). */
    suspend fun listLocks(prefix: String = ""): List<LockInfo> = mapErrors { raw.listLocks(prefix) }

    /** Lists the sessions (all pages). */
    suspend fun listSessions(): List<SessionInfo> = mapErrors { raw.listSessions() }

    /** The cluster status as the leader (or any reachable node) sees it. */
    suspend fun status(): ClusterStatus = mapErrors { raw.status() }

    /** The status as the node at [endpoint] sees it. */
    suspend fun nodeStatus(endpoint: String): ClusterStatus = mapErrors { raw.nodeStatus(endpoint) }

    /** The most recent admin actions (oldest first), at most [limit]. */
    suspend fun audit(limit: UInt = 100u): List<AuditRecord> = mapErrors { raw.audit(limit) }

    /**
     * Admin: frees [name] only if [ownerId] still holds it (compare-and-swap;
     * [TenureException.NotHolder] otherwise), handing it to the next waiter at once with a
     * higher token, and leaves an audit record. Returns the grants made.
     */
    suspend fun forceRelease(name: String, ownerId: String, reason: String): List<GrantInfo> =
        mapErrors { raw.forceRelease(name, ownerId, reason) }

    /**
     * Asks the holders of [name] (only the grant [ownerId], if given) to release it: each
     * holder's client learns it with its next renewal ([Lock.onRevokeRequested],
     * [Lock.awaitRevokeRequested], [Lock.revokeRequested]) and decides when to release.
     * Advisory: frees nothing and grants nothing; for a holder that is gone use [forceRelease].
     * Needs lock permission on [name]. Returns the grants asked: empty if nobody held [name], or
     * [ownerId] does not hold it.
     */
    suspend fun requestRelease(name: String, ownerId: String? = null, reason: String = ""): List<GrantInfo> =
        mapErrors { raw.requestRelease(name, ownerId, reason) }

    /**
     * Admin: blacklists a session: it is never renewed again and expires at its current
     * deadline; its holder learns at its next keepalive. Returns the time left until then.
     */
    suspend fun blacklist(sessionId: ULong, reason: String): Duration = mapErrors { raw.blacklist(sessionId, reason) }

    /** [describe], blocking (for Java). */
    fun describeBlocking(name: String): LockInfo? = runBlocking { describe(name) }

    /** [listLocks], blocking (for Java). */
    @JvmOverloads
    fun listLocksBlocking(prefix: String = ""): List<LockInfo> = runBlocking { listLocks(prefix) }

    /** [listSessions], blocking (for Java). */
    fun listSessionsBlocking(): List<SessionInfo> = runBlocking { listSessions() }

    /** [status], blocking (for Java). */
    fun statusBlocking(): ClusterStatus = runBlocking { status() }

    /** [audit], blocking (for Java). */
    @JvmOverloads
    fun auditBlocking(limit: UInt = 100u): List<AuditRecord> = runBlocking { audit(limit) }

    /** [forceRelease], blocking (for Java). */
    fun forceReleaseBlocking(name: String, ownerId: String, reason: String): List<GrantInfo> =
        runBlocking { forceRelease(name, ownerId, reason) }

    /** [requestRelease], blocking (for Java). */
    @JvmOverloads
    fun requestReleaseBlocking(name: String, ownerId: String? = null, reason: String = ""): List<GrantInfo> =
        runBlocking { requestRelease(name, ownerId, reason) }

    /** [blacklist], blocking (for Java). */
    fun blacklistBlocking(sessionId: ULong, reason: String): Duration = runBlocking { blacklist(sessionId, reason) }

    /** [closeSession], blocking (for Java). */
    fun closeSessionBlocking() = runBlocking { closeSession() }
}
