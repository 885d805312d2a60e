//! Integration tests of the client core against real server processes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use tenure::{AcquireOptions, Client, ClientOptions, ErrorKind, LostReason, SessionState};
use tenure_tests::fenced::{FencedStore, Write};
use tenure_tests::proxy::Proxy;
use tenure_tests::{Cluster, eventually};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

const LEADER_WAIT: Duration = Duration::from_secs(10);

/// A holder in its own process (see src/bin/tenure-test-holder.rs).
struct Holder {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Holder {
    async fn start(
        cluster: &Cluster,
        lock: &str,
        ttl_ms: u64,
        db: &std::path::Path,
    ) -> (Holder, Value) {
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tenure-test-holder"))
            .args([&cluster.endpoints_csv(), lock, &ttl_ms.to_string()])
            .arg(db)
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn holder");
        let stdout = child.stdout.take().expect("stdout");
        let mut holder = Holder {
            child,
            lines: BufReader::new(stdout).lines(),
        };
        let acquired = holder.next_event(Duration::from_secs(20)).await;
        assert_eq!(acquired["event"], "acquired", "{acquired}");
        (holder, acquired)
    }

    async fn next_event(&mut self, timeout: Duration) -> Value {
        let line = tokio::time::timeout(timeout, self.lines.next_line())
            .await
            .expect("holder event in time")
            .expect("holder stdout")
            .expect("holder exited early");
        serde_json::from_str(&line).expect("json event")
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id().expect("running") as i32)
    }
}

async fn client(cluster: &Cluster, ttl: Duration) -> Client {
    cluster.client(ttl).await
}

#[tokio::test]
async fn leader_killed_while_locks_are_held_loses_nothing() {
    let mut cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let c = client(&cluster, Duration::from_secs(3)).await;
    let mut locks = Vec::new();
    for i in 0..3 {
        locks.push(c.try_lock(&format!("held/{i}")).await.expect("acquire"));
    }
    let session = c.session_id().await;
    cluster.kill(leader);
    // Three TTLs pass across the failover: nothing may be lost.
    tokio::time::sleep(Duration::from_secs(9)).await;
    for l in &locks {
        assert!(l.is_held(), "{} lost: {:?}", l.name(), l.lost_reason());
    }
    assert_eq!(c.session_id().await, session);
    assert_eq!(c.session_state(), SessionState::Healthy);
    let next = c
        .try_lock("held/after")
        .await
        .expect("the client carries on");
    assert!(next.fencing_token() > locks[2].fencing_token());
    for l in &locks {
        l.release().await.expect("release after failover");
    }
    let info = c.list_locks("held/").await.expect("list");
    assert_eq!(info.len(), 1, "{info:?}");
}

#[tokio::test]
async fn paused_client_learns_it_lost_the_lock_before_anyone_else_gets_it() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let db = cluster.dir().join("fenced.sqlite");
    FencedStore::open(&db).expect("db");
    let (mut holder, acquired) = Holder::start(&cluster, "gc/pause", 2_000, &db).await;
    let stale_token = acquired["token"].as_u64().expect("token");
    // A GC pause longer than the TTL.
    kill(holder.pid(), Signal::SIGSTOP).expect("SIGSTOP");
    let next = client(&cluster, Duration::from_secs(5)).await;
    let lock = next
        .lock("gc/pause", Duration::from_secs(20))
        .await
        .expect("next holder");
    assert!(lock.fencing_token() > stale_token);
    let mut store = FencedStore::open(&db).expect("db");
    assert_eq!(
        store
            .write("gc/pause", lock.fencing_token(), "next")
            .expect("write"),
        Write::Accepted
    );
    let granted_at = next
        .describe("gc/pause")
        .await
        .expect("describe")
        .expect("held")
        .holders[0]
        .granted_at_ms;
    kill(holder.pid(), Signal::SIGCONT).expect("SIGCONT");
    let lost = holder.next_event(Duration::from_secs(10)).await;
    assert_eq!(lost["event"], "lost", "{lost}");
    assert_eq!(lost["reason"], "session expired");
    // G3: the next grant was made after the paused holder's own local expiry.
    let expiry = lost["expiry_unix_ms"].as_u64().expect("expiry");
    assert!(
        granted_at >= expiry,
        "granted at {granted_at} before the holder's local expiry {expiry}"
    );
    // Its late write is rejected by the fencing check.
    let write = holder.next_event(Duration::from_secs(10)).await;
    assert_eq!(write["event"], "write");
    assert_eq!(write["accepted"], false, "stale write accepted");
    assert_eq!(
        store.tokens("gc/pause").expect("tokens"),
        vec![lock.fencing_token()]
    );
}

