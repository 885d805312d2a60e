//! What every client call starts from: the node it is served by, and the
//! steps calls share (who calls and whether this node may serve it, proposing
//! a command, the read barrier). The handlers, one module per topic, take a
//! [`Calls`].

use std::sync::Arc;

use tonic::{Request, Status};

use super::access::{self, Caller};
use super::errors::{internal, not_leader, rejected, unavailable};
use crate::machine::{Command, Outcome};
use crate::node::context::NodeContext;
use crate::node::proposer::ProposeError;

/// A node as its client calls see it, with the steps they share.
pub struct Calls {
    node: Arc<NodeContext>,
}

impl Calls {
    /// Calls served by `node`.
    pub fn new(node: Arc<NodeContext>) -> Self {
        Calls { node }
    }

    /// The node the calls are served by.
    pub fn node(&self) -> &Arc<NodeContext> {
        &self.node
    }

    /// Every leader-only call starts here: who calls (first, so that a caller
    /// without valid credentials learns nothing, not even who leads), then
    /// whether this node may serve it. Permission comes after the request's
    /// validation, since most targets are names taken from the request
    /// (docs/design.md, "Security": the order of checks).
    pub fn begin<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        let caller = access::identify(&self.node, req)?;
        self.require_leader()?;
        Ok(caller)
    }

    /// Refuses unless this node leads with a quorum heard from lately.
    pub fn require_leader(&self) -> Result<(), Status> {
        let leadership = &self.node.leadership;
        if leadership.leads_with_quorum() {
            return Ok(());
        }
        match leadership.leader() {
            Some((id, _)) if id == leadership.id => Err(unavailable(
                "the leader has not heard from a quorum recently",
            )),
            leader => Err(not_leader(leader)),
        }
    }

    /// Proposes `command` and waits for its outcome.
    pub async fn propose(&self, command: Command) -> Result<Outcome, Status> {
        propose(&self.node, command).await
    }

    /// Makes a read linearizable: only a leader that confirms it still leads and
    /// has applied everything committed before the read serves it.
    pub async fn read_barrier(&self) -> Result<(), Status> {
        self.require_leader()?;
        let leadership = &self.node.leadership;
        self.node.metrics.read_barriers.inc();
        match tokio::time::timeout(
            leadership.timing.leadership_wait(),
            leadership
                .raft
                .ensure_linearizable(openraft::ReadPolicy::ReadIndex),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(not_leader(leadership.leader())),
            Err(_) => Err(unavailable("could not confirm leadership in time")),
        }
    }
}

/// Proposes `command` on `node` and waits for its outcome.
pub async fn propose(node: &NodeContext, command: Command) -> Result<Outcome, Status> {
    node.proposer.propose(command).await.map_err(|e| match e {
        ProposeError::NotLeader(leader) => not_leader(leader),
        ProposeError::Unavailable(m) => unavailable(m),
    })
}

/// The status for an outcome a handler did not expect.
pub fn unexpected(outcome: Outcome) -> Status {
    match outcome {
        Outcome::Rejected(r) => rejected(&r),
        other => internal(format!("unexpected outcome {other:?}")),
    }
}
