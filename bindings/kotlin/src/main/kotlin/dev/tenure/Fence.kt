package dev.tenure

import dev.tenure.ffi.NativeFenceValidator
import dev.tenure.ffi.checkFence
import dev.tenure.ffi.fenceHeaderName
import dev.tenure.ffi.fenceHeaderValue
import dev.tenure.ffi.parseFence

/** The core's fence record (lock name and token), generated from the core. */
private typealias CoreFence = dev.tenure.core.Fence

/**
 * A lock name and a fencing token, to send with every write to a storage that checks it.
 *
 * It travels as one header, [HEADER]`: <lock>=<token>` ([headerValue], [parse]); the storage
 * keeps the highest token it has seen per resource and rejects lower ones ([FenceValidator]),
 * or does the same in one conditional write:
 *
 * ```sql
 * UPDATE accounts SET balance = ?, fence = :token WHERE id = ? AND fence <= :token
 * -- 0 rows updated: a newer holder has written; this one is stale.
 * ```
 *
 * The lock must be a valid lock name (the core checks it: [TenureException.InvalidArgument]).
 *
 * @property lock the lock (resource) name.
 * @property token the fencing token of the grant (the core's u64).
 */
data class Fence(val lock: String, val token: ULong) {
    init {
        mapErrors { checkFence(toCore()) }
    }

    /** The header value, `<lock>=<token>` (bytes of the name outside visible ASCII, and `%`, percent-encoded). */
    fun headerValue(): String = mapErrors { fenceHeaderValue(toCore()) }

    /** The header value (see [headerValue]). */
    override fun toString(): String = headerValue()

    internal fun toCore() = CoreFence(lock, token)

    /** The header name and the parser. */
    companion object {
        /** The header that carries a fence: `tenure-fence`. */
        @JvmField
        val HEADER: String = fenceHeaderName()

        /** Parses a header value made by [headerValue]; throws [TenureException.InvalidArgument]. */
        @JvmStatic
        fun parse(value: String): Fence = mapErrors { parseFence(value) }.let { Fence(it.lock, it.token) }
    }
}

/**
 * The storage side of fencing: remembers the highest token seen per lock and rejects writes
 * carrying a lower one (equal tokens pass: one holder writes many times). Thread-safe.
 */
class FenceValidator : AutoCloseable {
    private val raw = NativeFenceValidator()

    /** Accepts [fence] if its token is at least the highest seen for its lock (and records it); otherwise throws [TenureException.LockLost]. */
    fun check(fence: Fence) = mapErrors { raw.check(fence.toCore()) }

    /** Parses a header value and checks it; returns the fence. */
    fun checkHeader(value: String): Fence = mapErrors { raw.checkHeader(value) }.let { Fence(it.lock, it.token) }

    /** The highest token seen for [lock], or null. */
    fun highest(lock: String): ULong? = raw.highest(lock)

    /** Frees the native validator now (otherwise the garbage collector does). */
    override fun close() = raw.destroy()
}
