//! `tenure-bench`: tenure and etcd side by side, on loopback, in one run.
//!
//!     tenure-bench run --out docs/benchmarks          # everything, both systems
//!     tenure-bench run --smoke --systems tenure       # CI: a few seconds each

mod bindings;
mod breakdown;
mod cluster;
mod report;
mod scenarios;
mod stats;
mod systems;

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};

use cluster::Cluster;
use report::{Results, SystemResults};
use systems::{Session, System};

#[derive(Parser)]
#[command(name = "tenure-bench", about = "Benchmarks of tenure against etcd")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Options of `tenure-bench run`.
#[derive(clap::Args)]
struct RunArgs {
    /// A few seconds per scenario, to check that the harness works.
    #[arg(long)]
    smoke: bool,
    /// Systems to measure.
    #[arg(long, value_delimiter = ',', default_value = "tenure,etcd")]
    systems: Vec<String>,
    /// Output directory.
    #[arg(long, default_value = "docs/benchmarks")]
    out: PathBuf,
    /// The tenure binary (default: target/release/tenure, else target/debug/tenure).
    #[arg(long)]
    tenure_bin: Option<PathBuf>,
    /// Session counts for the capacity scenario.
    #[arg(long, value_delimiter = ',', default_value = "10000,50000,100000")]
    capacity: Vec<usize>,
    /// Bindings for scenario 7 (python,node,kotlin); each must be built
    /// (its test.sh, or `make bench`, builds it).
    #[arg(long, value_delimiter = ',')]
    bindings: Vec<String>,
    /// Run only scenario 7 (tenure only).
    #[arg(long, requires = "bindings")]
    only_bindings: bool,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the scenarios and write results.json, report.md and charts.
    Run(RunArgs),
    /// Where an uncontended operation's time goes: step timestamps from every
    /// node, lined up per operation (docs/benchmarks/profiling.md).
    Breakdown {
        /// The tenure binary (default: target/release/tenure, else debug).
        #[arg(long)]
        tenure_bin: Option<PathBuf>,
        /// Pairs to measure.
        #[arg(long, default_value_t = 500)]
        pairs: usize,
        /// Put the data directories under this root (e.g. /dev/shm: no fsync
        /// cost, diagnosis only).
        #[arg(long)]
        data_root: Option<PathBuf>,
        /// Worker threads of each node's runtime.
        #[arg(long)]
        worker_threads: Option<usize>,
        /// Append the table to this file.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Title of the table.
        #[arg(long, default_value = "Breakdown")]
        title: String,
    },
    /// Hold a lock until killed (scenario 4's holder process).
    #[command(hide = true)]
    Holder {
        #[arg(long)]
        system: String,
        #[arg(long)]
        endpoints: String,
        #[arg(long)]
        lock: String,
        #[arg(long)]
        ttl_ms: u64,
    },
}

fn system(name: &str) -> anyhow::Result<System> {
    match name {
        "tenure" => Ok(System::Tenure),
        "etcd" => Ok(System::Etcd),
        other => anyhow::bail!("unknown system {other}"),
    }
}

fn tenure_bin(given: Option<PathBuf>) -> (PathBuf, String) {
    if let Some(p) = given {
        return (p, "given".into());
    }
    let release = PathBuf::from("target/release/tenure");
    if release.exists() {
        (release, "release".into())
    } else {
        (PathBuf::from("target/debug/tenure"), "debug".into())
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} cores ({model})")
}

struct Plan {
    pairs: usize,
    /// Rounds of scenario 7 (binding runs interleaved with Rust native ones).
    binding_rounds: usize,
    throughput: Duration,
    contention: Duration,
    failover: Duration,
    capacity: Duration,
}

async fn measure(
    sys: System,
    plan: &Plan,
    bin: &std::path::Path,
    self_bin: &std::path::Path,
) -> anyhow::Result<SystemResults> {
    let mut r = SystemResults {
        system: sys.name().into(),
        ..Default::default()
    };
    let mut cluster = match sys {
        System::Tenure => Cluster::tenure(bin)?,
        System::Etcd => Cluster::etcd()?,
    };
    cluster.wait_ready().await?;
    eprintln!("[{}] 1. uncontended", sys.name());
    r.uncontended = Some(scenarios::uncontended(sys, &cluster, plan.pairs).await?);
    if std::env::var_os("TENURE_BENCH_ONLY_LATENCY").is_some() {
        return Ok(r);
    }
    for clients in [64, 256] {
        eprintln!("[{}] 2. throughput, {clients} clients", sys.name());
        r.throughput
            .push(scenarios::throughput(sys, &cluster, clients, plan.throughput).await?);
    }
    eprintln!("[{}] 3. contention", sys.name());
    r.contention = Some(scenarios::contention(sys, &cluster, 16, plan.contention).await?);
    eprintln!("[{}] 4. crash handover", sys.name());
    r.crash_handover = Some(scenarios::crash_handover(sys, &cluster, self_bin).await?);
    eprintln!("[{}] 5. leader failover", sys.name());
    r.failover = Some(scenarios::failover(sys, &mut cluster, 8, plan.failover).await?);
    Ok(r)
}

