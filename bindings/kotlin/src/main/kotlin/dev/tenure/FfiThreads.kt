package dev.tenure

import com.sun.jna.CallbackThreadInitializer
import com.sun.jna.Native
import dev.tenure.ffi.uniffiRustFutureContinuationCallbackImpl

/**
 * Keeps the core's runtime threads attached to the JVM between callbacks.
 *
 * Every `suspend` call resumes through uniffi's future-continuation callback, which the core
 * invokes from its tokio threads. By default JNA attaches such a native thread to the JVM for
 * each callback and detaches it afterwards, creating a `java.lang.Thread` every time; that cost
 * several hundred microseconds per lock operation (benchmark scenario 7). The threads are
 * marked daemon, so they never keep the JVM alive, and JNA detaches them when they exit.
 */
internal object FfiThreads {
    init {
        Native.setCallbackThreadInitializer(
            uniffiRustFutureContinuationCallbackImpl,
            CallbackThreadInitializer(true, false, "tenure-core"),
        )
    }

    /** Runs the initializer above once (first use of [TenureClient]). */
    fun keepAttached() = Unit
}
