package dev.tenure

import dev.tenure.ffi.defaultClientOptions
import dev.tenure.ffi.validateClientOptions
import java.time.Duration
import kotlin.time.toJavaDuration

/** The core's defaults, read once from the native library. */
private object CoreDefaults {
    val value: dev.tenure.core.ClientOptions = defaultClientOptions()
}

/**
 * TLS settings of a client: paths of PEM files.
 *
 * @property caFile CA that signed the servers' certificates.
 * @property certFile client certificate, for mutual TLS (needs [keyFile]).
 * @property keyFile private key of [certFile].
 * @property serverName name to verify in the server certificate, if not the endpoint's host.
 */
data class TlsOptions @JvmOverloads constructor(
    val caFile: String? = null,
    val certFile: String? = null,
    val keyFile: String? = null,
    val serverName: String? = null,
)

/**
 * How a client connects and keeps its session. Every default is the Rust core's default
 * (read from the native library): ttl 10 s, keepalive ttl/3, drift 1 %, margin 100 ms,
 * call timeout 10 s, attempt timeout 2 s, backoff 20 ms to 100 ms.
 *
 * The client counts its session alive only until `t_send + ttl * (1 - drift) - margin`
 * after the last acknowledged renewal was sent, so it learns it lost a lock before the
 * server can grant it to anyone else.
 *
 * From Java: `new ClientOptions().withTtl(Duration.ofSeconds(5)).withLabel("worker-1")`.
 *
 * @property ttl session time-to-live.
 * @property keepaliveInterval keepalive interval; null means `ttl / 3`.
 * @property drift bound on the combined clock-rate error of client and server, as a fraction in [0, 0.5).
 * @property margin safety margin subtracted from the local expiry.
 * @property callTimeout deadline of one API call, retries included (a waiting acquire gets its wait on top).
 * @property attemptTimeout timeout of one attempt at one server before trying another.
 * @property initialBackoff first retry backoff (doubles up to [maxBackoff], with jitter).
 * @property maxBackoff largest retry backoff.
 * @property label label of the session, shown by `tenure sessions`; null means `host:pid`.
 * @property tls TLS settings; null connects in plain text.
 * @property token bearer token sent with every request.
 * @property endpointsOnly dial only the endpoints given: a leader hint naming another address is
 *   not followed (for clients behind proxies or NAT).
 * @property useEnv read unset settings from the environment when connecting: endpoints from
 *   `TENURE_ENDPOINTS` (when none are given), token and TLS from `TENURE_TOKEN`, `TENURE_CA`,
 *   `TENURE_CERT`, `TENURE_KEY`, `TENURE_SERVER_NAME`. The core's policy, the same default
 *   (true) in every language; false ignores the environment.
 */
data class ClientOptions @JvmOverloads constructor(
    val ttl: Duration = CoreDefaults.value.ttl,
    val keepaliveInterval: Duration? = CoreDefaults.value.keepaliveInterval,
    val drift: Double = CoreDefaults.value.drift,
    val margin: Duration = CoreDefaults.value.margin,
    val callTimeout: Duration = CoreDefaults.value.callTimeout,
    val attemptTimeout: Duration = CoreDefaults.value.attemptTimeout,
    val initialBackoff: Duration = CoreDefaults.value.initialBackoff,
    val maxBackoff: Duration = CoreDefaults.value.maxBackoff,
    val label: String? = null,
    val tls: TlsOptions? = null,
    val token: String? = null,
    val endpointsOnly: Boolean = CoreDefaults.value.endpointsOnly,
    val useEnv: Boolean = CoreDefaults.value.useEnv,
) {
    /** A copy with [ttl] set. */
    fun withTtl(ttl: Duration) = copy(ttl = ttl)

    /** A copy with [keepaliveInterval] set. */
    fun withKeepaliveInterval(keepaliveInterval: Duration?) = copy(keepaliveInterval = keepaliveInterval)

    /** A copy with [drift] set. */
    fun withDrift(drift: Double) = copy(drift = drift)

    /** A copy with [margin] set. */
    fun withMargin(margin: Duration) = copy(margin = margin)

    /** A copy with [callTimeout] set. */
    fun withCallTimeout(callTimeout: Duration) = copy(callTimeout = callTimeout)

    /** A copy with [attemptTimeout] set. */
    fun withAttemptTimeout(attemptTimeout: Duration) = copy(attemptTimeout = attemptTimeout)

    /** A copy with [initialBackoff] and [maxBackoff] set. */
    fun withBackoff(initialBackoff: Duration, maxBackoff: Duration) =
        copy(initialBackoff = initialBackoff, maxBackoff = maxBackoff)

    /** A copy with [label] set. */
    fun withLabel(label: String?) = copy(label = label)

    /** A copy with [tls] set. */
    fun withTls(tls: TlsOptions?) = copy(tls = tls)

    /** A copy with [token] set. */
    fun withToken(token: String?) = copy(token = token)

    /** A copy with [useEnv] set. */
    fun withUseEnv(useEnv: Boolean) = copy(useEnv = useEnv)

    /** Checks the options for consistency as `connect` does; throws [TenureException.InvalidArgument]. */
    fun validate() = mapErrors { validateClientOptions(toNative()) }

    /** A copy with [endpointsOnly] set. */
    fun withEndpointsOnly(endpointsOnly: Boolean) = copy(endpointsOnly = endpointsOnly)

    /** The core's record of these options. */
    internal fun toNative() = dev.tenure.core.ClientOptions(
        ttl = ttl.unsigned("ttl"),
        keepaliveInterval = keepaliveInterval?.unsigned("keepaliveInterval"),
        drift = drift,
        margin = margin.unsigned("margin"),
        callTimeout = callTimeout.unsigned("callTimeout"),
        attemptTimeout = attemptTimeout.unsigned("attemptTimeout"),
        initialBackoff = initialBackoff.unsigned("initialBackoff"),
        maxBackoff = maxBackoff.unsigned("maxBackoff"),
        label = label,
        tls = tls?.let { dev.tenure.core.TlsOptions(it.caFile, it.certFile, it.keyFile, it.serverName) },
        token = token,
        endpointsOnly = endpointsOnly,
        useEnv = useEnv,
    )

    /** Creates options, for example the defaults. */
    companion object {
        /** The core's defaults. */
        @JvmStatic
        fun defaults(): ClientOptions = ClientOptions()
    }
}

