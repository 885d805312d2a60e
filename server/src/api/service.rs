//! The gRPC client API of a node. Mutating calls are served by the leader only
//! (a follower answers NOT_LEADER with the leader's address); every request is
//! validated before anything is proposed.
//!
//! This module routes each call to the module of its topic: sessions, locks,
//! reads, admin (and membership changes in `members`). Every handler starts
//! from [`Calls`](super::calls::Calls) (`begin`: who calls, and whether this
//! node may serve it).

use std::sync::Arc;

use tenure_proto::v1 as pb;
use tenure_proto::v1::tenure_server::Tenure;
use tonic::{Request, Response, Status, Streaming};

use super::backup::SnapshotStream;
use super::calls::Calls;
use super::watch::{self, WatchStream};
use super::{admin, locks, reads, sessions};
use crate::node::context::NodeContext;

/// The client API of one node.
pub struct TenureService {
    calls: Calls,
}

impl TenureService {
    /// A service on `node`.
    pub fn new(node: Arc<NodeContext>) -> Self {
        TenureService {
            calls: Calls::new(node),
        }
    }
}

#[tonic::async_trait]
impl Tenure for TenureService {
    async fn open_session(
        &self,
        req: Request<pb::OpenSessionRequest>,
    ) -> Result<Response<pb::OpenSessionResponse>, Status> {
        sessions::open(&self.calls, req).await
    }

    async fn close_session(
        &self,
        req: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        sessions::close(&self.calls, req).await
    }

    type KeepAliveStream = sessions::KeepAliveStream;

    async fn keep_alive(
        &self,
        req: Request<Streaming<pb::KeepAliveRequest>>,
    ) -> Result<Response<Self::KeepAliveStream>, Status> {
        sessions::keep_alive(&self.calls, req)
    }

    async fn renew(
        &self,
        req: Request<pb::KeepAliveRequest>,
    ) -> Result<Response<pb::KeepAliveResponse>, Status> {
        sessions::renew(&self.calls, req).await
    }

    async fn acquire(
        &self,
        req: Request<pb::AcquireRequest>,
    ) -> Result<Response<pb::AcquireResponse>, Status> {
        locks::acquire(&self.calls, req).await
    }

    async fn cancel_acquire(
        &self,
        req: Request<pb::CancelAcquireRequest>,
    ) -> Result<Response<pb::CancelAcquireResponse>, Status> {
        locks::cancel_acquire(&self.calls, req).await
    }

    async fn release(
        &self,
        req: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        locks::release(&self.calls, req).await
    }

    async fn force_release(
        &self,
        req: Request<pb::ForceReleaseRequest>,
    ) -> Result<Response<pb::ForceReleaseResponse>, Status> {
        admin::force_release(&self.calls, req).await
    }

    async fn request_release(
        &self,
        req: Request<pb::RequestReleaseRequest>,
    ) -> Result<Response<pb::RequestReleaseResponse>, Status> {
        admin::request_release(&self.calls, req).await
    }

    async fn blacklist(
        &self,
        req: Request<pb::BlacklistRequest>,
    ) -> Result<Response<pb::BlacklistResponse>, Status> {
        admin::blacklist(&self.calls, req).await
    }

    async fn add_member(
        &self,
        req: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::MembersResponse>, Status> {
        admin::add_member(&self.calls, req).await
    }

    async fn remove_member(
        &self,
        req: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::MembersResponse>, Status> {
        admin::remove_member(&self.calls, req).await
    }

    type SaveSnapshotStream = SnapshotStream;
    type WatchStream = WatchStream;

    async fn watch(
        &self,
        req: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        watch::watch(&self.calls, req).await
    }

    async fn acquire_all(
        &self,
        req: Request<pb::AcquireAllRequest>,
    ) -> Result<Response<pb::AcquireAllResponse>, Status> {
        locks::acquire_all(&self.calls, req).await
    }

    async fn set_value(
        &self,
        req: Request<pb::SetValueRequest>,
    ) -> Result<Response<pb::SetValueResponse>, Status> {
        locks::set_value(&self.calls, req).await
    }

    async fn save_snapshot(
        &self,
        req: Request<pb::SaveSnapshotRequest>,
    ) -> Result<Response<Self::SaveSnapshotStream>, Status> {
        admin::save_snapshot(&self.calls, req).await
    }

    async fn describe(
        &self,
        req: Request<pb::DescribeRequest>,
    ) -> Result<Response<pb::DescribeResponse>, Status> {
        reads::describe(&self.calls, req).await
    }

    async fn list_locks(
        &self,
        req: Request<pb::ListLocksRequest>,
    ) -> Result<Response<pb::ListLocksResponse>, Status> {
        reads::list_locks(&self.calls, req).await
    }

    async fn list_sessions(
        &self,
        req: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        reads::list_sessions(&self.calls, req).await
    }

    async fn status(
        &self,
        req: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        reads::status(&self.calls, req)
    }

    async fn audit(
        &self,
        req: Request<pb::AuditRequest>,
    ) -> Result<Response<pb::AuditResponse>, Status> {
        admin::audit(&self.calls, req).await
    }
}
