//! Lock handles: what a holder has after an acquire.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tenure_proto::v1 as pb;
use tokio::sync::watch;

use crate::error::{Error, ErrorKind, Result};
use crate::fence::Fence;
use crate::options::LockMode;
use crate::rt::{self, Instant, Spawner};
use crate::session::{LostReason, SessionInner};

/// A callback run once when a lock is lost (or released).
pub type LostCallback = Box<dyn FnOnce(LostReason) + Send + 'static>;
/// A callback run once when someone asks the holder to release.
pub type RevokeCallback = Box<dyn FnOnce() + Send + 'static>;

pub(crate) struct LockInner {
    pub(crate) name: String,
    pub(crate) token: u64,
    pub(crate) owner: u128,
    pub(crate) mode: LockMode,
    pub(crate) session: Arc<SessionInner>,
    lost: watch::Sender<Option<LostReason>>,
    callbacks: Mutex<Vec<LostCallback>>,
    /// Someone asked the holder to release (`Client::request_release`).
    revoke_requested: watch::Sender<bool>,
    revoke_callbacks: Mutex<Vec<RevokeCallback>>,
    /// The server no longer has this grant (released, or the session ended).
    gone_on_server: AtomicBool,
    /// When the grant arrived (for the hold-time metric); None for a grant
    /// that is only released in the background (not counted).
    granted_at: Option<Instant>,
    spawner: Spawner,
}

impl LockInner {
    /// Marks the lock lost (once) and runs the on-lost callbacks.
    pub(crate) fn mark_lost(&self, reason: LostReason) {
        let first = self.lost.send_if_modified(|l| {
            let first = l.is_none();
            if first {
                // Counted before anyone waiting in `lost()` wakes up.
                if let Some(granted_at) = self.granted_at {
                    let held = Instant::now().saturating_duration_since(granted_at);
                    self.session.conn.metrics.ended(&self.name, held, reason);
                }
                *l = Some(reason);
            }
            first
        });
        if !first {
            return;
        }
        if reason != LostReason::Released {
            tracing::warn!(lock = %self.name, token = self.token, %reason, "lock lost");
        }
        if reason == LostReason::ForceReleased {
            self.gone_on_server.store(true, Ordering::Relaxed);
        }
        let callbacks: Vec<LostCallback> = std::mem::take(&mut *self.callbacks.lock());
        for cb in callbacks {
            // A panicking callback must not take the heartbeat task down with it.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cb(reason)));
        }
    }

    fn lost_reason(&self) -> Option<LostReason> {
        *self.lost.borrow()
    }

    /// Records that someone asked the holder to release (once) and runs the
    /// on-revoke-requested callbacks. The keepalive reports the request on
    /// every renewal until the grant ends: only the first counts.
    pub(crate) fn mark_revoke_requested(&self) {
        if !self
            .revoke_requested
            .send_if_modified(|r| !std::mem::replace(r, true))
        {
            return;
        }
        tracing::info!(lock = %self.name, token = self.token, "release requested");
        let callbacks: Vec<RevokeCallback> = std::mem::take(&mut *self.revoke_callbacks.lock());
        for cb in callbacks {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(cb));
        }
    }

    async fn release_on_server(&self) -> Result<()> {
        if self.gone_on_server.load(Ordering::Relaxed) {
            return Ok(());
        }
        release_grant(&self.session, &self.name, self.owner).await?;
        self.gone_on_server.store(true, Ordering::Relaxed);
        Ok(())
    }
}

/// Releases one grant on the server, retrying with one request id (G5).
async fn release_grant(session: &SessionInner, name: &str, owner: u128) -> Result<()> {
    let conn = &session.conn;
    let req = pb::ReleaseRequest {
        session_id: session.id,
        request_id: session.next_request_id(),
        name: name.to_owned(),
        owner_id: format!("{owner:032x}"),
    };
    let deadline = Instant::now() + conn.options.call_timeout;
    let result = conn
        .call(deadline, conn.options.attempt_timeout, |mut stub| {
            let req = req.clone();
            async move { stub.release(req).await }
        })
        .await;
    session.unregister(owner);
    match result {
        Ok(_) => Ok(()),
        // The session is gone on the server, and so is the grant.
        Err(e) if e.kind() == ErrorKind::SessionExpired => Ok(()),
        Err(e) => Err(e),
    }
}

impl Drop for LockInner {
    fn drop(&mut self) {
        // The last handle is gone without release(): release in the background.
        if self.gone_on_server.load(Ordering::Relaxed) {
            return;
        }
        let (session, name, owner) = (
            self.session.clone(),
            std::mem::take(&mut self.name),
            self.owner,
        );
        let ticket = session.releasing.begin(&name);
        self.spawner.spawn(async move {
            if let Err(e) = release_grant(&session, &name, owner).await {
                tracing::warn!(lock = %name, error = %e, "background release failed");
            }
            drop(ticket);
        });
    }
}

