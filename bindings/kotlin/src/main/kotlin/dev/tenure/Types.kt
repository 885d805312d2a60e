package dev.tenure

import dev.tenure.ffi.NativeSubscription
import dev.tenure.ffi.lockChangeCode
import dev.tenure.ffi.lostReasonText

// The plain records and enums of the core (generated from the core's own types into package
// dev.tenure.core), under their names in this package. Ids, tokens and Unix-millisecond times
// are the core's u64 as ULong; durations are java.time.Duration.

/** Exclusive (one holder), shared (many shared holders, no exclusive one), or permits of a semaphore. */
typealias LockMode = dev.tenure.core.LockMode

/** Why a lock stopped being held: released, session expired or blacklisted, force-released, client closed. */
typealias LostReason = dev.tenure.core.LostReason

/** Health of a session as the client sees it: HEALTHY, JEOPARDY (renewals failing, locks still held), EXPIRED (final). */
typealias SessionState = dev.tenure.core.SessionState

/** A lock's holders, FIFO waiters and lock-delay, as returned by [TenureClient.describe]. */
typealias LockInfo = dev.tenure.core.LockInfo

/** A current grant of a lock: session, fencing token, owner id, mode, grant time, value, permits, releaseRequested. */
typealias HolderInfo = dev.tenure.core.HolderInfo

/** A queued acquire: session, request id, mode, deadline. */
typealias WaiterInfo = dev.tenure.core.WaiterInfo

/** A session as the server knows it, as returned by [TenureClient.listSessions]. */
typealias SessionInfo = dev.tenure.core.SessionInfo

/** One node's view of the cluster, as returned by [TenureClient.status]. */
typealias ClusterStatus = dev.tenure.core.ClusterStatus

/** A cluster member in a [ClusterStatus]. */
typealias MemberInfo = dev.tenure.core.MemberInfo

/** An admin action on record, as returned by [TenureClient.audit]. */
typealias AuditRecord = dev.tenure.core.AuditRecord

/** A grant handed out by [TenureClient.forceRelease], or asked to release by [TenureClient.requestRelease]. */
typealias GrantInfo = dev.tenure.core.GrantInfo

/**
 * What one [Watcher.next] returns: the changes since the previous batch ([events], in increasing
 * revisions), or with [reset] the state at [revision] ([locks], replacing what the watcher knew).
 * Every change up to [revision] is delivered: resume a watch from it.
 */
typealias WatchBatch = dev.tenure.core.WatchBatch

/**
 * One change of one lock in a [WatchBatch]: its revision (cluster-wide, increasing), the
 * [LockChange], the lock's name, the holder's or waiter's session, token (0 for a waiter),
 * owner id, mode, permits, value (the new one for VALUE_CHANGED), the acquire's request id (for
 * waiter changes and grants to a waiter) and the time (Unix ms, leader clock).
 */
typealias WatchEvent = dev.tenure.core.WatchEvent

/**
 * What happened to a lock: GRANTED, RELEASED (or its session closed), EXPIRED, FORCE_RELEASED,
 * WAITER_ADDED, WAITER_REMOVED (cancelled, timed out, or its session ended), VALUE_CHANGED,
 * RELEASE_REQUESTED. [code] is the name every binding uses (`granted`, `waiter_added`, ...).
 */
typealias LockChange = dev.tenure.core.LockChange

/**
 * The leader of an election ([Election.leader], [Observer.next]): the election's name, the
 * leader's session, fencing token (a later leader's is greater), owner id and value.
 */
typealias Leader = dev.tenure.core.Leader

/**
 * A client's counters for one lock-name prefix ([TenureClient.metrics]): the [prefix] (a name's
 * first segment with its slash), acquires [acquired] and [acquireFailed], grants [released] and
 * [lost], and the total time granted acquires waited and grants were held, in ms.
 */
typealias PrefixMetrics = dev.tenure.core.PrefixMetrics

/**
 * The stable name of a lock change shared by every binding: `granted`, `released`, `expired`,
 * `force_released`, `waiter_added`, `waiter_removed`, `value_changed`, `release_requested`.
 */
val LockChange.code: String
    get() = lockChangeCode(this)

/** The core's text for a lost reason, for example `session expired`. */
val LostReason.text: String
    get() = lostReasonText(this)

/** Told once when a lock is lost or released (see [Lock.onLost]). */
fun interface LostCallback {
    /** The lock is no longer held, for [reason]. */
    fun onLost(reason: LostReason)
}

/** Told once when someone asks a lock's holder to release it (see [Lock.onRevokeRequested]). */
fun interface RevokeCallback {
    /** Someone asked this holder to release the lock ([TenureClient.requestRelease]); it is still held. */
    fun onRevokeRequested()
}

/** Told every change of a client's session state (see [TenureClient.onSessionState]). */
fun interface SessionStateCallback {
    /** The session state is now [state]. */
    fun onState(state: SessionState)
}

/** A callback registration; [close] (or [cancel]) ends it. Idempotent. */
class Subscription internal constructor(private val raw: NativeSubscription) : AutoCloseable {
    /** Ends the registration: no more calls after this returns (one already running may finish). */
    fun cancel() = raw.cancel()

    /** Ends the registration (for `use {}`): [cancel]. */
    override fun close() = cancel()
}
