//! Raft plumbing: the openraft type configuration, the peer network over gRPC and
//! the peer service that receives it.

pub mod network;
pub mod peer;

use std::io::Cursor;

use crate::machine::{Batch, Outcome};

openraft::declare_raft_types!(
    /// openraft types of tenure: one log entry carries a [`Batch`] of commands.
    pub TypeConfig:
        D = Batch,
        R = Vec<Outcome>,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A running Raft node of tenure.
pub type Raft = openraft::Raft<TypeConfig>;
/// A node id.
pub type NodeId = u64;
/// A log id.
pub type LogId = openraft::LogId<NodeId>;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// Storage errors as openraft wants them.
pub type StorageError = openraft::StorageError<NodeId>;

/// Decodes the payload of a peer request (postcard of an openraft request);
/// INVALID_ARGUMENT if it does not decode.
pub(crate) fn decode_request<T: serde::de::DeserializeOwned>(
    payload: &[u8],
) -> Result<T, tonic::Status> {
    postcard::from_bytes(payload)
        .map_err(|e| tonic::Status::invalid_argument(format!("undecodable raft message: {e}")))
}
