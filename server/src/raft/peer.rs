//! The incoming side of the peer API: decodes openraft requests and hands them to
//! the local Raft node. A request that does not decode gets INVALID_ARGUMENT.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tenure_proto::raft::RaftMessage;
use tenure_proto::raft::raft_server;
use tonic::{Request, Response, Status};

use super::Raft;

/// Serves the peer API for one node.
pub struct PeerService {
    raft: Raft,
}

impl PeerService {
    /// A service delivering peer RPCs to `raft`.
    pub fn new(raft: Raft) -> Self {
        PeerService { raft }
    }
}

fn decode<T: DeserializeOwned>(req: Request<RaftMessage>) -> Result<T, Status> {
    postcard::from_bytes(&req.into_inner().payload)
        .map_err(|e| Status::invalid_argument(format!("undecodable raft message: {e}")))
}

fn encode<T: Serialize>(value: &T) -> Result<Response<RaftMessage>, Status> {
    let payload = postcard::to_stdvec(value).map_err(|e| Status::internal(e.to_string()))?;
    Ok(Response::new(RaftMessage { payload }))
}

#[tonic::async_trait]
impl raft_server::Raft for PeerService {
    async fn append_entries(
        &self,
        req: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let rpc = decode(req)?;
        encode(&self.raft.append_entries(rpc).await)
    }

    async fn vote(&self, req: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let rpc = decode(req)?;
        encode(&self.raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        req: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let rpc = decode(req)?;
        encode(&self.raft.install_snapshot(rpc).await)
    }
}
