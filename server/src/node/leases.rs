//! Session deadlines as the leader sees them (DESIGN "Sessions and failover"),
//! and the remaining-TTL checkpoints that bound how long elections can keep a
//! dead session alive.
//!
//! Deadlines live only in memory, on the monotonic clock. Every node tracks them
//! as sessions open and end, but only a leader renews them (after confirming its
//! leadership) and acts on them. Whenever a node starts leading it first gives
//! every live session `now + min(ttl, checkpointed remaining)`, so no session
//! expires earlier than a client that renewed it believes (G3), and a session
//! nobody renews still runs out however often the leader changes. The argument
//! is in docs/design.md, "G3" and "Remaining-TTL checkpoints".

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::machine::{Machine, SessionId};

/// A session's lease as this node sees it.
#[derive(Debug, Clone)]
struct Lease {
    deadline: Instant,
    ttl: Duration,
    /// Renewed or opened during this leadership: its client was alive lately.
    renewed: bool,
    /// The remaining time last checkpointed (from the machine at the reset, or
    /// proposed since), unless renewed since; paces the next checkpoint.
    checkpoint: Option<Duration>,
    /// The log may hold, or come to hold, a checkpoint of this session that no
    /// committed clear follows, so a renewal must commit a clear before it is
    /// acknowledged. Set for every session by a reset, because a checkpoint
    /// proposed during an earlier leadership may still be on its way to the log.
    unclear: bool,
    /// Counts the checkpoints proposed, so that a clear's commit only settles
    /// `unclear` if no checkpoint was proposed after the clear.
    proposed: u64,
}

/// What a keepalive's renewal needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// Its expiry was already proposed: never renewed again.
    Refused,
    /// Renewed; it may be acknowledged.
    Renewed,
    /// Renewed in memory, but it may be acknowledged only once a
    /// `ClearCheckpoint` proposed now (under the same lock, so that it follows
    /// every checkpoint already proposed) is committed; then call
    /// [`Leases::cleared`] with this ticket.
    AfterClear(u64),
}

/// In-memory session deadlines.
#[derive(Debug, Default)]
pub struct Leases {
    leases: HashMap<SessionId, Lease>,
    /// Sessions whose expiry this leader has proposed: never renewed again.
    expiring: HashSet<SessionId>,
    /// Expiring sessions whose proposal failed and must be proposed again.
    retry: HashSet<SessionId>,
}

/// How far a session's remaining time must fall before it is checkpointed
/// (again): a quarter of its TTL, at most a second.
pub fn checkpoint_step(ttl: Duration) -> Duration {
    (ttl / 4).min(Duration::from_secs(1))
}

