//! `tenure-lossyfs`: a FUSE pass-through filesystem that simulates power loss.
//!
//! Mount it over a backing directory and run a process on the mount point.
//! File data written through the mount stays in this process's memory until
//! the file is fsynced (or fdatasynced); reads see it. [`LossyFs::power_loss`]
//! drops every write not yet fsynced, so the files look like a disk after a
//! power cut. A `kill -9` alone cannot show a missing fsync: the kernel's page
//! cache keeps the data. Directory operations and attributes other than the
//! size are applied to the backing directory at once (durable at once).
//!
//! Order for a power-loss fault: SIGKILL the process using the mount and reap
//! it, then call [`LossyFs::power_loss`], then restart the process. Dropping
//! first would let the still-running process append past the cut and fsync.
//!
//! Mounting needs root (it calls mount(2) on `/dev/fuse`; no `fusermount`
//! and no libfuse are used).

#![deny(missing_docs)]

mod fs;
pub mod overlay;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use fuser::{BackgroundSession, Config, MountOption, SessionACL};

/// Counters since the mount, for reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes written through the mount.
    pub bytes_written: u64,
    /// Pending bytes made durable by an fsync.
    pub bytes_synced: u64,
    /// Pending bytes dropped by power losses.
    pub bytes_dropped: u64,
    /// Files whose pending data a power loss dropped (summed over power losses).
    pub files_dropped: u64,
    /// fsync, fdatasync and directory fsync calls served.
    pub fsyncs: u64,
    /// Power losses so far.
    pub power_losses: u64,
}

/// Why a mount failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The backing directory or the mount point could not be prepared.
    #[error("cannot prepare {path}: {source}")]
    Prepare {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// mount(2) of the FUSE filesystem failed (not root? no /dev/fuse?).
    #[error("cannot mount lossyfs on {path}: {source}")]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A mounted lossy filesystem; unmounted (lazily) when dropped.
pub struct LossyFs {
    shared: Arc<fs::Shared>,
    mountpoint: PathBuf,
    session: Option<BackgroundSession>,
}

impl LossyFs {
    /// Mounts a lossy view of `backing` on `mountpoint` (both created if
    /// missing), served by a thread of this process.
    pub fn mount(
        backing: impl AsRef<Path>,
        mountpoint: impl AsRef<Path>,
    ) -> Result<LossyFs, Error> {
        let backing = prepare(backing.as_ref())?;
        let mountpoint = prepare(mountpoint.as_ref())?;
        let shared = fs::Shared::new(backing.clone());
        let filesystem = fs::LossyFilesystem {
            shared: shared.clone(),
        };
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::FSName("tenure-lossyfs".to_owned()),
            MountOption::NoAtime,
        ];
        config.acl = SessionACL::Owner;
        let session = fuser::spawn_mount(filesystem, &mountpoint, &config).map_err(|source| {
            Error::Mount {
                path: mountpoint.clone(),
                source,
            }
        })?;
        tracing::info!(backing = %backing.display(), mountpoint = %mountpoint.display(), "lossyfs mounted");
        Ok(LossyFs {
            shared,
            mountpoint,
            session: Some(session),
        })
    }

    /// Power loss: drops every write not yet fsynced, in every file; returns
    /// the bytes dropped. Kill (and reap) the processes using the mount first.
    pub fn power_loss(&self) -> u64 {
        let bytes = self.shared.state.lock().drop_pending();
        tracing::info!(mountpoint = %self.mountpoint.display(), bytes, "lossyfs power loss");
        bytes
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.shared.state.lock().stats
    }

    /// The mount point.
    pub fn mountpoint(&self) -> &Path {
        &self.mountpoint
    }

    /// Unmounts now (pending writes are dropped, like a power loss).
    pub fn unmount(mut self) {
        self.unmount_now();
    }

    fn unmount_now(&mut self) {
        if let Some(session) = self.session.take() {
            // Dropping the session detaches the mount (umount2 MNT_DETACH) and
            // ends the FUSE thread.
            drop(session);
            tracing::info!(mountpoint = %self.mountpoint.display(), "lossyfs unmounted");
        }
    }
}

impl Drop for LossyFs {
    fn drop(&mut self) {
        self.unmount_now();
    }
}

/// Creates `dir` if missing and returns its absolute path.
fn prepare(dir: &Path) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir)
        .and_then(|()| dir.canonicalize())
        .map_err(|source| Error::Prepare {
            path: dir.to_owned(),
            source,
        })
}