/// A held lock. Cloning is cheap; the lock is released in the background when
/// the last clone is dropped without `release()`.
#[derive(Clone)]
pub struct Lock {
    inner: Arc<LockInner>,
}

impl std::fmt::Debug for Lock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lock")
            .field("name", &self.inner.name)
            .field("token", &self.inner.token)
            .field("owner_id", &self.owner_id())
            .field("held", &self.is_held())
            .finish()
    }
}

impl Lock {
    pub(crate) fn new(grant: pb::Grant, session: Arc<SessionInner>) -> Result<Lock> {
        Lock::with_metrics(grant, session, true)
    }

    /// A handle for a grant the caller never saw (a cancelled acquire's),
    /// made only to release it: it is not counted in the metrics.
    pub(crate) fn untracked(grant: pb::Grant, session: Arc<SessionInner>) -> Result<Lock> {
        Lock::with_metrics(grant, session, false)
    }

    fn with_metrics(grant: pb::Grant, session: Arc<SessionInner>, tracked: bool) -> Result<Lock> {
        let owner = u128::from_str_radix(&grant.owner_id, 16).map_err(|_| {
            Error::internal(format!("server sent a bad owner id {:?}", grant.owner_id))
        })?;
        let mode = match pb::LockMode::try_from(grant.mode) {
            Ok(pb::LockMode::Shared) => LockMode::Shared,
            Ok(pb::LockMode::Permits) => LockMode::Permits,
            _ => LockMode::Exclusive,
        };
        let inner = Arc::new(LockInner {
            name: grant.name,
            token: grant.token,
            owner,
            mode,
            session: session.clone(),
            lost: watch::channel(None).0,
            callbacks: Mutex::new(Vec::new()),
            revoke_requested: watch::channel(false).0,
            revoke_callbacks: Mutex::new(Vec::new()),
            gone_on_server: AtomicBool::new(false),
            granted_at: tracked.then(Instant::now),
            spawner: Spawner::current(),
        });
        session.register(owner, Arc::downgrade(&inner));
        // The session may have ended between the grant and the registration.
        if let Some(reason) = session.end_reason() {
            inner.mark_lost(reason);
        }
        Ok(Lock { inner })
    }

    /// The lock's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The fencing token of this grant: greater than every token granted before.
    pub fn fencing_token(&self) -> u64 {
        self.inner.token
    }

    /// The fence to pass to storage (`tenure-fence: <lock>=<token>`).
    pub fn fence(&self) -> Fence {
        Fence::new(self.inner.name.clone(), self.inner.token)
    }

    /// The grant's unique owner id (32 hex digits), for release and force-release.
    pub fn owner_id(&self) -> String {
        format!("{:032x}", self.inner.owner)
    }

    /// Exclusive or shared.
    pub fn mode(&self) -> LockMode {
        self.inner.mode
    }

    /// The id of the session holding it.
    pub fn session_id(&self) -> u64 {
        self.inner.session.id
    }

    /// Whether the lock is still held, judged locally (no network): not released,
    /// not lost, and the session's local expiry not passed.
    pub fn is_held(&self) -> bool {
        self.inner.lost_reason().is_none() && self.inner.session.is_alive()
    }

    /// The session's local expiry as an instant of the host's monotonic clock: the lock counts as held at
    /// most until then unless a renewal extends it. After a loss, the final
    /// value. The expiry itself is kept on the boot clock, which counts time
    /// the machine spends suspended and tokio's clock does not: across a
    /// suspend the lock is lost earlier than this instant says.
    pub fn local_expiry(&self) -> Instant {
        self.inner.session.expiry_instant()
    }

    /// How long the lock is certainly held without a further renewal (zero once lost).
    pub fn remaining(&self) -> Duration {
        if self.is_held() {
            self.inner.session.remaining()
        } else {
            Duration::ZERO
        }
    }

    /// Why the lock is no longer held, if it is not.
    pub fn lost_reason(&self) -> Option<LostReason> {
        self.inner
            .lost_reason()
            .or_else(|| (!self.inner.session.is_alive()).then_some(LostReason::SessionExpired))
    }

    /// Resolves when the lock is lost or released, with the reason. Resolves at
    /// the local expiry even if no renewal arrives (G3), and within a check
    /// interval of a resume that finds the local expiry passed.
    pub async fn lost(&self) -> LostReason {
        let mut rx = self.inner.lost.subscribe();
        let session = &self.inner.session;
        loop {
            if let Some(reason) = self.lost_reason() {
                return reason;
            }
            // Short sleeps, re-reading the boot clock: one sleep until the
            // expiry would oversleep a suspend (tokio's clock stops).
            let wait = session
                .remaining()
                .min(session.check_interval())
                .max(Duration::from_millis(1));
            tokio::select! {
                r = rx.changed() => if r.is_err() { return LostReason::ClientClosed },
                _ = rt::sleep(wait) => {}
            }
        }
    }

