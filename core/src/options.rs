//! Options of a client and of an acquire.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};

/// How a client connects and keeps its session.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ClientOptions {
    /// Session time-to-live. Default 10 s.
    pub ttl: Duration,
    /// Keepalive interval. Default `ttl / 3`.
    pub keepalive_interval: Option<Duration>,
    /// Bound on the combined clock-rate error of client and server, as a
    /// fraction. The client counts its session alive only until
    /// `t_send + ttl * (1 - drift) - margin` (G3). Default 0.01 (1 %).
    pub drift: f64,
    /// Safety margin subtracted from the local expiry, for scheduling delay
    /// between checking a lock and acting on it. Default 100 ms.
    pub margin: Duration,
    /// Deadline of one API call, retries included (a waiting acquire gets its
    /// wait on top). Default 10 s.
    pub call_timeout: Duration,
    /// Timeout of one attempt at one server before trying another. Default 2 s.
    pub attempt_timeout: Duration,
    /// First retry backoff (doubles up to `max_backoff`, with jitter). Default 20 ms.
    pub initial_backoff: Duration,
    /// Largest retry backoff. Default 100 ms: a failover takes a few hundred
    /// milliseconds, and a longer sleep would add to the gap the caller sees.
    pub max_backoff: Duration,
    /// Label of the session, shown by `tenure sessions`. Default `host:pid`.
    pub label: Option<String>,
    /// TLS settings; None connects in plain text.
    pub tls: Option<TlsOptions>,
    /// Bearer token sent with every request (`authorization: Bearer <token>`).
    pub token: Option<String>,
    /// Dial only the endpoints given at connect time: a leader hint naming
    /// another address is not followed (the client tries its endpoints in turn
    /// instead). For clients behind proxies or NAT, whose route to each node is
    /// the endpoint they were given. Default false.
    pub endpoints_only: bool,
    /// Read unset settings from the environment when connecting (see
    /// [`ClientOptions::with_env`] for the variables). Default true, in every
    /// language; false ignores the environment entirely.
    pub use_env: bool,
}

// Paths cross the uniffi boundary as strings.
#[cfg(feature = "uniffi")]
uniffi::custom_type!(PathBuf, String, {
    remote,
    lower: |path| path.to_string_lossy().into_owned(),
    try_lift: |text| Ok(PathBuf::from(text)),
});

/// Endpoints (`host:port,host:port`) when none are given and `use_env` is set.
pub const ENV_ENDPOINTS: &str = "TENURE_ENDPOINTS";
/// Bearer token, when none is set.
pub const ENV_TOKEN: &str = "TENURE_TOKEN";
/// PEM CA of the servers (enables TLS), when no TLS settings are set.
pub const ENV_CA: &str = "TENURE_CA";
/// PEM client certificate, when no TLS settings are set.
pub const ENV_CERT: &str = "TENURE_CERT";
/// PEM key of the client certificate, when no TLS settings are set.
pub const ENV_KEY: &str = "TENURE_KEY";
/// Name to verify in the server certificate, when no TLS settings are set.
pub const ENV_SERVER_NAME: &str = "TENURE_SERVER_NAME";

/// A set, non-empty environment variable.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// TLS settings of a client.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct TlsOptions {
    /// PEM file of the CA that signed the servers' certificates.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (for mutual TLS).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Name to verify in the server certificate, if not the endpoint's host.
    pub server_name: Option<String>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            ttl: Duration::from_secs(10),
            keepalive_interval: None,
            drift: 0.01,
            margin: Duration::from_millis(100),
            call_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(2),
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(100),
            label: None,
            tls: None,
            token: None,
            endpoints_only: false,
            use_env: true,
        }
    }
}

impl ClientOptions {
    /// Fills unset security options from the environment: `TENURE_TOKEN`, and
    /// when no TLS settings are set `TENURE_CA`, `TENURE_CERT`, `TENURE_KEY`
    /// and `TENURE_SERVER_NAME`. Connecting does this by itself unless
    /// `use_env` is false.
    pub fn with_env(mut self) -> Self {
        if self.token.is_none() {
            self.token = env_var(ENV_TOKEN);
        }
        let (ca, cert, key, name) = (
            env_var(ENV_CA),
            env_var(ENV_CERT),
            env_var(ENV_KEY),
            env_var(ENV_SERVER_NAME),
        );
        if self.tls.is_none() && (ca.is_some() || cert.is_some()) {
            self.tls = Some(TlsOptions {
                ca_file: ca.map(PathBuf::from),
                cert_file: cert.map(PathBuf::from),
                key_file: key.map(PathBuf::from),
                server_name: name,
            });
        }
        self
    }

    /// The options a connect uses: `with_env()` applied unless `use_env` is false.
    pub fn resolved(self) -> Self {
        if self.use_env { self.with_env() } else { self }
    }

    /// The endpoints a connect uses: those given, or with none given and
    /// `use_env` set, `TENURE_ENDPOINTS`. `InvalidArgument` if there are none.
    pub fn resolve_endpoints(&self, given: Vec<String>) -> Result<Vec<String>> {
        let given: Vec<String> = given.into_iter().filter(|e| !e.trim().is_empty()).collect();
        if !given.is_empty() {
            return Ok(given);
        }
        match env_var(ENV_ENDPOINTS) {
            Some(from_env) if self.use_env => Ok(vec![from_env]),
            _ if self.use_env => Err(Error::invalid(format!(
                "no endpoints given and {ENV_ENDPOINTS} is not set"
            ))),
            _ => Err(Error::invalid("no endpoints given")),
        }
    }

