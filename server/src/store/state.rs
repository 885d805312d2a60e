//! The openraft state machine: applies log entries to the [`Machine`], keeps
//! snapshots on disk, and wakes request handlers waiting for queued acquires.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Cursor, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{
    BasicNode, EntryPayload, RaftSnapshotBuilder, SnapshotMeta, StorageIOError, StoredMembership,
};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, oneshot};

use super::wal;
use crate::leases::Leases;
use crate::machine::{Event, Machine, Outcome, Rejection, RequestId, SessionId};
use crate::raft::{Entry, LogId, NodeId, StorageError, TypeConfig};

/// What a request handler learns when it asks about a queued acquire.
pub enum WaitState {
    /// The acquire has its final outcome.
    Done(Outcome),
    /// Still queued: the receiver gets the final outcome.
    Pending(oneshot::Receiver<Outcome>),
}

/// The node's in-memory view, shared by the state machine and the services.
pub struct Shared {
    /// The replicated state as of `applied`.
    pub machine: Machine,
    /// Last applied log id.
    pub applied: Option<LogId>,
    /// Last applied membership.
    pub membership: StoredMembership<NodeId, BasicNode>,
    /// Session deadlines (meaningful on the leader).
    pub leases: Leases,
    waits: HashMap<(SessionId, RequestId), Vec<oneshot::Sender<Outcome>>>,
    /// The connection each session was opened through (this node's view), for
    /// the per-connection session cap.
    openers: HashMap<SessionId, std::net::SocketAddr>,
    opened_by: HashMap<std::net::SocketAddr, usize>,
}

impl Shared {
    fn new() -> Self {
        Shared {
            machine: Machine::default(),
            applied: None,
            membership: StoredMembership::default(),
            leases: Leases::default(),
            waits: HashMap::new(),
            openers: HashMap::new(),
            opened_by: HashMap::new(),
        }
    }

    /// Records that `session` was opened through connection `addr`.
    pub fn note_opener(&mut self, session: SessionId, addr: std::net::SocketAddr) {
        if self.machine.session(session).is_some() && self.openers.insert(session, addr).is_none() {
            *self.opened_by.entry(addr).or_default() += 1;
        }
    }

    /// Live sessions opened through connection `addr`.
    pub fn sessions_opened_by(&self, addr: std::net::SocketAddr) -> usize {
        self.opened_by.get(&addr).copied().unwrap_or(0)
    }

    /// The outcome of an acquire, or a receiver for it while it is queued.
    pub fn wait_for(&mut self, session: SessionId, request: RequestId) -> WaitState {
        match self.machine.recorded(session, request) {
            Some(Outcome::Queued) => {
                let (tx, rx) = oneshot::channel();
                self.waits.entry((session, request)).or_default().push(tx);
                WaitState::Pending(rx)
            }
            Some(outcome) => WaitState::Done(outcome.clone()),
            None if self.machine.session(session).is_none() => {
                WaitState::Done(Outcome::Rejected(Rejection::SessionExpired(session)))
            }
            None => WaitState::Done(Outcome::Rejected(Rejection::UnknownRequest(request))),
        }
    }

    fn handle(&mut self, event: Event, now: Instant) {
        match event {
            Event::Resolved {
                session,
                request,
                outcome,
            } => {
                for tx in self.waits.remove(&(session, request)).unwrap_or_default() {
                    let _ = tx.send(outcome.clone());
                }
            }
            Event::SessionOpened { session, ttl_ms } => {
                self.leases
                    .opened(session, Duration::from_millis(ttl_ms), now)
            }
            Event::SessionEnded { session } => {
                self.leases.ended(session);
                if let Some(addr) = self.openers.remove(&session)
                    && let Some(n) = self.opened_by.get_mut(&addr)
                {
                    *n -= 1;
                    if *n == 0 {
                        self.opened_by.remove(&addr);
                    }
                }
            }
        }
    }

