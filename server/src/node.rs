//! One tenure server node: storage, Raft, the gRPC listener (client and peer API
//! on one address) and the background tasks of a leader.

use openraft::async_runtime::watch::WatchReceiver;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use openraft::{BasicNode, Config, Instant as _, ServerState, SnapshotPolicy};

use crate::raft::LeaderId;
use parking_lot::Mutex;
use tenure_proto::v1::tenure_server::TenureServer;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

use crate::api::service::TenureService;
use crate::controls::{self, Control};
use crate::keepalive::{self, KeepAlives};
use crate::leader;
use crate::metrics::Metrics;
use crate::proposer::Proposer;
use crate::raft::network::Network;
use crate::raft::peer::{PeerAuth, PeerService};
use crate::raft::{NodeId, Raft};
use crate::security::auth::Authenticator;
use crate::security::denials::Denials;
use crate::security::limits::{Limits, Usage};
use crate::security::tls::{TlsSettings, Verifiers};
use crate::store::log::{LogOptions, LogStore};
use crate::store::state::{Shared, StateStore};
use crate::transport::Transport;

/// How long a stopping node lets calls in flight finish.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(300);

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
    pub peer_routes: std::collections::HashMap<NodeId, String>,
}

/// TLS, authentication and limits of a node.
#[derive(Clone, Default)]
pub struct Security {
    /// TLS on client and peer links (None: plain TCP).
    pub tls: Option<TlsSettings>,
    /// Who callers are and what they may do.
    pub auth: Authenticator,
    /// Caps and rates.
    pub limits: Limits,
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Security")
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth.enabled())
            .field("limits", &self.limits)
            .finish()
    }
}

/// Default of [`NodeConfig::snapshot_logs`].
pub const DEFAULT_SNAPSHOT_LOGS: u64 = 5_000;

