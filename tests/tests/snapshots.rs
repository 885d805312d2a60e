//! A snapshot over 64 MiB on the peer path: a follower that was down while the
//! leader compacted its log catches up from the leader's snapshot. Three real
//! nodes (`node::start`, the same code as `tenure server`) in this process on
//! loopback; the state is inflated through the leader's proposer with commands
//! the API would refuse (1 MiB labels), so that 70 entries make a 70 MiB state.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tenure_server::machine::{Command, Outcome};
use tenure_server::node::{self, NodeConfig, NodeHandle, Security, Timing};
use tenure_tests::free_port;

const SESSIONS: u64 = 70;
const LABEL_BYTES: usize = 1 << 20;
/// Snapshot (and compact the log) every this many entries.
const SNAPSHOT_LOGS: u64 = 20;

fn config(id: u64, peers: &BTreeMap<u64, String>, dir: &std::path::Path) -> NodeConfig {
    NodeConfig {
        id,
        listen: peers[&id].parse().expect("address"),
        peers: peers.clone(),
        data_dir: dir.join(format!("node-{id}")),
        // Slow elections: in a debug build one 3 MiB snapshot chunk takes most
        // of a second to encode and decode, and openraft 0.9 sends no
        // heartbeat to a follower while a chunk is in flight.
        timing: Timing {
            heartbeat: Duration::from_millis(200),
            election_min: Duration::from_millis(4_000),
            election_max: Duration::from_millis(8_000),
        },
        metrics_listen: None,
        bootstrap: true,
        snapshot_logs: SNAPSHOT_LOGS,
        security: Security::default(),
        peer_routes: Default::default(),
    }
}

fn applied(node: &NodeHandle) -> u64 {
    node.context().shared.lock().applied.map_or(0, |l| l.index)
}

async fn wait_for_leader(nodes: &BTreeMap<u64, NodeHandle>) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((id, _)) = nodes
            .iter()
            .find(|(_, n)| n.context().leadership.leads_with_quorum())
        {
            return *id;
        }
        assert!(Instant::now() < deadline, "no leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Proposes on whichever node leads (OpenSession is idempotent on its open id,
/// so a retry after a leader change opens it once), a bounded number of times.
async fn propose(nodes: &BTreeMap<u64, NodeHandle>, command: Command) -> Outcome {
    for _ in 0..10 {
        let leader = wait_for_leader(nodes).await;
        match nodes[&leader]
            .context()
            .proposer
            .propose(command.clone())
            .await
        {
            Ok(outcome) => return outcome,
            Err(e) => eprintln!("propose on {leader} failed ({e:?}); retrying"),
        }
    }
    panic!("no proposal succeeded in 10 attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_follower_catches_up_from_a_snapshot_over_64_mib() {
    tenure_tests::client_logs();
    let dir = tempfile::tempdir().expect("tempdir");
    let peers: BTreeMap<u64, String> = (1..=3)
        .map(|id| (id, format!("127.0.0.1:{}", free_port())))
        .collect();
    let mut nodes = BTreeMap::new();
    for id in 1..=3 {
        let handle = node::start(config(id, &peers, dir.path()))
            .await
            .expect("start");
        nodes.insert(id, handle);
    }
    let leader = wait_for_leader(&nodes).await;
    let lagging = (1..=3).find(|&id| id != leader).expect("a follower");
    nodes.remove(&lagging).expect("running").shutdown().await;

    // About 70 MiB of state, one entry at a time, then enough entries for the
    // leader to snapshot and compact its log past everything the follower has.
    for i in 0..SESSIONS + 2 * SNAPSHOT_LOGS {
        let label = if i < SESSIONS {
            "x".repeat(LABEL_BYTES)
        } else {
            String::new()
        };
        let command = Command::OpenSession {
            open_id: u128::from(i + 1),
            ttl_ms: 600_000,
            label,
            principal: "test".into(),
        };
        let outcome = propose(&nodes, command).await;
        assert!(
            matches!(outcome, Outcome::SessionOpened { .. }),
            "{outcome:?}"
        );
    }
    let leader = wait_for_leader(&nodes).await;
    let snapshot = dir.path().join(format!("node-{leader}/state/snapshot.bin"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::metadata(&snapshot).map_or(0, |m| m.len()) <= 64 << 20 {
        assert!(
            Instant::now() < deadline,
            "the leader took no large snapshot"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let restarted = node::start(config(lagging, &peers, dir.path()))
        .await
        .expect("restart the follower");
    nodes.insert(lagging, restarted);
    let target = applied(&nodes[&leader]);
    let deadline = Instant::now() + Duration::from_secs(120);
    while applied(&nodes[&lagging]) < target {
        assert!(
            Instant::now() < deadline,
            "the follower is stuck at {} of {target}",
            applied(&nodes[&lagging])
        );
        let stopped = nodes[&leader].context().leadership.raft_stopped();
        assert!(stopped.is_none(), "the leader's Raft stopped: {stopped:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sessions = nodes[&lagging]
        .context()
        .shared
        .lock()
        .machine
        .sessions()
        .len();
    assert_eq!(sessions as u64, SESSIONS + 2 * SNAPSHOT_LOGS);
    for (_, node) in nodes {
        node.shutdown().await;
    }
}
