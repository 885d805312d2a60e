//! Plain records returned by the admin and read calls, and the streaming
//! snapshot download behind `Client::save_snapshot`.

use std::time::Duration;

use serde::Serialize;
use tenure_proto::v1 as pb;

use crate::options::LockMode;
use crate::watch::LockChange;

/// The admin records, as one table: the core's structs below are generated
/// from it, and so are the bindings' typed forms (`tenure::admin_records!(m)`
/// calls the binding's macro `m` with the table), so no binding keeps a copy.
///
/// Each field is `name: CoreType => kind`, where the kind says what the value
/// is, for a binding to choose its type: `id` and `time` (u64 counters and
/// Unix milliseconds), `token` (a u64 fencing token), `count` (u32), `text`,
/// `flag`, `names` (a list of strings), `mode` (a [`LockMode`]), `duration`,
/// `opt_id`, `opt_text`, `list(Record)`. A leading `@"fn"` names the core's
/// serde `serialize_with` function of the field. A `duration` field also
/// names itself in milliseconds (`ttl / ttl_ms`), for a binding whose
/// durations are numbers of milliseconds (Node).
#[macro_export]
macro_rules! admin_records {
    ($callback:ident) => {
        $callback! {
            /// A current grant of a lock.
            HolderInfo {
                /// Session holding it.
                session_id: u64 => id,
                /// Fencing token.
                token: u64 => token,
                /// Owner id (32 hex digits).
                owner_id: String => text,
                /// Mode.
                mode: LockMode => mode,
                /// When it was granted (Unix ms, leader clock).
                granted_at_ms: u64 => time,
                /// The value given with the acquire ("" if none).
                value: String => text,
                /// Permits held, for a semaphore (0 for a lock).
                permits: u32 => count,
                /// Someone asked this holder to release (`request_release`).
                release_requested: bool => flag,
            }
            /// A queued acquire.
            WaiterInfo {
                /// Session waiting.
                session_id: u64 => id,
                /// Its request id.
                request_id: u64 => id,
                /// Mode.
                mode: LockMode => mode,
                /// When the wait times out (Unix ms, leader clock).
                deadline_ms: u64 => time,
                /// The value given with the acquire ("" if none).
                value: String => text,
                /// Permits asked for, for a semaphore (0 for a lock).
                permits: u32 => count,
            }
            /// A lock's holders and waiters.
            LockInfo {
                /// Name.
                name: String => text,
                /// Current grants.
                holders: Vec<HolderInfo> => list(HolderInfo),
                /// FIFO queue.
                waiters: Vec<WaiterInfo> => list(WaiterInfo),
                /// No grant before this time (Unix ms), 0 if no lock-delay.
                delayed_until_ms: u64 => time,
                /// A semaphore's number of permits; 0 for a lock.
                permit_limit: u32 => count,
            }
            /// A session as the server knows it.
            SessionInfo {
                /// Id.
                session_id: u64 => id,
                /// TTL.
                @"millis" ttl / ttl_ms: Duration => duration,
                /// Label given by its client.
                label: String => text,
                /// Blacklisted (expires at its deadline, never renewed).
                blacklisted: bool => flag,
                /// Locks held.
                held: Vec<String> => names,
                /// Acquires waiting.
                waiting: u32 => count,
                /// The leader's view of the time left.
                @"millis" remaining / remaining_ms: Duration => duration,
            }
            /// A cluster member.
            MemberInfo {
                /// Node id.
                id: u64 => id,
                /// Address.
                addr: String => text,
                /// Last log index it is known to hold (reported by the leader only).
                matched_index: u64 => id,
            }
            /// One node's view of the cluster.
            ClusterStatus {
                /// The node that answered.
                node_id: u64 => id,
                /// Its role: leader, follower, candidate, learner.
                role: String => text,
                /// Current term.
                term: u64 => id,
                /// The leader's id, if known.
                leader_id: Option<u64> => opt_id,
                /// The leader's address, if known.
                leader_addr: Option<String> => opt_text,
                /// Members.
                members: Vec<MemberInfo> => list(MemberInfo),
                /// Last log index on this node.
                last_log_index: u64 => id,
                /// Last committed index this node knows.
                commit_index: u64 => id,
                /// Last applied index.
                applied_index: u64 => id,
                /// Live sessions.
                sessions: u64 => id,
                /// Locks with holders or waiters.
                locks: u64 => id,
                /// The fencing token the next grant will get.
                next_token: u64 => token,
            }
            /// An admin action on record.
            AuditRecord {
                /// When (Unix ms, leader clock).
                at_ms: u64 => time,
                /// What: `force-release` or `blacklist`.
                action: String => text,
                /// Who.
                principal: String => text,
                /// On what.
                target: String => text,
                /// Details (owner, token, reason).
                detail: String => text,
            }
            /// One change of one lock, as a watch reports it.
            WatchEvent {
                /// The cluster-wide number of this change.
                revision: u64 => id,
                /// What happened.
                change: LockChange => change,
                /// Lock name.
                name: String => text,
                /// The holder's or waiter's session.
                session_id: u64 => id,
                /// The grant's fencing token (0 for a waiter's change).
                token: u64 => token,
                /// The grant's (or the waiter's future grant's) owner id.
                owner_id: String => text,
                /// Mode.
                mode: LockMode => mode,
                /// Permits, for a semaphore (0 for a lock).
                permits: u32 => count,
                /// The holder's or waiter's value (the new one for value_changed).
                value: String => text,
                /// The acquire's request id, for waiter changes and grants to a waiter.
                request_id: u64 => id,
                /// When it happened (Unix ms, leader clock).
                at_ms: u64 => time,
            }
            /// What a watcher gets from one `next`: changes, or the state.
            WatchBatch {
                /// Every change up to this revision is delivered (resume from it).
                revision: u64 => id,
                /// The watch starts over: `locks` is the state at `revision` and
                /// replaces what the watcher knew (first, and after falling behind).
                reset: bool => flag,
                /// With `reset`: every lock under the prefix with holders or waiters.
                locks: Vec<LockInfo> => list(LockInfo),
                /// The changes since the previous batch, in revision order.
                events: Vec<WatchEvent> => list(WatchEvent),
            }
            /// The leader of an election, as observers see it.
            Leader {
                /// The election's name.
                name: String => text,
                /// The leader's session.
                session_id: u64 => id,
                /// The leader's fencing token: a later leader's is greater.
                token: u64 => token,
                /// The leadership's owner id.
                owner_id: String => text,
                /// The value it campaigned with or last proclaimed.
                value: String => text,
            }
            /// A client's counters for one lock-name prefix (`Client::metrics`).
            PrefixMetrics {
                /// The prefix: a name's first segment with its slash ("" for
                /// names without one, "other" past 256 prefixes).
                prefix: String => text,
                /// Acquires granted.
                acquired: u64 => id,
                /// Acquires that failed (held, timed out, cancelled, ...).
                acquire_failed: u64 => id,
                /// Grants released by their holder.
                released: u64 => id,
                /// Grants lost (expired, blacklisted, force-released, closed).
                lost: u64 => id,
                /// Total time granted acquires waited (ms).
                acquire_wait_ms_total: u64 => id,
                /// Total time grants were held until released or lost (ms).
                hold_ms_total: u64 => id,
            }
            /// A grant handed out by a force-release.
            GrantInfo {
                /// Lock name.
                name: String => text,
                /// Fencing token.
                token: u64 => token,
                /// Owner id.
                owner_id: String => text,
                /// Session that got it.
                session_id: u64 => id,
            }
        }
    };
}

