//! `NativeClient`: the core's client, its callbacks, and its lock scope.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tenure::{
    AcquireOptions, AuditRecord, Client, ClientOptions, ClusterStatus, GrantInfo, LockInfo,
    LostReason, PrefixMetrics, SessionInfo, SessionState,
};

use crate::election::NativeElection;
use crate::errors::NativeError;
use crate::lock::{NativeAcquired, acquired, acquired_all};
use crate::runtime::{call, entered, spawn};
use crate::watch::NativeWatcher;

/// Told once when a lock is lost or released. Called on a runtime thread of the
/// binding: return quickly.
#[uniffi::export(foreign)]
pub trait LostListener: Send + Sync {
    /// The lock is no longer held, for `reason`.
    fn on_lost(&self, reason: LostReason);
}

/// Told once when someone asks a lock's holder to release it
/// (`request_release`). Called on a runtime thread of the binding: return
/// quickly.
#[uniffi::export(foreign)]
pub trait RevokeListener: Send + Sync {
    /// Someone asked this holder to release the lock.
    fn on_revoke_requested(&self);
}

/// Told every change of a client's session state. Called on a runtime thread
/// of the binding: return quickly.
#[uniffi::export(foreign)]
pub trait SessionStateListener: Send + Sync {
    /// The session state is now `state`.
    fn on_state(&self, state: SessionState);
}

/// A running callback registration; `cancel()` (or dropping it) ends it.
#[derive(uniffi::Object)]
pub struct NativeSubscription {
    inner: Mutex<Option<tenure::Subscription>>,
}

#[uniffi::export]
impl NativeSubscription {
    /// Ends the registration (idempotent).
    pub fn cancel(&self) {
        let taken = self.inner.lock().map(|mut s| s.take()).unwrap_or(None);
        drop(taken);
    }
}

/// A connection to a tenure cluster with its session.
#[derive(uniffi::Object)]
pub struct NativeClient {
    inner: Client,
}

fn client(inner: Client) -> Arc<NativeClient> {
    Arc::new(NativeClient { inner })
}

/// Connects to the cluster at `endpoints` (any members; `host:port`, or one
/// comma-separated string) and opens a session.
#[uniffi::export]
pub async fn connect(
    endpoints: Vec<String>,
    options: ClientOptions,
) -> Result<Arc<NativeClient>, NativeError> {
    let c = call(async move { Client::connect(endpoints, options).await }).await?;
    Ok(client(c))
}

/// Like [`connect`], but opens no session until the first acquire (for admin
/// tools that only read or administer).
#[uniffi::export]
pub fn connect_lazy(
    endpoints: Vec<String>,
    options: ClientOptions,
) -> Result<Arc<NativeClient>, NativeError> {
    let c = entered(|| Client::connect_lazy(endpoints, options))??;
    Ok(client(c))
}

#[uniffi::export]
impl NativeClient {
    /// Acquires `name`. With `options.wait`, waits in the server's FIFO queue up
    /// to that long; without, fails at once with `LockHeld` if it is taken.
    /// Cancel-safe: dropping the future withdraws a waiting acquire.
    pub async fn acquire(
        &self,
        name: String,
        options: AcquireOptions,
    ) -> Result<NativeAcquired, NativeError> {
        let c = self.inner.clone();
        acquired(async move { c.acquire(&name, options).await }).await
    }

    /// Acquires every lock of `names` at once, or none (the core's
    /// `acquire_all`): one grant per name, in the order given. Without
    /// `options.wait`, one try (`LockHeld` naming the first taken); with it,
    /// waits in every name's FIFO queue at once, holding none, until it gets
    /// them all or the wait runs out (`Timeout`). Dropping the future
    /// withdraws the wait, or releases in the background what it got.
    pub async fn acquire_all(
        &self,
        names: Vec<String>,
        options: AcquireOptions,
    ) -> Result<Vec<NativeAcquired>, NativeError> {
        let c = self.inner.clone();
        acquired_all(async move {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            c.acquire_all(&names, options).await
        })
        .await
    }

    /// This client's counters per lock-name prefix (the first segment with
    /// its slash): acquires granted and failed, releases, losses, total wait
    /// and hold time. No network.
    pub fn metrics(&self) -> Vec<PrefixMetrics> {
        self.inner.metrics()
    }

