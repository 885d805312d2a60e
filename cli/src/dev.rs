//! A local cluster inside one process (`tenure dev`): N nodes on consecutive
//! loopback ports with throw-away data directories. Nodes can be killed and
//! restarted, which the demo uses to show a failover.

use openraft::async_runtime::watch::WatchReceiver;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;

use tenure_server::node::{self, NodeConfig, NodeHandle, Security, Timing};
use tenure_server::raft::NodeId;

/// A running in-process cluster.
pub struct DevCluster {
    configs: BTreeMap<NodeId, NodeConfig>,
    nodes: BTreeMap<NodeId, NodeHandle>,
    _dir: Option<tempfile::TempDir>,
}

impl DevCluster {
    /// Starts `size` nodes listening on `host:port`, `host:port+1`, ... with data
    /// under `data_dir` (a temporary directory, removed on drop, if None).
    pub async fn start(
        size: usize,
        host: &str,
        port: u16,
        timing: Timing,
        data_dir: Option<PathBuf>,
        security: Security,
    ) -> anyhow::Result<DevCluster> {
        anyhow::ensure!(matches!(size, 1 | 3 | 5), "a cluster has 1, 3 or 5 nodes");
        let (dir, root) = match data_dir {
            Some(d) => (None, d),
            None => {
                let t = tempfile::Builder::new().prefix("tenure-dev-").tempdir()?;
                let root = t.path().to_owned();
                (Some(t), root)
            }
        };
        let peers: BTreeMap<NodeId, String> = (0..size)
            .map(|i| {
                let p = port.checked_add(i as u16).context("port range overflows")?;
                Ok((i as NodeId + 1, format!("{host}:{p}")))
            })
            .collect::<anyhow::Result<_>>()?;
        let mut configs = BTreeMap::new();
        for (&id, addr) in &peers {
            let listen: SocketAddr = addr
                .parse()
                .with_context(|| format!("{addr} is not an IP address and port"))?;
            configs.insert(
                id,
                NodeConfig {
                    id,
                    listen,
                    peers: peers.clone(),
                    data_dir: root.join(format!("node-{id}")),
                    timing,
                    metrics_listen: None,
                    bootstrap: true,
                    snapshot_logs: node::DEFAULT_SNAPSHOT_LOGS,
                    security: security.clone(),
                    peer_routes: Default::default(),
                },
            );
        }
        let mut cluster = DevCluster {
            configs,
            nodes: BTreeMap::new(),
            _dir: dir,
        };
        let ids: Vec<NodeId> = cluster.configs.keys().copied().collect();
        for id in ids {
            cluster.restart(id).await?;
        }
        Ok(cluster)
    }

    /// Client endpoints of every node.
    pub fn endpoints(&self) -> Vec<String> {
        self.configs
            .values()
            .map(|c| c.listen.to_string())
            .collect()
    }

    /// The current leader, as seen by any running node.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes.values().find_map(|n| {
            n.context()
                .leadership
                .raft
                .metrics()
                .borrow_watched()
                .current_leader
        })
    }

    /// Stops a node abruptly (its data stays).
    pub async fn kill(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.remove(&id) {
            node.shutdown().await;
            tracing::info!(id, "node killed");
        }
    }

    /// Starts (or restarts) a node from its data directory.
    pub async fn restart(&mut self, id: NodeId) -> anyhow::Result<()> {
        self.kill(id).await;
        let config = self.configs.get(&id).context("no such node")?.clone();
        let handle = node::start(config).await?;
        self.nodes.insert(id, handle);
        Ok(())
    }

    /// Whether a node is running.
    pub fn is_running(&self, id: NodeId) -> bool {
        self.nodes.contains_key(&id)
    }

    /// Stops every node.
    pub async fn shutdown(mut self) {
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            self.kill(id).await;
        }
    }
}
