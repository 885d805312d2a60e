//! What the client API of a node works with. The run-time parts (proposer,
//! keepalive batcher, leader tasks, metrics) are given only the pieces they
//! use, in `node::start`; only the API, which serves every kind of request,
//! holds them all.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::watch;

use super::keepalive::KeepAlives;
use super::leadership::Leadership;
use super::proposer::Proposer;
use crate::metrics::Metrics;
use crate::security::auth::Authenticator;
use crate::security::denials::Denials;
use crate::security::limits::{Limits, Usage};
use crate::security::tls::Verifiers;
use crate::store::log::LogStore;
use crate::store::state::Shared;

/// One running node as its request handlers see it.
pub struct NodeContext {
    /// Raft, and whether this node may act as the leader.
    pub leadership: Leadership,
    /// The log store (for its committed index).
    pub log: LogStore,
    /// In-memory state (state machine, deadlines, waits).
    pub shared: Arc<Mutex<Shared>>,
    /// Group-commit proposer.
    pub proposer: Proposer,
    /// Keepalive batcher.
    pub keepalives: KeepAlives,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Becomes true when the node stops: open streams end.
    pub stop: watch::Receiver<bool>,
    /// Who may call, and how much.
    pub admission: Admission,
}

/// Who may call and how much: the access rules, the limits and their
/// counters, and the sampled record of denials.
pub struct Admission {
    /// Who callers are and what they may do.
    pub auth: Authenticator,
    /// Configured limits.
    pub limits: Limits,
    /// Per-connection and per-address usage, against the limits.
    pub usage: Usage,
    /// Which CA signed a caller's certificate (client or peer).
    pub verifiers: Verifiers,
    /// Permission denials, sampled for the audit log.
    pub denials: Denials,
}
