//! Integration tests of the server, against real `tenure server` processes.

use std::time::{Duration, Instant};

use tenure::{AcquireOptions, LockMode};
use tenure_proto::v1 as pb;
use tenure_proto::v1::ErrorKind;
use tenure_tests::{Cluster, eventually, kind_of, leader_of, raw, try_raw};

const LEADER_WAIT: Duration = Duration::from_secs(10);

async fn open_raw_session(addr: &str, ttl_ms: u64) -> u64 {
    let mut stub = raw(addr).await;
    stub.open_session(pb::OpenSessionRequest {
        ttl_ms,
        label: "raw".into(),
        open_id: rand_id(),
    })
    .await
    .expect("open session")
    .into_inner()
    .session_id
}

fn rand_id() -> Vec<u8> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (nanos ^ (std::process::id() as u128) << 64)
        .to_be_bytes()
        .to_vec()
}

fn acquire_req(session: u64, request: u64, name: &str, wait_ms: Option<u64>) -> pb::AcquireRequest {
    pb::AcquireRequest {
        session_id: session,
        request_id: request,
        name: name.into(),
        mode: pb::LockMode::Exclusive as i32,
        wait: wait_ms.is_some(),
        wait_timeout_ms: wait_ms.unwrap_or(0),
        lock_delay_ms: 0,
        value: String::new(),
        permits: 0,
        permit_limit: 0,
    }
}

#[tokio::test]
async fn acquire_release_and_tokens_increase() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let client = cluster.client(Duration::from_secs(5)).await;
    let other = cluster.client(Duration::from_secs(5)).await;
    let a = client.try_lock("jobs/a").await.expect("first acquire");
    assert!(a.is_held());
    let held = other.try_lock("jobs/a").await.expect_err("held");
    assert_eq!(held.kind(), tenure::ErrorKind::LockHeld);
    // Its own holder asking again: at once, and distinct (no reentrancy).
    let again = client.try_lock("jobs/a").await.expect_err("held by itself");
    assert_eq!(again.kind(), tenure::ErrorKind::AlreadyHeld);
    a.release().await.expect("release");
    assert!(!a.is_held());
    a.release().await.expect("release is idempotent");
    let b = client.try_lock("jobs/a").await.expect("second acquire");
    assert!(b.fencing_token() > a.fencing_token());
    // Shared holders coexist and exclude an exclusive one.
    let s1 = client
        .acquire("jobs/s", AcquireOptions::try_once().shared())
        .await
        .expect("shared 1");
    let s2 = other
        .acquire("jobs/s", AcquireOptions::try_once().shared())
        .await
        .expect("shared 2");
    assert_eq!(s1.mode(), LockMode::Shared);
    let third = cluster.client(Duration::from_secs(5)).await;
    let err = third
        .try_lock("jobs/s")
        .await
        .expect_err("exclusive vs shared");
    assert_eq!(err.kind(), tenure::ErrorKind::LockHeld);
    let info = client
        .describe("jobs/s")
        .await
        .expect("describe")
        .expect("exists");
    assert_eq!(info.holders.len(), 2);
    drop((s1, s2));
}

#[tokio::test]
async fn expired_holder_hands_the_lock_to_the_waiter_with_a_higher_token() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let addr = cluster.node(leader).addr.clone();
    // A holder that never renews: its session expires after its TTL.
    let session = open_raw_session(&addr, 1_500).await;
    let mut stub = raw(&addr).await;
    let grant = stub
        .acquire(acquire_req(session, 1, "jobs/handover", None))
        .await
        .expect("raw acquire")
        .into_inner()
        .grant
        .expect("grant");
    let client = cluster.client(Duration::from_secs(5)).await;
    let started = Instant::now();
    let lock = client
        .lock("jobs/handover", Duration::from_secs(15))
        .await
        .expect("waiter gets the lock");
    let waited = started.elapsed();
    assert!(
        lock.fencing_token() > grant.token,
        "token {} after {}",
        lock.fencing_token(),
        grant.token
    );
    assert!(
        waited >= Duration::from_millis(1_000),
        "granted after {waited:?}, before the TTL"
    );
    // The expired session is gone: its keepalive and its release are refused.
    let err = stub
        .acquire(acquire_req(session, 2, "jobs/other", None))
        .await
        .expect_err("expired session");
    assert_eq!(kind_of(&err), ErrorKind::SessionExpired);
}

