//! Limits that protect the server from a misbehaving client, even one with a
//! valid token: caps on sessions (in the cluster, per principal, per
//! connection), on locks (in the cluster, per session), on waiting acquires (in
//! the cluster, per connection, per lock), on session ids per keepalive
//! message, a rate limit on opening sessions, and a request size. Each refusal
//! is a RESOURCE_EXHAUSTED error that names the limit, and is counted in the
//! `tenure_limit_refusals_total{limit}` metric.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use parking_lot::Mutex;

use crate::controls::{self, Control};
use crate::machine::SessionId;

/// The defaults of [`Limits`] (and of the flags).
pub const DEFAULT_LIMITS: Limits = Limits {
    max_sessions: 250_000,
    max_sessions_per_principal: 100_000,
    max_sessions_per_connection: 100_000,
    session_open_rate: 10_000.0,
    max_locks: 1_000_000,
    max_locks_per_session: 10_000,
    max_waiters: 100_000,
    max_waiters_per_connection: 10_000,
    max_waiters_per_lock: 10_000,
    max_keepalive_sessions: 10_000,
    max_request_bytes: 1 << 20,
};

/// Configured limits; each field is a `tenure server` flag of the same name.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct Limits {
    /// Most live sessions in the cluster.
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_sessions)]
    pub max_sessions: usize,
    /// Most live sessions of one principal.
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_sessions_per_principal)]
    pub max_sessions_per_principal: usize,
    /// Most live sessions opened through one connection.
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_sessions_per_connection)]
    pub max_sessions_per_connection: usize,
    /// Sessions one client address may open per second (burst: twice that).
    #[arg(long, default_value_t = DEFAULT_LIMITS.session_open_rate)]
    pub session_open_rate: f64,
    /// Most locks in the cluster (held, waited for, or in a lock-delay).
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_locks)]
    pub max_locks: usize,
    /// Most locks one session holds or waits for.
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_locks_per_session)]
    pub max_locks_per_session: usize,
    /// Most waiting acquires in the cluster.
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_waiters)]
    pub max_waiters: usize,
    /// Most waiting acquires on one connection.
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_waiters_per_connection)]
    pub max_waiters_per_connection: usize,
    /// Most acquires waiting for one lock.
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_waiters_per_lock)]
    pub max_waiters_per_lock: usize,
    /// Most session ids in one keepalive message.
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_keepalive_sessions)]
    pub max_keepalive_sessions: usize,
    /// Largest client request, in bytes.
    #[arg(long, default_value_t = DEFAULT_LIMITS.max_request_bytes)]
    pub max_request_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        DEFAULT_LIMITS
    }
}

/// One limit, named as its flag (in refusals and in the metric's label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// `max-sessions`.
    MaxSessions,
    /// `max-sessions-per-principal`.
    MaxSessionsPerPrincipal,
    /// `max-sessions-per-connection`.
    MaxSessionsPerConnection,
    /// `session-open-rate`.
    SessionOpenRate,
    /// `max-locks`.
    MaxLocks,
    /// `max-locks-per-session`.
    MaxLocksPerSession,
    /// `max-waiters`.
    MaxWaiters,
    /// `max-waiters-per-connection`.
    MaxWaitersPerConnection,
    /// `max-waiters-per-lock`.
    MaxWaitersPerLock,
    /// `max-keepalive-sessions`.
    MaxKeepaliveSessions,
}

impl Limit {
    /// Every limit a request can be refused by.
    pub const ALL: [Limit; 10] = [
        Limit::MaxSessions,
        Limit::MaxSessionsPerPrincipal,
        Limit::MaxSessionsPerConnection,
        Limit::SessionOpenRate,
        Limit::MaxLocks,
        Limit::MaxLocksPerSession,
        Limit::MaxWaiters,
        Limit::MaxWaitersPerConnection,
        Limit::MaxWaitersPerLock,
        Limit::MaxKeepaliveSessions,
    ];