/// What every request handler and background task of a node shares.
pub struct Core {
    /// This node's id.
    pub id: NodeId,
    /// The Raft node.
    pub raft: Raft,
    /// The log store (for its committed index).
    pub log: LogStore,
    /// In-memory state (state machine, deadlines, waits).
    pub shared: Arc<Mutex<Shared>>,
    /// Notified after every apply.
    pub applied: Arc<Notify>,
    /// Group-commit proposer.
    pub proposer: Proposer,
    /// The leadership for which this node has reset session deadlines and may
    /// renew and expire sessions; None when not (yet) leading.
    pub ready: watch::Receiver<Option<LeaderId>>,
    /// Keepalive batcher.
    pub keepalives: KeepAlives,
    /// Raft timing in use.
    pub timing: Timing,
    /// Prometheus metrics.
    pub metrics: Arc<Metrics>,
    /// Becomes true when the node stops: open streams end.
    pub stop: watch::Receiver<bool>,
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

impl Core {
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
}

/// A running node.
pub struct NodeHandle {
    core: Arc<Core>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl NodeHandle {
    /// The node's shared core.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// Stops serving (open streams end, calls in flight get a moment to finish)
    /// and shuts Raft down.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        // Raft first, so the node leaves the cluster at once (like a crash).
        let _ = self.core.raft.shutdown().await;
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

fn raft_config(timing: &Timing, snapshot_logs: u64) -> anyhow::Result<Config> {
    let config = Config {
        cluster_name: "tenure".into(),
        heartbeat_interval: timing.heartbeat.as_millis() as u64,
        election_timeout_min: timing.election_min.as_millis() as u64,
        election_timeout_max: timing.election_max.as_millis() as u64,
        install_snapshot_timeout: 10_000,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(snapshot_logs),
        max_in_snapshot_log_to_keep: (snapshot_logs / 5).min(1_000),
        // Replicate each append as soon as it is handed to the log writer, in
        // parallel with the leader's own fsync (tenure batches in the proposer).
        broadcast_submitted_on_append: Some(true),
        // A node cut off and back does not depose a working leader.
        enable_pre_vote: Some(true),
        // Replication answers stand in for heartbeats while writes flow.
        heartbeat_min_interval: Some(timing.heartbeat.as_millis() as u64),
        // An isolated leader stops renewing its followers' leases in phases,
        // so a partial partition cannot keep an election from happening
        // (openraft #2080).
        quorum_loss_probe_interval: Some(2 * timing.election_max.as_millis() as u64),
        // A restarted leader must win an election like anyone else: its
        // followers may have committed entries its own (slower) fsync had not
        // made durable before it lost power, and restoring its leadership
        // without an election would drop them (tests/tests/power_loss.rs).
        enable_leader_restore: Some(controls::active(Control::LeaderRestore)),
        ..Default::default()
    };
    Ok(config.validate()?)
}

/// Starts a node: opens its storage, joins Raft, serves on `config.listen`.
pub async fn start(config: NodeConfig) -> anyhow::Result<NodeHandle> {
    let transport = match &config.security.tls {
        Some(tls) => {
            tls.check_peer_auth()?;
            Transport::tls(tls)?
        }
        None => Transport::plain(),
    };
    let verifiers = match &config.security.tls {
        Some(tls) => Verifiers::from_settings(tls)?,
        None => Verifiers::default(),
    };
    let peer_auth = PeerAuth {
        peer_cn: config
            .security
            .tls
            .as_ref()
            .filter(|t| t.peer_ca.is_some())
            .map(|t| t.peer_cn.clone()),
        verifiers: verifiers.clone(),
    };
    if config.security.auth.enabled() && !transport.is_tls() && config.peers.len() > 1 {
        tracing::warn!(
            "an access file without TLS: tokens cross the network in clear and the peer API is not authenticated"
        );
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    anyhow::ensure!(
        config.peers.contains_key(&config.id),
        "--peers must include this node's id {}",
        config.id
    );
    let (log, recovery) =
        LogStore::open(&config.data_dir.join("log"), LogOptions::for_server()?)
            .with_context(|| format!("cannot open the log in {}", config.data_dir.display()))?;
    if recovery.truncated_bytes > 0 {
        tracing::warn!(
            bytes = recovery.truncated_bytes,
            "cut a torn write off the log tail"
        );
    }
    let state = StateStore::open(&config.data_dir.join("state"))
        .with_context(|| format!("cannot open the snapshot in {}", config.data_dir.display()))?;
    let shared = state.shared();
    let applied = state.applied_notify();
    let raft_config = Arc::new(raft_config(&config.timing, config.snapshot_logs.max(1))?);
    let network = Network::new(transport.clone(), config.peer_routes.clone());
    let raft = Raft::new(config.id, raft_config, network, log.clone(), state).await?;
    let metrics = Arc::new(Metrics::default());

    if config.bootstrap && !raft.is_initialized().await? {
        let lowest = config.peers.keys().next().copied();
        if lowest == Some(config.id) {
            let members: BTreeMap<NodeId, BasicNode> = config
                .peers
                .iter()
                .map(|(id, addr)| (*id, BasicNode { addr: addr.clone() }))
                .collect();
            tracing::info!(?members, "initializing a new cluster");
            raft.initialize(members).await?;
        }
    }

    let (ready_tx, ready) = watch::channel(None);
    let (keepalives, keepalive_rx) = KeepAlives::new();
    let (stop, stop_rx) = watch::channel(false);
    let core = Arc::new(Core {
        stop: stop_rx.clone(),
        id: config.id,
        proposer: Proposer::start(raft.clone(), shared.clone(), metrics.clone()),
        raft,
        log,
        shared,
        applied,
        ready,
        keepalives,
        timing: config.timing,
        metrics,
        auth: config.security.auth.clone(),
        limits: config.security.limits,
        usage: Usage::default(),
        verifiers: verifiers.clone(),
        denials: Denials::default(),
    });

    let mut tasks = vec![
        tokio::spawn(leader::watch_leadership(
            core.clone(),
            ready_tx,
            stop_rx.clone(),
        )),
        tokio::spawn(leader::reap_sessions(core.clone(), stop_rx.clone())),
        tokio::spawn(leader::tick_timers(core.clone(), stop_rx.clone())),
        tokio::spawn(keepalive::run(core.clone(), keepalive_rx, stop_rx.clone())),
    ];
    tasks.push(tokio::spawn(core.auth.clone().watch(stop_rx.clone())));
    tasks.push(tokio::spawn(crate::watchdog::exit_on_raft_fatal(
        core.raft.clone(),
        stop_rx.clone(),
    )));
    if let Some(addr) = config.metrics_listen {
        tasks.push(tokio::spawn(crate::metrics::serve(
            core.clone(),
            addr,
            stop_rx.clone(),
        )));
    }
    let service = TenureServer::new(TenureService::new(core.clone()))
        .max_decoding_message_size(core.limits.max_request_bytes);
    let peer = PeerService::server(core.raft.clone(), peer_auth);
    // TCP_NODELAY on every accepted connection: without it, Nagle's algorithm
    // and delayed ACKs stall replies made of several small writes by ~40 ms.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let mut stop_server = stop_rx.clone();
    let router = transport.server()?.add_service(service).add_service(peer);
    tasks.push(tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop_server.wait_for(|s| *s).await;
        };
        if let Err(e) = router
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
        {
            // A node that no longer serves must not linger as a zombie.
            tracing::error!(error = %e, "gRPC server failed; exiting");
            std::process::exit(crate::watchdog::EXIT_RAFT_FATAL);
        }
    }));
    tracing::info!(id = config.id, listen = %config.listen, "node started");
    Ok(NodeHandle { core, stop, tasks })
}

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
