//! A leader that stops answering (wedged runtime, or paused) must cost clients
//! at most a few attempt timeouts and an election, never a TTL: their calls
//! move on to the other nodes, their keepalives reach the new leader before
//! any session expires, and a wedged node exits so that a supervisor can
//! restart it.

use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use parking_lot::Mutex;
use tenure::{Client, ClientOptions, SessionState};
use tenure_tests::Cluster;
use tokio::time::Instant;

const LEADER_WAIT: Duration = Duration::from_secs(20);
const CLIENTS: usize = 16;
/// How long the clients loop; the fault starts two seconds in.
const RUN_FOR: Duration = Duration::from_secs(10);

/// What the clients saw while the fault lasted.
#[derive(Default)]
struct Seen {
    /// Longest time between two successful operations of one client.
    longest_gap: Duration,
    /// Successful operations after the fault began.
    ops_after_fault: u64,
    /// Clients whose session expired or was replaced.
    sessions_lost: Vec<String>,
}

/// Runs CLIENTS clients for RUN_FOR with `options`, calling `fault` after two
/// seconds: half of them loop try-lock + release, half hold one lock and only
/// heartbeat.
async fn clients_through(
    cluster: &mut Cluster,
    options: ClientOptions,
    fault: impl FnOnce(&mut Cluster),
) -> Seen {
    tenure_tests::detect_deadlocks();
    tenure_tests::client_logs();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let fault_at = Arc::new(Mutex::new(None::<Instant>));
    let stop_at = Instant::now() + RUN_FOR;
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let client = Client::connect(cluster.endpoints(), options.clone())
            .await
            .expect("connect");
        let (seen, fault_at) = (seen.clone(), fault_at.clone());
        tasks.push(tokio::spawn(async move {
            let session = client.session_id().await;
            let mut state = client.watch_session();
            if i % 2 == 1 {
                // A holder that only heartbeats while it works.
                let lock = client.try_lock(&format!("liveness/held/{i}")).await;
                tokio::time::sleep_until(stop_at).await;
                if !lock.as_ref().is_ok_and(tenure::Lock::is_held) {
                    seen.lock()
                        .sessions_lost
                        .push(format!("holder {i}: lock {lock:?}"));
                }
            }
            let mut last_ok = Instant::now();
            while Instant::now() < stop_at {
                let name = format!("liveness/{i}");
                if let Ok(lock) = client.try_lock(&name).await
                    && lock.release().await.is_ok()
                {
                    let now = Instant::now();
                    let mut s = seen.lock();
                    s.longest_gap = s.longest_gap.max(now - last_ok);
                    if fault_at.lock().is_some_and(|f| now > f) {
                        s.ops_after_fault += 1;
                    }
                    last_ok = now;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                if *state.borrow_and_update() == SessionState::Expired {
                    break;
                }
            }
            let now = client.session_id().await;
            if *state.borrow() == SessionState::Expired || now != session {
                seen.lock()
                    .sessions_lost
                    .push(format!("client {i}: session {session:?} -> {now:?}"));
            }
            let _ = client.close().await;
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    *fault_at.lock() = Some(Instant::now());
    fault(cluster);
    for t in tasks {
        t.await.expect("client task");
    }
    Arc::try_unwrap(seen)
        .map(Mutex::into_inner)
        .unwrap_or_default()
}

fn options(ttl: Duration, attempt_timeout: Duration) -> ClientOptions {
    ClientOptions {
        ttl,
        call_timeout: Duration::from_secs(1),
        attempt_timeout,
        ..ClientOptions::default()
    }
}

/// No session lost, work resumed, and no client waited `longest` or more.
fn check(seen: &Seen, cluster: &Cluster, longest: Duration) {
    assert!(
        seen.sessions_lost.is_empty(),
        "sessions lost: {:?}\n{}",
        seen.sessions_lost,
        cluster.logs()
    );
    assert!(
        seen.ops_after_fault >= CLIENTS as u64 / 2,
        "only {} operations after the fault",
        seen.ops_after_fault
    );
    assert!(
        seen.longest_gap < longest,
        "a client waited {:?} between operations\n{}",
        seen.longest_gap,
        cluster.logs()
    );
}

/// Default timings: the followers name the paused leader for an election
/// timeout (up to 240 ms), longer than the clients' attempt timeout (150 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_move_on_from_a_paused_leader_within_a_few_attempts() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let opts = options(Duration::from_secs(3), Duration::from_millis(150));
    let seen = clients_through(&mut cluster, opts, |c| c.pause(leader)).await;
    cluster.resume(leader);
    eprintln!(
        "paused leader: longest gap {:?}, {} operations after",
        seen.longest_gap, seen.ops_after_fault
    );
    // A few attempt timeouts and an election, well under the TTL (3 s).
    check(&seen, &cluster, Duration::from_millis(2_000));
}

/// Slow elections: the followers name the paused leader for seconds. Clients
/// must keep asking them instead of waiting on the paused node, so that their
/// keepalives reach the new leader as soon as there is one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalives_reach_a_slowly_elected_leader_before_sessions_expire() {
    let slow = [
        "--heartbeat",
        "150ms",
        "--election-timeout-min",
        "800ms",
        "--election-timeout-max",
        "1100ms",
    ];
    let mut cluster = Cluster::start_with(3, &slow);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let ttl = Duration::from_secs(8);
    let opts = options(ttl, Duration::from_millis(400));
    let seen = clients_through(&mut cluster, opts, |c| c.pause(leader)).await;
    cluster.resume(leader);
    eprintln!(
        "paused leader, slow elections: longest gap {:?}, {} operations after",
        seen.longest_gap, seen.ops_after_fault
    );
    check(&seen, &cluster, ttl);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wedged_leader_exits_and_clients_move_on() {
    let mut cluster = Cluster::start_with(3, &["--stall-timeout", "1s"]);
    for id in 1..=3 {
        cluster.set_env(
            id,
            vec![(
                tenure_server::controls::ENV.into(),
                "wedge-on-sigusr1".into(),
            )],
        );
        cluster.restart(id);
    }
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let pid = cluster.node(leader).pid().expect("leader pid");
    let opts = options(Duration::from_secs(3), Duration::from_millis(400));
    let seen = clients_through(&mut cluster, opts, |_| {
        kill(pid, Signal::SIGUSR1).expect("SIGUSR1");
    })
    .await;
    eprintln!(
        "wedged leader: longest gap {:?}, {} operations after",
        seen.longest_gap, seen.ops_after_fault
    );
    let status = cluster.exited(leader);
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(tenure_server::watchdog::EXIT_STALLED),
        "the wedged leader did not exit by itself\n{}",
        cluster.logs()
    );
    assert!(
        cluster
            .log(leader)
            .contains("the async runtime made no progress"),
        "{}",
        cluster.log(leader)
    );
    check(&seen, &cluster, Duration::from_millis(2_000));
}