    /// The flag's name.
    pub fn name(self) -> &'static str {
        match self {
            Limit::MaxSessions => "max-sessions",
            Limit::MaxSessionsPerPrincipal => "max-sessions-per-principal",
            Limit::MaxSessionsPerConnection => "max-sessions-per-connection",
            Limit::SessionOpenRate => "session-open-rate",
            Limit::MaxLocks => "max-locks",
            Limit::MaxLocksPerSession => "max-locks-per-session",
            Limit::MaxWaiters => "max-waiters",
            Limit::MaxWaitersPerConnection => "max-waiters-per-connection",
            Limit::MaxWaitersPerLock => "max-waiters-per-lock",
            Limit::MaxKeepaliveSessions => "max-keepalive-sessions",
        }
    }

    /// Its configured value, as text.
    pub fn value(self, limits: &Limits) -> String {
        match self {
            Limit::MaxSessions => limits.max_sessions.to_string(),
            Limit::MaxSessionsPerPrincipal => limits.max_sessions_per_principal.to_string(),
            Limit::MaxSessionsPerConnection => limits.max_sessions_per_connection.to_string(),
            Limit::SessionOpenRate => format!("{}/s", limits.session_open_rate),
            Limit::MaxLocks => limits.max_locks.to_string(),
            Limit::MaxLocksPerSession => limits.max_locks_per_session.to_string(),
            Limit::MaxWaiters => limits.max_waiters.to_string(),
            Limit::MaxWaitersPerConnection => limits.max_waiters_per_connection.to_string(),
            Limit::MaxWaitersPerLock => limits.max_waiters_per_lock.to_string(),
            Limit::MaxKeepaliveSessions => limits.max_keepalive_sessions.to_string(),
        }
    }
}

/// A token bucket refilled at `rate` per second up to twice that.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: f64, now: Instant) -> Bucket {
        Bucket {
            tokens: burst(rate),
            at: now,
        }
    }

    /// Takes a token if there is one.
    fn take(&mut self, rate: f64, now: Instant) -> bool {
        self.tokens =
            (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(burst(rate));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn burst(rate: f64) -> f64 {
    (rate * 2.0).max(1.0)
}

/// Per-connection and per-address counters on this node, and the requests in
/// flight that the applied state does not show yet.
///
/// Locking rule: each field is its own mutex and no code holds two of them at
/// once (the acquire counters share one mutex for that reason), nor one of them
/// together with the node's state lock (callers read the state first).
#[derive(Debug, Default)]
pub struct Usage {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    acquires: Mutex<InFlight>,
    opens: Mutex<HashMap<String, usize>>,
}

/// Acquires on this node not yet answered.
#[derive(Debug, Default)]
struct InFlight {
    /// Waiting acquires per connection, and in all, until answered.
    waiting_by_conn: HashMap<SocketAddr, usize>,
    waiting: usize,
    /// Acquires proposed and not yet applied, per session, per lock (waiting
    /// ones) and in all: the applied state counts them once applied.
    by_session: HashMap<SessionId, usize>,
    waiting_by_lock: HashMap<String, usize>,
    unapplied: usize,
}

/// What the applied state holds that an acquire counts against.
#[derive(Debug, Clone, Copy, Default)]
pub struct Held {
    /// Locks the session holds or waits for.
    pub session_locks: usize,
    /// Locks in the cluster.
    pub locks: usize,
    /// Whether the lock exists already (its acquire adds no lock).
    pub lock_exists: bool,
    /// Acquires waiting for the lock.
    pub lock_waiters: usize,
}

/// One acquire request, as the limits see it.
#[derive(Debug, Clone)]
pub struct AcquireUse {
    /// The connection it came on, if known.
    pub conn: Option<SocketAddr>,
    /// Its session.
    pub session: SessionId,
    /// The lock.
    pub lock: String,
    /// Whether it may wait in the queue.
    pub waiting: bool,
}

/// An acquire counted against the limits until dropped.
pub struct AcquireSlot<'a> {
    usage: &'a Usage,
    request: AcquireUse,
    unapplied: bool,
}

fn count<K: std::hash::Hash + Eq>(map: &HashMap<K, usize>, key: &K) -> usize {
    map.get(key).copied().unwrap_or(0)
}

fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K) {
    *map.entry(key).or_default() += 1;
}