    /// After a snapshot replaced the machine: settle every wait it decided.
    fn settle_waits(&mut self) {
        let keys: Vec<_> = self.waits.keys().copied().collect();
        for (session, request) in keys {
            if let WaitState::Done(outcome) = self.wait_for(session, request) {
                self.handle(
                    Event::Resolved {
                        session,
                        request,
                        outcome,
                    },
                    Instant::now(),
                );
            }
        }
        // `wait_for` re-registered the pending ones; drop the stale senders.
        for senders in self.waits.values_mut() {
            senders.retain(|tx| !tx.is_closed());
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta<NodeId, BasicNode>,
    data: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotBody {
    machine: Machine,
    membership: StoredMembership<NodeId, BasicNode>,
}

/// The state machine store (cheap to clone).
#[derive(Clone)]
pub struct StateStore {
    shared: Arc<Mutex<Shared>>,
    applied: Arc<Notify>,
    dir: PathBuf,
    snapshot_seq: Arc<AtomicU64>,
}

fn io_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl StateStore {
    /// Opens the store in `dir`, loading the latest snapshot if there is one.
    pub fn open(dir: &Path) -> io::Result<StateStore> {
        fs::create_dir_all(dir)?;
        let mut shared = Shared::new();
        if let Some(stored) = read_snapshot(dir)? {
            let body: SnapshotBody = postcard::from_bytes(&stored.data).map_err(io_err)?;
            shared.machine = body.machine;
            shared.machine.rebuild_indexes();
            shared.membership = body.membership;
            shared.applied = stored.meta.last_log_id;
            shared.leases.reset_all(&shared.machine, Instant::now());
        }
        Ok(StateStore {
            shared: Arc::new(Mutex::new(shared)),
            applied: Arc::new(Notify::new()),
            dir: dir.to_owned(),
            snapshot_seq: Arc::new(AtomicU64::new(0)),
        })
    }

    /// The shared in-memory view.
    pub fn shared(&self) -> Arc<Mutex<Shared>> {
        self.shared.clone()
    }

    /// Notified after every apply.
    pub fn applied_notify(&self) -> Arc<Notify> {
        self.applied.clone()
    }
}

fn snapshot_path(dir: &Path) -> PathBuf {
    dir.join("snapshot.bin")
}

fn read_snapshot(dir: &Path) -> io::Result<Option<StoredSnapshot>> {
    let bytes = match fs::read(snapshot_path(dir)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let (record, _) = wal::unframe(&bytes).ok_or_else(|| io_err("snapshot file is corrupt"))?;
    postcard::from_bytes(record).map(Some).map_err(io_err)
}

/// Writes the snapshot atomically: temp file, fsync, rename, fsync of the directory.
fn write_snapshot(dir: &Path, stored: &StoredSnapshot) -> io::Result<()> {
    let bytes = postcard::to_stdvec(stored).map_err(io_err)?;
    let mut framed = Vec::with_capacity(bytes.len() + 8);
    wal::frame(&bytes, &mut framed);
    let tmp = dir.join("snapshot.tmp");
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&framed)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, snapshot_path(dir))?;
    File::open(dir)?.sync_all()
}

/// Builds a snapshot from a copy of the state taken when it was requested.
pub struct SnapshotBuilder {
    body: SnapshotBody,
    applied: Option<LogId>,
    dir: PathBuf,
    id: String,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError> {
        let data = postcard::to_stdvec(&self.body)
            .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        let meta = SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.body.membership.clone(),
            snapshot_id: self.id.clone(),
        };
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        let dir = self.dir.clone();
        let stored =
            tokio::task::spawn_blocking(move || write_snapshot(&dir, &stored).map(|_| stored))
                .await
                .map_err(|e| StorageIOError::write_snapshot(None, &io::Error::other(e)))?
                .map_err(|e| StorageIOError::write_snapshot(None, &e))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(stored.data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership<NodeId, BasicNode>), StorageError> {
        let shared = self.shared.lock();
        Ok((shared.applied, shared.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Vec<Outcome>>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut replies = Vec::new();
        let mut events = Vec::new();
        {
            let mut shared = self.shared.lock();
            for entry in entries {
                shared.applied = Some(entry.log_id);
                let reply = match entry.payload {
                    EntryPayload::Blank => Vec::new(),
                    EntryPayload::Normal(batch) => shared.machine.apply(&batch, &mut events),
                    EntryPayload::Membership(m) => {
                        shared.membership = StoredMembership::new(Some(entry.log_id), m);
                        Vec::new()
                    }
                };
                replies.push(reply);
            }
            let now = Instant::now();
            for event in events {
                shared.handle(event, now);
            }
        }
        self.applied.notify_waiters();
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let shared = self.shared.lock();
        let seq = self.snapshot_seq.fetch_add(1, Ordering::Relaxed);
        let id = match shared.applied {
            Some(l) => format!("{}-{}-{}", l.leader_id.term, l.index, seq),
            None => format!("0-0-{seq}"),
        };
        SnapshotBuilder {
            body: SnapshotBody {
                machine: shared.machine.clone(),
                membership: shared.membership.clone(),
            },
            applied: shared.applied,
            dir: self.dir.clone(),
            id,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<NodeId, BasicNode>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let body: SnapshotBody = postcard::from_bytes(&data)
            .map_err(|e| StorageIOError::read_snapshot(Some(meta.signature()), &e))?;
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data,
        };
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || write_snapshot(&dir, &stored))
            .await
            .map_err(|e| {
                StorageIOError::write_snapshot(Some(meta.signature()), &io::Error::other(e))
            })?
            .map_err(|e| StorageIOError::write_snapshot(Some(meta.signature()), &e))?;
        {
            let mut guard = self.shared.lock();
            let shared = &mut *guard;
            shared.machine = body.machine;
            shared.machine.rebuild_indexes();
            shared.membership = body.membership;
            shared.applied = meta.last_log_id;
            shared.leases.reset_all(&shared.machine, Instant::now());
            shared.settle_waits();
        }
        self.applied.notify_waiters();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<TypeConfig>>, StorageError> {
        let dir = self.dir.clone();
        let stored = tokio::task::spawn_blocking(move || read_snapshot(&dir))
            .await
            .map_err(|e| StorageIOError::read_snapshot(None, &io::Error::other(e)))?
            .map_err(|e| StorageIOError::read_snapshot(None, &e))?;
        Ok(stored.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
