//! Plain records returned by the admin and read calls, and the streaming
//! snapshot download behind `Client::save_snapshot`.

use std::time::Duration;

use serde::Serialize;
use tenure_proto::v1 as pb;

use crate::conn::Conn;
use crate::error::{Error, Result};
use crate::options::LockMode;

fn mode(m: i32) -> LockMode {
    match pb::LockMode::try_from(m) {
        Ok(pb::LockMode::Shared) => LockMode::Shared,
        _ => LockMode::Exclusive,
    }
}

impl Serialize for LockMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// A current grant of a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HolderInfo {
    /// Session holding it.
    pub session_id: u64,
    /// Fencing token.
    pub token: u64,
    /// Owner id (32 hex digits).
    pub owner_id: String,
    /// Mode.
    pub mode: LockMode,
    /// When it was granted (Unix ms, leader clock).
    pub granted_at_ms: u64,
}

/// A queued acquire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct WaiterInfo {
    /// Session waiting.
    pub session_id: u64,
    /// Its request id.
    pub request_id: u64,
    /// Mode.
    pub mode: LockMode,
    /// When the wait times out (Unix ms, leader clock).
    pub deadline_ms: u64,
}

/// A lock's holders and waiters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LockInfo {
    /// Name.
    pub name: String,
    /// Current grants.
    pub holders: Vec<HolderInfo>,
    /// FIFO queue.
    pub waiters: Vec<WaiterInfo>,
    /// No grant before this time (Unix ms), 0 if no lock-delay.
    pub delayed_until_ms: u64,
}

impl From<pb::LockInfo> for LockInfo {
    fn from(l: pb::LockInfo) -> Self {
        LockInfo {
            name: l.name,
            holders: l
                .holders
                .into_iter()
                .map(|h| HolderInfo {
                    session_id: h.session_id,
                    token: h.token,
                    owner_id: h.owner_id,
                    mode: mode(h.mode),
                    granted_at_ms: h.granted_at_ms,
                })
                .collect(),
            waiters: l
                .waiters
                .into_iter()
                .map(|w| WaiterInfo {
                    session_id: w.session_id,
                    request_id: w.request_id,
                    mode: mode(w.mode),
                    deadline_ms: w.deadline_ms,
                })
                .collect(),
            delayed_until_ms: l.delayed_until_ms,
        }
    }
}

/// A session as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SessionInfo {
    /// Id.
    pub session_id: u64,
    /// TTL.
    #[serde(serialize_with = "millis")]
    pub ttl: Duration,
    /// Label given by its client.
    pub label: String,
    /// Blacklisted (expires at its deadline, never renewed).
    pub blacklisted: bool,
    /// Locks held.
    pub held: Vec<String>,
    /// Acquires waiting.
    pub waiting: u32,
    /// The leader's view of the time left.
    #[serde(serialize_with = "millis")]
    pub remaining: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

impl From<pb::SessionInfo> for SessionInfo {
    fn from(s: pb::SessionInfo) -> Self {
        SessionInfo {
            session_id: s.session_id,
            ttl: Duration::from_millis(s.ttl_ms),
            label: s.label,
            blacklisted: s.blacklisted,
            held: s.held,
            waiting: s.waiting,
            remaining: Duration::from_millis(s.remaining_ms),
        }
    }
}

/// A cluster member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MemberInfo {
    /// Node id.
    pub id: u64,
    /// Address.
    pub addr: String,
    /// Last log index it is known to hold (reported by the leader only).
    pub matched_index: u64,
}

impl From<pb::Member> for MemberInfo {
    fn from(m: pb::Member) -> Self {
        MemberInfo {
            id: m.id,
            addr: m.addr,
            matched_index: m.matched_index,
        }
    }
}

