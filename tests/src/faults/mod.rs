//! The fault-injection suite: a workload of lock clients doing fenced writes
//! against a real cluster while a nemesis kills, pauses, partitions and skews
//! nodes and clients; the history is then checked against the guarantees.
//!
//! Every fault is drawn from a seeded generator, so a failing run replays with
//! the same `--seed`.

pub mod checker;
pub mod controls;
pub mod drift;
pub mod history;
pub mod link;
pub mod nemesis;
pub mod worker;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;
use tenure::{Client, ClientOptions};

use crate::Cluster;
use checker::{FinalState, Violation};
use history::{Event, mono_ns};
use link::Link;
pub use nemesis::Drift;
use nemesis::{Disks, Nemesis, Net};

/// Every kind of fault the nemesis knows.
pub const ALL_FAULTS: [&str; 11] = [
    "kill-leader",
    "kill-random",
    "kill-all",
    "pause-node",
    "pause-client",
    "partition-node",
    "partition-client",
    "torn-tail",
    "drift",
    "disk-fault",
    "power-loss",
];

/// How a run is set up.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Seed of every random choice.
    pub seed: u64,
    /// How long the workload and the nemesis run.
    pub duration: Duration,
    /// Cluster size (3 or 5).
    pub nodes: usize,
    /// Client processes.
    pub workers: u32,
    /// Clients in each process, each with its own connections and session.
    pub clients_per_worker: u32,
    /// Lock names they contend on.
    pub locks: u32,
    /// Session TTL of the workers.
    pub ttl: Duration,
    /// Fault kinds to draw from.
    pub faults: Vec<String>,
    /// The `tenure-faults` binary (it runs the workers).
    pub worker_bin: PathBuf,
    /// A negative control (`TENURE_NEGATIVE_CONTROL`) for every node and
    /// worker: the run must then report a violation.
    pub negative_control: Option<String>,
    /// How clocks drift (nodes and clients).
    pub drift: Drift,
}

/// What a run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Seed.
    pub seed: u64,
    /// Seconds of workload.
    pub duration_s: u64,
    /// Cluster size.
    pub nodes: usize,
    /// Client processes.
    pub workers: u32,
    /// Clients in all.
    pub clients: u32,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u32>,
    /// Operations checked, by kind.
    pub operations: BTreeMap<String, u64>,
    /// Time from each leader kill until a client's next acquire succeeded (ms).
    pub failover_ms: Vec<u64>,
    /// After the faults stopped: time until a fresh client got a lock (ms).
    pub recovery_ms: u64,
    /// Whether clock drift was injected (libfaketime present).
    pub drift: String,
    /// Whether the nodes' data directories were on lossyfs (power-loss faults).
    pub power_loss: String,
    /// Violations (target: none).
    pub violations: Vec<Violation>,
}

