//! The openraft state machine: applies log entries to the [`Machine`], keeps
//! snapshots on disk, and wakes request handlers waiting for queued acquires.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{Stream, TryStreamExt};
use openraft::storage::{EntryResponder, RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, oneshot};

use super::snapshot::{self, Meta, SnapshotError, SnapshotFile};
use crate::machine::{Event, Machine, Outcome, Rejection, RequestId, SessionId};
use crate::node::leases::Leases;
use crate::node::watches::WatchHub;
use crate::raft::{LogId, Snapshot, SnapshotData, StoredMembership, TypeConfig};
use crate::steps;

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
    pub membership: StoredMembership,
    /// Session deadlines (meaningful on the leader).
    pub leases: Leases,
    waits: HashMap<(SessionId, RequestId), Vec<oneshot::Sender<Outcome>>>,
    /// The connection each session was opened through (this node's view), for
    /// the per-connection session cap.
    openers: HashMap<SessionId, std::net::SocketAddr>,
    opened_by: HashMap<std::net::SocketAddr, usize>,
    /// Recent lock changes, for watchers.
    pub watches: WatchHub,
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
            watches: WatchHub::default(),
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
            Event::Lock(change) => self.watches.publish(change),
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

/// The body of a snapshot: the replicated state. Its encoding (postcard) is part
/// of the snapshot file format, so an incompatible change to [`Machine`]'s
/// serialized form needs a new [`snapshot::FORMAT_VERSION`].
#[derive(Serialize, Deserialize)]
pub(crate) struct SnapshotBody {
    /// The state machine.
    pub(crate) machine: Machine,
    /// The membership it was taken with.
    pub(crate) membership: StoredMembership,
}

impl SnapshotBody {
    /// Serializes the body.
    pub(crate) fn encode(&self) -> io::Result<Vec<u8>> {
        postcard::to_stdvec(self).map_err(io_err)
    }

    /// Deserializes a body (and rebuilds the machine's derived indexes); a
    /// state the machine could not go on from is an error.
    pub(crate) fn decode(bytes: &[u8]) -> io::Result<SnapshotBody> {
        let mut body: SnapshotBody = postcard::from_bytes(bytes).map_err(|e| {
            io_err(format!(
                "the snapshot's state does not decode ({e}): it was written by a tenure \
                 build with another state layout (see docs/design.md, \"Storage rules\")"
            ))
        })?;
        body.machine
            .check_restored()
            .map_err(|e| io_err(format!("the snapshot's state is inconsistent: {e}")))?;
        body.machine.rebuild_indexes();
        Ok(body)
    }
}

/// The current snapshot's file name in the state directory.
pub const SNAPSHOT_FILE: &str = "snapshot.bin";

/// The snapshot files of one store: [`SNAPSHOT_FILE`], and one temp file for
/// each build or install under way (`snapshot.<kind>.<seq>.tmp`), so that a
/// build and an install never write the same file.
struct SnapshotFiles {
    dir: PathBuf,
    seq: AtomicU64,
    /// The last log id of the snapshot in [`SNAPSHOT_FILE`] (None: no file).
    /// Renames onto it happen only under this mutex, after comparing: an older
    /// snapshot never replaces a newer one.
    current: Mutex<Option<Option<LogId>>>,
}

fn is_temp_name(name: &str) -> bool {
    name.starts_with("snapshot.") && name.ends_with(".tmp")
}

