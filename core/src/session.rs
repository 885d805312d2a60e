//! A session: its id, its client-side expiry, and the heartbeat task that renews
//! it (DESIGN "Client core", G3).
//!
//! The session counts as alive only until `local_expiry = t_send + ttl * (1 -
//! drift) - margin`, where `t_send` is the time the renewing request was SENT,
//! read on the boot clock ([`crate::clock`]), which keeps counting while the
//! machine is suspended. The server never expires it before `t_send + ttl`, so
//! a holder learns it lost its locks before anyone else can be granted them.
//! Expired is final: a late acknowledgement never revives it.
//!
//! Two tasks run per session: the heartbeat renews it, and the watchdog
//! re-reads the clock every check interval, ends the session at its local
//! expiry and moves it to Jeopardy when the clock jumped (a suspend) or its
//! timer fired late. tokio's timers stop during a suspend, so no single long
//! sleep decides anything about expiry.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tenure_proto::v1 as pb;
use tokio::sync::{Notify, watch};

use crate::clock::{BootInstant, Clock};
use crate::conn::Conn;
use crate::keepalive::{Link, Reply};
use crate::lock::LockInner;
use crate::releasing::Releasing;
use crate::rt::{self, Instant, Spawner};

/// Health of a session, as the client sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum SessionState {
    /// The last renewal succeeded.
    Healthy,
    /// Renewals are failing but the local expiry has not passed: locks are still
    /// held; the client keeps retrying every endpoint.
    Jeopardy,
    /// The local expiry passed, or the server said the session expired or is
    /// blacklisted. Final: every lock of the session is lost.
    Expired,
}

impl SessionState {
    /// Every state, in a fixed order (bindings derive their enums from it).
    pub const ALL: [SessionState; 3] = [
        SessionState::Healthy,
        SessionState::Jeopardy,
        SessionState::Expired,
    ];

    /// The state of a [`SessionState::code`], if it is one.
    pub fn from_code(code: &str) -> Option<SessionState> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Stable name shared by every binding: `healthy`, `jeopardy`, `expired`.
    pub fn code(self) -> &'static str {
        match self {
            SessionState::Healthy => "healthy",
            SessionState::Jeopardy => "jeopardy",
            SessionState::Expired => "expired",
        }
    }
}

impl fmt::Display for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Why a lock stopped being held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LostReason {
    /// Released by its holder.
    Released,
    /// The session expired (locally or on the server).
    SessionExpired,
    /// The session was blacklisted.
    SessionBlacklisted,
    /// An administrator force-released this grant.
    ForceReleased,
    /// The client was closed.
    ClientClosed,
}

impl LostReason {
    /// Every reason, in a fixed order (bindings derive their enums from it).
    pub const ALL: [LostReason; 5] = [
        LostReason::Released,
        LostReason::SessionExpired,
        LostReason::SessionBlacklisted,
        LostReason::ForceReleased,
        LostReason::ClientClosed,
    ];

    /// The reason of a [`LostReason::code`], if it is one.
    pub fn from_code(code: &str) -> Option<LostReason> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }

    /// Stable name shared by every binding: `released`, `session_expired`,
    /// `session_blacklisted`, `force_released`, `client_closed`.
    pub fn code(self) -> &'static str {
        match self {
            LostReason::Released => "released",
            LostReason::SessionExpired => "session_expired",
            LostReason::SessionBlacklisted => "session_blacklisted",
            LostReason::ForceReleased => "force_released",
            LostReason::ClientClosed => "client_closed",
        }
    }
}

impl fmt::Display for LostReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LostReason::Released => "released",
            LostReason::SessionExpired => "session expired",
            LostReason::SessionBlacklisted => "session blacklisted",
            LostReason::ForceReleased => "force-released by an administrator",
            LostReason::ClientClosed => "client closed",
        })
    }
}

/// Bounds of the watchdog's check interval (the margin, clamped): a resume is
/// noticed within one margin, and a zero margin does not spin.
const MIN_CHECK: Duration = Duration::from_millis(5);
const MAX_CHECK: Duration = Duration::from_millis(100);
/// The smallest clock jump the watchdog reports (with a margin below it).
const MIN_JUMP: Duration = Duration::from_millis(10);