fn drop_one<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl AcquireSlot<'_> {
    /// The acquire is in the applied state now (queued): only the waiting
    /// counts still hold it.
    pub fn applied(&mut self) {
        if std::mem::take(&mut self.unapplied) {
            self.usage.acquires.lock().unapplied_done(&self.request);
        }
    }
}

impl InFlight {
    fn unapplied_done(&mut self, r: &AcquireUse) {
        drop_one(&mut self.by_session, &r.session);
        if r.waiting {
            drop_one(&mut self.waiting_by_lock, &r.lock);
        }
        self.unapplied = self.unapplied.saturating_sub(1);
    }
}

impl Drop for AcquireSlot<'_> {
    fn drop(&mut self) {
        let mut acquires = self.usage.acquires.lock();
        // Negative control: the lock order of the deadlock once found here.
        let _inverted = controls::active(Control::InvertWaiterLocks).then(|| {
            std::thread::yield_now();
            self.usage.buckets.lock()
        });
        if self.unapplied {
            acquires.unapplied_done(&self.request);
        }
        if self.request.waiting {
            if let Some(conn) = self.request.conn {
                drop_one(&mut acquires.waiting_by_conn, &conn);
            }
            acquires.waiting = acquires.waiting.saturating_sub(1);
        }
    }
}

/// A session open counted against its principal until dropped (by then the
/// applied state counts the session).
pub struct OpenSlot<'a> {
    usage: &'a Usage,
    principal: String,
}

impl Drop for OpenSlot<'_> {
    fn drop(&mut self) {
        drop_one(&mut self.usage.opens.lock(), &self.principal);
    }
}

impl Usage {
    /// Takes one session-open token for `ip`; false when over the rate.
    pub fn allow_open(&self, ip: IpAddr, limits: &Limits) -> bool {
        let now = Instant::now();
        let rate = limits.session_open_rate.max(0.001);
        let mut buckets = self.buckets.lock();
        if buckets.len() > 10_000 {
            // Forget addresses whose bucket has refilled anyway.
            buckets.retain(|_, b| now.duration_since(b.at).as_secs_f64() * rate < burst(rate));
        }
        buckets
            .entry(ip)
            .or_insert(Bucket::full(rate, now))
            .take(rate, now)
    }

