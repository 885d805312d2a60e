//! `NativeClient`: the core's client, its session-state watch, the core's
//! `with_lock` for JS work, and the cancel token of a waiting acquire.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use futures::future::AbortHandle;
use js_sys::{Array, Function, Promise};
use tokio::sync::watch;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::election::NativeElection;
use crate::errors::{error, millis, num, promise, promise_void, to_js, to_value};
use crate::lock::NativeLock;
use crate::options::{acquire_options, client_options};
use crate::records::{AuditRecord, ClusterStatus, GrantInfo, LockInfo, PrefixMetrics, SessionInfo};
use crate::watch::NativeWatcher;

/// A one-shot cancel signal for a waiting acquire or a `withLock`. The
/// wrapper cancels it when the caller's AbortSignal fires; the call's Rust
/// future is then dropped, which makes the core withdraw a waiting acquire
/// from the server's queue (and release a lock a `withLock` holds).
#[wasm_bindgen]
pub struct CancelToken {
    tx: watch::Sender<bool>,
}

#[wasm_bindgen]
impl CancelToken {
    /// A token that has not been cancelled.
    #[wasm_bindgen(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        CancelToken {
            tx: watch::channel(false).0,
        }
    }

    /// Cancels every call given this token (idempotent).
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }
}

impl CancelToken {
    /// What a call given this token waits on.
    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.tx.subscribe()
    }
}

/// Resolves when `rx` is cancelled; never if its token is dropped uncancelled.
async fn cancelled(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs `work` unless `cancel` fires first (then CANCELLED, `work` dropped).
pub(crate) async fn unless_cancelled<T>(
    what: String,
    cancel: watch::Receiver<bool>,
    work: impl Future<Output = Result<T, JsValue>>,
) -> Result<T, JsValue> {
    tokio::select! {
        // Dropping `work` here withdraws a waiting acquire on the server
        // (the core's cancel guard) or drops a lock (released by the core).
        _ = cancelled(cancel) => Err(error(
            tenure::ErrorKind::Cancelled,
            format!("{what} was aborted"),
        )),
        r = work => r,
    }
}

/// Runs the core's acquire `work` as a JS promise of what `wrap` makes of
/// its lock(s), unless `cancel` fires first: then `work` is dropped, which
/// makes the core withdraw a waiting acquire from the server's queue (or
/// release what an `acquire_all` try got), and the promise rejects with
/// CANCELLED (`what` was aborted).
pub(crate) fn acquire_promise<T, R>(
    what: String,
    cancel: &CancelToken,
    work: impl Future<Output = tenure::Result<T>> + 'static,
    wrap: fn(T) -> R,
) -> Promise
where
    T: 'static,
    R: Into<JsValue> + 'static,
{
    let cancel = cancel.subscribe();
    promise(async move {
        let got = unless_cancelled(what, cancel, async { work.await.map_err(to_js) }).await?;
        Ok(wrap(got))
    })
}

/// One JS lock per grant, in the order of the names.
fn lock_array(locks: Vec<tenure::Lock>) -> Array {
    locks
        .into_iter()
        .map(|lock| JsValue::from(NativeLock::new(lock)))
        .collect()
}

/// Calls a JS function when dropped, unless disarmed: tells the wrapper that
/// the core dropped the work future (the lock was lost, or the call cancelled).
struct OnDrop(Option<Function>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            // An exception of the wrapper's callback has nowhere to go.
            let _ = f.call0(&JsValue::NULL);
        }
    }
}

/// The grants an admin call made or asked, as plain JS records.
fn grants(result: tenure::Result<Vec<tenure::GrantInfo>>) -> Result<JsValue, JsValue> {
    let grants = result.map_err(to_js)?;
    to_value(&grants.into_iter().map(GrantInfo::from).collect::<Vec<_>>())
}

/// Most names in one `acquireAll` (the server's limit).
#[wasm_bindgen(js_name = maxAcquireAll)]
pub fn max_acquire_all() -> u32 {
    u32::try_from(tenure::MAX_ACQUIRE_ALL).unwrap_or(u32::MAX)
}

