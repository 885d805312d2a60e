//! Limits an attacker with one valid token would otherwise exceed: locks per
//! session, locks in all, waiters per lock, session ids per keepalive message,
//! sessions per principal. Each refusal is RESOURCE_EXHAUSTED naming the limit
//! (its flag), is counted in a metric, and changes nothing.

use std::time::Duration;

use tenure::{Client, ClientOptions, ErrorKind};
use tenure_proto::v1 as pb;
use tenure_tests::secure::{JOBS, Pki, Principal, metric, with_leader};
use tenure_tests::{Cluster, kind_of};

fn assert_refused_by(err: &tenure::Error, limit: &str) {
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted, "{err}");
    assert!(
        err.to_string().contains(limit),
        "{err} does not name {limit}"
    );
}

async fn refusals(cluster: &Cluster, leader: u64, limit: &str) -> f64 {
    let addr = cluster.node(leader).metrics_addr.clone().expect("metrics");
    metric(
        &addr,
        "tenure_limit_refusals_total",
        &format!("limit=\"{limit}\""),
    )
    .await
}

#[tokio::test]
async fn locks_per_session_locks_in_all_and_waiters_per_lock_are_capped() {
    let cluster = Cluster::start_opts(
        3,
        &[
            "--max-locks-per-session",
            "3",
            "--max-locks",
            "5",
            "--max-waiters-per-lock",
            "2",
        ],
        true,
    );
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let c1 = cluster.client(Duration::from_secs(5)).await;
    let mut held = Vec::new();
    for name in ["a", "b", "c"] {
        held.push(
            c1.try_lock(&format!("cap/{name}"))
                .await
                .expect("within the cap"),
        );
    }
    let err = c1.try_lock("cap/d").await.expect_err("a fourth lock");
    assert_refused_by(&err, "max-locks-per-session");

    let c2 = cluster.client(Duration::from_secs(5)).await;
    for name in ["e", "f"] {
        held.push(
            c2.try_lock(&format!("cap/{name}"))
                .await
                .expect("five in all"),
        );
    }
    let err = c2.try_lock("cap/g").await.expect_err("a sixth lock");
    assert_refused_by(&err, "max-locks");
    // An existing lock adds no lock: that acquire is judged on its own.
    let err = c2.try_lock("cap/a").await.expect_err("held by c1");
    assert_eq!(err.kind(), ErrorKind::LockHeld, "{err}");

    // Two waiters for cap/a, then the third is refused.
    let (w1, w2, w3) = (
        cluster.client(Duration::from_secs(5)).await,
        cluster.client(Duration::from_secs(5)).await,
        cluster.client(Duration::from_secs(5)).await,
    );
    let waiting: Vec<_> = [w1, w2]
        .into_iter()
        .map(|w| {
            // Each waiter lets go as soon as it has the lock, so the other gets
            // it in turn whichever of them the queue put first.
            tokio::spawn(async move {
                let lock = w.lock("cap/a", Duration::from_secs(30)).await?;
                let token = lock.fencing_token();
                lock.release().await?;
                Ok::<_, tenure::Error>(token)
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let err = w3
        .lock("cap/a", Duration::from_secs(30))
        .await
        .expect_err("a third waiter");
    assert_refused_by(&err, "max-waiters-per-lock");

    // Refusals changed nothing: the holders and the two waiters are as they were.
    let info = c1.describe("cap/a").await.expect("describe").expect("held");
    assert_eq!(info.holders.len(), 1);
    assert_eq!(info.waiters.len(), 2);
    assert_eq!(c1.list_locks("cap/").await.expect("list").len(), 5);
    held.remove(0).release().await.expect("release a");
    for w in waiting {
        w.await.expect("join").expect("the waiters get it in turn");
    }
    for limit in ["max-locks-per-session", "max-locks", "max-waiters-per-lock"] {
        assert!(
            refusals(&cluster, leader, limit).await >= 1.0,
            "{limit} refusal not counted"
        );
    }
}

#[tokio::test]
async fn session_ids_per_keepalive_message_are_capped() {
    let cluster = Cluster::start_opts(3, &["--max-keepalive-sessions", "4"], true);
    let leader = cluster.wait_for_leader(Duration::from_secs(10)).await;
    let mut raw = tenure_tests::raw(&cluster.node(leader).addr).await;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(pb::KeepAliveRequest {
        seq: 1,
        session_ids: vec![1, 2, 3, 4, 5],
    })
    .await
    .expect("send");
    let mut answers = raw
        .keep_alive(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream")
        .into_inner();
    let err = answers.message().await.expect_err("five ids");
    assert_eq!(kind_of(&err), pb::ErrorKind::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("max-keepalive-sessions"), "{err:?}");
    assert!(refusals(&cluster, leader, "max-keepalive-sessions").await >= 1.0);
}

/// Counted per principal in the replicated state, so new connections do not
/// reset it (the per-connection cap alone would).
#[tokio::test]
async fn sessions_per_principal_are_capped_across_connections() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::new(dir.path());
    let jobs = Principal::token("jobs", "jobs-token", JOBS);
    let other = Principal::token("other", "other-token", JOBS);
    let cluster = pki.cluster(&[jobs, other], &["--max-sessions-per-principal", "2"]);
    let options = |token| ClientOptions {
        call_timeout: Duration::from_secs(5),
        ..pki.options(Some(token), None)
    };
    let first = Client::connect_lazy(cluster.endpoints(), options("jobs-token")).expect("client");
    let first = with_leader(&cluster, first).await;
    first.try_lock("jobs/1").await.expect("session 1");
    let second = Client::connect(cluster.endpoints(), options("jobs-token"))
        .await
        .expect("session 2, another connection");
    let err = Client::connect(cluster.endpoints(), options("jobs-token"))
        .await
        .expect_err("a third session on a fresh connection");
    assert_refused_by(&err, "max-sessions-per-principal");
    Client::connect(cluster.endpoints(), options("other-token"))
        .await
        .expect("another principal is not affected");
    second.close().await.expect("close");
    Client::connect(cluster.endpoints(), options("jobs-token"))
        .await
        .expect("room again after a close");
}
