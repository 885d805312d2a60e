//! The lock state machine: sessions, locks, FIFO waiters, fencing tokens, the
//! per-session dedup table and audit records.
//!
//! It is deterministic: every replica applies the same batches in the same order
//! and reaches the same state. Its only clock is built from the leader's time
//! stamped on each batch (see [`Machine::clock_after`]), used for wait deadlines
//! and lock-delays. Nothing here does I/O; the Raft adapter (`store::state`)
//! wraps it.

mod types;

pub use types::*;

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::controls::{self, Control};

/// Outcomes kept per session for retried requests (G5). Older final outcomes are
/// evicted and their ids then get `StaleRequest`.
pub const DEDUP_WINDOW: usize = 256;
/// Force-released owner ids remembered per session, so its client learns of them.
pub const REVOKED_WINDOW: usize = 16;
/// Audit records of admin actions kept (force-release, blacklist, membership,
/// snapshot save). Only callers with `admin` can add them, so nobody else can
/// push them out.
pub const ADMIN_AUDIT_WINDOW: usize = 10_000;
/// Sampled permission-denial records kept, apart from the admin records: a
/// flood of denials evicts only older denial records.
pub const DENIAL_AUDIT_WINDOW: usize = 1_000;
/// The audit action of a sampled permission denial.
pub const DENIED: &str = "denied";
/// Recent force-releases remembered by retry id, so that a retried
/// ForceRelease (its reply lost) gets the original answer rather than NotHolder
/// (G5).
pub const FORCED_WINDOW: usize = 1024;
/// Longest session TTL the machine keeps (a longer one in a log entry is cut to
/// this): the API's limit, and small enough that `Instant + ttl` cannot overflow.
pub const MAX_SESSION_TTL_MS: u64 = 3_600_000;
/// Most one batch may move the clock while a wait or lock-delay is pending.
pub const MAX_TIMED_STEP_MS: u64 = 10_000;
/// Most one batch may move the clock while nothing is pending.
pub const MAX_IDLE_STEP_MS: u64 = 30 * 86_400_000;

/// One ForceRelease command's arguments.
struct ForceCall<'a> {
    name: &'a str,
    owner: OwnerId,
    principal: &'a str,
    reason: &'a str,
    retry_id: u64,
}

/// The holder or waiter a lock change is about.
struct Party<'a> {
    session: SessionId,
    token: u64,
    owner: OwnerId,
    mode: Mode,
    value: &'a str,
    request: RequestId,
}

impl Holder {
    fn party(&self) -> Party<'_> {
        Party {
            session: self.session,
            token: self.token,
            owner: self.owner,
            mode: self.mode,
            value: &self.value,
            request: 0,
        }
    }
}

impl Waiter {
    fn party(&self) -> Party<'_> {
        Party {
            session: self.session,
            token: 0,
            owner: self.owner,
            mode: self.mode,
            value: &self.value,
            request: self.request,
        }
    }
}

/// Something the node runtime must react to after an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A queued acquire reached its final outcome.
    Resolved {
        session: SessionId,
        request: RequestId,
        outcome: Outcome,
    },
    /// A session was opened: its deadline starts now.
    SessionOpened { session: SessionId, ttl_ms: u64 },
    /// A session ended (closed or expired).
    SessionEnded { session: SessionId },
    /// A lock changed (for watches).
    Lock(LockEvent),
}

/// A session as stored in the state machine.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub ttl_ms: u64,
    pub label: String,
    pub principal: String,
    pub blacklisted: bool,
    open_id: u128,
    /// Grants held: (lock name, owner id).
    held: BTreeSet<(String, OwnerId)>,
    /// Queued acquires: request id -> lock name.
    waiting: BTreeMap<RequestId, String>,
    dedup: BTreeMap<RequestId, Outcome>,
    /// Request ids below this were evicted from `dedup`.
    floor: RequestId,
    revoked: VecDeque<OwnerId>,
    /// Time left on the lease (ms) at the last checkpoint, unless renewed since.
    checkpoint_remaining_ms: Option<u64>,
}

impl Session {
    /// Names of the locks this session holds.
    pub fn held(&self) -> impl Iterator<Item = &str> {
        self.held.iter().map(|(name, _)| name.as_str())
    }

    /// Number of queued acquires.
    pub fn waiting(&self) -> usize {
        self.waiting.len()
    }

    /// Owner ids of this session's grants that were force-released (most recent last).
    pub fn revoked(&self) -> impl Iterator<Item = OwnerId> + '_ {
        self.revoked.iter().copied()
    }

    /// The held grants of this session (lock name, owner id).
    pub fn grants(&self) -> impl Iterator<Item = (&str, OwnerId)> {
        self.held
            .iter()
            .map(|(name, owner)| (name.as_str(), *owner))
    }

    /// Time left on the lease at its last checkpoint (ms), unless it was
    /// renewed since.
    pub fn checkpoint_remaining_ms(&self) -> Option<u64> {
        self.checkpoint_remaining_ms
    }
}

/// A current grant of a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub session: SessionId,
    pub owner: OwnerId,
    pub token: u64,
    pub mode: Mode,
    pub granted_at_ms: u64,
    pub lock_delay_ms: u64,
    /// The holder's value (an address, a job id: what Chubby's primary writes
    /// into its lock file); the API allows `validate::MAX_TEXT_BYTES`.
    pub value: String,
    /// Someone asked this holder to release (`Command::RequestRelease`); its
    /// session's keepalives report it until the grant ends.
    pub release_requested: bool,
}

