//! Integration tests of the client core against real server processes.

use std::time::{Duration, Instant};

use tenure::{AcquireOptions, Client, ClientOptions, ErrorKind, LostReason};
use tenure_tests::Cluster;
use tenure_tests::holder::Holder;

const LEADER_WAIT: Duration = Duration::from_secs(10);
const HOLDER: &str = env!("CARGO_BIN_EXE_tenure-test-holder");

async fn client(cluster: &Cluster, ttl: Duration) -> Client {
    cluster.client(ttl).await
}

#[tokio::test]
async fn killed_holder_passes_the_lock_after_its_ttl_or_at_once_with_force_release() {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let db = cluster.dir().join("fenced.sqlite");
    let waiter = client(&cluster, Duration::from_secs(5)).await;

    // kill -9: the waiter gets the lock once the TTL has passed.
    let (mut holder, acquired) = Holder::start(HOLDER, &cluster, "crash/ttl", 2_000, &db).await;
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
    let (mut holder, acquired) = Holder::start(HOLDER, &cluster, "crash/force", 30_000, &db).await;
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

#[tokio::test]
async fn client_metrics_count_acquires_releases_and_losses_per_prefix() {
    let cluster = Cluster::start(1);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let a = client(&cluster, Duration::from_secs(5)).await;
    let b = client(&cluster, Duration::from_secs(5)).await;
    let first = a.try_lock("metrics/x").await.expect("x");
    let err = b.try_lock("metrics/x").await.expect_err("held");
    assert_eq!(err.kind(), ErrorKind::LockHeld);
    first.release().await.expect("release");
    let second = b.try_lock("metrics/x").await.expect("x again");
    a.force_release("metrics/x", &second.owner_id(), "test")
        .await
        .expect("force-release");
    tokio::time::timeout(Duration::from_secs(10), second.lost())
        .await
        .expect("lost within 10 s");
    let of = |c: &Client| {
        c.metrics()
            .into_iter()
            .find(|p| p.prefix == "metrics/")
            .expect("the prefix is counted")
    };
    let (ma, mb) = (of(&a), of(&b));
    assert_eq!(
        (ma.acquired, ma.acquire_failed, ma.released, ma.lost),
        (1, 0, 1, 0)
    );
    assert_eq!(
        (mb.acquired, mb.acquire_failed, mb.released, mb.lost),
        (1, 1, 0, 1)
    );
    let text = b.metrics_text();
    for line in [
        "tenure_client_acquires_total{prefix=\"metrics/\",result=\"ok\"} 1",
        "tenure_client_acquires_total{prefix=\"metrics/\",result=\"LOCK_HELD\"} 1",
        "tenure_client_locks_lost_total{prefix=\"metrics/\",reason=\"force_released\"} 1",
        "tenure_client_hold_seconds_count{prefix=\"metrics/\"} 1",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
}

/// Polls `name` until its queue holds `waiters` entries (10 s at most).
async fn until_waiters(c: &Client, name: &str, waiters: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = c.describe(name).await.expect("describe");
        if now.as_ref().map_or(0, |l| l.waiters.len()) == waiters {
            return;
        }
        assert!(Instant::now() < deadline, "{name}: {now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn acquire_all_waits_in_fifo_order_and_a_dropped_or_timed_out_wait_leaves_nothing() {
    let cluster = Cluster::start(1);
    cluster.wait_for_leader(LEADER_WAIT).await;
    let a = client(&cluster, Duration::from_secs(5)).await;
    let b = client(&cluster, Duration::from_secs(5)).await;
    let c = client(&cluster, Duration::from_secs(5)).await;
    let held = a.try_lock("q/b").await.expect("q/b");
    let waiter = b.clone();
    let all = tokio::spawn(async move {
        waiter
            .acquire_all(
                &["q/c", "q/b"],
                AcquireOptions::wait(Duration::from_secs(20)),
            )
            .await
    });
    // b waits in both queues, holding neither; a try of q/c does not overtake
    // it, and a waiting acquire of q/c queues behind it.
    until_waiters(&a, "q/c", 1).await;
    let free = a.describe("q/c").await.expect("describe").expect("queued");
    assert!(free.holders.is_empty(), "nothing held while waiting");
    let err = c.try_lock("q/c").await.expect_err("b is first in line");
    assert_eq!(err.kind(), ErrorKind::LockHeld);
    let next = c.clone();
    let single = tokio::spawn(async move {
        next.acquire("q/c", AcquireOptions::wait(Duration::from_secs(20)))
            .await
    });
    until_waiters(&a, "q/c", 2).await;
    held.release().await.expect("release");
    let both = all.await.expect("join").expect("b gets both");
    assert!(both[0].fencing_token() > held.fencing_token());
    assert!(!single.is_finished(), "c waits behind b");
    for lock in &both {
        lock.release().await.expect("release");
    }
    let c_lock = single.await.expect("join").expect("c gets q/c next");
    assert!(c_lock.fencing_token() > both[1].fencing_token());
    c_lock.release().await.expect("release");

    // A wait that runs out, and a wait dropped by its caller, leave no entry.
    let held = a.try_lock("q/b").await.expect("q/b again");
    let err = b
        .acquire_all(
            &["q/c", "q/b"],
            AcquireOptions::wait(Duration::from_millis(300)),
        )
        .await
        .expect_err("q/b stays held");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    until_waiters(&a, "q/b", 0).await;
    let waiter = b.clone();
    let dropped = tokio::spawn(async move {
        waiter
            .acquire_all(
                &["q/c", "q/b"],
                AcquireOptions::wait(Duration::from_secs(20)),
            )
            .await
    });
    until_waiters(&a, "q/b", 1).await;
    dropped.abort();
    until_waiters(&a, "q/b", 0).await;
    assert!(a.describe("q/c").await.expect("describe").is_none());
    held.release().await.expect("release");
    let counted = b
        .metrics()
        .into_iter()
        .find(|p| p.prefix == "q/")
        .expect("counted");
    // Two names per call: one granted, one timed out, one dropped.
    assert_eq!((counted.acquired, counted.acquire_failed), (2, 4));
}
