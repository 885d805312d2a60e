//! What only a leader does: start each leadership by giving every session its
//! remaining TTL (a whole TTL unless checkpointed), expire sessions whose
//! deadline passed and checkpoint the remaining time of the others (through the
//! log), and propose `Tick`s when a wait deadline or lock-delay comes due.

use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::ServerState;
use openraft::async_runtime::watch::WatchReceiver;
use parking_lot::Mutex;
use tokio::sync::{Notify, watch};

use super::leadership::Leadership;
use super::proposer::Proposer;
use crate::machine::{Command, MAX_TIMED_STEP_MS, SessionId};
use crate::metrics::Metrics;
use crate::raft::LeaderId;
use crate::store::state::Shared;

/// How often the reaper looks for expired sessions.
const REAP_INTERVAL: Duration = Duration::from_millis(50);
/// Most expiries proposed per round (they share log entries anyway).
const REAP_BATCH: usize = 4_096;
/// While a wait or lock-delay is pending, the leader ticks at least this often,
/// so that no step of the machine clock is cut by its bound (`MAX_TIMED_STEP_MS`).
const KEEP_UP_MS: u64 = MAX_TIMED_STEP_MS / 2;
/// How often the timer task looks again when nothing is pending.
const TIMER_RECHECK: Duration = Duration::from_secs(1);

fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Publishes in `ready` the leadership for which this node has reset deadlines.
///
/// A new leadership (or the same one after a restart: `handled` lives in memory)
/// first waits until its blank entry is applied and so is every entry its log
/// held when it began. A leader restarted into the same term has no new blank
/// entry, and its log may end with an `ExpireSession` (or a checkpoint or
/// clear) it proposed before the restart that is not yet committed: only once
/// that is applied does the machine show what may still commit. Then every
/// session gets now + min(TTL, checkpointed remaining), and proposed expiries
/// can be forgotten: each one is applied by then (its session ended) or can
/// never commit (not in this leader's log, behind its committed blank entry).
pub async fn watch_leadership(
    leadership: Leadership,
    shared: Arc<Mutex<Shared>>,
    counters: Arc<Metrics>,
    ready: watch::Sender<Option<LeaderId>>,
    mut stop: watch::Receiver<bool>,
) {
    let raft = &leadership.raft;
    let mut metrics = raft.server_metrics();
    let mut handled: Option<LeaderId> = None;
    let mut last_leader = None;
    loop {
        let m = metrics.borrow_and_update().clone();
        if m.current_leader != last_leader {
            last_leader = m.current_leader;
            counters.leader_changes.inc();
        }
        let leading = m.state == ServerState::Leader && m.current_leader == Some(leadership.id);
        let epoch = m.vote.leader_id;
        if !leading {
            handled = None;
            ready.send_replace(None);
        } else if handled != Some(epoch) {
            ready.send_replace(None);
            let confirmed = caught_up(&leadership, epoch).await;
            let still = raft.server_metrics().borrow_watched().vote.leader_id == epoch;
            if confirmed && still {
                {
                    let mut shared = shared.lock();
                    let shared = &mut *shared;
                    shared.leases.reset_all(&shared.machine, Instant::now());
                }
                handled = Some(epoch);
                ready.send_replace(Some(epoch));
                tracing::info!(
                    term = epoch.term,
                    "leading: every session has its remaining TTL"
                );
            } else {
                // Not confirmed yet: look again shortly, metrics may not change.
                tokio::time::sleep(leadership.timing.heartbeat).await;
                continue;
            }
        }
        tokio::select! {
            r = metrics.changed() => if r.is_err() { return },
            _ = stop.changed() => return,
        }
        if stopping(&stop) {
            return;
        }
    }
}

/// Whether this node, leading in `epoch`, has applied its blank entry and every
/// entry its log held when it began leading.
async fn caught_up(leadership: &Leadership, epoch: LeaderId) -> bool {
    let raft = &leadership.raft;
    // The full metrics are sent after the server metrics: read the log's end
    // only once they show this leadership too.
    let own_last = {
        let m = raft.metrics();
        let m = m.borrow_watched();
        let leading = m.state == ServerState::Leader && m.vote.leader_id == epoch;
        if !leading {
            return false;
        }
        m.last_log_index
    };
    let wait = leadership.timing.leadership_wait();
    let linearizable = tokio::time::timeout(
        wait,
        raft.ensure_linearizable(openraft::ReadPolicy::ReadIndex),
    )
    .await;
    if !matches!(linearizable, Ok(Ok(_))) {
        return false;
    }
    raft.wait(Some(wait))
        .applied_index_at_least(own_last, "the log as of the leadership's start applied")
        .await
        .is_ok()
}