/// What the client believes about its session's lease.
#[derive(Debug, Clone, Copy)]
struct LocalLease {
    expiry: BootInstant,
    ended: Option<LostReason>,
}

impl LocalLease {
    /// Not ended and the local expiry not reached at `now`.
    fn alive_at(&self, now: BootInstant) -> bool {
        self.ended.is_none() && now < self.expiry
    }

    /// Time left at `now` before the local expiry (zero once ended).
    fn remaining_at(&self, now: BootInstant) -> Duration {
        match self.ended {
            Some(_) => Duration::ZERO,
            None => self.expiry.saturating_duration_since(now),
        }
    }
}

pub(crate) struct SessionInner {
    pub(crate) id: u64,
    pub(crate) ttl: Duration,
    pub(crate) conn: Arc<Conn>,
    /// The client-level state watch this session reports to while it is current.
    client_state: watch::Sender<SessionState>,
    /// The clock every expiry decision reads.
    clock: Clock,
    /// The local expiry and the end, under one mutex (one lock, one order).
    lease: Mutex<LocalLease>,
    /// Wakes the heartbeat early: renew at once after a clock jump, or stop
    /// because the session ended.
    wake_heartbeat: Arc<Notify>,
    /// How often the watchdog re-reads the clock.
    check_interval: Duration,
    /// How far the clock may run past a watchdog tick before it counts as a jump.
    jump_threshold: Duration,
    next_request: AtomicU64,
    locks: Mutex<HashMap<u128, Weak<LockInner>>>,
    /// Background releases in flight (an acquire of their name waits for them).
    pub(crate) releasing: Arc<Releasing>,
    /// Where the session was opened: closing on drop spawns there even when
    /// the last reference is dropped outside any runtime (a binding's GC thread).
    spawner: Spawner,
}

impl SessionInner {
    /// A session opened by a request sent at `t_send` (read on `clock`),
    /// Healthy, without its tasks yet: [`SessionInner::start`] starts them.
    pub(crate) fn new(
        id: u64,
        ttl: Duration,
        clock: Clock,
        t_send: BootInstant,
        conn: Arc<Conn>,
        client_state: watch::Sender<SessionState>,
    ) -> Arc<SessionInner> {
        let usable = conn.options.usable_lease_for(ttl);
        let margin = conn.options.margin;
        client_state.send_replace(SessionState::Healthy);
        Arc::new(SessionInner {
            id,
            ttl,
            conn,
            client_state,
            clock,
            lease: Mutex::new(LocalLease {
                expiry: t_send.saturating_add(usable),
                ended: None,
            }),
            wake_heartbeat: Arc::new(Notify::new()),
            check_interval: margin.clamp(MIN_CHECK, MAX_CHECK),
            jump_threshold: margin.max(MIN_JUMP),
            next_request: AtomicU64::new(1),
            locks: Mutex::new(HashMap::new()),
            releasing: Arc::default(),
            spawner: Spawner::current(),
        })
    }

    /// Starts the session's heartbeat and watchdog.
    pub(crate) fn start(self: Arc<Self>) -> Arc<SessionInner> {
        self.spawner.spawn(heartbeat(Arc::downgrade(&self)));
        self.spawner.spawn(watchdog(Arc::downgrade(&self)));
        self
    }

    /// Alive: not ended and the local expiry not reached. No network.
    pub(crate) fn is_alive(&self) -> bool {
        let now = self.clock.now();
        self.lease.lock().alive_at(now)
    }

    /// The local expiry as a tokio instant (exact unless the machine is
    /// suspended before it).
    pub(crate) fn expiry_instant(&self) -> Instant {
        let expiry = self.lease.lock().expiry;
        self.clock.to_tokio(expiry)
    }

    /// Time left before the local expiry (zero once ended).
    pub(crate) fn remaining(&self) -> Duration {
        let now = self.clock.now();
        self.lease.lock().remaining_at(now)
    }