/// A connection to a tenure cluster with one session at a time.
#[wasm_bindgen]
pub struct NativeClient {
    inner: tenure::Client,
}

/// Connects to the cluster at `endpoints` and opens a session.
#[wasm_bindgen]
pub async fn connect(
    endpoints: Vec<String>,
    #[wasm_bindgen(unchecked_param_type = "NativeClientOptions | undefined")] options: JsValue,
) -> Result<NativeClient, JsValue> {
    let options = client_options(options)?;
    let inner = tenure::Client::connect(endpoints, options)
        .await
        .map_err(to_js)?;
    Ok(NativeClient { inner })
}

/// Like `connect`, but opens no session until the first acquire (admin use).
#[wasm_bindgen(js_name = connectLazy)]
pub fn connect_lazy(
    endpoints: Vec<String>,
    #[wasm_bindgen(unchecked_param_type = "NativeClientOptions | undefined")] options: JsValue,
) -> Result<NativeClient, JsValue> {
    let options = client_options(options)?;
    let inner = tenure::Client::connect_lazy(endpoints, options).map_err(to_js)?;
    Ok(NativeClient { inner })
}

#[wasm_bindgen]
impl NativeClient {
    /// Acquires `name`. With `waitMs` waits in the server's FIFO queue; without,
    /// fails at once with LOCK_HELD. If `cancel` fires first, the acquire is
    /// withdrawn and the promise rejects with CANCELLED.
    #[wasm_bindgen(unchecked_return_type = "Promise<NativeLock>")]
    pub fn acquire(
        &self,
        name: String,
        #[wasm_bindgen(unchecked_param_type = "NativeAcquireOptions | undefined")] options: JsValue,
        cancel: &CancelToken,
    ) -> Result<Promise, JsValue> {
        let options = acquire_options(options)?;
        let client = self.inner.clone();
        let what = format!("acquire of {name:?}");
        let work = async move { client.acquire(&name, options).await };
        Ok(acquire_promise(what, cancel, work, NativeLock::new))
    }

    /// Acquires every lock of `names` at once, or none (one grant per name,
    /// in the order given). With `waitMs` waits in every name's FIFO queue at
    /// once up to that long (TIMEOUT after), holding none; without, one try
    /// (LOCK_HELD naming the first taken). If `cancel` fires first, what the
    /// try may have got is released and the promise rejects with CANCELLED.
    #[wasm_bindgen(js_name = acquireAll, unchecked_return_type = "Promise<NativeLock[]>")]
    pub fn acquire_all(
        &self,
        names: Vec<String>,
        #[wasm_bindgen(unchecked_param_type = "NativeAcquireOptions | undefined")] options: JsValue,
        cancel: &CancelToken,
    ) -> Result<Promise, JsValue> {
        let options = acquire_options(options)?;
        let client = self.inner.clone();
        let what = format!("acquireAll of {names:?}");
        let work = async move {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            client.acquire_all(&names, options).await
        };
        Ok(acquire_promise(what, cancel, work, lock_array))
    }

    /// This client's counters per lock-name prefix (no network).
    #[wasm_bindgen(unchecked_return_type = "PrefixMetrics[]")]
    pub fn metrics(&self) -> Result<JsValue, JsValue> {
        let metrics = self.inner.metrics();
        to_value(
            &metrics
                .into_iter()
                .map(PrefixMetrics::from)
                .collect::<Vec<_>>(),
        )
    }

    /// The same counters with histograms, in the Prometheus text format.
    #[wasm_bindgen(js_name = metricsText)]
    pub fn metrics_text(&self) -> String {
        self.inner.metrics_text()
    }

