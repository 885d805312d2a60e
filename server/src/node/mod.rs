//! One tenure server node: storage, Raft, the gRPC listener (client and peer API
//! on one address) and what the node does at run time.
//!
//! - [`config`]: what a node is started with.
//! - [`leadership`]: whether this node may act as the leader.
//! - [`context`]: what the client API works with ([`NodeContext`]).
//! - [`proposer`]: group commit of commands into log entries.
//! - [`keepalive`]: batched keepalives, answered after a leadership check.
//! - [`leader`]: what only a leader does (deadline resets, expiry,
//!   checkpoints, timers).
//! - [`leases`]: session deadlines as the leader sees them.
//! - [`watches`]: recent lock changes, for watchers.
//!
//! [`start`] wires them together, in named steps.

pub mod config;
pub mod context;
pub mod keepalive;
pub mod leader;
pub mod leadership;
pub mod leases;
pub mod proposer;
pub mod watches;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use openraft::{BasicNode, Config, SnapshotPolicy};
use tenure_proto::v1::tenure_server::TenureServer;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use config::{DEFAULT_SNAPSHOT_LOGS, NodeConfig, Security, Timing, parse_peers};
pub use context::{Admission, NodeContext};
pub use leadership::Leadership;

use crate::api::service::TenureService;
use crate::controls::{self, Control};
use crate::metrics::Metrics;
use crate::raft::network::Network;
use crate::raft::peer::{PeerAuth, PeerService};
use crate::raft::{LeaderId, NodeId, Raft};
use crate::security::denials::Denials;
use crate::security::limits::Usage;
use crate::security::tls::Verifiers;
use crate::store::log::{LogOptions, LogStore};
use crate::store::state::StateStore;
use crate::transport::{NativeOnly, Transport, WebService};
use keepalive::{KeepAliveQueue, KeepAlives};
use proposer::Proposer;

/// How long a stopping node lets calls in flight finish.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(300);

