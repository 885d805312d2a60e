//! `NativeClient`: the core `Client` with a blocking and an asyncio flavour of
//! every call. The public classes `tenure.Client` and `tenure.AsyncClient` are
//! thin Python wrappers of it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Handle;

use crate::errors::{IntoPy, invalid, to_py};
use crate::lock::NativeLock;
use crate::records::{AuditRecord, ClusterStatus, GrantInfo, LockInfo, PrefixMetrics, SessionInfo};
use crate::runtime::{self, block_on, check, forget_in_child, pid, to_awaitable};
use crate::watch::{NativeElection, NativeWatcher};

/// Seconds (a float) as a Duration, rejecting negative, NaN and huge values.
pub(crate) fn secs(what: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        invalid(format!(
            "{what} must be a finite number of seconds >= 0, got {value}"
        ))
    })
}

/// The stable name of a session state (the core's code).
fn state_str(s: tenure::SessionState) -> &'static str {
    s.code()
}

/// Client options (see `tenure.Client` for their meaning); None keeps the
/// core's default. With `use_env` (the core's default) connecting reads what
/// is unset from the environment, by the core's rule.
#[pyclass(frozen, module = "tenure._native")]
pub struct NativeOptions {
    inner: tenure::ClientOptions,
}

#[pymethods]
impl NativeOptions {
    /// Builds and checks the options.
    #[new]
    #[pyo3(signature = (*, ttl=None, keepalive_interval=None, drift=None, margin=None,
        call_timeout=None, attempt_timeout=None, initial_backoff=None, max_backoff=None,
        label=None, token=None, ca_file=None, cert_file=None, key_file=None, server_name=None,
        use_env=true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        ttl: Option<f64>,
        keepalive_interval: Option<f64>,
        drift: Option<f64>,
        margin: Option<f64>,
        call_timeout: Option<f64>,
        attempt_timeout: Option<f64>,
        initial_backoff: Option<f64>,
        max_backoff: Option<f64>,
        label: Option<String>,
        token: Option<String>,
        ca_file: Option<PathBuf>,
        cert_file: Option<PathBuf>,
        key_file: Option<PathBuf>,
        server_name: Option<String>,
        use_env: bool,
    ) -> PyResult<Self> {
        let mut o = tenure::ClientOptions::default();
        if let Some(v) = ttl {
            o.ttl = secs("ttl", v)?;
        }
        if let Some(v) = keepalive_interval {
            o.keepalive_interval = Some(secs("keepalive_interval", v)?);
        }
        if let Some(v) = drift {
            o.drift = v;
        }
        if let Some(v) = margin {
            o.margin = secs("margin", v)?;
        }
        if let Some(v) = call_timeout {
            o.call_timeout = secs("call_timeout", v)?;
        }
        if let Some(v) = attempt_timeout {
            o.attempt_timeout = secs("attempt_timeout", v)?;
        }
        if let Some(v) = initial_backoff {
            o.initial_backoff = secs("initial_backoff", v)?;
        }
        if let Some(v) = max_backoff {
            o.max_backoff = secs("max_backoff", v)?;
        }
        o.label = label;
        o.token = token;
        if ca_file.is_some() || cert_file.is_some() || key_file.is_some() || server_name.is_some() {
            o.tls = Some(tenure::TlsOptions {
                ca_file,
                cert_file,
                key_file,
                server_name,
            });
        }
        o.use_env = use_env;
        o.validate().py()?;
        Ok(NativeOptions { inner: o })
    }

    /// The session TTL in seconds.
    #[getter]
    fn ttl(&self) -> f64 {
        self.inner.ttl.as_secs_f64()
    }
}

/// A connection to a tenure cluster (one session at a time).
#[pyclass(frozen, module = "tenure._native")]
pub struct NativeClient {
    pid: u32,
    handle: Handle,
    inner: Arc<tenure::Client>,
    /// Session-state subscriptions: they last as long as the client unless
    /// cancelled (Python drops its Subscription objects freely).
    subscriptions: Mutex<Vec<Arc<SubscriptionSlot>>>,
}

