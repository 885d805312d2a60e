// Quickstart: connect, lock with `use {}`, fencing token and header, withLock, try-lock,
// lost notification, session state and typed errors.
//
// Run against a cluster (`tenure dev`):
//   TENURE_ENDPOINTS=127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102 mvn -q compile exec:java@quickstart
package dev.tenure.examples

import dev.tenure.ClientOptions
import dev.tenure.Fence
import dev.tenure.TenureClient
import dev.tenure.TenureException
import dev.tenure.text
import kotlinx.coroutines.runBlocking
import kotlin.time.Duration.Companion.seconds

/** The cluster to use: `$TENURE_ENDPOINTS` or the `tenure dev` default ports. */
fun endpoints(): String =
    System.getenv("TENURE_ENDPOINTS")?.takeIf { it.isNotBlank() } ?: "127.0.0.1:7100,127.0.0.1:7101,127.0.0.1:7102"

/** Runs the quickstart; exits non-zero (an exception) if anything is off. */
fun main() = runBlocking {
    // TLS and bearer token come from TENURE_CA / TENURE_TOKEN / ... if set (the core's env policy).
    val options = ClientOptions(label = "kotlin-quickstart")
    TenureClient.connect(endpoints(), options).use { client ->
        println("connected: session ${client.sessionId()}, state ${client.sessionState}")

        // 1. Wait up to 10 s for the lock; `use {}` releases it at the end of the block.
        val token = client.lock("examples/quickstart", 10.seconds).use { lock ->
            println("holding ${lock.name} with fencing token ${lock.fencingToken} (owner ${lock.ownerId})")
            println("send with every write -> ${Fence.HEADER}: ${lock.fence.headerValue()}")
            println("held=${lock.isHeld()}, certainly held for another ${lock.remaining().toMillis()} ms")
            lock.fencingToken
        }

        // 2. withLock: acquire, run, release; the block is cancelled if the lock is lost.
        val report = client.withLock("examples/quickstart", 10.seconds) { lock ->
            check(lock.fencingToken > token) { "tokens grow with every grant" }
            "nightly report written under token ${lock.fencingToken}"
        }
        println(report)

        // 3. Try-lock: a second client (its own session) finds the lock held.
        TenureClient.connect(endpoints(), options.withLabel("kotlin-quickstart-2")).use { other ->
            client.tryLock("examples/quickstart").use { held ->
                try {
                    other.tryLock("examples/quickstart")
                    error("the lock should have been held")
                } catch (e: TenureException.LockHeld) {
                    println("second client: ${e.code} (${e.message})")
                }
                // Lost notification: a callback, or `held.awaitLost()` in a coroutine.
                held.onLost { reason -> println("lock ${held.name} no longer held: ${reason.text}") }
            }
        }

        // 4. Admin reads.
        val status = client.status()
        println("cluster: leader ${status.leaderId} at ${status.leaderAddr}, term ${status.term}, next token ${status.nextToken}")

        // 5. Errors are one sealed hierarchy with stable codes.
        try {
            client.tryLock("")
        } catch (e: TenureException) {
            when (e) {
                is TenureException.InvalidArgument -> println("bad name rejected: ${e.code}")
                else -> throw e
            }
        }
    }
    println("quickstart ok")
}