    /// Checks the options for consistency.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..0.5).contains(&self.drift) {
            return Err(Error::invalid("drift must be in [0, 0.5)"));
        }
        if self.ttl < Duration::from_secs(1) {
            return Err(Error::invalid("ttl must be at least 1 s"));
        }
        if self.usable_lease() <= self.keepalive_interval() {
            return Err(Error::invalid(
                "ttl * (1 - drift) - margin must exceed the keepalive interval",
            ));
        }
        if self.attempt_timeout.is_zero() || self.call_timeout.is_zero() {
            return Err(Error::invalid("timeouts must be positive"));
        }
        if let Some(tls) = &self.tls
            && tls.cert_file.is_some() != tls.key_file.is_some()
        {
            return Err(Error::invalid(
                "a client certificate needs its key, and a key its certificate",
            ));
        }
        Ok(())
    }

    /// The keepalive interval in use.
    pub fn keepalive_interval(&self) -> Duration {
        self.keepalive_interval_for(self.ttl)
    }

    /// How long after sending a renewing request the session counts as alive:
    /// `ttl * (1 - drift) - margin`.
    pub fn usable_lease(&self) -> Duration {
        self.usable_lease_for(self.ttl)
    }

    /// [`ClientOptions::usable_lease`] for a TTL the server granted.
    pub fn usable_lease_for(&self, ttl: Duration) -> Duration {
        ttl.mul_f64(1.0 - self.drift).saturating_sub(self.margin)
    }

    /// The keepalive interval for a TTL the server granted.
    pub fn keepalive_interval_for(&self, ttl: Duration) -> Duration {
        self.keepalive_interval.unwrap_or(ttl / 3)
    }
}

/// Lock mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LockMode {
    /// One holder at a time.
    #[default]
    Exclusive,
    /// Many shared holders, no exclusive one.
    Shared,
    /// Permits of a counting semaphore ([`AcquireOptions::permits`] of
    /// [`AcquireOptions::permit_limit`]).
    Permits,
}

impl LockMode {
    /// Every mode, in a fixed order (bindings derive their enums from it).
    pub const ALL: [LockMode; 3] = [LockMode::Exclusive, LockMode::Shared, LockMode::Permits];

    /// Stable name shared by every binding: `exclusive`, `shared`, `permits`.
    pub fn code(self) -> &'static str {
        match self {
            LockMode::Exclusive => "exclusive",
            LockMode::Shared => "shared",
            LockMode::Permits => "permits",
        }
    }

    /// The mode of a [`LockMode::code`], if it is one.
    pub fn from_code(code: &str) -> Option<LockMode> {
        Self::ALL.into_iter().find(|m| m.code() == code)
    }
}

/// How to acquire a lock.
#[derive(Debug, Clone, Default)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AcquireOptions {
    /// Exclusive (default) or shared.
    pub mode: LockMode,
    /// Wait up to this long in the server's FIFO queue; None tries once and
    /// fails with `LockHeld` if the lock is taken.
    pub wait: Option<Duration>,
    /// Lock-delay: after this grant's session EXPIRES, nobody gets the lock for
    /// this long (a clean release has no delay). Default none.
    pub lock_delay: Duration,
    /// A small value stored with the grant and shown by describe and list:
    /// the holder's address or job id, as Chubby's primary writes its
    /// identity into its lock. At most [`crate::MAX_LOCK_VALUE_BYTES`] of text without
    /// control characters (tab allowed). Default empty.
    #[cfg_attr(feature = "uniffi", uniffi(default = ""))]
    pub value: String,
    /// Mode [`LockMode::Permits`] only: how many permits to take, 1 to
    /// `permit_limit` (see [`AcquireOptions::permits`]). 0 otherwise.
    #[cfg_attr(feature = "uniffi", uniffi(default = 0))]
    pub permits: u32,
    /// Mode [`LockMode::Permits`] only: the semaphore's number of permits, 1
    /// to [`crate::MAX_PERMITS`]. Fixed while anyone holds or waits for the
    /// name; a different number fails with `InvalidArgument`. 0 otherwise.
    #[cfg_attr(feature = "uniffi", uniffi(default = 0))]
    pub permit_limit: u32,
}

impl AcquireOptions {
    /// Wait up to `timeout` for the lock.
    pub fn wait(timeout: Duration) -> Self {
        AcquireOptions {
            wait: Some(timeout),
            ..Default::default()
        }
    }

    /// Try once.
    pub fn try_once() -> Self {
        AcquireOptions::default()
    }

    /// Shared mode.
    pub fn shared(mut self) -> Self {
        self.mode = LockMode::Shared;
        self
    }

    /// `count` permits of the counting semaphore of `limit` permits: granted
    /// while the permits held by everyone stay within `limit`, FIFO, each
    /// grant with its own owner id and fencing token, released with the
    /// session like a lock. A session may hold several grants of one
    /// semaphore.
    pub fn permits(mut self, count: u32, limit: u32) -> Self {
        self.mode = LockMode::Permits;
        self.permits = count;
        self.permit_limit = limit;
        self
    }

    /// Stores `value` with the grant ([`AcquireOptions::value`]).
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = value.into();
        self
    }
}
