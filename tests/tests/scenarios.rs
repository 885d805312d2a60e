//! The shared scenario list (tests/scenarios.toml), run by the Rust core
//! against real server processes. The Python, Node and Kotlin runners run the
//! same list; each fails when it lacks a scenario of the file.

use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use tenure::{AcquireOptions, Client, ClientOptions, ErrorKind, Fence, LostReason, SessionState};
use tenure_tests::fenced::{FencedStore, Write};
use tenure_tests::holder::Holder;
use tenure_tests::proxy::Proxy;
use tenure_tests::{Cluster, eventually};

const LEADER_WAIT: Duration = Duration::from_secs(10);
const HOLDER: &str = env!("CARGO_BIN_EXE_tenure-test-holder");

/// One test per scenario id, and the list of ids that have one.
macro_rules! scenarios {
    ($($id:ident),* $(,)?) => {
        const IMPLEMENTED: &[&str] = &[$(stringify!($id)),*];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $id() {
                scenario::$id().await
            }
        )*
    };
}

scenarios!(
    acquire_release_rising_tokens,
    fifo_handover_three_waiters,
    wait_timeout,
    try_lock,
    already_held,
    lock_value,
    semaphore,
    revoke_request,
    watch_prefix,
    election,
    acquire_all,
    cancel_withdraws,
    shared_mode,
    lost_after_blacklist,
    lost_after_sigstop,
    jeopardy_then_expired,
    force_release,
    leader_killed_lock_held,
    retried_request_applies_once,
    bad_input,
    scope_exit_after_loss,
    release_on_drop,
    clean_exit_with_open_clients,
    env_configuration,
);

/// The ids of tests/scenarios.toml, in order.
fn listed() -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct File {
        scenario: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        id: String,
        expect: String,
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios.toml");
    let text = std::fs::read_to_string(path).expect("read tests/scenarios.toml");
    let file: File = toml::from_str(&text).expect("parse tests/scenarios.toml");
    assert!(file.scenario.iter().all(|e| !e.expect.is_empty()));
    file.scenario.into_iter().map(|e| e.id).collect()
}

#[test]
fn every_listed_scenario_runs_in_rust() {
    let listed = listed();
    let missing: Vec<&String> = listed
        .iter()
        .filter(|id| !IMPLEMENTED.contains(&id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "scenarios without a Rust test: {missing:?}"
    );
    let unlisted: Vec<&&str> = IMPLEMENTED
        .iter()
        .filter(|id| !listed.iter().any(|l| l == *id))
        .collect();
    assert!(
        unlisted.is_empty(),
        "Rust scenarios not in tests/scenarios.toml: {unlisted:?}"
    );
}

async fn client(cluster: &Cluster, ttl: Duration) -> Client {
    cluster.client(ttl).await
}

async fn started() -> Cluster {
    let cluster = Cluster::start(3);
    cluster.wait_for_leader(LEADER_WAIT).await;
    cluster
}

/// The next batch of a watcher, within 10 seconds.
async fn next_batch(watcher: &tenure::Watcher) -> tenure::WatchBatch {
    tokio::time::timeout(Duration::from_secs(10), watcher.next())
        .await
        .expect("a batch within 10 s")
        .expect("watch")
}

/// The codes of a batch's changes.
fn changes(batch: &tenure::WatchBatch) -> Vec<&'static str> {
    batch.events.iter().map(|e| e.change.code()).collect()
}

/// The next leader an observer reports, within 10 seconds.
async fn next_leader(observer: &tenure::Observer) -> Option<tenure::Leader> {
    tokio::time::timeout(Duration::from_secs(10), observer.next())
        .await
        .expect("a leader change within 10 s")
        .expect("observe")
}

async fn admin(cluster: &Cluster) -> Client {
    Client::connect_lazy(cluster.endpoints(), ClientOptions::default()).expect("admin")
}

mod scenario {
    use super::*;

