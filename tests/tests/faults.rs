//! The short mode of the fault-injection suite (fixed seeds): every guarantee is
//! checked on the history of runs with every kind of fault.

use std::time::Duration;

use tenure_tests::faults::{self, ALL_FAULTS, Drift, RunConfig};

async fn run(seed: u64, secs: u64, workers: u32, clients_per_worker: u32) {
    let cfg = RunConfig {
        seed,
        duration: Duration::from_secs(secs),
        nodes: 3,
        workers,
        clients_per_worker,
        locks: 3,
        ttl: Duration::from_secs(2),
        faults: ALL_FAULTS.iter().map(|s| s.to_string()).collect(),
        worker_bin: env!("CARGO_BIN_EXE_tenure-faults").into(),
        negative_control: None,
        drift: Drift::Random,
    };
    let report = faults::run(cfg).await.expect("fault run");
    eprintln!(
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    let injected: u32 = report.faults.values().sum();
    assert!(injected >= 5, "only {injected} faults injected");
    assert!(
        report.operations.get("acquire ok").copied().unwrap_or(0) >= 20,
        "too few operations: {:?}",
        report.operations
    );
    assert!(
        report.violations.is_empty(),
        "seed {seed}: {:#?}",
        report.violations
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_run_seed_1() {
    run(1, 75, 4, 1).await;
}

/// 64 clients on their own connections (8 processes of 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_run_seed_2_with_64_clients() {
    run(2, 75, 8, 8).await;
}