/// A core subscription, until cancelled.
type SubscriptionSlot = Mutex<Option<tenure::Subscription>>;

impl Drop for NativeClient {
    fn drop(&mut self) {
        forget_in_child(self.pid, &self.inner);
    }
}

/// A client made on the runtime, registered for the exit-time close when it
/// becomes a Python object.
struct NewClient(tenure::Client, Handle);

impl<'py> IntoPyObject<'py> for NewClient {
    type Target = NativeClient;
    type Output = Bound<'py, NativeClient>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let inner = Arc::new(self.0);
        runtime::register(py, &inner);
        Bound::new(
            py,
            NativeClient {
                pid: pid(),
                handle: self.1,
                inner,
                subscriptions: Mutex::new(Vec::new()),
            },
        )
    }
}

fn acquire_options(
    wait: Option<f64>,
    shared: bool,
    lock_delay: f64,
    value: String,
    permits: Option<(u32, u32)>,
) -> PyResult<tenure::AcquireOptions> {
    let (count, limit) = permits.unwrap_or_default();
    Ok(tenure::AcquireOptions {
        mode: if permits.is_some() {
            tenure::LockMode::Permits
        } else if shared {
            tenure::LockMode::Shared
        } else {
            tenure::LockMode::Exclusive
        },
        wait: wait.map(|w| secs("timeout", w)).transpose()?,
        lock_delay: secs("lock_delay", lock_delay)?,
        value,
        permits: count,
        permit_limit: limit,
    })
}

impl NativeClient {
    /// The runtime and the core client, after the fork and shutdown checks.
    fn parts(&self) -> PyResult<(Handle, tenure::Client)> {
        check(self.pid)?;
        Ok((self.handle.clone(), self.inner.as_ref().clone()))
    }

    /// The core's `acquire_all` of `names` as a future of lock handles (for
    /// the blocking and the asyncio call), with the runtime to run it on.
    /// Dropping the future (Ctrl-C, a cancelled awaitable) is the core's
    /// cancel: what the server may have granted is released in the background.
    fn acquiring_all(
        &self,
        names: Vec<String>,
        wait: Option<f64>,
        shared: bool,
        lock_delay: f64,
        value: String,
    ) -> PyResult<(
        Handle,
        impl Future<Output = PyResult<Vec<NativeLock>>> + Send + 'static,
    )> {
        let options = acquire_options(wait, shared, lock_delay, value, None)?;
        let (handle, client) = self.parts()?;
        let h = handle.clone();
        Ok((handle, async move {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let locks = client.acquire_all(&names, options).await.map_err(to_py)?;
            Ok(locks
                .into_iter()
                .map(|lock| NativeLock::new(lock, h.clone()))
                .collect())
        }))
    }
}