/**
 * How to acquire a lock.
 *
 * @property mode exclusive (default) or shared.
 * @property wait wait up to this long in the server's FIFO queue; null tries once and fails
 *   with [TenureException.LockHeld] if the lock is taken.
 * @property lockDelay after this grant's session EXPIRES, nobody gets the lock for this long
 *   (a clean release has no delay).
 * @property value a small value stored with the grant and shown by describe and listLocks (the
 *   holder's address, a job id): at most 1,024 bytes, no control characters but tab.
 * @property permits mode [LockMode.PERMITS]: how many permits of the semaphore to take.
 * @property permitLimit mode [LockMode.PERMITS]: the semaphore's number of permits (see
 *   [TenureClient.semaphore]).
 */
data class AcquireOptions @JvmOverloads constructor(
    val mode: LockMode = LockMode.EXCLUSIVE,
    val wait: Duration? = null,
    val lockDelay: Duration = Duration.ZERO,
    val value: String = "",
    val permits: Int = 0,
    val permitLimit: Int = 0,
) {
    /** A copy in shared mode. */
    fun shared() = copy(mode = LockMode.SHARED)

    /** A copy that waits up to [timeout]. */
    fun withWait(timeout: Duration?) = copy(wait = timeout)

    /** A copy with [lockDelay] set. */
    fun withLockDelay(lockDelay: Duration) = copy(lockDelay = lockDelay)

    /** A copy with [value] set. */
    fun withValue(value: String) = copy(value = value)

    internal fun toNative() =
        dev.tenure.core.AcquireOptions(
            mode = mode,
            wait = wait?.unsigned("wait"),
            lockDelay = lockDelay.unsigned("lockDelay"),
            value = value,
            permits = permits.count("permits"),
            permitLimit = permitLimit.count("permitLimit"),
        )

    /** Common options. */
    companion object {
        /** Wait up to [timeout] for an exclusive lock. */
        @JvmStatic
        fun wait(timeout: Duration) = AcquireOptions(wait = timeout)

        /** Wait up to [timeout] for an exclusive lock. */
        fun wait(timeout: kotlin.time.Duration) = AcquireOptions(wait = timeout.toJavaDuration())

        /** Try once for an exclusive lock. */
        @JvmStatic
        fun tryOnce() = AcquireOptions()
    }
}

/**
 * This duration for the core, whose durations cannot be negative: a negative one is bad input
 * ([TenureException.InvalidArgument]), not a crash in the conversion.
 */
internal fun Duration.unsigned(what: String): Duration =
    if (isNegative) throw TenureException.InvalidArgument("$what must not be negative, got $this") else this

/** A permit count for the core (u32): negative ones are refused here, the range by the core. */
internal fun Int.count(what: String): UInt =
    if (this < 0) throw TenureException.InvalidArgument("$what must not be negative, got $this") else toUInt()
