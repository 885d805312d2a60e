//! The incoming side of the peer API: checks the caller, decodes openraft
//! requests and hands them to the local Raft node. A request that does not
//! decode gets INVALID_ARGUMENT.
//!
//! The caller is checked by [`PeerAuth`], an interceptor, before the request's
//! body is read: a caller without a peer certificate cannot make a node read,
//! let alone decode, a 64 MiB message.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tenure_proto::raft::RaftMessage;
use tenure_proto::raft::raft_server::{self, RaftServer};
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status};

use super::Raft;
use crate::security::tls::{Verifiers, common_name};
use crate::steps;
use crate::transport::MAX_MESSAGE_BYTES;

/// Serves the peer API for one node.
pub struct PeerService {
    raft: Raft,
}

/// Who may call the peer API: with peer TLS, only callers whose certificate
/// chains to the peer CA and carries the peer common name.
#[derive(Clone, Debug)]
pub struct PeerAuth {
    /// The common name peers' certificates carry; None: no peer TLS, anyone
    /// may call (plain text on loopback, or `--insecure-peers`).
    pub peer_cn: Option<String>,
    /// The peer CA's verifier.
    pub verifiers: Verifiers,
}

impl tonic::service::Interceptor for PeerAuth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.peer_cn else {
            return Ok(req);
        };
        let Some(chain) = req.peer_certs() else {
            return Err(Status::permission_denied(
                "the peer API needs a peer certificate",
            ));
        };
        if !self.verifiers.is_peer(&chain) {
            return Err(Status::permission_denied(
                "the peer API needs a certificate signed by the peer CA",
            ));
        }
        match chain.first().and_then(|c| common_name(c.as_ref())) {
            Some(cn) if &cn == expected => Ok(req),
            cn => Err(Status::permission_denied(format!(
                "certificate {cn:?} is not a peer's"
            ))),
        }
    }
}

impl PeerService {
    /// The peer API of `raft`, behind `auth`, with the peer message size limit.
    pub fn server(
        raft: Raft,
        auth: PeerAuth,
    ) -> InterceptedService<RaftServer<PeerService>, PeerAuth> {
        let server = RaftServer::new(PeerService { raft })
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        InterceptedService::new(server, auth)
    }

    /// Decodes a request's message ([`PeerAuth`] has checked the caller).
    fn accept<T: DeserializeOwned>(&self, req: Request<RaftMessage>) -> Result<T, Status> {
        super::decode_request(&req.into_inner().payload)
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
        let rpc: openraft::raft::AppendEntriesRequest<super::TypeConfig> = self.accept(req)?;
        let last = rpc.entries.last().map(|e| e.log_id.index);
        let _step = last.map(|i| steps::Span::new("follower.begin", "follower.end", i));
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