    /// Runs `callback` once when the lock is lost or released (at once if it
    /// already is). Callbacks run on the client's background task: keep them short.
    pub fn on_lost(&self, callback: impl FnOnce(LostReason) + Send + 'static) {
        if let Some(reason) = self.inner.lost_reason() {
            callback(reason);
            return;
        }
        self.inner.callbacks.lock().push(Box::new(callback));
        // Lost between the check and the push: run it now.
        if let Some(reason) = self.inner.lost_reason() {
            let callbacks: Vec<LostCallback> = std::mem::take(&mut *self.inner.callbacks.lock());
            for cb in callbacks {
                cb(reason);
            }
        }
    }

    /// Replaces the value kept with this grant (shown by describe, list and
    /// watches; an elected leader proclaims its new address this way). At
    /// most 1,024 bytes, no control characters but tab. Fails with `LockLost`
    /// if the grant is no longer held.
    pub async fn set_value(&self, value: &str) -> Result<()> {
        crate::client::validate_lock_value(value)?;
        if let Some(reason) = self.lost_reason() {
            return Err(self.lost_error(reason));
        }
        let session = &self.inner.session;
        let conn = &session.conn;
        let req = pb::SetValueRequest {
            session_id: session.id,
            request_id: session.next_request_id(),
            name: self.inner.name.clone(),
            owner_id: self.owner_id(),
            value: value.to_owned(),
        };
        let deadline = Instant::now() + conn.options.call_timeout;
        let result = conn
            .call(deadline, conn.options.attempt_timeout, |mut stub| {
                let req = req.clone();
                async move { stub.set_value(req).await }
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::NotHolder | ErrorKind::SessionExpired) => {
                Err(self.lost_error(self.lost_reason().unwrap_or(LostReason::SessionExpired)))
            }
            Err(e) => Err(e),
        }
    }

    /// Whether someone asked this holder to release the lock
    /// ([`crate::Client::request_release`]). Advisory: the lock is still held
    /// until the holder releases it (or loses it).
    pub fn is_revoke_requested(&self) -> bool {
        *self.inner.revoke_requested.borrow()
    }

    /// Resolves when someone asks this holder to release the lock: the
    /// request arrives with the next renewal (within a keepalive interval).
    /// Never resolves once the lock is lost without a request.
    pub async fn revoke_requested(&self) {
        let mut rx = self.inner.revoke_requested.subscribe();
        // Err: the lock handle is gone, so nobody can ask any more.
        let _ = rx.wait_for(|asked| *asked).await;
    }

    /// Runs `callback` once when someone asks this holder to release the lock
    /// (at once if someone already has). The holder decides what to do, for
    /// example finish its work and `release()`. Callbacks run on the client's
    /// background task: keep them short.
    pub fn on_revoke_requested(&self, callback: impl FnOnce() + Send + 'static) {
        if self.is_revoke_requested() {
            callback();
            return;
        }
        self.inner.revoke_callbacks.lock().push(Box::new(callback));
        // Asked between the check and the push: run it now.
        if self.is_revoke_requested() {
            let callbacks: Vec<RevokeCallback> =
                std::mem::take(&mut *self.inner.revoke_callbacks.lock());
            for cb in callbacks {
                cb();
            }
        }
    }

    /// Releases the lock. Idempotent: releasing a released or lost lock is Ok.
    ///
    /// The lock counts as not held (and on-lost callbacks run with `Released`)
    /// as soon as this is called, before the server has freed it: a callback that
    /// acquires the same lock again may still find it held for a moment.
    pub async fn release(&self) -> Result<()> {
        self.inner.mark_lost(LostReason::Released);
        self.inner.release_on_server().await
    }

    /// Ends a scope that held the lock (Python's `with`, Kotlin's `use {}`,
    /// Node's `await using`): releases it, and fails with `LockLost` if the
    /// lock was lost before (not released by its holder), so that work done
    /// after the loss does not go unnoticed. A release error comes second.
    pub async fn finish(&self) -> Result<()> {
        let lost = self.lost_reason().filter(|r| *r != LostReason::Released);
        let released = self.release().await;
        match lost {
            Some(reason) => Err(self.lost_error(reason)),
            None => released,
        }
    }

    /// Runs `work` while the lock is held; if the lock is lost first, `work` is
    /// dropped (cancelled) and `LockLost` returned. Does not release the lock.
    /// A binding whose work runs outside Rust passes [`crate::Work::finished`].
    pub async fn run<F: Future>(&self, work: F) -> Result<F::Output> {
        tokio::select! {
            out = work => Ok(out),
            reason = self.lost() => Err(self.lost_error(reason)),
        }
    }

    fn lost_error(&self, reason: LostReason) -> Error {
        Error::new(
            ErrorKind::LockLost,
            format!("lock {:?} lost: {reason}", self.name()),
        )
    }
}
