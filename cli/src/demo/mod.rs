//! `tenure demo`: shows, on an embedded 3-node cluster, that the lock and its
//! fencing tokens keep a shared SQLite table consistent while things break.
//!
//! Worker processes contend for one lock and append fenced records. During the
//! run the demo kills the leader (and measures how long until a lock is granted
//! again), then SIGSTOPs a worker between its check and its write for longer
//! than its lease, as a GC pause would; when it resumes, its late write must be
//! rejected by the fencing check. It exits 0 only if every check held.

pub mod fenced;
pub mod worker;

use std::collections::BTreeMap;
use std::process::{ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tenure::{Client, ClientOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::dev::DevCluster;
use fenced::FencedStore;
use tenure_server::node::Timing;

const LOCK: &str = "demo/ledger";

/// Arguments of `tenure demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// First port of the embedded cluster.
    #[arg(long, default_value_t = 7100)]
    pub port: u16,
    /// Number of worker processes.
    #[arg(long, default_value_t = 4)]
    pub workers: usize,
    /// Session TTL of the workers.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub ttl: Duration,
}

struct Event {
    worker: usize,
    value: Value,
}

#[derive(Default, Debug)]
struct Tally {
    acquisitions: u64,
    accepted: u64,
    rejected_by_worker: BTreeMap<usize, u64>,
    lost_noticed: u64,
}

impl Tally {
    fn record(&mut self, e: &Event) {
        match e.value["event"].as_str() {
            Some("acquired") => self.acquisitions += 1,
            Some("write") if e.value["accepted"] == Value::Bool(true) => self.accepted += 1,
            Some("write") => *self.rejected_by_worker.entry(e.worker).or_default() += 1,
            Some("lost") => self.lost_noticed += 1,
            _ => {}
        }
    }

    fn rejected(&self) -> u64 {
        self.rejected_by_worker.values().sum()
    }
}

fn spawn_worker(
    i: usize,
    endpoints: &str,
    db: &std::path::Path,
    ttl: Duration,
    events: mpsc::UnboundedSender<Event>,
) -> anyhow::Result<tokio::process::Child> {
    let exe = std::env::current_exe()?;
    let mut child = tokio::process::Command::new(exe)
        .args([
            "demo-worker",
            "--endpoints",
            endpoints,
            "--lock",
            LOCK,
            "--name",
            &format!("w{i}"),
        ])
        .arg("--db")
        .arg(db)
        .args([
            "--ttl",
            &humantime::format_duration(ttl).to_string(),
            "--run-for",
            "16s",
        ])
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .context("cannot start a demo worker")?;
    let stdout = child.stdout.take().context("worker stdout")?;
    tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Ok(value) = serde_json::from_str(&line) {
                let _ = events.send(Event { worker: i, value });
            }
        }
    });
    Ok(child)
}

/// Drains events into the tally until `until`, returning the first event that
/// matches `want` (if any).
async fn collect_until(
    rx: &mut mpsc::UnboundedReceiver<Event>,
    tally: &mut Tally,
    until: Instant,
    want: impl Fn(&Event) -> bool,
) -> Option<Event> {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(e)) => {
                tally.record(&e);
                if want(&e) {
                    return Some(e);
                }
            }
            _ => return None,
        }
    }
}

fn check(ok: bool, what: &str, failures: &mut Vec<String>) -> &'static str {
    if !ok {
        failures.push(what.to_owned());
    }
    if ok { "ok" } else { "FAILED" }
}

