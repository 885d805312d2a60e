//! The plain records returned by the admin and read calls, as frozen Python
//! classes with typed, read-only attributes. Times are Unix milliseconds (ints)
//! where the core has them so; durations are float seconds; modes are
//! `"exclusive"` or `"shared"`.

use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;

/// Defines a frozen record class with a readable `repr`.
macro_rules! record {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[pyclass(frozen, get_all, eq, module = "tenure")]
        #[derive(Clone, PartialEq, Debug)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        #[pymethods]
        impl $name {
            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let mut parts: Vec<String> = Vec::new();
                $(
                    let value = self.$field.clone().into_bound_py_any(py)?;
                    parts.push(format!("{}={}", stringify!($field), value.repr()?));
                )*
                Ok(format!("{}({})", stringify!($name), parts.join(", ")))
            }
        }
    };
}

record! {
    /// A current grant of a lock.
    HolderInfo {
        /// Id of the session holding it.
        session_id: u64,
        /// Fencing token of the grant.
        token: u64,
        /// Owner id of the grant (32 hex digits), for `force_release`.
        owner_id: String,
        /// `"exclusive"` or `"shared"`.
        mode: String,
        /// When it was granted (Unix ms, leader clock).
        granted_at_ms: u64,
    }
}

record! {
    /// A queued (waiting) acquire.
    WaiterInfo {
        /// Id of the waiting session.
        session_id: u64,
        /// Its request id.
        request_id: u64,
        /// `"exclusive"` or `"shared"`.
        mode: String,
        /// When the wait times out (Unix ms, leader clock).
        deadline_ms: u64,
    }
}

record! {
    /// A lock's holders and FIFO queue of waiters.
    LockInfo {
        /// The lock name.
        name: String,
        /// Current grants.
        holders: Vec<HolderInfo>,
        /// Waiting acquires, in queue order.
        waiters: Vec<WaiterInfo>,
        /// No grant before this time (Unix ms); 0 without a lock-delay.
        delayed_until_ms: u64,
    }
}

record! {
    /// A session as the server knows it.
    SessionInfo {
        /// Session id.
        session_id: u64,
        /// Time-to-live in seconds.
        ttl: f64,
        /// Label given by its client (default `host:pid`).
        label: String,
        /// Blacklisted: never renewed again, expires at its deadline.
        blacklisted: bool,
        /// Names of the locks it holds.
        held: Vec<String>,
        /// Number of its waiting acquires.
        waiting: u32,
        /// The leader's view of the seconds left before it expires.
        remaining: f64,
    }
}

record! {
    /// A cluster member.
    MemberInfo {
        /// Node id.
        id: u64,
        /// Address (`host:port`).
        addr: String,
        /// Last log index it is known to hold (reported by the leader only).
        matched_index: u64,
    }
}

record! {
    /// One node's view of the cluster.
    ClusterStatus {
        /// The node that answered.
        node_id: u64,
        /// Its role: leader, follower, candidate or learner.
        role: String,
        /// Current Raft term.
        term: u64,
        /// The leader's id, if known.
        leader_id: Option<u64>,
        /// The leader's address, if known.
        leader_addr: Option<String>,
        /// The members.
        members: Vec<MemberInfo>,
        /// Last log index on this node.
        last_log_index: u64,
        /// Last committed index this node knows.
        commit_index: u64,
        /// Last applied index.
        applied_index: u64,
        /// Number of live sessions.
        sessions: u64,
        /// Number of locks with holders or waiters.
        locks: u64,
        /// The fencing token the next grant will get.
        next_token: u64,
    }
}

record! {
    /// An administrative action on record (force-release, blacklist).
    AuditRecord {
        /// When (Unix ms, leader clock).
        at_ms: u64,
        /// What: `force-release` or `blacklist`.
        action: String,
        /// Who did it.
        principal: String,
        /// On what (lock or session).
        target: String,
        /// Details (owner, token, reason).
        detail: String,
    }
}

record! {
    /// A grant handed out by a force-release (to the next waiter).
    GrantInfo {
        /// Lock name.
        name: String,
        /// Fencing token of the new grant.
        token: u64,
        /// Owner id of the new grant.
        owner_id: String,
        /// Session that got it.
        session_id: u64,
    }
}

impl From<tenure::HolderInfo> for HolderInfo {
    fn from(h: tenure::HolderInfo) -> Self {
        let mode = h.mode.code().to_owned();
        let (session_id, token, granted_at_ms) = (h.session_id, h.token, h.granted_at_ms);
        HolderInfo {
            session_id,
            token,
            owner_id: h.owner_id,
            mode,
            granted_at_ms,
        }
    }
}

impl From<tenure::WaiterInfo> for WaiterInfo {
    fn from(w: tenure::WaiterInfo) -> Self {
        let mode = w.mode.code().to_owned();
        let (session_id, request_id, deadline_ms) = (w.session_id, w.request_id, w.deadline_ms);
        WaiterInfo {
            session_id,
            request_id,
            mode,
            deadline_ms,
        }
    }
}

impl From<tenure::LockInfo> for LockInfo {
    fn from(l: tenure::LockInfo) -> Self {
        let holders = l.holders.into_iter().map(HolderInfo::from).collect();
        let waiters = l.waiters.into_iter().map(WaiterInfo::from).collect();
        let delayed_until_ms = l.delayed_until_ms;
        LockInfo {
            name: l.name,
            holders,
            waiters,
            delayed_until_ms,
        }
    }
}

impl From<tenure::SessionInfo> for SessionInfo {
    fn from(s: tenure::SessionInfo) -> Self {
        SessionInfo {
            session_id: s.session_id,
            ttl: s.ttl.as_secs_f64(),
            label: s.label,
            blacklisted: s.blacklisted,
            held: s.held,
            waiting: s.waiting,
            remaining: s.remaining.as_secs_f64(),
        }
    }
}

impl From<tenure::ClusterStatus> for ClusterStatus {
    fn from(s: tenure::ClusterStatus) -> Self {
        ClusterStatus {
            node_id: s.node_id,
            role: s.role,
            term: s.term,
            leader_id: s.leader_id,
            leader_addr: s.leader_addr,
            members: s
                .members
                .into_iter()
                .map(|m| MemberInfo {
                    id: m.id,
                    addr: m.addr,
                    matched_index: m.matched_index,
                })
                .collect(),
            last_log_index: s.last_log_index,
            commit_index: s.commit_index,
            applied_index: s.applied_index,
            sessions: s.sessions,
            locks: s.locks,
            next_token: s.next_token,
        }
    }
}

impl From<tenure::AuditRecord> for AuditRecord {
    fn from(r: tenure::AuditRecord) -> Self {
        AuditRecord {
            at_ms: r.at_ms,
            action: r.action,
            principal: r.principal,
            target: r.target,
            detail: r.detail,
        }
    }
}

impl From<tenure::GrantInfo> for GrantInfo {
    fn from(g: tenure::GrantInfo) -> Self {
        GrantInfo {
            name: g.name,
            token: g.token,
            owner_id: g.owner_id,
            session_id: g.session_id,
        }
    }
}
