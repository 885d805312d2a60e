//! Whether this node may act as the leader: the one question every request
//! handler and leader task asks before it grants, renews or expires anything.

use openraft::async_runtime::watch::WatchReceiver;
use openraft::{Instant as _, ServerState};
use tokio::sync::watch;

use super::config::Timing;
use crate::controls::{self, Control};
use crate::raft::{LeaderId, NodeId, Raft};

/// This node's Raft handle and its view of who leads (cheap to clone).
#[derive(Clone)]
pub struct Leadership {
    /// This node's id.
    pub id: NodeId,
    /// The Raft node.
    pub raft: Raft,
    /// Raft timing in use.
    pub timing: Timing,
    /// The leadership for which this node has reset session deadlines and may
    /// renew and expire sessions; None when not (yet) leading. Published by
    /// the leader task `watch_leadership` (leader.rs).
    pub ready: watch::Receiver<Option<LeaderId>>,
}

impl Leadership {
    /// The current leader's id and client address, if known.
    pub fn leader(&self) -> Option<(NodeId, String)> {
        let m = self.raft.metrics().borrow_watched().clone();
        let id = m.current_leader?;
        let addr = m.membership_config.membership().get_node(&id)?.addr.clone();
        Some((id, addr))
    }

    /// The fatal error the Raft core stopped with, if it stopped.
    pub fn raft_stopped(&self) -> Option<String> {
        let metrics = self.raft.metrics();
        let error = metrics.borrow_watched().running_state.clone().err();
        error.map(|e| e.to_string())
    }

    /// True when this node leads and has a quorum heard from within the election
    /// timeout (check-quorum: an isolated leader stops granting and renewing).
    pub fn leads_with_quorum(&self) -> bool {
        let metrics = self.raft.metrics();
        let m = metrics.borrow_watched();
        let alone = m.membership_config.membership().voter_ids().count() == 1
            || controls::active(Control::GrantWithoutQuorum);
        let heard = m
            .last_quorum_acked
            .as_ref()
            .is_some_and(|at| (*at).into_inner().elapsed() <= self.timing.election_max);
        m.state == ServerState::Leader && m.current_leader == Some(self.id) && (alone || heard)
    }

    /// Whether this node has reset session deadlines for its current
    /// leadership (and so may renew and expire sessions).
    pub fn is_ready(&self) -> bool {
        self.ready.borrow().is_some()
    }
}
