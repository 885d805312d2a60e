//! Reads: one lock, the locks and sessions in pages (each after a read
//! barrier, so linearizable), and the status any node answers.

use std::time::Instant;

use openraft::ServerState;
use openraft::async_runtime::watch::WatchReceiver;
use tenure_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::access;
use super::calls::Calls;
use super::convert;
use super::validate;
use crate::security::auth::Perm;

/// `Describe`: one lock, if it exists.
pub async fn describe(
    calls: &Calls,
    req: Request<pb::DescribeRequest>,
) -> Result<Response<pb::DescribeResponse>, Status> {
    let caller = calls.begin(&req)?;
    let name = req.into_inner().name;
    validate::lock_name(&name)?;
    access::require(calls.node(), &caller, Perm::Read, &name)?;
    calls.read_barrier().await?;
    let shared = calls.node().shared.lock();
    let lock = shared
        .machine
        .lock(&name)
        .map(|l| convert::lock_info(&name, l));
    Ok(Response::new(pb::DescribeResponse { lock }))
}

/// `ListLocks`: a page of the locks under a prefix, in name order.
pub async fn list_locks(
    calls: &Calls,
    req: Request<pb::ListLocksRequest>,
) -> Result<Response<pb::ListLocksResponse>, Status> {
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    let limit = validate::limit(r.limit)?;
    access::require(calls.node(), &caller, Perm::Read, &r.prefix)?;
    calls.read_barrier().await?;
    let shared = calls.node().shared.lock();
    let mut locks: Vec<pb::LockInfo> = shared
        .machine
        .locks()
        .range::<str, _>((
            std::ops::Bound::Excluded(r.start_after.as_str()),
            std::ops::Bound::Unbounded,
        ))
        .filter(|(name, _)| name.starts_with(&r.prefix))
        .take(limit + 1)
        .map(|(name, lock)| convert::lock_info(name, lock))
        .collect();
    let truncated = locks.len() > limit;
    locks.truncate(limit);
    Ok(Response::new(pb::ListLocksResponse { locks, truncated }))
}

/// `ListSessions`: a page of the sessions, in id order, with their remaining
/// time as this leader sees it.
pub async fn list_sessions(
    calls: &Calls,
    req: Request<pb::ListSessionsRequest>,
) -> Result<Response<pb::ListSessionsResponse>, Status> {
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    let limit = validate::limit(r.limit)?;
    access::require(calls.node(), &caller, Perm::Read, "")?;
    calls.read_barrier().await?;
    let shared = calls.node().shared.lock();
    let now = Instant::now();
    let mut sessions: Vec<pb::SessionInfo> = shared
        .machine
        .sessions()
        .range(r.start_after.saturating_add(1)..)
        .take(limit + 1)
        .map(|(&id, s)| {
            let remaining = shared
                .leases
                .remaining(id, now)
                .map_or(0, |d| d.as_millis() as u64);
            convert::session_info(id, s, remaining)
        })
        .collect();
    let truncated = sessions.len() > limit;
    sessions.truncate(limit);
    Ok(Response::new(pb::ListSessionsResponse {
        sessions,
        truncated,
    }))
}

/// `Status`: this node's view of the cluster. Any node answers (clients and
/// operators ask followers too), but only a caller who may read something.
pub fn status(
    calls: &Calls,
    req: Request<pb::StatusRequest>,
) -> Result<Response<pb::StatusResponse>, Status> {
    let node = calls.node();
    let caller = access::identify(node, &req)?;
    if !caller.principal.may_anywhere(Perm::Read) {
        return Err(access::deny(
            node,
            caller.name(),
            "status",
            "cluster",
            "no read permission anywhere",
        ));
    }
    let leadership = &node.leadership;
    let m = leadership.raft.metrics().borrow_watched().clone();
    let leader = leadership.leader();
    let matched = |id: u64| {
        m.replication
            .as_ref()
            .and_then(|r| r.get(&id).copied().flatten())
            .map_or(0, |l| l.index)
    };
    let members = m
        .membership_config
        .membership()
        .nodes()
        .map(|(id, member)| pb::Member {
            id: *id,
            addr: member.addr.clone(),
            matched_index: matched(*id),
        })
        .collect();
    let role = match m.state {
        ServerState::Leader => "leader",
        ServerState::Follower => "follower",
        ServerState::Candidate => "candidate",
        ServerState::Learner => "learner",
        ServerState::Shutdown => "shutdown",
    };
    // Read before taking the state lock: no code holds two locks at once.
    let commit_index = node.log.committed().map_or(0, |l| l.index);
    let shared = node.shared.lock();
    Ok(Response::new(pb::StatusResponse {
        node_id: leadership.id,
        role: role.into(),
        term: m.current_term,
        leader_id: leader.as_ref().map_or(0, |l| l.0),
        leader_addr: leader.map(|l| l.1).unwrap_or_default(),
        members,
        last_log_index: m.last_log_index.unwrap_or(0),
        commit_index,
        applied_index: m.last_applied.map_or(0, |l| l.index),
        sessions: shared.machine.sessions().len() as u64,
        locks: shared.machine.locks().len() as u64,
        next_token: shared.machine.last_token() + 1,
    }))
}
