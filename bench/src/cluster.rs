//! Three-node loopback clusters of tenure and of etcd, as child processes.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// How a tenure cluster is started beyond the defaults.
pub struct TenureSetup {
    /// Environment of node i (0-based).
    pub env: Box<dyn Fn(usize) -> Vec<(String, String)>>,
    /// Where the data directories go (default: the system's temp directory).
    pub data_root: Option<PathBuf>,
}

impl Default for TenureSetup {
    fn default() -> Self {
        TenureSetup {
            env: Box::new(|_| Vec::new()),
            data_root: None,
        }
    }
}

/// A node process.
pub struct Proc {
    /// Client address.
    pub addr: String,
    /// The process (None once killed).
    pub child: Option<Child>,
}

impl Proc {
    /// Its pid, if running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// A running cluster.
pub struct Cluster {
    /// tenure or etcd.
    pub system: &'static str,
    /// The nodes.
    pub nodes: Vec<Proc>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Client endpoints.
    pub fn endpoints(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.addr.clone()).collect()
    }

    /// kill -9 node `i` (0-based).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut c) = self.nodes[i].child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Server pids.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(Proc::pid).collect()
    }

    /// Starts a 3-node tenure cluster with `bin`.
    pub fn tenure(bin: &Path) -> anyhow::Result<Cluster> {
        Cluster::tenure_with(bin, &TenureSetup::default())
    }

    /// Starts a 3-node tenure cluster with `bin` and `setup`.
    pub fn tenure_with(bin: &Path, setup: &TenureSetup) -> anyhow::Result<Cluster> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("bench-tenure-");
        let dir = match &setup.data_root {
            Some(root) => builder.tempdir_in(root)?,
            None => builder.tempdir()?,
        };
        let addrs: Vec<String> = (0..3)
            .map(|_| Ok(format!("127.0.0.1:{}", free_port()?)))
            .collect::<anyhow::Result<_>>()?;
        let peers = addrs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("{}={a}", i + 1))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::new();
        for (i, addr) in addrs.iter().enumerate() {
            let log = std::fs::File::create(dir.path().join(format!("tenure-{i}.log")))?;
            let child = Command::new(bin)
                .args([
                    "server",
                    "--id",
                    &(i + 1).to_string(),
                    "--listen",
                    addr,
                    "--peers",
                    &peers,
                ])
                .arg("--data-dir")
                .arg(dir.path().join(format!("node-{i}")))
                .env("RUST_LOG", "warn,openraft=off")
                .envs((setup.env)(i))
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start {}", bin.display()))?;
            nodes.push(Proc {
                addr: addr.clone(),
                child: Some(child),
            });
        }
        Ok(Cluster {
            system: "tenure",
            nodes,
            _dir: dir,
        })
    }

    /// Starts a 3-node etcd cluster (default timings, fsync on).
    pub fn etcd() -> anyhow::Result<Cluster> {
        let dir = tempfile::Builder::new().prefix("bench-etcd-").tempdir()?;
        let ports: Vec<(u16, u16)> = (0..3)
            .map(|_| Ok((free_port()?, free_port()?)))
            .collect::<anyhow::Result<_>>()?;
        let initial = ports
            .iter()
            .enumerate()
            .map(|(i, (_, p))| format!("n{i}=http://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes = Vec::new();
        for (i, (c, p)) in ports.iter().enumerate() {
            let log = std::fs::File::create(dir.path().join(format!("etcd-{i}.log")))?;
            let data: PathBuf = dir.path().join(format!("n{i}"));
            let child = Command::new("etcd")
                .args(["--name", &format!("n{i}")])
                .arg("--data-dir")
                .arg(&data)
                .args(["--listen-client-urls", &format!("http://127.0.0.1:{c}")])
                .args(["--advertise-client-urls", &format!("http://127.0.0.1:{c}")])
                .args(["--listen-peer-urls", &format!("http://127.0.0.1:{p}")])
                .args([
                    "--initial-advertise-peer-urls",
                    &format!("http://127.0.0.1:{p}"),
                ])
                .args([
                    "--initial-cluster",
                    &initial,
                    "--initial-cluster-state",
                    "new",
                ])
                .args([
                    "--initial-cluster-token",
                    "tenure-bench",
                    "--log-level",
                    "error",
                ])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .context("cannot start etcd (apt-get install etcd-server)")?;
            nodes.push(Proc {
                addr: format!("127.0.0.1:{c}"),
                child: Some(child),
            });
        }
        Ok(Cluster {
            system: "etcd",
            nodes,
            _dir: dir,
        })
    }

    /// The index of the current leader.
    pub async fn leader(&self) -> Option<usize> {
        match self.system {
            "tenure" => {
                let c = tenure::Client::connect_lazy(self.endpoints(), Default::default()).ok()?;
                for (i, n) in self
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.child.is_some())
                {
                    if c.node_status(&n.addr)
                        .await
                        .is_ok_and(|s| s.role == "leader")
                    {
                        return Some(i);
                    }
                }
                None
            }
            _ => {
                // Ask every node for its own id and the leader it follows; the
                // leader is the node whose id most of them report.
                let mut ids = Vec::new();
                let mut votes = std::collections::HashMap::new();
                for (i, n) in self
                    .nodes
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.child.is_some())
                {
                    let Ok(mut c) = etcd_client::Client::connect([n.addr.clone()], None).await
                    else {
                        continue;
                    };
                    if let Ok(s) = c.status().await
                        && let Some(h) = s.header()
                    {
                        ids.push((i, h.member_id()));
                        *votes.entry(s.leader()).or_insert(0) += 1;
                    }
                }
                let (leader, n) = votes.into_iter().max_by_key(|(_, n)| *n)?;
                if n * 2 <= ids.len() {
                    return None;
                }
                ids.into_iter()
                    .find(|(_, id)| *id == leader)
                    .map(|(i, _)| i)
            }
        }
    }

    /// Waits until the cluster has a leader.
    pub async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.leader().await.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!("{} cluster did not elect a leader", self.system)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// CPU seconds (user + system) used so far by `pid`.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses).
    let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // /proc reports clock ticks of USER_HZ, which is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory of `pid` in MiB.
pub fn rss_mib(pid: u32) -> f64 {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return 0.0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