impl SnapshotFiles {
    /// Removes temp files left by a crash and reads the current snapshot.
    fn open(dir: &Path) -> io::Result<(SnapshotFiles, Option<SnapshotFile>)> {
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            if name.to_str().is_some_and(is_temp_name) {
                tracing::info!(file = ?name, "removing a snapshot temp file left by a crash");
                fs::remove_file(dir.join(&name))?;
            }
        }
        let file = snapshot::read(&dir.join(SNAPSHOT_FILE)).map_err(SnapshotError::into_io)?;
        let files = SnapshotFiles {
            dir: dir.to_owned(),
            seq: AtomicU64::new(0),
            current: Mutex::new(file.as_ref().map(|f| f.meta.last_log_id)),
        };
        Ok((files, file))
    }

    fn path(&self) -> PathBuf {
        self.dir.join(SNAPSHOT_FILE)
    }

    /// Writes a snapshot to a temp file of its own; returns its path.
    fn write_temp(&self, kind: &str, meta: &Meta, body: &[u8]) -> io::Result<PathBuf> {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let temp = self.dir.join(format!("snapshot.{kind}.{seq}.tmp"));
        if let Err(e) = snapshot::write(&temp, meta, body) {
            let _ = fs::remove_file(&temp);
            return Err(e.into_io());
        }
        Ok(temp)
    }

    /// Renames `temp` onto the current snapshot if it is newer (`last` is its
    /// last log id), else deletes it. Returns whether it was installed.
    fn commit(&self, temp: &Path, last: Option<LogId>) -> io::Result<bool> {
        let mut current = self.current.lock();
        if current.is_some_and(|cur| last <= cur) {
            drop(current);
            tracing::info!(
                ?last,
                "a newer snapshot is already on disk; dropping this older one"
            );
            fs::remove_file(temp)?;
            return Ok(false);
        }
        fs::rename(temp, self.path())?;
        File::open(&self.dir)?.sync_all()?;
        *current = Some(last);
        Ok(true)
    }

    /// Writes and commits a snapshot (blocking I/O). `pause` runs between the
    /// two (a test hook that makes a build slow).
    fn save(&self, kind: &str, meta: &Meta, body: &[u8], pause: impl FnOnce()) -> io::Result<bool> {
        let temp = self.write_temp(kind, meta, body)?;
        pause();
        let committed = self.commit(&temp, meta.last_log_id);
        if committed.is_err() {
            let _ = fs::remove_file(&temp);
        }
        committed
    }
}

/// The state machine store (cheap to clone).
#[derive(Clone)]
pub struct StateStore {
    shared: Arc<Mutex<Shared>>,
    applied: Arc<Notify>,
    files: Arc<SnapshotFiles>,
    /// The negative control `restarted-node-stops-applying` (see `hang_applies`).
    hang_applies: bool,
}

