//! Fences and the storage-side validator: the core's, with bigint tokens.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{to_napi, u64_of};

/// A lock name and a fencing token (plain data).
#[napi(object)]
pub struct FenceData {
    /// The lock (resource) name.
    pub lock: String,
    /// The fencing token.
    pub token: BigInt,
}

impl From<tenure::Fence> for FenceData {
    fn from(f: tenure::Fence) -> Self {
        FenceData {
            lock: f.lock,
            token: BigInt::from(f.token),
        }
    }
}

/// The header that carries a fence: `tenure-fence`.
#[napi]
pub const FENCE_HEADER: &str = tenure::FENCE_HEADER;

/// A fence checked by the core's rule (the lock must be a valid lock name).
fn fence(lock: String, token: &BigInt) -> Result<tenure::Fence> {
    let token = u64_of("token", token)?;
    tenure::Fence::try_new(lock, token).map_err(to_napi)
}

/// Checks a fence the way the core does (throws INVALID_ARGUMENT).
#[napi]
pub fn check_fence(lock: String, token: BigInt) -> Result<()> {
    fence(lock, &token).map(drop)
}

/// The header value of a fence, `<lock>=<token>` (odd bytes percent-encoded).
#[napi]
pub fn fence_header_value(lock: String, token: BigInt) -> Result<String> {
    Ok(fence(lock, &token)?.header_value())
}

/// Parses a header value made by `fenceHeaderValue`.
#[napi]
pub fn parse_fence(value: String) -> Result<FenceData> {
    tenure::Fence::parse(&value)
        .map(FenceData::from)
        .map_err(to_napi)
}

/// Checks a lock name the way the server does.
#[napi]
pub fn validate_lock_name(name: String) -> Result<()> {
    tenure::validate_lock_name(&name).map_err(to_napi)
}

/// The storage side of fencing: rejects tokens lower than the highest seen.
#[napi]
pub struct NativeFenceValidator {
    inner: tenure::FenceValidator,
}

#[napi]
impl NativeFenceValidator {
    /// An empty validator.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NativeFenceValidator {
            inner: tenure::FenceValidator::new(),
        }
    }

    /// Accepts the fence if its token is at least the highest seen for its lock
    /// (and records it); otherwise throws LOCK_LOST.
    #[napi]
    pub fn check(&self, lock: String, token: BigInt) -> Result<()> {
        self.inner.check(&fence(lock, &token)?).map_err(to_napi)
    }

    /// Parses a header value and checks it.
    #[napi]
    pub fn check_header(&self, value: String) -> Result<FenceData> {
        self.inner
            .check_header(&value)
            .map(FenceData::from)
            .map_err(to_napi)
    }

    /// The highest token seen for `lock`, or null.
    #[napi]
    pub fn highest(&self, lock: String) -> Option<BigInt> {
        self.inner.highest(&lock).map(BigInt::from)
    }
}
