//! A test kit that runs real `tenure server` processes on loopback: start a
//! cluster, find its leader, kill -9, SIGSTOP/SIGCONT and restart nodes.
//!
//! The `tenure` binary is taken from `$TENURE_BIN`, else from the workspace's
//! `target/debug` (build it first: `cargo build --workspace`).

pub use tenure_cli::demo::fenced;
pub mod faults;
pub mod holder;
pub mod proxy;
pub mod secure;
pub mod stress;

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tenure_server::store::log::SEGMENT_BYTES_ENV;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tenure::{Client, ClientOptions};

/// Path of the `tenure` binary under test.
pub fn tenure_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("TENURE_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("debug/tenure");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --workspace` first or set TENURE_BIN",
        bin.display()
    );
    bin
}

/// A free loopback port for a test server, below the kernel's ephemeral range.
///
/// A port the kernel hands out for `bind(0)` comes from the ephemeral range,
/// which outgoing connections draw their local ports from too: between the
/// probe and the server's own bind, a client connection of another test could
/// take it ("Address already in use"). Ports below that range are never taken
/// that way; each is probed, and never handed out twice by one process.
pub fn free_port() -> u16 {
    use rand::Rng;
    use std::sync::Mutex;
    static GIVEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let (low, high) = (10_000u16, ephemeral_low);
    if high > low + 1_000 {
        let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
        for _ in 0..1_000 {
            let port = rand::rng().random_range(low..high);
            if !given.contains(&port) && TcpListener::bind(("127.0.0.1", port)).is_ok() {
                given.push(port);
                return port;
            }
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// Log segment size of test nodes: small, so that tests rotate segments (and
/// many clusters do not each zero-fill the 16 MiB default).
const TEST_WAL_SEGMENT: &str = "2097152";

/// One server process.
pub struct Node {
    /// Node id.
    pub id: u64,
    /// Client and peer address.
    pub addr: String,
    /// Prometheus metrics address, when enabled.
    pub metrics_addr: Option<String>,
    /// Extra arguments of this node only (used from its next start).
    pub args: Vec<String>,
    /// Extra environment of this node only (used from its next start).
    pub env: Vec<(String, String)>,
    /// Started with `--join` and itself as its only peer (added at run time).
    joining: bool,
    data_dir: PathBuf,
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    /// The process id, if running.
    pub fn pid(&self) -> Option<Pid> {
        self.child.as_ref().map(|c| Pid::from_raw(c.id() as i32))
    }

    /// Whether the process is running (started and not killed by the kit;
    /// see [`Cluster::exited`] for one that ended by itself).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }
}

/// Logs this (test) process's client core to stderr when `TENURE_TEST_CLIENT_LOG`
/// holds a filter (for example `tenure=debug`).
pub fn client_logs() {
    if let Ok(filter) = std::env::var("TENURE_TEST_CLIENT_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// Starts parking_lot's deadlock detector in this (test) process once: a lock
/// cycle among the client core's threads then ends the process loudly with
/// status 71 instead of hanging the test.
pub fn detect_deadlocks() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(tenure_server::watchdog::start_deadlock_detector);
}

/// A cluster of real `tenure server` processes.
pub struct Cluster {
    /// The nodes, by index (node id = index + 1).
    pub nodes: Vec<Node>,
    peers: String,
    extra_args: Vec<String>,
    /// Environment of every node, before each node's own.
    base_env: Vec<(String, String)>,
    /// `TENURE_WAL_SEGMENT_BYTES` of every node, unless its env sets it.
    wal_segment: String,
    dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts `size` nodes with default timing.
    pub fn start(size: usize) -> Cluster {
        Cluster::start_with(size, &[])
    }

    /// Starts `size` nodes, passing `extra_args` to every `tenure server`.
    pub fn start_with(size: usize, extra_args: &[&str]) -> Cluster {
        Cluster::start_opts(size, extra_args, false)
    }

    /// Like [`Cluster::start_with`]; with `metrics`, every node also serves
    /// Prometheus metrics on its own port.
    pub fn start_opts(size: usize, extra_args: &[&str], metrics: bool) -> Cluster {
        Cluster::start_custom(size, extra_args, metrics, |_| Vec::new())
    }

    /// Like [`Cluster::start_opts`], with `per_node(id)` adding arguments to one node.
    pub fn start_custom(
        size: usize,
        extra_args: &[&str],
        metrics: bool,
        per_node: impl Fn(u64) -> Vec<String>,
    ) -> Cluster {
        let mut cluster = Cluster::build(size, extra_args, metrics, per_node);
        cluster.restart_all();
        cluster
    }

    /// Like [`Cluster::start_custom`], with every node stopped (see [`Cluster::unstarted`]).
    pub fn build(
        size: usize,
        extra_args: &[&str],
        metrics: bool,
        per_node: impl Fn(u64) -> Vec<String>,
    ) -> Cluster {
        let dir = tempfile::Builder::new()
            .prefix("tenure-test-")
            .tempdir()
            .expect("tempdir");
        let nodes: Vec<Node> = (1..=size as u64)
            .map(|id| Node {
                id,
                addr: format!("127.0.0.1:{}", free_port()),
                metrics_addr: metrics.then(|| format!("127.0.0.1:{}", free_port())),
                args: Vec::new(),
                env: Vec::new(),
                joining: false,
                data_dir: dir.path().join(format!("node-{id}")),
                log: dir.path().join(format!("node-{id}.log")),
                child: None,
            })
            .collect();
        let peers = nodes
            .iter()
            .map(|n| format!("{}={}", n.id, n.addr))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Cluster {
            nodes,
            peers,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            base_env: Vec::new(),
            wal_segment: TEST_WAL_SEGMENT.to_owned(),
            dir,
        };
        for id in 1..=size as u64 {
            cluster.node_mut(id).args = per_node(id);
        }
        cluster
    }

    /// Lays out `size` nodes (addresses, data directories) without starting
    /// any, so a test can prepare their data directories first (a tmpfs, or
    /// `tenure snapshot restore`); [`Cluster::restart_all`] starts them.
    pub fn unstarted(size: usize, extra_args: &[&str]) -> Cluster {
        Cluster::build(size, extra_args, false, |_| Vec::new())
    }

    /// Every member as `tenure server --peers` takes them: `ID=HOST:PORT,...`.
    pub fn peers(&self) -> &str {
        &self.peers
    }

    /// Sets environment of every node for their next starts (each node's own
    /// environment, [`Cluster::set_env`], comes after it).
    pub fn set_base_env(&mut self, env: Vec<(String, String)>) {
        self.base_env = env;
    }

    /// Sets extra environment of node `id` for its next start.
    pub fn set_env(&mut self, id: u64, env: Vec<(String, String)>) {
        self.node_mut(id).env = env;
    }

    /// The node with `id`, to change its settings.
    pub fn node_mut(&mut self, id: u64) -> &mut Node {
        &mut self.nodes[(id - 1) as usize]
    }

    /// The node with `id`.
    pub fn node(&self, id: u64) -> &Node {
        &self.nodes[(id - 1) as usize]
    }

    /// Starts one more node with `--join` (not a member until an admin adds
    /// it); returns its id.
    pub fn start_joining_node(&mut self) -> u64 {
        let id = self.nodes.len() as u64 + 1;
        self.nodes.push(Node {
            id,
            addr: format!("127.0.0.1:{}", free_port()),
            metrics_addr: None,
            args: vec!["--join".to_owned()],
            env: Vec::new(),
            joining: true,
            data_dir: self.dir.path().join(format!("node-{id}")),
            log: self.dir.path().join(format!("node-{id}.log")),
            child: None,
        });
        self.spawn(id);
        id
    }

    fn spawn(&mut self, id: u64) {
        let bin = tenure_bin();
        let extra = self.extra_args.clone();
        let base_env = self.base_env.clone();
        let wal_segment = self.wal_segment.clone();
        let node = &self.nodes[(id - 1) as usize];
        let peers = if node.joining {
            format!("{id}={}", node.addr)
        } else {
            self.peers.clone()
        };
        let node = self.node_mut(id);
        assert!(node.child.is_none(), "node {id} is already running");
        let log = File::options()
            .create(true)
            .append(true)
            .open(&node.log)
            .expect("log file");
        let metrics: Vec<String> = node
            .metrics_addr
            .iter()
            .flat_map(|a| ["--metrics-listen".to_owned(), a.clone()])
            .collect();
        let child = Command::new(bin)
            .args([
                "server",
                "--id",
                &id.to_string(),
                "--listen",
                &node.addr,
                "--peers",
                &peers,
            ])
            .arg("--data-dir")
            .arg(&node.data_dir)
            .args(&metrics)
            .args(&extra)
            .args(&node.args)
            .env(SEGMENT_BYTES_ENV, &wal_segment)
            .envs(base_env.iter().chain(&node.env).map(|(k, v)| (k, v)))
            .env(
                "RUST_LOG",
                std::env::var("TENURE_TEST_LOG").unwrap_or_else(|_| "info,openraft=warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn tenure server");
        node.child = Some(child);
    }

    /// Client endpoints of every node.
    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    /// Endpoints as one comma-separated string.
    pub fn endpoints_csv(&self) -> String {
        self.endpoints().join(",")
    }

    /// kill -9 a node.
    pub fn kill(&mut self, id: u64) {
        let node = self.node_mut(id);
        if let Some(mut child) = node.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// kill -9 every node.
    pub fn kill_all(&mut self) {
        for id in 1..=self.nodes.len() as u64 {
            self.kill(id);
        }
    }

    /// Starts a killed node again from its data directory.
    pub fn restart(&mut self, id: u64) {
        self.kill(id);
        self.spawn(id);
    }

    /// Starts every stopped node.
    pub fn restart_all(&mut self) {
        for id in 1..=self.nodes.len() as u64 {
            if !self.node(id).is_running() {
                self.spawn(id);
            }
        }
    }

    /// SIGSTOP a node (a stalled process).
    pub fn pause(&self, id: u64) {
        if let Some(pid) = self.node(id).pid() {
            kill(pid, Signal::SIGSTOP).expect("SIGSTOP");
        }
    }

    /// SIGCONT a paused node.
    pub fn resume(&self, id: u64) {
        if let Some(pid) = self.node(id).pid() {
            kill(pid, Signal::SIGCONT).expect("SIGCONT");
        }
    }

    /// A client with default options plus `ttl`.
    pub async fn client(&self, ttl: Duration) -> Client {
        let options = ClientOptions {
            ttl,
            ..ClientOptions::default()
        };
        Client::connect(self.endpoints(), options)
            .await
            .expect("connect to the test cluster")
    }

    /// Waits until a running node reports itself leader with a quorum behind it
    /// (a client call succeeds through it); returns its id.
    pub async fn wait_for_leader(&self, timeout: Duration) -> u64 {
        let probe = Client::connect(self.endpoints(), ClientOptions::default()).await;
        let leader = self.find_leader(timeout, &probe).await;
        // Closed here, not in the background after return: a test that counts
        // sessions must not see the probe's go away under it.
        if let Ok(p) = &probe {
            let _ = p.close().await;
        }
        leader
    }

    /// Polls every running node until one is leader.
    async fn find_leader(&self, timeout: Duration, probe: &tenure::Result<Client>) -> u64 {
        let deadline = Instant::now() + timeout;
        loop {
            for node in self.nodes.iter().filter(|n| n.is_running()) {
                if let Ok(c) = &probe
                    && let Ok(s) = c.node_status(&node.addr).await
                    && s.role == "leader"
                {
                    return node.id;
                }
                if probe.is_err()
                    && let Ok(c) =
                        Client::connect([node.addr.clone()], ClientOptions::default()).await
                    && let Ok(s) = c.node_status(&node.addr).await
                    && s.role == "leader"
                {
                    return node.id;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no leader within {timeout:?}\n{}",
                self.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The exit status of node `id` if its process ended by itself.
    pub fn exited(&mut self, id: u64) -> Option<std::process::ExitStatus> {
        self.node_mut(id).child.as_mut()?.try_wait().ok().flatten()
    }

    /// The whole log of node `id`.
    pub fn log(&self, id: u64) -> String {
        std::fs::read_to_string(&self.node(id).log).unwrap_or_default()
    }

    /// The tail of every node's log, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for n in &self.nodes {
            let text = std::fs::read_to_string(&n.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let tail = &lines[lines.len().saturating_sub(30)..];
            out.push_str(&format!(
                "--- node {} ({}) ---\n{}\n",
                n.id,
                n.addr,
                tail.join("\n")
            ));
        }
        out
    }

    /// The data directory of node `id`.
    pub fn data_dir(&self, id: u64) -> &Path {
        &self.node(id).data_dir
    }

    /// A directory for the test's own files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(pid) = node.pid() {
                let _ = kill(pid, Signal::SIGCONT);
            }
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// A raw gRPC stub for one node, or None if it does not accept connections.
pub async fn try_raw(
    addr: &str,
) -> Option<tenure_proto::v1::tenure_client::TenureClient<tonic::transport::Channel>> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .ok()?
        .connect()
        .await
        .ok()?;
    Some(tenure_proto::v1::tenure_client::TenureClient::new(channel))
}

/// A raw gRPC stub for one node (to send requests the core client would refuse).
pub async fn raw(
    addr: &str,
) -> tenure_proto::v1::tenure_client::TenureClient<tonic::transport::Channel> {
    try_raw(addr).await.expect("connect raw stub")
}

/// The tenure error kind carried by a status.
pub fn kind_of(status: &tonic::Status) -> tenure_proto::v1::ErrorKind {
    use prost::Message;
    tenure_proto::v1::ErrorInfo::decode(status.details())
        .ok()
        .and_then(|i| tenure_proto::v1::ErrorKind::try_from(i.kind).ok())
        .unwrap_or(tenure_proto::v1::ErrorKind::Unspecified)
}

/// The leader address a NOT_LEADER status names.
pub fn leader_of(status: &tonic::Status) -> String {
    use prost::Message;
    tenure_proto::v1::ErrorInfo::decode(status.details())
        .map(|i| i.leader_addr)
        .unwrap_or_default()
}

/// Polls `check` every 20 ms until it returns Some or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
