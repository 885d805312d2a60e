//! Group commit: commands from many requests go into one log entry.
//!
//! One task takes every command queued, packs them into a [`Batch`] and hands it
//! to Raft; while up to `MAX_IN_FLIGHT` batches are being replicated, new
//! commands queue up for the next one. Each caller gets its own command's
//! outcome once the entry is committed and applied (so it is on disk on a
//! majority, G4). Batches are stamped with this leadership's [`LeaderClock`].

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openraft::errors::{ClientWriteError, ForwardReason};
use parking_lot::Mutex;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::controls::{self, Control};
use crate::leader_clock::LeaderClock;
use crate::machine::{Batch, Command, Outcome};
use crate::metrics::Metrics;
use crate::raft::{ClientWriteResult, FnResponder, LeaderId, NodeId, Raft, TypeConfig};
use crate::steps;
use crate::store::state::Shared;
use openraft::async_runtime::watch::WatchReceiver;

/// Most commands in one log entry.
pub const MAX_BATCH: usize = 4_096;
/// Entries replicating at once; more commands wait for the next entry.
pub const MAX_IN_FLIGHT: usize = 2;
/// How long a proposal may take before the caller gets Unavailable.
pub const PROPOSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a proposal did not produce an outcome.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProposeError {
    /// This node is not the leader; the leader is given if known.
    #[error("not the leader")]
    NotLeader(Option<(NodeId, String)>),
    /// The proposal may or may not have been applied (timeout, shutdown).
    #[error("unavailable: {0}")]
    Unavailable(String),
}

type Reply = oneshot::Sender<Result<Outcome, ProposeError>>;

/// Handle for proposing commands (cheap to clone).
#[derive(Clone)]
pub struct Proposer {
    tx: mpsc::UnboundedSender<(Command, Reply)>,
    stamper: Stamper,
}

/// The leader clock of the leadership this node is in, started on first use.
#[derive(Clone)]
struct Stamper {
    raft: Raft,
    shared: Arc<Mutex<Shared>>,
    clock: Arc<Mutex<Option<EpochClock>>>,
}

/// A leadership and its clock.
type EpochClock = (LeaderId, LeaderClock);

impl Stamper {
    /// The current leadership's clock time; a new leadership (or this process's
    /// first) starts its clock from the applied state. If that state is not yet
    /// current, the first stamp falls behind the machine's last one and moves
    /// its clock by nothing, which makes timers late by that much, never early.
    fn now_ms(&self) -> u64 {
        let epoch = self.raft.metrics().borrow_watched().vote.leader_id;
        if let Some((e, clock)) = self.clock.lock().as_mut()
            && *e == epoch
        {
            return clock.now_at(now_ms(), Instant::now());
        }
        // Read the machine with no other lock held (no code holds two locks).
        let (machine_ms, stamp_ms) = {
            let shared = self.shared.lock();
            (shared.machine.time_ms(), shared.machine.stamp_ms())
        };
        let mut guard = self.clock.lock();
        let entry = match guard.take() {
            // Another caller started it meanwhile.
            Some(entry) if entry.0 == epoch => entry,
            _ => {
                tracing::info!(
                    term = epoch.term,
                    machine_ms,
                    stamp_ms,
                    "leader clock started"
                );
                let clock = LeaderClock::start(machine_ms, stamp_ms, now_ms(), Instant::now());
                (epoch, clock)
            }
        };
        let (_, clock) = guard.insert(entry);
        clock.now_at(now_ms(), Instant::now())
    }
}

/// Unix time in milliseconds (the wall clock).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Proposer {
    /// Starts the batching task for `raft`; `shared` holds the applied state
    /// the leader clock starts from.
    pub fn start(raft: Raft, shared: Arc<Mutex<Shared>>, metrics: Arc<Metrics>) -> Proposer {
        let (tx, rx) = mpsc::unbounded_channel();
        let stamper = Stamper {
            raft: raft.clone(),
            shared,
            clock: Arc::new(Mutex::new(None)),
        };
        tokio::spawn(run(raft, rx, stamper.clone(), metrics));
        Proposer { tx, stamper }
    }

    /// This leadership's clock time (Unix ms, approximately): what the next
    /// batch will be stamped with, for timing `Tick`s.
    pub fn clock_ms(&self) -> u64 {
        self.stamper.now_ms()
    }

    /// Proposes one command and waits for its outcome.
    pub async fn propose(&self, command: Command) -> Result<Outcome, ProposeError> {
        self.submit(command).await
    }

    /// Queues one command at once and returns a future for its outcome. Within
    /// a leadership the log holds commands in the order they were queued, so
    /// a caller that must order a proposal with in-memory state (leases.rs)
    /// calls this while it holds the lock of that state.
    pub fn submit(
        &self,
        command: Command,
    ) -> impl Future<Output = Result<Outcome, ProposeError>> + Send + 'static {
        let (reply, rx) = oneshot::channel();
        let queued = self.tx.send((command, reply)).is_ok();
        async move {
            if !queued {
                return Err(ProposeError::Unavailable("server is shutting down".into()));
            }
            match tokio::time::timeout(PROPOSE_TIMEOUT, rx).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(ProposeError::Unavailable("proposal dropped".into())),
                Err(_) => Err(ProposeError::Unavailable(
                    "proposal not committed in time (no quorum?)".into(),
                )),
            }
        }
    }
}