#[tokio::test]
async fn killing_the_leader_keeps_locks_and_sessions() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let client = cluster.client(Duration::from_secs(4)).await;
    let held = client.try_lock("jobs/held").await.expect("acquire");
    let session = held.session_id();
    cluster.kill(leader);
    let started = Instant::now();
    let other = cluster.client(Duration::from_secs(4)).await;
    let next = other
        .lock("jobs/after-failover", Duration::from_secs(10))
        .await
        .expect("cluster serves again");
    let failover = started.elapsed();
    assert!(next.fencing_token() > held.fencing_token());
    // Hold across several TTLs: the session must survive the failover.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        held.is_held(),
        "lock lost after failover: {:?}",
        held.lost_reason()
    );
    let info = other
        .describe("jobs/held")
        .await
        .expect("describe")
        .expect("still held");
    assert_eq!(info.holders[0].session_id, session);
    assert_eq!(info.holders[0].token, held.fencing_token());
    let sessions = other.list_sessions().await.expect("sessions");
    assert!(sessions.iter().any(|s| s.session_id == session));
    eprintln!("failover to a served acquire took {failover:?}");
}

#[tokio::test]
async fn acknowledged_operations_survive_killing_every_node() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let addr = cluster.node(leader).addr.clone();
    let session = open_raw_session(&addr, 120_000).await;
    let mut stub = raw(&addr).await;
    let mut grants = Vec::new();
    for i in 0..20u64 {
        let g = stub
            .acquire(acquire_req(session, i + 1, &format!("durable/{i}"), None))
            .await
            .expect("acquire")
            .into_inner()
            .grant
            .expect("grant");
        grants.push(g);
    }
    // Release half of them: releases must survive too.
    for (i, g) in grants.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let released = stub
            .release(pb::ReleaseRequest {
                session_id: session,
                request_id: 100 + i as u64,
                name: g.name.clone(),
                owner_id: g.owner_id.clone(),
            })
            .await
            .expect("release")
            .into_inner();
        assert!(released.released);
    }
    cluster.kill_all();
    cluster.restart_all();
    let leader = cluster.wait_for_leader(Duration::from_secs(20)).await;
    let mut stub = raw(&cluster.node(leader).addr).await;
    for (i, g) in grants.iter().enumerate() {
        let lock = stub
            .describe(pb::DescribeRequest {
                name: g.name.clone(),
            })
            .await
            .expect("describe")
            .into_inner()
            .lock;
        if i % 2 == 0 {
            assert!(lock.is_none(), "released lock {} came back", g.name);
        } else {
            let lock = lock.unwrap_or_else(|| panic!("acknowledged grant of {} lost", g.name));
            assert_eq!(lock.holders[0].owner_id, g.owner_id);
            assert_eq!(lock.holders[0].token, g.token);
        }
    }
    let status = stub
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    let max = grants.iter().map(|g| g.token).max().unwrap_or(0);
    assert!(
        status.next_token > max,
        "token counter went back: {} <= {max}",
        status.next_token
    );
    // A retried acquire (same request id) returns the first grant after restart (G5).
    let again = stub
        .acquire(acquire_req(session, 2, "durable/1", None))
        .await
        .expect("retry")
        .into_inner()
        .grant
        .expect("grant");
    assert_eq!(again.owner_id, grants[1].owner_id);
}