    /// How often anything waiting for the local expiry should re-read the
    /// clock instead of trusting one long sleep (tokio's timers stop during a
    /// suspend).
    pub(crate) fn check_interval(&self) -> Duration {
        self.check_interval
    }

    /// Why it ended, if it did.
    pub(crate) fn end_reason(&self) -> Option<LostReason> {
        self.lease.lock().ended
    }

    /// Where the session runs (for work spawned from `Drop`).
    pub(crate) fn spawner(&self) -> &Spawner {
        &self.spawner
    }

    pub(crate) fn next_request_id(&self) -> u64 {
        self.next_request.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn register(&self, owner: u128, lock: Weak<LockInner>) {
        self.locks.lock().insert(owner, lock);
    }

    pub(crate) fn unregister(&self, owner: u128) {
        self.locks.lock().remove(&owner);
    }

    /// Reports Healthy or Jeopardy; ignored once the session ended (a newer
    /// session may be current by then).
    fn set_state(&self, s: SessionState) {
        if self.end_reason().is_some() {
            return;
        }
        self.client_state.send_if_modified(|cur| {
            let changed = *cur != s;
            *cur = s;
            changed
        });
    }

    /// The clock ran `late` past a watchdog tick, `suspended` of it unseen by
    /// tokio: renewals were not sent on time, so the server may be about to
    /// expire the session. Jeopardy until a renewal succeeds; renew at once.
    fn clock_jumped(&self, late: Duration, suspended: Duration) {
        tracing::warn!(
            session = self.id,
            late_ms = late.as_millis(),
            suspended_ms = suspended.as_millis(),
            "clock jump (suspend or late timer): session in jeopardy"
        );
        self.set_state(SessionState::Jeopardy);
        self.wake_heartbeat.notify_one();
    }

    /// The host may have paused this process (see `Client::host_paused`):
    /// end at the local expiry, else Jeopardy and renew at once.
    pub(crate) fn host_paused(&self) {
        if !self.is_alive() {
            self.end(LostReason::SessionExpired);
            return;
        }
        tracing::info!(session = self.id, "host paused: session in jeopardy");
        self.set_state(SessionState::Jeopardy);
        self.wake_heartbeat.notify_one();
    }

    /// Ends the session (final) and marks every lock of it lost.
    pub(crate) fn end(&self, reason: LostReason) {
        {
            let mut lease = self.lease.lock();
            if lease.ended.is_some() {
                return;
            }
            lease.ended = Some(reason);
        }
        tracing::info!(session = self.id, %reason, "session ended");
        self.wake_heartbeat.notify_one();
        self.client_state.send_replace(SessionState::Expired);
        let locks: Vec<_> = self
            .locks
            .lock()
            .drain()
            .filter_map(|(_, l)| l.upgrade())
            .collect();
        for lock in locks {
            lock.mark_lost(reason);
        }
    }

    /// A renewal sent at `t_send` was acknowledged. Never revives an ended or
    /// locally expired session.
    fn renewed(&self, t_send: BootInstant, ttl: Duration) -> bool {
        let candidate = t_send.saturating_add(self.conn.options.usable_lease_for(ttl));
        let extended = {
            // Checked and extended under one lock: a renewal that arrives after
            // the local expiry must never revive the session.
            let mut lease = self.lease.lock();
            let alive = lease.alive_at(self.clock.now());
            if alive {
                lease.expiry = lease.expiry.max(candidate);
            }
            alive
        };
        if !extended {
            self.end(LostReason::SessionExpired);
            return false;
        }
        self.set_state(SessionState::Healthy);
        true
    }

    /// Marks grants an administrator force-released as lost.
    fn revoked(&self, owners: &[String]) {
        for owner in owners {
            let Ok(owner) = u128::from_str_radix(owner, 16) else {
                continue;
            };
            let lock = self.locks.lock().remove(&owner).and_then(|l| l.upgrade());
            if let Some(lock) = lock {
                lock.mark_lost(LostReason::ForceReleased);
            }
        }
    }
}

impl SessionInner {
    /// Tells the holders of grants someone asked to release.
    fn revoke_requested(&self, owners: &[String]) {
        for owner in owners {
            let Ok(owner) = u128::from_str_radix(owner, 16) else {
                continue;
            };
            let lock = self.locks.lock().get(&owner).and_then(Weak::upgrade);
            if let Some(lock) = lock {
                lock.mark_revoke_requested();
            }
        }
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        // Nobody uses the session any more: close it so its locks pass on now.
        if self.lease.get_mut().ended.is_some() {
            return;
        }
        let (conn, id) = (self.conn.clone(), self.id);
        self.spawner.spawn(async move {
            let deadline = Instant::now() + conn.options.attempt_timeout;
            let _ = conn
                .call(
                    deadline,
                    conn.options.attempt_timeout,
                    |mut stub| async move {
                        stub.close_session(pb::CloseSessionRequest { session_id: id })
                            .await
                    },
                )
                .await;
        });
    }
}

/// Re-reads the clock every check interval: ends the session at its local
/// expiry, and moves it to Jeopardy when the clock ran well past a tick (the
/// machine was suspended, or the runtime starved the timer). Stops when the
/// session ends or is dropped.
async fn watchdog(weak: Weak<SessionInner>) {
    let Some((tick, threshold, mut last)) = weak
        .upgrade()
        .map(|s| (s.check_interval, s.jump_threshold, s.clock.now()))
    else {
        return;
    };
    let mut last_tokio = Instant::now();
    loop {
        rt::sleep(tick).await;
        let Some(s) = weak.upgrade() else { return };
        let (now, now_tokio) = (s.clock.now(), Instant::now());
        if s.end_reason().is_some() {
            return;
        }
        if !s.is_alive() {
            s.end(LostReason::SessionExpired);
            return;
        }
        let elapsed = now.saturating_duration_since(last);
        let late = elapsed.saturating_sub(tick);
        if late > threshold {
            let seen_by_tokio = now_tokio.saturating_duration_since(last_tokio);
            s.clock_jumped(late, elapsed.saturating_sub(seen_by_tokio));
        }
        (last, last_tokio) = (now, now_tokio);
    }
}

/// Renews the session every keepalive interval (at once after a clock jump).
async fn heartbeat(weak: Weak<SessionInner>) {
    let Some(s) = weak.upgrade() else { return };
    let (conn, wake) = (s.conn.clone(), s.wake_heartbeat.clone());
    let (id, ttl) = (s.id, s.ttl);
    drop(s);
    let interval = conn.options.keepalive_interval_for(ttl);
    let mut next_send = Instant::now() + interval;
    let mut link: Option<Link> = None;
    let mut seq = 0u64;
    let mut failures = 0u32;
    loop {
        // The watchdog ends the session at its local expiry and wakes us.
        tokio::select! {
            _ = rt::sleep_until(next_send) => {}
            _ = wake.notified() => {}
        }
        let Some(s) = weak.upgrade() else { return };
        if s.end_reason().is_some() {
            return;
        }
        if !s.is_alive() {
            s.end(LostReason::SessionExpired);
            return;
        }
        seq += 1;
        // t_send on the boot clock (for the expiry), sent_at on tokio's (for
        // scheduling the next send).
        let (t_send, sent_at) = (s.clock.now(), Instant::now());
        // Half the time left per attempt: a node that does not answer leaves
        // time to reach another before the local expiry.
        let budget = conn.options.attempt_timeout.min(s.remaining() / 2);
        drop(s);
        let addr = match &link {
            Some(l) => l.addr().to_owned(),
            None => conn.target(),
        };
        let result = rt::timeout(budget, async {
            if link.is_none() {
                match Link::open(&conn, &addr).await? {
                    Ok(opened) => link = Some(opened),
                    Err(redirect) => return Ok(redirect),
                }
            }
            match link.as_mut() {
                Some(l) => l.exchange(&conn, seq, id).await,
                None => Err("no keepalive link".to_owned()),
            }
        })
        .await
        .unwrap_or_else(|_| {
            conn.unresponsive(&addr);
            Err(format!("no keepalive answer from {addr} within {budget:?}"))
        });
        let Some(s) = weak.upgrade() else { return };
        match result {
            Ok(Reply::Lease(lease)) => match pb::LeaseStatus::try_from(lease.status) {
                Ok(pb::LeaseStatus::LeaseOk) => {
                    if !s.renewed(
                        t_send,
                        Duration::from_millis(lease.ttl_ms).max(Duration::from_millis(1)),
                    ) {
                        return;
                    }
                    s.revoked(&lease.revoked);
                    s.revoke_requested(&lease.release_requested);
                    failures = 0;
                    next_send = sent_at + interval;
                    continue;
                }
                Ok(pb::LeaseStatus::LeaseBlacklisted) => {
                    s.end(LostReason::SessionBlacklisted);
                    return;
                }
                _ => {
                    s.end(LostReason::SessionExpired);
                    return;
                }
            },
            Ok(Reply::NotLeader(leader)) => {
                conn.failed(&addr);
                if let Some(leader) = leader {
                    conn.redirected(&leader);
                }
                link = None;
            }
            Err(e) => {
                tracing::debug!(session = id, error = %e, "keepalive failed");
                conn.failed(&addr);
                link = None;
            }
        }
        s.set_state(SessionState::Jeopardy);
        next_send = Instant::now() + conn.backoff(failures).min(interval);
        failures += 1;
    }
}

#[cfg(test)]
mod tests {
    //! Suspends are simulated with [`FakeClock`]: the boot clock jumps while
    //! tokio's does not. The session talks to a closed loopback port, so no
    //! server ever answers: everything here is judged locally.

