//! `NativeClient`: the core's client, its session-state subscription, the
//! core's lock scope (`with_lock`), and the cancel token of a waiting acquire.

use std::future::Future;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::ThreadsafeFunctionCallMode;
use napi_derive::napi;
use tokio::sync::watch;

use crate::election::NativeElection;
use crate::errors::{StringCallback, millis, num, to_napi, u64_of};
use crate::lock::NativeLock;
use crate::options::{NativeAcquireOptions, NativeClientOptions, acquire_options, client_options};
use crate::records::{AuditRecord, ClusterStatus, GrantInfo, LockInfo, PrefixMetrics, SessionInfo};
use crate::watch::NativeWatcher;

fn code_of(state: tenure::SessionState) -> String {
    state.code().to_owned()
}

/// A one-shot cancel signal for a waiting acquire. The wrapper cancels it when
/// the caller's AbortSignal fires; the acquire's Rust future is then dropped,
/// which makes the core withdraw the waiting acquire from the server's queue.
#[napi]
pub struct CancelToken {
    tx: watch::Sender<bool>,
}

#[napi]
impl CancelToken {
    /// A token that has not been cancelled.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        CancelToken {
            tx: watch::channel(false).0,
        }
    }

    /// Cancels every acquire given this token (idempotent).
    #[napi]
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }
}

/// Resolves when `rx` is cancelled; never if its token is dropped uncancelled.
async fn cancelled(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs the acquire `work` as a JS promise of what `wrap` makes of its
/// lock(s), unless `cancel` fires first: then `work` is dropped, which makes
/// the core withdraw a waiting acquire from the server's queue (its
/// CancelGuard) or release what an `acquire_all` try got (its ReleaseGuard),
/// and the promise rejects with CANCELLED (`what` was aborted).
pub(crate) fn acquire_promise<'env, T, R>(
    env: &'env Env,
    what: String,
    cancel: Option<&CancelToken>,
    work: impl Future<Output = tenure::Result<T>> + Send + 'static,
    wrap: fn(T) -> R,
) -> Result<PromiseRaw<'env, R>>
where
    T: Send + 'static,
    R: ToNapiValue + Send + 'static,
{
    let cancel = cancel.map(|c| c.tx.subscribe());
    env.spawn_future(async move {
        let got = match cancel {
            None => work.await,
            Some(rx) => tokio::select! {
                _ = cancelled(rx) => Err(tenure::Error::new(
                    tenure::ErrorKind::Cancelled,
                    format!("{what} was aborted"),
                )),
                r = work => r,
            },
        }
        .map_err(to_napi)?;
        Ok(wrap(got))
    })
}

/// Most names in one `acquireAll` (the server's limit).
#[napi]
pub const MAX_ACQUIRE_ALL: u32 = tenure::MAX_ACQUIRE_ALL as u32;

/// One JS lock per grant, in the order of the names.
fn native_locks(locks: Vec<tenure::Lock>) -> Vec<NativeLock> {
    locks.into_iter().map(NativeLock::new).collect()
}

/// The grants an admin call made or asked, as JS records.
fn grants(result: tenure::Result<Vec<tenure::GrantInfo>>) -> Result<Vec<GrantInfo>> {
    let grants = result.map_err(to_napi)?;
    Ok(grants.into_iter().map(GrantInfo::from).collect())
}

/// A connection to a tenure cluster with one session at a time.
#[napi]
pub struct NativeClient {
    inner: tenure::Client,
}

/// Connects to the cluster at `endpoints` and opens a session.
#[napi]
pub async fn connect(
    endpoints: Vec<String>,
    options: Option<NativeClientOptions>,
) -> Result<NativeClient> {
    let options = client_options(options)?;
    let inner = tenure::Client::connect(endpoints, options)
        .await
        .map_err(to_napi)?;
    Ok(NativeClient { inner })
}

/// Like `connect`, but opens no session until the first acquire (admin use).
#[napi(async_runtime)]
pub fn connect_lazy(
    endpoints: Vec<String>,
    options: Option<NativeClientOptions>,
) -> Result<NativeClient> {
    let options = client_options(options)?;
    let inner = tenure::Client::connect_lazy(endpoints, options).map_err(to_napi)?;
    Ok(NativeClient { inner })
}