    /// The core's `with_lock` with JS work: acquires `name`, calls
    /// `work(lock)` (which may return a promise), waits for it or for the
    /// loss of the lock, releases the lock. If the core drops the work (the
    /// lock was lost, or `cancel` fired), `onDropped()` is called at once so
    /// that the wrapper aborts the work. Rejects with the core's error first
    /// (the acquire's, LOCK_LOST, the release's, CANCELLED), else settles as
    /// the work did (its own error is passed through untouched).
    #[wasm_bindgen(js_name = withLock, unchecked_return_type = "Promise<unknown>")]
    pub fn with_lock(
        &self,
        name: String,
        #[wasm_bindgen(unchecked_param_type = "NativeAcquireOptions | undefined")] options: JsValue,
        #[wasm_bindgen(unchecked_param_type = "(lock: NativeLock) => unknown")] work: Function,
        #[wasm_bindgen(unchecked_param_type = "() => void")] on_dropped: Function,
        cancel: &CancelToken,
    ) -> Result<Promise, JsValue> {
        let options = acquire_options(options)?;
        let client = self.inner.clone();
        let cancel = cancel.tx.subscribe();
        Ok(wasm_bindgen_futures::future_to_promise(async move {
            let what = format!("withLock of {name:?}");
            // The granted lock, to release it if the call is cancelled during
            // the work: the JS work may keep its handle (a clone) alive.
            let granted: Rc<RefCell<Option<tenure::Lock>>> = Rc::default();
            let keep = granted.clone();
            let scope = client.with_lock(&name, options, move |lock| {
                keep.replace(Some(lock.clone()));
                async move {
                    let mut dropped = OnDrop(Some(on_dropped));
                    let out = match work.call1(&JsValue::NULL, &NativeLock::new(lock).into()) {
                        Ok(value) => JsFuture::from(Promise::resolve(&value)).await,
                        Err(thrown) => Err(thrown),
                    };
                    dropped.0 = None;
                    out
                }
            });
            let out = unless_cancelled(what, cancel, async { scope.await.map_err(to_js) }).await;
            if out.is_err()
                && let Some(lock) = granted.take()
            {
                // Cancelled (or failed) while granted: free it now (idempotent).
                let _ = lock.release().await;
            }
            // The core's error first, then the work's own result.
            out?
        }))
    }

