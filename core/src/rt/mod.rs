//! The seam between the core and its host: time, timers, spawning and the
//! transport. Everything else in the core (the session loop, expiry
//! arithmetic, retries, lock handles, fences) is written once against this
//! module and compiles unchanged for native targets and for
//! `wasm32-unknown-unknown`:
//!
//! | | native | wasm32 (browsers, workers, Node, Deno) |
//! |---|---|---|
//! | monotonic time, timers | tokio | `performance.now()` (wasmtimer), `setTimeout` |
//! | tasks | the tokio runtime the client was made on | the JS event loop (`spawn_local`) |
//! | transport | gRPC over HTTP/2 (tonic) | gRPC-web over `fetch` |
//! | keepalive | one bidirectional stream per node | unary `Renew` calls |
//!
//! The boot clock the expiry decisions read is in [`crate::clock`].

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub(crate) use native::*;

#[cfg(target_arch = "wasm32")]
mod web;
#[cfg(target_arch = "wasm32")]
pub(crate) use web::*;

/// A point in the host's monotonic time (tokio's on native targets,
/// `performance.now()` on wasm): what [`crate::Lock::local_expiry`] returns.
#[cfg(not(target_arch = "wasm32"))]
pub type Instant = tokio::time::Instant;
/// A point in the host's monotonic time (tokio's on native targets,
/// `performance.now()` on wasm): what [`crate::Lock::local_expiry`] returns.
#[cfg(target_arch = "wasm32")]
pub type Instant = wasmtimer::std::Instant;

/// A spawned background task; [`Task::abort`] (or dropping the owner that
/// calls it) stops it at its next await point.
#[derive(Debug)]
pub(crate) struct Task(futures::future::AbortHandle);

impl Task {
    /// Stops the task.
    pub(crate) fn abort(&self) {
        self.0.abort();
    }
}