    use super::*;
    use crate::clock::FakeClock;
    use crate::lock::Lock;
    use crate::options::ClientOptions;

    /// Well below the lease the tests' suspends cut short: "promptly".
    const PROMPT: Duration = Duration::from_millis(500);

    struct Opened {
        session: Arc<SessionInner>,
        state: watch::Receiver<SessionState>,
        lock: Lock,
    }

    /// A loopback address nothing listens on.
    pub(super) fn closed_port() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("local address");
        drop(listener);
        addr.to_string()
    }

    /// A session opened just now on `fake`'s clock, holding one lock.
    fn open(fake: &FakeClock, ttl: Duration) -> Opened {
        let conn = Conn::new(&[closed_port()], ClientOptions::default()).expect("valid options");
        let (tx, state) = watch::channel(SessionState::Expired);
        let clock = Clock::fake(fake);
        let t_send = clock.now();
        let session = SessionInner::new(1, ttl, clock, t_send, Arc::new(conn), tx).start();
        let grant = pb::Grant {
            name: "jobs/nightly".into(),
            token: 7,
            owner_id: format!("{:032x}", 1u128),
            mode: pb::LockMode::Exclusive as i32,
            session_id: 1,
            permits: 0,
        };
        let lock = Lock::new(grant, session.clone()).expect("valid grant");
        Opened {
            session,
            state,
            lock,
        }
    }

