//! Watches and elections: `NativeWatcher` (the core's `Watcher`),
//! `NativeElection` (the core's `Election`) and `NativeObserver` (its
//! `Observer`), wrapped by `tenure.Watcher`, `tenure.Election`,
//! `tenure.Observer` and their asyncio forms.
//!
//! A watcher and an observer are both a feed: `next` waits for the next item
//! (blocking with an optional timeout, or as an awaitable), `close` ends a
//! waiting `next` and every later one with `Cancelled`. The Python layer turns
//! that `Cancelled` after `close` into the end of iteration.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Handle;

use crate::client::secs;
use crate::errors::{IntoPy, to_py};
use crate::lock::NativeLock;
use crate::records::{Leader, WatchBatch};
use crate::runtime::{Owned, block_on, to_awaitable};

/// A core stream of items that `next` waits for and `close` ends.
pub(crate) trait Source: Clone + Send + Sync + 'static {
    /// The Python form of an item.
    type Item: for<'py> IntoPyObject<'py> + Send + 'static;
    /// What the item is, for the timeout's message.
    const WHAT: &'static str;
    /// The next item (`Cancelled` after `close`).
    fn next_item(&self) -> impl Future<Output = tenure::Result<Self::Item>> + Send;
    /// Ends a waiting `next_item` and every later one.
    fn close(&self);
}

impl Source for tenure::Watcher {
    type Item = WatchBatch;
    const WHAT: &'static str = "watch batch";

    async fn next_item(&self) -> tenure::Result<WatchBatch> {
        self.next().await.map(WatchBatch::from)
    }

    fn close(&self) {
        tenure::Watcher::close(self);
    }
}

/// An observer with the name of its election (the core's has none to show).
#[derive(Clone)]
pub(crate) struct Observing {
    name: String,
    observer: tenure::Observer,
}

impl Source for Observing {
    type Item = Option<Leader>;
    const WHAT: &'static str = "leader change";

    async fn next_item(&self) -> tenure::Result<Option<Leader>> {
        self.observer.next().await.map(|l| l.map(Leader::from))
    }

    fn close(&self) {
        self.observer.close();
    }
}

/// A core source on its runtime, and whether `close` was called.
pub(crate) struct Feed<S: Source> {
    source: Owned<S>,
    closed: AtomicBool,
}

impl<S: Source> Feed<S> {
    fn new(source: S, handle: Handle) -> Self {
        Feed {
            source: Owned::new(source, handle),
            closed: AtomicBool::new(false),
        }
    }

    /// The next item, blocking with the GIL released; `Timeout` if `timeout`
    /// seconds pass first (nothing is lost: a later `next` goes on).
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<S::Item> {
        let timeout = timeout.map(|t| secs("timeout", t)).transpose()?;
        let (handle, source) = self.source.parts()?;
        block_on(py, &handle, async move {
            let Some(t) = timeout else {
                return source.next_item().await;
            };
            tokio::time::timeout(t, source.next_item())
                .await
                .unwrap_or_else(|_| {
                    Err(tenure::Error::new(
                        tenure::ErrorKind::Timeout,
                        format!("no {} within {} s", S::WHAT, t.as_secs_f64()),
                    ))
                })
        })?
        .py()
    }

    /// The next item, as an awaitable; cancelling it loses nothing.
    fn next_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, source) = self.source.parts()?;
        to_awaitable(py, &handle, async move {
            source.next_item().await.map_err(to_py)
        })
    }

    /// Ends a waiting `next` and every later one (idempotent; no network).
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.source.get().close();
    }

    fn closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// A Python class of a feed: `next(timeout=None)`, `next_async()`, `close()`,
