//! Durable storage: the Raft log on a checksummed write-ahead log ([`wal`]), the
//! state machine with its snapshots ([`state`]) in the snapshot file format
//! ([`snapshot`]), and backup and restore of a cluster's state ([`backup`]).

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

    use openraft::testing::log::{StoreBuilder, Suite};
    use openraft::{ErrorSubject, ErrorVerb, StorageError};

    use super::log::{LogOptions, LogStore};
    use super::state::StateStore;
    use crate::raft::TypeConfig;

    struct Builder;

    fn storage_error(e: std::io::Error) -> StorageError<TypeConfig> {
        StorageError::from_io_error(ErrorSubject::Store, ErrorVerb::Write, e)
    }

    impl StoreBuilder<TypeConfig, LogStore, StateStore, tempfile::TempDir> for Builder {
        async fn build(
            &self,
        ) -> Result<(tempfile::TempDir, LogStore, StateStore), StorageError<TypeConfig>> {
            let dir = tempfile::tempdir().map_err(storage_error)?;
            let (log, _) = LogStore::open(&dir.path().join("log"), LogOptions::stop_on_error())
                .map_err(storage_error)?;
            let state = StateStore::open(&dir.path().join("state")).map_err(storage_error)?;
            Ok((dir, log, state))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn openraft_storage_suite() -> Result<(), StorageError<TypeConfig>> {
        Suite::test_all(Builder).await
    }
}
