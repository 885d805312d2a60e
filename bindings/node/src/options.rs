//! Client and acquire options as the wrapper passes them (milliseconds).

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{opt_duration, to_napi};

/// Client options as the wrapper passes them (all durations in milliseconds).
#[napi(object)]
#[derive(Default)]
pub struct NativeClientOptions {
    /// Session time-to-live in ms (default 10000).
    pub ttl_ms: Option<f64>,
    /// Keepalive interval in ms (default ttl / 3).
    pub keepalive_interval_ms: Option<f64>,
    /// Bound on the combined clock-rate error, as a fraction (default 0.01).
    pub drift: Option<f64>,
    /// Safety margin subtracted from the local expiry, in ms (default 100).
    pub margin_ms: Option<f64>,
    /// Deadline of one call, retries included, in ms (default 10000).
    pub call_timeout_ms: Option<f64>,
    /// Timeout of one attempt at one server, in ms (default 2000).
    pub attempt_timeout_ms: Option<f64>,
    /// First retry backoff in ms (default 20).
    pub initial_backoff_ms: Option<f64>,
    /// Largest retry backoff in ms (default 100).
    pub max_backoff_ms: Option<f64>,
    /// Session label shown by `tenure sessions` (default `host:pid`).
    pub label: Option<String>,
    /// Bearer token sent with every request.
    pub token: Option<String>,
    /// PEM file of the CA that signed the servers' certificates (enables TLS).
    pub ca_file: Option<String>,
    /// PEM client certificate for mutual TLS (needs `keyFile`).
    pub cert_file: Option<String>,
    /// PEM private key of `certFile`.
    pub key_file: Option<String>,
    /// Name to verify in the server certificate, if not the endpoint's host.
    pub server_name: Option<String>,
    /// Read unset settings from the environment (TENURE_ENDPOINTS, TENURE_TOKEN,
    /// TENURE_CA, TENURE_CERT, TENURE_KEY, TENURE_SERVER_NAME): the core's
    /// policy and default (true).
    pub use_env: Option<bool>,
}

pub(crate) fn client_options(o: Option<NativeClientOptions>) -> Result<tenure::ClientOptions> {
    let o = o.unwrap_or_default();
    let mut opts = tenure::ClientOptions::default();
    if let Some(d) = opt_duration("ttlMs", o.ttl_ms)? {
        opts.ttl = d;
    }
    opts.keepalive_interval = opt_duration("keepaliveIntervalMs", o.keepalive_interval_ms)?;
    if let Some(drift) = o.drift {
        opts.drift = drift;
    }
    if let Some(d) = opt_duration("marginMs", o.margin_ms)? {
        opts.margin = d;
    }
    if let Some(d) = opt_duration("callTimeoutMs", o.call_timeout_ms)? {
        opts.call_timeout = d;
    }
    if let Some(d) = opt_duration("attemptTimeoutMs", o.attempt_timeout_ms)? {
        opts.attempt_timeout = d;
    }
    if let Some(d) = opt_duration("initialBackoffMs", o.initial_backoff_ms)? {
        opts.initial_backoff = d;
    }
    if let Some(d) = opt_duration("maxBackoffMs", o.max_backoff_ms)? {
        opts.max_backoff = d;
    }
    opts.label = o.label;
    opts.token = o.token;
    if o.ca_file.is_some()
        || o.cert_file.is_some()
        || o.key_file.is_some()
        || o.server_name.is_some()
    {
        opts.tls = Some(tenure::TlsOptions {
            ca_file: o.ca_file.map(Into::into),
            cert_file: o.cert_file.map(Into::into),
            key_file: o.key_file.map(Into::into),
            server_name: o.server_name,
        });
    }
    if let Some(use_env) = o.use_env {
        opts.use_env = use_env;
    }
    opts.validate().map_err(to_napi)?;
    Ok(opts)
}

/// Acquire options as the wrapper passes them.
#[napi(object)]
#[derive(Default)]
pub struct NativeAcquireOptions {
    /// Wait up to this many ms in the server's FIFO queue; absent = try once.
    pub wait_ms: Option<f64>,
    /// Shared mode instead of exclusive.
    pub shared: Option<bool>,
    /// Lock-delay in ms after this grant's session expires (default 0).
    pub lock_delay_ms: Option<f64>,
    /// A small value stored with the grant, shown by describe and listLocks.
    pub value: Option<String>,
    /// Semaphore acquire: how many permits (with `permitLimit`).
    pub permits: Option<u32>,
    /// Semaphore acquire: the semaphore's number of permits.
    pub permit_limit: Option<u32>,
}

pub(crate) fn acquire_options(o: Option<NativeAcquireOptions>) -> Result<tenure::AcquireOptions> {
    let o = o.unwrap_or_default();
    Ok(tenure::AcquireOptions {
        mode: if o.permit_limit.is_some() {
            tenure::LockMode::Permits
        } else if o.shared.unwrap_or(false) {
            tenure::LockMode::Shared
        } else {
            tenure::LockMode::Exclusive
        },
        wait: opt_duration("timeout", o.wait_ms)?,
        lock_delay: opt_duration("lockDelayMs", o.lock_delay_ms)?.unwrap_or_default(),
        value: o.value.unwrap_or_default(),
        permits: o.permits.unwrap_or_default(),
        permit_limit: o.permit_limit.unwrap_or_default(),
    })
}