#[pymethods]
impl NativeClient {
    /// Connects to `endpoints` and opens a session (blocking; with `lazy`, opens
    /// no session until the first acquire and does no I/O).
    #[staticmethod]
    #[pyo3(signature = (endpoints, options, lazy=false))]
    fn connect<'py>(
        py: Python<'py>,
        endpoints: Vec<String>,
        options: &NativeOptions,
        lazy: bool,
    ) -> PyResult<Bound<'py, NativeClient>> {
        let handle = runtime::handle(py)?;
        let opts = options.inner.clone();
        let client = if lazy {
            let _enter = handle.enter();
            tenure::Client::connect_lazy(endpoints, opts).py()?
        } else {
            block_on(py, &handle, tenure::Client::connect(endpoints, opts))?.py()?
        };
        NewClient(client, handle).into_pyobject(py)
    }

    /// Like `connect` (not lazy), as an awaitable.
    #[staticmethod]
    fn connect_async<'py>(
        py: Python<'py>,
        endpoints: Vec<String>,
        options: &NativeOptions,
    ) -> PyResult<Bound<'py, PyAny>> {
        let handle = runtime::handle(py)?;
        let opts = options.inner.clone();
        let h = handle.clone();
        to_awaitable(py, &handle, async move {
            let client = tenure::Client::connect(endpoints, opts)
                .await
                .map_err(to_py)?;
            Ok(NewClient(client, h))
        })
    }

    /// Acquires `name` (blocking, GIL released). `wait` None tries once.
    #[pyo3(signature = (name, wait=None, shared=false, lock_delay=0.0, value=String::new(), permits=None))]
    // One Python keyword argument each, as the Python API takes them.
    #[allow(clippy::too_many_arguments)]
    fn acquire(
        &self,
        py: Python<'_>,
        name: String,
        wait: Option<f64>,
        shared: bool,
        lock_delay: f64,
        value: String,
        permits: Option<(u32, u32)>,
    ) -> PyResult<NativeLock> {
        let options = acquire_options(wait, shared, lock_delay, value, permits)?;
        let (handle, client) = self.parts()?;
        let lock = block_on(
            py,
            &handle,
            async move { client.acquire(&name, options).await },
        )?
        .py()?;
        Ok(NativeLock::new(lock, handle))
    }

    /// Acquires `name`, as an awaitable; cancelling it withdraws the acquire.
    #[pyo3(signature = (name, wait=None, shared=false, lock_delay=0.0, value=String::new(), permits=None))]
    // One Python keyword argument each, as the Python API takes them.
    #[allow(clippy::too_many_arguments)]
    fn acquire_async<'py>(
        &self,
        py: Python<'py>,
        name: String,
        wait: Option<f64>,
        shared: bool,
        lock_delay: f64,
        value: String,
        permits: Option<(u32, u32)>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = acquire_options(wait, shared, lock_delay, value, permits)?;
        let (handle, client) = self.parts()?;
        let h = handle.clone();
        to_awaitable(py, &handle, async move {
            let lock = client.acquire(&name, options).await.map_err(to_py)?;
            Ok(NativeLock::new(lock, h))
        })
    }

    /// Acquires every lock of `names` at once or none (blocking, GIL
    /// released): one lock per name, in the order given. `wait` None tries
    /// once (`LockHeld`); otherwise retries until the wait runs out (`Timeout`).
    #[pyo3(signature = (names, wait=None, shared=false, lock_delay=0.0, value=String::new()))]
    fn acquire_all(
        &self,
        py: Python<'_>,
        names: Vec<String>,
        wait: Option<f64>,
        shared: bool,
        lock_delay: f64,
        value: String,
    ) -> PyResult<Vec<NativeLock>> {
        let (handle, acquiring) = self.acquiring_all(names, wait, shared, lock_delay, value)?;
        block_on(py, &handle, acquiring)?
    }

    /// `acquire_all`, as an awaitable; cancelling it releases (in the
    /// background) whatever the call may have been granted.
    #[pyo3(signature = (names, wait=None, shared=false, lock_delay=0.0, value=String::new()))]
    fn acquire_all_async<'py>(
        &self,
        py: Python<'py>,
        names: Vec<String>,
        wait: Option<f64>,
        shared: bool,
        lock_delay: f64,
        value: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (handle, acquiring) = self.acquiring_all(names, wait, shared, lock_delay, value)?;
        to_awaitable(py, &handle, acquiring)
    }

    /// Closes the session (its locks pass on at once; they report `client_closed`).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let (handle, client) = self.parts()?;
        block_on(py, &handle, async move { client.close().await })?.py()
    }

    /// `close`, as an awaitable.
    fn close_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(
            py,
            &handle,
            async move { client.close().await.map_err(to_py) },
        )
    }

    /// The current session's id, or None.
    fn session_id(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        let (handle, client) = self.parts()?;
        block_on(py, &handle, async move { client.session_id().await })
    }

    /// `session_id`, as an awaitable.
    fn session_id_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(py, &handle, async move { Ok(client.session_id().await) })
    }

    /// The session state: "healthy", "jeopardy" or "expired" (no network).
    fn session_state(&self) -> PyResult<&'static str> {
        let (_, client) = self.parts()?;
        Ok(state_str(client.session_state()))
    }

    /// Calls `callback(state)` (a str) on a background thread for every change
    /// of the session state, in order, until cancelled or the client is gone.
    fn on_session_state(&self, callback: Py<PyAny>) -> PyResult<NativeSubscription> {
        let (handle, client) = self.parts()?;
        let _enter = handle.enter();
        // The core's task calls this in order; the worker hands its other
        // tasks off while it waits for the GIL.
        let sub = client.on_session_state(move |state| {
            tokio::task::block_in_place(|| {
                Python::attach(|py| {
                    if let Err(e) = callback.bind(py).call1((state_str(state),)) {
                        e.write_unraisable(py, Some(callback.bind(py)));
                    }
                })
            })
        });
        let slot = Arc::new(Mutex::new(Some(sub)));
        let mut subs = self.subscriptions.lock().unwrap_or_else(|e| e.into_inner());
        subs.retain(|s| s.lock().map(|s| s.is_some()).unwrap_or(false));
        subs.push(slot.clone());
        Ok(NativeSubscription {
            slot: Arc::downgrade(&slot),
        })
    }

    /// Starts the core's `with_lock` for Python work (see `AsyncClient.with_lock`).
    #[pyo3(signature = (name, wait=None, shared=false, lock_delay=0.0, value=String::new(), permits=None))]
    fn lock_scope(
        &self,
        name: String,
        wait: Option<f64>,
        shared: bool,
        lock_delay: f64,
        value: String,
        permits: Option<(u32, u32)>,
    ) -> PyResult<NativeLockScope> {
        let options = acquire_options(wait, shared, lock_delay, value, permits)?;
        let (handle, client) = self.parts()?;
        let _enter = handle.enter();
        let scope = client.lock_scope(&name, options).py()?;
        Ok(NativeLockScope {
            pid: pid(),
            handle: handle.clone(),
            inner: Arc::new(scope),
        })
    }

    /// The endpoints given at connect time.
    fn endpoints(&self) -> PyResult<Vec<String>> {
        let (_, client) = self.parts()?;
        Ok(client.endpoints())
    }

    /// This client's counters per lock-name prefix (local, no network).
    fn metrics(&self) -> PyResult<Vec<PrefixMetrics>> {
        let (_, client) = self.parts()?;
        Ok(client
            .metrics()
            .into_iter()
            .map(PrefixMetrics::from)
            .collect())
    }

    /// The same counters with wait and hold histograms, in the Prometheus
    /// text format (local, no network).
    fn metrics_text(&self) -> PyResult<String> {
        let (_, client) = self.parts()?;
        Ok(client.metrics_text())
    }

    /// Watches every lock under `prefix` ("" for all) from `start_revision`
    /// (0: the current state first). No network until the first `next`.
    #[pyo3(signature = (prefix=String::new(), start_revision=0))]
    fn watch(&self, prefix: String, start_revision: u64) -> PyResult<NativeWatcher> {
        let (handle, client) = self.parts()?;
        let watcher = client.watch(&prefix, start_revision).py()?;
        Ok(NativeWatcher::new(watcher, handle))
    }

    /// The election of `name` (a lock of that name). No network.
    fn election(&self, name: String) -> PyResult<NativeElection> {
        let (handle, client) = self.parts()?;
        let election = client.election(&name).py()?;
        Ok(NativeElection::new(election, handle))
    }

    /// Admin: frees `name` only if `owner_id` still holds it.
    #[pyo3(signature = (name, owner_id, reason=String::new()))]
    fn force_release(
        &self,
        py: Python<'_>,
        name: String,
        owner_id: String,
        reason: String,
    ) -> PyResult<Vec<GrantInfo>> {
        let (handle, client) = self.parts()?;
        let grants = block_on(py, &handle, async move {
            client.force_release(&name, &owner_id, &reason).await
        })?
        .py()?;
        Ok(grants.into_iter().map(GrantInfo::from).collect())
    }

    /// `force_release`, as an awaitable.
    #[pyo3(signature = (name, owner_id, reason=String::new()))]
    fn force_release_async<'py>(
        &self,
        py: Python<'py>,
        name: String,
        owner_id: String,
        reason: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(py, &handle, async move {
            let grants = client
                .force_release(&name, &owner_id, &reason)
                .await
                .map_err(to_py)?;
            Ok(grants.into_iter().map(GrantInfo::from).collect::<Vec<_>>())
        })
    }

    /// Asks the holders of `name` (only the grant `owner_id`, if given) to
    /// release it; returns the grants asked. Frees nothing.
    #[pyo3(signature = (name, owner_id=None, reason=String::new()))]
    fn request_release(
        &self,
        py: Python<'_>,
        name: String,
        owner_id: Option<String>,
        reason: String,
    ) -> PyResult<Vec<GrantInfo>> {
        let (handle, client) = self.parts()?;
        let grants = block_on(py, &handle, async move {
            client
                .request_release(&name, owner_id.as_deref(), &reason)
                .await
        })?
        .py()?;
        Ok(grants.into_iter().map(GrantInfo::from).collect())
    }

    /// `request_release`, as an awaitable.
    #[pyo3(signature = (name, owner_id=None, reason=String::new()))]
    fn request_release_async<'py>(
        &self,
        py: Python<'py>,
        name: String,
        owner_id: Option<String>,
        reason: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(py, &handle, async move {
            let grants = client
                .request_release(&name, owner_id.as_deref(), &reason)
                .await
                .map_err(to_py)?;
            Ok(grants.into_iter().map(GrantInfo::from).collect::<Vec<_>>())
        })
    }

    /// Admin: blacklists a session; returns the seconds until it expires.
    #[pyo3(signature = (session_id, reason=String::new()))]
    fn blacklist(&self, py: Python<'_>, session_id: u64, reason: String) -> PyResult<f64> {
        let (handle, client) = self.parts()?;
        let left = block_on(py, &handle, async move {
            client.blacklist(session_id, &reason).await
        })?
        .py()?;
        Ok(left.as_secs_f64())
    }

    /// `blacklist`, as an awaitable.
    #[pyo3(signature = (session_id, reason=String::new()))]
    fn blacklist_async<'py>(
        &self,
        py: Python<'py>,
        session_id: u64,
        reason: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(py, &handle, async move {
            let left = client.blacklist(session_id, &reason).await.map_err(to_py)?;
            Ok(left.as_secs_f64())
        })
    }

    /// Reads one lock (None if nobody holds or waits for it).
    fn describe(&self, py: Python<'_>, name: String) -> PyResult<Option<LockInfo>> {
        let (handle, client) = self.parts()?;
        let info = block_on(py, &handle, async move { client.describe(&name).await })?.py()?;
        Ok(info.map(LockInfo::from))
    }

    /// `describe`, as an awaitable.
    fn describe_async<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(py, &handle, async move {
            Ok(client
                .describe(&name)
                .await
                .map_err(to_py)?
                .map(LockInfo::from))
        })
    }

    /// Lists the locks whose names start with `prefix`.
    #[pyo3(signature = (prefix=String::new()))]
    fn list_locks(&self, py: Python<'_>, prefix: String) -> PyResult<Vec<LockInfo>> {
        let (handle, client) = self.parts()?;
        let locks = block_on(py, &handle, async move { client.list_locks(&prefix).await })?.py()?;
        Ok(locks.into_iter().map(LockInfo::from).collect())
    }

    /// `list_locks`, as an awaitable.
    #[pyo3(signature = (prefix=String::new()))]
    fn list_locks_async<'py>(
        &self,
        py: Python<'py>,
        prefix: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(py, &handle, async move {
            let locks = client.list_locks(&prefix).await.map_err(to_py)?;
            Ok(locks.into_iter().map(LockInfo::from).collect::<Vec<_>>())
        })
    }

    /// Lists the live sessions.
    fn list_sessions(&self, py: Python<'_>) -> PyResult<Vec<SessionInfo>> {
        let (handle, client) = self.parts()?;
        let sessions = block_on(py, &handle, async move { client.list_sessions().await })?.py()?;
        Ok(sessions.into_iter().map(SessionInfo::from).collect())
    }

    /// `list_sessions`, as an awaitable.
    fn list_sessions_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(py, &handle, async move {
            let sessions = client.list_sessions().await.map_err(to_py)?;
            Ok(sessions
                .into_iter()
                .map(SessionInfo::from)
                .collect::<Vec<_>>())
        })
    }

    /// The cluster status.
    fn status(&self, py: Python<'_>) -> PyResult<ClusterStatus> {
        let (handle, client) = self.parts()?;
        let status = block_on(py, &handle, async move { client.status().await })?.py()?;
        Ok(status.into())
    }

    /// `status`, as an awaitable.
    fn status_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(py, &handle, async move {
            Ok(ClusterStatus::from(client.status().await.map_err(to_py)?))
        })
    }

    /// The most recent admin actions, oldest first.
    #[pyo3(signature = (limit=100))]
    fn audit(&self, py: Python<'_>, limit: u32) -> PyResult<Vec<AuditRecord>> {
        let (handle, client) = self.parts()?;
        let records = block_on(py, &handle, async move { client.audit(limit).await })?.py()?;
        Ok(records.into_iter().map(AuditRecord::from).collect())
    }

    /// `audit`, as an awaitable.
    #[pyo3(signature = (limit=100))]
    fn audit_async<'py>(&self, py: Python<'py>, limit: u32) -> PyResult<Bound<'py, PyAny>> {
        let (handle, client) = self.parts()?;
        to_awaitable(py, &handle, async move {
            let records = client.audit(limit).await.map_err(to_py)?;
            Ok(records
                .into_iter()
                .map(AuditRecord::from)
                .collect::<Vec<_>>())
        })
    }
}