/// A queued acquire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiter {
    pub session: SessionId,
    pub request: RequestId,
    pub owner: OwnerId,
    pub mode: Mode,
    pub deadline_ms: u64,
    pub lock_delay_ms: u64,
    /// The value the holder gives with its acquire (shown once granted).
    pub value: String,
    /// For an acquire-all: every (name, owner id) of the request, in order,
    /// this entry's own among them; each name's queue holds one entry.
    /// Empty for a single acquire.
    pub group: Vec<(String, OwnerId)>,
}

/// One lock: holders, FIFO waiters and an optional lock-delay.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lock {
    pub holders: Vec<Holder>,
    pub waiters: VecDeque<Waiter>,
    /// No grant before this time (Unix ms), after a holder's session expired.
    pub delayed_until_ms: u64,
}

impl Lock {
    fn admits(&self, mode: Mode) -> bool {
        match mode {
            Mode::Exclusive => self.holders.is_empty(),
            Mode::Shared => self.holders.iter().all(|h| h.mode == Mode::Shared),
            Mode::Permits { count, limit } => {
                // Negative controls: the unit harness's switch, and the fault
                // suite's (set alike on every node of a run).
                #[cfg(test)]
                if tests::OVERGRANT_PERMITS.get() {
                    return true;
                }
                if controls::active(Control::SemaphoreOvergrant) {
                    return true;
                }
                let held: u64 = self
                    .holders
                    .iter()
                    .map(|h| u64::from(h.mode.permits()))
                    .sum();
                self.holders
                    .iter()
                    .all(|h| h.mode.permit_limit() == Some(limit))
                    && held + u64::from(count) <= u64::from(limit)
            }
        }
    }

    /// What the name is used as while it has holders or waiters: a lock
    /// (None) or a semaphore of that many permits. None also when idle.
    pub fn permit_limit(&self) -> Option<Option<u32>> {
        let first = self.holders.first().map(|h| h.mode);
        let mode = first.or_else(|| self.waiters.front().map(|w| w.mode))?;
        Some(mode.permit_limit())
    }

    fn is_idle(&self, now_ms: u64) -> bool {
        self.holders.is_empty() && self.waiters.is_empty() && self.delayed_until_ms <= now_ms
    }
}

/// The replicated state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Machine {
    /// The machine clock (Unix ms, approximately), moved by `clock_after`.
    time_ms: u64,
    /// The previous batch's stamp: the reference the next stamp's step is
    /// measured from.
    stamp_ms: u64,
    last_session: SessionId,
    last_token: u64,
    sessions: BTreeMap<SessionId, Session>,
    locks: BTreeMap<String, Lock>,
    open_ids: BTreeMap<u128, SessionId>,
    audit: VecDeque<AuditRecord>,
    /// Recent successful force-releases: (`forced_key` of the call, grants
    /// made), oldest first.
    forced: VecDeque<(u64, Vec<Grant>)>,
    /// The number of lock changes so far: each `LockEvent` takes the next.
    revision: u64,
    /// Changes made by the batch being applied, handed out as events at its end.
    #[serde(skip)]
    changes: Vec<LockEvent>,
    /// Wait deadlines: (deadline, lock, session, request). Derived from `locks`.
    #[serde(skip)]
    wait_timers: BTreeSet<(u64, String, SessionId, RequestId)>,
    /// Lock-delay ends: (until, lock). Derived from `locks`.
    #[serde(skip)]
    delay_timers: BTreeSet<(u64, String)>,
    /// Live sessions per principal. Derived from `sessions`.
    #[serde(skip)]
    sessions_by_principal: BTreeMap<String, usize>,
    /// Denial records in `audit`. Derived from `audit`.
    #[serde(skip)]
    audit_denials: usize,
}