#[tokio::test]
async fn followers_redirect_to_the_leader() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let follower = cluster
        .nodes
        .iter()
        .find(|n| n.id != leader)
        .expect("a follower");
    let mut stub = raw(&follower.addr).await;
    let err = stub
        .open_session(pb::OpenSessionRequest {
            ttl_ms: 5_000,
            label: String::new(),
            open_id: rand_id(),
        })
        .await
        .expect_err("a follower does not serve writes");
    assert_eq!(kind_of(&err), ErrorKind::NotLeader);
    assert_eq!(leader_of(&err), cluster.node(leader).addr);
    // The core client follows the redirect from a follower-only endpoint list.
    let client = tenure::Client::connect([follower.addr.clone()], Default::default())
        .await
        .expect("connect through a follower");
    let lock = client
        .try_lock("redirected")
        .await
        .expect("acquire through redirect");
    // Status too is the leader's view (a follower learns of commits later), so
    // it already counts the grant just answered, even from a client that only
    // knows the follower and has not yet been redirected.
    let admin = tenure::Client::connect_lazy([follower.addr.clone()], Default::default())
        .expect("admin through a follower");
    let status = admin.status().await.expect("status through a follower");
    assert_eq!((status.node_id, status.role.as_str()), (leader, "leader"));
    assert_eq!(status.next_token, lock.fencing_token() + 1);
    let own = admin
        .node_status(&follower.addr)
        .await
        .expect("follower status");
    assert_eq!((own.node_id, own.role.as_str()), (follower.id, "follower"));
}

/// Waits past the machine clock's bounded step (10 s) time out on time only if
/// the leader keeps ticking while they are pending; a short one times out by the
/// leader's own `Tick`, well before the handler's 2 s grace would cancel it.
#[tokio::test]
async fn server_side_wait_timeouts_fire_on_time_by_the_leader_clock() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let addr = cluster.node(leader).addr.clone();
    let holder = open_raw_session(&addr, 60_000).await;
    let waiter = open_raw_session(&addr, 60_000).await;
    let mut stub = raw(&addr).await;
    stub.acquire(acquire_req(holder, 1, "clock/x", None))
        .await
        .expect("hold");
    let wait = |request: u64, wait_ms: u64| {
        let mut stub = stub.clone();
        async move {
            let started = Instant::now();
            let result = stub
                .acquire(acquire_req(waiter, request, "clock/x", Some(wait_ms)))
                .await;
            (result, started.elapsed())
        }
    };
    let ((short, short_took), (long, long_took)) = tokio::join!(wait(1, 1_000), wait(2, 12_000));
    for (what, result, took, wait_ms) in [
        ("1 s wait", short, short_took, 1_000),
        ("12 s wait", long, long_took, 12_000),
    ] {
        let err = result.expect_err(what);
        assert_eq!(kind_of(&err), ErrorKind::Timeout, "{what}: {err:?}");
        let wait = Duration::from_millis(wait_ms);
        assert!(
            took >= wait && took < wait + Duration::from_millis(1_000),
            "{what} timed out after {took:?}"
        );
    }
}

/// A 3-node cluster, a raw stub to its leader, a raw session on it with a long
/// TTL (never renewed, it must outlive a slow run) and the leader's status then.
async fn raw_session_on_leader() -> (
    Cluster,
    String,
    u64,
    pb::tenure_client::TenureClient<tonic::transport::Channel>,
    pb::StatusResponse,
) {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let addr = cluster.node(leader).addr.clone();
    let session = open_raw_session(&addr, 60_000).await;
    let mut stub = raw(&addr).await;
    let before = stub
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    (cluster, addr, session, stub, before)
}

