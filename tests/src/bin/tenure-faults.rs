//! `tenure-faults`: the fault-injection suite.
//!
//!     tenure-faults run --duration 1h --seed 7 --report docs/faults/report.md
//!     tenure-faults stress --clients 256 --duration 10m
//!     tenure-faults worker ...        (started by `run`)

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tenure_tests::faults::{self, ALL_FAULTS, Drift, RunConfig, worker};
use tenure_tests::stress;

#[derive(Parser)]
#[command(
    name = "tenure-faults",
    about = "Fault injection against a real tenure cluster"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the workload with the nemesis and check the history.
    Run {
        /// Total time (split into runs of at most --run-length each).
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Length of one run (each with its own cluster and seed).
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        run_length: Duration,
        /// First seed (run k uses seed + k).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Cluster size.
        #[arg(long, default_value_t = 3)]
        nodes: usize,
        /// Client processes.
        #[arg(long, default_value_t = 4)]
        workers: u32,
        /// Clients in each process (each with its own connections and session).
        #[arg(long, default_value_t = 1)]
        clients_per_worker: u32,
        /// Faults to inject (comma-separated; default all).
        #[arg(long, value_delimiter = ',')]
        faults: Vec<String>,
        /// Write a Markdown report here (and JSON next to it).
        #[arg(long)]
        report: Option<PathBuf>,
        /// Run every node and worker with this negative control (a deliberately
        /// broken build); the run must then report violations.
        #[arg(long)]
        negative_control: Option<String>,
        /// How clocks drift: off, random (workers and drift faults), or worst
        /// (every node fast, every worker slow, by half the client's bound each).
        #[arg(long, value_enum, default_value = "random")]
        drift: Drift,
        /// Every other run uses 8 processes of 8 clients (64 clients on their
        /// own connections) instead of --workers and --clients-per-worker.
        #[arg(long)]
        with_load: bool,
        /// After the runs, run every negative control (tests/src/faults/
        /// controls.rs) and report whether each was caught.
        #[arg(long)]
        controls: bool,
    },
    /// Many clients on their own connections against a fresh cluster (no
    /// faults): waiting, try and cancelled acquires, releases, session closes.
    Stress {
        /// How long the clients loop.
        #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Concurrent clients.
        #[arg(long, default_value_t = 256)]
        clients: usize,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// One workload process (started by `run`).
    #[command(hide = true)]
    Worker {
        #[arg(long)]
        id: u32,
        #[arg(long, default_value_t = 1)]
        clients: u32,
        #[arg(long)]
        endpoints: String,
        #[arg(long)]
        db: PathBuf,
        #[arg(long)]
        locks: u32,
        #[arg(long)]
        ttl_ms: u64,
        #[arg(long)]
        duration_ms: u64,
        #[arg(long)]
        seed: u64,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    match Cli::parse().cmd {
        Cmd::Worker {
            id,
            clients,
            endpoints,
            db,
            locks,
            ttl_ms,
            duration_ms,
            seed,
        } => {
            worker::run(worker::WorkerConfig {
                id,
                clients,
                endpoints: endpoints.split(',').map(str::to_owned).collect(),
                db,
                locks,
                ttl: Duration::from_millis(ttl_ms),
                duration: Duration::from_millis(duration_ms),
                seed,
            })
            .await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Stress {
            duration,
            clients,
            seed,
        } => {
            let cluster = tenure_tests::Cluster::start(3);
            cluster.wait_for_leader(Duration::from_secs(20)).await;
            let endpoints = cluster.endpoints();
            let cfg = stress::StressConfig {
                clients,
                duration,
                locks: 16,
                seed,
                ttl: Duration::from_secs(5),
            };
            let report = stress::run(&endpoints, &endpoints, &cfg).await;
            println!("{clients} clients for {duration:?}: {}", report.summary());
            let problems = report.problems();
            for p in &problems {
                println!("problem: {p}");
            }
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                println!("{}", cluster.logs());
                ExitCode::FAILURE
            })
        }
        Cmd::Run {
            duration,
            run_length,
            seed,
            nodes,
            workers,
            clients_per_worker,
            faults,
            report,
            negative_control,
            drift,
            with_load,
            controls,
        } => {
            let faults = if faults.is_empty() {
                ALL_FAULTS.iter().map(|s| s.to_string()).collect()
            } else {
                faults
            };
            let mut reports = Vec::new();
            let mut left = duration;
            let mut k = 0;
            while !left.is_zero() {
                let this = left.min(run_length);
                left -= this;
                let (workers, clients_per_worker) = if with_load && k % 2 == 1 {
                    (8, 8)
                } else {
                    (workers, clients_per_worker)
                };
                let cfg = RunConfig {
                    seed: seed + k,
                    duration: this,
                    nodes,
                    workers,
                    clients_per_worker,
                    locks: 3,
                    ttl: Duration::from_secs(2),
                    faults: faults.clone(),
                    worker_bin: std::env::current_exe()?,
                    negative_control: negative_control.clone(),
                    drift,
                };
                k += 1;
                let r = faults::run(cfg).await?;
                println!("{}", serde_json::to_string(&r)?);
                reports.push(r);
            }
            let mut md = faults::markdown(&reports);
            let mut outcomes = Vec::new();
            if controls {
                for case in &faults::controls::CASES {
                    let outcome = case.run(std::env::current_exe()?).await?;
                    println!("{}", serde_json::to_string(&outcome)?);
                    outcomes.push(outcome);
                }
                md.push('\n');
                md.push_str(&faults::controls::markdown(&outcomes));
            }
            println!("{md}");
            if let Some(path) = report {
                std::fs::write(&path, &md)?;
                std::fs::write(
                    path.with_extension("json"),
                    serde_json::to_string_pretty(&serde_json::json!({
                        "runs": reports,
                        "negative_controls": outcomes,
                    }))?,
                )?;
            }
            let violations: usize = reports.iter().map(|r| r.violations.len()).sum();
            let missed = outcomes.iter().filter(|o| !o.caught).count();
            Ok(if violations == 0 && missed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}
