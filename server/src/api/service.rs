//! The gRPC client API of a node. Mutating calls are served by the leader only
//! (a follower answers NOT_LEADER with the leader's address); every request is
//! validated before anything is proposed.
//!
//! This module holds what every handler starts with ([`TenureService::begin`])
//! and the trait implementation that routes each call to its topic: sessions,
//! locks, reads, admin (and membership changes in `members`).

use std::sync::Arc;

use tenure_proto::v1 as pb;
use tenure_proto::v1::tenure_server::Tenure;
use tonic::{Request, Response, Status, Streaming};

use super::access::{self, Caller};
use super::backup::SnapshotStream;
use super::errors::{internal, not_leader, rejected, unavailable};
use super::{admin, locks, reads, sessions};
use crate::machine::{Command, Outcome};
use crate::node::NodeContext;
use crate::node::proposer::ProposeError;

/// The client API of one node.
pub struct TenureService {
    node: Arc<NodeContext>,
}

impl TenureService {
    /// A service on `node`.
    pub fn new(node: Arc<NodeContext>) -> Self {
        TenureService { node }
    }

    /// The node this service runs on.
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

#[tonic::async_trait]
impl Tenure for TenureService {
    async fn open_session(
        &self,
        req: Request<pb::OpenSessionRequest>,
    ) -> Result<Response<pb::OpenSessionResponse>, Status> {
        sessions::open(self, req).await
    }

    async fn close_session(
        &self,
        req: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        sessions::close(self, req).await
    }

    type KeepAliveStream = sessions::KeepAliveStream;

    async fn keep_alive(
        &self,
        req: Request<Streaming<pb::KeepAliveRequest>>,
    ) -> Result<Response<Self::KeepAliveStream>, Status> {
        sessions::keep_alive(self, req)
    }

    async fn acquire(
        &self,
        req: Request<pb::AcquireRequest>,
    ) -> Result<Response<pb::AcquireResponse>, Status> {
        locks::acquire(self, req).await
    }

    async fn cancel_acquire(
        &self,
        req: Request<pb::CancelAcquireRequest>,
    ) -> Result<Response<pb::CancelAcquireResponse>, Status> {
        locks::cancel_acquire(self, req).await
    }

    async fn release(
        &self,
        req: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        locks::release(self, req).await
    }

    async fn force_release(
        &self,
        req: Request<pb::ForceReleaseRequest>,
    ) -> Result<Response<pb::ForceReleaseResponse>, Status> {
        admin::force_release(self, req).await
    }

    async fn blacklist(
        &self,
        req: Request<pb::BlacklistRequest>,
    ) -> Result<Response<pb::BlacklistResponse>, Status> {
        admin::blacklist(self, req).await
    }

    async fn add_member(
        &self,
        req: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::MembersResponse>, Status> {
        admin::add_member(self, req).await
    }

    async fn remove_member(
        &self,
        req: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::MembersResponse>, Status> {
        admin::remove_member(self, req).await
    }

    type SaveSnapshotStream = SnapshotStream;

    async fn save_snapshot(
        &self,
        req: Request<pb::SaveSnapshotRequest>,
    ) -> Result<Response<Self::SaveSnapshotStream>, Status> {
        admin::save_snapshot(self, req).await
    }

    async fn describe(
        &self,
        req: Request<pb::DescribeRequest>,
    ) -> Result<Response<pb::DescribeResponse>, Status> {
        reads::describe(self, req).await
    }

    async fn list_locks(
        &self,
        req: Request<pb::ListLocksRequest>,
    ) -> Result<Response<pb::ListLocksResponse>, Status> {
        reads::list_locks(self, req).await
    }

    async fn list_sessions(
        &self,
        req: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        reads::list_sessions(self, req).await
    }

    async fn status(
        &self,
        req: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        reads::status(self, req)
    }

    async fn audit(
        &self,
        req: Request<pb::AuditRequest>,
    ) -> Result<Response<pb::AuditResponse>, Status> {
        admin::audit(self, req).await
    }
}
