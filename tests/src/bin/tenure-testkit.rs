//! One cluster kit for the scenario runners of every language (tests/scenarios.toml).
//!
//! Starts a cluster of real `tenure server` processes on loopback and obeys
//! one command per line on stdin, answering one JSON object per line on
//! stdout. The Python, Node and Kotlin runners drive it instead of keeping a
//! cluster kit of their own.
//!
//!   (start)         {"endpoints":"127.0.0.1:a,127.0.0.1:b,127.0.0.1:c"}
//!   leader          {"leader":ID,"addr":"..."}
//!   kill-leader     {"killed":ID,"leader":NEW}   (waits for the new leader)
//!   pause-all       {"ok":true}                  (SIGSTOP every node)
//!   resume-all      {"ok":true}                  (SIGCONT every node)
//!   proxy           {"proxy":"127.0.0.1:p"}      (a proxy in front of the leader)
//!   cut-next-reply  {"ok":true}                  (the proxy drops the next reply)
//!   cuts            {"cuts":N}
//!   quit (or EOF)   stops the cluster and exits
//!
//! A command it does not know gets {"error":"..."}.

use std::time::Duration;

use serde_json::{Value, json};
use tenure_tests::Cluster;
use tenure_tests::proxy::Proxy;
use tokio::io::{AsyncBufReadExt, BufReader};

const LEADER_WAIT: Duration = Duration::from_secs(30);

struct Kit {
    cluster: Cluster,
    proxy: Option<Proxy>,
}

impl Kit {
    async fn leader(&self) -> Value {
        let id = self.cluster.wait_for_leader(LEADER_WAIT).await;
        json!({"leader": id, "addr": self.cluster.node(id).addr})
    }

    async fn kill_leader(&mut self) -> Value {
        let old = self.cluster.wait_for_leader(LEADER_WAIT).await;
        self.cluster.kill(old);
        let new = self.cluster.wait_for_leader(LEADER_WAIT).await;
        json!({"killed": old, "leader": new})
    }

    fn each_node(&self, pause: bool) -> Value {
        for id in 1..=self.cluster.nodes.len() as u64 {
            if pause {
                self.cluster.pause(id);
            } else {
                self.cluster.resume(id);
            }
        }
        json!({"ok": true})
    }

    async fn proxy(&mut self) -> Value {
        let id = self.cluster.wait_for_leader(LEADER_WAIT).await;
        let proxy = Proxy::start(self.cluster.node(id).addr.clone()).await;
        let addr = proxy.addr.clone();
        self.proxy = Some(proxy);
        json!({"proxy": addr})
    }

    fn with_proxy(&self, f: impl FnOnce(&Proxy) -> Value) -> Value {
        match &self.proxy {
            Some(p) => f(p),
            None => json!({"error": "no proxy: send `proxy` first"}),
        }
    }

    async fn obey(&mut self, command: &str) -> Value {
        match command {
            "leader" => self.leader().await,
            "kill-leader" => self.kill_leader().await,
            "pause-all" => self.each_node(true),
            "resume-all" => self.each_node(false),
            "proxy" => self.proxy().await,
            "cut-next-reply" => self.with_proxy(|p| {
                p.cut_next_reply();
                json!({"ok": true})
            }),
            "cuts" => self.with_proxy(|p| json!({"cuts": p.cuts()})),
            other => json!({"error": format!("unknown command {other:?}")}),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    println!("{}", json!({"endpoints": cluster.endpoints_csv()}));
    let mut kit = Kit {
        cluster,
        proxy: None,
    };
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let command = line.trim();
        if command == "quit" {
            break;
        }
        if command.is_empty() {
            continue;
        }
        println!("{}", kit.obey(command).await);
    }
    // Dropping the cluster stops its processes and removes their directories.
    drop(kit);
    Ok(())
}