/// Runs the demo.
pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let timing = Timing::default();
    println!(
        "tenure demo: starting an embedded 3-node cluster on 127.0.0.1:{}..{}",
        args.port,
        args.port + 2
    );
    let mut cluster =
        DevCluster::start(3, "127.0.0.1", args.port, timing, None, Default::default()).await?;
    let endpoints = cluster.endpoints().join(",");
    let dir = tempfile::Builder::new().prefix("tenure-demo-").tempdir()?;
    let db = dir.path().join("ledger.sqlite");
    FencedStore::open(&db)?;

    let probe = Client::connect(cluster.endpoints(), ClientOptions::default()).await?;
    println!(
        "cluster up (leader: node {}); starting {} workers on lock {LOCK:?}",
        cluster.leader().unwrap_or(0),
        args.workers
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut workers = Vec::new();
    for i in 0..args.workers {
        workers.push(spawn_worker(i, &endpoints, &db, args.ttl, tx.clone())?);
    }
    drop(tx);
    let mut tally = Tally::default();

    // 1. Let them work, then kill the leader.
    collect_until(
        &mut rx,
        &mut tally,
        Instant::now() + Duration::from_secs(3),
        |_| false,
    )
    .await;
    let leader = cluster.leader().context("no leader")?;
    println!("killing the leader, node {leader} ...");
    let killed_at = Instant::now();
    cluster.kill(leader).await;
    let probe_lock = probe.lock("demo/probe", Duration::from_secs(10)).await;
    let failover = killed_at.elapsed();
    let failover_ok = probe_lock.is_ok();
    if let Ok(l) = probe_lock {
        let _ = l.release().await;
    }
    println!(
        "a lock was granted again {} ms after the kill (new leader: node {})",
        failover.as_millis(),
        cluster.leader().unwrap_or(0)
    );
    collect_until(
        &mut rx,
        &mut tally,
        Instant::now() + Duration::from_secs(1),
        |_| false,
    )
    .await;
    cluster.restart(leader).await?;
    println!("node {leader} restarted from its data directory");

    // 2. Pause a holder between its check and its write, longer than its lease.
    let checked = collect_until(
        &mut rx,
        &mut tally,
        Instant::now() + Duration::from_secs(5),
        |e| e.value["event"] == "checked",
    )
    .await
    .context("no worker reached a write")?;
    let victim = checked.worker;
    let stale_token = checked.value["token"].as_u64().unwrap_or(0);
    let pid = workers[victim].id().context("victim pid")?;
    kill(Pid::from_raw(pid as i32), Signal::SIGSTOP)?;
    let pause = args.ttl + Duration::from_millis(1_500);
    println!(
        "paused worker w{victim} (token {stale_token}) right before its write, for {} ms ...",
        pause.as_millis()
    );
    collect_until(&mut rx, &mut tally, Instant::now() + pause, |_| false).await;
    kill(Pid::from_raw(pid as i32), Signal::SIGCONT)?;
    let late = collect_until(
        &mut rx,
        &mut tally,
        Instant::now() + Duration::from_secs(5),
        |e| e.worker == victim && e.value["event"] == "write",
    )
    .await;
    let stale_rejected = late
        .as_ref()
        .is_some_and(|e| e.value["accepted"] == Value::Bool(false));
    let noticed_loss = late
        .as_ref()
        .is_some_and(|e| e.value["held"] == Value::Bool(false));
    println!(
        "w{victim} resumed: its late write with token {stale_token} was {}; it {} that it lost the lock",
        if stale_rejected {
            "REJECTED by the fencing check"
        } else {
            "accepted (!)"
        },
        if noticed_loss {
            "knows"
        } else {
            "does not know"
        }
    );

    // 3. Let the workers finish and compare with the table.
    collect_until(
        &mut rx,
        &mut tally,
        Instant::now() + Duration::from_secs(20),
        |_| false,
    )
    .await;
    for w in &mut workers {
        let _ = w.wait().await;
    }
    let store = FencedStore::open(&db)?;
    let tokens = store.tokens(LOCK)?;
    let records_lost = tally.accepted.saturating_sub(tokens.len() as u64);
    let ordered = tokens.windows(2).all(|w| w[0] <= w[1]);
    let _ = probe.close().await;
    cluster.shutdown().await;

    let mut failures = Vec::new();
    println!();
    println!("summary");
    println!(
        "  acquisitions             {:>6}  {}",
        tally.acquisitions,
        check(tally.acquisitions >= 5, "acquisitions", &mut failures)
    );
    println!(
        "  leader failover          {:>4} ms  {}",
        failover.as_millis(),
        check(failover_ok, "failover", &mut failures)
    );
    println!("  records written          {:>6}", tokens.len());
    println!(
        "  stale writes rejected    {:>6}  {}",
        tally.rejected(),
        check(stale_rejected, "stale write rejected", &mut failures)
    );
    println!(
        "  paused holder saw loss   {:>6}  {}",
        noticed_loss,
        check(
            noticed_loss,
            "paused holder noticed the loss",
            &mut failures
        )
    );
    println!(
        "  records lost             {:>6}  {}",
        records_lost,
        check(
            records_lost == 0 && tally.accepted == tokens.len() as u64,
            "records lost",
            &mut failures
        )
    );
    println!(
        "  tokens in write order    {:>6}  {}",
        if ordered { "rising" } else { "BROKEN" },
        check(ordered, "token order", &mut failures)
    );
    if failures.is_empty() {
        println!("\nevery check held.");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\nFAILED: {}", failures.join(", "));
        Ok(ExitCode::FAILURE)
    }
}
