//! Backup and restore of a cluster's state, as etcd operators know them:
//! [`export`] takes a consistent copy of the applied state as a snapshot file
//! (`tenure snapshot save`), and [`restore`] seeds a data directory of a NEW
//! cluster from one (`tenure snapshot restore`).
//!
//! A restored directory holds only a snapshot, with the new cluster's
//! membership and the last log id `(term 0, node 0, index of the saved
//! state)`. openraft starts from it like from a compacted log: it purges the
//! (empty) log up to that id and counts the node as initialized, so no member
//! re-initializes the cluster; the first election is in term 1, whose entries
//! sort after every term-0 log id. Every member must be restored from the same
//! file with the same `--peers`, so that all of them hold the same snapshot.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use openraft::{BasicNode, Membership};
use parking_lot::Mutex;

use super::snapshot::{self, Meta, SnapshotError};
use super::state::{SNAPSHOT_FILE, Shared, SnapshotBody};
use crate::raft::{LogId, NodeId, StoredMembership};

/// The state directory inside a node's data directory (as `node::start` opens it).
const STATE_DIR: &str = "state";

/// What a snapshot file holds, for operators.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Log index of the saved state.
    pub index: u64,
    /// Live sessions.
    pub sessions: usize,
    /// Locks with holders or waiters.
    pub locks: usize,
    /// The last fencing token granted; the next grant gets a larger one.
    pub last_token: u64,
}

impl Summary {
    fn of(index: u64, body: &SnapshotBody) -> Summary {
        Summary {
            index,
            sessions: body.machine.sessions().len(),
            locks: body.machine.locks().len(),
            last_token: body.machine.last_token(),
        }
    }
}

/// Why a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The file is not a readable snapshot.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// There is no such file.
    #[error("no snapshot file at {}", .0.display())]
    Missing(PathBuf),
    /// The snapshot's body does not decode.
    #[error("snapshot {}: the state does not decode: {source}", path.display())]
    Body {
        /// The file.
        path: PathBuf,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// The target directory already holds data.
    #[error("{} is not empty: restore seeds a NEW node's data directory", .0.display())]
    NotEmpty(PathBuf),
    /// `--id` is not one of `--peers`.
    #[error("node {0} is not one of the peers")]
    NotAMember(NodeId),
    /// `--peers` do not make a membership.
    #[error("the peers do not make a membership: {0}")]
    Membership(String),
    /// Writing the data directory failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// What was being written.
        path: PathBuf,
        /// The failure.
        #[source]
        source: io::Error,
    },
}

/// A consistent copy of the applied state as a snapshot file, in memory, and
/// its summary. The state is cloned under the lock and encoded outside it.
pub fn export(shared: &Mutex<Shared>) -> io::Result<(Vec<u8>, Summary)> {
    let (body, applied) = {
        let shared = shared.lock();
        let body = SnapshotBody {
            machine: shared.machine.clone(),
            membership: shared.membership.clone(),
        };
        (body, shared.applied)
    };
    let index = applied.map_or(0, |l| l.index);
    let meta = Meta {
        last_log_id: applied,
        last_membership: body.membership.clone(),
    };
    let file = snapshot::encode(&meta, &body.encode()?)?;
    Ok((file, Summary::of(index, &body)))
}

/// Reads and checks a saved snapshot file; returns its summary.
pub fn inspect(file: &Path) -> Result<Summary, RestoreError> {
    let (meta, body) = load(file)?;
    Ok(Summary::of(meta.last_log_id.map_or(0, |l| l.index), &body))
}

fn load(file: &Path) -> Result<(Meta, SnapshotBody), RestoreError> {
    let saved = snapshot::read(file)?.ok_or_else(|| RestoreError::Missing(file.to_owned()))?;
    let body = SnapshotBody::decode(&saved.body).map_err(|source| RestoreError::Body {
        path: file.to_owned(),
        source,
    })?;
    Ok((saved.meta, body))
}

/// The log id of a restored snapshot: term 0 sorts before every term of the
/// new cluster (whose first election is term 1); the index is the saved one
/// (at least 1, so that it is never taken for an empty log).
fn seeded_log_id(saved: Option<LogId>) -> LogId {
    let index = saved.map_or(1, |l| l.index.max(1));
    crate::raft::log_id(0, 0, index)
}

fn membership(
    peers: &BTreeMap<NodeId, String>,
) -> Result<Membership<NodeId, BasicNode>, RestoreError> {
    let voters: BTreeSet<NodeId> = peers.keys().copied().collect();
    let nodes: BTreeMap<NodeId, BasicNode> = peers
        .iter()
        .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
        .collect();
    Membership::new(vec![voters], nodes).map_err(|e| RestoreError::Membership(e.to_string()))
}

fn is_empty_or_missing(dir: &Path) -> io::Result<bool> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(e),
    }
}

