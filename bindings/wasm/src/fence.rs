//! Fences and the storage-side validator: the core's, with bigint tokens.

use serde::Serialize;
use tsify::Tsify;
use wasm_bindgen::prelude::*;

use crate::errors::{to_js, to_value};

/// A lock name and a fencing token (plain data).
#[derive(Serialize, Tsify)]
pub struct FenceData {
    /// The lock (resource) name.
    pub lock: String,
    /// The fencing token.
    #[tsify(type = "bigint")]
    pub token: u128,
}

impl From<tenure::Fence> for FenceData {
    fn from(f: tenure::Fence) -> Self {
        FenceData {
            lock: f.lock,
            token: u128::from(f.token),
        }
    }
}

/// The header that carries a fence: `tenure-fence`.
#[wasm_bindgen(js_name = fenceHeader)]
pub fn fence_header() -> String {
    tenure::FENCE_HEADER.to_owned()
}

/// A fence checked by the core's rule (the lock must be a valid lock name).
fn fence(lock: String, token: u64) -> Result<tenure::Fence, JsValue> {
    tenure::Fence::try_new(lock, token).map_err(to_js)
}

/// Checks a fence the way the core does (throws INVALID_ARGUMENT).
#[wasm_bindgen(js_name = checkFence)]
pub fn check_fence(lock: String, token: u64) -> Result<(), JsValue> {
    fence(lock, token).map(drop)
}

/// The header value of a fence, `<lock>=<token>` (odd bytes percent-encoded).
#[wasm_bindgen(js_name = fenceHeaderValue)]
pub fn fence_header_value(lock: String, token: u64) -> Result<String, JsValue> {
    Ok(fence(lock, token)?.header_value())
}

/// Parses a header value made by `fenceHeaderValue`.
#[wasm_bindgen(js_name = parseFence, unchecked_return_type = "FenceData")]
pub fn parse_fence(value: String) -> Result<JsValue, JsValue> {
    let fence = tenure::Fence::parse(&value).map_err(to_js)?;
    to_value(&FenceData::from(fence))
}

/// Checks a lock name the way the server does.
#[wasm_bindgen(js_name = validateLockName)]
pub fn validate_lock_name(name: String) -> Result<(), JsValue> {
    tenure::validate_lock_name(&name).map_err(to_js)
}

/// The storage side of fencing: rejects tokens lower than the highest seen.
#[wasm_bindgen]
pub struct NativeFenceValidator {
    inner: tenure::FenceValidator,
}

#[wasm_bindgen]
impl NativeFenceValidator {
    /// An empty validator.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NativeFenceValidator {
            inner: tenure::FenceValidator::new(),
        }
    }

    /// Accepts the fence if its token is at least the highest seen for its lock
    /// (and records it); otherwise throws LOCK_LOST.
    pub fn check(&self, lock: String, token: u64) -> Result<(), JsValue> {
        self.inner.check(&fence(lock, token)?).map_err(to_js)
    }

    /// Parses a header value and checks it.
    #[wasm_bindgen(js_name = checkHeader, unchecked_return_type = "FenceData")]
    pub fn check_header(&self, value: String) -> Result<JsValue, JsValue> {
        let fence = self.inner.check_header(&value).map_err(to_js)?;
        to_value(&FenceData::from(fence))
    }

    /// The highest token seen for `lock`, or undefined.
    pub fn highest(&self, lock: String) -> Option<u64> {
        self.inner.highest(&lock)
    }
}
