//! `NativeElection` and `NativeObserver`: the core's leader election, whose
//! leadership is a lock (`NativeAcquired`).

use std::sync::Arc;
use std::time::Duration;

use tenure::{Election, Leader, Observer};

use crate::errors::NativeError;
use crate::lock::{NativeAcquired, acquired};
use crate::runtime::call;

/// The election of one name (a lock of that name).
#[derive(uniffi::Object)]
pub struct NativeElection {
    inner: Election,
}

impl NativeElection {
    pub(crate) fn new(inner: Election) -> Self {
        NativeElection { inner }
    }
}

#[uniffi::export]
impl NativeElection {
    /// The election's name.
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// Waits (FIFO, up to `timeout`) to lead with `value`; the leadership is
    /// the returned lock (release resigns). Cancel-safe as an acquire.
    pub async fn campaign(
        &self,
        value: String,
        timeout: Duration,
    ) -> Result<NativeAcquired, NativeError> {
        let e = self.inner.clone();
        acquired(async move { e.campaign(&value, timeout).await }).await
    }

    /// Leads at once if nobody does; `LockHeld` otherwise.
    pub async fn try_campaign(&self, value: String) -> Result<NativeAcquired, NativeError> {
        let e = self.inner.clone();
        acquired(async move { e.try_campaign(&value).await }).await
    }

    /// The current leader, if any.
    pub async fn leader(&self) -> Result<Option<Leader>, NativeError> {
        let e = self.inner.clone();
        call(async move { e.leader().await }).await
    }

    /// Leader changes: first the current leader (None if nobody leads), then
    /// every change.
    pub fn observe(&self) -> Arc<NativeObserver> {
        Arc::new(NativeObserver {
            inner: self.inner.observe(),
        })
    }
}

/// The leader changes of one election.
#[derive(uniffi::Object)]
pub struct NativeObserver {
    inner: Observer,
}

#[uniffi::export]
impl NativeObserver {
    /// The next leader: at first the current one, then after each change
    /// (None when the leader went away). `Cancelled` after `cancel()`.
    pub async fn next(&self) -> Result<Option<Leader>, NativeError> {
        let o = self.inner.clone();
        call(async move { o.next().await }).await
    }

    /// Stops observing (idempotent): a waiting `next()` fails with `Cancelled`.
    /// The core's `close` (named `cancel` here, as for the watcher).
    pub fn cancel(&self) {
        self.inner.close();
    }
}
