package dev.tenure

import java.time.Duration
import kotlinx.coroutines.runBlocking
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** The sealed exception hierarchy: which calls raise which kind. */
@Timeout(60)
class ErrorsTest : ClusterTest() {
    @Test
    fun `codes match the core's stable names`() {
        // One exception class per kind of the core (ErrorKind::ALL), in its order.
        val all = listOf(
            TenureException.Unavailable("m"), TenureException.Timeout("m"), TenureException.LockHeld("m"),
            TenureException.LockLost("m"), TenureException.SessionExpired("m"),
            TenureException.SessionBlacklisted("m"), TenureException.NotHolder("m"),
            TenureException.InvalidArgument("m"), TenureException.PermissionDenied("m"),
            TenureException.ResourceExhausted("m"), TenureException.Cancelled("m"), TenureException.AlreadyHeld("m"),
            TenureException.Internal("m"),
        )
        assertEquals(dev.tenure.ffi.errorCodes(), all.map { it.code })
        assertEquals(TenureException.CODES, all.map { it.code })
        assertEquals(LostReason.entries.size, 5)
        // The hierarchy is sealed: this `when` needs no else branch.
        fun kind(e: TenureException): String = when (e) {
            is TenureException.Unavailable -> "u"
            is TenureException.Timeout -> "t"
            is TenureException.LockHeld -> "h"
            is TenureException.LockLost -> "l"
            is TenureException.SessionExpired -> "e"
            is TenureException.SessionBlacklisted -> "b"
            is TenureException.NotHolder -> "n"
            is TenureException.InvalidArgument -> "i"
            is TenureException.PermissionDenied -> "p"
            is TenureException.ResourceExhausted -> "r"
            is TenureException.Cancelled -> "c"
            is TenureException.AlreadyHeld -> "a"
            is TenureException.Internal -> "x"
        }
        assertEquals(13, all.map { kind(it) }.toSet().size)
    }

    @Test
    fun `bad input raises InvalidArgument`() = runBlocking {
        val client = client()
        assertFailsWith<TenureException.InvalidArgument> { client.tryLock("") }
        assertFailsWith<TenureException.InvalidArgument> { client.tryLock("x".repeat(257)) }
        assertFailsWith<TenureException.InvalidArgument> { client.tryLock("bad\nname") }
        assertFailsWith<TenureException.InvalidArgument> { Fence("", 1u) }
        assertFailsWith<TenureException.InvalidArgument> { ClientOptions(drift = 0.7).validate() }
        assertFailsWith<TenureException.InvalidArgument> {
            TenureClient.connect(cluster.endpoints, ClientOptions(ttl = Duration.ofMillis(100)))
        }
        assertFailsWith<TenureException.InvalidArgument> { TenureClient.connectLazy(listOf("no-port")) }
        ClientOptions().validate() // the defaults are fine
    }

    @Test
    fun `errors of held, lost and unknown things`() = runBlocking {
        val a = client()
        val b = client()
        a.tryLock("kt/err").use {
            val e: TenureException = assertFailsWith<TenureException.LockHeld> { b.tryLock("kt/err") }
            assertIs<Exception>(e)
            assertTrue(e.message!!.isNotEmpty())
            assertFailsWith<TenureException.NotHolder> { a.forceRelease("kt/err", "f".repeat(32), "stale") }
        }
        // Blacklisting an unknown session is refused, nothing changes.
        val err = assertFailsWith<TenureException> { a.blacklist(1uL shl 40, "unknown") }
        assertTrue(err is TenureException.SessionExpired || err is TenureException.InvalidArgument, "$err")
    }

    @Test
    fun `no reachable server raises Unavailable`() = runBlocking {
        val port = TenureCluster.freePortRange()
        val options = ClientOptions(
            callTimeout = Duration.ofMillis(800),
            attemptTimeout = Duration.ofMillis(200),
        )
        val e = assertFailsWith<TenureException> { TenureClient.connect("127.0.0.1:$port", options) }
        assertTrue(e is TenureException.Unavailable || e is TenureException.Timeout, "$e")
        // A lazy client connects nothing until asked, then fails the same way.
        TenureClient.connectLazy("127.0.0.1:$port", options).use { lazy ->
            assertEquals(SessionState.EXPIRED, lazy.sessionState)
            assertEquals(null, lazy.sessionId())
            val s = assertFailsWith<TenureException> { lazy.status() }
            assertTrue(s is TenureException.Unavailable || s is TenureException.Timeout, "$s")
        }
    }

    @Test
    fun `options come from the core`() {
        val d = ClientOptions.defaults()
        assertEquals(Duration.ofSeconds(10), d.ttl)
        assertEquals(0.01, d.drift)
        assertEquals(Duration.ofMillis(100), d.margin)
        assertEquals(Duration.ofMillis(100), d.maxBackoff)
        assertTrue(d.useEnv) // the core's env policy, the same default in every language
        assertEquals(false, d.withUseEnv(false).useEnv)
    }
}
