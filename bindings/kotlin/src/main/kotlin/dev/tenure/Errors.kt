package dev.tenure

import dev.tenure.ffi.FfiException
import dev.tenure.ffi.InternalException

/**
 * Every error the tenure client raises: one subclass per stable error kind, the same kinds
 * (and [code]s) as in every other tenure binding.
 *
 * ```kotlin
 * try {
 *     client.tryLock("jobs/nightly").use { /* ... */ }
 * } catch (e: TenureException.LockHeld) {
 *     println("someone else runs the job")
 * }
 * ```
 *
 * The class is sealed, so a `when` over the subclasses is exhaustive.
 *
 * @property code the kind's stable name, for example `LOCK_HELD`.
 */
sealed class TenureException(message: String, val code: String) : Exception(message) {
    /** No server could be reached, or none could serve the call in time. Retrying later may succeed. Code `UNAVAILABLE`. */
    class Unavailable(message: String) : TenureException(message, "UNAVAILABLE")

    /** The call's deadline passed, for example a waiting acquire's timeout. Code `TIMEOUT`. */
    class Timeout(message: String) : TenureException(message, "TIMEOUT")

    /** A try-acquire (no wait) found the lock held by someone else. Code `LOCK_HELD`. */
    class LockHeld(message: String) : TenureException(message, "LOCK_HELD")

    /** The lock is no longer held: its session ended, it was force-released, or a storage rejected a stale fencing token. Code `LOCK_LOST`. */
    class LockLost(message: String) : TenureException(message, "LOCK_LOST")

    /** The session expired (or was closed). Code `SESSION_EXPIRED`. */
    class SessionExpired(message: String) : TenureException(message, "SESSION_EXPIRED")

    /** The session was blacklisted by an administrator. Code `SESSION_BLACKLISTED`. */
    class SessionBlacklisted(message: String) : TenureException(message, "SESSION_BLACKLISTED")

    /** The grant named is not current (for example a force-release of a stale owner id). Code `NOT_HOLDER`. */
    class NotHolder(message: String) : TenureException(message, "NOT_HOLDER")

    /** The request was malformed (bad lock name, options, fence...); nothing changed. Code `INVALID_ARGUMENT`. */
    class InvalidArgument(message: String) : TenureException(message, "INVALID_ARGUMENT")

    /** The caller may not do this (authentication or authorization failed). Code `PERMISSION_DENIED`. */
    class PermissionDenied(message: String) : TenureException(message, "PERMISSION_DENIED")

    /** A server limit was reached. Code `RESOURCE_EXHAUSTED`. */
    class ResourceExhausted(message: String) : TenureException(message, "RESOURCE_EXHAUSTED")

    /** The call was cancelled. Code `CANCELLED`. */
    class Cancelled(message: String) : TenureException(message, "CANCELLED")

    /** A bug or an unexpected reply. Code `INTERNAL`. */
    class Internal(message: String) : TenureException(message, "INTERNAL")

    /** Holds [CODES]. */
    companion object {
        /** The stable codes of all kinds, in declaration order. */
        @JvmField
        val CODES: List<String> = listOf(
            "UNAVAILABLE",
            "TIMEOUT",
            "LOCK_HELD",
            "LOCK_LOST",
            "SESSION_EXPIRED",
            "SESSION_BLACKLISTED",
            "NOT_HOLDER",
            "INVALID_ARGUMENT",
            "PERMISSION_DENIED",
            "RESOURCE_EXHAUSTED",
            "CANCELLED",
            "INTERNAL",
        )

        /** Makes the exception for [code] (one of [CODES]); unknown codes give [Internal]. */
        @JvmStatic
        fun of(code: String, message: String): TenureException = when (code) {
            "UNAVAILABLE" -> Unavailable(message)
            "TIMEOUT" -> Timeout(message)
            "LOCK_HELD" -> LockHeld(message)
            "LOCK_LOST" -> LockLost(message)
            "SESSION_EXPIRED" -> SessionExpired(message)
            "SESSION_BLACKLISTED" -> SessionBlacklisted(message)
            "NOT_HOLDER" -> NotHolder(message)
            "INVALID_ARGUMENT" -> InvalidArgument(message)
            "PERMISSION_DENIED" -> PermissionDenied(message)
            "RESOURCE_EXHAUSTED" -> ResourceExhausted(message)
            "CANCELLED" -> Cancelled(message)
            "INTERNAL" -> Internal(message)
            else -> Internal(message)
        }
    }
}

/** The idiomatic exception for an error of the generated layer. */
internal fun FfiException.toTenure(): TenureException {
    val msg = message ?: ""
    return when (this) {
        is FfiException.Unavailable -> TenureException.Unavailable(msg)
        is FfiException.Timeout -> TenureException.Timeout(msg)
        is FfiException.LockHeld -> TenureException.LockHeld(msg)
        is FfiException.LockLost -> TenureException.LockLost(msg)
        is FfiException.SessionExpired -> TenureException.SessionExpired(msg)
        is FfiException.SessionBlacklisted -> TenureException.SessionBlacklisted(msg)
        is FfiException.NotHolder -> TenureException.NotHolder(msg)
        is FfiException.InvalidArgument -> TenureException.InvalidArgument(msg)
        is FfiException.PermissionDenied -> TenureException.PermissionDenied(msg)
        is FfiException.ResourceExhausted -> TenureException.ResourceExhausted(msg)
        is FfiException.Cancelled -> TenureException.Cancelled(msg)
        is FfiException.Internal -> TenureException.Internal(msg)
    }
}

/**
 * Runs [block], turning errors of the generated layer into [TenureException]s (a Rust panic,
 * which uniffi reports as [InternalException], becomes [TenureException.Internal]).
 */
internal inline fun <T> mapErrors(block: () -> T): T =
    try {
        block()
    } catch (e: FfiException) {
        throw e.toTenure()
    } catch (e: InternalException) {
        throw TenureException.Internal(e.message ?: "internal error")
    }
