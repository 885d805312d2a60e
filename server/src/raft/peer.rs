//! The incoming side of the peer API: checks the caller, decodes openraft
//! requests and hands them to the local Raft node. A request that does not
//! decode gets INVALID_ARGUMENT.
//!
//! The caller is checked by [`PeerAuth`], an interceptor, before the request's
//! body is read: a caller without a peer certificate cannot make a node read,
//! let alone decode, a 64 MiB message.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use openraft::errors::RaftError;
use openraft::raft::{AppendEntriesRequest, SnapshotResponse};
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tenure_proto::raft::RaftMessage;
use tenure_proto::raft::raft_server::{self, RaftServer};
use tonic::service::interceptor::InterceptedService;
use tonic::{Request, Response, Status, Streaming};

use super::network::SnapshotChunk;
use super::{LogId, Meta, Raft, Snapshot, TypeConfig, Vote};
use crate::security::tls::{Verifiers, common_name};
use crate::steps;
use crate::transport::MAX_MESSAGE_BYTES;

/// Serves the peer API for one node.
pub struct PeerService {
    raft: Raft,
    /// The snapshot being received in chunks, if any.
    snapshot: Arc<Mutex<Option<Partial>>>,
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
        let service = PeerService {
            raft,
            snapshot: Arc::default(),
        };
        let server = RaftServer::new(service)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        InterceptedService::new(server, auth)
    }

    /// Decodes a request's message ([`PeerAuth`] has checked the caller).
    fn accept<T: DeserializeOwned>(&self, req: Request<RaftMessage>) -> Result<T, Status> {
        super::decode_request(&req.into_inner().payload)
    }

    /// Adds `chunk` to the snapshot being received; the whole data once the
    /// last chunk is in. A chunk of another snapshot (a new leader, or a newer
    /// snapshot) starts over; a chunk out of order is refused.
    fn receive(&self, chunk: SnapshotChunk) -> Result<Option<(Vote, Meta, Vec<u8>)>, Status> {
        let key = (chunk.vote, chunk.meta.last_log_id);
        let mut partial = self.snapshot.lock();
        if partial.as_ref().is_none_or(|p| p.key != key) {
            if chunk.offset != 0 {
                return Err(Status::failed_precondition(
                    "a snapshot chunk that does not start a snapshot",
                ));
            }
            *partial = Some(Partial {
                key,
                data: Vec::new(),
            });
        }
        let Some(p) = partial.as_mut() else {
            return Ok(None);
        };
        if p.data.len() as u64 != chunk.offset {
            *partial = None;
            return Err(Status::failed_precondition("snapshot chunks out of order"));
        }
        p.data.extend_from_slice(&chunk.data);
        if !chunk.done {
            return Ok(None);
        }
        Ok(partial.take().map(|p| (chunk.vote, chunk.meta, p.data)))
    }
}

/// A snapshot being received: which one, and its data so far.
struct Partial {
    key: (Vote, Option<LogId>),
    data: Vec<u8>,
}

fn encode<T: Serialize>(value: &T) -> Result<RaftMessage, Status> {
    let payload = postcard::to_stdvec(value).map_err(|e| Status::internal(e.to_string()))?;
    Ok(RaftMessage { payload })
}

fn reply<T: Serialize>(value: &T) -> Result<Response<RaftMessage>, Status> {
    encode(value).map(Response::new)
}

type AnswerStream = Pin<Box<dyn Stream<Item = Result<RaftMessage, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl raft_server::Raft for PeerService {
    async fn append_entries(
        &self,
        req: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let rpc: AppendEntriesRequest<TypeConfig> = self.accept(req)?;
        reply(&self.raft.append_entries(rpc).await)
    }

    type StreamAppendStream = AnswerStream;

    /// One answer per request, in order. A request that does not decode, or a
    /// broken stream, ends the input; openraft's answers end on the first
    /// rejection (conflict or higher vote).
    async fn stream_append(
        &self,
        req: Request<Streaming<RaftMessage>>,
    ) -> Result<Response<AnswerStream>, Status> {
        let requests = req
            .into_inner()
            .map(|msg| {
                let rpc: AppendEntriesRequest<TypeConfig> = super::decode_request(&msg?.payload)?;
                if let Some(last) = rpc.entries.last() {
                    steps::step("follower.begin", last.log_id.index);
                }
                Ok::<_, Status>(rpc)
            })
            .take_while(|r| std::future::ready(r.is_ok()))
            .filter_map(|r| std::future::ready(r.ok()));
        let answers = self.raft.stream_append(requests).map(|answer| {
            if let Ok(Ok(Some(log_id))) = &answer {
                steps::step("follower.end", log_id.index);
            }
            encode(&answer)
        });
        Ok(Response::new(Box::pin(answers)))
    }

    async fn vote(&self, req: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let rpc = self.accept(req)?;
        reply(&self.raft.vote(rpc).await)
    }

    async fn pre_vote(&self, req: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        let rpc = self.accept(req)?;
        reply(&self.raft.pre_vote(rpc).await)
    }

    /// Answers `Ok(None)` until the last chunk, then the install's result.
    async fn install_snapshot(
        &self,
        req: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let chunk: SnapshotChunk = self.accept(req)?;
        let answer: Result<Option<SnapshotResponse<TypeConfig>>, RaftError<TypeConfig>> =
            match self.receive(chunk)? {
                None => Ok(None),
                Some((vote, meta, data)) => self
                    .raft
                    .install_full_snapshot(
                        vote,
                        Snapshot {
                            meta,
                            snapshot: data,
                        },
                    )
                    .await
                    .map(Some)
                    .map_err(RaftError::Fatal),
            };
        reply(&answer)
    }
}
