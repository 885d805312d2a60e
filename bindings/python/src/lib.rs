//! `tenure._native`: the Python binding of the tenure client core (pyo3).
//!
//! Everything hard (sessions, heartbeats, client-side expiry, retries, lock
//! handles, fencing) is in the core crate `tenure`; this module converts types,
//! maps errors to the exception classes of `tenure._errors`, and bridges the
//! core's async calls to blocking calls (GIL released) and to asyncio
//! awaitables, on one tokio runtime per process (see `runtime.rs`).

mod client;
mod errors;
mod fence;
mod lock;
mod records;
mod runtime;
mod watch;

use std::time::Duration;

use pyo3::prelude::*;

/// Closes every live client's session (best effort, within `timeout` seconds)
/// and stops the runtime. Registered with `atexit` by the `tenure` package;
/// afterwards every call raises RuntimeError. Idempotent.
#[pyfunction]
#[pyo3(signature = (timeout=1.0))]
fn shutdown(py: Python<'_>, timeout: f64) -> PyResult<()> {
    let timeout = client::secs("timeout", timeout)?;
    runtime::shutdown(py, timeout.min(Duration::from_secs(60)));
    Ok(())
}

/// The native part of the `tenure` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("FENCE_HEADER", tenure::FENCE_HEADER)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("MAX_ACQUIRE_ALL", tenure::MAX_ACQUIRE_ALL)?;
    // The core's lists: the Python classes and enums are checked against them.
    m.add(
        "ERROR_CODES",
        tenure::ErrorKind::ALL.map(|k| k.code()).to_vec(),
    )?;
    m.add(
        "LOST_REASONS",
        tenure::LostReason::ALL.map(|r| r.code()).to_vec(),
    )?;
    m.add(
        "SESSION_STATES",
        tenure::SessionState::ALL.map(|s| s.code()).to_vec(),
    )?;
    m.add(
        "LOCK_MODES",
        tenure::LockMode::ALL.map(|m| m.code()).to_vec(),
    )?;
    m.add(
        "LOCK_CHANGES",
        tenure::LockChange::ALL.map(|c| c.code()).to_vec(),
    )?;
    m.add_function(wrap_pyfunction!(shutdown, m)?)?;
    m.add_class::<client::NativeOptions>()?;
    m.add_class::<client::NativeClient>()?;
    m.add_class::<client::NativeSubscription>()?;
    m.add_class::<client::NativeLockScope>()?;
    m.add_class::<lock::NativeWork>()?;
    m.add_class::<lock::NativeLock>()?;
    m.add_class::<watch::NativeWatcher>()?;
    m.add_class::<watch::NativeElection>()?;
    m.add_class::<watch::NativeObserver>()?;
    m.add_class::<fence::Fence>()?;
    m.add_class::<fence::FenceValidator>()?;
    records::add_records(m)?;
    Ok(())
}
