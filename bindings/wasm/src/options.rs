//! Client and acquire options as the wrapper passes them (milliseconds).

use serde::Deserialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use crate::errors::{invalid, opt_duration, to_js};

/// Client options as the wrapper passes them (all durations in milliseconds;
/// every default is the core's). A web page has no environment and no
/// certificate files: TLS is the browser's own (`tls: true` dials `https`,
/// verified against the browser's trust store) and a token authenticates.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NativeClientOptions {
    /// Session time-to-live in ms (default 10000).
    #[tsify(optional)]
    pub ttl_ms: Option<f64>,
    /// Keepalive interval in ms (default ttl / 3).
    #[tsify(optional)]
    pub keepalive_interval_ms: Option<f64>,
    /// Bound on the combined clock-rate error, as a fraction (default 0.01).
    #[tsify(optional)]
    pub drift: Option<f64>,
    /// Safety margin subtracted from the local expiry, in ms (default 100).
    #[tsify(optional)]
    pub margin_ms: Option<f64>,
    /// Deadline of one call, retries included, in ms (default 10000).
    #[tsify(optional)]
    pub call_timeout_ms: Option<f64>,
    /// Timeout of one attempt at one server, in ms (default 2000).
    #[tsify(optional)]
    pub attempt_timeout_ms: Option<f64>,
    /// First retry backoff in ms (default 20).
    #[tsify(optional)]
    pub initial_backoff_ms: Option<f64>,
    /// Largest retry backoff in ms (default 100).
    #[tsify(optional)]
    pub max_backoff_ms: Option<f64>,
    /// Session label shown by `tenure sessions` (default `wasm`).
    #[tsify(optional)]
    pub label: Option<String>,
    /// Bearer token sent with every request (`authorization: Bearer <token>`).
    #[tsify(optional)]
    pub token: Option<String>,
    /// Dial the endpoints with `https` (the browser's TLS). Default false.
    #[tsify(optional)]
    pub tls: Option<bool>,
    /// Dial only the endpoints given: a leader hint naming another address is
    /// not followed (for pages that reach the nodes through a proxy). Default false.
    #[tsify(optional)]
    pub endpoints_only: Option<bool>,
}

/// Reads the wrapper's options object (`undefined`/`null`: all defaults).
fn read<T: Default + for<'de> Deserialize<'de>>(what: &str, value: JsValue) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(value).map_err(|e| invalid(format!("{what}: {e}")))
}

/// The core's options from the wrapper's object, checked by the core.
pub(crate) fn client_options(value: JsValue) -> Result<tenure::ClientOptions, JsValue> {
    let o: NativeClientOptions = read("client options", value)?;
    let mut opts = tenure::ClientOptions {
        // There is no process environment on the web.
        use_env: false,
        ..Default::default()
    };
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
    if o.tls.unwrap_or(false) {
        opts.tls = Some(tenure::TlsOptions::default());
    }
    opts.endpoints_only = o.endpoints_only.unwrap_or(false);
    opts.validate().map_err(to_js)?;
    Ok(opts)
}

/// Acquire options as the wrapper passes them.
#[derive(Debug, Default, Deserialize, Tsify)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct NativeAcquireOptions {
    /// Wait up to this many ms in the server's FIFO queue; absent = try once.
    #[tsify(optional)]
    pub wait_ms: Option<f64>,
    /// Shared mode instead of exclusive.
    #[tsify(optional)]
    pub shared: Option<bool>,
    /// Lock-delay in ms after this grant's session expires (default 0).
    #[tsify(optional)]
    pub lock_delay_ms: Option<f64>,
    /// A small value stored with the grant, shown by describe and listLocks.
    #[tsify(optional)]
    pub value: Option<String>,
    /// Semaphore acquire: how many permits (with `permitLimit`).
    #[tsify(optional)]
    pub permits: Option<u32>,
    /// Semaphore acquire: the semaphore's number of permits.
    #[tsify(optional)]
    pub permit_limit: Option<u32>,
}

/// The core's acquire options from the wrapper's object.
pub(crate) fn acquire_options(value: JsValue) -> Result<tenure::AcquireOptions, JsValue> {
    let o: NativeAcquireOptions = read("acquire options", value)?;
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
