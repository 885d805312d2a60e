//! openraft log storage on the write-ahead log.
//!
//! Every record (entry, truncation, purge, vote, committed id) goes through one
//! writer thread that owns the [`Wal`]: it writes whatever is queued and makes it
//! durable with one `fdatasync` before reporting any of it flushed, so log I/O
//! never blocks the async runtime and concurrent appends share a sync. Entries
//! not yet purged are also kept in memory, which serves every read.

use std::collections::BTreeMap;
use std::io;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc;

use openraft::OptionalSend;
use openraft::storage::{IOFlushed, LogState, RaftLogReader, RaftLogStorage};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::EXIT_STORAGE;
use super::faults::DiskFaults;
use super::wal::{self, Wal};
use crate::controls::{self, Control};
use crate::raft::{Entry, LogId, TypeConfig, Vote};
use crate::steps;

/// Default size of a log segment: a new one is started once the current one
/// exceeds it, and segments are zero-filled to it ahead of use.
pub const SEGMENT_BYTES: u64 = 16 << 20;
/// Environment variable that sets the segment size in bytes (tests use small
/// segments on small disks).
pub const SEGMENT_BYTES_ENV: &str = "TENURE_WAL_SEGMENT_BYTES";

/// One record of the log, as framed in the write-ahead log.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Record {
    Entry(Entry),
    Truncate(u64),
    Purged(LogId),
    Vote(Vote),
    Committed(Option<LogId>),
}

/// The log as replayed from its records.
#[derive(Default)]
pub(crate) struct LogData {
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote>,
    committed: Option<LogId>,
    /// `committed` changed since it was last written: the next append
    /// writes it first (see `save_committed`). Not a record of its own.
    committed_unwritten: bool,
    purged: Option<LogId>,
}

impl LogData {
    pub(crate) fn replay(&mut self, record: Record) {
        match record {
            Record::Entry(entry) => {
                let index = entry.log_id.index;
                // An append at `index` ends the log there.
                self.entries.split_off(&index);
                self.entries.insert(index, entry);
            }
            Record::Truncate(since) => {
                self.entries.split_off(&since);
            }
            Record::Purged(log_id) => self.purge(log_id),
            Record::Vote(vote) => self.vote = Some(vote),
            Record::Committed(committed) => self.committed = committed,
        }
    }

    /// Drops every entry up to and including `log_id`. An index of u64::MAX
    /// (only a damaged or forged record carries one) drops them all; it once
    /// overflowed here (found by the `wal_recovery` fuzz target).
    fn purge(&mut self, log_id: LogId) {
        self.entries = match log_id.index.checked_add(1) {
            Some(next) => self.entries.split_off(&next),
            None => BTreeMap::new(),
        };
        self.purged = Some(log_id);
    }

    /// Records restating what older segments hold beyond the entries.
    fn header(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let records = [
            self.vote.map(Record::Vote),
            Some(Record::Committed(self.committed)),
            self.purged.map(Record::Purged),
        ];
        for record in records.into_iter().flatten() {
            if let Ok(bytes) = postcard::to_stdvec(&record) {
                wal::frame(&bytes, &mut out);
            }
        }
        out
    }
}

type Done = Box<dyn FnOnce(io::Result<()>) + Send>;

enum Job {
    Write {
        framed: Vec<u8>,
        max_index: Option<u64>,
        sync: bool,
        done: Option<Done>,
    },
    RemoveUpTo(u64),
}

/// The Raft log store (cheap to clone; clones share the same log).
#[derive(Clone)]
pub struct LogStore {
    data: Arc<Mutex<LogData>>,
    jobs: mpsc::Sender<Job>,
}

/// What the writer does after a storage I/O error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnIoError {
    /// Log the error and exit the process with [`EXIT_STORAGE`] (a server node).
    Exit,
    /// Stop the writer: every later write fails, nothing more is acknowledged
    /// (tests, which must not exit).
    Stop,
}

/// How the log is opened.
#[derive(Debug)]
pub struct LogOptions {
    /// What an I/O error does.
    pub on_error: OnIoError,
    /// The disk fault to inject (tests).
    pub faults: DiskFaults,
    /// Negative control: carry on after an I/O error, as the writer once did.
    pub carry_on_after_error: bool,
    /// Segment size: rotation threshold and preallocation (0: rotate at the
    /// default size, do not preallocate).
    pub segment_bytes: u64,
}

impl LogOptions {
    /// A server node's log: exit on an I/O error; faults and controls from the environment.
    pub fn for_server() -> io::Result<LogOptions> {
        Ok(LogOptions {
            on_error: OnIoError::Exit,
            faults: DiskFaults::from_env()?,
            carry_on_after_error: controls::active(Control::CarryOnAfterIoError),
            segment_bytes: match std::env::var(SEGMENT_BYTES_ENV) {
                Ok(v) => v.parse().map_err(|_| {
                    io::Error::other(format!("{SEGMENT_BYTES_ENV}={v:?} is not a number"))
                })?,
                Err(_) => SEGMENT_BYTES,
            },
        })
    }

