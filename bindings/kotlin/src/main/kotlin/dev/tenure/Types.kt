package dev.tenure

import dev.tenure.ffi.FfiSubscription
import dev.tenure.ffi.lostReasonText

// The plain records and enums of the generated layer (package dev.tenure.ffi), under their
// names in this package. All ids, tokens and Unix-millisecond times are Long; durations are
// java.time.Duration.

/** Exclusive (one holder) or shared (many shared holders, no exclusive one). */
typealias LockMode = dev.tenure.ffi.LockMode

/** Why a lock stopped being held: released, session expired or blacklisted, force-released, client closed. */
typealias LostReason = dev.tenure.ffi.LostReason

/** Health of a session as the client sees it: HEALTHY, JEOPARDY (renewals failing, locks still held), EXPIRED (final). */
typealias SessionState = dev.tenure.ffi.SessionState

/** A lock's holders, FIFO waiters and lock-delay, as returned by [TenureClient.describe]. */
typealias LockInfo = dev.tenure.ffi.LockInfo

/** A current grant of a lock: session, fencing token, owner id, mode, grant time. */
typealias HolderInfo = dev.tenure.ffi.HolderInfo

/** A queued acquire: session, request id, mode, deadline. */
typealias WaiterInfo = dev.tenure.ffi.WaiterInfo

/** A session as the server knows it, as returned by [TenureClient.listSessions]. */
typealias SessionInfo = dev.tenure.ffi.SessionInfo

/** One node's view of the cluster, as returned by [TenureClient.status]. */
typealias ClusterStatus = dev.tenure.ffi.ClusterStatus

/** A cluster member in a [ClusterStatus]. */
typealias MemberInfo = dev.tenure.ffi.MemberInfo

/** An admin action on record, as returned by [TenureClient.audit]. */
typealias AuditRecord = dev.tenure.ffi.AuditRecord

/** A grant handed out by [TenureClient.forceRelease]. */
typealias GrantInfo = dev.tenure.ffi.GrantInfo

/** The core's text for a lost reason, for example `session expired`. */
val LostReason.text: String
    get() = lostReasonText(this)

/** Told once when a lock is lost or released (see [Lock.onLost]). */
fun interface LostCallback {
    /** The lock is no longer held, for [reason]. */
    fun onLost(reason: LostReason)
}

/** Told every change of a client's session state (see [TenureClient.onSessionState]). */
fun interface SessionStateCallback {
    /** The session state is now [state]. */
    fun onState(state: SessionState)
}

/** A callback registration; [close] (or [cancel]) ends it. Idempotent. */
class Subscription internal constructor(private val raw: FfiSubscription) : AutoCloseable {
    /** Ends the registration: no more calls after this returns (one already running may finish). */
    fun cancel() = close()

    /** Ends the registration. */
    override fun close() {
        raw.cancel()
        raw.destroy()
    }
}
