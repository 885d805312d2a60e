package dev.tenure

import dev.tenure.ffi.NativeException
import dev.tenure.ffi.errorCodes
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

    /**
     * This client's session already holds the lock: a second acquire fails at once instead of
     * waiting behind itself (no silent reentrancy). Code `ALREADY_HELD`.
     */
    class AlreadyHeld(message: String) : TenureException(message, "ALREADY_HELD")

    /** A bug or an unexpected reply. Code `INTERNAL`. */
    class Internal(message: String) : TenureException(message, "INTERNAL")

    /** Holds [CODES]. */
    companion object {
        /** The stable codes of all kinds, in the core's order (`ErrorKind::ALL`, read from the native library). */
        @JvmField
        val CODES: List<String> = errorCodes()
    }
}

/** The idiomatic exception for an error of the generated layer. */
internal fun NativeException.toTenure(): TenureException {
    val msg = message ?: ""
    return when (this) {
        is NativeException.Unavailable -> TenureException.Unavailable(msg)
        is NativeException.Timeout -> TenureException.Timeout(msg)
        is NativeException.LockHeld -> TenureException.LockHeld(msg)
        is NativeException.LockLost -> TenureException.LockLost(msg)
        is NativeException.SessionExpired -> TenureException.SessionExpired(msg)
        is NativeException.SessionBlacklisted -> TenureException.SessionBlacklisted(msg)
        is NativeException.NotHolder -> TenureException.NotHolder(msg)
        is NativeException.InvalidArgument -> TenureException.InvalidArgument(msg)
        is NativeException.PermissionDenied -> TenureException.PermissionDenied(msg)
        is NativeException.ResourceExhausted -> TenureException.ResourceExhausted(msg)
        is NativeException.Cancelled -> TenureException.Cancelled(msg)
        is NativeException.AlreadyHeld -> TenureException.AlreadyHeld(msg)
        is NativeException.Internal -> TenureException.Internal(msg)
    }
}

/**
 * Runs [block], turning errors of the generated layer into [TenureException]s (a Rust panic,
 * which uniffi reports as [InternalException], becomes [TenureException.Internal]).
 */
internal inline fun <T> mapErrors(block: () -> T): T =
    try {
        block()
    } catch (e: NativeException) {
        throw e.toTenure()
    } catch (e: InternalException) {
        throw TenureException.Internal(e.message ?: "internal error")
    }