/// Seeds `data_dir` (missing or empty) of node `id` of a new cluster of
/// `peers` with the state saved in `file`; returns what it holds.
pub fn restore(
    file: &Path,
    data_dir: &Path,
    id: NodeId,
    peers: &BTreeMap<NodeId, String>,
) -> Result<Summary, RestoreError> {
    if !peers.contains_key(&id) {
        return Err(RestoreError::NotAMember(id));
    }
    let io_at = |path: &Path| {
        let path = path.to_owned();
        move |source| RestoreError::Io { path, source }
    };
    if !is_empty_or_missing(data_dir).map_err(io_at(data_dir))? {
        return Err(RestoreError::NotEmpty(data_dir.to_owned()));
    }
    let (saved, mut body) = load(file)?;
    let log_id = seeded_log_id(saved.last_log_id);
    let stored = StoredMembership::new(Some(log_id), membership(peers)?);
    body.membership = stored.clone();
    let meta = Meta {
        last_log_id: Some(log_id),
        last_membership: stored,
    };
    let state = data_dir.join(STATE_DIR);
    fs::create_dir_all(&state).map_err(io_at(&state))?;
    let encoded = body.encode().map_err(io_at(file))?;
    let temp = state.join("snapshot.restore.0.tmp");
    snapshot::write(&temp, &meta, &encoded)?;
    let target = state.join(SNAPSHOT_FILE);
    fs::rename(&temp, &target).map_err(io_at(&target))?;
    File::open(&state)
        .and_then(|d| d.sync_all())
        .map_err(io_at(&state))?;
    tracing::info!(
        file = %file.display(),
        dir = %data_dir.display(),
        index = log_id.index,
        "restored a snapshot"
    );
    Ok(Summary::of(log_id.index, &body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Batch, Command, Mode};
    use crate::store::state::StateStore;
    use openraft::EntryPayload;
    use openraft::storage::RaftStateMachine;

    fn peers() -> BTreeMap<NodeId, String> {
        crate::node::config::parse_peers("1=127.0.0.1:1,2=127.0.0.1:2,3=127.0.0.1:3")
            .expect("peers")
    }

    /// A store with one session holding `jobs/a` (token 1), applied to index 9.
    async fn populated(dir: &Path) -> StateStore {
        let mut store = StateStore::open(dir).expect("open");
        let commands = vec![
            Command::OpenSession {
                open_id: 1,
                ttl_ms: 10_000,
                label: "saved".into(),
                principal: "p".into(),
            },
            Command::Acquire {
                session: 1,
                request: 1,
                name: "jobs/a".into(),
                mode: Mode::Exclusive,
                wait_ms: None,
                lock_delay_ms: 0,
                owner: 7,
                value: String::new(),
            },
        ];
        let entry = crate::raft::Entry {
            log_id: crate::raft::log_id(3, 2, 9),
            payload: EntryPayload::Normal(Batch {
                time_ms: 5,
                commands,
            }),
        };
        crate::store::state::apply_all(&mut store, [entry])
            .await
            .expect("apply");
        store
    }

    #[tokio::test]
    async fn a_restored_directory_opens_with_the_saved_state_and_the_new_membership() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = populated(&dir.path().join("old")).await;
        let (bytes, summary) = export(&store.shared()).expect("export");
        assert_eq!((summary.index, summary.sessions, summary.locks), (9, 1, 1));
        assert_eq!(summary.last_token, 1);
        let file = dir.path().join("backup.snap");
        fs::write(&file, &bytes).expect("write");
        assert_eq!(inspect(&file).expect("inspect"), summary);

        let data = dir.path().join("node-2");
        restore(&file, &data, 2, &peers()).expect("restore");
        let mut reopened = StateStore::open(&data.join(STATE_DIR)).expect("open restored");
        let (applied, membership) = reopened.applied_state().await.expect("applied");
        let seeded = crate::raft::log_id(0, 0, 9);
        assert_eq!(applied, Some(seeded));
        assert!(seeded < crate::raft::log_id(1, 1, 1));
        let voters: Vec<NodeId> = membership.membership().voter_ids().collect();
        assert_eq!(voters, vec![1, 2, 3]);
        let shared = reopened.shared();
        let shared = shared.lock();
        assert_eq!(shared.machine.last_token(), 1);
        assert!(shared.machine.lock("jobs/a").is_some());

        // A second restore into the same directory is refused, as are
        // strangers and damaged files.
        let again = restore(&file, &data, 2, &peers()).expect_err("not empty");
        assert!(matches!(again, RestoreError::NotEmpty(_)), "{again}");
        let stranger = restore(&file, &dir.path().join("n9"), 9, &peers()).expect_err("id");
        assert!(matches!(stranger, RestoreError::NotAMember(9)));
        let mut damaged = bytes.clone();
        damaged.truncate(bytes.len() - 3);
        fs::write(&file, &damaged).expect("write");
        let err = restore(&file, &dir.path().join("n1"), 1, &peers()).expect_err("cut");
        assert!(err.to_string().contains("backup.snap"), "{err}");
    }
}