async fn run(args: RunArgs) -> anyhow::Result<()> {
    let (bin, profile) = tenure_bin(args.tenure_bin);
    let self_bin = std::env::current_exe()?;
    let bindings = args
        .bindings
        .iter()
        .map(|b| bindings::Binding::parse(b))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let plan = if args.smoke {
        Plan {
            pairs: 100,
            binding_rounds: 1,
            throughput: Duration::from_secs(2),
            contention: Duration::from_secs(2),
            failover: Duration::from_secs(3),
            capacity: Duration::from_secs(4),
        }
    } else {
        Plan {
            pairs: 2_000,
            binding_rounds: 3,
            throughput: Duration::from_secs(10),
            contention: Duration::from_secs(10),
            failover: Duration::from_secs(9),
            capacity: Duration::from_secs(30),
        }
    };
    let mut results = Results {
        at_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        smoke: args.smoke,
        profile,
        machine: machine(),
        systems: Vec::new(),
    };
    let systems = if args.only_bindings {
        vec!["tenure".to_owned()]
    } else {
        args.systems
    };
    for name in &systems {
        let sys = system(name)?;
        let mut r = if args.only_bindings {
            SystemResults {
                system: sys.name().into(),
                ..Default::default()
            }
        } else {
            measure(sys, &plan, &bin, &self_bin).await?
        };
        if sys == System::Tenure && !args.only_bindings {
            let sizes = if args.smoke {
                vec![1_000]
            } else {
                args.capacity.clone()
            };
            for n in sizes {
                eprintln!("[tenure] 6. capacity, {n} sessions");
                let cluster = Cluster::tenure(&bin)?;
                cluster.wait_ready().await?;
                r.capacity
                    .push(scenarios::capacity(&cluster, n, plan.capacity).await?);
            }
        }
        results.systems.push(r);
    }
    // Last: the bindings' runtimes (a JVM, Maven's Kotlin compile daemon) may
    // linger after they exit, and must not share the machine with the others.
    if let Some(r) = results.systems.iter_mut().find(|r| r.system == "tenure")
        && !bindings.is_empty()
    {
        let cluster = Cluster::tenure(&bin)?;
        cluster.wait_ready().await?;
        r.bindings =
            bindings::overhead(&cluster, &bindings, plan.pairs, plan.binding_rounds).await?;
    }
    let out = args.out;
    std::fs::create_dir_all(&out)?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    let md = report::markdown(&results);
    std::fs::write(out.join("report.md"), &md)?;
    if let Err(e) = report::charts(&results, &out) {
        eprintln!("charts not drawn: {e}");
    }
    println!("{md}");
    Ok(())
}

async fn hold(system_name: &str, endpoints: &str, lock: &str, ttl_ms: u64) -> anyhow::Result<()> {
    let sys = system(system_name)?;
    let endpoints: Vec<String> = endpoints.split(',').map(str::to_owned).collect();
    let s = Session::open(sys, &endpoints, Duration::from_millis(ttl_ms)).await?;
    let held = s.lock(lock, true).await?;
    let owner = match &held {
        systems::Held::Tenure(l) => l.owner_id(),
        systems::Held::Etcd { .. } => "-".into(),
    };
    println!("held {} {owner}", held.token());
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_default_env() {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    match Cli::parse().cmd {
        Cmd::Run(args) => run(args).await,
        Cmd::Breakdown {
            tenure_bin: bin,
            pairs,
            data_root,
            worker_threads,
            out,
            title,
        } => {
            let setup = breakdown::Setup {
                bin: tenure_bin(bin).0,
                pairs,
                data_root,
                worker_threads,
            };
            let b = breakdown::run(&setup).await?;
            breakdown::report(&b, &title, out.as_deref())
        }
        Cmd::Holder {
            system,
            endpoints,
            lock,
            ttl_ms,
        } => hold(&system, &endpoints, &lock, ttl_ms).await,
    }
}
