//! Fences (the core's `Fence` record) and the storage-side validator.

use std::sync::Arc;

use tenure::Fence;

use crate::errors::NativeError;

/// The header that carries a fence (`tenure-fence`).
#[uniffi::export]
pub fn fence_header_name() -> String {
    tenure::FENCE_HEADER.to_owned()
}

/// `fence` if its lock is a valid lock name (the core's rule).
#[uniffi::export]
pub fn check_fence(fence: Fence) -> Result<Fence, NativeError> {
    Ok(Fence::try_new(fence.lock, fence.token)?)
}

/// The header value of a fence, `<lock>=<token>` (name percent-encoded).
#[uniffi::export]
pub fn fence_header_value(fence: Fence) -> Result<String, NativeError> {
    Ok(check_fence(fence)?.header_value())
}

/// Parses a header value made by [`fence_header_value`].
#[uniffi::export]
pub fn parse_fence(value: String) -> Result<Fence, NativeError> {
    Ok(Fence::parse(&value)?)
}

/// The storage side of fencing: remembers the highest token seen per resource
/// and rejects writes carrying a lower one. Equal tokens pass.
#[derive(uniffi::Object)]
pub struct NativeFenceValidator {
    inner: tenure::FenceValidator,
}

#[uniffi::export]
impl NativeFenceValidator {
    /// An empty validator.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(NativeFenceValidator {
            inner: tenure::FenceValidator::new(),
        })
    }

    /// Accepts `fence` if its token is at least the highest seen for its lock
    /// (and records it); otherwise fails with `LockLost`.
    pub fn check(&self, fence: Fence) -> Result<(), NativeError> {
        Ok(self.inner.check(&fence)?)
    }

    /// Parses a header value and checks it.
    pub fn check_header(&self, value: String) -> Result<Fence, NativeError> {
        Ok(self.inner.check_header(&value)?)
    }

    /// The highest token seen for `lock`.
    pub fn highest(&self, lock: String) -> Option<u64> {
        self.inner.highest(&lock)
    }
}
