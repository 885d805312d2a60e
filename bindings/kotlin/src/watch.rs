//! `NativeWatcher`: the core's `Watcher` (lock changes under a prefix,
//! resumed by revision inside the core).

use tenure::{LockChange, WatchBatch, Watcher};

use crate::errors::NativeError;
use crate::runtime::call;

/// A stream of lock changes under a prefix. `cancel()` from any thread ends a
/// waiting `next()` with `Cancelled`.
#[derive(uniffi::Object)]
pub struct NativeWatcher {
    inner: Watcher,
}

impl NativeWatcher {
    pub(crate) fn new(inner: Watcher) -> Self {
        NativeWatcher { inner }
    }
}

#[uniffi::export]
impl NativeWatcher {
    /// The next batch of changes, or a reset with the state (first, and after
    /// falling behind the server's backlog). Waits as long as nothing
    /// changes; reconnects inside. `Cancelled` after `cancel()`.
    pub async fn next(&self) -> Result<WatchBatch, NativeError> {
        let w = self.inner.clone();
        call(async move { w.next().await }).await
    }

    /// The revision of the last batch returned (or the start revision).
    pub fn revision(&self) -> u64 {
        self.inner.revision()
    }

    /// The prefix watched.
    pub fn prefix(&self) -> String {
        self.inner.prefix().to_owned()
    }

    /// Stops the watcher and ends its server stream (idempotent): the core's
    /// `close`, named `cancel` here since uniffi's objects are
    /// `AutoCloseable` with a `close()` of their own.
    pub fn cancel(&self) {
        self.inner.close();
    }

    /// Whether `cancel()` was called.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

/// The stable code of a lock change, as every binding names it (for example
/// `waiter_added`).
#[uniffi::export]
pub fn lock_change_code(change: LockChange) -> String {
    change.code().to_owned()
}

/// The codes of every lock change, in the core's order (`LockChange::ALL`).
#[uniffi::export]
pub fn lock_change_codes() -> Vec<String> {
    LockChange::ALL.into_iter().map(lock_change_code).collect()
}
