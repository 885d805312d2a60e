//! Prometheus metrics, served in the text format on an optional HTTP listener.

use openraft::async_runtime::watch::WatchReceiver;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use parking_lot::Mutex;

use crate::node::leadership::Leadership;
use crate::store::state::Shared;

/// The label of a per-principal metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PrincipalLabel {
    /// The principal's name.
    pub principal: String,
}

/// The label of a per-limit metric.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabel {
    /// The limit's flag name.
    pub limit: String,
}

/// Every metric of a node.
pub struct Metrics {
    registry: Registry,
    /// Keepalive requests answered.
    pub keepalives: Counter,
    /// Leadership checks run for keepalive batches.
    pub keepalive_rounds: Counter,
    /// Commands proposed.
    pub proposals: Counter,
    /// Log entries (batches) proposed.
    pub batches: Counter,
    /// Sessions this node proposed to expire.
    pub expirations: Counter,
    /// Leader changes seen.
    pub leader_changes: Counter,
    /// Seconds from proposing a batch to its commit and apply.
    pub commit_seconds: Histogram,
    /// Permission denials, by principal ("(unauthenticated)" for callers
    /// without valid credentials).
    pub denials: Family<PrincipalLabel, Counter>,
    /// Requests refused by a limit, by the limit's flag name.
    pub limit_refusals: Family<LimitLabel, Counter>,
    /// Leadership confirmations run for linearizable reads.
    pub read_barriers: Counter,
    sessions: Gauge,
    locks: Gauge,
    waiters: Gauge,
    term: Gauge,
    applied_index: Gauge,
    is_leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("tenure");
        let m = Metrics {
            keepalives: Counter::default(),
            keepalive_rounds: Counter::default(),
            proposals: Counter::default(),
            batches: Counter::default(),
            expirations: Counter::default(),
            leader_changes: Counter::default(),
            commit_seconds: Histogram::new(exponential_buckets(0.000_1, 2.0, 16)),
            denials: Family::default(),
            limit_refusals: Family::default(),
            read_barriers: Counter::default(),
            sessions: Gauge::default(),
            locks: Gauge::default(),
            waiters: Gauge::default(),
            term: Gauge::default(),
            applied_index: Gauge::default(),
            is_leader: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "keepalives",
            "Keepalive requests answered",
            m.keepalives.clone(),
        );
        registry.register(
            "keepalive_rounds",
            "Leadership checks for keepalive batches",
            m.keepalive_rounds.clone(),
        );
        registry.register("proposals", "Commands proposed", m.proposals.clone());
        registry.register(
            "batches",
            "Log entries proposed (group commit batches)",
            m.batches.clone(),
        );
        registry.register(
            "session_expirations",
            "Sessions expired by this leader",
            m.expirations.clone(),
        );
        registry.register(
            "leader_changes",
            "Leader changes seen",
            m.leader_changes.clone(),
        );
        registry.register(
            "commit_seconds",
            "Time from proposal to commit and apply",
            m.commit_seconds.clone(),
        );
        registry.register(
            "denials",
            "Permission denials by principal",
            m.denials.clone(),
        );
        registry.register(
            "limit_refusals",
            "Requests refused by a limit, by limit",
            m.limit_refusals.clone(),
        );
        registry.register(
            "read_barriers",
            "Leadership confirmations for linearizable reads",
            m.read_barriers.clone(),
        );
        registry.register("sessions", "Live sessions", m.sessions.clone());
        registry.register(
            "locks",
            "Locks with holders, waiters or a lock-delay",
            m.locks.clone(),
        );
        registry.register("waiters", "Queued acquires", m.waiters.clone());
        registry.register("term", "Current Raft term", m.term.clone());
        registry.register(
            "applied_index",
            "Last applied log index",
            m.applied_index.clone(),
        );
        registry.register(
            "is_leader",
            "1 if this node is the leader",
            m.is_leader.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// Renders every metric in the Prometheus text format, refreshing the gauges
    /// from the node's state first.
    pub fn render(&self, shared: &Mutex<Shared>, leadership: &Leadership) -> String {
        {
            let shared = shared.lock();
            let machine = &shared.machine;
            self.sessions.set(machine.sessions().len() as i64);
            self.locks.set(machine.locks().len() as i64);
            let waiters: usize = machine.locks().values().map(|l| l.waiters.len()).sum();
            self.waiters.set(waiters as i64);
        }
        let m = leadership.raft.metrics().borrow_watched().clone();
        self.term.set(m.current_term as i64);
        self.applied_index
            .set(m.last_applied.map_or(0, |l| l.index) as i64);
        self.is_leader
            .set(i64::from(m.current_leader == Some(leadership.id)));
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// What a scrape reads: the metrics, and the node's state for the gauges.
#[derive(Clone)]
pub struct Scrape {
    /// The registry and its metrics.
    pub metrics: Arc<Metrics>,
    /// The applied state (sessions, locks, waiters).
    pub shared: Arc<Mutex<Shared>>,
    /// Raft's term, applied index and leader.
    pub leadership: Leadership,
}

async fn scrape(State(scrape): State<Scrape>) -> String {
    scrape.metrics.render(&scrape.shared, &scrape.leadership)
}

/// Serves `/metrics` on `addr` until `stop`.
pub async fn serve(scrape_from: Scrape, addr: SocketAddr, mut stop: watch::Receiver<bool>) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(%addr, error = %e, "cannot listen for metrics");
            return;
        }
    };
    let app = axum::Router::new()
        .route("/metrics", get(scrape))
        .with_state(scrape_from);
    let shutdown = async move {
        let _ = stop.wait_for(|s| *s).await;
    };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "metrics server failed");
    }
}
