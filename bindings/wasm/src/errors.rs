//! Core errors as JS errors (the stable code as `code` and message prefix),
//! the core's lists of kinds and enum codes, and number conversions.

use std::future::Future;
use std::time::Duration;

use js_sys::{Promise, Reflect};
use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

/// The `name` of every error this layer throws, so that the JS layer can tell
/// them from errors of the caller's own code.
pub const NATIVE_ERROR_NAME: &str = "TenureNativeError";

/// Converts a core error into a JS `Error` carrying the stable code.
pub(crate) fn to_js(e: tenure::Error) -> JsValue {
    let code = e.kind().code();
    let err = js_sys::Error::new(&format!("{code}: {}", e.message()));
    err.set_name(NATIVE_ERROR_NAME);
    // Setting a property of a fresh Error object cannot fail.
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

/// An error of `kind` raised by this layer (bad argument, cancel).
pub(crate) fn error(kind: tenure::ErrorKind, message: impl Into<String>) -> JsValue {
    to_js(tenure::Error::new(kind, message))
}

/// An INVALID_ARGUMENT error.
pub(crate) fn invalid(message: impl Into<String>) -> JsValue {
    error(tenure::ErrorKind::InvalidArgument, message)
}

/// Runs `work` as a JS promise; a core error rejects it (as [`to_js`]).
pub(crate) fn promise<F, T>(work: F) -> Promise
where
    F: Future<Output = Result<T, JsValue>> + 'static,
    T: Into<JsValue>,
{
    wasm_bindgen_futures::future_to_promise(async move { work.await.map(Into::into) })
}

/// Runs `work` as a JS promise of `undefined`; a core error rejects it.
pub(crate) fn promise_void<F>(work: F) -> Promise
where
    F: Future<Output = Result<(), JsValue>> + 'static,
{
    promise(async move { work.await.map(|()| JsValue::UNDEFINED) })
}

/// A plain JS object (or array) of a serializable value: `null` for absent
/// options, bigints only where the Rust type is `u128` (fencing tokens).
pub(crate) fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_missing_as_null(true);
    value
        .serialize(&serializer)
        .map_err(|e| error(tenure::ErrorKind::Internal, e.to_string()))
}

/// One stable error kind of the core, for the wrapper's error classes.
#[derive(Serialize, Tsify)]
pub struct ErrorKindInfo {
    /// The stable code, for example `LOCK_HELD`.
    pub code: &'static str,
    /// The kind's CamelCase name, for example `LockHeld`.
    pub name: &'static str,
    /// What it means.
    pub description: &'static str,
}

/// Every error kind of the core (`ErrorKind::ALL`), in its order.
#[wasm_bindgen(js_name = errorKinds, unchecked_return_type = "ErrorKindInfo[]")]
pub fn error_kinds() -> Result<JsValue, JsValue> {
    let kinds: Vec<ErrorKindInfo> = tenure::ErrorKind::ALL
        .into_iter()
        .map(|k| ErrorKindInfo {
            code: k.code(),
            name: k.name(),
            description: k.description(),
        })
        .collect();
    to_value(&kinds)
}

/// The core's lost reasons (`LostReason::ALL`), as their codes.
#[wasm_bindgen(js_name = lostReasons)]
pub fn lost_reasons() -> Vec<String> {
    tenure::LostReason::ALL
        .map(|r| r.code().to_owned())
        .to_vec()
}

/// The core's session states (`SessionState::ALL`), as their codes.
#[wasm_bindgen(js_name = sessionStates)]
pub fn session_states() -> Vec<String> {
    tenure::SessionState::ALL
        .map(|s| s.code().to_owned())
        .to_vec()
}

/// The core's lock modes (`LockMode::ALL`), as their codes.
#[wasm_bindgen(js_name = lockModes)]
pub fn lock_modes() -> Vec<String> {
    tenure::LockMode::ALL.map(|m| m.code().to_owned()).to_vec()
}

/// The name this layer gives its errors (`TenureNativeError`).
#[wasm_bindgen(js_name = nativeErrorName)]
pub fn native_error_name() -> String {
    NATIVE_ERROR_NAME.to_owned()
}

/// Milliseconds (a JS number) to a Duration; finite and non-negative only.
pub(crate) fn duration(what: &str, ms: f64) -> Result<Duration, JsValue> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(invalid(format!(
            "{what} must be a finite, non-negative number of milliseconds, got {ms}"
        )));
    }
    Duration::try_from_secs_f64(ms / 1000.0)
        .map_err(|_| invalid(format!("{what} is out of range: {ms} ms")))
}

/// An optional duration in milliseconds.
pub(crate) fn opt_duration(what: &str, ms: Option<f64>) -> Result<Option<Duration>, JsValue> {
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
