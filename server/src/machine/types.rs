//! Commands, outcomes and records of the lock state machine. They are stored in
//! the Raft log and in snapshots, so changing them changes the on-disk format.

use serde::{Deserialize, Serialize};

/// A session id, assigned by the state machine from a counter.
pub type SessionId = u64;
/// A request id, unique within its session (chosen by the client), in
/// `1..=MAX_REQUEST_ID`.
pub type RequestId = u64;
/// The largest valid request id: it fits a signed 64-bit integer (Kotlin `Long`,
/// SQL `bigint`), and leaves headroom so that arithmetic on ids cannot overflow.
pub const MAX_REQUEST_ID: RequestId = i64::MAX as u64;
/// A grant's owner id: 128 random bits chosen by the proposing server.
pub type OwnerId = u128;

/// Lock mode of a grant or waiter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// At most one holder, and no shared holders beside it.
    Exclusive,
    /// Any number of shared holders, and no exclusive one.
    Shared,
    /// `count` permits of a counting semaphore of `limit` permits: grants
    /// while the permits held stay within `limit` (docs/design.md,
    /// "Semaphores"). Every grant of one name has the same `limit`.
    Permits { count: u32, limit: u32 },
}

impl Mode {
    /// The permits this mode takes (0 for a lock).
    pub fn permits(self) -> u32 {
        match self {
            Mode::Permits { count, .. } => count,
            Mode::Exclusive | Mode::Shared => 0,
        }
    }

    /// The semaphore's number of permits (None for a lock).
    pub fn permit_limit(self) -> Option<u32> {
        match self {
            Mode::Permits { limit, .. } => Some(limit),
            Mode::Exclusive | Mode::Shared => None,
        }
    }
}

/// One Raft log entry's payload: many commands proposed together (group commit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The proposing leader's clock (Unix ms, approximately; see
    /// `leader_clock`). The machine's clock moves by how far this is past the
    /// previous batch's stamp, bounded (`Machine::clock_after`).
    pub time_ms: u64,
    /// Commands, applied in order.
    pub commands: Vec<Command>,
}

impl std::fmt::Display for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} commands at {} ms", self.commands.len(), self.time_ms)
    }
}

/// A state-machine command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Opens a session; idempotent on `open_id`.
    OpenSession {
        open_id: u128,
        ttl_ms: u64,
        label: String,
        principal: String,
    },
    /// Closes a session and releases its locks (no lock-delay).
    CloseSession { session: SessionId },
    /// Expires a session (proposed by a leader whose deadline for it passed).
    ExpireSession { session: SessionId },
    /// Acquires a lock, or queues for it when `wait_ms` is set.
    Acquire {
        session: SessionId,
        request: RequestId,
        name: String,
        mode: Mode,
        /// None: try once. Some(ms): wait in the FIFO queue up to ms.
        wait_ms: Option<u64>,
        lock_delay_ms: u64,
        /// The owner id this grant gets, whenever it is granted.
        owner: OwnerId,
        /// A small value stored with the grant, shown by describe and list
        /// (the API allows `validate::MAX_TEXT_BYTES`).
        value: String,
    },
    /// Withdraws a waiting acquire.
    CancelAcquire {
        session: SessionId,
        request: RequestId,
    },
    /// Releases one grant of the session.
    Release {
        session: SessionId,
        request: RequestId,
        name: String,
        owner: OwnerId,
    },
    /// Frees a lock if `owner` still holds it (compare-and-swap), audited.
    ForceRelease {
        name: String,
        owner: OwnerId,
        principal: String,
        reason: String,
        /// The call's retry id (0: none); see `Machine::forced`.
        retry_id: u64,
    },
    /// Stops all later renewals of a session; audited.
    Blacklist {
        session: SessionId,
        principal: String,
        reason: String,
    },
    /// Advances the clock only: times out waiters and ends lock-delays.
    Tick,
    /// Records an audit entry (for example a permission denial).
    Audit {
        action: String,
        principal: String,
        target: String,
        detail: String,
    },
    /// Records how long the session had left on the proposing leader's lease
    /// table, so that a later leader does not grant it a whole TTL again
    /// (docs/design.md, "Remaining-TTL checkpoints").
    Checkpoint {
        session: SessionId,
        remaining_ms: u64,
    },
    /// Forgets the session's checkpoint: it was renewed. Committed before the
    /// renewal is acknowledged.
    ClearCheckpoint { session: SessionId },
    /// Asks the holders of a lock (or only the grant `owner`) to release it:
    /// marks the grants, which their sessions' keepalives then report. Frees
    /// nothing (docs/design.md, "Release requests"); audited.
    RequestRelease {
        name: String,
        owner: Option<OwnerId>,
        principal: String,
        reason: String,
    },
    /// Acquires every name at once or none: each gets its own grant, owner
    /// id and token, in the order given. Waits (in every name's FIFO queue at
    /// once) when `wait_ms` is set. Deduplicated by request id.
    AcquireAll {
        session: SessionId,
        request: RequestId,
        names: Vec<String>,
        /// Exclusive or Shared (the API refuses Permits).
        mode: Mode,
        /// None: try once. Some(ms): wait up to ms.
        wait_ms: Option<u64>,
        lock_delay_ms: u64,
        /// One per name.
        owners: Vec<OwnerId>,
        value: String,
    },
    /// Replaces the value of a grant the session holds (an elected leader
    /// proclaiming its new address); deduplicated by request id.
    SetValue {
        session: SessionId,
        request: RequestId,
        name: String,
        owner: OwnerId,
        value: String,
    },
}

