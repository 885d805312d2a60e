// Benchmark scenario 7 (binding overhead): scenario 1 from Kotlin.
//
// One client acquires and releases one lock in a loop; prints the latency of each
// measured pair in microseconds, one per line. The harness (`tenure-bench run
// --bindings kotlin`) runs it against the same cluster as the Rust native loop.
//
// Environment: TENURE_ENDPOINTS, TENURE_BENCH_PAIRS, TENURE_BENCH_WARMUP, TENURE_BENCH_LOCK.
package dev.tenure.bench

import dev.tenure.ClientOptions
import dev.tenure.TenureClient
import kotlinx.coroutines.runBlocking
import java.time.Duration

private fun env(name: String): String = System.getenv(name) ?: error("$name is not set")

/** Runs the loop in suspend functions (the binding's primary API). */
fun main() = runBlocking {
    val pairs = env("TENURE_BENCH_PAIRS").toInt()
    val warmup = env("TENURE_BENCH_WARMUP").toInt()
    val name = env("TENURE_BENCH_LOCK")
    val samples = LongArray(pairs)
    val options = ClientOptions(ttl = Duration.ofSeconds(10), label = "bench-kotlin")
    TenureClient.connect(env("TENURE_ENDPOINTS"), options).use { client ->
        for (i in 0 until warmup + pairs) {
            val start = System.nanoTime()
            client.lock(name, Duration.ofSeconds(10)).release()
            if (i >= warmup) samples[i - warmup] = (System.nanoTime() - start) / 1000
        }
    }
    println(samples.joinToString("\n"))
}