fn io_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl StateStore {
    /// Opens the store in `dir`, loading the latest snapshot if there is one
    /// (and removing temp files a crash left behind).
    pub fn open(dir: &Path) -> io::Result<StateStore> {
        super::wal::create_dir_durable(dir)?;
        let (files, file) = SnapshotFiles::open(dir)?;
        let mut shared = Shared::new();
        if let Some(file) = file {
            let body = SnapshotBody::decode(&file.body)?;
            shared.machine = body.machine;
            shared.membership = body.membership;
            shared.applied = file.meta.last_log_id;
            shared.leases.reset_all(&shared.machine, Instant::now());
        }
        Ok(StateStore {
            shared: Arc::new(Mutex::new(shared)),
            applied: Arc::new(Notify::new()),
            files: Arc::new(files),
            hang_applies: false,
        })
    }

    /// The negative control `restarted-node-stops-applying`: from now on the
    /// first replicated command this node did not propose hangs its applies.
    pub fn hang_applies(&mut self) {
        self.hang_applies = true;
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

/// Builds a snapshot from a copy of the state taken when it was requested.
pub struct SnapshotBuilder {
    body: SnapshotBody,
    applied: Option<LogId>,
    files: Arc<SnapshotFiles>,
    /// Test hook: how long the build waits between writing its temp file and
    /// renaming it (to race it against an install).
    #[cfg(test)]
    delay: Duration,
}

impl SnapshotBuilder {
    #[cfg(test)]
    fn pause(&self) -> impl FnOnce() + use<> {
        let delay = self.delay;
        move || std::thread::sleep(delay)
    }

    #[cfg(not(test))]
    fn pause(&self) -> impl FnOnce() + use<> {
        || {}
    }
}

/// Runs blocking file I/O off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(io::Error::other)?
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = SnapshotData;

    async fn build_snapshot(&mut self) -> io::Result<Snapshot> {
        let data = self.body.encode()?;
        let meta = Meta {
            last_log_id: self.applied,
            last_membership: self.body.membership.clone(),
        };
        let files = self.files.clone();
        let pause = self.pause();
        let (meta, data) = blocking(move || {
            files
                .save("build", &meta, &data, pause)
                .map(|_| (meta, data))
        })
        .await?;
        // Returned even when a newer snapshot was on disk already: openraft
        // ignores a built snapshot older than the one it knows.
        Ok(Snapshot {
            meta,
            snapshot: data,
        })
    }
}

impl StateStore {
    /// Applies one entry to the shared state; its outcomes (one per command).
    fn apply_entry(
        shared: &mut Shared,
        entry: crate::raft::Entry,
        events: &mut Vec<Event>,
    ) -> Vec<Outcome> {
        steps::step("apply", entry.log_id.index);
        shared.applied = Some(entry.log_id);
        match entry.payload {
            EntryPayload::Blank => Vec::new(),
            EntryPayload::Normal(batch) => shared.machine.apply(&batch, events),
            EntryPayload::Membership(m) => {
                shared.membership = StoredMembership::new(Some(entry.log_id), m);
                Vec::new()
            }
        }
    }
}

impl RaftStateMachine<TypeConfig> for StateStore {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> io::Result<(Option<LogId>, StoredMembership)> {
        let shared = self.shared.lock();
        Ok((shared.applied, shared.membership.clone()))
    }

    /// Applies committed entries in order and answers the proposer of each
    /// (this node's own proposals carry a responder): the outcomes go to the
    /// callers straight from here.
    async fn apply<Strm>(&mut self, mut entries: Strm) -> io::Result<()>
    where
        Strm: Stream<Item = io::Result<EntryResponder<TypeConfig>>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            if self.hang_applies
                && responder.is_none()
                && matches!(entry.payload, EntryPayload::Normal(_))
            {
                std::future::pending::<()>().await;
            }
            let mut events = Vec::new();
            let reply = {
                let mut shared = self.shared.lock();
                let reply = Self::apply_entry(&mut shared, entry, &mut events);
                let now = Instant::now();
                for event in events {
                    shared.handle(event, now);
                }
                reply
            };
            self.applied.notify_waiters();
            if let Some(responder) = responder {
                responder.send(reply);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        let shared = self.shared.lock();
        SnapshotBuilder {
            body: SnapshotBody {
                machine: shared.machine.clone(),
                membership: shared.membership.clone(),
            },
            applied: shared.applied,
            files: self.files.clone(),
            #[cfg(test)]
            delay: Duration::ZERO,
        }
    }

    async fn install_snapshot(&mut self, meta: &Meta, data: SnapshotData) -> io::Result<()> {
        let body = SnapshotBody::decode(&data)?;
        let files = self.files.clone();
        let file_meta = meta.clone();
        blocking(move || files.save("install", &file_meta, &data, || {})).await?;
        {
            let mut guard = self.shared.lock();
            let shared = &mut *guard;
            // openraft installs only snapshots past what is applied; never let
            // the state go backwards if it ever asked otherwise.
            if shared.applied.is_some() && meta.last_log_id <= shared.applied {
                tracing::warn!(
                    snapshot = ?meta.last_log_id,
                    applied = ?shared.applied,
                    "not installing a snapshot that is not newer than the applied state"
                );
                return Ok(());
            }
            shared.machine = body.machine;
            shared.membership = body.membership;
            shared.applied = meta.last_log_id;
            shared.leases.reset_all(&shared.machine, Instant::now());
            shared.settle_waits();
            shared.watches.reset();
        }
        self.applied.notify_waiters();
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> io::Result<Option<Snapshot>> {
        let path = self.files.path();
        let file = blocking(move || snapshot::read(&path).map_err(SnapshotError::into_io)).await?;
        Ok(file.map(|f| Snapshot {
            meta: f.meta,
            snapshot: f.body,
        }))
    }
}

/// Applies `entries` as openraft would, without responders (tests).
#[cfg(test)]
pub(crate) async fn apply_all(
    store: &mut StateStore,
    entries: impl IntoIterator<Item = crate::raft::Entry>,
) -> io::Result<()> {
    let entries: Vec<_> = entries.into_iter().map(|e| Ok((e, None))).collect();
    let stream = futures::stream::iter(entries);
    store.apply(stream).await
}

#[cfg(test)]
mod tests {
    //! Snapshots on disk: any size, and never an older one over a newer one.

    use std::time::Duration;

    use openraft::EntryPayload;
    use openraft::storage::RaftSnapshotBuilder;
    use openraft::storage::RaftStateMachine;

    use super::StateStore;
    use crate::machine::{Batch, Command};
    use crate::raft::{Entry, LogId};

    fn log_id(index: u64) -> LogId {
        crate::raft::log_id(1, 1, index)
    }

    /// One entry opening a session labelled `label`.
    fn open_session(index: u64, label: String) -> Entry {
        let batch = Batch {
            time_ms: 1_000 + index,
            commands: vec![Command::OpenSession {
                open_id: u128::from(index),
                ttl_ms: 10_000,
                label,
                principal: "test".into(),
            }],
        };
        Entry {
            log_id: log_id(index),
            payload: EntryPayload::Normal(batch),
        }
    }

    fn temp_files(dir: &std::path::Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("read dir")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_snapshot_over_64_mib_is_written_and_reopened() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = StateStore::open(dir.path()).expect("open");
        // 70 sessions with 1 MiB labels: a body of about 70 MiB.
        let entries: Vec<Entry> = (1..=70)
            .map(|i| open_session(i, "x".repeat(1 << 20)))
            .collect();
        super::apply_all(&mut store, entries).await.expect("apply");
        let snapshot = store
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .expect("build");
        assert!(snapshot.snapshot.len() > 64 << 20);

        let mut reopened = StateStore::open(dir.path()).expect("reopen a 70 MiB snapshot");
        let (applied, _) = reopened.applied_state().await.expect("applied");
        assert_eq!(applied, Some(log_id(70)));
        assert_eq!(reopened.shared().lock().machine.sessions().len(), 70);
        let current = reopened
            .get_current_snapshot()
            .await
            .expect("read the current snapshot")
            .expect("a snapshot");
        assert_eq!(current.meta.last_log_id, Some(log_id(70)));
        assert_eq!(current.snapshot, snapshot.snapshot);
    }

    #[test]
    fn temp_files_a_crash_left_are_removed_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        for name in [
            "snapshot.tmp",
            "snapshot.build.3.tmp",
            "snapshot.install.0.tmp",
        ] {
            std::fs::write(dir.path().join(name), b"partial").expect("write");
        }
        StateStore::open(dir.path()).expect("open");
        assert_eq!(temp_files(dir.path()), Vec::<String>::new());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_build_never_replaces_a_newer_installed_snapshot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = StateStore::open(dir.path()).expect("open");
        super::apply_all(&mut store, [open_session(1, "old".into())])
            .await
            .expect("apply");
        // The newer snapshot comes from another replica that applied more.
        let other = tempfile::tempdir().expect("tempdir");
        let mut leader = StateStore::open(other.path()).expect("open");
        super::apply_all(
            &mut leader,
            (1..=5).map(|i| open_session(i, format!("s{i}"))),
        )
        .await
        .expect("apply");
        let newer = leader
            .get_snapshot_builder()
            .await
            .build_snapshot()
            .await
            .expect("build");

        let mut slow = store.get_snapshot_builder().await;
        slow.delay = Duration::from_millis(600);
        let build = tokio::spawn(async move { slow.build_snapshot().await });
        tokio::time::sleep(Duration::from_millis(150)).await;
        store
            .install_snapshot(&newer.meta, newer.snapshot)
            .await
            .expect("install");
        let built = build.await.expect("join").expect("the slow build succeeds");
        assert_eq!(built.meta.last_log_id, Some(log_id(1)));

        let current = store
            .get_current_snapshot()
            .await
            .expect("read")
            .expect("a snapshot");
        assert_eq!(
            current.meta.last_log_id,
            Some(log_id(5)),
            "the newer one stays"
        );
        assert_eq!(
            store.applied_state().await.expect("applied").0,
            Some(log_id(5))
        );
        assert_eq!(temp_files(dir.path()), Vec::<String>::new());
        let reopened = StateStore::open(dir.path()).expect("reopen");
        assert_eq!(reopened.shared().lock().machine.sessions().len(), 5);
    }
}