    /// Counts a session open by `principal`, who has `live` sessions in the
    /// applied state; refused at [`Limits::max_sessions_per_principal`].
    pub fn begin_open(
        &self,
        principal: &str,
        live: usize,
        limits: &Limits,
    ) -> Result<OpenSlot<'_>, Limit> {
        let mut opens = self.opens.lock();
        let pending = opens.get(principal).copied().unwrap_or(0);
        if live.saturating_add(pending) >= limits.max_sessions_per_principal {
            return Err(Limit::MaxSessionsPerPrincipal);
        }
        bump(&mut opens, principal.to_owned());
        Ok(OpenSlot {
            usage: self,
            principal: principal.to_owned(),
        })
    }

    /// Counts an acquire against every limit it is subject to, given what the
    /// applied state already `held`; the first limit reached refuses it.
    pub fn begin_acquire(
        &self,
        request: AcquireUse,
        held: Held,
        limits: &Limits,
    ) -> Result<AcquireSlot<'_>, Limit> {
        // Negative control: take the other lock first, inverting the order.
        let _inverted = controls::active(Control::InvertWaiterLocks).then(|| {
            let guard = self.buckets.lock();
            std::thread::yield_now();
            guard
        });
        let mut a = self.acquires.lock();
        let session_locks = held.session_locks + count(&a.by_session, &request.session);
        if session_locks >= limits.max_locks_per_session {
            return Err(Limit::MaxLocksPerSession);
        }
        if !held.lock_exists && held.locks + a.unapplied >= limits.max_locks {
            return Err(Limit::MaxLocks);
        }
        if request.waiting {
            if let Some(conn) = request.conn
                && count(&a.waiting_by_conn, &conn) >= limits.max_waiters_per_connection
            {
                return Err(Limit::MaxWaitersPerConnection);
            }
            if a.waiting >= limits.max_waiters {
                return Err(Limit::MaxWaiters);
            }
            let lock_waiters = held.lock_waiters + count(&a.waiting_by_lock, &request.lock);
            if lock_waiters >= limits.max_waiters_per_lock {
                return Err(Limit::MaxWaitersPerLock);
            }
            if let Some(conn) = request.conn {
                bump(&mut a.waiting_by_conn, conn);
            }
            a.waiting += 1;
            bump(&mut a.waiting_by_lock, request.lock.clone());
        }
        bump(&mut a.by_session, request.session);
        a.unapplied += 1;
        Ok(AcquireSlot {
            usage: self,
            request,
            unapplied: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_a_burst_then_refuses() {
        let usage = Usage::default();
        let limits = Limits {
            session_open_rate: 5.0,
            ..Limits::default()
        };
        let ip: IpAddr = [127, 0, 0, 1].into();
        let allowed = (0..100).filter(|_| usage.allow_open(ip, &limits)).count();
        assert_eq!(allowed, 10);
    }

    #[test]
    fn waiter_caps_count_per_connection_and_release_on_drop() {
        let usage = Usage::default();
        let limits = Limits {
            max_waiters_per_connection: 2,
            ..Limits::default()
        };
        let conn: SocketAddr = "127.0.0.1:9".parse().expect("addr");
        let wait = |session| AcquireUse {
            conn: Some(conn),
            session,
            lock: format!("l{session}"),
            waiting: true,
        };
        let begin = |session| usage.begin_acquire(wait(session), Held::default(), &limits);
        let a = begin(1).expect("first");
        let _b = begin(2).expect("second");
        assert_eq!(begin(3).err(), Some(Limit::MaxWaitersPerConnection));
        drop(a);
        assert!(begin(3).is_ok());
    }

    #[test]
    fn session_lock_and_waiter_caps_count_unapplied_acquires_once() {
        let usage = Usage::default();
        let limits = Limits {
            max_locks_per_session: 2,
            max_waiters_per_lock: 2,
            max_locks: 3,
            ..Limits::default()
        };
        let acquire = |session, lock: &str| AcquireUse {
            conn: None,
            session,
            lock: lock.to_owned(),
            waiting: true,
        };
        let held = Held::default();
        let mut a = usage
            .begin_acquire(acquire(1, "x"), held, &limits)
            .expect("a");
        let _b = usage
            .begin_acquire(acquire(1, "y"), held, &limits)
            .expect("b");
        let third = usage.begin_acquire(acquire(1, "z"), held, &limits);
        assert_eq!(third.err(), Some(Limit::MaxLocksPerSession));
        // Once applied, the state counts `a` (held says so) and the slot no longer does.
        a.applied();
        let held_x = Held {
            session_locks: 1,
            locks: 1,
            lock_exists: true,
            lock_waiters: 1,
        };
        let c = usage
            .begin_acquire(acquire(2, "x"), held_x, &limits)
            .expect("c");
        let d = usage.begin_acquire(acquire(3, "x"), held_x, &limits);
        assert_eq!(d.err(), Some(Limit::MaxWaitersPerLock));
        drop(c);
        let new_lock = Held {
            locks: 2,
            ..Held::default()
        };
        let e = usage.begin_acquire(acquire(4, "w"), new_lock, &limits);
        assert_eq!(e.err(), Some(Limit::MaxLocks));
    }

    #[test]
    fn sessions_per_principal_count_opens_in_flight() {
        let usage = Usage::default();
        let limits = Limits {
            max_sessions_per_principal: 2,
            ..Limits::default()
        };
        let a = usage
            .begin_open("jobs", 1, &limits)
            .expect("one live, one opening");
        assert_eq!(
            usage.begin_open("jobs", 1, &limits).err(),
            Some(Limit::MaxSessionsPerPrincipal)
        );
        assert!(usage.begin_open("ops", 1, &limits).is_ok());
        drop(a);
        assert!(usage.begin_open("jobs", 1, &limits).is_ok());
    }

    #[test]
    fn every_limit_is_a_flag() {
        use clap::CommandFactory;
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            limits: Limits,
        }
        let command = Flags::command();
        for limit in Limit::ALL {
            assert!(
                command
                    .get_arguments()
                    .any(|a| a.get_long() == Some(limit.name())),
                "{} is not a flag",
                limit.name()
            );
        }
    }
}
