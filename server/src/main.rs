//! The `tenure` command: run a server node or a local dev cluster, and talk to a
//! cluster from the shell.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tenure_server::cli::{self, ClientCmd, ConnectArgs};
use tenure_server::dev::DevCluster;
use tenure_server::node::{self, NodeConfig, Timing};
use tenure_server::transport::Transport;

#[derive(Parser)]
#[command(
    name = "tenure",
    version,
    about = "tenure: a Raft-replicated lock service with fencing tokens"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    #[command(flatten)]
    connect: ConnectArgs,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run one server node.
    Server(ServerArgs),
    /// Run a local N-node cluster inside this process (throw-away data).
    Dev(DevArgs),
    /// The demo: workers contend for a lock over fenced SQLite writes while the
    /// leader is killed and a holder is paused past its lease.
    Demo(tenure_server::demo::DemoArgs),
    #[command(hide = true)]
    DemoWorker(tenure_server::demo::worker::WorkerArgs),
    #[command(flatten)]
    Client(ClientCmd),
}

#[derive(Args, Clone, Copy)]
struct TimingArgs {
    /// Leader heartbeat interval.
    #[arg(long, default_value = "40ms", value_parser = humantime::parse_duration)]
    heartbeat: Duration,
    /// Lower end of the election timeout.
    #[arg(long, default_value = "120ms", value_parser = humantime::parse_duration)]
    election_timeout_min: Duration,
    /// Upper end of the election timeout.
    #[arg(long, default_value = "240ms", value_parser = humantime::parse_duration)]
    election_timeout_max: Duration,
}

impl From<TimingArgs> for Timing {
    fn from(t: TimingArgs) -> Timing {
        Timing {
            heartbeat: t.heartbeat,
            election_min: t.election_timeout_min,
            election_max: t.election_timeout_max,
        }
    }
}

#[derive(Args)]
struct ServerArgs {
    /// This node's id (one of the ids in --peers).
    #[arg(long)]
    id: u64,
    /// Address to listen on for clients and peers.
    #[arg(long)]
    listen: SocketAddr,
    /// Every member: ID=HOST:PORT,... (this node included).
    #[arg(long)]
    peers: String,
    /// Directory for the log and snapshots.
    #[arg(long)]
    data_dir: PathBuf,
    /// Serve Prometheus metrics on this address (/metrics).
    #[arg(long)]
    metrics_listen: Option<SocketAddr>,
    /// Never initialize a new cluster from this node (use when it rejoins with
    /// an empty data directory).
    #[arg(long)]
    join: bool,
    #[command(flatten)]
    timing: TimingArgs,
}

#[derive(Args)]
struct DevArgs {
    /// Number of nodes (1, 3 or 5).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// First port; nodes use consecutive ports.
    #[arg(long, default_value_t = 7100)]
    port: u16,
    /// Host to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[command(flatten)]
    timing: TimingArgs,
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn run_server(args: ServerArgs) -> anyhow::Result<()> {
    let config = NodeConfig {
        id: args.id,
        listen: args.listen,
        peers: node::parse_peers(&args.peers)?,
        data_dir: args.data_dir,
        timing: args.timing.into(),
        metrics_listen: args.metrics_listen,
        bootstrap: !args.join,
    };
    let handle = node::start(config, Transport::default()).await?;
    wait_for_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn run_dev(args: DevArgs) -> anyhow::Result<()> {
    let cluster =
        DevCluster::start(args.nodes, &args.host, args.port, args.timing.into(), None).await?;
    let endpoints = cluster.endpoints().join(",");
    println!("tenure dev cluster of {} nodes is up.", args.nodes);
    println!("endpoints: {endpoints}");
    println!("try:       TENURE_ENDPOINTS={endpoints} tenure status");
    println!("Ctrl-C stops it and deletes its data.");
    wait_for_signal().await;
    cluster.shutdown().await;
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(match cli.command {
        Cmd::Server(_) | Cmd::Dev(_) => "info,openraft=off",
        _ => "error,openraft=off",
    });
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Cmd::Server(args) => run_server(args)
                .await
                .map(|_| std::process::ExitCode::SUCCESS),
            Cmd::Dev(args) => run_dev(args).await.map(|_| std::process::ExitCode::SUCCESS),
            Cmd::Demo(args) => tenure_server::demo::run(args).await,
            Cmd::DemoWorker(args) => tenure_server::demo::worker::run(args).await,
            Cmd::Client(cmd) => cli::run(cmd, cli.connect).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
