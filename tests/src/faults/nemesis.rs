//! The nemesis: injects one fault at a time into the cluster, the network,
//! the disks, the clocks or the client processes, and lifts it again.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tenure::{Client, ClientOptions};
use tenure_server::store::EXIT_STORAGE;
use tenure_server::store::faults::DiskFault;

use super::checker::Violation;
use super::drift;
use super::history::mono_ns;
use super::link::Link;
use crate::Cluster;

/// How clocks drift in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Drift {
    /// No process drifts; `drift` faults are skipped.
    Off,
    /// Worker processes run slow, fast or true in turn for the whole run, and
    /// each `drift` fault gives one node a new rate (slow, fast or true) that
    /// it keeps, across restarts, until the next.
    Random,
    /// The worst case within the bound for the whole run: every node fast,
    /// every worker slow (clients believe longest, servers expire earliest).
    /// `drift` faults are skipped.
    Worst,
}

impl Drift {
    /// The rate of worker process `w`.
    pub fn worker_rate(self, w: u32) -> f64 {
        match self {
            Drift::Off => 1.0,
            Drift::Random => [drift::slow(), drift::fast(), 1.0][w as usize % 3],
            Drift::Worst => drift::slow(),
        }
    }

    /// The rate every node starts with.
    fn node_rate(self) -> f64 {
        match self {
            Drift::Worst => drift::fast(),
            Drift::Off | Drift::Random => 1.0,
        }
    }

    /// How the report describes it.
    pub fn describe(self) -> String {
        if !drift::available() && self != Drift::Off {
            return "skipped: libfaketime not installed".into();
        }
        let pct = drift::max_skew() * 100.0;
        match self {
            Drift::Off => "off".into(),
            Drift::Random => format!(
                "libfaketime: workers -{pct}% / +{pct}% / 0 for the whole run; \
                 drift faults set a node to -{pct}%, +{pct}% or 0 until the next"
            ),
            Drift::Worst => {
                format!("libfaketime: every node +{pct}%, every worker -{pct}%, whole run")
            }
        }
    }
}

/// The network of a run: every peer and client route goes through a link.
pub struct Net {
    /// peer[(i, j)]: node i's link to node j.
    pub peer: BTreeMap<(u64, u64), Link>,
    /// client[(w, j)]: worker w's link to node j.
    pub client: BTreeMap<(u32, u64), Link>,
    /// The nodes' disks (power loss).
    pub disks: Disks,
}

impl Net {
    /// Heals every cut link.
    pub fn heal(&self) {
        for l in self.peer.values().chain(self.client.values()) {
            if l.is_cut() {
                l.set_cut(false);
            }
        }
    }
}

/// Each node's data directory on its own lossyfs mount (the backing
/// directories live in the run's directory), or why they could not be mounted.
pub struct Disks(pub Result<Vec<tenure_lossyfs::LossyFs>, String>);

impl Disks {
    /// Mounts one lossyfs per node over its data directory.
    pub fn mount(cluster: &Cluster, dir: &Path) -> Disks {
        let mounted = (1..=cluster.nodes.len() as u64)
            .map(|id| {
                tenure_lossyfs::LossyFs::mount(dir.join(format!("disk-{id}")), cluster.data_dir(id))
                    .map_err(|e| e.to_string())
            })
            .collect();
        Disks(mounted)
    }
}

/// The fault injector's state.
pub struct Nemesis {
    rng: StdRng,
    ttl: Duration,
    drift: Drift,
    /// Each node's clock rate (kept across its restarts).
    node_rates: BTreeMap<u64, f64>,
    /// Violations seen while injecting (a node that did not fail-stop).
    pub violations: Vec<Violation>,
}

impl Nemesis {
    /// A nemesis for `cluster`; sets each node's starting clock rate.
    pub fn new(seed: u64, ttl: Duration, drift: Drift, cluster: &mut Cluster) -> Nemesis {
        let mut nemesis = Nemesis {
            rng: StdRng::seed_from_u64(seed.rotate_left(17)),
            ttl,
            drift,
            node_rates: BTreeMap::new(),
            violations: Vec::new(),
        };
        for id in 1..=cluster.nodes.len() as u64 {
            nemesis.node_rates.insert(id, drift.node_rate());
            nemesis.set_node_env(cluster, id, Vec::new());
        }
        nemesis
    }