/// Generates the core's record structs from [`admin_records!`].
macro_rules! core_records {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident {
            $(
                $(#[doc = $fdoc:literal])*
                $(@$serde:literal)? $field:ident $(/ $ms_name:ident)? : $ty:ty => $kind:ident $(($inner:ident))?,
            )*
        }
    )*) => {
        $(
            $(#[doc = $doc])*
            #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
            #[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
            pub struct $name {
                $(
                    $(#[doc = $fdoc])*
                    $(#[serde(serialize_with = $serde)])?
                    pub $field: $ty,
                )*
            }
        )*
    };
}

admin_records!(core_records);

/// The core's mode of a wire mode (an unknown one reads as exclusive).
pub(crate) fn lock_mode(m: i32) -> LockMode {
    match pb::LockMode::try_from(m) {
        Ok(pb::LockMode::Shared) => LockMode::Shared,
        Ok(pb::LockMode::Permits) => LockMode::Permits,
        _ => LockMode::Exclusive,
    }
}

impl Serialize for LockMode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
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
                    mode: lock_mode(h.mode),
                    granted_at_ms: h.granted_at_ms,
                    value: h.value,
                    permits: h.permits,
                    release_requested: h.release_requested,
                })
                .collect(),
            waiters: l
                .waiters
                .into_iter()
                .map(|w| WaiterInfo {
                    session_id: w.session_id,
                    request_id: w.request_id,
                    mode: lock_mode(w.mode),
                    deadline_ms: w.deadline_ms,
                    value: w.value,
                    permits: w.permits,
                })
                .collect(),
            delayed_until_ms: l.delayed_until_ms,
            permit_limit: l.permit_limit,
        }
    }
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

impl From<pb::Member> for MemberInfo {
    fn from(m: pb::Member) -> Self {
        MemberInfo {
            id: m.id,
            addr: m.addr,
            matched_index: m.matched_index,
        }
    }
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
#[cfg(not(target_arch = "wasm32"))]
pub(crate) async fn save_snapshot<W>(conn: &crate::conn::Conn, out: &mut W) -> crate::Result<u64>
where
    W: tokio::io::AsyncWrite + Unpin,
{
    use crate::error::Error;
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
