//! The `tenure` command: run a server node or a local dev cluster, and talk to a
//! cluster from the shell.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use tenure_cli::commands::{self, ClientCmd, ConnectArgs};
use tenure_cli::dev::DevCluster;
use tenure_cli::{demo, devcerts};
use tenure_server::node::{self, NodeConfig, Security, Timing};
use tenure_server::security::auth::{self, Authenticator};
use tenure_server::security::limits::Limits;
use tenure_server::security::tls::TlsSettings;
use tenure_server::transport::WebOrigins;
use tenure_server::{controls, watchdog};

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
    Demo(demo::DemoArgs),
    #[command(hide = true)]
    DemoWorker(demo::worker::WorkerArgs),
    /// Make bearer tokens for the access file.
    #[command(subcommand)]
    Auth(AuthCmd),
    /// Cut a damaged write-ahead log at its first bad frame so a node that
    /// refuses to start can start again. What is cut may include acknowledged
    /// entries and votes: on a cluster, prefer removing the member and adding
    /// it back with an empty data directory (docs/design.md, "Storage rules").
    Repair(RepairArgs),
    #[command(flatten)]
    Client(ClientCmd),
}

#[derive(Args)]
struct RepairArgs {
    /// The node's data directory (the one given to `tenure server --data-dir`).
    #[arg(long)]
    data_dir: PathBuf,
    /// Cut and move aside; without it, only report what would be cut.
    #[arg(long)]
    yes: bool,
}

#[derive(Subcommand)]
enum AuthCmd {
    /// Print a new random token and the token_sha256 line for the access file.
    NewToken,
    /// Print the token_sha256 of TOKEN.
    HashToken {
        /// The token.
        token: String,
    },
}

#[derive(Args, Clone)]
struct SecurityArgs {
    /// PEM certificate of this node (enables TLS on client and peer links).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA of client certificates (clients may then authenticate by certificate).
    #[arg(long, requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Refuse clients without a certificate signed by --tls-client-ca.
    #[arg(long, requires = "tls_client_ca")]
    require_client_cert: bool,
    /// CA of peer certificates: peers verify each other's certificates.
    #[arg(long, requires = "tls_cert")]
    peer_ca: Option<PathBuf>,
    /// Common name of peer certificates.
    #[arg(long, default_value = devcerts::DEFAULT_PEER_CN)]
    peer_cn: String,
    /// Name to verify in peers' server certificates (default: their host).
    #[arg(long)]
    peer_server_name: Option<String>,
    /// Access file: principals, their tokens or certificate names, and rules
    /// (reloaded on change and on SIGHUP). Without it every caller may do everything.
    #[arg(long)]
    auth_file: Option<PathBuf>,
    /// Serve the peer API to any caller although TLS is on and --peer-ca is not
    /// set (logged loudly at start). Without --peer-ca and without this flag, a
    /// node with TLS refuses to start: anyone could write into the Raft log.
    #[arg(long, requires = "tls_cert")]
    insecure_peers: bool,
    /// Serve gRPC-web on the client port to browser pages of this origin
    /// (scheme://host[:port], e.g. https://app.example.com; repeatable or
    /// comma-separated). `local` allows http(s)://localhost, 127.0.0.1 and
    /// [::1] on any port; `any` allows every origin (`*` is refused). Off by
    /// default; when on, the port also accepts HTTP/1.1.
    #[arg(long = "web-origin", value_name = "ORIGIN")]
    web_origins: Vec<String>,
    #[command(flatten)]
    limits: Limits,
}

impl SecurityArgs {
    fn security(&self, tls_override: Option<TlsSettings>) -> anyhow::Result<Security> {
        let tls = tls_override.or_else(|| {
            let (cert, key) = (self.tls_cert.clone()?, self.tls_key.clone()?);
            Some(TlsSettings {
                cert,
                key,
                client_ca: self.tls_client_ca.clone(),
                require_client_cert: self.require_client_cert,
                peer_ca: self.peer_ca.clone(),
                peer_cn: self.peer_cn.clone(),
                peer_server_name: self.peer_server_name.clone(),
                insecure_peers: self.insecure_peers,
            })
        });
        let auth = match &self.auth_file {
            Some(path) => Authenticator::from_file(path)?,
            None => Authenticator::open(),
        };
        let limits = self.limits;
        let web = WebOrigins::parse(&self.web_origins)?;
        Ok(Security {
            tls,
            auth,
            limits,
            web,
        })
    }
}

