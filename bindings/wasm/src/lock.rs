//! `NativeLock`: a held lock (the core's handle), and the work signal that
//! runs JS work under the core's `Lock::run`.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::errors::{millis, num, promise, promise_void, to_js};

/// A held lock (one grant). A lock the garbage collector frees unreleased is
/// released by the core in the background.
#[wasm_bindgen]
pub struct NativeLock {
    inner: tenure::Lock,
}

impl NativeLock {
    pub(crate) fn new(inner: tenure::Lock) -> Self {
        NativeLock { inner }
    }
}

#[wasm_bindgen]
impl NativeLock {
    /// The lock's name.
    #[wasm_bindgen(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// The fencing token of this grant (u64 as bigint).
    #[wasm_bindgen(getter, js_name = fencingToken)]
    pub fn fencing_token(&self) -> u64 {
        self.inner.fencing_token()
    }

    /// The grant's unique owner id (32 hex digits).
    #[wasm_bindgen(getter, js_name = ownerId)]
    pub fn owner_id(&self) -> String {
        self.inner.owner_id()
    }

    /// `exclusive` or `shared`.
    #[wasm_bindgen(getter)]
    pub fn mode(&self) -> String {
        self.inner.mode().code().to_owned()
    }

    /// The id of the session holding it.
    #[wasm_bindgen(getter, js_name = sessionId)]
    pub fn session_id(&self) -> f64 {
        num(self.inner.session_id())
    }

    /// Whether the lock is still held, judged locally (no network).
    #[wasm_bindgen(js_name = isHeld)]
    pub fn is_held(&self) -> bool {
        self.inner.is_held()
    }

    /// Ms the lock is certainly held without a further renewal (0 once lost).
    pub fn remaining(&self) -> f64 {
        millis(self.inner.remaining())
    }

    /// Why the lock is no longer held, or undefined while it is.
    #[wasm_bindgen(js_name = lostReason)]
    pub fn lost_reason(&self) -> Option<String> {
        self.inner.lost_reason().map(|r| r.code().to_owned())
    }

    /// Resolves with the reason when the lock is lost or released.
    #[wasm_bindgen(unchecked_return_type = "Promise<string>")]
    pub fn lost(&self) -> Promise {
        let lock = self.inner.clone();
        promise(async move { Ok::<_, JsValue>(lock.lost().await.code().to_owned()) })
    }

    /// Replaces the value kept with this grant (an elected leader proclaims
    /// its new value this way); rejects with LOCK_LOST if no longer held.
    #[wasm_bindgen(js_name = setValue, unchecked_return_type = "Promise<void>")]
    pub fn set_value(&self, value: String) -> Promise {
        let lock = self.inner.clone();
        promise_void(async move { lock.set_value(&value).await.map_err(to_js) })
    }

    /// Whether someone asked this holder to release (`requestRelease`).
    /// Advisory: the lock stays held until the holder releases it.
    #[wasm_bindgen(js_name = isRevokeRequested)]
    pub fn is_revoke_requested(&self) -> bool {
        self.inner.is_revoke_requested()
    }

    /// Resolves with true when someone asks this holder to release (the
    /// core's `Lock::revoke_requested`), or with false if the lock is lost or
    /// released first without a request.
    #[wasm_bindgen(js_name = revokeRequested, unchecked_return_type = "Promise<boolean>")]
    pub fn revoke_requested(&self) -> Promise {
        let lock = self.inner.clone();
        promise(async move {
            let asked = tokio::select! {
                biased;
                () = lock.revoke_requested() => true,
                _ = lock.lost() => lock.is_revoke_requested(),
            };
            Ok::<_, JsValue>(asked)
        })
    }

    /// Releases the lock (idempotent).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn release(&self) -> Promise {
        let lock = self.inner.clone();
        promise_void(async move { lock.release().await.map_err(to_js) })
    }

    /// Ends a scope (`await using`): releases, and rejects with LOCK_LOST if
    /// the lock was lost before (the core's `Lock::finish`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn finish(&self) -> Promise {
        let lock = self.inner.clone();
        promise_void(async move { lock.finish().await.map_err(to_js) })
    }

    /// Resolves once `work` is done, or rejects with LOCK_LOST if the lock is
    /// lost first (the core's `Lock::run`); the wrapper then aborts the work.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn run(&self, work: &NativeWork) -> Promise {
        let (lock, finished) = (self.inner.clone(), work.inner.finished());
        promise_void(async move { lock.run(finished).await.map_err(to_js) })
    }
}

/// A signal that JS work under a lock has ended (the core's `Work`).
#[wasm_bindgen]
pub struct NativeWork {
    inner: tenure::Work,
}

#[wasm_bindgen]
impl NativeWork {
    /// Work that has not ended yet.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NativeWork {
            inner: tenure::Work::new(),
        }
    }

    /// Marks the work as ended (idempotent).
    pub fn done(&self) {
        self.inner.done();
    }
}