#[napi]
impl NativeClient {
    /// Acquires `name`. With `waitMs` waits in the server's FIFO queue; without,
    /// fails at once with LOCK_HELD. If `cancel` fires first, the acquire is
    /// withdrawn and the promise rejects with CANCELLED.
    #[napi(ts_return_type = "Promise<NativeLock>")]
    pub fn acquire<'env>(
        &self,
        env: &'env Env,
        name: String,
        options: Option<NativeAcquireOptions>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'env, NativeLock>> {
        let options = acquire_options(options)?;
        let client = self.inner.clone();
        let what = format!("acquire of {name:?}");
        let work = async move { client.acquire(&name, options).await };
        acquire_promise(env, what, cancel, work, NativeLock::new)
    }

    /// Acquires every lock of `names` at once, or none (one grant per name,
    /// in the order given). With `waitMs` waits in every name's FIFO queue at
    /// once up to that long (TIMEOUT after), holding none; without, one try
    /// (LOCK_HELD naming the first taken). If `cancel` fires first, what the
    /// try may have got is released and the promise rejects with CANCELLED.
    #[napi(ts_return_type = "Promise<NativeLock[]>")]
    pub fn acquire_all<'env>(
        &self,
        env: &'env Env,
        names: Vec<String>,
        options: Option<NativeAcquireOptions>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'env, Vec<NativeLock>>> {
        let options = acquire_options(options)?;
        let client = self.inner.clone();
        let what = format!("acquireAll of {names:?}");
        let work = async move {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            client.acquire_all(&names, options).await
        };
        acquire_promise(env, what, cancel, work, native_locks)
    }

    /// This client's counters per lock-name prefix (no network).
    #[napi]
    pub fn metrics(&self) -> Vec<PrefixMetrics> {
        self.inner
            .metrics()
            .into_iter()
            .map(PrefixMetrics::from)
            .collect()
    }

    /// The same counters with histograms, in the Prometheus text format.
    #[napi]
    pub fn metrics_text(&self) -> String {
        self.inner.metrics_text()
    }

    /// The current session's id, or null if none is open.
    #[napi]
    pub async fn session_id(&self) -> Option<f64> {
        self.inner.session_id().await.map(num)
    }

    /// The session state: `healthy`, `jeopardy` or `expired` (no session).
    #[napi]
    pub fn session_state(&self) -> String {
        code_of(self.inner.session_state())
    }

    /// Calls `callback` with every change of the session state until the
    /// returned subscription is closed.
    #[napi(async_runtime)]
    pub fn on_session_state(
        &self,
        #[napi(ts_arg_type = "(state: string) => void")] callback: StringCallback,
    ) -> NativeSubscription {
        let sub = self.inner.on_session_state(move |state| {
            callback.call(code_of(state), ThreadsafeFunctionCallMode::NonBlocking);
        });
        NativeSubscription { inner: Some(sub) }
    }

    /// Starts the core's `with_lock` for JS work: `lock()` gives the lock,
    /// `workDone()` tells the core the work ended, `outcome()` is the result.
    #[napi(async_runtime)]
    pub fn lock_scope(
        &self,
        name: String,
        options: Option<NativeAcquireOptions>,
    ) -> Result<NativeLockScope> {
        let options = acquire_options(options)?;
        let scope = self.inner.lock_scope(&name, options).map_err(to_napi)?;
        Ok(NativeLockScope {
            inner: Arc::new(scope),
        })
    }

    /// Admin: frees `name` only if `ownerId` still holds it (compare-and-swap).
    #[napi]
    pub async fn force_release(
        &self,
        name: String,
        owner_id: String,
        reason: String,
    ) -> Result<Vec<GrantInfo>> {
        grants(self.inner.force_release(&name, &owner_id, &reason).await)
    }

    /// Asks the holders of `name` (only the grant `ownerId`, if given) to
    /// release it; frees nothing. Returns the grants asked.
    #[napi]
    pub async fn request_release(
        &self,
        name: String,
        owner_id: Option<String>,
        reason: String,
    ) -> Result<Vec<GrantInfo>> {
        grants(
            self.inner
                .request_release(&name, owner_id.as_deref(), &reason)
                .await,
        )
    }

    /// Watches every lock whose name starts with `prefix` ("" for all) from
    /// `startRevision` (0: the state first). No network until `next()`.
    #[napi]
    pub fn watch(&self, prefix: String, start_revision: BigInt) -> Result<NativeWatcher> {
        let start = u64_of("startRevision", &start_revision)?;
        let watcher = self.inner.watch(&prefix, start).map_err(to_napi)?;
        Ok(NativeWatcher::new(watcher))
    }

    /// The election `name` (a lock of that name). No network.
    #[napi]
    pub fn election(&self, name: String) -> Result<NativeElection> {
        let election = self.inner.election(&name).map_err(to_napi)?;
        Ok(NativeElection::new(election))
    }

    /// Admin: blacklists a session; returns the ms left until it expires.
    #[napi]
    pub async fn blacklist(&self, session_id: BigInt, reason: String) -> Result<f64> {
        let id = u64_of("sessionId", &session_id)?;
        let left = self.inner.blacklist(id, &reason).await.map_err(to_napi)?;
        Ok(millis(left))
    }

    /// Reads one lock (null if nobody holds or waits for it).
    #[napi]
    pub async fn describe(&self, name: String) -> Result<Option<LockInfo>> {
        let info = self.inner.describe(&name).await.map_err(to_napi)?;
        Ok(info.map(LockInfo::from))
    }

    /// Lists locks whose names start with `prefix`.
    #[napi]
    pub async fn list_locks(&self, prefix: String) -> Result<Vec<LockInfo>> {
        let locks = self.inner.list_locks(&prefix).await.map_err(to_napi)?;
        Ok(locks.into_iter().map(LockInfo::from).collect())
    }

    /// Lists sessions.
    #[napi]
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>> {
        let sessions = self.inner.list_sessions().await.map_err(to_napi)?;
        Ok(sessions.into_iter().map(SessionInfo::from).collect())
    }

    /// The cluster status as the leader (or any reachable node) sees it.
    #[napi]
    pub async fn status(&self) -> Result<ClusterStatus> {
        let status = self.inner.status().await.map_err(to_napi)?;
        Ok(status.into())
    }

    /// The most recent admin actions (oldest first).
    #[napi]
    pub async fn audit(&self, limit: u32) -> Result<Vec<AuditRecord>> {
        let records = self.inner.audit(limit).await.map_err(to_napi)?;
        Ok(records.into_iter().map(AuditRecord::from).collect())
    }

    /// The endpoints this client was given.
    #[napi]
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints()
    }

    /// Closes the session (its locks pass on at once, and are marked lost).
    #[napi]
    pub async fn close(&self) -> Result<()> {
        self.inner.close().await.map_err(to_napi)
    }
}

/// A session-state subscription; `cancel()` ends it.
#[napi]
pub struct NativeSubscription {
    inner: Option<tenure::Subscription>,
}

#[napi]
impl NativeSubscription {
    /// Ends the subscription (idempotent).
    #[napi]
    pub fn cancel(&mut self) {
        self.inner.take();
    }
}

/// The core's `LockScope`: `with_lock` for work that runs in JS.
#[napi]
pub struct NativeLockScope {
    inner: Arc<tenure::LockScope>,
}

#[napi]
impl NativeLockScope {
    /// The granted lock (rejects with the acquire's error if none).
    #[napi]
    pub async fn lock(&self) -> Result<NativeLock> {
        let lock = self.inner.lock().await.map_err(to_napi)?;
        Ok(NativeLock::new(lock))
    }

    /// Tells the core the work has ended.
    #[napi]
    pub fn work_done(&self) {
        self.inner.work_done();
    }

    /// The result of `with_lock` (rejects with its error).
    #[napi]
    pub async fn outcome(&self) -> Result<()> {
        self.inner.outcome().await.map_err(to_napi)
    }

    /// Withdraws the acquire or releases the lock.
    #[napi]
    pub fn cancel(&self) {
        self.inner.cancel();
    }
}
