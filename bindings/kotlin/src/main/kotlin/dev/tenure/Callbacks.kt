package dev.tenure

import dev.tenure.ffi.LostListener
import dev.tenure.ffi.RevokeListener
import dev.tenure.ffi.SessionStateListener
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * The thread that runs user callbacks. The native side calls listeners on its tokio threads;
 * they hand the call over at once, so a slow or blocking callback never stalls heartbeats, and
 * callbacks run one at a time, in order.
 */
internal object CallbackThread {
    val executor: ExecutorService = Executors.newSingleThreadExecutor { r ->
        Thread(r, "tenure-callbacks").apply { isDaemon = true }
    }

    fun run(what: String, block: () -> Unit) {
        executor.execute {
            try {
                block()
            } catch (t: Throwable) {
                System.err.println("tenure: a $what callback threw: $t")
            }
        }
    }
}

internal class LostBridge(private val callback: LostCallback) : LostListener {
    override fun onLost(reason: LostReason) = CallbackThread.run("lost") { callback.onLost(reason) }
}

internal class RevokeBridge(private val callback: RevokeCallback) : RevokeListener {
    override fun onRevokeRequested() = CallbackThread.run("revoke requested") { callback.onRevokeRequested() }
}

internal class SessionStateBridge(private val callback: SessionStateCallback) : SessionStateListener {
    override fun onState(state: SessionState) = CallbackThread.run("session state") { callback.onState(state) }
}
