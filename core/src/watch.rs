//! Watching locks: a stream of the changes of every lock under a name prefix
//! (`Client::watch`), resumed by revision across reconnects and failovers.
//!
//! The server numbers every lock change with a cluster-wide revision. A
//! [`Watcher`] remembers the revision of the last batch it returned; when its
//! stream breaks (the node died, lost leadership, or went quiet past
//! [`STALL`]) it opens a new one on the leader from that revision. The server
//! replays the changes since then if its backlog still has them, and
//! otherwise starts over with the current state (a batch with `reset` set),
//! so a watcher misses no change without being told.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tenure_proto::v1 as pb;
use tokio::sync::watch;

use crate::admin::{LockInfo, WatchBatch, WatchEvent, lock_mode};
use crate::conn::Conn;
use crate::error::{Error, ErrorKind, Result};
use crate::rt::{self, Instant};

/// A stream that brings nothing, not even the server's progress message
/// (sent every second when idle), for this long counts as broken.
pub const STALL: Duration = Duration::from_secs(5);

/// What happened to a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LockChange {
    /// A grant was made (at once, or to a waiter: then `request_id` is set).
    Granted,
    /// The holder released it, or closed its session.
    Released,
    /// The holder's session expired.
    Expired,
    /// An administrator force-released the grant.
    ForceReleased,
    /// An acquire started waiting.
    WaiterAdded,
    /// A waiting acquire left the queue without a grant (cancelled, timed
    /// out, or its session ended or was blacklisted).
    WaiterRemoved,
    /// The holder replaced its value.
    ValueChanged,
    /// Someone asked the holder to release.
    ReleaseRequested,
}

impl LockChange {
    /// Every change, in a fixed order (bindings derive their enums from it).
    pub const ALL: [LockChange; 8] = [
        LockChange::Granted,
        LockChange::Released,
        LockChange::Expired,
        LockChange::ForceReleased,
        LockChange::WaiterAdded,
        LockChange::WaiterRemoved,
        LockChange::ValueChanged,
        LockChange::ReleaseRequested,
    ];

    /// Stable name shared by every binding: `granted`, `released`, `expired`,
    /// `force_released`, `waiter_added`, `waiter_removed`, `value_changed`,
    /// `release_requested`.
    pub fn code(self) -> &'static str {
        match self {
            LockChange::Granted => "granted",
            LockChange::Released => "released",
            LockChange::Expired => "expired",
            LockChange::ForceReleased => "force_released",
            LockChange::WaiterAdded => "waiter_added",
            LockChange::WaiterRemoved => "waiter_removed",
            LockChange::ValueChanged => "value_changed",
            LockChange::ReleaseRequested => "release_requested",
        }
    }

    /// The change of a [`LockChange::code`], if it is one.
    pub fn from_code(code: &str) -> Option<LockChange> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Whether this change ends a grant.
    pub fn ends_grant(self) -> bool {
        matches!(
            self,
            LockChange::Released | LockChange::Expired | LockChange::ForceReleased
        )
    }

    fn from_pb(change: i32) -> Option<LockChange> {
        Some(match pb::LockChange::try_from(change).ok()? {
            pb::LockChange::Granted => LockChange::Granted,
            pb::LockChange::Released => LockChange::Released,
            pb::LockChange::Expired => LockChange::Expired,
            pb::LockChange::ForceReleased => LockChange::ForceReleased,
            pb::LockChange::WaiterAdded => LockChange::WaiterAdded,
            pb::LockChange::WaiterRemoved => LockChange::WaiterRemoved,
            pb::LockChange::ValueChanged => LockChange::ValueChanged,
            pb::LockChange::ReleaseRequested => LockChange::ReleaseRequested,
            pb::LockChange::Unspecified => return None,
        })
    }
}

impl std::fmt::Display for LockChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for LockChange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl WatchEvent {
    fn from_pb(e: pb::WatchEvent) -> Result<WatchEvent> {
        let change = LockChange::from_pb(e.change).ok_or_else(|| {
            Error::internal(format!(
                "the server sent an unknown lock change {}",
                e.change
            ))
        })?;
        Ok(WatchEvent {
            revision: e.revision,
            change,
            name: e.name,
            session_id: e.session_id,
            token: e.token,
            owner_id: e.owner_id,
            mode: lock_mode(e.mode),
            permits: e.permits,
            value: e.value,
            request_id: e.request_id,
            at_ms: e.at_ms,
        })
    }
}

/// A stream of lock changes under a prefix, from [`crate::Client::watch`].
/// Each [`Watcher::next`] returns the next batch; reconnects happen inside.
/// Cloning is cheap (one watcher, shared); [`Watcher::close`] from any clone
/// ends a `next` that is waiting.
#[derive(Clone)]
pub struct Watcher {
    inner: Arc<WatcherInner>,
}

