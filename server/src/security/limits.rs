//! Limits that protect the server from a misbehaving client: caps on sessions
//! and waiting acquires (global and per connection) and a rate limit on opening
//! sessions. Each refusal is a typed RESOURCE_EXHAUSTED error.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use parking_lot::Mutex;

use crate::controls::{self, Control};

/// Configured limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Live sessions in the cluster.
    pub max_sessions: usize,
    /// Sessions opened through one connection and still live.
    pub max_sessions_per_connection: usize,
    /// Waiting acquires in the cluster.
    pub max_waiters: usize,
    /// Waiting acquires in flight on one connection.
    pub max_waiters_per_connection: usize,
    /// Sessions opened per second from one client address (burst: twice that).
    pub session_opens_per_second: f64,
    /// Largest client request, in bytes.
    pub max_request_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sessions: 250_000,
            max_sessions_per_connection: 100_000,
            max_waiters: 100_000,
            max_waiters_per_connection: 10_000,
            session_opens_per_second: 10_000.0,
            max_request_bytes: 1 << 20,
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

/// Denials written to the audit log per second at most.
const DENIAL_AUDITS_PER_SECOND: f64 = 20.0;

/// Per-connection and per-address counters on this node.
///
/// Locking rule: each field is its own mutex and no code holds two of them at
/// once (the waiter counters share one mutex for that reason).
#[derive(Debug, Default)]
pub struct Usage {
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    denials: Mutex<Option<Bucket>>,
    waiters: Mutex<Waiters>,
}

/// Waiting acquires on this node, per connection and in total.
#[derive(Debug, Default)]
struct Waiters {
    by_conn: HashMap<SocketAddr, usize>,
    total: usize,
}

/// A waiting acquire counted against its connection; uncounted on drop.
pub struct WaitSlot<'a> {
    usage: &'a Usage,
    conn: SocketAddr,
}

impl Drop for WaitSlot<'_> {
    fn drop(&mut self) {
        let mut waiters = self.usage.waiters.lock();
        // Negative control: the lock order of the deadlock once found here.
        let _inverted = controls::active(Control::InvertWaiterLocks).then(|| {
            std::thread::yield_now();
            self.usage.buckets.lock()
        });
        if let Some(n) = waiters.by_conn.get_mut(&self.conn) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                waiters.by_conn.remove(&self.conn);
            }
        }
        waiters.total = waiters.total.saturating_sub(1);
    }
}

impl Usage {
    /// Takes one session-open token for `ip`; false when over the rate.
    pub fn allow_open(&self, ip: IpAddr, limits: &Limits) -> bool {
        let now = Instant::now();
        let rate = limits.session_opens_per_second.max(0.001);
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

    /// Whether one more permission denial may be written to the audit log now.
    pub fn allow_denial_audit(&self) -> bool {
        let now = Instant::now();
        let mut bucket = self.denials.lock();
        bucket
            .get_or_insert(Bucket::full(DENIAL_AUDITS_PER_SECOND, now))
            .take(DENIAL_AUDITS_PER_SECOND, now)
    }

    /// Counts a waiting acquire on `conn`; None when a cap is reached.
    pub fn begin_wait(&self, conn: SocketAddr, limits: &Limits) -> Option<WaitSlot<'_>> {
        // Negative control: take the other lock first, inverting the order.
        let _inverted = controls::active(Control::InvertWaiterLocks).then(|| {
            let guard = self.buckets.lock();
            std::thread::yield_now();
            guard
        });
        let mut waiters = self.waiters.lock();
        let n = waiters.by_conn.get(&conn).copied().unwrap_or(0);
        if n >= limits.max_waiters_per_connection || waiters.total >= limits.max_waiters {
            return None;
        }
        *waiters.by_conn.entry(conn).or_default() += 1;
        waiters.total += 1;
        Some(WaitSlot { usage: self, conn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_allows_a_burst_then_refuses() {
        let usage = Usage::default();
        let limits = Limits {
            session_opens_per_second: 5.0,
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
        let a = usage.begin_wait(conn, &limits).expect("first");
        let _b = usage.begin_wait(conn, &limits).expect("second");
        assert!(usage.begin_wait(conn, &limits).is_none());
        drop(a);
        assert!(usage.begin_wait(conn, &limits).is_some());
    }
}
