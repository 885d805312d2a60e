//! `NativeLock`: a held lock (the core `Lock`), wrapped by `tenure.Lock` and
//! `tenure.AsyncLock`.

use pyo3::prelude::*;
use tokio::runtime::Handle;

use crate::client::secs;
use crate::errors::{IntoPy, to_py};
use crate::fence::Fence;
use crate::runtime::{block_on, call_soon, check, forget_in_child, pid, to_awaitable};

/// The stable name of a lost reason (the core's code).
fn reason_str(r: tenure::LostReason) -> &'static str {
    r.code()
}

/// The core's `Lock::revoke_requested`, ended by the end of the grant too
/// (the core's never resolves for a grant that ends unasked, and the pending
/// future would keep the lock handle alive): whether the holder was asked.
async fn revoke_requested(lock: &tenure::Lock) -> bool {
    tokio::select! {
        biased;
        () = lock.revoke_requested() => true,
        _ = lock.lost() => lock.is_revoke_requested(),
    }
}

/// A held lock. The grant is released in the background when the object is
/// garbage-collected without `release()`.
#[pyclass(frozen, module = "tenure._native")]
pub struct NativeLock {
    pid: u32,
    handle: Handle,
    inner: tenure::Lock,
}

impl Drop for NativeLock {
    fn drop(&mut self) {
        forget_in_child(self.pid, &self.inner);
    }
}

impl NativeLock {
    pub(crate) fn new(lock: tenure::Lock, handle: Handle) -> Self {
        NativeLock {
            pid: pid(),
            handle,
            inner: lock,
        }
    }

    fn parts(&self) -> PyResult<(Handle, tenure::Lock)> {
        check(self.pid)?;
        Ok((self.handle.clone(), self.inner.clone()))
    }
}

#[pymethods]
impl NativeLock {
    /// The lock's name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The fencing token of this grant.
    #[getter]
    fn fencing_token(&self) -> u64 {
        self.inner.fencing_token()
    }

    /// The fence to pass to storage.
    #[getter]
    fn fence(&self) -> Fence {
        self.inner.fence().into()
    }

    /// The grant's owner id (32 hex digits).
    #[getter]
    fn owner_id(&self) -> String {
        self.inner.owner_id()
    }

