//! Durable storage: the Raft log on a checksummed write-ahead log ([`wal`]), the
//! state machine with its snapshots ([`state`]) in the snapshot file format
//! ([`snapshot`]), and backup and restore of a cluster's state ([`backup`]).

// openraft's storage API returns its own (large) StorageError; helpers follow it.
#![allow(clippy::result_large_err)]

/// Exit status of a node stopped by a storage I/O error (EX_IOERR).
pub const EXIT_STORAGE: i32 = 74;

pub mod backup;
pub mod faults;
pub mod log;
pub mod snapshot;
pub mod state;
pub mod wal;

#[cfg(test)]
mod suite {
    //! openraft's storage test suite, run on tenure's log and state machine.

    use openraft::StorageIOError;
    use openraft::testing::{StoreBuilder, Suite};

    use super::log::{LogOptions, LogStore};
    use super::state::StateStore;
    use crate::raft::{StorageError, TypeConfig};

    struct Builder;

    impl StoreBuilder<TypeConfig, LogStore, StateStore, tempfile::TempDir> for Builder {
        async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateStore), StorageError> {
            let dir = tempfile::tempdir().map_err(|e| StorageIOError::write(&e))?;
            let (log, _) = LogStore::open(&dir.path().join("log"), LogOptions::stop_on_error())
                .map_err(|e| StorageIOError::write(&e))?;
            let state = StateStore::open(&dir.path().join("state"))
                .map_err(|e| StorageIOError::write(&e))?;
            Ok((dir, log, state))
        }
    }

    #[test]
    fn openraft_storage_suite() -> Result<(), StorageError> {
        Suite::test_all(Builder)
    }
}
