//! What a node is started with: its id, addresses, data directory, Raft timing
//! and security settings.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use crate::raft::NodeId;
use crate::security::auth::Authenticator;
use crate::security::limits::Limits;
use crate::security::tls::TlsSettings;
use crate::transport::WebOrigins;

/// Raft timing.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Leader heartbeat interval.
    pub heartbeat: Duration,
    /// Election timeout range.
    pub election_min: Duration,
    /// Upper end of the election timeout range.
    pub election_max: Duration,
}

impl Timing {
    /// How long a node waits for its own leadership to be confirmed (a
    /// read-index round) or made ready (its log as of the leadership's start
    /// applied) before it gives up: a few election timeouts, long enough for
    /// a round and the start of a leadership on a loaded machine, short
    /// enough (with the defaults) that a client's attempt (2 s by default)
    /// can still go to another node.
    pub fn leadership_wait(&self) -> Duration {
        self.election_max * 4
    }
}

impl Default for Timing {
    /// The `tenure server` flags' defaults. openraft 0.10 starts an election
    /// only once a follower's leader lease (`election_max`) and then its own
    /// sampled timeout have both passed since the last heartbeat, so a dead
    /// leader is replaced 270-360 ms after its last heartbeat; pre-vote and
    /// that lease keep a node that merely missed heartbeats from deposing a
    /// working leader. `election_min` must exceed twice the heartbeat (openraft
    /// suppresses heartbeats to a follower that answered replication lately).
    fn default() -> Self {
        Timing {
            heartbeat: Duration::from_millis(30),
            election_min: Duration::from_millis(90),
            election_max: Duration::from_millis(180),
        }
    }
}

/// Configuration of one node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// This node's id (a key of `peers`).
    pub id: NodeId,
    /// Address to listen on (client and peer API).
    pub listen: SocketAddr,
    /// Every member's id and address, this node included.
    pub peers: BTreeMap<NodeId, String>,
    /// Where the log and snapshots live.
    pub data_dir: PathBuf,
    /// Raft timing.
    pub timing: Timing,
    /// Optional Prometheus metrics listener.
    pub metrics_listen: Option<SocketAddr>,
    /// Whether this node may initialize a pristine cluster (only the member with
    /// the lowest id does, and never one started with `--join`).
    pub bootstrap: bool,
    /// Take a snapshot (and compact the log) after this many entries.
    pub snapshot_logs: u64,
    /// Security settings.
    pub security: Security,
    /// Dial these addresses instead of the peers' own (testing).
    pub peer_routes: HashMap<NodeId, String>,
}

/// TLS, authentication, limits and browser access of a node.
#[derive(Clone, Default)]
pub struct Security {
    /// TLS on client and peer links (None: plain TCP).
    pub tls: Option<TlsSettings>,
    /// Who callers are and what they may do.
    pub auth: Authenticator,
    /// Caps and rates.
    pub limits: Limits,
    /// gRPC-web on the client API for these browser origins (None: off).
    pub web: Option<WebOrigins>,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth.enabled())
            .field("limits", &self.limits)
            .field("web", &self.web)
            .finish()
    }
}

/// Default of [`NodeConfig::snapshot_logs`].
pub const DEFAULT_SNAPSHOT_LOGS: u64 = 5_000;

/// Parses `1=host:port,2=host:port,...`.
pub fn parse_peers(s: &str) -> anyhow::Result<BTreeMap<NodeId, String>> {
    let mut peers = BTreeMap::new();
    let mut addrs = BTreeSet::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (id, addr) = part
            .split_once('=')
            .with_context(|| format!("peer {part:?} is not ID=HOST:PORT"))?;
        let id: NodeId = id
            .parse()
            .with_context(|| format!("peer id {id:?} is not a number"))?;
        anyhow::ensure!(id > 0, "peer ids start at 1");
        anyhow::ensure!(
            addrs.insert(addr.to_owned()),
            "address {addr} appears twice"
        );
        anyhow::ensure!(
            peers.insert(id, addr.to_owned()).is_none(),
            "peer id {id} appears twice"
        );
    }
    anyhow::ensure!(
        matches!(peers.len(), 1 | 3 | 5),
        "a cluster has 1, 3 or 5 members, got {}",
        peers.len()
    );
    Ok(peers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_and_reject_bad_lists() {
        let p = parse_peers("1=127.0.0.1:7100,2=127.0.0.1:7101,3=127.0.0.1:7102").expect("parses");
        assert_eq!(p.len(), 3);
        assert!(parse_peers("1=a:1,2=b:2").is_err());
        assert!(parse_peers("1=a:1,1=b:2,3=c:3").is_err());
        assert!(parse_peers("x=a:1").is_err());
        assert!(parse_peers("1=a:1,2=a:1,3=c:3").is_err());
    }
}