#[tokio::test]
async fn killed_holder_passes_the_lock_after_its_ttl_or_at_once_with_force_release() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let db = cluster.dir().join("fenced.sqlite");
    let waiter = client(&cluster, Duration::from_secs(5)).await;

    // kill -9: the waiter gets the lock once the TTL has passed.
    let (mut holder, acquired) = Holder::start(&cluster, "crash/ttl", 2_000, &db).await;
    let killed = Instant::now();
    holder.child.start_kill().expect("kill -9");
    let lock = waiter
        .lock("crash/ttl", Duration::from_secs(20))
        .await
        .expect("waiter");
    let waited = killed.elapsed();
    assert!(lock.fencing_token() > acquired["token"].as_u64().expect("token"));
    assert!(
        waited >= Duration::from_millis(1_500),
        "granted {waited:?} after the kill, before the TTL"
    );
    assert!(
        waited < Duration::from_secs(6),
        "granted only {waited:?} after the kill"
    );

    // With force-release (owner id CAS), the waiter gets it at once.
    let (mut holder, acquired) = Holder::start(&cluster, "crash/force", 30_000, &db).await;
    holder.child.start_kill().expect("kill -9");
    let owner = acquired["owner"].as_str().expect("owner").to_owned();
    let w = waiter.clone();
    let waiting = tokio::spawn(async move { w.lock("crash/force", Duration::from_secs(20)).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    let admin = Client::connect_lazy(cluster.endpoints(), ClientOptions::default()).expect("admin");
    let wrong = admin
        .force_release("crash/force", &"0".repeat(32), "wrong owner")
        .await;
    assert_eq!(
        wrong.expect_err("CAS must fail").kind(),
        ErrorKind::NotHolder
    );
    let granted = admin
        .force_release("crash/force", &owner, "holder crashed")
        .await
        .expect("force");
    assert_eq!(granted.len(), 1);
    let lock = waiting.await.expect("join").expect("granted");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "force-release took {:?}",
        started.elapsed()
    );
    assert!(lock.fencing_token() > acquired["token"].as_u64().expect("token"));
    assert_eq!(granted[0].token, lock.fencing_token());
    let audit = admin.audit(10).await.expect("audit");
    assert!(audit.iter().any(|r| r.action == "force-release"
        && r.target == "crash/force"
        && r.detail.contains(&owner)));
}

#[tokio::test]
async fn blacklisted_session_loses_its_lock_and_the_lock_passes_on_at_the_deadline() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let zombie = client(&cluster, Duration::from_secs(3)).await;
    let lock = zombie.try_lock("zombie/x").await.expect("acquire");
    let session = lock.session_id();
    let admin = Client::connect_lazy(cluster.endpoints(), ClientOptions::default()).expect("admin");
    let waiter = client(&cluster, Duration::from_secs(5)).await;
    let w = waiter.clone();
    let waiting = tokio::spawn(async move {
        let l = w.lock("zombie/x", Duration::from_secs(20)).await;
        (l, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let blacklisted_at = Instant::now();
    let left = admin.blacklist(session, "zombie").await.expect("blacklist");
    assert!(left <= Duration::from_secs(3));
    // The owner learns at its next renewal that the lock is lost.
    let reason = tokio::time::timeout(Duration::from_secs(3), lock.lost())
        .await
        .expect("lost in time");
    assert_eq!(reason, LostReason::SessionBlacklisted);
    assert!(!lock.is_held());
    // The lock passes on at the session's deadline, not before.
    let (next, granted_at) = waiting.await.expect("join");
    let next = next.expect("waiter gets it");
    let after = granted_at.duration_since(blacklisted_at);
    assert!(
        after + Duration::from_millis(100) >= left,
        "passed on after {after:?}, deadline was {left:?} away"
    );
    assert!(next.fencing_token() > lock.fencing_token());
    // The zombie's client starts a fresh session for later work.
    let fresh = zombie
        .try_lock("zombie/other")
        .await
        .expect("fresh session");
    assert_ne!(fresh.session_id(), session);
    let audit = admin.audit(10).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|r| r.action == "blacklist" && r.target == format!("session {session}"))
    );
}

