//! Many clients on their own connections against a real 3-node cluster (issue
//! 12: a lock inversion once wedged nodes under exactly this load). Longer runs:
//! `make stress DURATION=10m`.

use std::time::Duration;

use tenure_tests::Cluster;
use tenure_tests::stress::{self, StressConfig, StressReport};

const LEADER_WAIT: Duration = Duration::from_secs(20);

fn config(clients: usize, secs: u64, seed: u64) -> StressConfig {
    StressConfig {
        clients,
        duration: Duration::from_secs(secs),
        locks: 16,
        seed,
        ttl: Duration::from_secs(5),
    }
}

async fn run_against(cluster: &Cluster, cfg: &StressConfig) -> StressReport {
    let endpoints = cluster.endpoints();
    stress::run(&endpoints, &endpoints, cfg).await
}

async fn stress_passes(clients: usize, seed: u64) {
    let mut cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let report = run_against(&cluster, &config(clients, 15, seed)).await;
    eprintln!("{clients} clients: {}", report.summary());
    let problems = report.problems();
    assert!(problems.is_empty(), "{problems:#?}\n{}", cluster.logs());
    let granted: u64 = report
        .operations
        .iter()
        .filter(|(k, _)| k.ends_with("granted"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        granted >= clients as u64,
        "only {granted} grants: {report:?}"
    );
    for id in 1..=3 {
        assert!(
            cluster.exited(id).is_none(),
            "node {id} exited\n{}",
            cluster.logs()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_64_clients() {
    stress_passes(64, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stress_256_clients() {
    stress_passes(256, 2).await;
}

/// Negative control: with the old lock order re-introduced in the waiter
/// counters, the deadlock detector stops a node, and the run reports it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reintroduced_lock_inversion_is_reported_by_the_deadlock_detector() {
    let mut cluster = Cluster::start(3);
    for id in 1..=3 {
        cluster.set_env(
            id,
            vec![(
                tenure_server::controls::ENV.into(),
                "invert-waiter-locks".into(),
            )],
        );
        // The liveness watchdog (2 s by default) would also stop a wedged node,
        // and on a loaded machine sometimes first: this test is about the detector.
        cluster.node_mut(id).args = vec!["--stall-timeout".into(), "15s".into()];
        cluster.restart(id);
    }
    cluster.wait_for_leader(LEADER_WAIT).await;
    let report = run_against(&cluster, &config(64, 20, 3)).await;
    let exited: Vec<(u64, i32)> = (1..=3)
        .filter_map(|id| Some((id, cluster.exited(id)?.code()?)))
        .collect();
    let stopped = exited
        .iter()
        .find(|&&(_, code)| code == tenure_server::watchdog::EXIT_DEADLOCK);
    let Some(&(id, _)) = stopped else {
        panic!(
            "no node was stopped by the deadlock detector: {exited:?}; {}\n{}",
            report.summary(),
            cluster.logs()
        );
    };
    assert!(
        cluster.log(id).contains("deadlock detected"),
        "{}",
        cluster.log(id)
    );
    eprintln!("caught: node {id} exited {exited:?}; {}", report.summary());
    assert!(
        !report.problems().is_empty(),
        "the run saw nothing: {}",
        report.summary()
    );
}