async fn run(
    raft: Raft,
    mut rx: mpsc::UnboundedReceiver<(Command, Reply)>,
    stamper: Stamper,
    metrics: Arc<Metrics>,
) {
    let slots = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let mut speculation = Speculation::default();
    while let Some(first) = rx.recv().await {
        // The grant-without-quorum control does not wait for earlier entries
        // to commit: an isolated leader goes on answering grants.
        let permit = if controls::active(Control::GrantWithoutQuorum) {
            None
        } else {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            Some(permit)
        };
        // Take whatever queued up while the previous entries were in flight.
        let mut pending = vec![first];
        while pending.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => pending.push(p),
                Err(_) => break,
            }
        }
        let (commands, replies): (Vec<Command>, Vec<Reply>) = pending.into_iter().unzip();
        let mut replies: Vec<Option<Reply>> = replies.into_iter().map(Some).collect();
        metrics.batches.inc();
        metrics.proposals.inc_by(commands.len() as u64);
        let started = std::time::Instant::now();
        let metrics = metrics.clone();
        let batch = Batch {
            time_ms: stamper.now_ms(),
            commands,
        };
        if controls::active(Control::GrantWithoutQuorum) {
            speculation.answer_grants_early(&stamper, &batch, &mut replies);
        }
        steps::step("propose", 0);
        // The state machine answers the batch's callers from its apply, in
        // the responder; the permit goes with it.
        let responder = FnResponder::new(move |result: ClientWriteResult| {
            steps::step("proposer.outcome", 0);
            drop(permit);
            metrics
                .commit_seconds
                .observe(started.elapsed().as_secs_f64());
            match result {
                Ok(resp) => {
                    for (reply, outcome) in replies.into_iter().zip(resp.data) {
                        if let Some(reply) = reply {
                            let _ = reply.send(Ok(outcome));
                        }
                    }
                }
                Err(e) => fail_all(replies, write_error(e)),
            }
        });
        // Queued in order; the entry's outcome arrives through the responder.
        if let Err(fatal) = raft.client_write_ff(batch, Some(responder)).await {
            tracing::error!(error = %fatal, "raft stopped; the proposer stops");
            return;
        }
    }
}

/// What a failed write means for its callers.
fn write_error(e: ClientWriteError<TypeConfig>) -> ProposeError {
    match e {
        // The built-in check-quorum: this node leads but has not heard from a
        // quorum lately; retry later (maybe elsewhere).
        ClientWriteError::ForwardToLeader(f) if f.reason == ForwardReason::LeaseExpired => {
            ProposeError::Unavailable("the leader has not heard from a quorum recently".into())
        }
        ClientWriteError::ForwardToLeader(f) => {
            let leader = f.leader_id.zip(f.leader_node.map(|n| n.addr));
            ProposeError::NotLeader(leader)
        }
        // Truncated or purged before it committed: the outcome is unknown.
        other => ProposeError::Unavailable(other.to_string()),
    }
}

fn fail_all(replies: Vec<Option<Reply>>, error: ProposeError) {
    for reply in replies.into_iter().flatten() {
        let _ = reply.send(Err(error.clone()));
    }
}

/// The negative control `grant-without-quorum`: a copy of the state machine
/// that applies each batch as it is proposed, so that requests (grants and
/// releases among them) are answered before the entry is on a majority (what
/// asynchronous replication does).
#[derive(Default)]
struct Speculation {
    machine: Option<(LeaderId, crate::machine::Machine)>,
}

impl Speculation {
    /// Applies `batch` to this leadership's copy (taken from the applied state
    /// at its first batch) and answers every final outcome in it at once.
    fn answer_grants_early(
        &mut self,
        stamper: &Stamper,
        batch: &Batch,
        replies: &mut [Option<Reply>],
    ) {
        let epoch = stamper.raft.metrics().borrow_watched().vote.leader_id;
        if self.machine.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let copy = stamper.shared.lock().machine.clone();
            self.machine = Some((epoch, copy));
        }
        let Some((_, machine)) = self.machine.as_mut() else {
            return;
        };
        let outcomes = machine.apply(batch, &mut Vec::new());
        for (reply, outcome) in replies.iter_mut().zip(outcomes) {
            // A queued acquire's grant comes later, from the log.
            if outcome != Outcome::Queued
                && let Some(reply) = reply.take()
            {
                let _ = reply.send(Ok(outcome));
            }
        }
    }
}
