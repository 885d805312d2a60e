//! The tenure lock server: a Raft-replicated state machine of sessions, locks and
//! fencing tokens, served over gRPC.

pub mod machine;
pub mod leases;
pub mod raft;
pub mod store;
pub mod transport;