    /// The reason passed to the lock's on-lost callback.
    fn on_lost_reason(lock: &Lock) -> tokio::sync::oneshot::Receiver<LostReason> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        lock.on_lost(move |reason| {
            let _ = tx.send(reason);
        });
        rx
    }

    /// Waits up to PROMPT for the state `want`.
    async fn reaches(state: &mut watch::Receiver<SessionState>, want: SessionState) -> bool {
        tokio::time::timeout(PROMPT, state.wait_for(|s| *s == want))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    #[tokio::test]
    async fn a_suspend_longer_than_the_lease_loses_the_lock_at_resume() {
        let fake = FakeClock::new();
        let mut o = open(&fake, Duration::from_secs(3));
        let callback = on_lost_reason(&o.lock);
        let waiting = tokio::spawn({
            let lock = o.lock.clone();
            async move { lock.lost().await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(o.lock.is_held());
        fake.suspend(Duration::from_secs(10));
        // Judged at once, locally, with no server answer.
        assert!(!o.lock.is_held());
        assert_eq!(o.lock.remaining(), Duration::ZERO);
        assert!(o.lock.local_expiry() <= Instant::now());
        // A lost() that was already waiting wakes up.
        let lost = tokio::time::timeout(PROMPT, waiting).await;
        assert_eq!(
            lost.ok().and_then(|r| r.ok()),
            Some(LostReason::SessionExpired)
        );
        // The watchdog ends the session: callbacks run, the state says Expired,
        // long before tokio's clock reaches the lease's end (2.87 s).
        let reason = tokio::time::timeout(PROMPT, callback).await;
        assert_eq!(
            reason.ok().and_then(|r| r.ok()),
            Some(LostReason::SessionExpired)
        );
        assert!(reaches(&mut o.state, SessionState::Expired).await);
        assert_eq!(o.session.end_reason(), Some(LostReason::SessionExpired));
    }

    #[tokio::test]
    async fn a_short_suspend_moves_the_session_to_jeopardy() {
        let fake = FakeClock::new();
        let mut o = open(&fake, Duration::from_secs(30));
        // The first keepalive is due in 10 s: nothing else leaves Healthy here.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(*o.state.borrow(), SessionState::Healthy);
        let before = o.lock.remaining();
        fake.suspend(Duration::from_secs(1));
        assert!(reaches(&mut o.state, SessionState::Jeopardy).await);
        // Still held, with the suspended second gone from what is left.
        assert!(o.lock.is_held());
        assert!(o.lock.remaining() + Duration::from_secs(1) <= before);
    }

    #[tokio::test]
    async fn negative_control_a_clock_that_stops_during_a_suspend_misses_it() {
        // What sessions did on tokio's clock (CLOCK_MONOTONIC): the assertions
        // of the two tests above fail on it.
        // (A long TTL: no failing keepalive is due to cause Jeopardy either.)
        let fake = FakeClock::monotonic_only();
        let mut o = open(&fake, Duration::from_secs(30));
        let callback = on_lost_reason(&o.lock);
        tokio::time::sleep(Duration::from_millis(50)).await;
        fake.suspend(Duration::from_secs(60));
        assert!(
            o.lock.is_held(),
            "the stopped clock believes it still holds"
        );
        assert!(tokio::time::timeout(PROMPT, o.lock.lost()).await.is_err());
        assert!(tokio::time::timeout(PROMPT, callback).await.is_err());
        assert!(!reaches(&mut o.state, SessionState::Jeopardy).await);
    }

    #[tokio::test]
    async fn a_starved_timer_moves_the_session_to_jeopardy() {
        let fake = FakeClock::new();
        let mut o = open(&fake, Duration::from_secs(30));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(*o.state.borrow(), SessionState::Healthy);
        // Block the (single-threaded) runtime: the watchdog's tick fires late.
        std::thread::sleep(Duration::from_millis(400));
        assert!(reaches(&mut o.state, SessionState::Jeopardy).await);
        assert!(o.lock.is_held());
    }

    #[tokio::test]
    async fn a_renewal_answered_after_a_suspend_counts_from_its_send() {
        let fake = FakeClock::new();
        let ttl = Duration::from_secs(3);
        let o = open(&fake, ttl);
        let usable = ClientOptions::default().usable_lease_for(ttl);
        let t_send = o.session.clock.now();
        // Suspended while the keepalive was in flight; its OK arrives after.
        fake.suspend(Duration::from_secs(2));
        assert!(o.session.renewed(t_send, ttl));
        let left = o.session.remaining();
        assert!(left + Duration::from_secs(2) <= usable, "{left:?}");
        // A later OK for a request sent before the expiry revives nothing.
        fake.suspend(Duration::from_secs(2));
        assert!(!o.session.renewed(t_send, ttl));
        assert!(!o.session.renewed(o.session.clock.now(), ttl));
        assert_eq!(o.session.end_reason(), Some(LostReason::SessionExpired));
        assert!(!o.lock.is_held());
    }
}

#[cfg(test)]
mod paused_clock_tests {
    //! The expiry arithmetic, the state changes and finality of a session, on
    //! tokio's paused clock: time moves only when a test says so, so every
    //! instant below is exact. No server and no heartbeat: the sessions here
    //! are built without their tasks (the watchdog is started where a test
    //! needs it), and their connection points at a closed loopback port.

    use super::*;
    use crate::clock::FakeClock;
    use crate::lock::Lock;
    use crate::options::ClientOptions;

    const TTL: Duration = Duration::from_secs(10);

    /// The usable lease of [`TTL`] with the default options.
    fn usable() -> Duration {
        ClientOptions::default().usable_lease_for(TTL)
    }

    /// A session opened by a request sent now on a fresh [`FakeClock`],
    /// without its heartbeat and watchdog, and the receiver of the state it
    /// reports.
    fn quiet_session() -> (FakeClock, Arc<SessionInner>, watch::Receiver<SessionState>) {
        let fake = FakeClock::new();
        let conn = Conn::new(&[super::tests::closed_port()], ClientOptions::default());
        let conn = Arc::new(conn.expect("valid options"));
        let (client_state, state) = watch::channel(SessionState::Healthy);
        let clock = Clock::fake(&fake);
        let t_send = clock.now();
        let session = SessionInner::new(1, TTL, clock, t_send, conn, client_state);
        (fake, session, state)
    }

    /// A lock of `session`, registered with it as the client does.
    fn held_lock(session: &Arc<SessionInner>) -> Lock {
        let grant = pb::Grant {
            name: "jobs/nightly".into(),
            token: 7,
            owner_id: format!("{:032x}", 1u128),
            mode: pb::LockMode::Exclusive as i32,
            session_id: session.id,
            permits: 0,
        };
        Lock::new(grant, session.clone()).expect("valid grant")
    }

    /// The session ended for `reason`: Expired, not alive, no time left.
    fn assert_ended(
        session: &SessionInner,
        state: &watch::Receiver<SessionState>,
        reason: LostReason,
    ) {
        assert_eq!(session.end_reason(), Some(reason));
        assert_eq!(*state.borrow(), SessionState::Expired);
        assert!(!session.is_alive());
        assert_eq!(session.remaining(), Duration::ZERO);
    }

    #[test]
    fn the_usable_lease_is_the_ttl_less_drift_and_margin() {
        // 10 s * (1 - 0.01) - 100 ms, give or take the float's rounding.
        let expected = Duration::from_millis(9_800);
        let usable = usable();
        assert!(
            usable.abs_diff(expected) < Duration::from_micros(1),
            "{usable:?}"
        );
        // A margin larger than what drift leaves gives nothing, never wraps.
        let margin = Duration::from_secs(20);
        let options = ClientOptions {
            margin,
            ..ClientOptions::default()
        };
        assert_eq!(options.usable_lease_for(TTL), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn alive_until_t_send_plus_the_usable_lease_and_not_an_instant_longer() {
        let (_fake, session, _state) = quiet_session();
        assert_eq!(session.remaining(), usable());
        tokio::time::advance(usable() - Duration::from_millis(1)).await;
        assert!(session.is_alive());
        assert_eq!(session.remaining(), Duration::from_millis(1));
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(!session.is_alive(), "the expiry instant itself is expired");
        assert_eq!(session.remaining(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_counts_from_its_send_not_from_its_answer() {
        let (_fake, session, _state) = quiet_session();
        tokio::time::advance(Duration::from_secs(3)).await;
        let t_send = session.clock.now();
        // The answer takes 2 s to arrive.
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(session.renewed(t_send, TTL));
        assert_eq!(session.remaining(), usable() - Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_renewal_uses_the_granted_ttl_and_never_shortens_the_expiry() {
        let (_fake, session, _state) = quiet_session();
        let early = session.clock.now();
        tokio::time::advance(Duration::from_secs(1)).await;
        // The server granted 20 s this time.
        let granted = Duration::from_secs(20);
        assert!(session.renewed(session.clock.now(), granted));
        let usable = ClientOptions::default().usable_lease_for(granted);
        assert_eq!(session.remaining(), usable);
        // A late answer to an older request leaves the later expiry.
        assert!(session.renewed(early, TTL));
        assert_eq!(session.remaining(), usable);
    }

    #[tokio::test(start_paused = true)]
    async fn expired_is_final_and_a_late_acknowledgement_revives_nothing() {
        let (_fake, session, state) = quiet_session();
        let lock = held_lock(&session);
        let t_send = session.clock.now();
        tokio::time::advance(usable()).await;
        // Sent while alive, acknowledged after the local expiry: the session
        // ends instead (the server may have expired it already).
        assert!(!session.renewed(t_send, TTL));
        assert_ended(&session, &state, LostReason::SessionExpired);
        assert!(!lock.is_held());
        assert_eq!(lock.lost_reason(), Some(LostReason::SessionExpired));
        // Nothing brings it back: a fresh acknowledgement, a healthy report.
        assert!(!session.renewed(session.clock.now(), TTL));
        session.set_state(SessionState::Healthy);
        assert_ended(&session, &state, LostReason::SessionExpired);
    }

    #[tokio::test(start_paused = true)]
    async fn jeopardy_until_a_renewal_succeeds() {
        let (_fake, session, state) = quiet_session();
        session.set_state(SessionState::Jeopardy);
        assert_eq!(*state.borrow(), SessionState::Jeopardy);
        // Still alive: Jeopardy changes nothing about the expiry.
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(session.is_alive());
        assert_eq!(session.remaining(), usable() - Duration::from_secs(5));
        assert!(session.renewed(session.clock.now(), TTL));
        assert_eq!(*state.borrow(), SessionState::Healthy);
        assert_eq!(session.remaining(), usable());
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_pause_is_jeopardy_while_alive_and_the_end_after_the_expiry() {
        let (fake, session, state) = quiet_session();
        let lock = held_lock(&session);
        session.host_paused();
        assert_eq!(*state.borrow(), SessionState::Jeopardy);
        assert!(lock.is_held(), "a pause shortens nothing by itself");
        assert_eq!(session.remaining(), usable());
        // The page slept past the expiry (the boot clock counted it): at the
        // host's report the session ends, whatever the timers did meanwhile.
        fake.suspend(usable());
        session.host_paused();
        assert_ended(&session, &state, LostReason::SessionExpired);
        assert!(!lock.is_held());
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_end_wins() {
        let (_fake, session, state) = quiet_session();
        let lock = held_lock(&session);
        session.end(LostReason::SessionBlacklisted);
        session.end(LostReason::SessionExpired);
        // Ended before its expiry: no time is left either.
        assert_ended(&session, &state, LostReason::SessionBlacklisted);
        assert_eq!(lock.lost_reason(), Some(LostReason::SessionBlacklisted));
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_ends_the_session_within_a_check_of_its_expiry() {
        let (_fake, session, state) = quiet_session();
        let lock = held_lock(&session);
        let opened = Instant::now();
        tokio::spawn(watchdog(Arc::downgrade(&session)));
        let ended = {
            let mut state = state.clone();
            tokio::spawn(async move {
                let _ = state.wait_for(|s| *s == SessionState::Expired).await;
                Instant::now()
            })
        };
        let at = ended.await.expect("the waiter runs") - opened;
        assert!(at >= usable(), "ended at {at:?}, before the expiry");
        assert!(
            at <= usable() + session.check_interval(),
            "ended at {at:?}, later than one check after the expiry"
        );
        assert_ended(&session, &state, LostReason::SessionExpired);
        assert_eq!(lock.lost().await, LostReason::SessionExpired);
    }

    #[tokio::test(start_paused = true)]
    async fn the_watchdog_reports_a_suspend_as_jeopardy_and_keeps_the_lease() {
        let (fake, session, mut state) = quiet_session();
        tokio::spawn(watchdog(Arc::downgrade(&session)));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(*state.borrow_and_update(), SessionState::Healthy);
        fake.suspend(Duration::from_secs(2));
        state.changed().await.expect("the session reports");
        assert_eq!(*state.borrow(), SessionState::Jeopardy);
        // The suspended time is gone from the lease, which is still held.
        assert!(session.is_alive());
        assert!(session.remaining() <= usable() - Duration::from_secs(3));
    }
}