#[tokio::test]
async fn request_ids_out_of_range_get_invalid_argument_and_the_cluster_serves_on() {
    let (cluster, _addr, session, mut stub, before) = raw_session_on_leader().await;
    for request in [u64::MAX, 1 << 63, 0] {
        let err = stub
            .acquire(acquire_req(session, request, "ids/a", None))
            .await
            .expect_err("acquire with a bad request id");
        assert_eq!(
            kind_of(&err),
            ErrorKind::InvalidArgument,
            "{request}: {err:?}"
        );
        assert!(err.message().contains("request_id"), "{err:?}");
        let err = stub
            .release(pb::ReleaseRequest {
                session_id: session,
                request_id: request,
                name: "ids/a".into(),
                owner_id: "0".repeat(32),
            })
            .await
            .expect_err("release with a bad request id");
        assert_eq!(
            kind_of(&err),
            ErrorKind::InvalidArgument,
            "{request}: {err:?}"
        );
        let err = stub
            .cancel_acquire(pb::CancelAcquireRequest {
                session_id: session,
                acquire_request_id: request,
            })
            .await
            .expect_err("cancel with a bad request id");
        assert_eq!(
            kind_of(&err),
            ErrorKind::InvalidArgument,
            "{request}: {err:?}"
        );
    }
    let after = stub
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(after.locks, 0, "a bad request id created a lock");
    assert_eq!(
        after.next_token, before.next_token,
        "a bad request id granted"
    );
    // Every node still serves: the largest valid id is granted, through the log.
    let grant = stub
        .acquire(acquire_req(session, i64::MAX as u64, "ids/a", None))
        .await
        .expect("acquire with the largest valid request id")
        .into_inner()
        .grant
        .expect("granted");
    assert_eq!(grant.token, before.next_token);
    for node in 1..=3 {
        let addr = cluster.node(node).addr.clone();
        let applied = eventually(Duration::from_secs(5), || {
            let addr = addr.clone();
            async move {
                let mut stub = try_raw(&addr).await?;
                let status = stub.status(pb::StatusRequest {}).await.ok()?.into_inner();
                (status.locks == 1).then_some(())
            }
        })
        .await;
        assert!(applied.is_some(), "node {node} did not apply the grant");
    }
}