#[derive(Args, Clone, Copy)]
struct TimingArgs {
    /// Leader heartbeat interval.
    #[arg(long, default_value = "30ms", value_parser = humantime::parse_duration)]
    heartbeat: Duration,
    /// Lower end of the election timeout.
    #[arg(long, default_value = "90ms", value_parser = humantime::parse_duration)]
    election_timeout_min: Duration,
    /// Upper end of the election timeout.
    #[arg(long, default_value = "180ms", value_parser = humantime::parse_duration)]
    election_timeout_max: Duration,
    /// Exit (status 70) when the async runtime makes no progress for this long,
    /// so a supervisor restarts the node and clients move on to the others.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    stall_timeout: Duration,
    /// Worker threads of the node's async runtime (default: one per core).
    #[arg(long, env = "TENURE_WORKER_THREADS")]
    worker_threads: Option<usize>,
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
    /// Never initialize a new cluster from this node: when it rejoins with an
    /// empty data directory, or joins a running cluster (then --peers may name
    /// only itself, and an admin adds it with `tenure members add`).
    #[arg(long)]
    join: bool,
    /// Snapshot the state machine and compact the log every N entries.
    #[arg(long, default_value_t = node::DEFAULT_SNAPSHOT_LOGS)]
    snapshot_logs: u64,
    /// Dial peer ID at HOST:PORT instead of its address in --peers (for fault
    /// injection through proxies).
    #[arg(long = "peer-route", value_name = "ID=HOST:PORT", hide = true)]
    peer_routes: Vec<String>,
    #[command(flatten)]
    timing: TimingArgs,
    #[command(flatten)]
    security: SecurityArgs,
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
    /// Serve TLS with a throw-away CA and certificates (printed at start).
    #[arg(long)]
    tls: bool,
    /// Serve gRPC-web to browser pages on this machine: origins
    /// http(s)://localhost, 127.0.0.1 and [::1] on any port (add others with
    /// --web-origin).
    #[arg(long)]
    web: bool,
    #[command(flatten)]
    timing: TimingArgs,
    #[command(flatten)]
    security: SecurityArgs,
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
        snapshot_logs: args.snapshot_logs,
        security: args.security.security(None)?,
        peer_routes: args
            .peer_routes
            .iter()
            .map(|r| {
                let (id, addr) = r
                    .split_once('=')
                    .ok_or_else(|| anyhow::anyhow!("--peer-route {r:?} is not ID=HOST:PORT"))?;
                Ok((id.parse()?, addr.to_owned()))
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let handle = node::start(config).await?;
    wait_for_signal().await;
    tracing::info!("shutting down");
    handle.shutdown().await;
    Ok(())
}

async fn run_dev(args: DevArgs) -> anyhow::Result<()> {
    let certs_dir = tempfile::Builder::new()
        .prefix("tenure-dev-certs-")
        .tempdir()?;
    let certs = if args.tls {
        Some(devcerts::generate(certs_dir.path())?)
    } else {
        None
    };
    let tls = certs.as_ref().map(|c| TlsSettings {
        cert: c.node.cert.clone(),
        key: c.node.key.clone(),
        client_ca: Some(c.ca.cert.clone()),
        require_client_cert: false,
        peer_ca: Some(c.ca.cert.clone()),
        peer_cn: devcerts::DEFAULT_PEER_CN.into(),
        peer_server_name: None,
        insecure_peers: false,
    });
    let mut security = args.security.security(tls)?;
    if args.web {
        security
            .web
            .get_or_insert_with(WebOrigins::default)
            .merge(WebOrigins::local());
    }
    let timing = args.timing.into();
    let security_web = security.web.clone();
    let cluster =
        DevCluster::start(args.nodes, &args.host, args.port, timing, None, security).await?;
    let endpoints = cluster.endpoints().join(",");
    println!("tenure dev cluster of {} nodes is up.", args.nodes);
    println!("endpoints: {endpoints}");
    if let Some(c) = &certs {
        println!("TLS is on. Connect with:");
        println!("  export TENURE_ENDPOINTS={endpoints}");
        println!("  export TENURE_CA={}", c.ca.cert.display());
        println!("  # optional client certificate (common name dev-client):");
        println!(
            "  export TENURE_CERT={} TENURE_KEY={}",
            c.client.cert.display(),
            c.client.key.display()
        );
        println!("  tenure status");
    } else {
        println!("try:       TENURE_ENDPOINTS={endpoints} tenure status");
    }
    if let Some(origins) = &security_web {
        println!(
            "gRPC-web is on for browser pages of: {}",
            origins.describe()
        );
    }
    println!("Ctrl-C stops it and deletes its data.");
    wait_for_signal().await;
    cluster.shutdown().await;
    Ok(())
}

fn run_auth(cmd: AuthCmd) {
    let token = match cmd {
        AuthCmd::NewToken => {
            let bytes: [u8; 32] = rand::random();
            let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            println!("token:        {token}");
            token
        }
        AuthCmd::HashToken { token } => token,
    };
    println!("token_sha256 = \"{}\"", auth::hash_token(&token));
}

fn run_repair(args: RepairArgs) -> anyhow::Result<std::process::ExitCode> {
    let log_dir = args.data_dir.join("log");
    anyhow::ensure!(log_dir.is_dir(), "{} holds no log", log_dir.display());
    let report = tenure_server::store::wal::repair(&log_dir, !args.yes)?;
    if report.cut.is_empty() {
        println!("the log in {} has no damaged frame", log_dir.display());
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let verb = if args.yes { "cut" } else { "would cut" };
    for (path, kept, cut) in &report.cut {
        println!("{verb} {}: keep {kept} bytes, cut {cut}", path.display());
    }
    for path in &report.moved {
        println!("{verb} (move aside) the later segment {}", path.display());
    }
    if let Some(dir) = &report.saved_in {
        let saved = if args.yes {
            "saved in"
        } else {
            "would be saved in"
        };
        println!("the cut bytes and segments {saved} {}", dir.display());
    }
    if !args.yes {
        println!("nothing changed; run again with --yes to repair");
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_tracing(match cli.command {
        Cmd::Server(_) | Cmd::Dev(_) => "info,openraft=warn",
        _ => "error,openraft=error",
    });
    if let Err(e) = controls::check() {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    let worker_threads = match &cli.command {
        Cmd::Server(a) => a.timing.worker_threads,
        Cmd::Dev(a) => a.timing.worker_threads,
        _ => None,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = worker_threads {
        builder.worker_threads(n.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    watchdog::start_deadlock_detector();
    let stall_timeout = match &cli.command {
        Cmd::Server(a) => Some(a.timing.stall_timeout),
        Cmd::Dev(a) => Some(a.timing.stall_timeout),
        _ => None,
    };
    if let Some(limit) = stall_timeout {
        watchdog::exit_on_panic();
        watchdog::start_liveness(runtime.handle(), limit);
        watchdog::arm_wedge_control(runtime.handle());
    }
    let result = runtime.block_on(async {
        match cli.command {
            Cmd::Server(args) => run_server(args)
                .await
                .map(|_| std::process::ExitCode::SUCCESS),
            Cmd::Dev(args) => run_dev(args).await.map(|_| std::process::ExitCode::SUCCESS),
            Cmd::Demo(args) => demo::run(args).await,
            Cmd::DemoWorker(args) => demo::worker::run(args).await,
            Cmd::Client(cmd) => commands::run(cmd, cli.connect).await,
            Cmd::Repair(args) => run_repair(args),
            Cmd::Auth(cmd) => {
                run_auth(cmd);
                Ok(std::process::ExitCode::SUCCESS)
            }
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
