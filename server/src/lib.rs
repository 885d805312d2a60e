//! The tenure lock server: a Raft-replicated state machine of sessions, locks and
//! fencing tokens, served over gRPC.
//!
//! - [`machine`]: the deterministic lock state machine.
//! - [`store`]: the durable Raft log and state-machine snapshots.
//! - [`raft`]: openraft types and the peer network.
//! - [`proposer`], [`leader_clock`], [`keepalive`], [`leader`], [`leases`]: what a
//!   node does at run time.
//! - [`api`]: the client gRPC API.
//! - [`node`]: wires one node together; [`dev`] runs a local cluster in-process.

pub mod api;
pub mod cli;
pub mod controls;
pub mod demo;
pub mod dev;
/// Entry points shared by the cargo-fuzz targets and the proptest runs.
#[doc(hidden)]
pub mod fuzzing;
pub mod keepalive;
pub mod leader;
pub mod leader_clock;
pub mod leases;
pub mod machine;
pub mod metrics;
pub mod node;
pub mod proposer;
pub mod raft;
pub mod security;
pub mod steps;
pub mod store;
pub mod transport;
pub mod watchdog;
