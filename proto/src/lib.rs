//! Generated gRPC code for tenure's client API ([`v1`]) and peer API ([`raft`]).
#![allow(missing_docs, clippy::all)]

/// The client API: sessions, locks, admin.
pub mod v1 {
    tonic::include_proto!("tenure.v1");
}

/// The peer API: Raft messages between servers (feature `peer`).
#[cfg(feature = "peer")]
pub mod raft {
    tonic::include_proto!("tenure.raft.v1");
}