    pub async fn leader_killed_lock_held() {
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

    pub async fn lost_after_sigstop() {
        let cluster = Cluster::start(3);
        cluster.wait_for_leader(LEADER_WAIT).await;
        let db = cluster.dir().join("fenced.sqlite");
        FencedStore::open(&db).expect("db");
        let (mut holder, acquired) = Holder::start(HOLDER, &cluster, "gc/pause", 2_000, &db).await;
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

    pub async fn lost_after_blacklist() {
        let cluster = Cluster::start(3);
        cluster.wait_for_leader(LEADER_WAIT).await;
        let zombie = client(&cluster, Duration::from_secs(3)).await;
        let lock = zombie.try_lock("zombie/x").await.expect("acquire");
        let session = lock.session_id();
        let admin =
            Client::connect_lazy(cluster.endpoints(), ClientOptions::default()).expect("admin");
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

    pub async fn retried_request_applies_once() {
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
        let admin =
            Client::connect_lazy(cluster.endpoints(), ClientOptions::default()).expect("admin");
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

    pub async fn cancel_withdraws() {
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

    pub async fn acquire_release_rising_tokens() {
        let cluster = started().await;
        let c = client(&cluster, Duration::from_secs(5)).await;
        let mut last = 0;
        for _ in 0..3 {
            let lock = c.try_lock("s/rising").await.expect("acquire");
            assert!(lock.fencing_token() > last, "token did not rise");
            last = lock.fencing_token();
            lock.release().await.expect("release");
            assert!(!lock.is_held());
            assert!(c.describe("s/rising").await.expect("describe").is_none());
        }
    }

    pub async fn fifo_handover_three_waiters() {
        let cluster = started().await;
        let holder = client(&cluster, Duration::from_secs(5)).await;
        let first = holder.try_lock("s/fifo").await.expect("acquire");
        let admin = admin(&cluster).await;
        let mut waiters = Vec::new();
        for i in 0..3 {
            let w = client(&cluster, Duration::from_secs(5)).await;
            let task = tokio::spawn(async move {
                let lock = w.lock("s/fifo", Duration::from_secs(30)).await;
                (w, lock)
            });
            waiters.push(task);
            // Queued in this order before the next one starts.
            eventually(Duration::from_secs(5), || async {
                let info = admin.describe("s/fifo").await.ok().flatten()?;
                (info.waiters.len() == i + 1).then_some(())
            })
            .await
            .expect("waiter queued");
        }
        let mut token = first.fencing_token();
        first.release().await.expect("release");
        for task in waiters {
            let (_w, lock) = task.await.expect("waiter task");
            let lock = lock.expect("granted in turn");
            assert!(lock.fencing_token() > token, "FIFO order or token broken");
            token = lock.fencing_token();
            lock.release().await.expect("release");
        }
    }

    pub async fn wait_timeout() {
        let cluster = started().await;
        let a = client(&cluster, Duration::from_secs(5)).await;
        let b = client(&cluster, Duration::from_secs(5)).await;
        let _held = a.try_lock("s/timeout").await.expect("acquire");
        let err = b
            .lock("s/timeout", Duration::from_millis(300))
            .await
            .expect_err("still held");
        assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
        let info = a
            .describe("s/timeout")
            .await
            .expect("describe")
            .expect("held");
        assert!(info.waiters.is_empty(), "a waiter stayed behind: {info:?}");
    }

    pub async fn try_lock() {
        let cluster = started().await;
        let a = client(&cluster, Duration::from_secs(5)).await;
        let b = client(&cluster, Duration::from_secs(5)).await;
        let held = a.try_lock("s/try").await.expect("free lock");
        let err = b.try_lock("s/try").await.expect_err("held");
        assert_eq!(err.kind(), ErrorKind::LockHeld, "{err}");
        held.release().await.expect("release");
        b.try_lock("s/try").await.expect("free again");
    }

    pub async fn already_held() {
        let cluster = started().await;
        let a = client(&cluster, Duration::from_secs(5)).await;
        let b = client(&cluster, Duration::from_secs(5)).await;
        let held = a.try_lock("s/again").await.expect("free lock");
        let err = a.try_lock("s/again").await.expect_err("held by a");
        assert_eq!(err.kind(), ErrorKind::AlreadyHeld, "{err}");
        // A waiting acquire too: queued behind its own grant it would end
        // with TIMEOUT after its wait, not ALREADY_HELD.
        let err = a
            .lock("s/again", Duration::from_secs(10))
            .await
            .expect_err("held by a");
        assert_eq!(err.kind(), ErrorKind::AlreadyHeld, "{err}");
        let info = a
            .describe("s/again")
            .await
            .expect("describe")
            .expect("held");
        assert!(info.waiters.is_empty(), "queued behind itself: {info:?}");
        let waiting = tokio::spawn(async move { b.lock("s/again", Duration::from_secs(20)).await });
        eventually(Duration::from_secs(10), || async {
            let info = a.describe("s/again").await.ok()??;
            (info.waiters.len() == 1).then_some(())
        })
        .await
        .expect("b queued");
        let first = held.fencing_token();
        held.release().await.expect("release");
        let theirs = waiting.await.expect("join").expect("b gets it");
        theirs.release().await.expect("b releases");
        let again = a.try_lock("s/again").await.expect("a again");
        assert!(again.fencing_token() > theirs.fencing_token() && theirs.fencing_token() > first);
    }

    pub async fn lock_value() {
        let cluster = started().await;
        let a = client(&cluster, Duration::from_secs(5)).await;
        let b = client(&cluster, Duration::from_secs(5)).await;
        let held = a
            .acquire(
                "s/valued",
                AcquireOptions::try_once().with_value("a at 10.0.0.1:80"),
            )
            .await
            .expect("free lock");
        let waiting = tokio::spawn(async move {
            let wait = AcquireOptions::wait(Duration::from_secs(20)).with_value("b\twaits");
            b.acquire("s/valued", wait).await
        });
        let info = eventually(Duration::from_secs(10), || async {
            let info = a.describe("s/valued").await.ok()??;
            (info.waiters.len() == 1).then_some(info)
        })
        .await
        .expect("b queued");
        assert_eq!(info.holders[0].value, "a at 10.0.0.1:80");
        assert_eq!(info.waiters[0].value, "b\twaits");
        let listed = a.list_locks("s/valued").await.expect("list");
        assert_eq!(listed[0].holders[0].value, "a at 10.0.0.1:80");
        held.release().await.expect("release");
        let theirs = waiting.await.expect("join").expect("b gets it");
        let info = a
            .describe("s/valued")
            .await
            .expect("describe")
            .expect("held");
        assert_eq!(info.holders[0].value, "b\twaits");
        theirs.release().await.expect("release");
        for bad in ["v".repeat(1_025), "two\nlines".to_owned()] {
            let err = a
                .acquire("s/valued", AcquireOptions::try_once().with_value(bad))
                .await
                .expect_err("bad value");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        }
        assert!(a.describe("s/valued").await.expect("describe").is_none());
    }

    pub async fn semaphore() {
        let cluster = started().await;
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(client(&cluster, Duration::from_secs(5)).await);
        }
        let permit = AcquireOptions::try_once().permits(1, 2);
        let one = clients[0]
            .acquire("s/sem", permit.clone())
            .await
            .expect("first permit");
        let two = clients[1]
            .acquire("s/sem", permit.clone())
            .await
            .expect("second permit");
        assert!(two.fencing_token() > one.fencing_token());
        assert_ne!(one.owner_id(), two.owner_id());
        let err = clients[2]
            .acquire("s/sem", permit.clone())
            .await
            .expect_err("full");
        assert_eq!(err.kind(), ErrorKind::LockHeld, "{err}");
        for other in [
            AcquireOptions::try_once().permits(1, 3),
            AcquireOptions::try_once(),
        ] {
            let err = clients[2]
                .acquire("s/sem", other)
                .await
                .expect_err("mismatch");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        }
        let third = clients[2].clone();
        let waiting = tokio::spawn(async move {
            let wait = AcquireOptions::wait(Duration::from_secs(20)).permits(1, 2);
            third.acquire("s/sem", wait).await
        });
        let admin = clients[3].clone();
        eventually(Duration::from_secs(10), || async {
            let info = admin.describe("s/sem").await.ok()??;
            (info.waiters.len() == 1).then_some(())
        })
        .await
        .expect("third queued");
        one.release().await.expect("release");
        let three = waiting.await.expect("join").expect("third permit");
        assert!(three.fencing_token() > two.fencing_token());
        // Closing a holder's client gives its permit back.
        clients[1].close().await.expect("close");
        let four = clients[3]
            .acquire("s/sem", permit)
            .await
            .expect("the closed client's permit");
        let info = clients[3]
            .describe("s/sem")
            .await
            .expect("describe")
            .expect("held");
        assert_eq!(info.permit_limit, 2);
        assert_eq!(info.holders.iter().map(|h| h.permits).sum::<u32>(), 2);
        three.release().await.expect("release");
        four.release().await.expect("release");
    }

    pub async fn revoke_request() {
        let cluster = started().await;
        let holder = client(&cluster, Duration::from_secs(3)).await;
        let other = client(&cluster, Duration::from_secs(3)).await;
        let lock = holder.try_lock("s/revoke").await.expect("lock");
        let (tx, mut calls) = tokio::sync::mpsc::unbounded_channel();
        lock.on_revoke_requested(move || {
            let _ = tx.send(());
        });
        assert!(!lock.is_revoke_requested());
        let nobody = other
            .request_release("s/revoke", Some(&format!("{:032x}", 7)), "not it")
            .await
            .expect("request for another grant");
        assert!(nobody.is_empty(), "{nobody:?}");
        let asked = other
            .request_release("s/revoke", None, "deploy")
            .await
            .expect("request");
        assert_eq!(asked.len(), 1);
        assert_eq!(asked[0].owner_id, lock.owner_id());
        assert_eq!(asked[0].token, lock.fencing_token());
        tokio::time::timeout(Duration::from_secs(10), lock.revoke_requested())
            .await
            .expect("holder told within a few keepalives");
        assert!(lock.is_revoke_requested());
        calls.recv().await.expect("callback ran");
        // Every renewal repeats the request until the grant ends: over two
        // more keepalive intervals the callback still ran only once.
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert!(calls.try_recv().is_err(), "callback ran twice");
        let info = other
            .describe("s/revoke")
            .await
            .expect("describe")
            .expect("held");
        assert!(info.holders[0].release_requested);
        // Still held: the holder decides.
        assert!(lock.is_held());
        let err = other.try_lock("s/revoke").await.expect_err("still held");
        assert_eq!(err.kind(), ErrorKind::LockHeld, "{err}");
        let waiter = other.clone();
        let waiting =
            tokio::spawn(async move { waiter.lock("s/revoke", Duration::from_secs(20)).await });
        eventually(Duration::from_secs(10), || async {
            let info = holder.describe("s/revoke").await.ok()??;
            (info.waiters.len() == 1).then_some(())
        })
        .await
        .expect("waiter queued");
        lock.release().await.expect("release");
        let next = waiting.await.expect("join").expect("waiter gets it");
        assert!(next.fencing_token() > lock.fencing_token());
        assert!(!next.is_revoke_requested());
        let info = holder
            .describe("s/revoke")
            .await
            .expect("describe")
            .expect("held");
        assert!(!info.holders[0].release_requested);
        next.release().await.expect("release");
    }

    pub async fn watch_prefix() {
        let cluster = started().await;
        let a = client(&cluster, Duration::from_secs(5)).await;
        let b = client(&cluster, Duration::from_secs(5)).await;
        let first = a
            .acquire("w/a", AcquireOptions::try_once().with_value("a1"))
            .await
            .expect("w/a");
        let watcher = a.watch("w/", 0).expect("watch");
        let reset = next_batch(&watcher).await;
        assert!(reset.reset && reset.events.is_empty(), "{reset:?}");
        assert_eq!(reset.locks.len(), 1);
        assert_eq!(reset.locks[0].holders[0].value, "a1");
        let waiter = b.clone();
        let waiting = tokio::spawn(async move {
            waiter
                .acquire("w/a", AcquireOptions::wait(Duration::from_secs(20)))
                .await
        });
        let added = next_batch(&watcher).await;
        assert_eq!(changes(&added), ["waiter_added"]);
        let resume_at = added.revision;
        assert!(resume_at > reset.revision);
        // Not under the prefix: not reported.
        let other = a.try_lock("x/other").await.expect("x/other");
        first.release().await.expect("release");
        let second = waiting.await.expect("join").expect("granted");
        second.set_value("b2").await.expect("set value");
        let mut seen = Vec::new();
        let mut last = resume_at;
        while seen.len() < 3 {
            let batch = next_batch(&watcher).await;
            assert!(!batch.reset);
            for e in batch.events {
                assert!(e.revision > last, "revisions must increase");
                last = e.revision;
                assert_eq!(e.name, "w/a");
                seen.push(e);
            }
        }
        let kinds: Vec<&str> = seen.iter().map(|e| e.change.code()).collect();
        assert_eq!(kinds, ["released", "granted", "value_changed"]);
        assert_eq!(seen[0].token, first.fencing_token());
        assert_eq!(seen[1].token, second.fencing_token());
        assert!(seen[1].request_id > 0 && seen[1].session_id == second.session_id());
        assert_eq!(seen[2].value, "b2");
        // A second watcher resumes after the waiter_added batch: no reset.
        let resumed = b.watch("w/", resume_at).expect("watch");
        let mut again = Vec::new();
        while again.len() < 3 {
            let batch = next_batch(&resumed).await;
            assert!(!batch.reset, "resumed with a reset: {batch:?}");
            again.extend(batch.events.iter().map(|e| e.change.code()));
        }
        assert_eq!(again, ["released", "granted", "value_changed"]);
        watcher.close();
        resumed.close();
        other.release().await.expect("release");
        second.release().await.expect("release");
    }

    pub async fn election() {
        let cluster = started().await;
        let a = client(&cluster, Duration::from_secs(3)).await;
        let b = client(&cluster, Duration::from_secs(3)).await;
        let watcher_client = client(&cluster, Duration::from_secs(3)).await;
        let leading = a
            .election("e/leader")
            .expect("election")
            .campaign("n1", Duration::from_secs(5))
            .await
            .expect("a leads");
        let observer = watcher_client
            .election("e/leader")
            .expect("election")
            .observe();
        let seen = next_leader(&observer).await.expect("a leader");
        assert_eq!(
            (seen.value.as_str(), seen.token),
            ("n1", leading.fencing_token())
        );
        let candidate = b.election("e/leader").expect("election");
        let waiting =
            tokio::spawn(async move { candidate.campaign("n2", Duration::from_secs(20)).await });
        eventually(Duration::from_secs(10), || async {
            let info = watcher_client.describe("e/leader").await.ok()??;
            (info.waiters.len() == 1).then_some(())
        })
        .await
        .expect("b waits");
        leading.set_value("n1b").await.expect("proclaim");
        let seen = next_leader(&observer).await.expect("still a");
        assert_eq!(
            (seen.value.as_str(), seen.token),
            ("n1b", leading.fencing_token())
        );
        leading.release().await.expect("resign");
        assert_eq!(next_leader(&observer).await, None, "the leader going away");
        let second = waiting.await.expect("join").expect("b leads");
        let seen = next_leader(&observer).await.expect("b");
        assert_eq!(seen.value, "n2");
        assert_eq!(seen.token, second.fencing_token());
        assert!(seen.token > leading.fencing_token());
        b.close().await.expect("close");
        assert_eq!(
            next_leader(&observer).await,
            None,
            "the closed leader going away"
        );
        let now = watcher_client
            .election("e/leader")
            .expect("election")
            .leader()
            .await;
        assert_eq!(now.expect("leader()"), None);
        observer.close();
    }

    pub async fn acquire_all() {
        let cluster = started().await;
        let a = client(&cluster, Duration::from_secs(5)).await;
        let b = client(&cluster, Duration::from_secs(5)).await;
        let both = a
            .acquire_all(&["m/a", "m/b"], AcquireOptions::try_once())
            .await
            .expect("both");
        assert_eq!(both.len(), 2);
        assert_ne!(both[0].owner_id(), both[1].owner_id());
        assert!(both[1].fencing_token() > both[0].fencing_token());
        for lock in &both {
            lock.release().await.expect("release");
        }
        let held = b.try_lock("m/b").await.expect("m/b");
        let err = a
            .acquire_all(&["m/c", "m/b"], AcquireOptions::try_once())
            .await
            .expect_err("m/b is held");
        assert_eq!(err.kind(), ErrorKind::LockHeld, "{err}");
        assert!(
            a.describe("m/c").await.expect("describe").is_none(),
            "m/c stays free"
        );
        let waiter = a.clone();
        let waiting = tokio::spawn(async move {
            waiter
                .acquire_all(
                    &["m/c", "m/b"],
                    AcquireOptions::wait(Duration::from_secs(20)),
                )
                .await
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        held.release().await.expect("release");
        let got = waiting
            .await
            .expect("join")
            .expect("both after the release");
        assert_eq!(
            got.iter().map(|l| l.name()).collect::<Vec<_>>(),
            ["m/c", "m/b"]
        );
        assert!(got[1].fencing_token() > held.fencing_token());
        let err = a
            .acquire_all(&["m/d", "m/d"], AcquireOptions::try_once())
            .await
            .expect_err("twice");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        for lock in &got {
            lock.release().await.expect("release");
        }
    }

    pub async fn shared_mode() {
        let cluster = started().await;
        let a = client(&cluster, Duration::from_secs(5)).await;
        let b = client(&cluster, Duration::from_secs(5)).await;
        let c = client(&cluster, Duration::from_secs(5)).await;
        let shared = AcquireOptions::try_once().shared();
        let one = a
            .acquire("s/shared", shared.clone())
            .await
            .expect("shared 1");
        let two = b.acquire("s/shared", shared).await.expect("shared 2");
        assert!(one.is_held() && two.is_held());
        let err = c.try_lock("s/shared").await.expect_err("exclusive blocked");
        assert_eq!(err.kind(), ErrorKind::LockHeld);
        one.release().await.expect("release");
        let err = c.try_lock("s/shared").await.expect_err("still one shared");
        assert_eq!(err.kind(), ErrorKind::LockHeld);
        two.release().await.expect("release");
        c.try_lock("s/shared").await.expect("exclusive after both");
    }

    pub async fn jeopardy_then_expired() {
        let cluster = started().await;
        let c = client(&cluster, Duration::from_secs(2)).await;
        let lock = c.try_lock("s/jeopardy").await.expect("acquire");
        let mut states = c.watch_session();
        for id in 1..=3 {
            cluster.pause(id);
        }
        let seen = tokio::time::timeout(Duration::from_secs(10), async {
            let mut seen = Vec::new();
            while states.changed().await.is_ok() {
                let s = *states.borrow_and_update();
                seen.push(s);
                if s == SessionState::Expired {
                    break;
                }
            }
            seen
        })
        .await
        .expect("expired within the TTL");
        for id in 1..=3 {
            cluster.resume(id);
        }
        assert_eq!(seen, vec![SessionState::Jeopardy, SessionState::Expired]);
        assert!(!lock.is_held());
        assert_eq!(lock.lost_reason(), Some(LostReason::SessionExpired));
    }

    pub async fn force_release() {
        let cluster = started().await;
        let holder = client(&cluster, Duration::from_secs(5)).await;
        let waiter = client(&cluster, Duration::from_secs(5)).await;
        let admin = admin(&cluster).await;
        let old = holder.try_lock("s/force").await.expect("acquire");
        let next = tokio::spawn(async move {
            let lock = waiter.lock("s/force", Duration::from_secs(30)).await;
            (waiter, lock)
        });
        eventually(Duration::from_secs(5), || async {
            let info = admin.describe("s/force").await.ok().flatten()?;
            (!info.waiters.is_empty()).then_some(())
        })
        .await
        .expect("waiter queued");
        let grants = admin
            .force_release("s/force", &old.owner_id(), "scenario")
            .await
            .expect("force-release");
        assert_eq!(grants.len(), 1);
        let (_waiter, lock) = next.await.expect("task");
        let lock = lock.expect("handed over");
        assert!(lock.fencing_token() > old.fencing_token());
        assert_eq!(old.lost().await, LostReason::ForceReleased);
        let err = admin
            .force_release("s/force", &old.owner_id(), "again")
            .await
            .expect_err("stale owner");
        assert_eq!(err.kind(), ErrorKind::NotHolder);
    }

    pub async fn bad_input() {
        let cluster = started().await;
        let c = client(&cluster, Duration::from_secs(5)).await;
        let _kept = c.try_lock("s/bad/kept").await.expect("acquire");
        let before = c.list_locks("").await.expect("list");
        for name in ["".to_owned(), "x".repeat(257), "a\u{7}b".to_owned()] {
            let err = c.try_lock(&name).await.expect_err("bad name");
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name:?}: {err}");
        }
        let err = Fence::parse("no-token").expect_err("bad fence");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        let err = Fence::try_new("", 1).expect_err("empty fence name");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        // Rust's Duration cannot be negative: a zero TTL stands in for a bad duration.
        let options = ClientOptions {
            ttl: Duration::ZERO,
            ..ClientOptions::default()
        };
        let err = Client::connect(cluster.endpoints(), options)
            .await
            .expect_err("bad options");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(c.list_locks("").await.expect("list"), before);
    }

    pub async fn scope_exit_after_loss() {
        let cluster = started().await;
        let c = client(&cluster, Duration::from_secs(5)).await;
        let admin = admin(&cluster).await;
        // Lost during the work: the work is cancelled and LockLost returned.
        let err = c
            .with_lock("s/scope", AcquireOptions::try_once(), |lock| {
                let admin = admin.clone();
                async move {
                    admin
                        .force_release("s/scope", &lock.owner_id(), "scenario")
                        .await
                        .expect("force-release");
                    std::future::pending::<()>().await
                }
            })
            .await
            .expect_err("lost during the scope");
        assert_eq!(err.kind(), ErrorKind::LockLost, "{err}");
        // Lost, then the scope ends (finish): LockLost too.
        let lock = c.try_lock("s/scope").await.expect("acquire");
        admin
            .force_release("s/scope", &lock.owner_id(), "scenario")
            .await
            .expect("force-release");
        lock.lost().await;
        let err = lock.finish().await.expect_err("lost before the end");
        assert_eq!(err.kind(), ErrorKind::LockLost);
        // A scope that keeps its lock ends quietly.
        let out = c
            .with_lock("s/scope", AcquireOptions::try_once(), |_| async { 7 })
            .await
            .expect("held all along");
        assert_eq!(out, 7);
    }

    pub async fn release_on_drop() {
        let cluster = started().await;
        let a = client(&cluster, Duration::from_secs(30)).await;
        let b = client(&cluster, Duration::from_secs(5)).await;
        let lock = a.try_lock("s/drop").await.expect("acquire");
        // Dropped on a thread outside any runtime, as a binding's GC would.
        std::thread::spawn(move || drop(lock))
            .join()
            .expect("drop thread");
        let started = Instant::now();
        b.lock("s/drop", Duration::from_secs(10))
            .await
            .expect("released in the background");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    pub async fn clean_exit_with_open_clients() {
        let cluster = started().await;
        let out = tokio::process::Command::new(HOLDER)
            .args(["--exit", &cluster.endpoints_csv(), "s/exit"])
            .stdout(Stdio::piped())
            .output();
        let out = tokio::time::timeout(Duration::from_secs(20), out)
            .await
            .expect("exits promptly")
            .expect("run holder");
        assert!(out.status.success(), "{out:?}");
        let b = client(&cluster, Duration::from_secs(5)).await;
        // Rust cannot await in a drop at the end of main: the lock passes
        // within the holder's TTL (3 s), not at once as in the GC languages.
        b.lock("s/exit", Duration::from_secs(10))
            .await
            .expect("free within the TTL");
    }

    pub async fn env_configuration() {
        let cluster = started().await;
        let run = |no_env: bool| {
            let mut cmd = tokio::process::Command::new(HOLDER);
            cmd.args(["--exit", "", "s/env"]);
            if no_env {
                cmd.arg("--no-env");
            }
            cmd.env("TENURE_ENDPOINTS", cluster.endpoints_csv())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .output()
        };
        let with_env = run(false).await.expect("run");
        assert!(with_env.status.success(), "{with_env:?}");
        let without = run(true).await.expect("run");
        assert!(!without.status.success());
        let stderr = String::from_utf8_lossy(&without.stderr);
        assert!(stderr.contains("INVALID_ARGUMENT"), "{stderr}");
    }
}
