//! The plain records of the admin and read calls, as JS objects.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use crate::errors::{millis, num};

/// A current grant of a lock.
#[napi(object)]
pub struct HolderInfo {
    /// Session holding it.
    pub session_id: f64,
    /// Fencing token.
    pub token: BigInt,
    /// Owner id (32 hex digits).
    pub owner_id: String,
    /// `exclusive` or `shared`.
    #[napi(ts_type = "'exclusive' | 'shared'")]
    pub mode: String,
    /// When it was granted (Unix ms, leader clock).
    pub granted_at_ms: f64,
}

/// A queued acquire.
#[napi(object)]
pub struct WaiterInfo {
    /// Session waiting.
    pub session_id: f64,
    /// Its request id.
    pub request_id: f64,
    /// `exclusive` or `shared`.
    #[napi(ts_type = "'exclusive' | 'shared'")]
    pub mode: String,
    /// When the wait times out (Unix ms, leader clock).
    pub deadline_ms: f64,
}

/// A lock's holders and waiters.
#[napi(object)]
pub struct LockInfo {
    /// Lock name.
    pub name: String,
    /// Current grants.
    pub holders: Vec<HolderInfo>,
    /// FIFO queue of waiting acquires.
    pub waiters: Vec<WaiterInfo>,
    /// No grant before this time (Unix ms), 0 if no lock-delay.
    pub delayed_until_ms: f64,
}

impl From<tenure::HolderInfo> for HolderInfo {
    fn from(h: tenure::HolderInfo) -> Self {
        let (session_id, token) = (num(h.session_id), BigInt::from(h.token));
        let (mode, granted_at_ms) = (h.mode.code().to_owned(), num(h.granted_at_ms));
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
        let (session_id, request_id) = (num(w.session_id), num(w.request_id));
        let (mode, deadline_ms) = (w.mode.code().to_owned(), num(w.deadline_ms));
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
        let delayed_until_ms = num(l.delayed_until_ms);
        LockInfo {
            name: l.name,
            holders,
            waiters,
            delayed_until_ms,
        }
    }
}

/// A session as the server knows it.
#[napi(object)]
pub struct SessionInfo {
    /// Session id.
    pub session_id: f64,
    /// TTL in ms.
    pub ttl_ms: f64,
    /// Label given by its client.
    pub label: String,
    /// Blacklisted (expires at its deadline, never renewed).
    pub blacklisted: bool,
    /// Names of the locks it holds.
    pub held: Vec<String>,
    /// Number of acquires it has waiting.
    pub waiting: u32,
    /// The leader's view of the time left, in ms.
    pub remaining_ms: f64,
}

impl From<tenure::SessionInfo> for SessionInfo {
    fn from(s: tenure::SessionInfo) -> Self {
        SessionInfo {
            session_id: num(s.session_id),
            ttl_ms: millis(s.ttl),
            label: s.label,
            blacklisted: s.blacklisted,
            held: s.held,
            waiting: s.waiting,
            remaining_ms: millis(s.remaining),
        }
    }
}

/// A cluster member.
#[napi(object)]
pub struct MemberInfo {
    /// Node id.
    pub id: f64,
    /// Address.
    pub addr: String,
    /// Last log index it is known to hold (reported by the leader only).
    pub matched_index: f64,
}

/// One node's view of the cluster.
#[napi(object)]
pub struct ClusterStatus {
    /// The node that answered.
    pub node_id: f64,
    /// Its role: leader, follower, candidate, learner.
    pub role: String,
    /// Current term.
    pub term: f64,
    /// The leader's id, if known.
    pub leader_id: Option<f64>,
    /// The leader's address, if known.
    pub leader_addr: Option<String>,
    /// Members.
    pub members: Vec<MemberInfo>,
    /// Last log index on this node.
    pub last_log_index: f64,
    /// Last committed index this node knows.
    pub commit_index: f64,
    /// Last applied index.
    pub applied_index: f64,
    /// Live sessions.
    pub sessions: f64,
    /// Locks with holders or waiters.
    pub locks: f64,
    /// The fencing token the next grant will get.
    pub next_token: BigInt,
}

impl From<tenure::ClusterStatus> for ClusterStatus {
    fn from(s: tenure::ClusterStatus) -> Self {
        ClusterStatus {
            node_id: num(s.node_id),
            role: s.role,
            term: num(s.term),
            leader_id: s.leader_id.map(num),
            leader_addr: s.leader_addr,
            members: s
                .members
                .into_iter()
                .map(|m| MemberInfo {
                    id: num(m.id),
                    addr: m.addr,
                    matched_index: num(m.matched_index),
                })
                .collect(),
            last_log_index: num(s.last_log_index),
            commit_index: num(s.commit_index),
            applied_index: num(s.applied_index),
            sessions: num(s.sessions),
            locks: num(s.locks),
            next_token: BigInt::from(s.next_token),
        }
    }
}

/// An admin action on record.
#[napi(object)]
pub struct AuditRecord {
    /// When (Unix ms, leader clock).
    pub at_ms: f64,
    /// What: `force-release` or `blacklist`.
    pub action: String,
    /// Who.
    pub principal: String,
    /// On what.
    pub target: String,
    /// Details (owner, token, reason).
    pub detail: String,
}

impl From<tenure::AuditRecord> for AuditRecord {
    fn from(r: tenure::AuditRecord) -> Self {
        AuditRecord {
            at_ms: num(r.at_ms),
            action: r.action,
            principal: r.principal,
            target: r.target,
            detail: r.detail,
        }
    }
}

/// A grant handed out by a force-release.
#[napi(object)]
pub struct GrantInfo {
    /// Lock name.
    pub name: String,
    /// Fencing token.
    pub token: BigInt,
    /// Owner id.
    pub owner_id: String,
    /// Session that got it.
    pub session_id: f64,
}

impl From<tenure::GrantInfo> for GrantInfo {
    fn from(g: tenure::GrantInfo) -> Self {
        GrantInfo {
            name: g.name,
            token: BigInt::from(g.token),
            owner_id: g.owner_id,
            session_id: num(g.session_id),
        }
    }
}
