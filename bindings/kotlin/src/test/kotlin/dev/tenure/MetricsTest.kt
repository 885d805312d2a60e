package dev.tenure

import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** A client's counters per lock-name prefix, as records and as Prometheus text. */
@Timeout(60)
class MetricsTest : ClusterTest() {
    private fun TenureClient.of(prefix: String): PrefixMetrics =
        metrics().single { it.prefix == prefix }

    private fun PrefixMetrics.counts() = listOf(acquired, acquireFailed, released, lost)

    @Test
    fun `acquires, failures, releases and losses are counted per prefix`() = runBlocking {
        val a = client()
        val b = client()
        assertEquals(emptyList(), a.metrics())
        val first = a.tryLock("m/x")
        assertFailsWith<TenureException.LockHeld> { b.tryLock("m/x") }
        first.release()
        val second = b.tryLock("m/x")
        a.forceRelease("m/x", second.ownerId, "kotlin test")
        assertEquals(LostReason.FORCE_RELEASED, withTimeout(10.seconds) { second.awaitLost() })

        assertEquals(listOf(1uL, 0uL, 1uL, 0uL), a.of("m/").counts())
        assertEquals(listOf(1uL, 1uL, 0uL, 1uL), b.of("m/").counts())
        val text = b.metricsText()
        for (line in listOf(
            "tenure_client_acquires_total{prefix=\"m/\",result=\"ok\"} 1",
            "tenure_client_acquires_total{prefix=\"m/\",result=\"LOCK_HELD\"} 1",
            "tenure_client_locks_lost_total{prefix=\"m/\",reason=\"force_released\"} 1",
            "tenure_client_hold_seconds_count{prefix=\"m/\"} 1",
        )) {
            assertTrue(line in text, "missing $line in\n$text")
        }
        assertTrue("# TYPE tenure_client_acquire_wait_seconds histogram" in text, text)
    }

    @Test
    fun `acquireAll counts each name, and a name without a slash counts under the empty prefix`() = runBlocking {
        val c = client()
        c.acquireAll(listOf("all/a", "all/b", "solo")).release()
        assertEquals(listOf(2uL, 0uL, 2uL, 0uL), c.of("all/").counts())
        assertEquals(listOf(1uL, 0uL, 1uL, 0uL), c.of("").counts())
        assertTrue(c.of("all/").holdMsTotal < 10_000uL)
        assertEquals(listOf("", "all/"), c.metrics().map { it.prefix })
        assertTrue("tenure_client_acquires_total{prefix=\"\",result=\"ok\"} 1" in c.metricsText())
    }
}
