//! Membership changes: adding and removing voting members at run time.
//!
//! A new node first joins as a learner and is caught up (openraft's blocking
//! `add_learner`), then one joint-consensus change makes it a voter; removal is
//! one change. openraft allows one change at a time and answers a concurrent one
//! with an error, which is returned as Unavailable (retryable).

use std::collections::BTreeSet;

use openraft::async_runtime::watch::WatchReceiver;
use openraft::errors::{ChangeMembershipError, ClientWriteError, ForwardReason, RaftError};
use openraft::{BasicNode, ChangeMembers};
use tenure_proto::v1 as pb;
use tonic::Status;

use super::errors::{invalid, not_leader, unavailable};
use crate::node::leadership::Leadership;
use crate::raft::{NodeId, TypeConfig};

/// Most voting members (Raft gains nothing from more for a lock service).
pub const MAX_VOTERS: usize = 7;

/// The voting members, as the API reports them.
fn members(leadership: &Leadership) -> Vec<pb::Member> {
    let m = leadership.raft.metrics().borrow_watched().clone();
    let membership = m.membership_config.membership();
    let voter_ids: BTreeSet<NodeId> = membership.voter_ids().collect();
    membership
        .nodes()
        .filter(|(id, _)| voter_ids.contains(id))
        .map(|(id, node)| pb::Member {
            id: *id,
            addr: node.addr.clone(),
            matched_index: 0,
        })
        .collect()
}

/// Maps openraft's answer to a membership call.
fn failed(e: RaftError<TypeConfig, ClientWriteError<TypeConfig>>) -> Status {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f))
            if f.reason == ForwardReason::LeaseExpired =>
        {
            unavailable("the leader has not heard from a quorum recently")
        }
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
            not_leader(f.leader_id.zip(f.leader_node.map(|n| n.addr)))
        }
        RaftError::APIError(ClientWriteError::ChangeMembershipError(
            ChangeMembershipError::InProgress(_),
        )) => unavailable("another membership change is in progress; retry"),
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => invalid(e.to_string()),
        // Truncated before it committed, or refused: its fate is unknown.
        RaftError::APIError(e) => unavailable(e.to_string()),
        RaftError::Fatal(e) => unavailable(format!("raft stopped: {e}")),
    }
}

/// Adds node `id` at `addr` as a voter, after it has caught up as a learner.
/// Adding a voter again at the same address changes nothing.
pub async fn add(
    leadership: &Leadership,
    id: NodeId,
    addr: &str,
) -> Result<Vec<pb::Member>, Status> {
    if id == 0 {
        return Err(invalid("member id must be greater than 0"));
    }
    super::validate::member_addr(addr)?;
    let current = members(leadership);
    if let Some(m) = current.iter().find(|m| m.id == id) {
        // A retry of a change that happened answers as the change did.
        return if m.addr == addr {
            Ok(current)
        } else {
            Err(invalid(format!(
                "node {id} is a member already, at another address"
            )))
        };
    }
    if current.len() >= MAX_VOTERS {
        return Err(invalid(format!(
            "a cluster has at most {MAX_VOTERS} voting members"
        )));
    }
    leadership
        .raft
        .add_learner(id, BasicNode::new(addr), true)
        .await
        .map_err(failed)?;
    leadership
        .raft
        .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
        .await
        .map_err(failed)?;
    Ok(members(leadership))
}

/// Removes voter `id` (which may be this node: it then steps down). Removing
/// a node that is not a voter changes nothing.
pub async fn remove(leadership: &Leadership, id: NodeId) -> Result<Vec<pb::Member>, Status> {
    let current = members(leadership);
    if !current.iter().any(|m| m.id == id) {
        // Removed already (or never a member): nothing to do, as for a retry.
        return Ok(current);
    }
    if current.len() == 1 {
        return Err(invalid("cannot remove the last voting member"));
    }
    leadership
        .raft
        .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
        .await
        .map_err(failed)?;
    Ok(members(leadership))
}
