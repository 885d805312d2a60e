//! `NativeLock`: a held lock (the core's handle), and the work signal that
//! runs Kotlin work under the core's `Lock::run`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tenure::{Lock, LockMode, LostReason};

use crate::client::{LostListener, RevokeListener};
use crate::errors::NativeError;
use crate::runtime::{call, spawn};

/// Runs a core call that grants a lock (acquire, campaign) on the runtime and
/// returns its answer.
pub(crate) async fn acquired<F>(grant: F) -> Result<NativeAcquired, NativeError>
where
    F: Future<Output = tenure::Result<Lock>> + Send + 'static,
{
    Ok(NativeAcquired::new(call(grant).await?))
}

/// [`acquired`] for a call that grants several locks at once (`acquire_all`).
pub(crate) async fn acquired_all<F>(grants: F) -> Result<Vec<NativeAcquired>, NativeError>
where
    F: Future<Output = tenure::Result<Vec<Lock>>> + Send + 'static,
{
    let locks = call(grants).await?;
    Ok(locks.into_iter().map(NativeAcquired::new).collect())
}

/// What `acquire` returns: the lock and its fixed properties, in one answer.
/// Every call from the JVM allocates JNA structures for its status; reading the
/// five properties through five calls cost more than the rest of an acquire.
#[derive(uniffi::Record)]
pub struct NativeAcquired {
    /// The held lock.
    pub lock: Arc<NativeLock>,
    /// Its name.
    pub name: String,
    /// The fencing token of this grant.
    pub fencing_token: u64,
    /// The owner id of this grant (for force-release).
    pub owner_id: String,
    /// Exclusive or shared.
    pub mode: LockMode,
    /// The session holding it.
    pub session_id: u64,
}

impl NativeAcquired {
    pub(crate) fn new(lock: Lock) -> Self {
        NativeAcquired {
            name: lock.name().to_owned(),
            fencing_token: lock.fencing_token(),
            owner_id: lock.owner_id(),
            mode: lock.mode(),
            session_id: lock.session_id(),
            lock: Arc::new(NativeLock { inner: lock }),
        }
    }
}

/// A held lock. Dropping the last reference without `release()` releases it in
/// the background.
#[derive(uniffi::Object)]
pub struct NativeLock {
    inner: Lock,
}

#[uniffi::export]
impl NativeLock {
    /// Whether the lock is still held, judged locally (no network).
    pub fn is_held(&self) -> bool {
        self.inner.is_held()
    }

    /// How long the lock is certainly held without a further renewal (zero once lost).
    pub fn remaining(&self) -> Duration {
        self.inner.remaining()
    }

    /// Why the lock is no longer held, if it is not.
    pub fn lost_reason(&self) -> Option<LostReason> {
        self.inner.lost_reason()
    }

    /// Resolves when the lock is lost or released, with the reason (at the
    /// local expiry at the latest, even without any renewal answer).
    pub async fn lost(&self) -> Result<LostReason, NativeError> {
        let l = self.inner.clone();
        spawn(async move { l.lost().await }).await
    }

    /// Calls `listener` once when the lock is lost or released (at once if it
    /// already is).
    pub fn on_lost(&self, listener: Arc<dyn LostListener>) {
        self.inner.on_lost(move |reason| listener.on_lost(reason));
    }

    /// Whether someone asked this holder to release the lock (advisory: it is
    /// still held until released or lost).
    pub fn is_revoke_requested(&self) -> bool {
        self.inner.is_revoke_requested()
    }

    /// Resolves when someone asks this holder to release the lock (within a
    /// keepalive interval of the request). Never resolves once the lock is
    /// lost without a request: the caller cancels it.
    pub async fn revoke_requested(&self) -> Result<(), NativeError> {
        let l = self.inner.clone();
        spawn(async move { l.revoke_requested().await }).await
    }

    /// Calls `listener` once when someone asks this holder to release the
    /// lock (at once if someone already has).
    pub fn on_revoke_requested(&self, listener: Arc<dyn RevokeListener>) {
        self.inner
            .on_revoke_requested(move || listener.on_revoke_requested());
    }

    /// Replaces the value kept with this grant (shown by describe, watches and
    /// an election's observers: a leader proclaims). `LockLost` if it is no
    /// longer held.
    pub async fn set_value(&self, value: String) -> Result<(), NativeError> {
        let l = self.inner.clone();
        call(async move { l.set_value(&value).await }).await
    }

    /// Releases the lock. Idempotent: releasing a released or lost lock is Ok.
    pub async fn release(&self) -> Result<(), NativeError> {
        let l = self.inner.clone();
        call(async move { l.release().await }).await
    }

    /// Ends a `use {}` block: releases, and fails with `LockLost` if the lock
    /// was lost before (the core's `Lock::finish`).
    pub async fn finish(&self) -> Result<(), NativeError> {
        let l = self.inner.clone();
        call(async move { l.finish().await }).await
    }

    /// Returns once `work` is done, or fails with `LockLost` if the lock is lost
    /// first (the core's `Lock::run`); the caller then cancels its work.
    pub async fn run(&self, work: Arc<NativeWork>) -> Result<(), NativeError> {
        let (l, finished) = (self.inner.clone(), work.inner.finished());
        call(async move { l.run(finished).await }).await
    }
}

/// A signal that Kotlin work under a lock has ended (the core's `Work`).
#[derive(uniffi::Object)]
pub struct NativeWork {
    inner: tenure::Work,
}

#[uniffi::export]
impl NativeWork {
    /// Work that has not ended yet.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(NativeWork {
            inner: tenure::Work::new(),
        })
    }

    /// Marks the work as ended (idempotent).
    pub fn done(&self) {
        self.inner.done();
    }
}