/// The key a force-release is remembered by: its retry id, lock and owner
/// together (FNV-1a, 64 bits), so that the same retry id on another lock or
/// grant is a new call, not a retry. A digest keeps the stored layout (a u64)
/// unchanged; two different calls share a key with probability 2^-64.
fn forced_key(retry_id: u64, name: &str, owner: OwnerId) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let bytes = retry_id
        .to_le_bytes()
        .into_iter()
        .chain(owner.to_le_bytes())
        .chain(name.bytes());
    bytes.fold(OFFSET, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

impl Machine {
    /// Checks what a state read from a snapshot must satisfy for [`apply`]
    /// to stay total and keep G2: the session and token counters far from
    /// overflow (grants alone take them to at most one per command), no
    /// holder's token above the last token, no session id above the last one
    /// (the next grant or session would repeat it). Found by the
    /// `snapshot_body` fuzz target: a last token of u64::MAX overflowed at the
    /// next grant.
    ///
    /// [`apply`]: Machine::apply
    pub fn check_restored(&self) -> Result<(), String> {
        const MAX_COUNTER: u64 = i64::MAX as u64;
        if self.last_token > MAX_COUNTER || self.last_session > MAX_COUNTER {
            return Err(format!(
                "implausible counters (last token {}, last session {})",
                self.last_token, self.last_session
            ));
        }
        if let Some(&id) = self.sessions.keys().next_back()
            && id > self.last_session
        {
            return Err(format!(
                "session {id} is above the last session id {}",
                self.last_session
            ));
        }
        for (name, lock) in &self.locks {
            if let Some(h) = lock.holders.iter().find(|h| h.token > self.last_token) {
                return Err(format!(
                    "lock {name:?} has token {} above the last token {}",
                    h.token, self.last_token
                ));
            }
        }
        Ok(())
    }

    /// Rebuilds the derived indexes (after deserializing a snapshot).
    pub fn rebuild_indexes(&mut self) {
        self.wait_timers.clear();
        self.delay_timers.clear();
        self.sessions_by_principal.clear();
        for s in self.sessions.values() {
            *self
                .sessions_by_principal
                .entry(s.principal.clone())
                .or_default() += 1;
        }
        self.audit_denials = self.audit.iter().filter(|r| r.action == DENIED).count();
        for (name, lock) in &self.locks {
            for w in &lock.waiters {
                self.wait_timers
                    .insert((w.deadline_ms, name.clone(), w.session, w.request));
            }
            if lock.delayed_until_ms > self.time_ms {
                self.delay_timers
                    .insert((lock.delayed_until_ms, name.clone()));
            }
        }
    }

    /// Applies one batch; returns one outcome per command, and pushes the events
    /// the runtime must handle onto `events`.
    pub fn apply(&mut self, batch: &Batch, events: &mut Vec<Event>) -> Vec<Outcome> {
        self.time_ms = self.clock_after(batch.time_ms);
        self.stamp_ms = batch.time_ms;
        self.fire_timers(events);
        let outcomes = batch
            .commands
            .iter()
            .map(|cmd| self.apply_command(cmd, events))
            .collect();
        events.extend(self.changes.drain(..).map(Event::Lock));
        outcomes
    }

    /// The revision of the last lock change (0: none yet).
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Records a change of `name` by a holder or waiter (`who`), with the
    /// next revision.
    fn note(&mut self, change: Change, name: &str, who: Party<'_>) {
        self.revision += 1;
        self.changes.push(LockEvent {
            revision: self.revision,
            change,
            name: name.to_owned(),
            session: who.session,
            token: who.token,
            owner: who.owner,
            mode: who.mode,
            value: who.value.to_owned(),
            request: who.request,
            at_ms: self.time_ms,
        });
    }

    /// The state machine's clock (Unix ms, monotonic).
    pub fn time_ms(&self) -> u64 {
        self.time_ms
    }

    /// The stamp of the last batch applied (the leader clock's time then).
    pub fn stamp_ms(&self) -> u64 {
        self.stamp_ms
    }

    /// The clock after a batch stamped `stamp_ms` (the rule, DESIGN "machine
    /// clock"). A fresh machine (clock 0) takes the stamp as it is. Otherwise the
    /// clock moves by how far the stamp is past the previous stamp: a stamp
    /// behind it (a leader whose clock is slow) moves nothing, so the clock never
    /// goes back, and the next stamps move it at their own pace again, so a stamp
    /// far ahead cannot freeze timers the way a maximum of stamps would. One step
    /// is at most `MAX_TIMED_STEP_MS` while a wait or lock-delay is pending (a
    /// wrong stamp can end them only that much early; the leader ticks more often
    /// than that, see `leader::tick_timers`) and `MAX_IDLE_STEP_MS` otherwise, so
    /// an idle cluster still follows the time that passed.
    pub fn clock_after(&self, stamp_ms: u64) -> u64 {
        if self.time_ms == 0 {
            return stamp_ms;
        }
        let bound = if self.next_timer_ms().is_some() {
            MAX_TIMED_STEP_MS
        } else {
            MAX_IDLE_STEP_MS
        };
        let step = stamp_ms.saturating_sub(self.stamp_ms).min(bound);
        self.time_ms.saturating_add(step)
    }

    /// The last fencing token granted (0 if none).
    pub fn last_token(&self) -> u64 {
        self.last_token
    }

    /// The earliest pending wait deadline or lock-delay end, if any: the leader
    /// proposes a `Tick` then.
    pub fn next_timer_ms(&self) -> Option<u64> {
        let wait = self.wait_timers.first().map(|t| t.0);
        let delay = self.delay_timers.first().map(|t| t.0);
        match (wait, delay) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A session by id.
    pub fn session(&self, id: SessionId) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// All sessions, by id.
    pub fn sessions(&self) -> &BTreeMap<SessionId, Session> {
        &self.sessions
    }

    /// A lock by name.
    pub fn lock(&self, name: &str) -> Option<&Lock> {
        self.locks.get(name)
    }

    /// All locks, by name.
    pub fn locks(&self) -> &BTreeMap<String, Lock> {
        &self.locks
    }

    /// Audit records, oldest first.
    pub fn audit(&self) -> impl DoubleEndedIterator<Item = &AuditRecord> {
        self.audit.iter()
    }

    /// The recorded outcome of a request, if still in the session's window.
    pub fn recorded(&self, session: SessionId, request: RequestId) -> Option<&Outcome> {
        self.sessions.get(&session)?.dedup.get(&request)
    }

    fn apply_command(&mut self, cmd: &Command, events: &mut Vec<Event>) -> Outcome {
        match cmd {
            Command::OpenSession {
                open_id,
                ttl_ms,
                label,
                principal,
            } => self.open_session(*open_id, *ttl_ms, label, principal, events),
            Command::CloseSession { session } => self.end_session(*session, false, events),
            Command::ExpireSession { session } => self.end_session(*session, true, events),
            Command::Acquire {
                session,
                request,
                name,
                mode,
                wait_ms,
                lock_delay_ms,
                owner,
                value,
            } => self.deduped(*session, *request, |m| {
                let waiter = Waiter {
                    session: *session,
                    request: *request,
                    owner: *owner,
                    mode: *mode,
                    deadline_ms: m.time_ms,
                    lock_delay_ms: *lock_delay_ms,
                    value: value.clone(),
                    group: Vec::new(),
                };
                m.acquire(name, *wait_ms, waiter)
            }),
            Command::CancelAcquire { session, request } => {
                self.cancel_acquire(*session, *request, events)
            }
            Command::Release {
                session,
                request,
                name,
                owner,
            } => self.deduped(*session, *request, |m| {
                m.release(*session, name, *owner, events)
            }),
            Command::ForceRelease {
                name,
                owner,
                principal,
                reason,
                retry_id,
            } => {
                let call = ForceCall {
                    name,
                    owner: *owner,
                    principal,
                    reason,
                    retry_id: *retry_id,
                };
                self.force_release(call, events)
            }
            Command::Blacklist {
                session,
                principal,
                reason,
            } => self.blacklist(*session, principal, reason, events),
            Command::Tick => Outcome::Ticked,
            Command::Audit {
                action,
                principal,
                target,
                detail,
            } => {
                self.audit_record(action, principal, target, detail.clone());
                Outcome::Audited
            }
            Command::Checkpoint {
                session,
                remaining_ms,
            } => self.set_checkpoint(*session, Some(*remaining_ms)),
            Command::ClearCheckpoint { session } => self.set_checkpoint(*session, None),
            Command::RequestRelease {
                name,
                owner,
                principal,
                reason,
            } => self.request_release(name, *owner, principal, reason),
            Command::SetValue {
                session,
                request,
                name,
                owner,
                value,
            } => self.deduped(*session, *request, |m| {
                m.set_value(*session, name, *owner, value)
            }),
            Command::AcquireAll {
                session,
                request,
                names,
                mode,
                wait_ms,
                lock_delay_ms,
                owners,
                value,
            } => self.deduped(*session, *request, |m| {
                let waiter = Waiter {
                    session: *session,
                    request: *request,
                    owner: 0,
                    mode: *mode,
                    deadline_ms: m.time_ms,
                    lock_delay_ms: *lock_delay_ms,
                    value: value.clone(),
                    group: names.iter().cloned().zip(owners.iter().copied()).collect(),
                };
                m.acquire_all(names.len(), *wait_ms, waiter)
            }),
        }
    }

    /// Replaces the value of a grant `session` holds.
    fn set_value(
        &mut self,
        session: SessionId,
        name: &str,
        owner: OwnerId,
        value: &str,
    ) -> Outcome {
        let not_holder = || {
            Outcome::Rejected(Rejection::NotHolder {
                name: name.to_owned(),
                owner,
            })
        };
        let Some(holder) = self
            .locks
            .get_mut(name)
            .and_then(|l| l.holders.iter_mut().find(|h| h.owner == owner))
        else {
            return not_holder();
        };
        if holder.session != session {
            return not_holder();
        }
        holder.value = value.to_owned();
        let holder = holder.clone();
        self.note(Change::ValueChanged, name, holder.party());
        Outcome::ValueSet
    }

    /// Owner ids of the session's grants whose release was requested.
    pub fn release_requests(&self, session: SessionId) -> Vec<OwnerId> {
        let Some(s) = self.sessions.get(&session) else {
            return Vec::new();
        };
        s.grants()
            .filter(|(name, owner)| {
                self.find_holder(name, *owner)
                    .is_some_and(|h| h.release_requested)
            })
            .map(|(_, owner)| owner)
            .collect()
    }

    /// Marks the holders of `name` (only `owner`'s grant, if given) as asked
    /// to release. Changes no grant: the holder decides.
    fn request_release(
        &mut self,
        name: &str,
        owner: Option<OwnerId>,
        principal: &str,
        reason: &str,
    ) -> Outcome {
        let Some(lock) = self.locks.get_mut(name) else {
            return Outcome::ReleaseRequested { asked: Vec::new() };
        };
        let mut asked = Vec::new();
        let mut newly = Vec::new();
        for h in &mut lock.holders {
            if owner.is_none_or(|o| o == h.owner) {
                if !h.release_requested {
                    h.release_requested = true;
                    newly.push(h.clone());
                }
                asked.push(Grant {
                    name: name.to_owned(),
                    token: h.token,
                    owner: h.owner,
                    mode: h.mode,
                    session: h.session,
                });
            }
        }
        for h in &newly {
            self.note(Change::ReleaseRequested, name, h.party());
        }
        let owners: Vec<String> = asked.iter().map(|g| format!("{:032x}", g.owner)).collect();
        self.audit_record(
            "request-release",
            principal,
            name,
            format!("owners=[{}] reason={reason}", owners.join(",")),
        );
        Outcome::ReleaseRequested { asked }
    }

    fn set_checkpoint(&mut self, session: SessionId, remaining_ms: Option<u64>) -> Outcome {
        let Some(s) = self.sessions.get_mut(&session) else {
            return Outcome::Rejected(Rejection::SessionExpired(session));
        };
        s.checkpoint_remaining_ms = remaining_ms;
        Outcome::Checkpointed
    }

    fn open_session(
        &mut self,
        open_id: u128,
        ttl_ms: u64,
        label: &str,
        principal: &str,
        events: &mut Vec<Event>,
    ) -> Outcome {
        if let Some(&id) = self.open_ids.get(&open_id)
            && let Some(s) = self.sessions.get(&id)
        {
            return Outcome::SessionOpened {
                session: id,
                ttl_ms: s.ttl_ms,
            };
        }
        // A TTL past the API's limit can only come from a bad log entry; cut it
        // so that no replica's `Instant + ttl` overflows.
        let ttl_ms = ttl_ms.min(MAX_SESSION_TTL_MS);
        self.last_session += 1;
        let id = self.last_session;
        self.sessions.insert(
            id,
            Session {
                ttl_ms,
                label: label.to_owned(),
                principal: principal.to_owned(),
                blacklisted: false,
                open_id,
                held: BTreeSet::new(),
                waiting: BTreeMap::new(),
                dedup: BTreeMap::new(),
                floor: 0,
                revoked: VecDeque::new(),
                checkpoint_remaining_ms: None,
            },
        );
        self.open_ids.insert(open_id, id);
        *self
            .sessions_by_principal
            .entry(principal.to_owned())
            .or_default() += 1;
        events.push(Event::SessionOpened {
            session: id,
            ttl_ms,
        });
        Outcome::SessionOpened {
            session: id,
            ttl_ms,
        }
    }

    /// Runs `f` once per (session, request): a retry returns the recorded outcome.
    fn deduped(
        &mut self,
        session: SessionId,
        request: RequestId,
        f: impl FnOnce(&mut Self) -> Outcome,
    ) -> Outcome {
        let Some(s) = self.sessions.get(&session) else {
            return Outcome::Rejected(Rejection::SessionExpired(session));
        };
        if request > MAX_REQUEST_ID {
            // Never recorded: an id past the range cannot move the session's floor.
            return Outcome::Rejected(Rejection::InvalidRequest(request));
        }
        if let Some(recorded) = s.dedup.get(&request) {
            return recorded.clone();
        }
        if request < s.floor {
            return Outcome::Rejected(Rejection::StaleRequest(request));
        }
        let outcome = f(self);
        self.record(session, request, outcome.clone());
        outcome
    }

    fn record(&mut self, session: SessionId, request: RequestId, outcome: Outcome) {
        let Some(s) = self.sessions.get_mut(&session) else {
            return;
        };
        s.dedup.insert(request, outcome);
        while s.dedup.len() > DEDUP_WINDOW {
            // Evict the oldest final outcome; queued ones stay until resolved.
            let Some(&oldest) = s
                .dedup
                .iter()
                .find(|(_, o)| **o != Outcome::Queued)
                .map(|(id, _)| id)
            else {
                break;
            };
            s.dedup.remove(&oldest);
            s.floor = s.floor.max(oldest.saturating_add(1));
        }
    }

    /// Grants `name` to `waiter` at once, queues it for `wait_ms`, or
    /// rejects it. `waiter.deadline_ms` is set here.
    fn acquire(&mut self, name: &str, wait_ms: Option<u64>, mut waiter: Waiter) -> Outcome {
        let (session, request, owner, mode) =
            (waiter.session, waiter.request, waiter.owner, waiter.mode);
        if self.sessions.get(&session).is_some_and(|s| s.blacklisted) {
            return Outcome::Rejected(Rejection::SessionBlacklisted(session));
        }
        let now = self.time_ms;
        let lock = self.locks.entry(name.to_owned()).or_default();
        // A name is a lock or a semaphore of N permits while it is in use; an
        // acquire of the other kind is refused (else a semaphore's limit would
        // shift under its holders, or a lock would count permits).
        if let Some(current) = lock.permit_limit()
            && current != mode.permit_limit()
        {
            let kind = |limit: Option<u32>| match limit {
                Some(n) => format!("a semaphore of {n} permits"),
                None => "a lock".to_owned(),
            };
            return Outcome::Rejected(Rejection::Mismatch {
                name: name.to_owned(),
                is: kind(current),
                asked: kind(mode.permit_limit()),
            });
        }
        // No silent reentrancy: a session holds a lock at most once. A second
        // acquire would wait behind the session's own grant until it timed out
        // (or forever), so it fails at once; a counted reentrant hold would
        // need the client to know which of its callers owns the grant, which
        // the server cannot see. Semaphore permits are counted, so a session
        // may hold several grants of one.
        if mode.permit_limit().is_none() && lock.holders.iter().any(|h| h.session == session) {
            return Outcome::Rejected(Rejection::AlreadyHeld(name.to_owned()));
        }
        // Grants are told apart by owner id: a second grant under an owner id
        // that holds or awaits this lock already would be lost to its session
        // when the first is released (the lock then held by nobody alive). The
        // proposer draws owner ids at random, so only a bad log entry repeats
        // one (found by the `machine_commands` fuzz target).
        if lock.holders.iter().any(|h| h.owner == owner)
            || lock.waiters.iter().any(|w| w.owner == owner)
        {
            return Outcome::Rejected(Rejection::LockHeld(name.to_owned()));
        }
        let free_now = lock.waiters.is_empty() && lock.delayed_until_ms <= now && lock.admits(mode);
        if free_now {
            waiter.deadline_ms = now;
            return Outcome::Granted(self.grant(name, &waiter));
        }
        match wait_ms.filter(|&ms| ms > 0) {
            Some(ms) => {
                let deadline_ms = now.saturating_add(ms);
                waiter.deadline_ms = deadline_ms;
                lock.waiters.push_back(waiter.clone());
                self.wait_timers
                    .insert((deadline_ms, name.to_owned(), session, request));
                if let Some(s) = self.sessions.get_mut(&session) {
                    s.waiting.insert(request, name.to_owned());
                }
                self.note(Change::WaiterAdded, name, waiter.party());
                Outcome::Queued
            }
            None => Outcome::Rejected(Rejection::LockHeld(name.to_owned())),
        }
    }

    /// Grants `name` to `w` with the next fencing token (G2).
    fn grant(&mut self, name: &str, w: &Waiter) -> Grant {
        self.last_token += 1;
        let token = self.last_token;
        let lock = self.locks.entry(name.to_owned()).or_default();
        lock.holders.push(Holder {
            session: w.session,
            owner: w.owner,
            token,
            mode: w.mode,
            granted_at_ms: self.time_ms,
            lock_delay_ms: w.lock_delay_ms,
            value: w.value.clone(),
            release_requested: false,
        });
        if let Some(s) = self.sessions.get_mut(&w.session) {
            s.held.insert((name.to_owned(), w.owner));
        }
        let party = Party { token, ..w.party() };
        self.note(Change::Granted, name, party);
        Grant {
            name: name.to_owned(),
            token,
            owner: w.owner,
            mode: w.mode,
            session: w.session,
        }
    }

    /// Grants waiters at the head of the queue while they are compatible (FIFO,
    /// no barging), then drops the lock entry if it became idle. An
    /// acquire-all granted here may make its other names grantable: they are
    /// promoted in turn from a work list (not by recursion, so a long chain
    /// of shared acquire-alls cannot exhaust the stack while applying).
    fn promote(&mut self, name: &str, events: &mut Vec<Event>) -> Vec<Grant> {
        let mut granted = Vec::new();
        let mut pending = vec![name.to_owned()];
        while let Some(next) = pending.pop() {
            self.promote_one(&next, events, &mut granted, &mut pending);
        }
        granted
    }

    /// `promote` for one queue; the names of acquire-alls it grants go to
    /// `pending`.
    fn promote_one(
        &mut self,
        name: &str,
        events: &mut Vec<Event>,
        granted: &mut Vec<Grant>,
        pending: &mut Vec<String>,
    ) {
        loop {
            let now = self.time_ms;
            let Some(lock) = self.locks.get_mut(name) else {
                break;
            };
            if lock.delayed_until_ms > now {
                break;
            }
            let Some(head) = lock.waiters.front() else {
                break;
            };
            if !lock.admits(head.mode) {
                break;
            }
            if !head.group.is_empty() {
                // An acquire-all at the head: granted when it heads every one
                // of its queues at once, else it holds this queue (FIFO).
                let head = head.clone();
                let Some(grants) = self.grant_group(&head, events) else {
                    break;
                };
                granted.extend(grants);
                pending.extend(head.group.into_iter().map(|(n, _)| n).filter(|n| n != name));
                continue;
            }
            let Some(w) = lock.waiters.pop_front() else {
                break;
            };
            self.wait_timers
                .remove(&(w.deadline_ms, name.to_owned(), w.session, w.request));
            let grant = self.grant(name, &w);
            self.resolve(
                w.session,
                w.request,
                Outcome::Granted(grant.clone()),
                events,
            );
            granted.push(grant);
        }
        self.drop_if_idle(name);
    }

    fn drop_if_idle(&mut self, name: &str) {
        if self
            .locks
            .get(name)
            .is_some_and(|l| l.is_idle(self.time_ms))
        {
            self.locks.remove(name);
        }
    }

    /// Records the final outcome of a queued acquire and tells the runtime.
    fn resolve(
        &mut self,
        session: SessionId,
        request: RequestId,
        outcome: Outcome,
        events: &mut Vec<Event>,
    ) {
        if let Some(s) = self.sessions.get_mut(&session) {
            s.waiting.remove(&request);
        }
        self.record(session, request, outcome.clone());
        events.push(Event::Resolved {
            session,
            request,
            outcome,
        });
    }

    /// Removes a queued acquire from its queue (every queue, for an
    /// acquire-all); returns the names, the one the session recorded first,
    /// or none if the request was not queued.
    fn unqueue(&mut self, session: SessionId, request: RequestId) -> Vec<String> {
        let Some(name) = self
            .sessions
            .get_mut(&session)
            .and_then(|s| s.waiting.remove(&request))
        else {
            return Vec::new();
        };
        let mut names = vec![name.clone()];
        if let Some(w) = self.remove_entry(&name, session, request) {
            names.extend(self.remove_group_rest(&name, &w));
        }
        names
    }

    /// Takes the queue entry of `(session, request)` out of `name`'s queue,
    /// with its timer.
    fn remove_entry(
        &mut self,
        name: &str,
        session: SessionId,
        request: RequestId,
    ) -> Option<Waiter> {
        let lock = self.locks.get_mut(name)?;
        let pos = lock
            .waiters
            .iter()
            .position(|w| w.session == session && w.request == request)?;
        let w = lock.waiters.remove(pos)?;
        self.wait_timers
            .remove(&(w.deadline_ms, name.to_owned(), session, request));
        self.note(Change::WaiterRemoved, name, w.party());
        Some(w)
    }

    /// Takes the other entries of `w`'s acquire-all (all but `name`'s) out
    /// of their queues; returns their names.
    fn remove_group_rest(&mut self, name: &str, w: &Waiter) -> Vec<String> {
        let others: Vec<String> = w
            .group
            .iter()
            .map(|(n, _)| n.clone())
            .filter(|n| n != name)
            .collect();
        for n in &others {
            self.remove_entry(n, w.session, w.request);
        }
        others
    }

    fn cancel_acquire(
        &mut self,
        session: SessionId,
        request: RequestId,
        events: &mut Vec<Event>,
    ) -> Outcome {
        let Some(s) = self.sessions.get(&session) else {
            return Outcome::Rejected(Rejection::SessionExpired(session));
        };
        if request > MAX_REQUEST_ID {
            return Outcome::Rejected(Rejection::InvalidRequest(request));
        }
        match s.dedup.get(&request) {
            Some(Outcome::Queued) => {
                let names = self.unqueue(session, request);
                let Some(first) = names.first() else {
                    return Outcome::Rejected(Rejection::UnknownRequest(request));
                };
                let cancelled = Outcome::Rejected(Rejection::Cancelled(first.clone()));
                self.resolve(session, request, cancelled.clone(), events);
                for name in &names {
                    self.promote(name, events);
                }
                cancelled
            }
            Some(final_outcome) => final_outcome.clone(),
            None if request < s.floor => Outcome::Rejected(Rejection::StaleRequest(request)),
            None => {
                // The acquire has not arrived yet: a tombstone makes it fail when it does.
                let cancelled = Outcome::Rejected(Rejection::Cancelled(String::new()));
                self.record(session, request, cancelled.clone());
                cancelled
            }
        }
    }

    fn release(
        &mut self,
        session: SessionId,
        name: &str,
        owner: OwnerId,
        events: &mut Vec<Event>,
    ) -> Outcome {
        let Some(holder) = self.find_holder(name, owner) else {
            return Outcome::Released { released: false };
        };
        if holder.session != session {
            return Outcome::Rejected(Rejection::NotHolder {
                name: name.to_owned(),
                owner,
            });
        }
        self.remove_holder(name, owner, Change::Released);
        self.promote(name, events);
        Outcome::Released { released: true }
    }

    fn find_holder(&self, name: &str, owner: OwnerId) -> Option<&Holder> {
        self.locks
            .get(name)?
            .holders
            .iter()
            .find(|h| h.owner == owner)
    }

    /// Removes a grant (`change` says why: Released, Expired or
    /// ForceReleased); on expiry it starts the grant's lock-delay.
    fn remove_holder(&mut self, name: &str, owner: OwnerId, change: Change) {
        let expired = change == Change::Expired;
        let now = self.time_ms;
        let Some(lock) = self.locks.get_mut(name) else {
            return;
        };
        let Some(pos) = lock.holders.iter().position(|h| h.owner == owner) else {
            return;
        };
        let holder = lock.holders.remove(pos);
        if expired && holder.lock_delay_ms > 0 {
            let until = now.saturating_add(holder.lock_delay_ms);
            // A delay ending no later than now (the clock at u64::MAX) is no
            // delay: a timer for it would be one that `rebuild_indexes` does
            // not rebuild, so a replica restored from a snapshot would differ
            // (found by the `machine_commands` fuzz target).
            if until > lock.delayed_until_ms && until > now {
                self.delay_timers
                    .remove(&(lock.delayed_until_ms, name.to_owned()));
                lock.delayed_until_ms = until;
                self.delay_timers.insert((until, name.to_owned()));
            }
        }
        if let Some(s) = self.sessions.get_mut(&holder.session) {
            s.held.remove(&(name.to_owned(), owner));
        }
        #[cfg(test)]
        if expired && tests::SILENT_EXPIRY.get() {
            return;
        }
        self.note(change, name, holder.party());
    }

    fn end_session(&mut self, id: SessionId, expired: bool, events: &mut Vec<Event>) -> Outcome {
        let Some(session) = self.sessions.remove(&id) else {
            return Outcome::SessionEnded {
                released: Vec::new(),
            };
        };
        self.open_ids.remove(&session.open_id);
        if let Some(n) = self.sessions_by_principal.get_mut(&session.principal) {
            *n -= 1;
            if *n == 0 {
                self.sessions_by_principal.remove(&session.principal);
            }
        }
        let mut affected = BTreeSet::new();
        for (request, name) in &session.waiting {
            if let Some(w) = self.remove_entry(name, id, *request) {
                affected.extend(self.remove_group_rest(name, &w));
            }
            events.push(Event::Resolved {
                session: id,
                request: *request,
                outcome: Outcome::Rejected(Rejection::SessionExpired(id)),
            });
            affected.insert(name.clone());
        }
        let mut released = Vec::new();
        for (name, owner) in &session.held {
            let change = if expired {
                Change::Expired
            } else {
                Change::Released
            };
            self.remove_holder(name, *owner, change);
            released.push(name.clone());
            affected.insert(name.clone());
        }
        // Promote only after every waiter of the ended session is gone, so none of
        // its own waiters is granted the locks it just lost.
        for name in &affected {
            self.promote(name, events);
        }
        events.push(Event::SessionEnded { session: id });
        Outcome::SessionEnded { released }
    }

    fn force_release(&mut self, call: ForceCall<'_>, events: &mut Vec<Event>) -> Outcome {
        let ForceCall {
            name,
            owner,
            principal,
            reason,
            retry_id,
        } = call;
        let key = forced_key(retry_id, name, owner);
        if retry_id != 0
            && let Some((_, granted)) = self.forced.iter().find(|(k, _)| *k == key)
        {
            // A retry of a call that took effect: its answer again, no effect.
            return Outcome::ForceReleased {
                granted: granted.clone(),
            };
        }
        let Some(holder) = self.find_holder(name, owner).cloned() else {
            return Outcome::Rejected(Rejection::NotHolder {
                name: name.to_owned(),
                owner,
            });
        };
        self.remove_holder(name, owner, Change::ForceReleased);
        if let Some(s) = self.sessions.get_mut(&holder.session) {
            s.revoked.push_back(owner);
            if s.revoked.len() > REVOKED_WINDOW {
                s.revoked.pop_front();
            }
        }
        let granted = self.promote(name, events);
        if retry_id != 0 {
            self.forced.push_back((key, granted.clone()));
            if self.forced.len() > FORCED_WINDOW {
                self.forced.pop_front();
            }
        }
        self.audit_record(
            "force-release",
            principal,
            name,
            format!(
                "owner={owner:032x} token={} session={} reason={reason}",
                holder.token, holder.session
            ),
        );
        Outcome::ForceReleased { granted }
    }

    fn blacklist(
        &mut self,
        id: SessionId,
        principal: &str,
        reason: &str,
        events: &mut Vec<Event>,
    ) -> Outcome {
        let Some(session) = self.sessions.get_mut(&id) else {
            return Outcome::Rejected(Rejection::SessionExpired(id));
        };
        if session.blacklisted {
            return Outcome::Blacklisted;
        }
        session.blacklisted = true;
        let requests: Vec<RequestId> = session.waiting.keys().copied().collect();
        for request in requests {
            let names = self.unqueue(id, request);
            if !names.is_empty() {
                let outcome = Outcome::Rejected(Rejection::SessionBlacklisted(id));
                self.resolve(id, request, outcome, events);
            }
            for name in &names {
                self.promote(name, events);
            }
        }
        self.audit_record(
            "blacklist",
            principal,
            &format!("session {id}"),
            reason.to_owned(),
        );
        Outcome::Blacklisted
    }

    /// Appends an audit record; past its kind's window, the oldest record of
    /// the same kind goes (denials never push out admin records).
    fn audit_record(&mut self, action: &str, principal: &str, target: &str, detail: String) {
        let denial = action == DENIED;
        self.audit.push_back(AuditRecord {
            at_ms: self.time_ms,
            action: action.to_owned(),
            principal: principal.to_owned(),
            target: target.to_owned(),
            detail,
        });
        if denial {
            self.audit_denials += 1;
        }
        let admin = self.audit.len() - self.audit_denials;
        let evict = if denial {
            self.audit_denials > DENIAL_AUDIT_WINDOW
        } else {
            admin > ADMIN_AUDIT_WINDOW
        };
        if evict
            && let Some(oldest) = self
                .audit
                .iter()
                .position(|r| (r.action == DENIED) == denial)
        {
            self.audit.remove(oldest);
            if denial {
                self.audit_denials -= 1;
            }
        }
    }

    /// Live sessions of `principal`.
    pub fn sessions_of(&self, principal: &str) -> usize {
        self.sessions_by_principal
            .get(principal)
            .copied()
            .unwrap_or(0)
    }

    /// Times out waiters and ends lock-delays whose time has come.
    fn fire_timers(&mut self, events: &mut Vec<Event>) {
        let now = self.time_ms;
        while let Some((deadline, name, session, request)) = self.wait_timers.first().cloned() {
            if deadline > now {
                break;
            }
            self.wait_timers.pop_first();
            let names = self.unqueue(session, request);
            if !names.is_empty() {
                let outcome = Outcome::Rejected(Rejection::TimedOut(name.clone()));
                self.resolve(session, request, outcome, events);
            }
            self.promote(&name, events);
            for other in names.iter().filter(|n| **n != name) {
                self.promote(other, events);
            }
        }
        while let Some((until, name)) = self.delay_timers.first().cloned() {
            if until > now {
                break;
            }
            self.delay_timers.pop_first();
            self.promote(&name, events);
        }
    }
}

mod acquire_all;
#[cfg(test)]
mod checkpoint_tests;
#[cfg(test)]
mod tests;
