package dev.tenure

import java.time.Duration
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking

/**
 * A lock holder in its own JVM for the shared scenarios (ScenariosTest).
 *
 * - `pause ENDPOINTS LOCK`: holds LOCK (ttl 2 s), prints `acquired <token>`, polls `isHeld()`
 *   and prints `lost <reason>` once it is not held.
 * - `exit ENDPOINTS LOCK`: holds LOCK and returns from main with the client and lock open.
 * - `env - LOCK [no-env]`: like exit, with no endpoints given (TENURE_ENDPOINTS).
 */
object ScenarioHolder {
    @JvmStatic
    fun main(args: Array<String>) = runBlocking {
        val (mode, endpoints, name) = args
        when (mode) {
            "pause" -> {
                val client = TenureClient.connect(endpoints, ClientOptions(ttl = Duration.ofSeconds(2)))
                val lock = client.lock(name, Duration.ofSeconds(30))
                println("acquired ${lock.fencingToken}")
                while (lock.isHeld()) delay(20)
                println("lost ${lock.lostReason?.name?.lowercase()}")
            }
            "exit" -> {
                val client = TenureClient.connect(endpoints, ClientOptions(ttl = Duration.ofSeconds(3)))
                client.tryLock(name)
                println("acquired")
            }
            "env" -> {
                val options = ClientOptions(ttl = Duration.ofSeconds(3), useEnv = args.getOrNull(3) != "no-env")
                val client = TenureClient.connect(emptyList(), options)
                client.tryLock(name)
                println("acquired")
            }
            else -> error("unknown mode $mode")
        }
        System.out.flush()
    }
}