/// A running node.
pub struct NodeHandle {
    context: Arc<NodeContext>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl NodeHandle {
    /// What the node's request handlers work with (its Raft, state, proposer).
    pub fn context(&self) -> &Arc<NodeContext> {
        &self.context
    }

    /// Stops serving (open streams end, calls in flight get a moment to finish)
    /// and shuts Raft down.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        // Raft first, so the node leaves the cluster at once (like a crash).
        let _ = self.context.leadership.raft.shutdown().await;
        for task in self.tasks {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

/// Starts a node: opens its storage, joins Raft, serves on `config.listen`.
pub async fn start(config: NodeConfig) -> anyhow::Result<NodeHandle> {
    let (transport, verifiers, peer_auth) = secure_links(&config)?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    anyhow::ensure!(
        config.peers.contains_key(&config.id),
        "--peers must include this node's id {}",
        config.id
    );
    let (log, state) = open_storage(&config)?;
    let (shared, applied) = (state.shared(), state.applied_notify());
    let raft = start_raft(&config, &transport, log.clone(), state).await?;
    let metrics = Arc::new(Metrics::default());
    let (ready_tx, ready) = watch::channel(None);
    let (stop, stop_rx) = watch::channel(false);
    let (keepalives, keepalive_queue) = KeepAlives::new();
    let context = Arc::new(NodeContext {
        leadership: Leadership {
            id: config.id,
            raft: raft.clone(),
            timing: config.timing,
            ready,
        },
        proposer: Proposer::start(raft, shared.clone(), metrics.clone()),
        log,
        shared,
        keepalives,
        metrics,
        stop: stop_rx.clone(),
        admission: Admission {
            auth: config.security.auth.clone(),
            limits: config.security.limits,
            usage: Usage::default(),
            verifiers,
            denials: Denials::default(),
        },
    });
    let mut tasks = spawn_tasks(
        &context,
        &config,
        applied,
        ready_tx,
        keepalive_queue,
        &stop_rx,
    );
    tasks.push(serve(
        listener,
        &transport,
        context.clone(),
        peer_auth,
        stop_rx,
    )?);
    tracing::info!(id = config.id, listen = %config.listen, "node started");
    Ok(NodeHandle {
        context,
        stop,
        tasks,
    })
}

/// Starts the node's run-time parts, each with only the pieces it uses: the
/// leader's tasks, the keepalive batcher, the access file's reloader, the exit
/// on a fatal Raft error, and the metrics listener if configured.
fn spawn_tasks(
    node: &NodeContext,
    config: &NodeConfig,
    applied: Arc<Notify>,
    ready: watch::Sender<Option<LeaderId>>,
    keepalive_queue: KeepAliveQueue,
    stop: &watch::Receiver<bool>,
) -> Vec<JoinHandle<()>> {
    let leadership = &node.leadership;
    let mut tasks = vec![
        tokio::spawn(leader::watch_leadership(
            leadership.clone(),
            node.shared.clone(),
            node.metrics.clone(),
            ready,
            stop.clone(),
        )),
        tokio::spawn(leader::reap_sessions(
            leadership.clone(),
            node.shared.clone(),
            node.proposer.clone(),
            node.metrics.clone(),
            stop.clone(),
        )),
        tokio::spawn(leader::tick_timers(
            leadership.clone(),
            node.shared.clone(),
            node.proposer.clone(),
            applied,
            stop.clone(),
        )),
        tokio::spawn(
            keepalive::Renewer {
                leadership: leadership.clone(),
                shared: node.shared.clone(),
                proposer: node.proposer.clone(),
                metrics: node.metrics.clone(),
            }
            .run(keepalive_queue, stop.clone()),
        ),
        tokio::spawn(config.security.auth.clone().watch(stop.clone())),
        tokio::spawn(crate::watchdog::exit_on_raft_fatal(
            leadership.raft.clone(),
            stop.clone(),
        )),
    ];
    if let Some(addr) = config.metrics_listen {
        let scrape = crate::metrics::Scrape {
            metrics: node.metrics.clone(),
            shared: node.shared.clone(),
            leadership: leadership.clone(),
        };
        tasks.push(tokio::spawn(crate::metrics::serve(
            scrape,
            addr,
            stop.clone(),
        )));
    }
    tasks
}

/// The transport of client and peer links (TLS or plain), the verifiers that
/// tell client from peer certificates, and the peer API's check of callers.
fn secure_links(config: &NodeConfig) -> anyhow::Result<(Transport, Verifiers, PeerAuth)> {
    let tls = config.security.tls.as_ref();
    let transport = match tls {
        Some(tls) => {
            tls.check_peer_auth()?;
            Transport::tls(tls)?
        }
        None => Transport::plain(),
    }
    .with_web(config.security.web.clone());
    let verifiers = match tls {
        Some(tls) => Verifiers::from_settings(tls)?,
        None => Verifiers::default(),
    };
    let peer_auth = PeerAuth {
        peer_cn: tls
            .filter(|t| t.peer_ca.is_some())
            .map(|t| t.peer_cn.clone()),
        verifiers: verifiers.clone(),
    };
    if config.security.auth.enabled() && !transport.is_tls() && config.peers.len() > 1 {
        tracing::warn!(
            "an access file without TLS: tokens cross the network in clear and the peer API is not authenticated"
        );
    }
    if let Some(origins) = transport.web() {
        tracing::info!(origins = %origins.describe(), "gRPC-web is on for these browser origins");
        if origins.any && !config.security.auth.enabled() {
            tracing::warn!(
                "gRPC-web for any origin without an access file: every web page a user opens may take and release locks"
            );
        }
    }
    Ok((transport, verifiers, peer_auth))
}

/// Opens the log (cutting a torn tail) and the snapshot of the state machine.
fn open_storage(config: &NodeConfig) -> anyhow::Result<(LogStore, StateStore)> {
    let (log, recovery) =
        LogStore::open(&config.data_dir.join("log"), LogOptions::for_server()?)
            .with_context(|| format!("cannot open the log in {}", config.data_dir.display()))?;
    if recovery.truncated_bytes > 0 {
        tracing::warn!(
            bytes = recovery.truncated_bytes,
            "cut a torn write off the log tail"
        );
    }
    let state_dir = config.data_dir.join("state");
    // The negative control hangs one node's applies once it restarted: node 3,
    // so that the other two keep a working majority.
    let hang = controls::active(Control::RestartedNodeStopsApplying)
        && config.id == 3
        && state_dir.exists();
    let mut state = StateStore::open(&state_dir)
        .with_context(|| format!("cannot open the snapshot in {}", config.data_dir.display()))?;
    if hang {
        state.hang_applies();
    }
    Ok((log, state))
}

/// Starts Raft on the storage, and initializes a pristine cluster if this
/// node is the one that may (`NodeConfig::bootstrap`, lowest id).
async fn start_raft(
    config: &NodeConfig,
    transport: &Transport,
    log: LogStore,
    state: StateStore,
) -> anyhow::Result<Raft> {
    let raft_config = Arc::new(raft_config(&config.timing, config.snapshot_logs.max(1))?);
    let network = Network::new(transport.clone(), config.peer_routes.clone());
    let raft = Raft::new(config.id, raft_config, network, log, state).await?;
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
    Ok(raft)
}

/// Serves the client and the peer API on `listener` until `stop`.
fn serve(
    listener: TcpListener,
    transport: &Transport,
    context: Arc<NodeContext>,
    peer_auth: PeerAuth,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let max_request_bytes = context.admission.limits.max_request_bytes;
    let peer = PeerService::server(context.leadership.raft.clone(), peer_auth);
    let service =
        TenureServer::new(TenureService::new(context)).max_decoding_message_size(max_request_bytes);
    // TCP_NODELAY on every accepted connection: without it, Nagle's algorithm
    // and delayed ACKs stall replies made of several small writes by ~40 ms.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    // gRPC-web (when on) for the client API only; the peer API stays gRPC
    // over HTTP/2.
    let router = match transport.web() {
        Some(origins) => transport
            .server()?
            .add_service(WebService::new(service, origins.clone())),
        None => transport.server()?.add_service(NativeOnly(service)),
    }
    .add_service(NativeOnly(peer));
    Ok(tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = router
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
        {
            // A node that no longer serves must not linger as a zombie.
            tracing::error!(error = %e, "gRPC server failed; exiting");
            std::process::exit(crate::watchdog::EXIT_RAFT_FATAL);
        }
    }))
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
