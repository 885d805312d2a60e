//! Where one uncontended operation's time goes: runs acquire+release pairs
//! against a 3-node cluster whose nodes record step timestamps
//! (`TENURE_STEP_TRACE`, server/src/steps.rs), then lines each operation's
//! steps up between the client's send and receive, on the one monotonic clock
//! of the machine, and reports the median time from each step to the next.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::cluster::{Cluster, TenureSetup};

/// The steps of one operation in the order they happen: (role, step). The
/// leader is the node that served the request; a follower step is the first
/// follower's.
const PATH: [(Role, &str); 13] = [
    (Role::Leader, "api.begin"),
    (Role::Leader, "propose"),
    (Role::Leader, "wal.append"),
    (Role::Leader, "ae.send"),
    (Role::Follower, "follower.begin"),
    (Role::Follower, "wal.append"),
    (Role::Follower, "wal.flushed"),
    (Role::Follower, "follower.end"),
    (Role::Leader, "ae.reply"),
    (Role::Leader, "wal.flushed"),
    (Role::Leader, "apply"),
    (Role::Leader, "proposer.outcome"),
    (Role::Leader, "api.end"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Leader,
    Follower,
}

/// One recorded step.
#[derive(Debug, Clone)]
struct Step {
    node: usize,
    name: String,
    at: u64,
}

/// How a breakdown run is set up.
pub struct Setup {
    /// The tenure binary.
    pub bin: PathBuf,
    /// Pairs to measure (after a warm-up).
    pub pairs: usize,
    /// Data directories on this (tmpfs) root instead of the disk: diagnosis
    /// only, since fsync then costs nothing.
    pub data_root: Option<PathBuf>,
    /// Worker threads of each node's runtime.
    pub worker_threads: Option<usize>,
}

/// The median time into each step, from the step before it.
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    /// Operations measured.
    pub operations: usize,
    /// (from, to, median µs, operations in which both steps were seen).
    pub steps: Vec<(String, String, f64, usize)>,
    /// Median client-observed time of one operation, µs.
    pub total_us: f64,
    /// Median round trip of a Status request (no Raft work), µs.
    pub status_rtt_us: f64,
    /// CPU time per operation, µs: each node (node order), then the client
    /// process (the sleeps between pairs included).
    pub cpu_us_per_op: Vec<f64>,
}

/// CPU time (user + system) of every thread of process `pid`, in ns, from
/// /proc/PID/task/*/schedstat (0 if unreadable).
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

fn nanos_now() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Runs the pairs and lines up the steps.
pub async fn run(setup: &Setup) -> anyhow::Result<Breakdown> {
    let dir = tempfile::Builder::new().prefix("bench-steps-").tempdir()?;
    let trace = |i: usize| dir.path().join(format!("steps-{i}.txt"));
    let threads = setup.worker_threads;
    let traces: Vec<PathBuf> = (0..3).map(trace).collect();
    let env_traces = traces.clone();
    let cluster_setup = TenureSetup {
        env: Box::new(move |i| {
            let mut env = vec![(
                "TENURE_STEP_TRACE".to_owned(),
                env_traces[i].display().to_string(),
            )];
            if let Some(n) = threads {
                env.push(("TENURE_WORKER_THREADS".into(), n.to_string()));
            }
            env
        }),
        data_root: setup.data_root.clone(),
    };
    let cluster = Cluster::tenure_with(&setup.bin, &cluster_setup)?;
    cluster.wait_ready().await?;
    let client = tenure::Client::connect(cluster.endpoints(), Default::default()).await?;
    for _ in 0..50 {
        client.try_lock("steps/warm").await?.release().await?;
    }
    let pids = cluster.pids();
    let cpu_before: Vec<u64> = pids.iter().map(|&p| cpu_ns(p)).collect();
    let client_before = cpu_ns(std::process::id());
    let mut windows = Vec::with_capacity(setup.pairs * 2);
    for _ in 0..setup.pairs {
        let t0 = nanos_now();
        let lock = client.try_lock("steps/x").await?;
        let t1 = nanos_now();
        lock.release().await?;
        let t2 = nanos_now();
        windows.push((t0, t1));
        windows.push((t1, t2));
        // Let background traffic (heartbeats) interleave as it would.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let ops = (setup.pairs * 2).max(1) as f64;
    let per_op = |after: u64, before: u64| after.saturating_sub(before) as f64 / ops / 1_000.0;
    let mut cpu_us: Vec<f64> = pids
        .iter()
        .zip(&cpu_before)
        .map(|(&p, &b)| per_op(cpu_ns(p), b))
        .collect();
    cpu_us.push(per_op(cpu_ns(std::process::id()), client_before));
    // What a request that does nothing costs: Status to one node, a round trip
    // through the client's and the server's gRPC stacks.
    let mut rtt = Vec::with_capacity(setup.pairs);
    let node = cluster.endpoints()[0].clone();
    for _ in 0..setup.pairs {
        let t0 = nanos_now();
        client.node_status(&node).await?;
        rtt.push((nanos_now() - t0) as f64 / 1_000.0);
    }
    rtt.sort_by(f64::total_cmp);
    client.close().await?;
    // The nodes flush their step buffers every 100 ms.
    tokio::time::sleep(Duration::from_millis(400)).await;
    drop(cluster);
    let steps = read_steps(&traces)?;
    let mut b = line_up(&windows, &steps);
    b.status_rtt_us = median(&rtt);
    b.cpu_us_per_op = cpu_us;
    Ok(b)
}

fn read_steps(files: &[PathBuf]) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    for (node, file) in files.iter().enumerate() {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            if let (Some(name), Some(_key), Some(at)) = (parts.next(), parts.next(), parts.next())
                && let Ok(at) = at.parse()
            {
                steps.push(Step {
                    node,
                    name: name.to_owned(),
                    at,
                });
            }
        }
    }
    steps.sort_by_key(|s| s.at);
    Ok(steps)
}