/// Whole milliseconds, rounded up (a checkpoint errs on the long side).
fn ceil_ms(d: Duration) -> u64 {
    u64::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

impl Lease {
    /// The remaining time to checkpoint now, if it is due.
    ///
    /// A session renewed during this leadership is checkpointed once half its
    /// TTL is gone (a client renewing every ttl/3 never is). One not renewed
    /// since this leadership began may belong to a dead client, and the leader
    /// may not live long: it is checkpointed after one step. After that, every
    /// step.
    fn checkpoint_due(&self, now: Instant) -> Option<Duration> {
        let remaining = self.deadline.saturating_duration_since(now);
        let step = checkpoint_step(self.ttl);
        let due = match self.checkpoint {
            _ if remaining.is_zero() => false,
            Some(last) => remaining + step <= last,
            None if self.renewed => remaining <= self.ttl / 2,
            None => remaining + step <= self.ttl,
        };
        due.then_some(remaining)
    }
}

impl Leases {
    /// A session was opened (applied): its deadline starts now.
    pub fn opened(&mut self, session: SessionId, ttl: Duration, now: Instant) {
        let lease = Lease {
            deadline: now + ttl,
            ttl,
            renewed: true,
            checkpoint: None,
            unclear: false,
            proposed: 0,
        };
        self.leases.insert(session, lease);
    }

    /// A session ended (applied).
    pub fn ended(&mut self, session: SessionId) {
        self.leases.remove(&session);
        self.expiring.remove(&session);
        self.retry.remove(&session);
    }

    /// Gives every live session of `machine` the deadline `now + min(ttl,
    /// checkpointed remaining)`, and forgets proposed expiries: a leadership
    /// calls it only once the machine has applied the node's whole log, so an
    /// expiry that can still commit has ended its session already (see
    /// `leader::watch_leadership`).
    pub fn reset_all(&mut self, machine: &Machine, now: Instant) {
        self.expiring.clear();
        self.retry.clear();
        self.leases = machine
            .sessions()
            .iter()
            .map(|(&id, s)| {
                let ttl = Duration::from_millis(s.ttl_ms);
                let checkpoint = s
                    .checkpoint_remaining_ms()
                    .map(|ms| Duration::from_millis(ms).min(ttl));
                let lease = Lease {
                    deadline: now + checkpoint.unwrap_or(ttl),
                    ttl,
                    renewed: false,
                    checkpoint,
                    unclear: true,
                    proposed: 0,
                };
                (id, lease)
            })
            .collect();
    }

    /// Renews a session for a keepalive that arrived at `arrived`, after the
    /// leadership check that followed it succeeded. The deadline moves at once
    /// (so that a checkpoint computed from now on reflects it); see [`Renewal`]
    /// for when the renewal may be acknowledged.
    pub fn renew(&mut self, session: SessionId, ttl: Duration, arrived: Instant) -> Renewal {
        if self.is_expiring(session) {
            return Renewal::Refused;
        }
        let lease = self.leases.entry(session).or_insert(Lease {
            deadline: arrived + ttl,
            ttl,
            renewed: true,
            checkpoint: None,
            // Not in the table: nothing is known, so clear to be safe.
            unclear: true,
            proposed: 0,
        });
        lease.deadline = lease.deadline.max(arrived + ttl);
        lease.renewed = true;
        lease.checkpoint = None;
        if lease.unclear {
            Renewal::AfterClear(lease.proposed)
        } else {
            Renewal::Renewed
        }
    }

    /// The `ClearCheckpoint` of a renewal that returned `AfterClear(ticket)` is
    /// committed.
    pub fn cleared(&mut self, session: SessionId, ticket: u64) {
        if let Some(lease) = self.leases.get_mut(&session)
            && lease.proposed == ticket
        {
            lease.unclear = false;
        }
    }

    /// Sessions to checkpoint now, with their remaining time (ms); they count
    /// as checkpointed from now on. The caller proposes them while it still
    /// holds the lock it called this under, so that log order follows it.
    pub fn take_checkpoints(&mut self, now: Instant) -> Vec<(SessionId, u64)> {
        let mut due = Vec::new();
        for (&id, lease) in &mut self.leases {
            if self.expiring.contains(&id) || self.retry.contains(&id) {
                continue;
            }
            if let Some(remaining) = lease.checkpoint_due(now) {
                lease.checkpoint = Some(remaining);
                lease.unclear = true;
                lease.proposed += 1;
                due.push((id, ceil_ms(remaining)));
            }
        }
        due
    }

    /// Sessions whose deadline has passed and whose expiry is not yet proposed;
    /// they are marked expiring.
    pub fn take_due(&mut self, now: Instant) -> Vec<SessionId> {
        let due: Vec<SessionId> = self
            .leases
            .iter()
            .filter(|(id, l)| l.deadline <= now && !self.expiring.contains(id))
            .map(|(id, _)| *id)
            .chain(self.retry.drain())
            .collect();
        self.expiring.extend(due.iter().copied());
        due
    }

    /// Its expiry proposal failed: propose it again at the next round. It stays
    /// unrenewable, since the failed proposal may still be committed.
    pub fn retry_expiry(&mut self, session: SessionId) {
        if self.expiring.remove(&session) {
            self.retry.insert(session);
        }
    }

    /// Whether this leader has proposed the session's expiry.
    pub fn is_expiring(&self, session: SessionId) -> bool {
        self.expiring.contains(&session) || self.retry.contains(&session)
    }

    /// Time left before the deadline, if known.
    pub fn remaining(&self, session: SessionId, now: Instant) -> Option<Duration> {
        self.leases
            .get(&session)
            .map(|l| l.deadline.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Batch, Command, Outcome};

    const TTL: Duration = Duration::from_secs(10);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn apply(m: &mut Machine, cmd: Command) -> Outcome {
        let batch = Batch {
            time_ms: 0,
            commands: vec![cmd],
        };
        m.apply(&batch, &mut Vec::new()).remove(0)
    }

    /// A machine with two sessions of TTL 10 s; the first checkpointed at 3 s.
    fn machine() -> (Machine, SessionId, SessionId) {
        let mut m = Machine::default();
        let mut open = |open_id| match apply(
            &mut m,
            Command::OpenSession {
                open_id,
                ttl_ms: 10_000,
                label: String::new(),
                principal: String::new(),
            },
        ) {
            Outcome::SessionOpened { session, .. } => session,
            other => panic!("unexpected {other:?}"),
        };
        let (a, b) = (open(1), open(2));
        let cp = Command::Checkpoint {
            session: a,
            remaining_ms: 3_000,
        };
        assert_eq!(apply(&mut m, cp), Outcome::Checkpointed);
        (m, a, b)
    }

    #[test]
    fn renewal_never_shortens_and_expiring_is_final() {
        let mut leases = Leases::default();
        let t0 = Instant::now();
        leases.opened(1, TTL, t0);
        assert_eq!(leases.renew(1, TTL, t0 + secs(5)), Renewal::Renewed);
        assert_eq!(leases.renew(1, TTL, t0 + secs(1)), Renewal::Renewed);
        assert_eq!(leases.remaining(1, t0), Some(secs(15)));
        assert!(leases.take_due(t0 + secs(14)).is_empty());
        assert_eq!(leases.take_due(t0 + secs(15)), vec![1]);
        assert_eq!(leases.renew(1, TTL, t0 + secs(15)), Renewal::Refused);
        assert!(leases.take_due(t0 + secs(16)).is_empty());
    }

    #[test]
    fn a_reset_grants_the_checkpointed_remainder_not_a_fresh_ttl() {
        let (m, a, b) = machine();
        let mut leases = Leases::default();
        let t0 = Instant::now();
        leases.reset_all(&m, t0);
        assert_eq!(leases.remaining(a, t0), Some(secs(3)), "checkpointed");
        assert_eq!(leases.remaining(b, t0), Some(TTL), "no checkpoint");
        assert_eq!(leases.take_due(t0 + secs(3)), vec![a]);
    }

    #[test]
    fn a_checkpoint_longer_than_the_ttl_counts_as_the_ttl() {
        let (mut m, a, _) = machine();
        let cp = Command::Checkpoint {
            session: a,
            remaining_ms: u64::MAX,
        };
        assert_eq!(apply(&mut m, cp), Outcome::Checkpointed);
        let mut leases = Leases::default();
        let t0 = Instant::now();
        leases.reset_all(&m, t0);
        assert_eq!(leases.remaining(a, t0), Some(TTL));
    }

    #[test]
    fn every_first_renewal_after_a_reset_waits_for_a_clear() {
        let (m, a, b) = machine();
        let mut leases = Leases::default();
        let t0 = Instant::now();
        leases.reset_all(&m, t0);
        // Even `b`, whose machine state has no checkpoint: one proposed by an
        // earlier leadership may still reach the log.
        for s in [a, b] {
            let Renewal::AfterClear(ticket) = leases.renew(s, TTL, t0 + secs(1)) else {
                panic!("renewed without a clear");
            };
            assert_eq!(leases.remaining(s, t0), Some(secs(11)), "moved at once");
            leases.cleared(s, ticket);
            assert_eq!(leases.renew(s, TTL, t0 + secs(2)), Renewal::Renewed);
        }
    }

    #[test]
    fn a_clear_proposed_before_a_newer_checkpoint_does_not_settle_it() {
        let mut leases = Leases::default();
        let t0 = Instant::now();
        leases.opened(1, TTL, t0);
        // Half the TTL gone without renewal: checkpointed.
        assert_eq!(leases.take_checkpoints(t0 + secs(5)), vec![(1, 5_000)]);
        let Renewal::AfterClear(ticket) = leases.renew(1, TTL, t0 + secs(5)) else {
            panic!("renewed without a clear");
        };
        // Another checkpoint is proposed before the clear commits.
        assert_eq!(leases.take_checkpoints(t0 + secs(10)), vec![(1, 5_000)]);
        leases.cleared(1, ticket);
        assert!(matches!(
            leases.renew(1, TTL, t0 + secs(10)),
            Renewal::AfterClear(_)
        ));
    }

    #[test]
    fn checkpoints_follow_the_remaining_time_step_by_step() {
        let (m, a, b) = machine();
        let mut leases = Leases::default();
        let t0 = Instant::now();
        leases.reset_all(&m, t0);
        let step = checkpoint_step(TTL);
        assert_eq!(step, secs(1));
        assert!(leases.take_checkpoints(t0).is_empty());
        // Not renewed in this leadership: due one step after the reset, and
        // `a` one step below its checkpoint (3 s).
        let at = t0 + step;
        let mut due = leases.take_checkpoints(at);
        due.sort_unstable();
        assert_eq!(due, vec![(a, 2_000), (b, 9_000)]);
        assert!(leases.take_checkpoints(at + step / 2).is_empty());
        let mut due = leases.take_checkpoints(at + step);
        due.sort_unstable();
        assert_eq!(due, vec![(a, 1_000), (b, 8_000)]);
        // Renewed: no checkpoint until half the TTL is gone.
        assert!(matches!(
            leases.renew(b, TTL, at + step),
            Renewal::AfterClear(_)
        ));
        let renewed = at + step;
        assert_eq!(leases.take_checkpoints(renewed + secs(4)), vec![]);
        assert_eq!(leases.take_checkpoints(renewed + secs(5)), vec![(b, 5_000)]);
        // Expiring sessions are not checkpointed.
        assert_eq!(leases.take_due(t0 + secs(3)), vec![a]);
        assert!(
            leases
                .take_checkpoints(renewed + secs(7))
                .iter()
                .all(|(s, _)| *s != a)
        );
    }
}
