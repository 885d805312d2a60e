//! Client and acquire options: the core's, with paths as strings.

use std::time::Duration;

use tenure::LockMode;

use crate::errors::NativeError;

/// TLS settings of a client (paths of PEM files).
#[derive(Debug, Clone, uniffi::Record)]
pub struct NativeTlsOptions {
    /// PEM file of the CA that signed the servers' certificates.
    pub ca_file: Option<String>,
    /// PEM client certificate (for mutual TLS).
    pub cert_file: Option<String>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<String>,
    /// Name to verify in the server certificate, if not the endpoint's host.
    pub server_name: Option<String>,
}

/// How a client connects and keeps its session (the core's `ClientOptions`).
#[derive(Debug, Clone, uniffi::Record)]
pub struct NativeClientOptions {
    /// Session time-to-live.
    pub ttl: Duration,
    /// Keepalive interval; None means `ttl / 3`.
    pub keepalive_interval: Option<Duration>,
    /// Bound on the combined clock-rate error of client and server (fraction).
    pub drift: f64,
    /// Safety margin subtracted from the local expiry.
    pub margin: Duration,
    /// Deadline of one API call, retries included.
    pub call_timeout: Duration,
    /// Timeout of one attempt at one server.
    pub attempt_timeout: Duration,
    /// First retry backoff.
    pub initial_backoff: Duration,
    /// Largest retry backoff.
    pub max_backoff: Duration,
    /// Label of the session; None means `host:pid`.
    pub label: Option<String>,
    /// TLS settings; None connects in plain text.
    pub tls: Option<NativeTlsOptions>,
    /// Bearer token sent with every request.
    pub token: Option<String>,
    /// Read unset settings from the environment (the core's policy).
    pub use_env: bool,
}

impl From<tenure::ClientOptions> for NativeClientOptions {
    fn from(o: tenure::ClientOptions) -> Self {
        let path = |p: Option<std::path::PathBuf>| p.map(|p| p.to_string_lossy().into_owned());
        NativeClientOptions {
            ttl: o.ttl,
            keepalive_interval: o.keepalive_interval,
            drift: o.drift,
            margin: o.margin,
            call_timeout: o.call_timeout,
            attempt_timeout: o.attempt_timeout,
            initial_backoff: o.initial_backoff,
            max_backoff: o.max_backoff,
            label: o.label,
            tls: o.tls.map(|t| NativeTlsOptions {
                ca_file: path(t.ca_file),
                cert_file: path(t.cert_file),
                key_file: path(t.key_file),
                server_name: t.server_name,
            }),
            token: o.token,
            use_env: o.use_env,
        }
    }
}

impl From<NativeClientOptions> for tenure::ClientOptions {
    fn from(o: NativeClientOptions) -> Self {
        tenure::ClientOptions {
            ttl: o.ttl,
            keepalive_interval: o.keepalive_interval,
            drift: o.drift,
            margin: o.margin,
            call_timeout: o.call_timeout,
            attempt_timeout: o.attempt_timeout,
            initial_backoff: o.initial_backoff,
            max_backoff: o.max_backoff,
            label: o.label,
            tls: o.tls.map(|t| tenure::TlsOptions {
                ca_file: t.ca_file.map(Into::into),
                cert_file: t.cert_file.map(Into::into),
                key_file: t.key_file.map(Into::into),
                server_name: t.server_name,
            }),
            token: o.token,
            use_env: o.use_env,
            ..tenure::ClientOptions::default()
        }
    }
}

/// The core's default client options.
#[uniffi::export]
pub fn default_client_options() -> NativeClientOptions {
    tenure::ClientOptions::default().into()
}

/// Checks client options for consistency, as `connect` does.
#[uniffi::export]
pub fn validate_client_options(options: NativeClientOptions) -> Result<(), NativeError> {
    Ok(tenure::ClientOptions::from(options).validate()?)
}

/// How to acquire a lock.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NativeAcquireOptions {
    /// Exclusive or shared.
    pub mode: LockMode,
    /// Wait up to this long in the server's FIFO queue; None tries once.
    pub wait: Option<Duration>,
    /// Lock-delay after this grant's session expires.
    pub lock_delay: Duration,
}

impl From<NativeAcquireOptions> for tenure::AcquireOptions {
    fn from(o: NativeAcquireOptions) -> Self {
        tenure::AcquireOptions {
            mode: o.mode,
            wait: o.wait,
            lock_delay: o.lock_delay,
        }
    }
}

/// Checks a lock name the way the server does.
#[uniffi::export]
pub fn validate_lock_name(name: String) -> Result<(), NativeError> {
    Ok(tenure::validate_lock_name(&name)?)
}