/// For each operation window, walks [`PATH`] and takes the first matching
/// step after the previous one found; a step not seen is skipped (its time
/// goes to the next).
fn line_up(windows: &[(u64, u64)], steps: &[Step]) -> Breakdown {
    let mut deltas: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    let mut totals = Vec::new();
    for &(start, end) in windows {
        let first = steps.partition_point(|s| s.at < start);
        let inside: Vec<&Step> = steps[first..].iter().take_while(|s| s.at <= end).collect();
        let Some(leader) = inside
            .iter()
            .find(|s| s.name == "api.begin")
            .map(|s| s.node)
        else {
            continue;
        };
        totals.push((end - start) as f64 / 1_000.0);
        let mut previous = ("client.send".to_owned(), start);
        let mut follower = None;
        for (role, name) in PATH {
            let found = inside.iter().find(|s| {
                s.at >= previous.1
                    && s.name == name
                    && match role {
                        Role::Leader => s.node == leader,
                        Role::Follower => s.node != leader && follower.is_none_or(|f| f == s.node),
                    }
            });
            if let Some(s) = found {
                if role == Role::Follower {
                    follower = Some(s.node);
                }
                let label = format!("{}.{name}", role_name(role));
                record(
                    &mut deltas,
                    &mut order,
                    &previous.0,
                    &label,
                    s.at - previous.1,
                );
                previous = (label, s.at);
            }
        }
        record(
            &mut deltas,
            &mut order,
            &previous.0,
            "client.recv",
            end - previous.1,
        );
    }
    totals.sort_by(f64::total_cmp);
    let steps = order
        .into_iter()
        .map(|key| {
            let mut values = deltas.remove(&key).unwrap_or_default();
            values.sort_by(f64::total_cmp);
            let n = values.len();
            (key.0, key.1, median(&values), n)
        })
        .collect();
    Breakdown {
        operations: totals.len(),
        steps,
        total_us: median(&totals),
        status_rtt_us: 0.0,
        cpu_us_per_op: Vec::new(),
    }
}

/// The median of sorted `values` (0 if empty).
fn median(values: &[f64]) -> f64 {
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Follower => "follower",
    }
}

fn record(
    deltas: &mut BTreeMap<(String, String), Vec<f64>>,
    order: &mut Vec<(String, String)>,
    from: &str,
    to: &str,
    nanos: u64,
) {
    let key = (from.to_owned(), to.to_owned());
    if !deltas.contains_key(&key) {
        order.push(key.clone());
    }
    deltas.entry(key).or_default().push(nanos as f64 / 1_000.0);
}

/// The breakdown as a Markdown table.
pub fn markdown(b: &Breakdown, title: &str) -> String {
    let mut out = format!(
        "{title}: {} operations, median {:.0} µs per operation (client send to client receive); a Status round trip (no Raft work) {:.0} µs.\n\n| from | to | median µs | seen in |\n|---|---|---|---|\n",
        b.operations, b.total_us, b.status_rtt_us
    );
    let cpu: Vec<String> = b.cpu_us_per_op.iter().map(|c| format!("{c:.0}")).collect();
    out = out.replacen(
        "\n\n",
        &format!(
            "\nCPU per operation, µs (node 1, node 2, node 3, client): {}.\n\n",
            cpu.join(", ")
        ),
        1,
    );
    for (from, to, us, n) in &b.steps {
        out.push_str(&format!("| {from} | {to} | {us:.0} | {n} |\n"));
    }
    out
}

/// Writes the table to `path` (appending) and prints it.
pub fn report(b: &Breakdown, title: &str, path: Option<&Path>) -> anyhow::Result<()> {
    let md = markdown(b, title);
    println!("{md}");
    if let Some(path) = path {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(f, "{md}")?;
    }
    Ok(())
}
