//! The tenure lock server: a Raft-replicated state machine of sessions, locks and
//! fencing tokens, served over gRPC.
//!
//! - [`machine`]: the deterministic lock state machine.
//! - [`store`]: the durable Raft log and state-machine snapshots.
//! - [`raft`]: openraft types and the peer network.
//! - [`node`]: one node: its configuration, [`node::start`] (which wires it
//!   together), and what it does at run time (proposer, keepalives, leader
//!   tasks, session leases).
//! - [`api`]: the client gRPC API.
//! - [`security`]: TLS, callers and their permissions, limits.
//!
//! The `tenure` command (server, dev cluster, demo, admin CLI) is the
//! `tenure-cli` crate (cli/).

pub mod api;
pub mod controls;
/// Entry points shared by the cargo-fuzz targets and the proptest runs.
#[doc(hidden)]
pub mod fuzzing;
pub mod leader_clock;
pub mod machine;
pub mod metrics;
pub mod node;
pub mod raft;
pub mod security;
pub mod steps;
pub mod store;
pub mod transport;
pub mod watchdog;
