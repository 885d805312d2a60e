// Fenced workers: several processes' worth of clients (one session each) take turns updating
// a counter in a SQLite file. Every write carries the holder's fencing token and is a
// conditional UPDATE, so a holder that lost its lock (paused, partitioned) cannot overwrite
// a newer holder's data. At the end, a "paused" worker's stale write is shown being rejected.
//
//   TENURE_ENDPOINTS=... mvn -q compile exec:java@fenced-worker
package dev.tenure.examples

import dev.tenure.ClientOptions
import dev.tenure.Fence
import dev.tenure.FenceValidator
import dev.tenure.TenureClient
import dev.tenure.TenureException
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withContext
import java.io.File
import java.nio.file.Files
import java.sql.Connection
import java.sql.DriverManager
import kotlin.time.Duration.Companion.seconds

private const val LOCK = "examples/fenced-counter"
private const val WORKERS = 3
private const val ROUNDS = 5

/** The storage: a counter row and the highest fence that wrote it. */
class CounterStore(file: File) : AutoCloseable {
    private val db: Connection = DriverManager.getConnection("jdbc:sqlite:${file.path}")

    init {
        db.createStatement().use {
            it.execute("PRAGMA busy_timeout = 5000")
            it.execute("CREATE TABLE IF NOT EXISTS counter (id INTEGER PRIMARY KEY, value INTEGER NOT NULL, fence INTEGER NOT NULL)")
            it.execute("INSERT OR IGNORE INTO counter (id, value, fence) VALUES (1, 0, 0)")
        }
    }

    /** The counter and its fence. */
    @Synchronized
    fun read(): Pair<Long, Long> = db.createStatement().use { st ->
        st.executeQuery("SELECT value, fence FROM counter WHERE id = 1").use { rs -> rs.next(); rs.getLong(1) to rs.getLong(2) }
    }

    /** Writes [value] if no newer holder has written: `WHERE fence <= token`. */
    @Synchronized
    fun write(value: Long, fence: Fence): Boolean =
        db.prepareStatement("UPDATE counter SET value = ?, fence = ? WHERE id = 1 AND fence <= ?").use {
            it.setLong(1, value)
            it.setLong(2, fence.token.toLong())
            it.setLong(3, fence.token.toLong())
            it.executeUpdate() == 1
        }

    override fun close() = db.close()
}

/** Runs the workers; exits non-zero (an exception) if the counter or the fencing is off. */
fun main() = runBlocking {
    val dir = Files.createTempDirectory("tenure-fenced-worker").toFile()
    val store = CounterStore(File(dir, "counter.db"))
    val clients = (1..WORKERS).map { TenureClient.connect(endpoints(), ClientOptions(label = "fenced-worker-$it")) }
    try {
        val tokens = clients.mapIndexed { i, client ->
            async(Dispatchers.Default) {
                val seen = mutableListOf<ULong>()
                repeat(ROUNDS) {
                    client.withLock(LOCK, 30.seconds) { lock ->
                        val (value, _) = store.read()
                        // Storage I/O off the coroutine threads; the fence goes with the write.
                        val ok = withContext(Dispatchers.IO) { store.write(value + 1, lock.fence) }
                        check(ok) { "worker ${i + 1}: a current holder's write was rejected" }
                        seen += lock.fencingToken
                    }
                }
                println("worker ${i + 1}: $ROUNDS increments with tokens $seen")
                seen
            }
        }.awaitAll().flatten()

        val (value, fence) = store.read()
        println("counter = $value (expected ${WORKERS * ROUNDS}), last fence $fence")
        check(value == (WORKERS * ROUNDS).toLong()) { "lost update: counter is $value" }
        check(fence == tokens.max().toLong()) { "the stored fence is not the newest token" }

        // A holder that pauses past its lock: its later write carries an old token.
        val stale = clients[0].tryLock(LOCK)
        val staleFence = stale.fence
        stale.close()
        clients[1].tryLock(LOCK).use { fresh ->
            check(store.write(store.read().first + 1, fresh.fence))
        }
        val accepted = store.write(-1, staleFence)
        println("stale write with token ${staleFence.token} accepted? $accepted")
        check(!accepted) { "a stale token overwrote newer data" }

        // The same rule for storages that take the fence as a header.
        FenceValidator().use { validator ->
            val newest = clients[2].tryLock(LOCK).use { it.fence }
            validator.checkHeader(newest.headerValue())
            try {
                validator.checkHeader(staleFence.headerValue())
                error("the validator accepted a stale fence")
            } catch (e: TenureException.LockLost) {
                println("validator: ${Fence.HEADER}: ${staleFence.headerValue()} rejected (${e.code})")
            }
        }
        println("fenced worker ok")
    } finally {
        clients.forEach { runCatching { it.close() } }
        store.close()
        dir.deleteRecursively()
    }
}
