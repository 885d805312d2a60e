//! Raft plumbing: the openraft type configuration, the peer network over gRPC and
//! the peer service that receives it.

pub mod commit_delay;
pub mod network;
pub mod peer;

use openraft::raft::responder::Responder;
use openraft::type_config::alias::{
    LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf, VoteOf,
};
use openraft::{EntryPayload, OptionalSend, RaftTypeConfig};

use crate::machine::{Batch, Outcome};
use crate::store::state::StateStore;

/// openraft types of tenure: one log entry carries a [`Batch`] of commands.
/// Written out (not with `declare_raft_types!`) because the client-write
/// responder is tenure's own [`FnResponder`].
#[derive(Debug, Clone, Copy, Default, Eq, PartialEq, Ord, PartialOrd)]
pub struct TypeConfig;

impl RaftTypeConfig for TypeConfig {
    type D = Batch;
    type R = Vec<Outcome>;
    type NodeId = u64;
    type Node = openraft::BasicNode;
    type Term = u64;
    /// (term, node id), as in openraft 0.9: the log and snapshot formats keep
    /// decoding.
    type LeaderId = openraft::impls::leader_id_adv::LeaderId<u64, u64>;
    type Vote = openraft::impls::Vote<Self::LeaderId>;
    type Payload = EntryPayload<Batch, u64, openraft::BasicNode>;
    type Entry =
        openraft::Entry<<Self::LeaderId as openraft::vote::RaftLeaderId>::Committed, Self::Payload>;
    type AsyncRuntime = openraft_rt_tokio::TokioRuntime;
    type Responder<T>
        = FnResponder<T>
    where
        T: OptionalSend + 'static;
    type Batch<T>
        = openraft::impls::InlineBatch<T>
    where
        T: OptionalSend + 'static;
    type ErrorSource = openraft::impls::BoxedErrorSource;
}

/// A running Raft node of tenure.
pub type Raft = openraft::Raft<TypeConfig, StateStore>;
/// A node id.
pub type NodeId = u64;
/// A log id.
pub type LogId = LogIdOf<TypeConfig>;
/// A vote.
pub type Vote = VoteOf<TypeConfig>;
/// A log entry.
pub type Entry = <TypeConfig as RaftTypeConfig>::Entry;
/// A snapshot's metadata.
pub type Meta = SnapshotMetaOf<TypeConfig>;
/// A membership and the log id it was stored at.
pub type StoredMembership = StoredMembershipOf<TypeConfig>;
/// A snapshot with its data in memory.
pub type Snapshot = SnapshotOf<TypeConfig, SnapshotData>;
/// The data of a snapshot in memory: the encoded snapshot body.
pub type SnapshotData = Vec<u8>;
/// The leadership a log id or vote belongs to: (term, node id).
pub type LeaderId = openraft::impls::leader_id_adv::LeaderId<u64, NodeId>;
/// What a client write resolves with.
pub type ClientWriteResult = openraft::raft::ClientWriteResult<TypeConfig>;

/// The log id `(term, node) index`.
pub fn log_id(term: u64, node: NodeId, index: u64) -> LogId {
    use openraft::vote::RaftLeaderId;
    LogId::new(LeaderId::new(term, node), index)
}

/// A responder that runs a closure with the result: for a client write, the
/// proposer's closure hands each command's outcome to its caller. It runs on
/// openraft's state-machine task after apply (or on its core task for an
/// error), so the closure only sends, never blocks.
pub struct FnResponder<T>(Box<dyn FnOnce(T) + Send + 'static>);

impl<T> FnResponder<T> {
    /// A responder calling `f` with the result.
    pub fn new(f: impl FnOnce(T) + Send + 'static) -> Self {
        FnResponder(Box::new(f))
    }
}

impl<T: OptionalSend + 'static> Responder<TypeConfig, T> for FnResponder<T> {
    fn on_complete(self, result: T) {
        (self.0)(result)
    }
}

/// Decodes the payload of a peer request (postcard of an openraft request);
/// INVALID_ARGUMENT if it does not decode.
pub(crate) fn decode_request<T: serde::de::DeserializeOwned>(
    payload: &[u8],
) -> Result<T, tonic::Status> {
    postcard::from_bytes(payload)
        .map_err(|e| tonic::Status::invalid_argument(format!("undecodable raft message: {e}")))
}
