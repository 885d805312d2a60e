//! Session deadlines as the leader sees them (DESIGN "Sessions and failover").
//!
//! Deadlines live only in memory, on the monotonic clock. Every node tracks them
//! as sessions open and end, but only a leader renews them (after confirming its
//! leadership) and acts on them; whenever a node starts leading it first gives
//! every live session a fresh TTL, so no session expires earlier than a client
//! that renewed it believes (G3).

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::machine::{Machine, SessionId};

/// In-memory session deadlines.
#[derive(Debug, Default)]
pub struct Leases {
    deadlines: HashMap<SessionId, Instant>,
    /// Sessions whose expiry this leader has proposed: never renewed again.
    expiring: HashSet<SessionId>,
    /// Expiring sessions whose proposal failed and must be proposed again.
    retry: HashSet<SessionId>,
}

impl Leases {
    /// A session was opened (applied): its deadline starts now.
    pub fn opened(&mut self, session: SessionId, ttl: Duration, now: Instant) {
        self.deadlines.insert(session, now + ttl);
    }

    /// A session ended (applied).
    pub fn ended(&mut self, session: SessionId) {
        self.deadlines.remove(&session);
        self.expiring.remove(&session);
        self.retry.remove(&session);
    }

    /// Gives every live session of `machine` the deadline `now + ttl`; forgets
    /// proposed expiries (a new leadership decides afresh).
    pub fn reset_all(&mut self, machine: &Machine, now: Instant) {
        self.expiring.clear();
        self.retry.clear();
        self.deadlines = machine
            .sessions()
            .iter()
            .map(|(&id, s)| (id, now + Duration::from_millis(s.ttl_ms)))
            .collect();
    }

    /// Renews a session for a keepalive that arrived at `arrived`, after the
    /// leadership check that followed it succeeded. False if its expiry was
    /// already proposed.
    pub fn renew(&mut self, session: SessionId, ttl: Duration, arrived: Instant) -> bool {
        if self.expiring.contains(&session) || self.retry.contains(&session) {
            return false;
        }
        let deadline = self.deadlines.entry(session).or_insert(arrived + ttl);
        *deadline = (*deadline).max(arrived + ttl);
        true
    }

    /// Sessions whose deadline has passed and whose expiry is not yet proposed;
    /// they are marked expiring.
    pub fn take_due(&mut self, now: Instant) -> Vec<SessionId> {
        let due: Vec<SessionId> = self
            .deadlines
            .iter()
            .filter(|(id, d)| **d <= now && !self.expiring.contains(id))
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
        self.deadlines
            .get(&session)
            .map(|d| d.saturating_duration_since(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_never_shortens_and_expiring_is_final() {
        let mut leases = Leases::default();
        let t0 = Instant::now();
        let ttl = Duration::from_secs(10);
        leases.opened(1, ttl, t0);
        assert!(leases.renew(1, ttl, t0 + Duration::from_secs(5)));
        assert!(leases.renew(1, ttl, t0 + Duration::from_secs(1)));
        assert_eq!(leases.remaining(1, t0), Some(Duration::from_secs(15)));
        assert!(leases.take_due(t0 + Duration::from_secs(14)).is_empty());
        assert_eq!(leases.take_due(t0 + Duration::from_secs(15)), vec![1]);
        assert!(!leases.renew(1, ttl, t0 + Duration::from_secs(15)));
        assert!(leases.take_due(t0 + Duration::from_secs(16)).is_empty());
    }
}
