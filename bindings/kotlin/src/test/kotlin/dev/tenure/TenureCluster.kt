package dev.tenure

import java.io.BufferedReader
import java.io.File
import java.io.InputStreamReader
import java.net.InetAddress
import java.net.ServerSocket
import java.util.concurrent.LinkedBlockingQueue
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.delay
import kotlinx.coroutines.withTimeout
import kotlin.time.Duration
import kotlin.time.Duration.Companion.seconds
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.TestInstance

/**
 * A real `tenure dev --nodes 3` process on three free loopback ports. The binary is
 * `$TENURE_BIN` or `<repo>/target/debug/tenure`.
 */
class TenureCluster private constructor(private val process: Process, val endpoints: String) : AutoCloseable {
    override fun close() {
        process.destroy() // SIGTERM
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            process.waitFor(10, TimeUnit.SECONDS)
        }
    }

    companion object {
        fun binary(): File {
            System.getenv("TENURE_BIN")?.takeIf { it.isNotEmpty() }?.let { return File(it) }
            val repo = System.getProperty("tenure.repo") ?: "../.."
            return File(repo, "target/debug/tenure").canonicalFile
        }

        private fun bindable(port: Int): Boolean = try {
            ServerSocket(port, 1, InetAddress.getByName("127.0.0.1")).close()
            true
        } catch (e: Exception) {
            false
        }

        /** A port P such that P, P+1 and P+2 are free right now. */
        fun freePortRange(): Int {
            repeat(200) {
                val p = ServerSocket(0, 1, InetAddress.getByName("127.0.0.1")).use { it.localPort }
                if (p + 2 <= 65535 && (0..2).all { bindable(p + it) }) return p
            }
            error("no three consecutive free ports")
        }

        fun start(): TenureCluster {
            val bin = binary()
            check(bin.canExecute()) { "$bin not found: run `cargo build --workspace` first or set TENURE_BIN" }
            var lastError = ""
            repeat(3) {
                val port = freePortRange()
                val process = ProcessBuilder(bin.path, "dev", "--nodes", "3", "--port", port.toString())
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start()
                val lines = LinkedBlockingQueue<String>()
                Thread {
                    BufferedReader(InputStreamReader(process.inputStream)).useLines { seq -> seq.forEach { lines.put(it) } }
                    lines.put("<eof>")
                }.apply { isDaemon = true }.start()
                val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30)
                while (System.nanoTime() < deadline) {
                    val line = lines.poll(100, TimeUnit.MILLISECONDS) ?: continue
                    if (line.startsWith("endpoints:")) {
                        return TenureCluster(process, line.removePrefix("endpoints:").trim())
                    }
                    if (line == "<eof>") break
                }
                lastError = "tenure dev on port $port did not start (exit ${if (process.isAlive) "none" else process.exitValue()})"
                process.destroyForcibly()
            }
            error(lastError)
        }
    }
}

/** Test classes extending this get a fresh cluster for the class, stopped afterwards. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ClusterTest {
    lateinit var cluster: TenureCluster
    private val clients = mutableListOf<TenureClient>()

    @BeforeAll
    fun startCluster() {
        cluster = TenureCluster.start()
    }

    @AfterAll
    fun stopCluster() {
        clients.forEach { runCatching { it.close() } }
        cluster.close()
    }

    /** A connected client, closed after the class. */
    suspend fun client(options: ClientOptions = ClientOptions()): TenureClient =
        TenureClient.connect(cluster.endpoints, options).also { synchronized(clients) { clients += it } }

    /** An admin client without a session, closed after the class. */
    fun admin(): TenureClient =
        TenureClient.connectLazy(cluster.endpoints).also { synchronized(clients) { clients += it } }
}

/** Polls [condition] until it holds (or fails after [timeout]); for state that converges, not for timing. */
suspend fun eventually(timeout: Duration = 10.seconds, what: String, condition: suspend () -> Boolean) {
    try {
        withTimeout(timeout) {
            while (!condition()) delay(20)
        }
    } catch (e: kotlinx.coroutines.TimeoutCancellationException) {
        throw AssertionError("not within $timeout: $what")
    }
}
