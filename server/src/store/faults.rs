//! Disk fault injection for tests: a failed write, a partial write, a full disk
//! or a failed fsync at a chosen point of the write-ahead log's I/O.
//!
//! Set `TENURE_DISK_FAULT=KIND@N` (the Nth operation of that kind fails) or
//! `KIND@file:PATH` (the first one after PATH exists fails) in the environment of
//! a binary built with the `fault-injection` feature (the test kit enables it).
//! KIND is `write-error`, `partial-write`, `enospc` or `fsync-error` (each fires
//! once), or `slow-fsync` (every fsync from then on takes [`SLOW_SYNC`] longer,
//! and succeeds). A build without the feature refuses to start with the
//! variable set.

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The environment variable that arms a fault.
pub const ENV: &str = "TENURE_DISK_FAULT";
/// How much longer each fsync takes under `slow-fsync`.
pub const SLOW_SYNC: Duration = Duration::from_millis(400);

/// One kind of disk fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFault {
    /// The write fails with EIO and writes nothing.
    WriteError,
    /// Half the bytes are written, then the write fails with EIO.
    PartialWrite,
    /// Half the bytes are written, then the write fails with ENOSPC.
    NoSpace,
    /// The fsync fails with EIO (its data is not durable).
    FsyncError,
    /// Every fsync from then on is slow (a disk lagging behind its peers').
    SlowFsync,
}

impl DiskFault {
    /// Every fault.
    pub const ALL: [DiskFault; 5] = [
        DiskFault::WriteError,
        DiskFault::PartialWrite,
        DiskFault::NoSpace,
        DiskFault::FsyncError,
        DiskFault::SlowFsync,
    ];

    /// True for the faults after which a node must stop (exit 74): every one
    /// but `slow-fsync`, which only delays.
    pub fn stops_the_node(self) -> bool {
        self != DiskFault::SlowFsync
    }

    /// The name used in [`ENV`].
    pub fn name(self) -> &'static str {
        match self {
            DiskFault::WriteError => "write-error",
            DiskFault::PartialWrite => "partial-write",
            DiskFault::NoSpace => "enospc",
            DiskFault::FsyncError => "fsync-error",
            DiskFault::SlowFsync => "slow-fsync",
        }
    }

    fn op(self) -> Op {
        match self {
            DiskFault::FsyncError | DiskFault::SlowFsync => Op::Sync,
            _ => Op::Write,
        }
    }
}

/// The kinds of operation a fault can hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A write of framed bytes (or a new segment's header).
    Write,
    /// An fsync / fdatasync.
    Sync,
}

#[derive(Debug)]
enum When {
    Nth(u64),
    After(PathBuf),
}

#[derive(Debug)]
struct Armed {
    fault: DiskFault,
    when: When,
    seen: AtomicU64,
    fired: AtomicBool,
}

/// The fault (if any) armed for one log; without one every call is plain I/O.
#[derive(Debug, Default)]
pub struct DiskFaults(Option<Armed>);

fn parse(spec: &str) -> Result<(DiskFault, When), String> {
    let (kind, when) = spec
        .split_once('@')
        .ok_or_else(|| format!("{ENV}={spec:?}: expected KIND@N or KIND@file:PATH"))?;
    let fault = DiskFault::ALL
        .into_iter()
        .find(|f| f.name() == kind)
        .ok_or_else(|| format!("{ENV}: unknown fault {kind:?}"))?;
    let when = match when.strip_prefix("file:") {
        Some(path) => When::After(PathBuf::from(path)),
        None => When::Nth(
            when.parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{ENV}: {when:?} is not a positive count"))?,
        ),
    };
    Ok((fault, when))
}

impl DiskFaults {
    /// No fault.
    pub fn none() -> DiskFaults {
        DiskFaults(None)
    }

    /// The `n`th operation of `fault`'s kind fails (tests).
    pub fn at(fault: DiskFault, n: u64) -> DiskFaults {
        DiskFaults::armed(fault, When::Nth(n))
    }