/// Runs one seeded fault run and checks its history.
pub async fn run(cfg: RunConfig) -> anyhow::Result<Report> {
    let dir = tempfile::Builder::new()
        .prefix("tenure-faults-")
        .tempdir()?;
    let n = cfg.nodes as u64;

    // Peer links first (their targets are set once the nodes have addresses).
    let mut peer = BTreeMap::new();
    for i in 1..=n {
        for j in (1..=n).filter(|&j| j != i) {
            peer.insert((i, j), Link::start(String::new()).await?);
        }
    }
    let routes: BTreeMap<u64, Vec<String>> = (1..=n)
        .map(|i| {
            let args = (1..=n)
                .filter(|&j| j != i)
                .flat_map(|j| {
                    [
                        "--peer-route".to_owned(),
                        format!("{j}={}", peer[&(i, j)].addr),
                    ]
                })
                .collect();
            (i, args)
        })
        .collect();
    let mut cluster = Cluster::build(cfg.nodes, &[], false, |id| routes[&id].clone());
    let control_env: Vec<(String, String)> = cfg
        .negative_control
        .iter()
        .map(|c| ("TENURE_NEGATIVE_CONTROL".to_owned(), c.clone()))
        .collect();
    cluster.set_base_env(control_env.clone());
    // Data directories on lossyfs, so a power loss drops what was not fsynced.
    let disks = Disks::mount(&cluster, dir.path());
    let mut nemesis = Nemesis::new(cfg.seed, cfg.ttl, cfg.drift, &mut cluster);
    cluster.restart_all();
    for ((_, j), link) in &peer {
        link.set_target(&cluster.node(*j).addr);
    }
    let mut client = BTreeMap::new();
    for w in 0..cfg.workers {
        for j in 1..=n {
            client.insert((w, j), Link::start(cluster.node(j).addr.clone()).await?);
        }
    }
    let net = Net {
        peer,
        client,
        disks,
    };
    cluster.wait_for_leader(Duration::from_secs(20)).await;

    let db = dir.path().join("store.sqlite");
    crate::fenced::FencedStore::open(&db)?;
    let mut workers = Vec::new();
    for w in 0..cfg.workers {
        let endpoints: Vec<String> = (1..=n).map(|j| net.client[&(w, j)].addr.clone()).collect();
        let out = File::create(dir.path().join(format!("worker-{w}.jsonl")))?;
        let child = tokio::process::Command::new(&cfg.worker_bin)
            .args([
                "worker",
                "--id",
                &w.to_string(),
                "--endpoints",
                &endpoints.join(","),
                "--clients",
                &cfg.clients_per_worker.to_string(),
            ])
            .arg("--db")
            .arg(&db)
            .args([
                "--locks",
                &cfg.locks.to_string(),
                "--ttl-ms",
                &cfg.ttl.as_millis().to_string(),
            ])
            .args([
                "--duration-ms",
                &cfg.duration.as_millis().to_string(),
                "--seed",
                &cfg.seed.to_string(),
            ])
            .env("RUST_LOG", "warn")
            .envs(control_env.iter().map(|(k, v)| (k, v)))
            .envs(drift::env(cfg.drift.worker_rate(w)))
            .stdout(out)
            .kill_on_drop(true)
            .spawn()?;
        workers.push(child);
    }

    let mut fault_events = Vec::new();
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let faults_end = Instant::now() + cfg.duration.saturating_sub(Duration::from_secs(3));
    while Instant::now() < faults_end {
        tokio::time::sleep(nemesis.gap()).await;
        if Instant::now() >= faults_end {
            break;
        }
        let kind = nemesis.pick(&cfg.faults).to_owned();
        if !nemesis.can_inject(&kind) {
            continue;
        }
        let start = mono_ns();
        let target = nemesis.inject(&kind, &mut cluster, &net, &workers).await;
        *counts.entry(kind.clone()).or_default() += 1;
        fault_events.push(Event::Fault {
            kind,
            target,
            start,
            end: mono_ns(),
        });
    }

    // Heal everything and let the workers finish.
    net.heal();
    for w in &workers {
        if let Some(pid) = w.id() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGCONT);
        }
    }
    for id in 1..=n {
        cluster.resume(id);
        if !cluster.node(id).is_running() {
            cluster.restart(id);
        }
    }
    let mut worker_failures = Vec::new();
    for (w, child) in workers.iter_mut().enumerate() {
        match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
            Ok(Ok(status)) if status.success() => {}
            Ok(Ok(status)) => worker_failures.push(format!("worker {w} exited with {status}")),
            Ok(Err(e)) => worker_failures.push(format!("worker {w}: {e}")),
            Err(_) => worker_failures.push(format!("worker {w} did not finish within 30 s")),
        }
    }

    // Liveness: a fresh client gets a lock within a bound.
    let healed = Instant::now();
    let probe = Client::connect_lazy(cluster.endpoints(), ClientOptions::default())?;
    let mut recovered = None;
    while healed.elapsed() < Duration::from_secs(20) {
        if let Ok(l) = probe.try_lock("fault/probe").await {
            recovered = Some(healed.elapsed());
            let _ = l.release().await;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = probe.close().await;

    let faults_log: String = fault_events
        .iter()
        .filter_map(|e| serde_json::to_string(e).ok())
        .map(|l| l + "\n")
        .collect();
    std::fs::write(dir.path().join("faults.jsonl"), faults_log)?;
    let mut events = fault_events;
    for w in 0..cfg.workers {
        events.extend(read_history(&dir.path().join(format!("worker-{w}.jsonl")))?);
    }
    let end = final_state(&cluster, &db).await?;
    let mut violations = checker::check(&events, &end, cfg.ttl.as_nanos() as u64);
    violations.extend(nemesis.violations);
    // A run that checked nothing, or whose workers failed, proves nothing.
    violations.extend(worker_failures.into_iter().map(|detail| Violation {
        check: "worker failed",
        detail,
    }));
    violations.extend(checker::check_activity(
        &events,
        cfg.workers as usize,
        cfg.clients_per_worker.max(1) as usize,
    ));
    match recovered {
        Some(d) if d <= Duration::from_secs(10) => {}
        other => violations.push(Violation {
            check: "liveness after faults",
            detail: format!("no lock granted within 10 s of healing ({other:?})"),
        }),
    }
    // TENURE_FAULTS_KEEP=1 keeps every run's history and node logs.
    if !violations.is_empty() || std::env::var_os("TENURE_FAULTS_KEEP").is_some() {
        eprintln!(
            "seed {}: {} violations; history kept in {}",
            cfg.seed,
            violations.len(),
            dir.path().display()
        );
        let _ = dir.keep();
    }
    Ok(Report {
        seed: cfg.seed,
        duration_s: cfg.duration.as_secs(),
        nodes: cfg.nodes,
        workers: cfg.workers,
        clients: cfg.workers * cfg.clients_per_worker.max(1),
        faults: counts,
        operations: operation_counts(&events),
        failover_ms: failovers(&events),
        recovery_ms: recovered.map_or(u64::MAX, |d| d.as_millis() as u64),
        power_loss: match &net.disks.0 {
            Ok(fs) => {
                let stats: Vec<_> = fs.iter().map(tenure_lossyfs::LossyFs::stats).collect();
                format!(
                    "lossyfs on every node: {} power losses, {} unsynced bytes dropped, {} fsyncs",
                    stats.iter().map(|s| s.power_losses).sum::<u64>(),
                    stats.iter().map(|s| s.bytes_dropped).sum::<u64>(),
                    stats.iter().map(|s| s.fsyncs).sum::<u64>()
                )
            }
            Err(why) => format!("skipped: {why}"),
        },
        drift: cfg.drift.describe(),
        violations,
    })
}

/// Reads one worker's history; a line that is not an event fails the run (a
/// history the checker cannot read is not a clean one).
fn read_history(path: &Path) -> anyhow::Result<Vec<Event>> {
    let file = File::open(path)?;
    let mut events = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line?;
        let event = serde_json::from_str(&line).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}: malformed history line ({e}): {line:?}",
                path.display(),
                i + 1
            )
        })?;
        events.push(event);
    }
    Ok(events)
}