/// Proposes ExpireSession for every session whose deadline passed, and a
/// checkpoint of the remaining time of those that are due one, while this node
/// is a ready leader with a quorum.
pub async fn reap_sessions(
    leadership: Leadership,
    shared: Arc<Mutex<Shared>>,
    proposer: Proposer,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(REAP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {}
            _ = stop.changed() => return,
        }
        if stopping(&stop) {
            return;
        }
        if !leadership.is_ready() || !leadership.leads_with_quorum() {
            continue;
        }
        let due = shared.lock().leases.take_due(Instant::now());
        for chunk in due.chunks(REAP_BATCH) {
            expire(&shared, &proposer, &metrics, chunk.to_vec());
        }
        checkpoint(&shared, &proposer);
    }
}

/// Proposes the checkpoints that are due, all in one go (the proposer packs
/// them into as few entries as it can).
fn checkpoint(shared: &Mutex<Shared>, proposer: &Proposer) {
    let proposals: Vec<_> = {
        let mut shared = shared.lock();
        // Queued under the state lock, so that a renewal's clear queued later
        // follows them in the log (leases.rs).
        shared
            .leases
            .take_checkpoints(Instant::now())
            .into_iter()
            .map(|(session, remaining_ms)| {
                proposer.submit(Command::Checkpoint {
                    session,
                    remaining_ms,
                })
            })
            .collect()
    };
    if proposals.is_empty() {
        return;
    }
    tracing::debug!(sessions = proposals.len(), "checkpointing remaining TTLs");
    tokio::spawn(async move {
        for proposal in proposals {
            // A lost checkpoint only costs time: the next one is proposed
            // when its step comes (or the next leader grants more).
            if let Err(e) = proposal.await {
                tracing::debug!(error = %e, "checkpoint not committed");
                return;
            }
        }
    });
}

fn expire(
    shared: &Arc<Mutex<Shared>>,
    proposer: &Proposer,
    metrics: &Metrics,
    sessions: Vec<SessionId>,
) {
    for session in sessions {
        tracing::info!(session, "session deadline passed: expiring");
        metrics.expirations.inc();
        let (shared, proposer) = (shared.clone(), proposer.clone());
        tokio::spawn(async move {
            // A failed proposal may still be committed later; the session stays
            // marked expiring (never renewed) and is proposed again.
            if let Err(e) = proposer.propose(Command::ExpireSession { session }).await {
                tracing::warn!(session, error = %e, "expiry not committed; will retry");
                shared.lock().leases.retry_expiry(session);
            }
        });
    }
}

/// How long until this leader should propose a `Tick`: when the earliest wait
/// deadline or lock-delay is due by the machine's clock rule for a batch stamped
/// now, or, while one is pending, before the time since the last stamp grows
/// past `KEEP_UP_MS` (or at once if the last stamp is ahead of this leader's
/// clock, so that its own stamps become the reference). None: nothing pending.
fn next_tick_in(shared: &Mutex<Shared>, proposer: &Proposer) -> Option<Duration> {
    // The clock first: it may read the machine itself (one lock at a time).
    let now = proposer.clock_ms();
    let shared = shared.lock();
    let machine = &shared.machine;
    let at = machine.next_timer_ms()?;
    let due_in = at.saturating_sub(machine.clock_after(now));
    let keep_up_in = match now.checked_sub(machine.stamp_ms()) {
        Some(since) => KEEP_UP_MS.saturating_sub(since),
        None => 0,
    };
    Some(Duration::from_millis(due_in.min(keep_up_in)))
}

/// Proposes a `Tick` when the earliest wait deadline or lock-delay is due (and
/// often enough while one is pending, see [`next_tick_in`]).
pub async fn tick_timers(
    leadership: Leadership,
    shared: Arc<Mutex<Shared>>,
    proposer: Proposer,
    applied: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    // One receiver for the whole loop (this clone is ours): `changed()` on a
    // fresh clone of the receiver each time would report the same old change
    // every time (a busy loop).
    let mut ready = leadership.ready;
    loop {
        let leading = ready.borrow_and_update().is_some();
        let next = if leading {
            next_tick_in(&shared, &proposer)
        } else {
            None
        };
        let wait = next.unwrap_or(TIMER_RECHECK);
        if next.is_some_and(|w| w.is_zero()) {
            if let Err(e) = proposer.propose(Command::Tick).await {
                tracing::debug!(error = %e, "tick not committed");
                tokio::time::sleep(leadership.timing.heartbeat).await;
            }
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = applied.notified() => {}
            _ = ready.changed() => {}
            _ = stop.changed() => return,
        }
        if stopping(&stop) {
            return;
        }
    }
}
