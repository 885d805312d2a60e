//! The tenure lock server: a Raft-replicated state machine of sessions, locks and
//! fencing tokens, served over gRPC.

pub mod machine;
