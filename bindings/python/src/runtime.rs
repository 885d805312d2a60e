//! The one tokio runtime of the extension: created lazily, owned per process
//! (fork-safe), and shut down at interpreter exit.
//!
//! - Every object made by the extension remembers the pid that made it. Used in
//!   a child after `fork()`, it raises `tenure.ForkedClientError` instead of
//!   silently sharing the parent's session (whose heartbeat threads do not exist
//!   in the child). A new client in the child gets a fresh runtime.
//! - `shutdown()` (registered with `atexit` by the Python package) closes every
//!   live client's session, best effort within a short timeout, then stops the
//!   runtime so no tokio thread is alive while CPython finalizes (a tokio thread
//!   touching the interpreter then can abort the process).
//! - The global state is only touched while the caller holds the GIL, and the
//!   GIL is never released while it is locked, so `os.fork()` (which holds the
//!   GIL) can never copy it in a locked state.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use pyo3::call::PyCallArgs;
use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, Runtime as GenericRuntime};
use tokio::runtime::{Handle, Runtime};

use crate::errors::{forked_error, shut_down_error};

/// How often a blocking call wakes up to let Python handle signals (Ctrl-C).
const SIGNAL_TICK: Duration = Duration::from_millis(50);

struct Global {
    pid: u32,
    runtime: Option<Runtime>,
    handle: Handle,
    /// Live clients, closed at exit.
    clients: Vec<Weak<tenure::Client>>,
}

static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);

/// The pid of the process whose runtime was shut down (0: none).
static SHUT_DOWN_PID: AtomicU32 = AtomicU32::new(0);

fn global() -> MutexGuard<'static, Option<Global>> {
    GLOBAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The current process id.
pub(crate) fn pid() -> u32 {
    std::process::id()
}

/// The global state of this process: a runtime inherited through `fork()` is
/// forgotten (its threads do not exist here; dropping it could hang).
fn current(g: &mut Option<Global>) -> &mut Option<Global> {
    if g.as_ref().is_some_and(|st| st.pid != pid())
        && let Some(old) = g.take()
    {
        std::mem::forget(old);
    }
    g
}

fn build() -> PyResult<Runtime> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(2, 4);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("tenure-runtime")
        .enable_all()
        .build()
        .map_err(|e| {
            pyo3::exceptions::PyRuntimeError::new_err(format!(
                "cannot start the tenure runtime: {e}"
            ))
        })
}

/// The runtime of this process, started on first use. Fails after `shutdown()`.
pub(crate) fn handle(_py: Python<'_>) -> PyResult<Handle> {
    let mut g = global();
    let g = current(&mut g);
    match g {
        Some(st) if st.runtime.is_none() => Err(shut_down_error()),
        Some(st) => Ok(st.handle.clone()),
        None => {
            let runtime = build()?;
            let handle = runtime.handle().clone();
            *g = Some(Global {
                pid: pid(),
                runtime: Some(runtime),
                handle: handle.clone(),
                clients: Vec::new(),
            });
            Ok(handle)
        }
    }
}

/// Checks that an object made in process `owner` may use the runtime now:
/// `ForkedClientError` in another process, a shut-down error after exit began.
pub(crate) fn check(owner: u32) -> PyResult<()> {
    if owner != pid() {
        return Err(forked_error());
    }
    if is_shut_down() {
        return Err(shut_down_error());
    }
    Ok(())
}

/// Whether `shutdown()` ran in this process.
fn is_shut_down() -> bool {
    SHUT_DOWN_PID.load(Ordering::SeqCst) == pid()
}

/// Remembers a client so that `shutdown()` can close its session.
pub(crate) fn register(_py: Python<'_>, client: &Arc<tenure::Client>) {
    let mut g = global();
    if let Some(st) = current(&mut g).as_mut() {
        st.clients.retain(|c| c.strong_count() > 0);
        st.clients.push(Arc::downgrade(client));
    }
}

/// In a forked child, keeps `value` (part of an object made in process
/// `owner`) from ever being freed: its cleanup (releasing a grant, closing a
/// session) belongs to the parent, whose runtime does not run here. One
/// leaked reference does it. In the owner process nothing happens: the core
/// cleans up on its own runtime wherever the last reference is dropped.
pub(crate) fn forget_in_child<T: Clone>(owner: u32, value: &T) {
    if owner != pid() {
        std::mem::forget(value.clone());
    }
}

/// A core object with the runtime it runs on and the process that made it.
/// [`Owned::parts`] checks the process (fork) and the shutdown before a call;
/// in a forked child the object is never freed (see [`forget_in_child`]).
pub(crate) struct Owned<T: Clone> {
    pid: u32,
    handle: Handle,
    inner: T,
}

