//! Remaining-TTL checkpoints, against real `tenure server` processes: leaders
//! killed faster than the TTL must not keep a dead session alive (each new
//! leader used to grant a whole TTL again), and must not cost a live client its
//! session either (a checkpoint never shortens a renewed lease).

use std::time::Duration;

use tenure::{Client, ClientOptions, Lock, SessionState};
use tenure_proto::v1 as pb;
use tenure_tests::{Cluster, raw};
use tokio::time::Instant;

const LEADER_WAIT: Duration = Duration::from_secs(20);
/// The dead session's and the live clients' TTL.
const TTL: Duration = Duration::from_secs(3);
/// How long each leader leads before it is killed: well under the TTL.
const LEAD_FOR: Duration = Duration::from_millis(1_000);
/// The dead session must be gone this long after its last renewal (its open),
/// elections included. Each leadership of LEAD_FOR moves its remaining time
/// down by a checkpoint step (ttl/4), each election gives back the time since
/// the last checkpoint plus the election itself; see docs/design.md.
const BOUND: Duration = Duration::from_secs(12);
const LIVE_CLIENTS: usize = 4;

async fn open_raw_session(addr: &str, ttl: Duration) -> u64 {
    let open_id = std::process::id().to_be_bytes().repeat(4);
    raw(addr)
        .await
        .open_session(pb::OpenSessionRequest {
            ttl_ms: ttl.as_millis() as u64,
            label: "dead".into(),
            open_id,
        })
        .await
        .expect("open session")
        .into_inner()
        .session_id
}

/// Whether the cluster still lists `session` (None: no answer now).
async fn listed(observer: &Client, session: u64) -> Option<bool> {
    let sessions = observer.list_sessions().await.ok()?;
    Some(sessions.iter().any(|s| s.session_id == session))
}

fn live_options() -> ClientOptions {
    ClientOptions {
        ttl: TTL,
        call_timeout: Duration::from_secs(1),
        attempt_timeout: Duration::from_millis(300),
        ..ClientOptions::default()
    }
}

/// Kills the leader, waits for the next one among the others, and starts the
/// killed node again (it rejoins as a follower).
async fn change_leader(cluster: &mut Cluster) -> u64 {
    let old = cluster.wait_for_leader(LEADER_WAIT).await;
    cluster.kill(old);
    let new = cluster.wait_for_leader(LEADER_WAIT).await;
    cluster.restart(old);
    new
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_session_expires_in_bounded_time_while_leaders_change_faster_than_its_ttl() {
    tenure_tests::detect_deadlocks();
    tenure_tests::client_logs();
    let mut cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let observer = cluster.client(Duration::from_secs(30)).await;
    let mut live: Vec<(Client, Option<u64>, Lock)> = Vec::new();
    for i in 0..LIVE_CLIENTS {
        let client = Client::connect(cluster.endpoints(), live_options())
            .await
            .expect("connect");
        let lock = client
            .try_lock(&format!("checkpoints/live/{i}"))
            .await
            .expect("lock");
        let session = client.session_id().await;
        live.push((client, session, lock));
    }

    // A session whose client never sends a keepalive: its last renewal is its open.
    let dead = open_raw_session(&cluster.node(leader).addr, TTL).await;
    let opened = Instant::now();
    let mut gone_after = None;
    let mut elections = 0;
    while opened.elapsed() < BOUND {
        tokio::time::sleep(LEAD_FOR).await;
        if listed(&observer, dead).await == Some(false) {
            gone_after = Some(opened.elapsed());
            break;
        }
        change_leader(&mut cluster).await;
        elections += 1;
    }
    eprintln!("dead session gone after {gone_after:?}, {elections} leader changes");
    let gone_after = gone_after.unwrap_or_else(|| {
        panic!(
            "the dead session (TTL {TTL:?}) is alive {BOUND:?} after its last renewal, \
             through {elections} leader changes\n{}",
            cluster.logs()
        )
    });
    assert!(
        elections >= 3,
        "only {elections} leader changes before it expired"
    );
    assert!(gone_after < BOUND);

    // The live clients renewed through every election: nobody lost anything.
    for (client, session, lock) in &live {
        assert_eq!(client.session_id().await, *session, "session replaced");
        assert_ne!(
            *client.watch_session().borrow(),
            SessionState::Expired,
            "a live session expired\n{}",
            cluster.logs()
        );
        assert!(lock.is_held(), "a live client lost its lock");
        let listed = session.map(|s| listed(&observer, s));
        if let Some(listed) = listed {
            assert_ne!(
                listed.await,
                Some(false),
                "the server expired a live session"
            );
        }
    }
    for (client, _, _) in live {
        let _ = client.close().await;
    }
}
