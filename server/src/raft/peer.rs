//! The incoming side of the peer API: decodes openraft requests and hands them to
//! the local Raft node. A request that does not decode gets INVALID_ARGUMENT.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tenure_proto::raft::RaftMessage;
use tenure_proto::raft::raft_server;
use tonic::{Request, Response, Status};

use super::Raft;
use crate::security::tls::common_name;

/// Serves the peer API for one node.
pub struct PeerService {
    raft: Raft,
    peer_cn: Option<String>,
}

impl PeerService {
    /// A service delivering peer RPCs to `raft`. With `peer_cn`, only callers
    /// with a verified client certificate of that common name are served.
    pub fn new(raft: Raft, peer_cn: Option<String>) -> Self {
        PeerService { raft, peer_cn }
    }

    /// Checks the caller (with peer TLS) and decodes its message: every RPC
    /// goes through here, so none can skip the check.
    fn accept<T: DeserializeOwned>(&self, req: Request<RaftMessage>) -> Result<T, Status> {
        self.check_peer(&req)?;
        postcard::from_bytes(&req.into_inner().payload)
            .map_err(|e| Status::invalid_argument(format!("undecodable raft message: {e}")))
    }

    fn check_peer(&self, req: &Request<RaftMessage>) -> Result<(), Status> {
        let Some(expected) = &self.peer_cn else {
            return Ok(());
        };
        let cn = req
            .peer_certs()
            .and_then(|certs| certs.first().and_then(|c| common_name(c.as_ref())));
        match cn {
            Some(cn) if &cn == expected => Ok(()),
            Some(cn) => Err(Status::permission_denied(format!(
                "certificate {cn:?} is not a peer's"
            ))),
            None => Err(Status::permission_denied(
                "the peer API needs a peer certificate",
            )),
        }
    }
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
        let rpc = self.accept(req)?;
        encode(&self.raft.append_entries(rpc).await)
    }

    async fn vote(&self, req: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let rpc = self.accept(req)?;
        encode(&self.raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        req: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let rpc = self.accept(req)?;
        encode(&self.raft.install_snapshot(rpc).await)
    }
}