/// `closed()`, and the class's own `$extra` methods.
macro_rules! feed_class {
    ($(#[doc = $doc:literal])* $class:ident($source:ty) -> $item:ty { $($extra:tt)* }) => {
        $(#[doc = $doc])*
        #[pyclass(frozen, module = "tenure._native")]
        pub struct $class {
            feed: Feed<$source>,
        }

        #[pymethods]
        impl $class {
            $($extra)*

            /// The next item (blocking, GIL released); `Timeout` after
            /// `timeout` seconds, `Cancelled` once closed.
            #[pyo3(signature = (timeout=None))]
            fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<$item> {
                self.feed.next(py, timeout)
            }

            /// `next`, as an awaitable.
            fn next_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                self.feed.next_async(py)
            }

            /// Stops it (idempotent): a waiting `next` and every later one
            /// raise `Cancelled`.
            fn close(&self) {
                self.feed.close();
            }

            /// Whether `close` was called.
            fn closed(&self) -> bool {
                self.feed.closed()
            }
        }
    };
}

feed_class! {
    /// A watch of every lock under a prefix (the core's `Watcher`).
    NativeWatcher(tenure::Watcher) -> WatchBatch {
        /// The prefix watched.
        #[getter]
        fn prefix(&self) -> &str {
            self.feed.source.get().prefix()
        }

        /// The revision of the last batch returned (or the start revision).
        #[getter]
        fn revision(&self) -> u64 {
            self.feed.source.get().revision()
        }
    }
}

impl NativeWatcher {
    pub(crate) fn new(watcher: tenure::Watcher, handle: Handle) -> Self {
        NativeWatcher {
            feed: Feed::new(watcher, handle),
        }
    }
}

feed_class! {
    /// Leader changes of an election (the core's `Observer`): the next item
    /// is the leader, None when there is none.
    NativeObserver(Observing) -> Option<Leader> {
        /// The election's name.
        #[getter]
        fn name(&self) -> &str {
            &self.feed.source.get().name
        }
    }
}

/// An election: a lock of its name whose holder leads (the core's `Election`).
#[pyclass(frozen, module = "tenure._native")]
pub struct NativeElection {
    election: Owned<tenure::Election>,
}

impl NativeElection {
    pub(crate) fn new(election: tenure::Election, handle: Handle) -> Self {
        NativeElection {
            election: Owned::new(election, handle),
        }
    }
}

/// The core's campaign: waiting up to `timeout`, or once (`try_campaign`).
async fn campaign(
    election: tenure::Election,
    value: String,
    timeout: Option<Duration>,
) -> tenure::Result<tenure::Lock> {
    match timeout {
        Some(t) => election.campaign(&value, t).await,
        None => election.try_campaign(&value).await,
    }
}

#[pymethods]
impl NativeElection {
    /// The election's name.
    #[getter]
    fn name(&self) -> &str {
        self.election.get().name()
    }

    /// Leads with `value` (blocking, GIL released): waits FIFO up to
    /// `timeout` seconds, or with None tries once (`LockHeld` if someone leads).
    #[pyo3(signature = (value, timeout=None))]
    fn campaign(
        &self,
        py: Python<'_>,
        value: String,
        timeout: Option<f64>,
    ) -> PyResult<NativeLock> {
        let timeout = timeout.map(|t| secs("timeout", t)).transpose()?;
        let (handle, election) = self.election.parts()?;
        let lock = block_on(py, &handle, campaign(election, value, timeout))?.py()?;
        Ok(NativeLock::new(lock, handle))
    }

    /// `campaign`, as an awaitable; cancelling it withdraws the campaign.
    #[pyo3(signature = (value, timeout=None))]
    fn campaign_async<'py>(
        &self,
        py: Python<'py>,
        value: String,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let timeout = timeout.map(|t| secs("timeout", t)).transpose()?;
        let (handle, election) = self.election.parts()?;
        let h = handle.clone();
        to_awaitable(py, &handle, async move {
            let lock = campaign(election, value, timeout).await.map_err(to_py)?;
            Ok(NativeLock::new(lock, h))
        })
    }

    /// The current leader, or None (blocking).
    fn leader(&self, py: Python<'_>) -> PyResult<Option<Leader>> {
        let (handle, election) = self.election.parts()?;
        let leader = block_on(py, &handle, async move { election.leader().await })?.py()?;
        Ok(leader.map(Leader::from))
    }

    /// `leader`, as an awaitable.
    fn leader_async<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let (handle, election) = self.election.parts()?;
        to_awaitable(py, &handle, async move {
            Ok(election.leader().await.map_err(to_py)?.map(Leader::from))
        })
    }

    /// The leader changes, starting with the current leader (no network yet).
    fn observe(&self) -> PyResult<NativeObserver> {
        let (handle, election) = self.election.parts()?;
        let source = Observing {
            name: election.name().to_owned(),
            observer: election.observe(),
        };
        Ok(NativeObserver {
            feed: Feed::new(source, handle),
        })
    }
}