    /// Whether `kind` can be injected in this run.
    pub fn can_inject(&self, kind: &str) -> bool {
        kind != "drift" || (self.drift == Drift::Random && drift::available())
    }

    /// A pause before the next fault.
    pub fn gap(&mut self) -> Duration {
        Duration::from_millis(self.rng.random_range(300..1_500))
    }

    /// Picks one of `kinds`.
    pub fn pick<'k>(&mut self, kinds: &'k [String]) -> &'k str {
        &kinds[self.rng.random_range(0..kinds.len())]
    }

    /// Node `id`'s environment from its next start: its clock rate, then `extra`.
    fn set_node_env(&self, cluster: &mut Cluster, id: u64, extra: Vec<(String, String)>) {
        let rate = self.node_rates.get(&id).copied().unwrap_or(1.0);
        let mut env = drift::env(rate);
        env.extend(extra);
        cluster.set_env(id, env);
    }

    /// Injects one fault and lifts it; returns its target's name.
    pub async fn inject(
        &mut self,
        kind: &str,
        cluster: &mut Cluster,
        net: &Net,
        workers: &[tokio::process::Child],
    ) -> String {
        let n = cluster.nodes.len() as u64;
        let node = self.rng.random_range(1..=n);
        let worker = self.rng.random_range(0..workers.len()) as u32;
        let short = Duration::from_millis(self.rng.random_range(500..2_500));
        let past_ttl = self.ttl + Duration::from_millis(self.rng.random_range(500..1_500));
        // Long enough for a new leader to be elected and to expire the
        // sessions the cut-off side may still renew.
        let long = self.ttl + Duration::from_millis(self.rng.random_range(1_000..3_000));
        match kind {
            "kill-leader" | "kill-random" => {
                let id = if kind == "kill-leader" {
                    current_leader(cluster).await.unwrap_or(node)
                } else {
                    node
                };
                cluster.kill(id);
                tokio::time::sleep(short).await;
                cluster.restart(id);
                format!("node-{id}")
            }
            "kill-all" => {
                cluster.kill_all();
                tokio::time::sleep(short).await;
                cluster.restart_all();
                "cluster".into()
            }
            "pause-node" => {
                let id = if self.rng.random_bool(0.5) {
                    current_leader(cluster).await.unwrap_or(node)
                } else {
                    node
                };
                cluster.pause(id);
                tokio::time::sleep(short).await;
                cluster.resume(id);
                format!("node-{id}")
            }
            "pause-client" => {
                if let Some(pid) = workers[worker as usize].id() {
                    let pid = Pid::from_raw(pid as i32);
                    let _ = kill(pid, Signal::SIGSTOP);
                    tokio::time::sleep(past_ttl).await;
                    let _ = kill(pid, Signal::SIGCONT);
                }
                format!("worker-{worker}")
            }
            "partition-node" => {
                // Half the time the leader, for long: its clients can still
                // reach it while the others elect a new one.
                let (id, how_long) = if self.rng.random_bool(0.5) {
                    (current_leader(cluster).await.unwrap_or(node), long)
                } else {
                    (node, short)
                };
                let links: Vec<&Link> = net
                    .peer
                    .iter()
                    .filter(|((i, j), _)| *i == id || *j == id)
                    .map(|(_, l)| l)
                    .collect();
                links.iter().for_each(|l| l.set_cut(true));
                tokio::time::sleep(how_long).await;
                links.iter().for_each(|l| l.set_cut(false));
                format!("node-{id} for {} ms", how_long.as_millis())
            }
            "partition-client" => {
                let links: Vec<&Link> = net
                    .client
                    .iter()
                    .filter(|((w, _), _)| *w == worker)
                    .map(|(_, l)| l)
                    .collect();
                links.iter().for_each(|l| l.set_cut(true));
                tokio::time::sleep(past_ttl).await;
                links.iter().for_each(|l| l.set_cut(false));
                format!("worker-{worker}")
            }
            "torn-tail" => {
                cluster.kill(node);
                tear_log_tail(&cluster.data_dir(node).join("log"), &mut self.rng);
                cluster.restart(node);
                tokio::time::sleep(short).await;
                format!("node-{node}")
            }
            "drift" => {
                let rate = [drift::slow(), drift::fast(), 1.0][self.rng.random_range(0..3)];
                self.node_rates.insert(node, rate);
                cluster.kill(node);
                self.set_node_env(cluster, node, Vec::new());
                cluster.restart(node);
                tokio::time::sleep(short).await;
                format!("node-{node} x{rate}")
            }
            "power-loss" => self.power_loss(cluster, net, node, short).await,
            "disk-fault" => {
                let kinds: Vec<DiskFault> = DiskFault::ALL
                    .into_iter()
                    .filter(|k| k.stops_the_node())
                    .collect();
                let spec = kinds[self.rng.random_range(0..kinds.len())].name();
                if let Some(v) = self.disk_fault(cluster, node, spec, short).await {
                    self.violations.push(v);
                }
                format!("node-{node} {spec}")
            }
            other => format!("unknown fault {other}"),
        }
    }

    /// Kills one node or all, drops their unsynced writes, restarts them.
    async fn power_loss(
        &mut self,
        cluster: &mut Cluster,
        net: &Net,
        node: u64,
        down: Duration,
    ) -> String {
        let fs = match &net.disks.0 {
            Ok(fs) => fs,
            Err(why) => return format!("skipped: {why}"),
        };
        let n = cluster.nodes.len() as u64;
        // Kill first, then drop the unsynced writes: a node still running
        // could otherwise write and fsync past the cut.
        let ids: Vec<u64> = if self.rng.random_bool(0.5) {
            (1..=n).collect()
        } else {
            vec![node]
        };
        let mut dropped = 0;
        for &id in &ids {
            cluster.kill(id);
            dropped += fs[(id - 1) as usize].power_loss();
        }
        tokio::time::sleep(down).await;
        for &id in &ids {
            cluster.restart(id);
        }
        format!("nodes {ids:?} ({dropped} unsynced bytes dropped)")
    }

    /// Restarts `node` with `spec` armed, fires it after `after`, and checks
    /// that the node stops with [`EXIT_STORAGE`] (fail-stop); then restarts it
    /// healthy.
    async fn disk_fault(
        &self,
        cluster: &mut Cluster,
        node: u64,
        spec: &str,
        after: Duration,
    ) -> Option<Violation> {
        let trigger = cluster
            .dir()
            .join(format!("disk-fault-{node}-{}", mono_ns()));
        cluster.kill(node);
        let armed = format!("{spec}@file:{}", trigger.display());
        self.set_node_env(cluster, node, vec![("TENURE_DISK_FAULT".into(), armed)]);
        cluster.restart(node);
        tokio::time::sleep(after).await;
        let _ = std::fs::write(&trigger, b"");
        let stopped = crate::eventually(Duration::from_secs(10), || {
            let status = cluster.exited(node);
            async move { status }
        })
        .await;
        self.set_node_env(cluster, node, Vec::new());
        cluster.restart(node);
        match stopped {
            Some(status) if status.code() == Some(EXIT_STORAGE) => None,
            other => Some(Violation {
                check: "fail-stop on a disk fault",
                detail: format!(
                    "node {node} after an injected {spec}: {other:?} (expected exit {EXIT_STORAGE})"
                ),
            }),
        }
    }
}

