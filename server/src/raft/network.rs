//! The outgoing side of the peer API: openraft RPCs sent over gRPC, with
//! openraft's types serialized by postcard inside a `RaftMessage`.
//!
//! Replication runs over one long-lived bidirectional stream per follower
//! (`StreamAppend`): AppendEntries are pipelined on it, each a single HTTP/2
//! DATA frame instead of a whole unary call. Heartbeats, votes and snapshot
//! chunks are unary calls.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use openraft::base::{BoxFuture, BoxStream};
use openraft::errors::{
    Fatal, NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::{Backoff, RPCOption, RaftNetworkFactory, RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, StreamAppendResult, VoteRequest,
    VoteResponse,
};
use openraft::{BasicNode, OptionalSend};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tenure_proto::raft::RaftMessage;
use tenure_proto::raft::raft_client::RaftClient;
use tonic::transport::Channel;

use super::commit_delay::{COMMIT_DELAY, DeferCommits};
use super::{Meta, NodeId, Snapshot, SnapshotData, TypeConfig, Vote};
use crate::steps;
use crate::transport::{MAX_MESSAGE_BYTES, Transport};

/// How long openraft waits before retrying an unreachable peer.
const UNREACHABLE_BACKOFF: Duration = Duration::from_millis(100);
/// Snapshot bytes per `InstallSnapshot` call.
pub const SNAPSHOT_CHUNK_BYTES: usize = 1 << 20;

/// The errors of a peer call.
type PeerError = RPCError<TypeConfig>;

/// One piece of a snapshot sent with `InstallSnapshot`; the receiver puts the
/// pieces together and installs the whole snapshot after the last one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SnapshotChunk {
    /// The sending leader's vote.
    pub vote: Vote,
    /// The snapshot's metadata.
    pub meta: Meta,
    /// Where this piece starts in the snapshot's data.
    pub offset: u64,
    /// The piece.
    pub data: Vec<u8>,
    /// Whether it is the last piece.
    pub done: bool,
}

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

    fn client(&self, target: NodeId, node: &BasicNode, streaming: bool) -> PeerClient {
        let addr = self.routes.get(&target).unwrap_or(&node.addr).clone();
        let client = self
            .channel(target, &addr)
            .map(|ch| {
                RaftClient::new(ch)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES)
            })
            .map_err(|e| e.to_string());
        PeerClient { client, streaming }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    /// Replication: AppendEntries pipelined on a bidirectional stream.
    async fn new_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        self.client(target, node, true)
    }

    /// Heartbeats: one unary call each (a stream per heartbeat would cost more).
    async fn new_heartbeat_client(&mut self, target: NodeId, node: &BasicNode) -> PeerClient {
        self.client(target, node, false)
    }
}

/// A client for one peer.
pub struct PeerClient {
    client: Result<RaftClient<Channel>, String>,
    /// Whether `stream_append` opens a stream (else unary calls in turn).
    streaming: bool,
}

/// Which unary peer RPC to call.
#[derive(Clone, Copy)]
enum Rpc {
    Append,
    Vote,
    PreVote,
    Snapshot,
}

