//! Keepalives: not logged, answered only after a leadership check that began
//! after they arrived (DESIGN "Sessions and failover").
//!
//! Requests from every connection queue up; one task takes all of them, runs one
//! quorum round (`get_read_log_id`), and answers the whole batch. A deposed or
//! isolated leader's round fails, so it renews nobody.
//!
//! A session that may have a remaining-TTL checkpoint in the log is renewed only
//! once a `ClearCheckpoint` queued behind that checkpoint is committed: a later
//! leader then sees the clear (and grants a whole TTL), never the stale
//! checkpoint (docs/design.md, "Remaining-TTL checkpoints").

use openraft::async_runtime::watch::WatchReceiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tenure_proto::v1::LeaseStatus;
use tokio::sync::{mpsc, oneshot, watch};

use super::leadership::Leadership;
use super::leases::Renewal;
use super::proposer::{ProposeError, Proposer};
use crate::controls::{self, Control};
use crate::machine::{Command, Outcome, SessionId};
use crate::metrics::Metrics;
use crate::raft::NodeId;
use crate::store::state::Shared;

/// One session's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The session.
    pub session: SessionId,
    /// Renewed, expired, blacklisted or not-leader.
    pub status: LeaseStatus,
    /// The session's TTL (0 unless renewed).
    pub ttl_ms: u64,
    /// Force-released grants of the session (recent ones).
    pub revoked: Vec<u128>,
    /// Held grants of the session someone asked to release.
    pub release_requested: Vec<u128>,
}

/// The answer to one keepalive request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Per-session results.
    Leases(Vec<Lease>),
    /// This node cannot renew: it is not a confirmed leader.
    NotLeader(Option<(NodeId, String)>),
}

struct Pending {
    arrived: Instant,
    sessions: Vec<SessionId>,
    reply: oneshot::Sender<Answer>,
}

/// Handle for submitting keepalives (cheap to clone).
#[derive(Clone)]
pub struct KeepAlives {
    tx: mpsc::UnboundedSender<Pending>,
}

/// The receiving end, driven by [`Renewer::run`].
pub struct KeepAliveQueue(mpsc::UnboundedReceiver<Pending>);

impl KeepAlives {
    /// A new queue.
    pub fn new() -> (KeepAlives, KeepAliveQueue) {
        let (tx, rx) = mpsc::unbounded_channel();
        (KeepAlives { tx }, KeepAliveQueue(rx))
    }

    /// Submits a keepalive that arrived now; resolves with its answer.
    pub async fn submit(&self, sessions: Vec<SessionId>) -> Answer {
        let (reply, rx) = oneshot::channel();
        let pending = Pending {
            arrived: Instant::now(),
            sessions,
            reply,
        };
        if self.tx.send(pending).is_err() {
            return Answer::NotLeader(None);
        }
        rx.await.unwrap_or(Answer::NotLeader(None))
    }
}

/// The keepalive task: what it needs of the node to renew sessions.
pub struct Renewer {
    /// Whether this node may renew (a ready leader with a quorum).
    pub leadership: Leadership,
    /// The applied state and the leases in it.
    pub shared: Arc<Mutex<Shared>>,
    /// For the checkpoint clears that some renewals wait for.
    pub proposer: Proposer,
    /// Keepalive counters.
    pub metrics: Arc<Metrics>,
}

impl Renewer {
    /// Answers queued keepalives in batches, one leadership check per batch.
    pub async fn run(self, queue: KeepAliveQueue, stop: watch::Receiver<bool>) {
        answer_batches(&self, queue, stop).await
    }
}

async fn answer_batches(renewer: &Renewer, queue: KeepAliveQueue, mut stop: watch::Receiver<bool>) {
    let Renewer {
        leadership,
        shared,
        metrics,
        ..
    } = renewer;
    let mut rx = queue.0;
    loop {
        let first = tokio::select! {
            p = rx.recv() => match p { Some(p) => p, None => return },
            _ = stop.changed() => return,
        };
        let mut batch = vec![first];
        while let Ok(p) = rx.try_recv() {
            batch.push(p);
        }
        let answered = confirm_leadership(leadership).await;
        metrics.keepalive_rounds.inc();
        for pending in batch {
            metrics.keepalives.inc();
            if !answered {
                let leader = leadership.leader().filter(|(id, _)| *id != leadership.id);
                let _ = pending.reply.send(Answer::NotLeader(leader));
                continue;
            }
            let (leases, clears) = renew(renewer, &pending);
            if clears.is_empty() {
                let _ = pending.reply.send(Answer::Leases(leases));
            } else {
                // Answer once the clears are committed, without holding up the
                // next batch.
                tokio::spawn(answer_after_clears(
                    shared.clone(),
                    pending.reply,
                    leases,
                    clears,
                ));
            }
        }
    }
}