/// A session-state callback registration (the core's `Subscription`, kept
/// by its client).
#[pyclass(frozen, module = "tenure._native")]
pub struct NativeSubscription {
    slot: std::sync::Weak<SubscriptionSlot>,
}

#[pymethods]
impl NativeSubscription {
    /// Stops the callbacks (idempotent).
    fn cancel(&self) {
        if let Some(slot) = self.slot.upgrade() {
            slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
    }

    /// Whether `cancel()` was called or the client is gone.
    fn cancelled(&self) -> bool {
        self.slot
            .upgrade()
            .is_none_or(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).is_none())
    }
}

/// The core's `LockScope`: `with_lock` for work that runs in Python.
#[pyclass(frozen, module = "tenure._native")]
pub struct NativeLockScope {
    pid: u32,
    handle: Handle,
    inner: Arc<tenure::LockScope>,
}

#[pymethods]
impl NativeLockScope {
    /// The granted lock, as an awaitable (the acquire's error if none).
    fn lock_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        check(self.pid)?;
        let (scope, h) = (self.inner.clone(), self.handle.clone());
        to_awaitable(py, &self.handle, async move {
            let lock = scope.lock().await.map_err(to_py)?;
            Ok(NativeLock::new(lock, h))
        })
    }

    /// Tells the core the work has ended.
    fn work_done(&self) {
        self.inner.work_done();
    }

    /// The result of `with_lock`, as an awaitable.
    fn outcome_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        check(self.pid)?;
        let scope = self.inner.clone();
        to_awaitable(py, &self.handle, async move {
            scope.outcome().await.map_err(to_py)
        })
    }

    /// Withdraws the acquire or releases the lock.
    fn cancel(&self) {
        self.inner.cancel();
    }
}