/// What happened to a lock, as a watch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// A grant was made (to a waiter or at once).
    Granted,
    /// The holder released it, or closed its session.
    Released,
    /// The holder's session expired (or ended blacklisted).
    Expired,
    /// An administrator force-released the grant.
    ForceReleased,
    /// An acquire started waiting.
    WaiterAdded,
    /// A waiting acquire left the queue without a grant (cancelled, timed
    /// out, or its session ended or was blacklisted).
    WaiterRemoved,
    /// A holder replaced its value (`SetValue`).
    ValueChanged,
    /// Someone asked the holder to release (`RequestRelease`).
    ReleaseRequested,
}

/// One change of one lock, numbered by the machine's revision counter (one
/// number per change, the same on every replica).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEvent {
    /// The machine's revision after this change.
    pub revision: u64,
    pub change: Change,
    pub name: String,
    /// The holder's or waiter's session.
    pub session: SessionId,
    /// The grant's fencing token (0 for a waiter's change).
    pub token: u64,
    pub owner: OwnerId,
    pub mode: Mode,
    /// The holder's or waiter's value (the new one for ValueChanged).
    pub value: String,
    /// The acquire's request id for waiter changes and grants to a waiter
    /// (0 otherwise).
    pub request: RequestId,
    /// The machine clock at the change (Unix ms).
    pub at_ms: u64,
}

/// A grant as reported to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub name: String,
    pub token: u64,
    pub owner: OwnerId,
    pub mode: Mode,
    pub session: SessionId,
}

/// Why a command did not take effect. Never changes state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Rejection {
    #[error("session {0} does not exist (expired or closed)")]
    SessionExpired(SessionId),
    #[error("session {0} is blacklisted")]
    SessionBlacklisted(SessionId),
    #[error("lock {0:?} is held")]
    LockHeld(String),
    #[error("grant {owner:032x} of lock {name:?} is not current")]
    NotHolder { name: String, owner: OwnerId },
    #[error("timed out waiting for lock {0:?}")]
    TimedOut(String),
    #[error("acquire of lock {0:?} was cancelled")]
    Cancelled(String),
    #[error("request id {0} is older than the session's retained window")]
    StaleRequest(RequestId),
    #[error("no pending acquire with request id {0}")]
    UnknownRequest(RequestId),
    #[error("request id {0} is out of range (1 to 9223372036854775807)")]
    InvalidRequest(RequestId),
    /// The session already holds this lock: a second acquire would otherwise
    /// queue behind itself (docs/design.md, "One grant per session").
    #[error("this session already holds lock {0:?}")]
    AlreadyHeld(String),
    /// The acquire's kind does not match the name's current use: a lock
    /// asked for as a semaphore (or the reverse), or a semaphore with a
    /// different number of permits. Changes nothing.
    #[error("{name:?} is {is}, not {asked}")]
    Mismatch {
        name: String,
        is: String,
        asked: String,
    },
}

/// The outcome of one command, returned to the proposer and kept in the
/// session's dedup table for retries (G5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    SessionOpened {
        session: SessionId,
        ttl_ms: u64,
    },
    SessionEnded {
        released: Vec<String>,
    },
    Granted(Grant),
    /// The acquire is waiting in the queue; its final outcome comes later.
    Queued,
    Released {
        released: bool,
    },
    ForceReleased {
        granted: Vec<Grant>,
    },
    Blacklisted,
    Ticked,
    Audited,
    /// A Checkpoint or ClearCheckpoint took effect.
    Checkpointed,
    Rejected(Rejection),
    /// A release request reached these grants (none: nobody held the lock,
    /// or not the grant named).
    ReleaseRequested {
        asked: Vec<Grant>,
    },
    /// A SetValue took effect.
    ValueSet,
    /// Every name of an AcquireAll was granted (in its order).
    GrantedAll(Vec<Grant>),
}

/// An audit record of an admin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at_ms: u64,
    pub action: String,
    pub principal: String,
    pub target: String,
    pub detail: String,
}