    /// The current session's id, or undefined if none is open.
    #[wasm_bindgen(js_name = sessionId, unchecked_return_type = "Promise<number | undefined>")]
    pub fn session_id(&self) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            Ok::<_, JsValue>(match client.session_id().await {
                Some(id) => JsValue::from_f64(num(id)),
                None => JsValue::UNDEFINED,
            })
        })
    }

    /// The session state: `healthy`, `jeopardy` or `expired` (no session).
    #[wasm_bindgen(js_name = sessionState)]
    pub fn session_state(&self) -> String {
        self.inner.session_state().code().to_owned()
    }

    /// Calls `callback` with every change of the session state until the
    /// returned subscription is cancelled (or freed).
    #[wasm_bindgen(js_name = onSessionState)]
    pub fn on_session_state(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(state: string) => void")] callback: Function,
    ) -> NativeSubscription {
        let mut rx = self.inner.watch_session();
        let (watch, handle) = futures::future::abortable(async move {
            while rx.changed().await.is_ok() {
                let state = *rx.borrow_and_update();
                // A throwing callback does not end the subscription.
                let _ = callback.call1(&JsValue::NULL, &JsValue::from_str(state.code()));
            }
        });
        wasm_bindgen_futures::spawn_local(async move {
            let _ = watch.await;
        });
        NativeSubscription {
            handle: Some(handle),
        }
    }

    /// The host may have paused or throttled this page or process (hidden or
    /// frozen page, resume): the core's `Client::host_paused` ends the session
    /// if its local expiry passed, else puts it in Jeopardy and renews at once.
    #[wasm_bindgen(js_name = hostPaused, unchecked_return_type = "Promise<void>")]
    pub fn host_paused(&self) -> Promise {
        let client = self.inner.clone();
        promise_void(async move {
            client.host_paused().await;
            Ok(())
        })
    }

    /// Admin: frees `name` only if `ownerId` still holds it (compare-and-swap).
    #[wasm_bindgen(js_name = forceRelease, unchecked_return_type = "Promise<GrantInfo[]>")]
    pub fn force_release(&self, name: String, owner_id: String, reason: String) -> Promise {
        let client = self.inner.clone();
        promise(async move { grants(client.force_release(&name, &owner_id, &reason).await) })
    }

    /// Asks the holders of `name` (only the grant `ownerId`, if given) to
    /// release it; frees nothing. Resolves with the grants asked.
    #[wasm_bindgen(js_name = requestRelease, unchecked_return_type = "Promise<GrantInfo[]>")]
    pub fn request_release(
        &self,
        name: String,
        owner_id: Option<String>,
        reason: String,
    ) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            grants(
                client
                    .request_release(&name, owner_id.as_deref(), &reason)
                    .await,
            )
        })
    }

    /// Watches every lock whose name starts with `prefix` ("" for all) from
    /// `startRevision` (0: the state first). No network until `next()`.
    pub fn watch(&self, prefix: String, start_revision: u64) -> Result<NativeWatcher, JsValue> {
        let watcher = self.inner.watch(&prefix, start_revision).map_err(to_js)?;
        Ok(NativeWatcher::new(watcher))
    }

    /// The election `name` (a lock of that name). No network.
    pub fn election(&self, name: String) -> Result<NativeElection, JsValue> {
        let election = self.inner.election(&name).map_err(to_js)?;
        Ok(NativeElection::new(election))
    }

    /// Admin: blacklists a session; resolves with the ms left until it expires.
    #[wasm_bindgen(unchecked_return_type = "Promise<number>")]
    pub fn blacklist(&self, session_id: u64, reason: String) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let left = client.blacklist(session_id, &reason).await.map_err(to_js)?;
            Ok(JsValue::from_f64(millis(left)))
        })
    }

    /// Reads one lock (null if nobody holds or waits for it).
    #[wasm_bindgen(unchecked_return_type = "Promise<LockInfo | null>")]
    pub fn describe(&self, name: String) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let info = client.describe(&name).await.map_err(to_js)?;
            to_value(&info.map(LockInfo::from))
        })
    }

    /// Lists locks whose names start with `prefix`.
    #[wasm_bindgen(js_name = listLocks, unchecked_return_type = "Promise<LockInfo[]>")]
    pub fn list_locks(&self, prefix: String) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let locks = client.list_locks(&prefix).await.map_err(to_js)?;
            to_value(&locks.into_iter().map(LockInfo::from).collect::<Vec<_>>())
        })
    }

    /// Lists sessions.
    #[wasm_bindgen(js_name = listSessions, unchecked_return_type = "Promise<SessionInfo[]>")]
    pub fn list_sessions(&self) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let sessions = client.list_sessions().await.map_err(to_js)?;
            to_value(
                &sessions
                    .into_iter()
                    .map(SessionInfo::from)
                    .collect::<Vec<_>>(),
            )
        })
    }

    /// The cluster status as the leader (or any reachable node) sees it.
    #[wasm_bindgen(unchecked_return_type = "Promise<ClusterStatus>")]
    pub fn status(&self) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let status = client.status().await.map_err(to_js)?;
            to_value(&ClusterStatus::from(status))
        })
    }

    /// The most recent admin actions (oldest first).
    #[wasm_bindgen(unchecked_return_type = "Promise<AuditRecord[]>")]
    pub fn audit(&self, limit: u32) -> Promise {
        let client = self.inner.clone();
        promise(async move {
            let records = client.audit(limit).await.map_err(to_js)?;
            to_value(
                &records
                    .into_iter()
                    .map(AuditRecord::from)
                    .collect::<Vec<_>>(),
            )
        })
    }

    /// The endpoints this client was given.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints()
    }

    /// Closes the session (its locks pass on at once, and are marked lost).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let client = self.inner.clone();
        promise_void(async move { client.close().await.map_err(to_js) })
    }
}

/// A session-state subscription; `cancel()` (or freeing it) ends it.
#[wasm_bindgen]
pub struct NativeSubscription {
    handle: Option<AbortHandle>,
}

#[wasm_bindgen]
impl NativeSubscription {
    /// Ends the subscription (idempotent).
    pub fn cancel(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

impl Drop for NativeSubscription {
    fn drop(&mut self) {
        self.cancel();
    }
}