struct WatcherInner {
    conn: Arc<Conn>,
    prefix: String,
    /// The revision of the last batch returned (or the start revision).
    revision: AtomicU64,
    /// The open stream; one `next` at a time reads it.
    stream: tokio::sync::Mutex<Option<tonic::Streaming<pb::WatchResponse>>>,
    closed: watch::Sender<bool>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("prefix", &self.inner.prefix)
            .field("revision", &self.revision())
            .finish()
    }
}

impl Watcher {
    pub(crate) fn new(conn: Arc<Conn>, prefix: String, start_revision: u64) -> Self {
        Watcher {
            inner: Arc::new(WatcherInner {
                conn,
                prefix,
                revision: AtomicU64::new(start_revision),
                stream: tokio::sync::Mutex::new(None),
                closed: watch::channel(false).0,
            }),
        }
    }

    /// The prefix watched.
    pub fn prefix(&self) -> &str {
        &self.inner.prefix
    }

    /// The revision of the last batch returned (or the start revision): pass
    /// it to `watch` to resume in another watcher.
    pub fn revision(&self) -> u64 {
        self.inner.revision.load(Ordering::Acquire)
    }

    /// The next batch of changes (or a reset with the state). Waits as long as
    /// nothing changes. A broken stream is reopened on the leader from the
    /// last revision; if that fails for the client's call timeout, the error
    /// is returned and a later `next` tries again from the same revision.
    /// After `close`, fails with `Cancelled`.
    pub async fn next(&self) -> Result<WatchBatch> {
        let mut closed = self.inner.closed.subscribe();
        let batch = tokio::select! {
            batch = self.next_batch() => batch,
            _ = closed.wait_for(|c| *c) => Err(Error::new(ErrorKind::Cancelled, "the watcher was closed")),
        };
        if self.is_closed() {
            // `close` could not take the stream while this call read it: end
            // the server's stream now (the read above has let go of it).
            self.inner.stream.lock().await.take();
        }
        batch
    }

    /// Stops the watcher: a waiting `next` and every later one fail with
    /// `Cancelled`, and its stream is dropped.
    pub fn close(&self) {
        self.inner.closed.send_replace(true);
        if let Ok(mut stream) = self.inner.stream.try_lock() {
            *stream = None;
        }
    }

    /// Whether `close` was called.
    pub fn is_closed(&self) -> bool {
        *self.inner.closed.borrow()
    }

    async fn next_batch(&self) -> Result<WatchBatch> {
        let mut stream = self.inner.stream.lock().await;
        loop {
            if self.is_closed() {
                *stream = None;
                return Err(Error::new(ErrorKind::Cancelled, "the watcher was closed"));
            }
            if stream.is_none() {
                *stream = Some(self.open().await?);
            }
            let Some(open) = stream.as_mut() else {
                continue;
            };
            let message = match rt::timeout(STALL, open.message()).await {
                Ok(Ok(Some(m))) => m,
                Ok(Ok(None)) | Ok(Err(_)) | Err(_) => {
                    // Broken, ended (the node stops), NOT_LEADER, or quiet
                    // past STALL: resume on the leader.
                    tracing::debug!(prefix = %self.inner.prefix, revision = self.revision(), "watch stream broke; resuming");
                    *stream = None;
                    continue;
                }
            };
            if let Some(batch) = self.batch(message)? {
                return Ok(batch);
            }
        }
    }

    async fn open(&self) -> Result<tonic::Streaming<pb::WatchResponse>> {
        let req = pb::WatchRequest {
            prefix: self.inner.prefix.clone(),
            start_revision: self.revision(),
        };
        let conn = &self.inner.conn;
        conn.call(
            Instant::now() + conn.options.call_timeout,
            conn.options.attempt_timeout,
            |mut stub| {
                let req = req.clone();
                async move { stub.watch(req).await }
            },
        )
        .await
    }

    /// The batch a message makes (None for a progress message: only the
    /// revision moves).
    fn batch(&self, m: pb::WatchResponse) -> Result<Option<WatchBatch>> {
        let seen = self.revision();
        if m.revision < seen && !m.reset {
            return Err(Error::internal(format!(
                "the watch went back from revision {seen} to {}",
                m.revision
            )));
        }
        self.inner.revision.store(m.revision, Ordering::Release);
        if !m.reset && m.events.is_empty() {
            return Ok(None);
        }
        let events = m
            .events
            .into_iter()
            .map(WatchEvent::from_pb)
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(WatchBatch {
            revision: m.revision,
            reset: m.reset,
            locks: m.locks.into_iter().map(LockInfo::from).collect(),
            events,
        }))
    }
}