    /// A log whose writer only stops on an I/O error (tests).
    pub fn stop_on_error() -> LogOptions {
        LogOptions {
            on_error: OnIoError::Stop,
            faults: DiskFaults::none(),
            carry_on_after_error: false,
            segment_bytes: 64 << 10,
        }
    }
}

/// Where recovery found the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogRecovery {
    pub entries: usize,
    pub truncated_bytes: u64,
}

fn encode(record: &Record, out: &mut Vec<u8>) -> io::Result<()> {
    let bytes = postcard::to_stdvec(record).map_err(io::Error::other)?;
    wal::frame(&bytes, out);
    Ok(())
}

/// Decodes one record's payload (as read back from the write-ahead log).
pub(crate) fn decode_record(bytes: &[u8]) -> io::Result<Record> {
    postcard::from_bytes(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Replays the records recovered from the write-ahead log (oldest segment
/// first): the log, and the highest entry index written to each segment.
pub(crate) fn replay(
    segments: Vec<(u64, Vec<Vec<u8>>)>,
) -> io::Result<(LogData, BTreeMap<u64, u64>)> {
    let mut data = LogData::default();
    let mut segment_max = BTreeMap::new();
    for (seq, records) in segments {
        for bytes in records {
            let record = decode_record(&bytes)?;
            if let Record::Entry(e) = &record {
                segment_max.insert(seq, e.log_id.index);
            }
            data.replay(record);
        }
    }
    Ok((data, segment_max))
}

impl LogStore {
    /// Opens the log in `dir`, replaying (and repairing) what is on disk.
    pub fn open(dir: &Path, mut options: LogOptions) -> io::Result<(LogStore, LogRecovery)> {
        let faults = std::mem::take(&mut options.faults);
        let (mut wal, recovered) = Wal::open_preallocated(dir, faults, options.segment_bytes)?;
        let (data, segment_max) = replay(recovered.segments)?;
        if wal.is_old_format() {
            wal.rotate(&data.header())?;
        }
        let recovery = LogRecovery {
            entries: data.entries.len(),
            truncated_bytes: recovered.truncated_bytes,
        };
        let data = Arc::new(Mutex::new(data));
        let (jobs, rx) = mpsc::channel();
        let writer = Writer {
            wal,
            options,
            data: data.clone(),
            segment_max,
        };
        std::thread::Builder::new()
            .name("tenure-wal".into())
            .spawn(move || writer.run(rx))?;
        Ok((LogStore { data, jobs }, recovery))
    }

    fn submit(&self, job: Job) -> io::Result<()> {
        self.jobs
            .send(job)
            .map_err(|_| io::Error::other("log writer stopped"))
    }

    /// The last committed log id this node knows of.
    pub fn committed(&self) -> Option<LogId> {
        self.data.lock().committed
    }

    async fn write_and_wait(&self, record: Record) -> io::Result<()> {
        let mut framed = Vec::new();
        encode(&record, &mut framed)?;
        let (tx, rx) = oneshot::channel();
        self.submit(Job::Write {
            framed,
            max_index: None,
            sync: true,
            done: Some(Box::new(move |r| {
                let _ = tx.send(r);
            })),
        })?;
        rx.await
            .unwrap_or_else(|_| Err(io::Error::other("log writer stopped")))
    }
}

struct Writer {
    wal: Wal,
    options: LogOptions,
    data: Arc<Mutex<LogData>>,
    /// Highest entry index written to each segment.
    segment_max: BTreeMap<u64, u64>,
}

impl Writer {
    fn run(mut self, rx: mpsc::Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            // Take everything queued: one sync covers all of it (group commit).
            let mut jobs = vec![first];
            jobs.extend(rx.try_iter());
            let (result, done) = self.run_batch(jobs);
            let failed = result.as_ref().err().map(|e| e.to_string());
            if let Some(error) = &failed
                && !self.options.carry_on_after_error
            {
                // Before any callback: openraft must not act on the failure either.
                self.fail(error);
            }
            for d in done {
                d(match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                });
            }
            if let Some(error) = failed {
                if self.options.carry_on_after_error {
                    tracing::error!(%error, "write-ahead log I/O failed (negative control: carrying on)");
                    continue;
                }
                for job in rx.try_iter() {
                    if let Job::Write { done: Some(d), .. } = job {
                        d(Err(io::Error::other(
                            "log writer stopped after an I/O error",
                        )));
                    }
                }
                return;
            }
        }
    }

    /// Writes a batch of jobs and syncs them; stops at the first error, so no
    /// frame is ever written after a failed one.
    fn run_batch(&mut self, jobs: Vec<Job>) -> (io::Result<()>, Vec<Done>) {
        let mut done = Vec::new();
        let mut remove_up_to = None;
        let mut sync = false;
        let mut result = Ok(());
        for job in jobs {
            match job {
                Job::Write {
                    framed,
                    max_index,
                    sync: s,
                    done: d,
                } => {
                    done.extend(d);
                    if result.is_err() {
                        continue;
                    }
                    result = self.wal.write(&framed);
                    if let Some(index) = max_index {
                        self.segment_max.insert(self.wal.current_segment(), index);
                    }
                    sync |= s;
                }
                Job::RemoveUpTo(index) => remove_up_to = Some(index),
            }
        }
        if sync && result.is_ok() {
            result = self.wal.sync();
        }
        let rotate_at = match self.options.segment_bytes {
            0 => SEGMENT_BYTES,
            n => n,
        };
        if result.is_ok() && self.wal.current_len() > rotate_at {
            let header = self.data.lock().header();
            result = self.wal.rotate(&header);
        }
        // Only after the purge record is durable may purged segments go.
        if let (Ok(()), Some(index)) = (&result, remove_up_to) {
            result = self.remove_up_to(index);
        }
        (result, done)
    }

    /// After an I/O error: nothing more is written or acknowledged. The process
    /// exits, unless the owner asked the writer only to stop (then the batch and
    /// every job still queued fail). An fsync error is never retried: the kernel
    /// may already have dropped the dirty pages it failed to write.
    fn fail(&self, error: &str) {
        tracing::error!(
            %error,
            "storage I/O failed; stopping this node so that nothing not durable is acknowledged (restart recovers from the last good frame)"
        );
        if self.options.on_error == OnIoError::Exit {
            std::process::exit(EXIT_STORAGE);
        }
    }

    /// Deletes segments whose every entry is at or below `index` (purged).
    fn remove_up_to(&mut self, index: u64) -> io::Result<()> {
        let current = self.wal.current_segment();
        let mut keep_from = current;
        for (&seq, &max) in &self.segment_max {
            if seq < current && max > index {
                keep_from = keep_from.min(seq);
            }
        }
        self.wal.remove_before(keep_from)?;
        self.segment_max.retain(|&seq, _| seq >= keep_from);
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + std::fmt::Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<Entry>> {
        let data = self.data.lock();
        Ok(data.entries.range(range).map(|(_, e)| e.clone()).collect())
    }

    async fn read_vote(&mut self) -> io::Result<Option<Vote>> {
        Ok(self.data.lock().vote)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> io::Result<LogState<TypeConfig>> {
        let data = self.data.lock();
        let last = data.entries.values().next_back().map(|e| e.log_id);
        Ok(LogState {
            last_purged_log_id: data.purged,
            last_log_id: last.or(data.purged),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    /// Durable when it returns (openraft awaits it before acting on the vote).
    async fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        self.data.lock().vote = Some(*vote);
        self.write_and_wait(Record::Vote(*vote)).await
    }

    /// Kept in memory and written with the next append (not on its own):
    /// losing it in a crash only means re-learning it from the leader (or, on
    /// a single node, from the first commit of its next term), and a write of
    /// its own would wake the writer thread on every commit, on every node,
    /// just as the leader answers the client.
    async fn save_committed(&mut self, committed: Option<LogId>) -> io::Result<()> {
        let mut data = self.data.lock();
        data.committed = committed;
        data.committed_unwritten = true;
        Ok(())
    }

    async fn read_committed(&mut self) -> io::Result<Option<LogId>> {
        Ok(self.data.lock().committed)
    }

    /// Returns once the entries are readable (in memory) and queued for the
    /// writer; `callback` reports them flushed from the writer thread after
    /// their fdatasync. openraft replicates them meanwhile and counts this node
    /// toward the commit quorum only once flushed (G4).
    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> io::Result<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut framed = Vec::new();
        let mut max_index = None;
        {
            let mut data = self.data.lock();
            if std::mem::take(&mut data.committed_unwritten) {
                encode(&Record::Committed(data.committed), &mut framed)?;
            }
            for entry in entries {
                encode(&Record::Entry(entry.clone()), &mut framed)?;
                max_index = Some(entry.log_id.index);
                data.replay(Record::Entry(entry));
            }
        }
        let index = max_index.unwrap_or(0);
        steps::step("wal.append", index);
        self.submit(Job::Write {
            framed,
            max_index,
            sync: true,
            done: Some(Box::new(move |r| {
                steps::step("wal.flushed", index);
                callback.io_completed(r)
            })),
        })
    }

    /// Keeps `last` and everything before it (None: keeps nothing).
    async fn truncate_after(&mut self, last: Option<LogId>) -> io::Result<()> {
        // The record names the first index removed (its meaning since format 0).
        let since = last.map_or(0, |l| l.index.saturating_add(1));
        self.data.lock().replay(Record::Truncate(since));
        self.write_and_wait(Record::Truncate(since)).await
    }

    async fn purge(&mut self, log_id: LogId) -> io::Result<()> {
        self.data.lock().purge(log_id);
        let mut framed = Vec::new();
        encode(&Record::Purged(log_id), &mut framed)?;
        self.submit(Job::Write {
            framed,
            max_index: None,
            sync: true,
            done: None,
        })?;
        self.submit(Job::RemoveUpTo(log_id.index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::faults::DiskFault;

    /// Appends six records one batch at a time with `fault` armed, then reopens
    /// the log without faults: every record acknowledged must be there.
    fn acknowledged_records_survive(fault: DiskFault, carry_on: bool) -> Result<usize, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        // Operation 1 of each kind is the new segment's header.
        let (wal, _) =
            Wal::open_with(dir.path(), DiskFaults::at(fault, 3)).map_err(|e| e.to_string())?;
        let writer = Writer {
            wal,
            options: LogOptions {
                carry_on_after_error: carry_on,
                ..LogOptions::stop_on_error()
            },
            data: Arc::default(),
            segment_max: BTreeMap::new(),
        };
        let (jobs, rx) = mpsc::channel();
        let thread = std::thread::spawn(move || writer.run(rx));
        let mut acked = Vec::new();
        for i in 0..6u8 {
            let mut framed = Vec::new();
            wal::frame(&[i; 100], &mut framed);
            let (tx, answer) = mpsc::channel();
            let sent = jobs.send(Job::Write {
                framed,
                max_index: None,
                sync: true,
                done: Some(Box::new(move |r| {
                    let _ = tx.send(r.is_ok());
                })),
            });
            if sent.is_ok() && answer.recv() == Ok(true) {
                acked.push(vec![i; 100]);
            }
        }
        drop(jobs);
        thread.join().map_err(|_| "writer panicked".to_string())?;
        let (_, recovered) = Wal::open_with(dir.path(), DiskFaults::none())
            .map_err(|e| format!("acknowledged {} records, then: {e}", acked.len()))?;
        let kept: Vec<Vec<u8>> = recovered
            .segments
            .into_iter()
            .flat_map(|(_, r)| r)
            .collect();
        match acked.iter().find(|r| !kept.contains(r)) {
            Some(lost) => Err(format!("acknowledged record {} was lost", lost[0])),
            None => Ok(acked.len()),
        }
    }

    #[test]
    fn nothing_is_acknowledged_after_an_io_error_and_all_acknowledged_survives() {
        for fault in [
            DiskFault::WriteError,
            DiskFault::PartialWrite,
            DiskFault::NoSpace,
            DiskFault::FsyncError,
        ] {
            let acked = acknowledged_records_survive(fault, false);
            // Batch 1 (write op 2) succeeds; batch 2 hits the fault; nothing after.
            assert_eq!(acked, Ok(1), "{fault:?}");
        }
    }

    #[tokio::test]
    async fn the_commit_index_is_written_with_the_next_append_not_on_its_own() -> io::Result<()> {
        use openraft::EntryPayload;
        let dir = tempfile::tempdir()?;
        let open = || LogStore::open(dir.path(), LogOptions::stop_on_error()).map(|(s, _)| s);
        let entry = |i| Entry {
            log_id: crate::raft::log_id(1, 1, i),
            payload: EntryPayload::Blank,
        };
        let vote = Vote::new_committed(1, 1);
        let mut log = open()?;
        log.append([entry(1), entry(2)], IOFlushed::noop()).await?;
        log.save_committed(Some(entry(1).log_id)).await?;
        assert_eq!(log.committed(), Some(entry(1).log_id));
        // A vote is written and synced after everything queued before it.
        log.save_vote(&vote).await?;
        drop(log);
        let mut log = open()?;
        assert_eq!(log.committed(), None, "no append came after it");
        log.save_committed(Some(entry(2).log_id)).await?;
        log.append([entry(3)], IOFlushed::noop()).await?;
        log.save_vote(&vote).await?;
        drop(log);
        assert_eq!(open()?.committed(), Some(entry(2).log_id));
        Ok(())
    }

    #[test]
    fn negative_control_carrying_on_after_a_partial_write_is_caught() {
        let result = acknowledged_records_survive(DiskFault::PartialWrite, true);
        assert!(result.is_err(), "the check must see the damage: {result:?}");
    }
}