#[tokio::test]
async fn bad_input_gets_typed_errors_and_changes_nothing() {
    let (_cluster, addr, session, mut stub, before) = raw_session_on_leader().await;

    let cases: Vec<(&str, pb::AcquireRequest, ErrorKind)> = vec![
        (
            "empty name",
            acquire_req(session, 1, "", None),
            ErrorKind::InvalidArgument,
        ),
        (
            "control char",
            acquire_req(session, 2, "a\nb", None),
            ErrorKind::InvalidArgument,
        ),
        (
            "long name",
            acquire_req(session, 3, &"x".repeat(300), None),
            ErrorKind::InvalidArgument,
        ),
        (
            "session 0",
            acquire_req(0, 4, "ok", None),
            ErrorKind::InvalidArgument,
        ),
        (
            "unknown session",
            acquire_req(999_999, 5, "ok", None),
            ErrorKind::SessionExpired,
        ),
        (
            "huge wait",
            acquire_req(session, 6, "ok", Some(u64::MAX)),
            ErrorKind::InvalidArgument,
        ),
        (
            "bad mode",
            pb::AcquireRequest {
                mode: 7,
                ..acquire_req(session, 7, "ok", None)
            },
            ErrorKind::InvalidArgument,
        ),
        (
            "value over 1,024 bytes",
            pb::AcquireRequest {
                value: "v".repeat(1_025),
                ..acquire_req(session, 8, "ok", None)
            },
            ErrorKind::InvalidArgument,
        ),
        (
            "permits on an exclusive acquire",
            pb::AcquireRequest {
                permits: 1,
                permit_limit: 2,
                ..acquire_req(session, 10, "ok", None)
            },
            ErrorKind::InvalidArgument,
        ),
        (
            "more permits than the limit",
            pb::AcquireRequest {
                mode: pb::LockMode::Permits as i32,
                permits: 3,
                permit_limit: 2,
                ..acquire_req(session, 11, "ok", None)
            },
            ErrorKind::InvalidArgument,
        ),
        (
            "a semaphore of no permits",
            pb::AcquireRequest {
                mode: pb::LockMode::Permits as i32,
                permits: 0,
                permit_limit: 0,
                ..acquire_req(session, 12, "ok", None)
            },
            ErrorKind::InvalidArgument,
        ),
        (
            "value with a newline",
            pb::AcquireRequest {
                value: "host\nport".into(),
                ..acquire_req(session, 9, "ok", None)
            },
            ErrorKind::InvalidArgument,
        ),
    ];
    for (what, req, kind) in cases {
        let err = stub.acquire(req).await.expect_err(what);
        assert_eq!(kind_of(&err), kind, "{what}: {err:?}");
        assert!(!err.message().is_empty(), "{what}: no message");
    }
    let err = stub
        .open_session(pb::OpenSessionRequest {
            ttl_ms: 10,
            label: String::new(),
            open_id: rand_id(),
        })
        .await
        .expect_err("ttl too short");
    assert_eq!(kind_of(&err), ErrorKind::InvalidArgument);
    let err = stub
        .open_session(pb::OpenSessionRequest {
            ttl_ms: 5_000,
            label: String::new(),
            open_id: vec![1, 2],
        })
        .await
        .expect_err("open id too short");
    assert_eq!(kind_of(&err), ErrorKind::InvalidArgument);
    let err = stub
        .release(pb::ReleaseRequest {
            session_id: session,
            request_id: 9,
            name: "ok".into(),
            owner_id: "zz".into(),
        })
        .await
        .expect_err("bad owner id");
    assert_eq!(kind_of(&err), ErrorKind::InvalidArgument);
    let err = stub
        .force_release(pb::ForceReleaseRequest {
            name: "ok".into(),
            owner_id: "0".repeat(32),
            reason: String::new(),
            retry_id: 0,
        })
        .await
        .expect_err("nobody holds it");
    assert_eq!(kind_of(&err), ErrorKind::NotHolder);
    let all = |request_id, names: Vec<String>, mode: pb::LockMode| pb::AcquireAllRequest {
        session_id: session,
        request_id,
        names,
        mode: mode as i32,
        lock_delay_ms: 0,
        value: String::new(),
        wait: false,
        wait_timeout_ms: 0,
    };
    let too_long = pb::AcquireAllRequest {
        wait: true,
        wait_timeout_ms: 3_600_001,
        ..all(27, vec!["ok".into()], pb::LockMode::Exclusive)
    };
    for (what, req) in [
        ("no names", all(20, Vec::new(), pb::LockMode::Exclusive)),
        ("a wait over an hour", too_long),
        (
            "a name twice",
            all(21, vec!["ok".into(), "ok".into()], pb::LockMode::Exclusive),
        ),
        (
            "65 names",
            all(
                22,
                (0..65).map(|i| format!("n{i}")).collect(),
                pb::LockMode::Exclusive,
            ),
        ),
        ("permits", all(23, vec!["ok".into()], pb::LockMode::Permits)),
        (
            "a bad name",
            all(24, vec!["ok".into(), "a\nb".into()], pb::LockMode::Shared),
        ),
    ] {
        let err = stub.acquire_all(req).await.expect_err(what);
        assert_eq!(kind_of(&err), ErrorKind::InvalidArgument, "{what}: {err:?}");
    }
    for (what, req) in [
        (
            "a value over 1,024 bytes",
            pb::SetValueRequest {
                session_id: session,
                request_id: 25,
                name: "ok".into(),
                owner_id: "0".repeat(32),
                value: "v".repeat(1_025),
            },
        ),
        (
            "a bad owner id",
            pb::SetValueRequest {
                session_id: session,
                request_id: 26,
                name: "ok".into(),
                owner_id: "zz".into(),
                value: String::new(),
            },
        ),
    ] {
        let err = stub.set_value(req).await.expect_err(what);
        assert_eq!(kind_of(&err), ErrorKind::InvalidArgument, "{what}: {err:?}");
    }
    let err = stub
        .watch(pb::WatchRequest {
            prefix: "a\nb".into(),
            start_revision: 0,
        })
        .await
        .expect_err("a bad prefix");
    assert_eq!(kind_of(&err), ErrorKind::InvalidArgument);
    let err = stub
        .request_release(pb::RequestReleaseRequest {
            name: "ok".into(),
            owner_id: "zz".into(),
            reason: String::new(),
        })
        .await
        .expect_err("a bad owner id");
    assert_eq!(kind_of(&err), ErrorKind::InvalidArgument);

    let after = stub
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    assert_eq!(
        after.sessions, before.sessions,
        "a bad request opened a session"
    );
    assert_eq!(after.locks, 0, "a bad request created a lock");
    assert_eq!(
        after.next_token, before.next_token,
        "a bad request granted a token"
    );
    // Garbage on the peer port is refused without harm.
    let mut peer = tenure_proto::raft::raft_client::RaftClient::new(
        tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("peer stub"),
    );
    let err = peer
        .append_entries(tenure_proto::raft::RaftMessage {
            payload: vec![0xff; 64],
        })
        .await
        .expect_err("garbage");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let ok = eventually(Duration::from_secs(2), || {
        let mut stub = stub.clone();
        async move { stub.status(pb::StatusRequest {}).await.ok() }
    })
    .await;
    assert!(ok.is_some(), "server stopped answering");
}