/// The check that every node catches up once the faults are lifted.
pub const CATCH_UP_CHECK: &str = "every node catches up after the faults";

/// The leader's status once every node has applied what the leader had
/// committed (read from the leader: a follower may lag behind it); a node that
/// has not caught up within [`CATCH_UP`], or a cluster where no node answers
/// as leader within twice that, is a violation (reported with the status of
/// any node that answers).
async fn settled_status(
    cluster: &Cluster,
    admin: &Client,
) -> anyhow::Result<(tenure::ClusterStatus, Option<Violation>)> {
    let started = Instant::now();
    let mut target = None;
    loop {
        let mut statuses = Vec::new();
        for node in &cluster.nodes {
            if let Ok(s) = admin.node_status(&node.addr).await {
                statuses.push(s);
            }
        }
        let leader = statuses.iter().find(|s| s.role == "leader").cloned();
        if let Some(leader) = &leader {
            let goal = *target.get_or_insert(leader.commit_index);
            let behind: Vec<String> = statuses
                .iter()
                .filter(|s| s.applied_index < goal)
                .map(|s| format!("node {} applied {}", s.node_id, s.applied_index))
                .collect();
            let everyone = statuses.len() == cluster.nodes.len();
            if everyone && behind.is_empty() {
                return Ok((leader.clone(), None));
            }
            if started.elapsed() > CATCH_UP {
                let violation = Violation {
                    check: CATCH_UP_CHECK,
                    detail: format!(
                        "{} s after the faults, leader committed {goal}; {} answered; behind: {behind:?}",
                        CATCH_UP.as_secs(),
                        statuses.len()
                    ),
                };
                return Ok((leader.clone(), Some(violation)));
            }
        } else if started.elapsed() > CATCH_UP * 2 {
            let Some(any) = statuses.first().cloned() else {
                anyhow::bail!("no node answers at all after the faults");
            };
            let violation = Violation {
                check: CATCH_UP_CHECK,
                detail: format!(
                    "no node answers as leader {} s after the faults; {} answered",
                    (CATCH_UP * 2).as_secs(),
                    statuses.len()
                ),
            };
            return Ok((any, Some(violation)));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// How long every node may take to apply what the leader committed, once the
/// faults are lifted.
const CATCH_UP: Duration = Duration::from_secs(20);

async fn final_state(cluster: &Cluster, db: &Path) -> anyhow::Result<FinalState> {
    let admin = Client::connect_lazy(cluster.endpoints(), ClientOptions::default())?;
    let (status, lagging) = settled_status(cluster, &admin).await?;
    // Right after the faults a new leader may still be settling in: retry.
    let mut tries = 0;
    let locks = loop {
        let read = async { admin.list_locks("fault/").await };
        match read.await {
            Ok(state) => break state,
            Err(e) if tries < 40 => {
                tracing::debug!(error = %e, "final state not readable yet");
                tries += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            // A cluster that did not recover is already a violation: report
            // it with what the other checks can still judge.
            Err(e) if lagging.is_some() => {
                tracing::warn!(error = %e, "final locks unreadable after a failed recovery");
                break Vec::new();
            }
            Err(e) => return Err(e.into()),
        }
    };
    let store = crate::fenced::FencedStore::open(db)?;
    Ok(FinalState {
        lagging,
        next_token: status.next_token,
        locks_left: locks
            .into_iter()
            .map(|l| {
                let sessions = l
                    .holders
                    .iter()
                    .map(|h| h.session_id)
                    .chain(l.waiters.iter().map(|w| w.session_id))
                    .collect();
                (l.name, sessions)
            })
            .collect(),
        records: store.all_records()?,
    })
}

fn operation_counts(events: &[Event]) -> BTreeMap<String, u64> {
    let mut c: BTreeMap<String, u64> = BTreeMap::new();
    for e in events {
        let key = match e {
            Event::Acquire { ok: true, .. } => "acquire ok",
            Event::Acquire { ok: false, .. } => "acquire failed",
            Event::Write { accepted: true, .. } => "write accepted",
            Event::Write {
                accepted: false, ..
            } => "write rejected (stale)",
            Event::Release { .. } => "release",
            Event::Hold { lost: Some(_), .. } => "hold lost",
            Event::Hold { .. } => "hold",
            Event::SessionLost { .. } => "session lost",
            Event::Closed { error: None, .. } => "close",
            Event::Closed { error: Some(_), .. } => "close failed",
            Event::Observed { token: 0, .. } => "observed no leader",
            Event::Observed { .. } => "observed a leader",
            Event::Fault { .. } => continue,
        };
        *c.entry(key.into()).or_default() += 1;
    }
    c
}

/// For each leader kill: ms until a client's next successful acquire.
fn failovers(events: &[Event]) -> Vec<u64> {
    // Acquires invoked after the kill: (invoke, complete).
    let mut grants: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Acquire {
                ok: true,
                invoke,
                complete,
                ..
            } => Some((*invoke, *complete)),
            _ => None,
        })
        .collect();
    grants.sort_unstable();
    events
        .iter()
        .filter_map(|e| match e {
            Event::Fault { kind, start, .. } if kind == "kill-leader" => {
                let first = grants
                    .iter()
                    .filter(|(i, _)| i >= start)
                    .map(|(_, c)| *c)
                    .min()?;
                Some((first - start) / 1_000_000)
            }
            _ => None,
        })
        .collect()
}

/// A Markdown summary of reports.
pub fn markdown(reports: &[Report]) -> String {
    let mut out = String::from(
        "| seed | s | nodes | clients (processes) | faults injected | operations | violations | failover ms (median/max) | recovery ms |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in reports {
        let faults: u32 = r.faults.values().sum();
        let ops: u64 = r.operations.values().sum();
        let mut f = r.failover_ms.clone();
        f.sort_unstable();
        let med = f.get(f.len() / 2).copied().unwrap_or(0);
        let max = f.last().copied().unwrap_or(0);
        out.push_str(&format!(
            "| {} | {} | {} | {} ({}) | {} | {} | {} | {}/{} | {} |\n",
            r.seed,
            r.duration_s,
            r.nodes,
            r.clients,
            r.workers,
            faults,
            ops,
            r.violations.len(),
            med,
            max,
            r.recovery_ms
        ));
    }
    out.push_str("\n| fault kind | injected |\n|---|---|\n");
    for (kind, n) in totals(reports.iter().map(|r| &r.faults)) {
        out.push_str(&format!("| {kind} | {n} |\n"));
    }
    out.push_str("\n| operation checked | count |\n|---|---|\n");
    for (kind, n) in totals(reports.iter().map(|r| &r.operations)) {
        out.push_str(&format!("| {kind} | {n} |\n"));
    }
    let violations: Vec<String> = reports
        .iter()
        .flat_map(|r| {
            r.violations
                .iter()
                .map(|v| format!("- seed {}: {}: {}", r.seed, v.check, v.detail))
        })
        .collect();
    out.push_str(&format!("\nViolations: {}\n", violations.len()));
    for v in violations {
        out.push_str(&v);
        out.push('\n');
    }
    out
}

/// Sums per-kind counts over runs.
fn totals<'a, N>(maps: impl Iterator<Item = &'a BTreeMap<String, N>>) -> BTreeMap<String, u64>
where
    N: Copy + Into<u64> + 'a,
{
    let mut sum: BTreeMap<String, u64> = BTreeMap::new();
    for map in maps {
        for (k, n) in map {
            *sum.entry(k.clone()).or_default() += (*n).into();
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_malformed_history_line_fails_the_run() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("worker-0.jsonl");
        std::fs::write(&path, "{\"op\":\"release\"\n").expect("write");
        let err = super::read_history(&path).expect_err("must refuse");
        assert!(err.to_string().contains("malformed history line"), "{err}");
    }
}