impl<T: Clone> Drop for Owned<T> {
    fn drop(&mut self) {
        forget_in_child(self.pid, &self.inner);
    }
}

impl<T: Clone> Owned<T> {
    /// `inner`, made in this process on the runtime of `handle`.
    pub(crate) fn new(inner: T, handle: Handle) -> Self {
        Owned {
            pid: pid(),
            handle,
            inner,
        }
    }

    /// The object itself, for what needs no runtime (names, counters).
    pub(crate) fn get(&self) -> &T {
        &self.inner
    }

    /// The runtime and a clone of the object, after the fork and shutdown checks.
    pub(crate) fn parts(&self) -> PyResult<(Handle, T)> {
        check(self.pid)?;
        Ok((self.handle.clone(), self.inner.clone()))
    }
}

/// Closes every live client's session (best effort, within `timeout`), then
/// stops the runtime, waiting up to `timeout` for its threads. Idempotent.
pub(crate) fn shutdown(py: Python<'_>, timeout: Duration) {
    let (runtime, clients) = {
        let mut g = global();
        let Some(st) = current(&mut g).as_mut() else {
            return;
        };
        let Some(runtime) = st.runtime.take() else {
            return;
        };
        SHUT_DOWN_PID.store(pid(), Ordering::SeqCst);
        let clients: Vec<Arc<tenure::Client>> =
            st.clients.drain(..).filter_map(|c| c.upgrade()).collect();
        (runtime, clients)
    };
    py.detach(move || {
        if !clients.is_empty() {
            runtime.block_on(async {
                let mut closing = tokio::task::JoinSet::new();
                for client in &clients {
                    let client = Arc::clone(client);
                    closing.spawn(async move {
                        let _ = client.close().await;
                    });
                }
                let _ = tokio::time::timeout(timeout, closing.join_all()).await;
            });
        }
        // The clients' last references may be here: drop them inside the runtime.
        {
            let _enter = runtime.enter();
            drop(clients);
        }
        runtime.shutdown_timeout(timeout);
    });
}

/// Runs `fut` to completion on the runtime, with the GIL released. Wakes up
/// every few milliseconds to run Python signal handlers: if one raises (for
/// example KeyboardInterrupt), `fut` is dropped, which withdraws a waiting
/// acquire, and the exception propagates.
pub(crate) fn block_on<F>(py: Python<'_>, handle: &Handle, fut: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let _enter = handle.enter();
    let mut fut = std::pin::pin!(fut);
    loop {
        let step = py.detach(|| {
            handle.block_on(async { tokio::time::timeout(SIGNAL_TICK, fut.as_mut()).await })
        });
        match step {
            Ok(out) => return Ok(out),
            Err(_) => {
                py.check_signals()?;
                if is_shut_down() {
                    return Err(shut_down_error());
                }
            }
        }
    }
}

/// Turns `fut` into an asyncio awaitable of the running event loop. Cancelling
/// the awaitable drops `fut` (inside the runtime).
pub(crate) fn to_awaitable<'py, F, T>(
    py: Python<'py>,
    handle: &Handle,
    fut: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let _enter = handle.enter();
    pyo3_async_runtimes::generic::future_into_py::<TenureRuntime, F, T>(py, fut)
}

/// Runs a Python callable with `args` (a tuple: `()`, `(reason,)`) on a
/// blocking thread of the runtime (never on a worker, which must not wait for
/// the GIL), reporting its exception as unraisable.
pub(crate) fn call_soon<A>(handle: &Handle, callback: Py<PyAny>, args: A)
where
    A: for<'py> PyCallArgs<'py> + Send + 'static,
{
    handle.spawn_blocking(move || {
        Python::attach(|py| {
            let result = callback.bind(py).call1(args);
            if let Err(e) = result {
                e.write_unraisable(py, Some(callback.bind(py)));
            }
        })
    });
}

/// The runtime glue for pyo3-async-runtimes: spawns on the runtime entered by
/// the caller (see [`to_awaitable`]), or the current task's.
pub(crate) struct TenureRuntime;

tokio::task_local! {
    static TASK_LOCALS: std::cell::OnceCell<TaskLocals>;
}

impl GenericRuntime for TenureRuntime {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F>(fut: F) -> Self::JoinHandle
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(fut)
    }

    fn spawn_blocking<F>(f: F) -> Self::JoinHandle
    where
        F: FnOnce() + Send + 'static,
    {
        tokio::task::spawn_blocking(f)
    }
}

impl ContextExt for TenureRuntime {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS
            .try_with(|c| c.get().cloned())
            .unwrap_or_default()
    }
}
