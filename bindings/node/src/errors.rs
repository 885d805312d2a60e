//! Core errors as napi errors (the stable code as the message prefix), the
//! core's lists of kinds and enum codes, and number conversions.

use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;

/// Converts a core error into a napi error carrying the stable code as prefix.
pub(crate) fn to_napi(e: tenure::Error) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("{}: {}", e.kind().code(), e.message()),
    )
}

/// An error of `kind` raised by this layer (bad argument, cancel).
pub(crate) fn error(kind: tenure::ErrorKind, message: impl Into<String>) -> Error {
    to_napi(tenure::Error::new(kind, message))
}

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    error(tenure::ErrorKind::InvalidArgument, message)
}

/// One stable error kind of the core, for the wrapper's error classes.
#[napi(object)]
pub struct ErrorKindInfo {
    /// The stable code, for example `LOCK_HELD`.
    pub code: String,
    /// The kind's CamelCase name, for example `LockHeld`.
    pub name: String,
    /// What it means.
    pub description: String,
}

/// Every error kind of the core (`ErrorKind::ALL`), in its order.
#[napi]
pub fn error_kinds() -> Vec<ErrorKindInfo> {
    tenure::ErrorKind::ALL
        .into_iter()
        .map(|k| ErrorKindInfo {
            code: k.code().to_owned(),
            name: k.name().to_owned(),
            description: k.description().to_owned(),
        })
        .collect()
}

/// The core's lost reasons (`LostReason::ALL`), as their codes.
#[napi]
pub fn lost_reasons() -> Vec<&'static str> {
    tenure::LostReason::ALL.map(|r| r.code()).to_vec()
}

/// The core's session states (`SessionState::ALL`), as their codes.
#[napi]
pub fn session_states() -> Vec<&'static str> {
    tenure::SessionState::ALL.map(|s| s.code()).to_vec()
}

/// The core's lock modes (`LockMode::ALL`), as their codes.
#[napi]
pub fn lock_modes() -> Vec<&'static str> {
    tenure::LockMode::ALL.map(|m| m.code()).to_vec()
}

/// Milliseconds (a JS number) to a Duration; finite and non-negative only.
pub(crate) fn duration(what: &str, ms: f64) -> Result<Duration> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(invalid(format!(
            "{what} must be a finite, non-negative number of milliseconds, got {ms}"
        )));
    }
    Duration::try_from_secs_f64(ms / 1000.0)
        .map_err(|_| invalid(format!("{what} is out of range: {ms} ms")))
}

pub(crate) fn opt_duration(what: &str, ms: Option<f64>) -> Result<Option<Duration>> {
    ms.map(|ms| duration(what, ms)).transpose()
}

/// A Duration as milliseconds (fractional).
pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A u64 counter as a JS number (exact below 2^53, which counters never reach).
pub(crate) fn num(v: u64) -> f64 {
    v as f64
}

/// A JS bigint that must fit in a u64 without loss.
pub(crate) fn u64_of(what: &str, v: &BigInt) -> Result<u64> {
    let (signed, value, lossless) = v.get_u64();
    if signed || !lossless {
        return Err(invalid(format!(
            "{what} must be a non-negative 64-bit integer"
        )));
    }
    Ok(value)
}

/// A weak thread-safe JS callback taking one `T` (never keeps the loop alive);
/// `()` calls it with no arguments.
pub(crate) type WeakCallback<T> = ThreadsafeFunction<T, Unknown<'static>, T, Status, false, true>;

/// A weak thread-safe JS callback taking one string.
pub(crate) type StringCallback = WeakCallback<String>;

/// A weak thread-safe JS callback taking no arguments.
pub(crate) type VoidCallback = WeakCallback<()>;