    fn armed(fault: DiskFault, when: When) -> DiskFaults {
        DiskFaults(Some(Armed {
            fault,
            when,
            seen: AtomicU64::new(0),
            fired: AtomicBool::new(false),
        }))
    }

    /// The fault [`ENV`] arms; an error if it is malformed, or set in a build
    /// without the `fault-injection` feature.
    pub fn from_env() -> io::Result<DiskFaults> {
        let Ok(spec) = std::env::var(ENV) else {
            return Ok(DiskFaults::none());
        };
        if !cfg!(feature = "fault-injection") {
            return Err(io::Error::other(format!(
                "{ENV} is set, but this build has no fault injection"
            )));
        }
        let (fault, when) = parse(&spec).map_err(io::Error::other)?;
        tracing::warn!(
            fault = fault.name(),
            "DISK FAULT ARMED (tests only): {spec}"
        );
        Ok(DiskFaults::armed(fault, when))
    }

    /// Whether this operation is the one that fails (each fault fires once).
    fn fires(&self, op: Op) -> Option<DiskFault> {
        let armed = self.0.as_ref()?;
        if armed.fault.op() != op || armed.fired.load(Ordering::Relaxed) {
            return None;
        }
        let n = armed.seen.fetch_add(1, Ordering::Relaxed) + 1;
        let due = match &armed.when {
            When::Nth(at) => n == *at,
            When::After(path) => path.exists(),
        };
        if armed.fault == DiskFault::SlowFsync {
            // Not a one-off: every operation from then on.
            return due.then_some(armed.fault);
        }
        (due && !armed.fired.swap(true, Ordering::Relaxed)).then_some(armed.fault)
    }

    /// `file.write_all(bytes)`, unless the armed fault hits it.
    pub fn write(&self, file: &mut File, bytes: &[u8]) -> io::Result<()> {
        let half = &bytes[..bytes.len() / 2];
        match self.fires(Op::Write) {
            None => file.write_all(bytes),
            Some(DiskFault::WriteError) => Err(injected(libc_eio())),
            Some(DiskFault::PartialWrite) => {
                file.write_all(half)?;
                Err(injected(libc_eio()))
            }
            Some(DiskFault::NoSpace) => {
                file.write_all(half)?;
                Err(injected(nix::errno::Errno::ENOSPC as i32))
            }
            Some(DiskFault::FsyncError | DiskFault::SlowFsync) => file.write_all(bytes),
        }
    }

    /// `fdatasync` (or `fsync` with `all`), unless the armed fault hits it.
    pub fn sync(&self, file: &File, all: bool) -> io::Result<()> {
        match self.fires(Op::Sync) {
            Some(DiskFault::SlowFsync) => std::thread::sleep(SLOW_SYNC),
            Some(_) => return Err(injected(libc_eio())),
            None => {}
        }
        if all {
            file.sync_all()
        } else {
            file.sync_data()
        }
    }
}

fn libc_eio() -> i32 {
    nix::errno::Errno::EIO as i32
}

fn injected(errno: i32) -> io::Error {
    let e = io::Error::from_raw_os_error(errno);
    io::Error::new(e.kind(), format!("{e} (injected by {ENV})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_bad_ones_are_refused() {
        assert!(matches!(
            parse("fsync-error@3"),
            Ok((DiskFault::FsyncError, When::Nth(3)))
        ));
        assert!(matches!(
            parse("enospc@file:/tmp/x"),
            Ok((DiskFault::NoSpace, When::After(_)))
        ));
        for bad in ["fsync-error", "nothing@1", "write-error@0", "write-error@x"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_nth_operation_fails_once() {
        let faults = DiskFaults::at(DiskFault::FsyncError, 2);
        assert_eq!(faults.fires(Op::Write), None);
        assert_eq!(faults.fires(Op::Sync), None);
        assert_eq!(faults.fires(Op::Sync), Some(DiskFault::FsyncError));
        assert_eq!(faults.fires(Op::Sync), None);
    }
}
