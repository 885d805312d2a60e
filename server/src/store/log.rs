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

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{RaftLogReader, StorageIOError, Vote};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use super::wal::{self, Wal};
use crate::raft::{Entry, LogId, NodeId, StorageError, TypeConfig};

/// A new segment is started once the current one exceeds this size.
const SEGMENT_BYTES: u64 = 64 << 20;

#[derive(Serialize, Deserialize)]
enum Record {
    Entry(Entry),
    Truncate(u64),
    Purged(LogId),
    Vote(Vote<NodeId>),
    Committed(Option<LogId>),
}

#[derive(Default)]
struct LogData {
    entries: BTreeMap<u64, Entry>,
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId>,
    purged: Option<LogId>,
}

impl LogData {
    fn replay(&mut self, record: Record) {
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

    fn purge(&mut self, log_id: LogId) {
        self.entries = self.entries.split_off(&(log_id.index + 1));
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

/// Where recovery found the log.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogRecovery {
    pub entries: usize,
    pub truncated_bytes: u64,
}

fn encode(record: &Record, out: &mut Vec<u8>) -> Result<(), StorageError> {
    let bytes = postcard::to_stdvec(record).map_err(|e| StorageIOError::write_logs(&e))?;
    wal::frame(&bytes, out);
    Ok(())
}

impl LogStore {
    /// Opens the log in `dir`, replaying (and repairing) what is on disk.
    pub fn open(dir: &Path) -> io::Result<(LogStore, LogRecovery)> {
        let (wal, recovered) = Wal::open(dir)?;
        let mut data = LogData::default();
        let mut segment_max = BTreeMap::new();
        for (seq, records) in recovered.segments {
            for bytes in records {
                let record: Record = postcard::from_bytes(&bytes)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                if let Record::Entry(e) = &record {
                    segment_max.insert(seq, e.log_id.index);
                }
                data.replay(record);
            }
        }
        let recovery = LogRecovery {
            entries: data.entries.len(),
            truncated_bytes: recovered.truncated_bytes,
        };
        let data = Arc::new(Mutex::new(data));
        let (jobs, rx) = mpsc::channel();
        let writer = Writer {
            wal,
            data: data.clone(),
            segment_max,
        };
        std::thread::Builder::new()
            .name("tenure-wal".into())
            .spawn(move || writer.run(rx))?;
        Ok((LogStore { data, jobs }, recovery))
    }

    fn submit(&self, job: Job) -> Result<(), StorageError> {
        self.jobs
            .send(job)
            .map_err(|_| StorageIOError::write_logs(&io::Error::other("log writer stopped")).into())
    }

    /// The last committed log id this node knows of.
    pub fn committed(&self) -> Option<LogId> {
        self.data.lock().committed
    }

    async fn write_and_wait(&self, record: Record) -> Result<(), StorageError> {
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
        match rx.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StorageIOError::write_logs(&e).into()),
            Err(_) => {
                Err(StorageIOError::write_logs(&io::Error::other("log writer stopped")).into())
            }
        }
    }
}

struct Writer {
    wal: Wal,
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
                        if result.is_ok() {
                            result = self.wal.write(&framed);
                        }
                        if let Some(index) = max_index {
                            self.segment_max.insert(self.wal.current_segment(), index);
                        }
                        sync |= s;
                        done.extend(d);
                    }
                    Job::RemoveUpTo(index) => remove_up_to = Some(index),
                }
            }
            if sync && result.is_ok() {
                result = self.wal.sync();
            }
            if result.is_ok() && self.wal.current_len() > SEGMENT_BYTES {
                let header = self.data.lock().header();
                result = self.wal.rotate(&header);
            }
            if let Err(e) = &result {
                tracing::error!(error = %e, "write-ahead log I/O failed");
            }
            // Only after the purge record is durable may purged segments go.
            if let (Ok(()), Some(index)) = (&result, remove_up_to)
                && let Err(e) = self.remove_up_to(index)
            {
                tracing::warn!(error = %e, "could not delete old log segments");
            }
            for d in done {
                d(match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
                });
            }
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
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + std::fmt::Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let data = self.data.lock();
        Ok(data.entries.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
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

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError> {
        self.data.lock().vote = Some(*vote);
        self.write_and_wait(Record::Vote(*vote)).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError> {
        Ok(self.data.lock().vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not synced on its own: losing it in a crash only means re-learning it.
        self.data.lock().committed = committed;
        let mut framed = Vec::new();
        encode(&Record::Committed(committed), &mut framed)?;
        self.submit(Job::Write {
            framed,
            max_index: None,
            sync: false,
            done: None,
        })
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.data.lock().committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut framed = Vec::new();
        let mut max_index = None;
        {
            let mut data = self.data.lock();
            for entry in entries {
                encode(&Record::Entry(entry.clone()), &mut framed)?;
                max_index = Some(entry.log_id.index);
                data.replay(Record::Entry(entry));
            }
        }
        self.submit(Job::Write {
            framed,
            max_index,
            sync: true,
            done: Some(Box::new(move |r| callback.log_io_completed(r))),
        })
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.data.lock().replay(Record::Truncate(log_id.index));
        self.write_and_wait(Record::Truncate(log_id.index)).await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
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
