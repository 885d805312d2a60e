package dev.tenure

import java.io.File
import java.nio.file.Files
import java.sql.Connection
import java.sql.DriverManager
import kotlinx.coroutines.async
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.Timeout

/** Fences: header form, the validator, and a fenced write to a real SQLite file. */
@Timeout(60)
class FencingTest : ClusterTest() {
    private val dir: File = Files.createTempDirectory("tenure-kotlin-fence").toFile()

    @AfterAll
    fun removeDir() {
        dir.deleteRecursively()
    }

    /** The storage: one row per resource, written only with a fence at least the stored one. */
    private class Store(file: File) : AutoCloseable {
        val db: Connection = DriverManager.getConnection("jdbc:sqlite:${file.path}")

        init {
            db.createStatement().use {
                it.execute("CREATE TABLE IF NOT EXISTS resource (id TEXT PRIMARY KEY, value TEXT NOT NULL, fence INTEGER NOT NULL)")
                it.execute("INSERT OR IGNORE INTO resource (id, value, fence) VALUES ('report', 'initial', 0)")
            }
        }

        /** The conditional write; false if a newer holder has written (a stale token). */
        fun write(value: String, fence: Fence): Boolean =
            db.prepareStatement("UPDATE resource SET value = ?, fence = ? WHERE id = 'report' AND fence <= ?").use {
                it.setString(1, value)
                it.setLong(2, fence.token.toLong())
                it.setLong(3, fence.token.toLong())
                it.executeUpdate() == 1
            }

        fun read(): Pair<String, Long> = db.createStatement().use {
            it.executeQuery("SELECT value, fence FROM resource WHERE id = 'report'").use { rs ->
                rs.next()
                rs.getString(1) to rs.getLong(2)
            }
        }

        override fun close() = db.close()
    }

    @Test
    fun `a stale holder's write is rejected by the fence in SQLite`() = runBlocking {
        val file = File(dir, "fenced.db")
        val paused = client(ClientOptions(ttl = java.time.Duration.ofSeconds(3)))
        val next = client()
        val admin = admin()
        Store(file).use { store ->
            val old = paused.tryLock("kt/fence/report")
            assertTrue(store.write("from the first holder", old.fence))
            // The first holder "pauses"; an operator force-releases its grant and the lock
            // passes on with a higher token.
            val waiting = async { next.lock("kt/fence/report", 20.seconds) }
            eventually(what = "second holder queued") { admin.describe("kt/fence/report")?.waiters?.size == 1 }
            admin.forceRelease("kt/fence/report", old.ownerId, "holder paused")
            val fresh = withTimeout(10.seconds) { waiting.await() }
            assertTrue(fresh.fencingToken > old.fencingToken)
            assertTrue(store.write("from the second holder", fresh.fence))
            // The first holder wakes up and writes with its old token: rejected.
            assertFalse(store.write("stale write", old.fence))
            assertEquals("from the second holder" to fresh.fencingToken.toLong(), store.read())
            fresh.close()
        }
        // The data is in the file, as a new connection sees it.
        Store(file).use { assertEquals("from the second holder", it.read().first) }
    }

    @Test
    fun `the validator rejects lower tokens per lock and reads headers`() = runBlocking {
        val client = client()
        FenceValidator().use { v ->
            val first = client.tryLock("kt/fence/v")
            val header = first.fence.headerValue()
            assertEquals("kt/fence/v=${first.fencingToken}", header)
            assertEquals(first.fence, v.checkHeader(header))
            first.close()
            client.tryLock("kt/fence/v").use { second ->
                v.check(second.fence)
                v.check(second.fence) // equal tokens pass
                assertEquals(second.fencingToken, v.highest("kt/fence/v"))
            }
            val stale = assertFailsWith<TenureException.LockLost> { v.checkHeader(header) }
            assertTrue(stale.message!!.contains("stale"), stale.message)
            assertNull(v.highest("kt/fence/other"))
        }
    }

    @Test
    fun `fence headers round-trip odd names and reject bad values`() {
        assertEquals("tenure-fence", Fence.HEADER)
        for (name in listOf("jobs/nightly", "a=b", "with space", "ünï", "100%", "x=1=2")) {
            val f = Fence(name, 42u)
            assertEquals(f, Fence.parse(f.headerValue()))
            assertTrue(f.headerValue().all { it in '!'..'~' }, f.headerValue())
        }
        assertEquals("jobs/x=7", Fence("jobs/x", 7u).toString())
        for (bad in listOf("", "noequals", "x=", "=5", "x=-1", "x=abc", "bad%zz=1")) {
            assertFailsWith<TenureException.InvalidArgument>(bad) { Fence.parse(bad) }
        }
        // The lock of a fence must be a valid lock name (the core's rule, as in every language).
        assertFailsWith<TenureException.InvalidArgument> { Fence("", 1u) }
        assertFailsWith<TenureException.InvalidArgument> { Fence("bad\nname", 1u) }
    }
}