    /// "exclusive" or "shared".
    #[getter]
    fn mode(&self) -> &'static str {
        self.inner.mode().code()
    }

    /// The id of the session holding it.
    #[getter]
    fn session_id(&self) -> u64 {
        self.inner.session_id()
    }

    /// Whether the lock is still held, judged locally (no network).
    fn is_held(&self) -> PyResult<bool> {
        check(self.pid)?;
        Ok(self.inner.is_held())
    }

    /// Seconds the lock is certainly held without a further renewal (0 once lost).
    fn remaining(&self) -> PyResult<f64> {
        check(self.pid)?;
        Ok(self.inner.remaining().as_secs_f64())
    }

    /// Why the lock is no longer held, or None while it is.
    fn lost_reason(&self) -> PyResult<Option<&'static str>> {
        check(self.pid)?;
        Ok(self.inner.lost_reason().map(reason_str))
    }

    /// Releases the lock (blocking; idempotent).
    fn release(&self, py: Python<'_>) -> PyResult<()> {
        let (handle, lock) = self.parts()?;
        block_on(py, &handle, async move { lock.release().await })?.py()
    }

    /// `release`, as an awaitable.
    fn release_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, lock) = self.parts()?;
        to_awaitable(
            py,
            &handle,
            async move { lock.release().await.map_err(to_py) },
        )
    }

    /// Ends a `with` block: releases the lock, and raises `LockLost` if it was
    /// lost before (the core's `Lock::finish`).
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        let (handle, lock) = self.parts()?;
        block_on(py, &handle, async move { lock.finish().await })?.py()
    }

    /// `finish`, as an awaitable.
    fn finish_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, lock) = self.parts()?;
        to_awaitable(
            py,
            &handle,
            async move { lock.finish().await.map_err(to_py) },
        )
    }

    /// Resolves once `work` is done, or raises `LockLost` if the lock is lost
    /// first (the core's `Lock::run`); the caller then cancels its work.
    fn run_async<'py>(&self, py: Python<'py>, work: &NativeWork) -> PyResult<Bound<'py, PyAny>> {
        let (handle, lock) = self.parts()?;
        let finished = work.inner.finished();
        to_awaitable(py, &handle, async move {
            lock.run(finished).await.map_err(to_py)
        })
    }

    /// Waits (blocking, GIL released) until the lock is lost or released and
    /// returns the reason, or None if `timeout` seconds pass first.
    #[pyo3(signature = (timeout=None))]
    fn lost(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<&'static str>> {
        let timeout = timeout.map(|t| secs("timeout", t)).transpose()?;
        let (handle, lock) = self.parts()?;
        let reason = block_on(py, &handle, async move {
            match timeout {
                Some(t) => tokio::time::timeout(t, lock.lost()).await.ok(),
                None => Some(lock.lost().await),
            }
        })?;
        Ok(reason.map(reason_str))
    }

    /// `lost` without a timeout, as an awaitable of the reason.
    fn lost_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, lock) = self.parts()?;
        to_awaitable(
            py,
            &handle,
            async move { Ok(reason_str(lock.lost().await)) },
        )
    }

    /// Calls `callback(reason)` (a str) once, on a background thread, when the
    /// lock is lost or released (soon, if it already is).
    fn on_lost(&self, callback: Py<PyAny>) -> PyResult<()> {
        let (handle, lock) = self.parts()?;
        let h = handle.clone();
        lock.on_lost(move |reason| call_soon(&h, callback, (reason_str(reason),)));
        Ok(())
    }

    /// Replaces the grant's value (blocking): what describe, list and
    /// watches show; an elected leader proclaims this way. `LockLost` if the
    /// grant is no longer held.
    fn set_value(&self, py: Python<'_>, value: String) -> PyResult<()> {
        let (handle, lock) = self.parts()?;
        block_on(py, &handle, async move { lock.set_value(&value).await })?.py()
    }

    /// `set_value`, as an awaitable.
    fn set_value_async<'py>(&self, py: Python<'py>, value: String) -> PyResult<Bound<'py, PyAny>> {
        let (handle, lock) = self.parts()?;
        to_awaitable(py, &handle, async move {
            lock.set_value(&value).await.map_err(to_py)
        })
    }

    /// Whether someone asked this holder to release the lock (no network;
    /// advisory: the lock stays held until released).
    fn is_revoke_requested(&self) -> PyResult<bool> {
        check(self.pid)?;
        Ok(self.inner.is_revoke_requested())
    }

    /// Waits (blocking, GIL released) until someone asks this holder to
    /// release the lock: True; False if the lock is lost or released unasked,
    /// or `timeout` seconds pass first.
    #[pyo3(signature = (timeout=None))]
    fn wait_revoke_requested(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        let timeout = timeout.map(|t| secs("timeout", t)).transpose()?;
        let (handle, lock) = self.parts()?;
        block_on(py, &handle, async move {
            match timeout {
                Some(t) => tokio::time::timeout(t, revoke_requested(&lock))
                    .await
                    .unwrap_or(false),
                None => revoke_requested(&lock).await,
            }
        })
    }

    /// `wait_revoke_requested` without a timeout, as an awaitable of the bool.
    fn wait_revoke_requested_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, lock) = self.parts()?;
        to_awaitable(
            py,
            &handle,
            async move { Ok(revoke_requested(&lock).await) },
        )
    }

    /// Calls `callback()` once, on a background thread, when someone asks this
    /// holder to release the lock (soon, if someone already has).
    fn on_revoke_requested(&self, callback: Py<PyAny>) -> PyResult<()> {
        let (handle, lock) = self.parts()?;
        let h = handle.clone();
        lock.on_revoke_requested(move || call_soon(&h, callback, ()));
        Ok(())
    }
}

/// A signal that Python work under a lock has ended (the core's `Work`).
#[pyclass(frozen, module = "tenure._native")]
#[derive(Default)]
pub struct NativeWork {
    inner: tenure::Work,
}

#[pymethods]
impl NativeWork {
    /// Work that has not ended yet.
    #[new]
    fn new() -> Self {
        NativeWork::default()
    }

    /// Marks the work as ended (idempotent).
    fn done(&self) {
        self.inner.done();
    }
}