#[tokio::test]
async fn a_follower_that_missed_compacted_entries_catches_up_from_a_snapshot() {
    let mut cluster = Cluster::start_with(3, &["--snapshot-logs", "40"]);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let lagging = cluster
        .nodes
        .iter()
        .map(|n| n.id)
        .find(|&id| id != leader)
        .expect("follower");
    cluster.kill(lagging);
    let client = cluster.client(Duration::from_secs(10)).await;
    let kept = client.try_lock("snap/kept").await.expect("acquire");
    for i in 0..150 {
        let l = client
            .try_lock(&format!("snap/{}", i % 7))
            .await
            .expect("acquire");
        l.release().await.expect("release");
    }
    let snapshot = cluster.data_dir(leader).join("state/snapshot.bin");
    assert!(snapshot.exists(), "the leader took no snapshot");
    cluster.restart(lagging);
    let addr = cluster.node(lagging).addr.clone();
    let leader_addr = cluster.node(leader).addr.clone();
    let caught_up = eventually(Duration::from_secs(20), || {
        let (addr, leader_addr) = (addr.clone(), leader_addr.clone());
        async move {
            let mut f = try_raw(&addr).await?;
            let mut l = try_raw(&leader_addr).await?;
            let fs = f.status(pb::StatusRequest {}).await.ok()?.into_inner();
            let ls = l.status(pb::StatusRequest {}).await.ok()?.into_inner();
            (fs.applied_index >= ls.applied_index && fs.next_token == ls.next_token)
                .then_some((fs, ls))
        }
    })
    .await;
    let (fs, ls) = caught_up.expect("the restarted follower did not catch up");
    assert_eq!(fs.sessions, ls.sessions);
    assert_eq!(fs.locks, ls.locks);
    // The caught-up follower and the other node can carry on without the leader.
    cluster.kill(leader);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let other = cluster.client(Duration::from_secs(5)).await;
    let info = other
        .describe("snap/kept")
        .await
        .expect("describe")
        .expect("still held");
    assert_eq!(info.holders[0].token, kept.fencing_token());
    assert!(kept.is_held());
}

async fn http_get(addr: &str, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return String::new();
    };
    let req = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    let mut body = String::new();
    if stream.write_all(req.as_bytes()).await.is_ok() {
        let _ = stream.read_to_string(&mut body).await;
    }
    body
}

