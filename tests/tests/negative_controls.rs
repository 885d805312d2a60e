//! The fault suite's negative controls (tests/src/faults/controls.rs): each
//! runs the suite against a build with one guarantee deliberately broken, and
//! the suite must report the violation that guarantee's check looks for.
//!
//! The runs take turns (one cluster at a time on the machine), so that a
//! violation comes from the control, not from an overloaded machine.

use tenure_tests::faults::{self, controls};

static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs the control's case; fails unless one of its expected checks fired.
async fn assert_caught(control: &str) {
    let case = controls::case(control).expect("a control of the table");
    let outcome = {
        let _turn = TURN.lock().await;
        case.run(env!("CARGO_BIN_EXE_tenure-faults").into())
            .await
            .expect("fault run")
    };
    eprintln!("{outcome:?}");
    assert!(
        outcome.caught,
        "{control} was not caught in {} runs (expected one of {:?}); checks reported: {:?}",
        outcome.runs, case.expect, outcome.checks
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_skip_fsync_is_caught_with_power_loss() {
    assert_caught("skip-fsync").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_skip_fence_check_is_caught_with_client_pauses() {
    assert_caught("skip-fence-check").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_grant_without_quorum_is_caught_with_leader_faults() {
    assert_caught("grant-without-quorum").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_keepalive_without_round_is_caught_with_a_partitioned_leader() {
    assert_caught("keepalive-without-round").await;
}

/// Caught with the control; and the same worst-case drift with the real margin
/// and drift allowance is clean (else the catch could come from the drift).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_zero_margin_is_caught_and_the_real_margin_holds() {
    assert_caught("zero-margin-and-drift").await;
    let case = controls::case("zero-margin-and-drift").expect("in the table");
    let _turn = TURN.lock().await;
    let clean = case.config(100, false, env!("CARGO_BIN_EXE_tenure-faults").into());
    let report = faults::run(clean).await.expect("fault run");
    assert!(
        report.violations.is_empty(),
        "worst-case drift with the real margin: {:#?}",
        report.violations
    );
}

/// Every control of the table has a test above.
#[test]
fn every_control_of_the_table_is_tested() {
    let source = include_str!("negative_controls.rs");
    for case in &controls::CASES {
        assert!(
            source.contains(&format!("assert_caught(\"{}\")", case.control)),
            "{} has no test",
            case.control
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_a_restarted_node_that_stops_applying_is_caught() {
    assert_caught("restarted-node-stops-applying").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_a_semaphore_that_overgrants_is_caught() {
    assert_caught("semaphore-overgrant").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_control_a_watch_that_replays_old_changes_is_caught_by_observers() {
    assert_caught("watch-replay-old").await;
}