    /// The same counters, with wait and hold time histograms, in the
    /// Prometheus text format (`tenure_client_*`). No network.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics_text()
    }

    /// The current session's id, if one is open.
    pub async fn session_id(&self) -> Option<u64> {
        let c = self.inner.clone();
        spawn(async move { c.session_id().await })
            .await
            .ok()
            .flatten()
    }

    /// The current session's state (Expired when there is none).
    pub fn session_state(&self) -> SessionState {
        self.inner.session_state()
    }

    /// Calls `listener` with every change of the session state until the
    /// returned subscription is cancelled.
    pub fn on_session_state(
        &self,
        listener: Arc<dyn SessionStateListener>,
    ) -> Result<Arc<NativeSubscription>, NativeError> {
        let sub = entered(|| self.inner.on_session_state(move |s| listener.on_state(s)))?;
        Ok(Arc::new(NativeSubscription {
            inner: Mutex::new(Some(sub)),
        }))
    }

    /// Admin: frees `name` only if `owner_id` still holds it (compare-and-swap),
    /// handing it to the next waiter at once. Returns the grants made.
    pub async fn force_release(
        &self,
        name: String,
        owner_id: String,
        reason: String,
    ) -> Result<Vec<GrantInfo>, NativeError> {
        let c = self.inner.clone();
        let grants = call(async move { c.force_release(&name, &owner_id, &reason).await }).await?;
        Ok(grants)
    }

    /// Asks the holders of `name` (only the grant `owner_id`, if given) to
    /// release it; each holder learns it with its next renewal and decides.
    /// Frees nothing (`force_release` is for holders that are gone). Returns
    /// the grants asked (empty: nobody held it, or not that grant).
    pub async fn request_release(
        &self,
        name: String,
        owner_id: Option<String>,
        reason: String,
    ) -> Result<Vec<GrantInfo>, NativeError> {
        let c = self.inner.clone();
        call(async move { c.request_release(&name, owner_id.as_deref(), &reason).await }).await
    }

    /// Watches every lock under `prefix` ("" for all): from `start_revision`
    /// 0 the first batch is the current state (a reset); from a batch's
    /// revision, the changes after it (or a reset if the server no longer has
    /// them). No network until the first `next()`.
    pub fn watch(
        &self,
        prefix: String,
        start_revision: u64,
    ) -> Result<Arc<NativeWatcher>, NativeError> {
        let watcher = self.inner.watch(&prefix, start_revision)?;
        Ok(Arc::new(NativeWatcher::new(watcher)))
    }

    /// The election of `name` (a lock of that name). No network.
    pub fn election(&self, name: String) -> Result<Arc<NativeElection>, NativeError> {
        let election = self.inner.election(&name)?;
        Ok(Arc::new(NativeElection::new(election)))
    }

    /// Admin: blacklists a session: it is never renewed again and expires at its
    /// current deadline. Returns the time left until then (leader's view).
    pub async fn blacklist(
        &self,
        session_id: u64,
        reason: String,
    ) -> Result<Duration, NativeError> {
        let c = self.inner.clone();
        call(async move { c.blacklist(session_id, &reason).await }).await
    }

    /// Reads one lock (None if nobody holds or waits for it).
    pub async fn describe(&self, name: String) -> Result<Option<LockInfo>, NativeError> {
        let c = self.inner.clone();
        call(async move { c.describe(&name).await }).await
    }

    /// Lists locks whose names start with `prefix` (all pages).
    pub async fn list_locks(&self, prefix: String) -> Result<Vec<LockInfo>, NativeError> {
        let c = self.inner.clone();
        let locks = call(async move { c.list_locks(&prefix).await }).await?;
        Ok(locks)
    }

    /// Lists sessions (all pages).
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>, NativeError> {
        let c = self.inner.clone();
        let sessions = call(async move { c.list_sessions().await }).await?;
        Ok(sessions)
    }

    /// The cluster status as the leader (or any reachable node) sees it.
    pub async fn status(&self) -> Result<ClusterStatus, NativeError> {
        let c = self.inner.clone();
        call(async move { c.status().await }).await
    }

    /// The status as one particular node sees it.
    pub async fn node_status(&self, endpoint: String) -> Result<ClusterStatus, NativeError> {
        let c = self.inner.clone();
        call(async move { c.node_status(&endpoint).await }).await
    }

    /// The most recent admin actions (oldest first), at most `limit`.
    pub async fn audit(&self, limit: u32) -> Result<Vec<AuditRecord>, NativeError> {
        let c = self.inner.clone();
        let records = call(async move { c.audit(limit).await }).await?;
        Ok(records)
    }

    /// The endpoints this client was given.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints()
    }

    /// Starts the core's `with_lock` for Kotlin work: `lock()` gives the lock,
    /// `work_done()` tells the core the work ended, `outcome()` is the result.
    pub fn lock_scope(
        &self,
        name: String,
        options: AcquireOptions,
    ) -> Result<Arc<NativeLockScope>, NativeError> {
        let scope = entered(|| self.inner.lock_scope(&name, options))??;
        Ok(Arc::new(NativeLockScope {
            inner: Arc::new(scope),
        }))
    }

    /// Closes the session (its locks pass on at once) and marks its locks lost.
    /// A later acquire opens a fresh session.
    pub async fn close_session(&self) -> Result<(), NativeError> {
        let c = self.inner.clone();
        call(async move { c.close().await }).await
    }
}

/// The core's `LockScope`: `with_lock` for work that runs in Kotlin.
#[derive(uniffi::Object)]
pub struct NativeLockScope {
    inner: Arc<tenure::LockScope>,
}

#[uniffi::export]
impl NativeLockScope {
    /// The granted lock (the acquire's error if none).
    pub async fn lock(&self) -> Result<NativeAcquired, NativeError> {
        let scope = self.inner.clone();
        acquired(async move { scope.lock().await }).await
    }

    /// Tells the core the work has ended.
    pub fn work_done(&self) {
        self.inner.work_done();
    }

    /// The result of `with_lock`.
    pub async fn outcome(&self) -> Result<(), NativeError> {
        let scope = self.inner.clone();
        call(async move { scope.outcome().await }).await
    }

    /// Withdraws the acquire or releases the lock.
    pub fn cancel(&self) {
        self.inner.cancel();
    }
}
