//! Work that runs outside Rust, in a binding's language, under a lock.
//!
//! The bindings hand such work to the core's [`Lock::run`](crate::Lock::run) and
//! [`Client::with_lock`](crate::Client::with_lock) as a [`Work`] signal, so that what counts as a loss,
//! the error it gives and the order of errors are decided here once. A binding
//! only starts its work, calls [`Work::done`] when it ends, and cancels it
//! (its language's way) when the core reports `LockLost`.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;

/// A signal that a piece of foreign work has ended. Clones share the signal.
#[derive(Debug, Clone)]
pub struct Work {
    ended: Arc<watch::Sender<bool>>,
}

impl Default for Work {
    fn default() -> Self {
        Work {
            ended: Arc::new(watch::channel(false).0),
        }
    }
}

impl Work {
    /// Work that has not ended yet.
    pub fn new() -> Work {
        Work::default()
    }

    /// Marks the work as ended (idempotent), whether it succeeded or failed:
    /// its result stays with the binding.
    pub fn done(&self) {
        self.ended.send_replace(true);
    }

    /// Resolves once [`Work::done`] is called: the future to pass to
    /// [`Lock::run`](crate::Lock::run) or [`Client::with_lock`](crate::Client::with_lock).
    pub fn finished(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut ended = self.ended.subscribe();
        async move {
            // Err: every sender is gone, so nobody can end the work any more.
            let _ = ended.wait_for(|ended| *ended).await;
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub use scope::LockScope;

/// Lock scopes run on a tokio runtime, so not on wasm, where a binding awaits
/// its host's promise inside [`Client::with_lock`](crate::Client::with_lock) itself.
#[cfg(not(target_arch = "wasm32"))]
mod scope {
    use tokio::sync::{Mutex, oneshot};
    use tokio::task::{AbortHandle, JoinHandle};

    use super::Work;
    use crate::client::Client;
    use crate::error::{Error, Result};
    use crate::lock::Lock;
    use crate::options::AcquireOptions;

    /// What [`LockScope::outcome`] reports: running, or the result of `with_lock`.
    enum Outcome {
        Running(JoinHandle<Result<()>>),
        Done(Result<()>),
    }

    /// [`Client::with_lock`] for work that runs outside Rust. The core acquires
    /// the lock and hands it out through [`LockScope::lock`]; the binding runs its
    /// work and calls [`LockScope::work_done`]; the core then releases the lock,
    /// and [`LockScope::outcome`] is `with_lock`'s result: the acquire's error, or
    /// `LockLost` if the lock was lost during the work or before the release, or
    /// the release's error. Dropping the scope (or [`LockScope::cancel`]) withdraws
    /// a waiting acquire and releases a granted lock.
    pub struct LockScope {
        work: Work,
        lock: Mutex<Option<oneshot::Receiver<Lock>>>,
        outcome: Mutex<Outcome>,
        abort: AbortHandle,
    }

    impl std::fmt::Debug for LockScope {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("LockScope").finish_non_exhaustive()
        }
    }

    impl LockScope {
        /// Starts `client.with_lock(name, options, ..)` on the current tokio runtime.
        pub(crate) fn start(
            client: &Client,
            name: &str,
            options: AcquireOptions,
        ) -> Result<LockScope> {
            let runtime = tokio::runtime::Handle::try_current()
                .map_err(|_| Error::internal("a lock scope needs a tokio runtime"))?;
            let work = Work::new();
            let (lock_tx, lock_rx) = oneshot::channel();
            let (client, name, finished) = (client.clone(), name.to_owned(), work.finished());
            let task = runtime.spawn(async move {
                client
                    .with_lock(&name, options, |lock| {
                        let _ = lock_tx.send(lock);
                        finished
                    })
                    .await
            });
            Ok(LockScope {
                work,
                lock: Mutex::new(Some(lock_rx)),
                abort: task.abort_handle(),
                outcome: Mutex::new(Outcome::Running(task)),
            })
        }

        /// The granted lock, once; the acquire's error if there is none.
        pub async fn lock(&self) -> Result<Lock> {
            let Some(rx) = self.lock.lock().await.take() else {
                return Err(Error::internal("the scope's lock was already taken"));
            };
            match rx.await {
                Ok(lock) => Ok(lock),
                // No lock was granted: the outcome says why.
                Err(_) => match self.outcome().await {
                    Err(e) => Err(e),
                    Ok(()) => Err(Error::internal("with_lock ended without a lock")),
                },
            }
        }

        /// Tells the core the work has ended (idempotent).
        pub fn work_done(&self) {
            self.work.done();
        }

        /// Waits for `with_lock` to end and returns its result (the same every call).
        pub async fn outcome(&self) -> Result<()> {
            let mut outcome = self.outcome.lock().await;
            if let Outcome::Running(task) = &mut *outcome {
                let result = match task.await {
                    Ok(result) => result,
                    Err(e) if e.is_cancelled() => Err(Error::new(
                        crate::ErrorKind::Cancelled,
                        "the lock scope was cancelled",
                    )),
                    Err(_) => Err(Error::internal("the lock scope panicked")),
                };
                *outcome = Outcome::Done(result);
            }
            match &*outcome {
                Outcome::Done(result) => result.clone(),
                Outcome::Running(_) => Err(Error::internal("the lock scope is still running")),
            }
        }

        /// Withdraws a waiting acquire, or releases the lock (without waiting for
        /// the work); the outcome becomes `Cancelled` unless it was already known.
        pub fn cancel(&self) {
            self.abort.abort();
        }
    }

    impl Drop for LockScope {
        fn drop(&mut self) {
            self.abort.abort();
        }
    }

    impl Client {
        /// Starts [`Client::with_lock`] for work that runs outside Rust (see
        /// [`LockScope`]). Must be called within a tokio runtime.
        pub fn lock_scope(&self, name: &str, options: AcquireOptions) -> Result<LockScope> {
            LockScope::start(self, name, options)
        }
    }
}
