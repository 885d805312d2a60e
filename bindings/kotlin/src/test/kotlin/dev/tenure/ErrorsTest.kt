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
        assertEquals(dev.tenure.ffi.errorCodes(), TenureException.CODES)
        for (code in TenureException.CODES) {
            val e = TenureException.of(code, "m")
            assertEquals(code, e.code)
            assertEquals("m", e.message)
        }
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
            is TenureException.Internal -> "x"
        }
        assertEquals(12, TenureException.CODES.map { kind(TenureException.of(it, "")) }.toSet().size)
    }

    @Test
    fun `bad input raises InvalidArgument`() = runBlocking {
        val client = client()
        assertFailsWith<TenureException.InvalidArgument> { client.tryLock("") }
        assertFailsWith<TenureException.InvalidArgument> { client.tryLock("x".repeat(257)) }
        assertFailsWith<TenureException.InvalidArgument> { client.tryLock("bad\nname") }
        assertFailsWith<TenureException.InvalidArgument> { client.blacklist(-1, "negative") }
        assertFailsWith<TenureException.InvalidArgument> { client.audit(-1) }
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
        val err = assertFailsWith<TenureException> { a.blacklist(1L shl 40, "unknown") }
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
        assertEquals(d, ClientOptions.fromFfi(d.toFfi()))
        val withTls = d.withTls(TlsOptions(caFile = "/ca.pem")).withToken("t")
        assertEquals(withTls, withTls.withEnv()) // set values are kept
    }
}
