//! `NativeLock`: a held lock (the core's handle), and the work signal that
//! runs JS work under the core's `Lock::run`.

use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;

use crate::errors::{StringCallback, VoidCallback, millis, num, to_napi};

fn code_of(reason: tenure::LostReason) -> String {
    reason.code().to_owned()
}

/// A held lock (one grant).
#[napi]
pub struct NativeLock {
    inner: tenure::Lock,
}

impl NativeLock {
    pub(crate) fn new(inner: tenure::Lock) -> Self {
        NativeLock { inner }
    }
}

#[napi]
impl NativeLock {
    /// The lock's name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// The fencing token of this grant (u64 as bigint).
    #[napi(getter)]
    pub fn fencing_token(&self) -> BigInt {
        BigInt::from(self.inner.fencing_token())
    }

    /// The grant's unique owner id (32 hex digits).
    #[napi(getter)]
    pub fn owner_id(&self) -> String {
        self.inner.owner_id()
    }

    /// `exclusive` or `shared`.
    #[napi(getter)]
    pub fn mode(&self) -> String {
        self.inner.mode().code().to_owned()
    }

    /// The id of the session holding it.
    #[napi(getter)]
    pub fn session_id(&self) -> f64 {
        num(self.inner.session_id())
    }

    /// Whether the lock is still held, judged locally (no network).
    #[napi]
    pub fn is_held(&self) -> bool {
        self.inner.is_held()
    }

    /// Ms the lock is certainly held without a further renewal (0 once lost).
    #[napi]
    pub fn remaining(&self) -> f64 {
        millis(self.inner.remaining())
    }

    /// Why the lock is no longer held, or null while it is.
    #[napi]
    pub fn lost_reason(&self) -> Option<String> {
        self.inner.lost_reason().map(code_of)
    }

    /// Resolves with the reason when the lock is lost or released.
    #[napi]
    pub async fn lost(&self) -> String {
        code_of(self.inner.lost().await)
    }

    /// Calls `callback` once with the reason when the lock is lost or released.
    #[napi]
    pub fn on_lost(
        &self,
        #[napi(ts_arg_type = "(reason: string) => void")] callback: StringCallback,
    ) {
        self.inner.on_lost(move |reason| {
            callback.call(code_of(reason), ThreadsafeFunctionCallMode::NonBlocking);
        });
    }

    /// Replaces the value kept with this grant (an elected leader proclaims
    /// its new value this way); rejects with LOCK_LOST if no longer held.
    #[napi]
    pub async fn set_value(&self, value: String) -> Result<()> {
        self.inner.set_value(&value).await.map_err(to_napi)
    }

    /// Whether someone asked this holder to release (`requestRelease`).
    /// Advisory: the lock stays held until the holder releases it.
    #[napi]
    pub fn is_revoke_requested(&self) -> bool {
        self.inner.is_revoke_requested()
    }

    /// Resolves with true when someone asks this holder to release (the
    /// core's `Lock::revoke_requested`), or with false if the lock is lost or
    /// released first without a request.
    #[napi]
    pub async fn revoke_requested(&self) -> bool {
        let lock = &self.inner;
        tokio::select! {
            biased;
            () = lock.revoke_requested() => true,
            _ = lock.lost() => lock.is_revoke_requested(),
        }
    }

    /// Calls `callback` once when someone asks this holder to release.
    #[napi]
    pub fn on_revoke_requested(&self, #[napi(ts_arg_type = "() => void")] callback: VoidCallback) {
        self.inner.on_revoke_requested(move || {
            callback.call((), ThreadsafeFunctionCallMode::NonBlocking);
        });
    }

    /// Releases the lock (idempotent).
    #[napi]
    pub async fn release(&self) -> Result<()> {
        self.inner.release().await.map_err(to_napi)
    }

    /// Ends a scope (`await using`): releases, and rejects with LOCK_LOST if
    /// the lock was lost before (the core's `Lock::finish`).
    #[napi]
    pub async fn finish(&self) -> Result<()> {
        self.inner.finish().await.map_err(to_napi)
    }

    /// Resolves once `work` is done, or rejects with LOCK_LOST if the lock is
    /// lost first (the core's `Lock::run`); the wrapper then aborts the work.
    #[napi]
    pub async fn run(&self, work: &NativeWork) -> Result<()> {
        self.inner.run(work.inner.finished()).await.map_err(to_napi)
    }
}

/// A signal that JS work under a lock has ended (the core's `Work`).
#[napi]
pub struct NativeWork {
    inner: tenure::Work,
}

#[napi]
impl NativeWork {
    /// Work that has not ended yet.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NativeWork {
            inner: tenure::Work::new(),
        }
    }

    /// Marks the work as ended (idempotent).
    #[napi]
    pub fn done(&self) {
        self.inner.done();
    }
}
