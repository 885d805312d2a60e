//! The fault suite's negative controls: each runs the suite against a build
//! with one guarantee deliberately broken (`TENURE_NEGATIVE_CONTROL`), and the
//! suite must report a violation. A check that no broken build can trip is not
//! a check.

use std::time::Duration;

use tenure_tests::faults::{self, RunConfig};

/// Runs the suite with `control` under `faults` (up to `tries` seeds, since a
/// fault must land at the right moment); returns the checks it reported.
async fn caught(control: &str, fault_kinds: &[&str], secs: u64, tries: u64) -> Vec<String> {
    for seed in 0..tries {
        let cfg = RunConfig {
            seed: 100 + seed,
            duration: Duration::from_secs(secs),
            nodes: 3,
            workers: 4,
            clients_per_worker: 1,
            locks: 3,
            ttl: Duration::from_secs(2),
            faults: fault_kinds.iter().map(|s| s.to_string()).collect(),
            worker_bin: env!("CARGO_BIN_EXE_tenure-faults").into(),
            negative_control: Some(control.to_owned()),
        };
        let report = faults::run(cfg).await.expect("fault run");
        eprintln!(
            "{control}, seed {}: faults {:?}, operations {:?}, {} violations",
            report.seed,
            report.faults,
            report.operations,
            report.violations.len()
        );
        if !report.violations.is_empty() {
            return report
                .violations
                .iter()
                .map(|v| v.check.to_owned())
                .collect();
        }
    }
    Vec::new()
}

/// A log that never fsyncs loses acknowledged entries at a power loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_skip_fsync_is_caught_with_power_loss() {
    let checks = caught("skip-fsync", &["power-loss", "kill-leader"], 25, 2).await;
    assert!(!checks.is_empty(), "skip-fsync was not caught");
}

/// A store that forgot its fencing check accepts a paused writer's stale write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_skip_fence_check_is_caught_with_client_pauses() {
    let checks = caught("skip-fence-check", &["pause-client"], 30, 3).await;
    assert!(
        checks
            .iter()
            .any(|c| c == "G2 store accepted a stale token"),
        "skip-fence-check was not caught: {checks:?}"
    );
}
