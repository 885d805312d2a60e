//! The outgoing side of the peer API: openraft RPCs sent over gRPC, with
//! openraft's types serialized by postcard inside a `RaftMessage`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::BasicNode;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tenure_proto::raft::RaftMessage;
use tenure_proto::raft::raft_client::RaftClient;
use tonic::transport::Channel;

use super::{NodeId, TypeConfig};
use crate::steps;
use crate::transport::{MAX_MESSAGE_BYTES, Transport};

/// How long openraft waits before retrying an unreachable peer.
const UNREACHABLE_BACKOFF: Duration = Duration::from_millis(100);

/// Creates peer clients, reusing one channel per peer address.
#[derive(Clone)]
pub struct Network {
    transport: Transport,
    channels: Arc<Mutex<HashMap<(NodeId, String), Channel>>>,
    /// Addresses to dial instead of a peer's advertised one (tests route peer
    /// links through fault-injecting proxies this way).
    routes: Arc<HashMap<NodeId, String>>,
}

impl Network {
    /// A network using `transport` for its connections.
    pub fn new(transport: Transport, routes: HashMap<NodeId, String>) -> Self {
        Network {
            transport,
            channels: Arc::default(),
            routes: Arc::new(routes),
        }
    }

    fn channel(&self, target: NodeId, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let mut channels = self.channels.lock();
        if let Some(ch) = channels.get(&(target, addr.to_owned())) {
            return Ok(ch.clone());
        }
        let ch = self.transport.channel(addr)?;
        channels.insert((target, addr.to_owned()), ch.clone());
        Ok(ch)
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        let addr = self.routes.get(&target).unwrap_or(&node.addr).clone();
        let client = self.channel(target, &addr).map(|ch| {
            RaftClient::new(ch)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES)
        });
        PeerClient { target, client }
    }
}

/// A client for one peer.
pub struct PeerClient {
    target: NodeId,
    client: Result<RaftClient<Channel>, tonic::transport::Error>,
}

/// Which peer RPC to call.
#[derive(Clone, Copy)]
enum Rpc {
    Append,
    Vote,
    Snapshot,
}

impl PeerClient {
    async fn call<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let client = match &mut self.client {
            Ok(c) => c,
            Err(e) => return Err(RPCError::Unreachable(Unreachable::new(e))),
        };
        let payload =
            postcard::to_stdvec(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let msg = RaftMessage { payload };
        let fut = async {
            match rpc {
                Rpc::Append => client.append_entries(msg).await,
                Rpc::Vote => client.vote(msg).await,
                Rpc::Snapshot => client.install_snapshot(msg).await,
            }
        };
        let reply = match tokio::time::timeout(option.hard_ttl(), fut).await {
            Err(elapsed) => return Err(RPCError::Network(NetworkError::new(&elapsed))),
            Ok(Err(status)) if status.code() == tonic::Code::Unavailable => {
                return Err(RPCError::Unreachable(Unreachable::new(&status)));
            }
            Ok(Err(status)) => return Err(RPCError::Network(NetworkError::new(&status))),
            Ok(Ok(reply)) => reply.into_inner(),
        };
        decode_reply(self.target, &reply.payload)
    }
}

/// Decodes the payload of a peer's reply (postcard of its answer or of the
/// Raft error it returned): undecodable is a network error. (The error type
/// is openraft's, as `RaftNetwork` returns it.)
#[allow(clippy::result_large_err)]
pub(crate) fn decode_reply<Resp, E>(
    target: NodeId,
    payload: &[u8],
) -> Result<Resp, RPCError<NodeId, BasicNode, RaftError<NodeId, E>>>
where
    Resp: DeserializeOwned,
    E: std::error::Error + DeserializeOwned,
{
    let result: Result<Resp, RaftError<NodeId, E>> =
        postcard::from_bytes(payload).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
    result.map_err(|e| RPCError::RemoteError(RemoteError::new(target, e)))
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        let last = rpc.entries.last().map(|e| e.log_id.index);
        let _step = last.map(|i| steps::Span::new("ae.send", "ae.reply", i));
        self.call(Rpc::Append, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, BasicNode, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(Rpc::Snapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, BasicNode, RaftError<NodeId>>> {
        self.call(Rpc::Vote, &rpc, &option).await
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(std::iter::repeat(UNREACHABLE_BACKOFF))
    }
}