fn network_error(e: &(impl std::error::Error + 'static)) -> PeerError {
    RPCError::Network(NetworkError::new(e))
}

/// An answer of a peer whose Raft has stopped: back off, as from a node that
/// cannot be reached.
fn stopped(e: &Fatal<TypeConfig>) -> PeerError {
    RPCError::Unreachable(Unreachable::new(e))
}

fn status_error(status: tonic::Status) -> PeerError {
    if status.code() == tonic::Code::Unavailable {
        RPCError::Unreachable(Unreachable::new(&status))
    } else {
        network_error(&status)
    }
}

fn encode<T: Serialize>(value: &T) -> Result<RaftMessage, PeerError> {
    let payload = postcard::to_stdvec(value).map_err(|e| network_error(&e))?;
    Ok(RaftMessage { payload })
}

/// Decodes a peer's answer (postcard of its result, or of the fatal error its
/// Raft stopped with): undecodable is a network error.
pub(crate) fn decode_reply<Resp: DeserializeOwned>(payload: &[u8]) -> Result<Resp, PeerError> {
    let result: Result<Resp, RaftError<TypeConfig>> =
        postcard::from_bytes(payload).map_err(|e| network_error(&e))?;
    result.map_err(|e| match e {
        RaftError::Fatal(f) => stopped(&f),
        RaftError::APIError(never) => match never {},
    })
}

/// Decodes one answer of an AppendEntries stream.
pub(crate) fn decode_stream_reply(
    payload: &[u8],
) -> Result<StreamAppendResult<TypeConfig>, PeerError> {
    let result: Result<StreamAppendResult<TypeConfig>, Fatal<TypeConfig>> =
        postcard::from_bytes(payload).map_err(|e| network_error(&e))?;
    result.map_err(|f| stopped(&f))
}

impl PeerClient {
    fn stub(&self) -> Result<RaftClient<Channel>, PeerError> {
        self.client
            .clone()
            .map_err(|e| RPCError::Unreachable(Unreachable::from_string(e)))
    }

    async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &mut self,
        rpc: Rpc,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, PeerError> {
        let mut client = self.stub()?;
        let msg = encode(req)?;
        let fut = async {
            match rpc {
                Rpc::Append => client.append_entries(msg).await,
                Rpc::Vote => client.vote(msg).await,
                Rpc::PreVote => client.pre_vote(msg).await,
                Rpc::Snapshot => client.install_snapshot(msg).await,
            }
        };
        let reply = match tokio::time::timeout(option.hard_ttl(), fut).await {
            Err(elapsed) => return Err(network_error(&elapsed)),
            Ok(Err(status)) => return Err(status_error(status)),
            Ok(Ok(reply)) => reply.into_inner(),
        };
        decode_reply(&reply.payload)
    }

    /// AppendEntries pipelined on one bidirectional stream; the stream lasts
    /// as long as openraft's replication session.
    async fn open_stream<S>(
        &mut self,
        input: S,
        option: RPCOption,
    ) -> Result<BoxStream<'static, Result<StreamAppendResult<TypeConfig>, PeerError>>, PeerError>
    where
        S: Stream<Item = AppendEntriesRequest<TypeConfig>> + OptionalSend + Unpin + 'static,
    {
        let mut client = self.stub()?;
        // A request that does not encode (it cannot happen with openraft's
        // own types) ends the stream; the session is then started again.
        let requests = DeferCommits::new(input, COMMIT_DELAY)
            .map(|req| {
                if let Some(last) = req.entries.last() {
                    steps::step("ae.send", last.log_id.index);
                }
                encode(&req)
            })
            .take_while(|r| std::future::ready(r.is_ok()))
            .filter_map(|r| std::future::ready(r.ok()));
        let opened = tokio::time::timeout(option.hard_ttl(), client.stream_append(requests));
        let answers = match opened.await {
            Err(elapsed) => return Err(network_error(&elapsed)),
            Ok(Err(status)) => return Err(status_error(status)),
            Ok(Ok(answers)) => answers.into_inner(),
        };
        let results = answers.map(|answer| {
            steps::step("ae.reply", 0);
            decode_stream_reply(&answer.map_err(status_error)?.payload)
        });
        Ok(Box::pin(results))
    }
}

impl RaftNetworkV2<TypeConfig> for PeerClient {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, PeerError> {
        self.call(Rpc::Append, &rpc, &option).await
    }

    fn stream_append<'s, S>(
        &'s mut self,
        input: S,
        option: RPCOption,
    ) -> BoxFuture<
        's,
        Result<BoxStream<'s, Result<StreamAppendResult<TypeConfig>, PeerError>>, PeerError>,
    >
    where
        S: Stream<Item = AppendEntriesRequest<TypeConfig>> + OptionalSend + Unpin + 'static,
    {
        if !self.streaming {
            return openraft::network::stream_append_sequential(self, input, option);
        }
        Box::pin(async move {
            let results = self.open_stream(input, option).await?;
            Ok(results as BoxStream<'s, _>)
        })
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, PeerError> {
        self.call(Rpc::Vote, &rpc, &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, PeerError> {
        self.call(Rpc::PreVote, &rpc, &option).await
    }

    /// Sends the snapshot in [`SNAPSHOT_CHUNK_BYTES`] pieces, one call each.
    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        let data = snapshot.snapshot;
        let mut cancel = std::pin::pin!(cancel);
        let mut offset: usize = 0;
        loop {
            let end = offset.saturating_add(SNAPSHOT_CHUNK_BYTES).min(data.len());
            let chunk = SnapshotChunk {
                vote,
                meta: snapshot.meta.clone(),
                offset: offset as u64,
                data: data.get(offset..end).unwrap_or_default().to_vec(),
                done: end == data.len(),
            };
            let sent = tokio::select! {
                closed = &mut cancel => return Err(StreamingError::Closed(closed)),
                sent = self.call::<_, Option<SnapshotResponse<TypeConfig>>>(
                    Rpc::Snapshot, &chunk, &option) => sent,
            };
            let answer = sent.map_err(|e| match e {
                RPCError::Unreachable(u) => StreamingError::Unreachable(u),
                RPCError::Timeout(t) => StreamingError::Timeout(t),
                other => StreamingError::Network(NetworkError::new(&other)),
            })?;
            match answer {
                Some(done) => return Ok(done),
                None if chunk.done => {
                    return Err(StreamingError::Network(NetworkError::from_string(
                        "the peer did not install the snapshot after its last chunk",
                    )));
                }
                None => offset = end,
            }
        }
    }

    fn backoff(&self) -> Option<Backoff> {
        Some(Backoff::new(std::iter::repeat(UNREACHABLE_BACKOFF)))
    }
}