#[tokio::test]
async fn retried_acquire_and_release_after_a_dropped_reply_apply_once() {
    let cluster = Cluster::start(3);
    let leader = cluster.wait_for_leader(LEADER_WAIT).await;
    let proxy = Proxy::start(cluster.node(leader).addr.clone()).await;
    let options = ClientOptions {
        ttl: Duration::from_secs(5),
        attempt_timeout: Duration::from_millis(1_000),
        ..ClientOptions::default()
    };
    let c = Client::connect([proxy.addr.clone()], options)
        .await
        .expect("connect via proxy");
    let admin = Client::connect_lazy(cluster.endpoints(), ClientOptions::default()).expect("admin");
    let before = admin.status().await.expect("status").next_token;

    proxy.cut_next_reply();
    let started = Instant::now();
    let lock = c
        .try_lock("retry/x")
        .await
        .expect("acquire despite the lost reply");
    assert_eq!(proxy.cuts(), 1, "the reply was not cut");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "no retry was needed"
    );
    let after = admin.status().await.expect("status").next_token;
    assert_eq!(after, before + 1, "the retried acquire granted twice");
    let info = admin
        .describe("retry/x")
        .await
        .expect("describe")
        .expect("held");
    assert_eq!(info.holders.len(), 1);
    assert_eq!(info.holders[0].owner_id, lock.owner_id());

    proxy.cut_next_reply();
    lock.release()
        .await
        .expect("release despite the lost reply");
    assert_eq!(proxy.cuts(), 2);
    assert!(admin.describe("retry/x").await.expect("describe").is_none());
    // The released lock is free for a new grant (the retry did not re-acquire).
    let again = c.try_lock("retry/x").await.expect("acquire again");
    assert_eq!(
        again.fencing_token(),
        after,
        "a token was spent by the retried release"
    );
}

#[tokio::test]
async fn dropping_a_waiting_acquire_withdraws_it() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let a = client(&cluster, Duration::from_secs(5)).await;
    let b = client(&cluster, Duration::from_secs(5)).await;
    let held = a.try_lock("cancel/x").await.expect("acquire");
    let waiting = b.lock("cancel/x", Duration::from_secs(30));
    let timed_out = tokio::time::timeout(Duration::from_millis(500), waiting).await;
    assert!(timed_out.is_err(), "the waiter should still be waiting");
    let withdrawn = eventually(Duration::from_secs(5), || {
        let a = a.clone();
        async move {
            let info = a.describe("cancel/x").await.ok()??;
            info.waiters.is_empty().then_some(())
        }
    })
    .await;
    assert!(withdrawn.is_some(), "the dropped acquire is still queued");
    held.release().await.expect("release");
    // Nobody got it behind our back.
    assert!(a.describe("cancel/x").await.expect("describe").is_none());
    // A waiting acquire with a timeout fails with Timeout.
    let _held = a.try_lock("cancel/y").await.expect("acquire");
    let err = b
        .lock("cancel/y", Duration::from_millis(300))
        .await
        .expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn run_cancels_work_when_the_lock_is_force_released() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let c = client(&cluster, Duration::from_secs(3)).await;
    let lock = c.try_lock("run/x").await.expect("acquire");
    let (tx, rx) = std::sync::mpsc::channel();
    lock.on_lost(move |reason| {
        let _ = tx.send(reason);
    });
    let admin = Client::connect_lazy(cluster.endpoints(), ClientOptions::default()).expect("admin");
    let owner = lock.owner_id();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        admin.force_release("run/x", &owner, "test").await
    });
    let work = lock.run(async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "finished"
    });
    let result = tokio::time::timeout(Duration::from_secs(5), work)
        .await
        .expect("cancelled in time");
    assert_eq!(result.expect_err("lost").kind(), ErrorKind::LockLost);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(1)).expect("callback"),
        LostReason::ForceReleased
    );
    assert!(!lock.is_held());
    lock.release().await.expect("release of a lost lock is Ok");
    // with_lock releases when the work is done.
    let out = c
        .with_lock("run/y", AcquireOptions::try_once(), |l| async move {
            l.fencing_token()
        })
        .await
        .expect("with_lock");
    assert!(out > 0);
    assert!(c.describe("run/y").await.expect("describe").is_none());
}