/// Appends a partial, never-synced frame to the newest log segment: what a crash
/// in the middle of a write leaves behind.
fn tear_log_tail(log_dir: &Path, rng: &mut StdRng) {
    let Ok(entries) = std::fs::read_dir(log_dir) else {
        return;
    };
    let newest = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .max();
    if let Some(path) = newest
        && let Ok(mut f) = std::fs::OpenOptions::new().append(true).open(&path)
    {
        use std::io::Write;
        let len: u32 = rng.random_range(64..4_096);
        // The start of a format-1 frame (magic, length, checksum) cut short.
        let mut torn = tenure_server::store::wal::FRAME_MAGIC
            .to_le_bytes()
            .to_vec();
        torn.extend_from_slice(&len.to_le_bytes());
        torn.extend_from_slice(&rng.random::<u32>().to_le_bytes());
        torn.extend((0..rng.random_range(0..len / 2)).map(|_| rng.random::<u8>()));
        let _ = f.write_all(&torn);
    }
}

/// The node that answers as leader now, if any.
async fn current_leader(cluster: &Cluster) -> Option<u64> {
    let probe = Client::connect_lazy(cluster.endpoints(), ClientOptions::default()).ok()?;
    for node in cluster.nodes.iter().filter(|n| n.is_running()) {
        if let Ok(s) = probe.node_status(&node.addr).await
            && s.role == "leader"
        {
            return Some(node.id);
        }
    }
    None
}