/// A renewal that may be acknowledged only once its clear is committed.
struct Clear {
    /// Index of the session's answer.
    index: usize,
    ticket: u64,
    committed: std::pin::Pin<Box<dyn Future<Output = Result<Outcome, ProposeError>> + Send>>,
}

async fn answer_after_clears(
    shared: Arc<Mutex<Shared>>,
    reply: oneshot::Sender<Answer>,
    mut leases: Vec<Lease>,
    clears: Vec<Clear>,
) {
    for clear in clears {
        let result = clear.committed.await;
        let Some(lease) = leases.get_mut(clear.index) else {
            continue;
        };
        match result {
            Ok(Outcome::Checkpointed) => {
                shared.lock().leases.cleared(lease.session, clear.ticket);
                continue;
            }
            Ok(_) => lease.status = LeaseStatus::LeaseExpired,
            Err(e) => {
                tracing::debug!(session = lease.session, error = %e, "checkpoint clear not committed");
                lease.status = LeaseStatus::LeaseNotLeader;
            }
        }
        lease.ttl_ms = 0;
    }
    let _ = reply.send(Answer::Leases(leases));
}

/// Waits (briefly) for this node's leadership to be ready, then runs one quorum
/// round that starts now, after every request of the batch arrived.
async fn confirm_leadership(leadership: &Leadership) -> bool {
    let raft = &leadership.raft;
    let mut ready = leadership.ready.clone();
    let is_leader = raft.metrics().borrow_watched().current_leader == Some(leadership.id);
    if ready.borrow().is_none() {
        if !is_leader {
            return false;
        }
        let wait = leadership.timing.leadership_wait();
        if !matches!(
            tokio::time::timeout(wait, ready.wait_for(|r| r.is_some())).await,
            Ok(Ok(_))
        ) {
            return false;
        }
    }
    let epoch = *ready.borrow();
    if controls::active(Control::KeepaliveWithoutRound) {
        return is_leader && epoch.is_some();
    }
    let round = tokio::time::timeout(
        leadership.timing.heartbeat * 2 + Duration::from_millis(50),
        raft.get_read_log_id(openraft::ReadPolicy::ReadIndex),
    )
    .await;
    matches!(round, Ok(Ok(_))) && *leadership.ready.borrow() == epoch && epoch.is_some()
}

/// Renews the sessions of one request; the renewals that need a committed
/// clear first come back in the second list (their clears already queued).
fn renew(renewer: &Renewer, pending: &Pending) -> (Vec<Lease>, Vec<Clear>) {
    let mut shared = renewer.shared.lock();
    let shared = &mut *shared;
    let mut clears = Vec::new();
    let leases = pending
        .sessions
        .iter()
        .enumerate()
        .map(|(index, &session)| {
            let machine = &shared.machine;
            let lease = |status, ttl_ms, revoked| Lease {
                session,
                status,
                ttl_ms,
                revoked,
                release_requested: machine.release_requests(session),
            };
            let Some(s) = machine.session(session) else {
                return lease(LeaseStatus::LeaseExpired, 0, Vec::new());
            };
            let revoked = s.revoked().collect();
            if s.blacklisted {
                return lease(LeaseStatus::LeaseBlacklisted, 0, revoked);
            }
            let ttl = Duration::from_millis(s.ttl_ms);
            match shared.leases.renew(session, ttl, pending.arrived) {
                Renewal::Refused => lease(LeaseStatus::LeaseExpired, 0, revoked),
                Renewal::Renewed => lease(LeaseStatus::LeaseOk, s.ttl_ms, revoked),
                Renewal::AfterClear(ticket) => {
                    // Queued under the state lock: it follows every checkpoint
                    // of this session queued so far (leases.rs).
                    let committed = Box::pin(
                        renewer
                            .proposer
                            .submit(Command::ClearCheckpoint { session }),
                    );
                    clears.push(Clear {
                        index,
                        ticket,
                        committed,
                    });
                    lease(LeaseStatus::LeaseOk, s.ttl_ms, revoked)
                }
            }
        })
        .collect();
    (leases, clears)
}
