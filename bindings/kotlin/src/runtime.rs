//! The binding's tokio runtime and the async bridge.
//!
//! The core is async on tokio and has no global runtime. This crate owns one
//! multi-threaded tokio runtime (two workers, threads named `tenure-ffi`) and
//! runs every async call of the core as a task on it. An exported `async fn`
//! becomes a Kotlin `suspend fun`; its uniffi future only awaits the task. When
//! the Kotlin coroutine is cancelled, uniffi drops that future, which aborts the
//! task, which drops the core's future on the runtime: a waiting acquire is then
//! withdrawn from the server's queue by the core (its cancel guard).
//!
//! Running the core's futures on our own runtime (rather than polling them on
//! JVM threads inside `async_compat`, which is what `async_runtime = "tokio"`
//! does) keeps JVM dispatcher threads free of tokio work.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use crate::errors::NativeError;

/// The binding's tokio runtime, started on first use.
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime, NativeError> {
    static RT: OnceLock<std::io::Result<tokio::runtime::Runtime>> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tenure-ffi")
            .enable_all()
            .build()
    })
    .as_ref()
    .map_err(|e| NativeError::Internal {
        message: format!("cannot start the tenure-ffi tokio runtime: {e}"),
    })
}

/// A task handle that aborts the task when dropped (the Kotlin coroutine was
/// cancelled and uniffi dropped our future).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Runs `fut` as a task on the binding's runtime and waits for it; dropping the
/// returned future aborts the task.
pub(crate) async fn spawn<T, F>(fut: F) -> Result<T, NativeError>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    match AbortOnDrop(runtime()?.spawn(fut)).await {
        Ok(out) => Ok(out),
        Err(e) if e.is_panic() => Err(NativeError::Internal {
            message: "the tenure client panicked".into(),
        }),
        Err(_) => Err(NativeError::Cancelled {
            message: "the call was cancelled".into(),
        }),
    }
}

/// [`spawn`] for a fallible core call.
pub(crate) async fn call<T, F>(fut: F) -> Result<T, NativeError>
where
    F: Future<Output = tenure::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    spawn(fut).await?.map_err(NativeError::from)
}

/// Runs `f` inside the runtime's context (the core spawns its background
/// tasks, a subscription's or a lazy client's, on the current runtime).
pub(crate) fn entered<T>(f: impl FnOnce() -> T) -> Result<T, NativeError> {
    let _guard = runtime()?.enter();
    Ok(f())
}