/// One node's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ClusterStatus {
    /// The node that answered.
    pub node_id: u64,
    /// Its role: leader, follower, candidate, learner.
    pub role: String,
    /// Current term.
    pub term: u64,
    /// The leader's id, if known.
    pub leader_id: Option<u64>,
    /// The leader's address, if known.
    pub leader_addr: Option<String>,
    /// Members.
    pub members: Vec<MemberInfo>,
    /// Last log index on this node.
    pub last_log_index: u64,
    /// Last committed index this node knows.
    pub commit_index: u64,
    /// Last applied index.
    pub applied_index: u64,
    /// Live sessions.
    pub sessions: u64,
    /// Locks with holders or waiters.
    pub locks: u64,
    /// The fencing token the next grant will get.
    pub next_token: u64,
}

impl From<pb::StatusResponse> for ClusterStatus {
    fn from(s: pb::StatusResponse) -> Self {
        ClusterStatus {
            node_id: s.node_id,
            role: s.role,
            term: s.term,
            leader_id: (s.leader_id != 0).then_some(s.leader_id),
            leader_addr: (!s.leader_addr.is_empty()).then_some(s.leader_addr),
            members: s.members.into_iter().map(MemberInfo::from).collect(),
            last_log_index: s.last_log_index,
            commit_index: s.commit_index,
            applied_index: s.applied_index,
            sessions: s.sessions,
            locks: s.locks,
            next_token: s.next_token,
        }
    }
}

/// An admin action on record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AuditRecord {
    /// When (Unix ms, leader clock).
    pub at_ms: u64,
    /// What: `force-release` or `blacklist`.
    pub action: String,
    /// Who.
    pub principal: String,
    /// On what.
    pub target: String,
    /// Details (owner, token, reason).
    pub detail: String,
}

impl From<pb::AuditRecord> for AuditRecord {
    fn from(r: pb::AuditRecord) -> Self {
        AuditRecord {
            at_ms: r.at_ms,
            action: r.action,
            principal: r.principal,
            target: r.target,
            detail: r.detail,
        }
    }
}

/// A grant handed out by a force-release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct GrantInfo {
    /// Lock name.
    pub name: String,
    /// Fencing token.
    pub token: u64,
    /// Owner id.
    pub owner_id: String,
    /// Session that got it.
    pub session_id: u64,
}

impl From<pb::Grant> for GrantInfo {
    fn from(g: pb::Grant) -> Self {
        GrantInfo {
            name: g.name,
            token: g.token,
            owner_id: g.owner_id,
            session_id: g.session_id,
        }
    }
}

/// Streams the cluster's state (`SaveSnapshot`, served by the leader) into
/// `out`; returns the bytes written. Each message must arrive within the call
/// timeout; a stream that breaks off fails the call (the caller then holds a
/// partial file, which `tenure snapshot save` never renames into place).
pub(crate) async fn save_snapshot<W>(conn: &Conn, out: &mut W) -> Result<u64>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    use tokio::io::AsyncWriteExt;
    let deadline = tokio::time::Instant::now() + conn.options.call_timeout;
    let mut stream = conn
        .call(
            deadline,
            conn.options.attempt_timeout,
            |mut stub| async move { stub.save_snapshot(pb::SaveSnapshotRequest {}).await },
        )
        .await?;
    let mut written = 0u64;
    loop {
        let next = tokio::time::timeout(conn.options.call_timeout, stream.message()).await;
        let chunk = match next {
            Err(_) => return Err(Error::unavailable("the snapshot stream stalled")),
            Ok(Err(status)) => {
                return Err(Error::unavailable(format!(
                    "the snapshot stream broke off: {}",
                    status.message()
                )));
            }
            Ok(Ok(None)) => break,
            Ok(Ok(Some(chunk))) => chunk,
        };
        out.write_all(&chunk.data)
            .await
            .map_err(|e| Error::internal(format!("cannot write the snapshot: {e}")))?;
        written = written.saturating_add(chunk.data.len() as u64);
    }
    out.flush()
        .await
        .map_err(|e| Error::internal(format!("cannot write the snapshot: {e}")))?;
    Ok(written)
}
