//! The fault suite's negative controls: each runs the suite against a build
//! with one guarantee deliberately broken (`TENURE_NEGATIVE_CONTROL`), and the
//! suite must report the violation that guarantee's check looks for. A check
//! that no broken build can trip is not a check.
//!
//! The runs take turns (one cluster at a time on the machine), so that a
//! violation comes from the control, not from an overloaded machine.

use std::time::Duration;

use tenure_tests::faults::{self, Drift, RunConfig};

/// One control and the run that must catch it.
struct Case {
    control: &'static str,
    faults: &'static [&'static str],
    secs: u64,
    /// Seeds to try: a fault must land at the right moment.
    tries: u64,
    ttl: Duration,
    drift: Drift,
    /// The checks that may report it (any one suffices).
    expect: &'static [&'static str],
}

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn config(case: &Case, seed: u64, control: Option<&str>) -> RunConfig {
    RunConfig {
        seed,
        duration: Duration::from_secs(case.secs),
        nodes: 3,
        workers: 4,
        clients_per_worker: 1,
        locks: 3,
        ttl: case.ttl,
        faults: case.faults.iter().map(|s| s.to_string()).collect(),
        worker_bin: env!("CARGO_BIN_EXE_tenure-faults").into(),
        negative_control: control.map(str::to_owned),
        drift: case.drift,
    }
}

/// Runs `case` with its control until a seed reports one of the expected
/// checks; returns every check reported by that run (empty if none was).
async fn caught(case: &Case) -> Vec<String> {
    let _turn = TURN.lock().await;
    for seed in 100..100 + case.tries {
        let report = faults::run(config(case, seed, Some(case.control)))
            .await
            .expect("fault run");
        let checks: Vec<String> = report
            .violations
            .iter()
            .map(|v| v.check.to_owned())
            .collect();
        eprintln!(
            "{}, seed {seed}: faults {:?}, operations {:?}, checks {checks:?}",
            case.control, report.faults, report.operations
        );
        if checks.iter().any(|c| case.expect.contains(&c.as_str())) {
            return checks;
        }
    }
    Vec::new()
}

fn assert_caught(case: &Case, checks: &[String]) {
    assert!(
        checks.iter().any(|c| case.expect.contains(&c.as_str())),
        "{} was not caught (expected one of {:?}), checks reported: {checks:?}",
        case.control,
        case.expect
    );
}

const OVERLAP: &str = "G3 belief intervals overlap";
const EARLY_EXPIRY: &str = "session of a healthy client expired";

/// A log that never fsyncs loses acknowledged entries at a power loss.
const SKIP_FSYNC: Case = Case {
    control: "skip-fsync",
    faults: &["power-loss", "kill-leader"],
    secs: 25,
    tries: 2,
    ttl: Duration::from_secs(2),
    drift: Drift::Off,
    expect: &[
        "G2 token granted twice",
        "G4 token counter went back",
        "G4 acknowledged write lost",
        OVERLAP,
    ],
};

/// A store that forgot its fencing check accepts a paused writer's stale write.
const SKIP_FENCE_CHECK: Case = Case {
    control: "skip-fence-check",
    faults: &["pause-client"],
    secs: 30,
    tries: 3,
    ttl: Duration::from_secs(2),
    drift: Drift::Off,
    expect: &["G2 store accepted a stale token"],
};

/// A leader that answers grants before a majority has them loses them when it
/// is killed or cut off, and the lock is granted again.
const GRANT_WITHOUT_QUORUM: Case = Case {
    control: "grant-without-quorum",
    faults: &["partition-node", "kill-leader", "partition-node"],
    secs: 30,
    tries: 3,
    ttl: Duration::from_secs(2),
    drift: Drift::Off,
    expect: &[
        "G2 token granted twice",
        "G2 tokens out of grant order",
        "G4 token counter went back",
        OVERLAP,
    ],
};

/// An isolated leader that renews keepalives without a quorum round keeps
/// clients believing in sessions the new leader expires.
const KEEPALIVE_WITHOUT_ROUND: Case = Case {
    control: "keepalive-without-round",
    faults: &["partition-node"],
    secs: 40,
    tries: 3,
    ttl: Duration::from_secs(2),
    drift: Drift::Off,
    expect: &[OVERLAP, EARLY_EXPIRY],
};

/// Clients without margin or drift allowance, on slow clocks, against fast
/// servers (both within the bound): they believe past the server's expiry.
/// A longer TTL makes the 1 % bound a window of about 100 ms.
const ZERO_MARGIN_AND_DRIFT: Case = Case {
    control: "zero-margin-and-drift",
    faults: &["pause-client"],
    secs: 40,
    tries: 3,
    ttl: Duration::from_secs(5),
    drift: Drift::Worst,
    expect: &[OVERLAP, EARLY_EXPIRY],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_skip_fsync_is_caught_with_power_loss() {
    assert_caught(&SKIP_FSYNC, &caught(&SKIP_FSYNC).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_skip_fence_check_is_caught_with_client_pauses() {
    assert_caught(&SKIP_FENCE_CHECK, &caught(&SKIP_FENCE_CHECK).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_grant_without_quorum_is_caught_with_leader_faults() {
    assert_caught(&GRANT_WITHOUT_QUORUM, &caught(&GRANT_WITHOUT_QUORUM).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_keepalive_without_round_is_caught_with_a_partitioned_leader() {
    assert_caught(
        &KEEPALIVE_WITHOUT_ROUND,
        &caught(&KEEPALIVE_WITHOUT_ROUND).await,
    );
}

/// The same worst-case drift, with the real margin and drift allowance: clean.
/// (Without this, the control's catch could come from the drift alone.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_zero_margin_is_caught_and_the_real_margin_holds() {
    assert_caught(
        &ZERO_MARGIN_AND_DRIFT,
        &caught(&ZERO_MARGIN_AND_DRIFT).await,
    );
    let _turn = TURN.lock().await;
    let report = faults::run(config(&ZERO_MARGIN_AND_DRIFT, 100, None))
        .await
        .expect("fault run");
    assert!(
        report.violations.is_empty(),
        "worst-case drift with the real margin: {:#?}",
        report.violations
    );
}