#[tokio::test]
async fn nodes_serve_prometheus_metrics() {
    let cluster = Cluster::start_opts(3, &[], true);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let client = cluster.client(Duration::from_secs(5)).await;
    let _lock = client.try_lock("metrics/x").await.expect("acquire");
    let metrics_addr = cluster
        .node(leader)
        .metrics_addr
        .clone()
        .expect("metrics enabled");
    let text = eventually(Duration::from_secs(5), || {
        let addr = metrics_addr.clone();
        async move {
            let text = http_get(&addr, "/metrics").await;
            text.contains("tenure_keepalives_total").then_some(text)
        }
    })
    .await
    .expect("metrics with keepalives");
    assert!(
        text.starts_with("HTTP/1.0 200") || text.starts_with("HTTP/1.1 200"),
        "{text}"
    );
    for line in ["tenure_is_leader 1", "tenure_sessions 1", "tenure_locks 1"] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.contains("tenure_commit_seconds_bucket"));
    let follower = cluster
        .nodes
        .iter()
        .find(|n| n.id != leader)
        .expect("follower");
    let addr = follower.metrics_addr.clone().expect("metrics");
    let text = eventually(Duration::from_secs(5), || {
        let addr = addr.clone();
        async move {
            let text = http_get(&addr, "/metrics").await;
            text.contains("tenure_is_leader").then_some(text)
        }
    })
    .await
    .unwrap_or_else(|| panic!("no metrics from the follower\n{}", cluster.logs()));
    assert!(text.lines().any(|l| l == "tenure_is_leader 0"), "{text}");
}

fn member_ids(members: &[tenure::MemberInfo]) -> Vec<u64> {
    members.iter().map(|m| m.id).collect()
}

#[tokio::test]
async fn members_can_be_added_and_removed_at_run_time() {
    let mut cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let client = cluster.client(Duration::from_secs(10)).await;
    let first = client.try_lock("members/x").await.expect("acquire");
    let token = first.fencing_token();
    first.release().await.expect("release");

    // Bad requests change nothing.
    for (id, addr) in [
        (0, "127.0.0.1:1"),
        (9, "no-port"),
        (9, "host:0"),
        (2, "127.0.0.1:1"),
    ] {
        let e = client.add_member(id, addr).await.expect_err("refused");
        assert_eq!(
            e.kind(),
            tenure::ErrorKind::InvalidArgument,
            "{id} {addr}: {e}"
        );
    }

    let new = cluster.start_joining_node();
    let addr = cluster.node(new).addr.clone();
    let members = client.add_member(new, &addr).await.expect("add member");
    assert_eq!(member_ids(&members), vec![1, 2, 3, new]);
    let again = client.add_member(new, &addr).await.expect("a retried add");
    assert_eq!(member_ids(&again), vec![1, 2, 3, new]);
    let applied = client.status().await.expect("status").applied_index;
    let caught_up = eventually(Duration::from_secs(10), || async {
        let s = client.node_status(&addr).await.ok()?;
        (s.members.len() == 4 && s.applied_index >= applied).then_some(s)
    })
    .await;
    assert!(caught_up.is_some(), "node {new} did not catch up");

    // Voters {2, 3, 4}: with 1 removed and 2 killed, 3 and 4 are a majority,
    // which holds only if 4 votes.
    let members = client.remove_member(1).await.expect("remove member");
    assert_eq!(member_ids(&members), vec![2, 3, new]);
    cluster.kill(1);
    cluster.kill(2);
    let lock = client
        .lock("members/x", Duration::from_secs(15))
        .await
        .expect("served by nodes 3 and 4");
    assert!(lock.fencing_token() > token);
    let status = client.status().await.expect("status");
    assert_eq!(member_ids(&status.members), vec![2, 3, new]);
    let audit = client.audit(100).await.expect("audit");
    assert!(audit.iter().any(|r| r.action == "add-member"));
}
