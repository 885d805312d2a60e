//! Security tests against real server processes with real certificates:
//! TLS, tokens, certificate identities, prefix rules, session ownership, the
//! audit log, peer authentication, reload of the access file, and limits.

use std::path::Path;
use std::time::Duration;

use tenure::{Client, ClientOptions, ErrorKind, TlsOptions};
use tenure_cli::devcerts::{DevCa, Issued};
use tenure_proto::v1 as pb;
use tenure_server::security::auth::hash_token;
use tenure_tests::secure::{metric, tls_channel};
use tenure_tests::{Cluster, eventually, kind_of};

const LEADER_WAIT: Duration = Duration::from_secs(15);

struct Pki {
    ca: DevCa,
    node: Issued,
    reader: Issued,
    jobs_cert: Issued,
    rogue_ca: DevCa,
    rogue: Issued,
}

fn pki(dir: &Path) -> Pki {
    let ca = DevCa::new(&dir.join("pki"), "test-ca").expect("ca");
    let node = ca
        .issue("node", "tenure-peer", &["127.0.0.1", "localhost"])
        .expect("node");
    let reader = ca.issue("reader", "reader-cn", &[]).expect("reader");
    let jobs_cert = ca.issue("jobs", "jobs-cn", &[]).expect("jobs cert");
    let rogue_ca = DevCa::new(&dir.join("rogue"), "rogue-ca").expect("rogue ca");
    let rogue = rogue_ca
        .issue("rogue", "tenure-peer", &["127.0.0.1"])
        .expect("rogue");
    Pki {
        ca,
        node,
        reader,
        jobs_cert,
        rogue_ca,
        rogue,
    }
}

fn access_file(extra: &str) -> String {
    format!(
        r#"
[[principal]]
name = "jobs"
token_sha256 = "{}"
rules = [{{ prefix = "jobs/", allow = ["lock"] }}]

[[principal]]
name = "jobs2"
token_sha256 = "{}"
rules = [{{ prefix = "jobs/", allow = ["lock"] }}]

[[principal]]
name = "ops"
token_sha256 = "{}"
rules = [{{ prefix = "", allow = ["admin"] }}]

[[principal]]
name = "reader"
cert_cn = "reader-cn"
rules = [{{ prefix = "", allow = ["read"] }}]
{extra}"#,
        hash_token("jobs-token"),
        hash_token("jobs2-token"),
        hash_token("ops-token"),
    )
}

fn secure_cluster(dir: &Path, pki: &Pki) -> Cluster {
    let access = dir.join("access.toml");
    std::fs::write(&access, access_file("")).expect("write access file");
    let args: Vec<String> = vec![
        "--tls-cert".into(),
        pki.node.cert.display().to_string(),
        "--tls-key".into(),
        pki.node.key.display().to_string(),
        "--tls-client-ca".into(),
        pki.ca.cert.display().to_string(),
        "--peer-ca".into(),
        pki.ca.cert.display().to_string(),
        "--auth-file".into(),
        access.display().to_string(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Cluster::start_opts(3, &args, true)
}

fn options(pki: &Pki, token: Option<&str>, cert: Option<&Issued>) -> ClientOptions {
    ClientOptions {
        tls: Some(TlsOptions {
            ca_file: Some(pki.ca.cert.clone()),
            cert_file: cert.map(|c| c.cert.clone()),
            key_file: cert.map(|c| c.key.clone()),
            server_name: None,
        }),
        token: token.map(str::to_owned),
        call_timeout: Duration::from_secs(5),
        attempt_timeout: Duration::from_secs(1),
        ..ClientOptions::default()
    }
}

async fn leader_of(cluster: &Cluster, pki: &Pki) -> Client {
    // wait_for_leader speaks plain text; ask with a TLS admin client instead.
    let admin = Client::connect_lazy(cluster.endpoints(), options(pki, Some("ops-token"), None))
        .expect("admin");
    let ok = eventually(LEADER_WAIT, || {
        let admin = admin.clone();
        async move { admin.status().await.ok().filter(|s| s.leader_id.is_some()) }
    })
    .await;
    assert!(ok.is_some(), "no leader\n{}", cluster.logs());
    admin
}

#[tokio::test]
async fn unauthenticated_callers_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = pki(dir.path());
    let cluster = secure_cluster(dir.path(), &pki);
    let admin = leader_of(&cluster, &pki).await;
    let before = admin.status().await.expect("status");

    for token in [None, Some("wrong-token")] {
        let err = Client::connect(cluster.endpoints(), options(&pki, token, None))
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{token:?}: {err}");
    }
    // A certificate from another CA fails the TLS handshake.
    let rogue_opts = ClientOptions {
        tls: Some(TlsOptions {
            ca_file: Some(pki.ca.cert.clone()),
            cert_file: Some(pki.rogue.cert.clone()),
            key_file: Some(pki.rogue.key.clone()),
            server_name: None,
        }),
        token: Some("ops-token".into()),
        call_timeout: Duration::from_secs(3),
        attempt_timeout: Duration::from_secs(1),
        ..ClientOptions::default()
    };
    let err = Client::connect(cluster.endpoints(), rogue_opts)
        .await
        .expect_err("rogue refused");
    assert!(
        matches!(err.kind(), ErrorKind::Unavailable | ErrorKind::Timeout),
        "{err}"
    );
    // Plain text is refused too.
    let plain = ClientOptions {
        token: Some("ops-token".into()),
        call_timeout: Duration::from_secs(2),
        ..ClientOptions::default()
    };
    assert!(Client::connect(cluster.endpoints(), plain).await.is_err());

    let after = admin.status().await.expect("status");
    assert_eq!(
        after.sessions, before.sessions,
        "a refused caller opened a session"
    );
    assert_eq!(after.next_token, before.next_token);
    // Counted by whichever node refused them (a follower refuses too, before
    // anything else, and has no log of its own to record them in).
    let mut denied = 0.0;
    for node in &cluster.nodes {
        let addr = node.metrics_addr.clone().expect("metrics");
        denied += metric(
            &addr,
            "tenure_denials_total",
            r#"principal="(unauthenticated)""#,
        )
        .await;
    }
    assert!(denied >= 2.0, "{denied} denials counted");
}

#[tokio::test]
async fn prefix_rules_admin_rights_and_the_audit_log() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = pki(dir.path());
    let cluster = secure_cluster(dir.path(), &pki);
    let admin = leader_of(&cluster, &pki).await;
    let jobs = Client::connect(cluster.endpoints(), options(&pki, Some("jobs-token"), None))
        .await
        .expect("jobs connects");
    let lock = jobs.try_lock("jobs/x").await.expect("jobs may lock jobs/");
    let err = jobs.try_lock("billing/x").await.expect_err("not billing/");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let err = jobs
        .force_release("jobs/x", &lock.owner_id(), "me")
        .await
        .expect_err("no admin");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    let err = jobs
        .blacklist(lock.session_id(), "me")
        .await
        .expect_err("no admin");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(lock.is_held());
    // The certificate identity "reader" may read but not lock.
    let reader = Client::connect_lazy(cluster.endpoints(), options(&pki, None, Some(&pki.reader)))
        .expect("reader");
    let info = reader
        .describe("jobs/x")
        .await
        .expect("reader may describe")
        .expect("held");
    assert_eq!(info.holders[0].owner_id, lock.owner_id());
    assert_eq!(
        reader
            .try_lock("jobs/y")
            .await
            .expect_err("read only")
            .kind(),
        ErrorKind::PermissionDenied
    );
    // A certificate of a CA-signed client without a principal is refused.
    let nobody = Client::connect_lazy(
        cluster.endpoints(),
        options(&pki, None, Some(&pki.jobs_cert)),
    )
    .expect("client");
    assert_eq!(
        nobody.status().await.expect_err("unknown cn").kind(),
        ErrorKind::PermissionDenied
    );
    // The admin can; the audit shows who did what.
    admin
        .force_release("jobs/x", &lock.owner_id(), "stuck")
        .await
        .expect("admin force-release");
    let lost = tokio::time::timeout(Duration::from_secs(10), lock.lost())
        .await
        .expect("holder learns");
    assert_eq!(lost, tenure::LostReason::ForceReleased);
    let audit = admin.audit(100).await.expect("audit");
    assert!(
        audit
            .iter()
            .any(|r| r.action == "force-release" && r.principal == "ops" && r.target == "jobs/x")
    );
    assert!(
        audit.iter().any(|r| r.action == "denied"
            && r.principal == "jobs"
            && r.target.contains("billing/x"))
    );
    assert!(
        audit
            .iter()
            .any(|r| r.action == "denied" && r.principal == "reader")
    );
    assert_eq!(
        jobs.audit(10).await.expect_err("audit is admin").kind(),
        ErrorKind::PermissionDenied
    );
}

#[tokio::test]
async fn a_principal_cannot_use_another_principals_session() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = pki(dir.path());
    let cluster = secure_cluster(dir.path(), &pki);
    let admin = leader_of(&cluster, &pki).await;
    let jobs = Client::connect(cluster.endpoints(), options(&pki, Some("jobs-token"), None))
        .await
        .expect("jobs");
    let lock = jobs.try_lock("jobs/owned").await.expect("lock");
    let session = lock.session_id();
    let leader = admin
        .status()
        .await
        .expect("status")
        .leader_addr
        .expect("leader");
    let channel = tls_channel(&leader, &pki.ca.cert, None)
        .await
        .expect("tls channel");
    let token: tonic::metadata::MetadataValue<_> = "Bearer jobs2-token".parse().expect("header");
    let mut other = pb::tenure_client::TenureClient::with_interceptor(
        channel,
        move |mut req: tonic::Request<()>| {
            req.metadata_mut().insert("authorization", token.clone());
            Ok(req)
        },
    );
    let err = other
        .release(pb::ReleaseRequest {
            session_id: session,
            request_id: 999,
            name: "jobs/owned".into(),
            owner_id: lock.owner_id(),
        })
        .await
        .expect_err("not its session");
    assert_eq!(kind_of(&err), pb::ErrorKind::PermissionDenied);
    let err = other
        .close_session(pb::CloseSessionRequest {
            session_id: session,
        })
        .await
        .expect_err("not its session");
    assert_eq!(kind_of(&err), pb::ErrorKind::PermissionDenied);
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    tx.send(pb::KeepAliveRequest {
        seq: 1,
        session_ids: vec![session],
    })
    .await
    .expect("send");
    let mut answers = other
        .keep_alive(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("stream")
        .into_inner();
    let answer = answers.message().await.expect("answer").expect("one");
    assert_eq!(
        answer.leases[0].status,
        pb::LeaseStatus::LeasePermissionDenied as i32
    );
    assert!(lock.is_held());
    let info = admin
        .describe("jobs/owned")
        .await
        .expect("describe")
        .expect("still held");
    assert_eq!(info.holders[0].session_id, session);
}

#[tokio::test]
async fn the_access_file_reloads_without_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = pki(dir.path());
    let cluster = secure_cluster(dir.path(), &pki);
    leader_of(&cluster, &pki).await;
    let late = options(&pki, Some("late-token"), None);
    assert!(
        Client::connect(cluster.endpoints(), late.clone())
            .await
            .is_err()
    );
    let extra = format!(
        "\n[[principal]]\nname = \"late\"\ntoken_sha256 = \"{}\"\nrules = [{{ prefix = \"late/\", allow = [\"lock\"] }}]\n",
        hash_token("late-token")
    );
    std::fs::write(dir.path().join("access.toml"), access_file(&extra)).expect("rewrite");
    let client = eventually(Duration::from_secs(10), || {
        let late = late.clone();
        let endpoints = cluster.endpoints();
        async move { Client::connect(endpoints, late).await.ok() }
    })
    .await
    .expect("the new principal is accepted after the reload");
    client
        .try_lock("late/x")
        .await
        .expect("late may lock late/");
    // A broken file keeps the rules in force.
    std::fs::write(dir.path().join("access.toml"), "this is = [not toml").expect("break");
    tokio::time::sleep(Duration::from_secs(2)).await;
    client.try_lock("late/y").await.expect("rules kept");
}

#[tokio::test]
async fn peers_refuse_callers_without_a_peer_certificate() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = pki(dir.path());
    let cluster = secure_cluster(dir.path(), &pki);
    leader_of(&cluster, &pki).await;
    let addr = cluster.nodes[0].addr.clone();
    let garbage = || tenure_proto::raft::RaftMessage {
        payload: vec![0; 8],
    };
    // No client certificate: the peer API refuses.
    let ch = tls_channel(&addr, &pki.ca.cert, None).await.expect("tls");
    let err = tenure_proto::raft::raft_client::RaftClient::new(ch)
        .vote(garbage())
        .await
        .expect_err("no certificate");
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    // A valid client certificate that is not a peer's: refused.
    let ch = tls_channel(&addr, &pki.ca.cert, Some(&pki.jobs_cert))
        .await
        .expect("tls");
    let err = tenure_proto::raft::raft_client::RaftClient::new(ch)
        .append_entries(garbage())
        .await
        .expect_err("not a peer");
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
    // A "peer" certificate from another CA: the handshake fails.
    let rogue = tls_channel(&addr, &pki.ca.cert, Some(&pki.rogue)).await;
    let refused = match rogue {
        Err(_) => true,
        Ok(ch) => tenure_proto::raft::raft_client::RaftClient::new(ch)
            .vote(garbage())
            .await
            .is_err(),
    };
    assert!(refused, "a rogue peer certificate was accepted");
    let _ = &pki.rogue_ca;
    // The cluster still works.
    let ops = Client::connect(cluster.endpoints(), options(&pki, Some("ops-token"), None))
        .await
        .expect("ops");
    ops.try_lock("after/peers").await.expect("still serving");
}

#[tokio::test]
async fn caps_refuse_with_resource_exhausted_and_the_server_keeps_serving() {
    let cluster = Cluster::start_with(
        3,
        &[
            "--max-sessions",
            "4",
            "--max-waiters-per-connection",
            "2",
            "--session-open-rate",
            "1000",
        ],
    );
    cluster.wait_for_leader(Duration::from_secs(10)).await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(cluster.client(Duration::from_secs(5)).await);
    }
    let err = Client::connect(cluster.endpoints(), ClientOptions::default())
        .await
        .expect_err("over the session cap");
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted, "{err}");
    // The others keep working.
    let held = clients[0].try_lock("caps/x").await.expect("still serving");
    // Waiting acquires per connection are capped too.
    let waiter = clients[1].clone();
    let wait_then_release = |w: Client| async move {
        let lock = w.lock("caps/x", Duration::from_secs(20)).await?;
        lock.release().await
    };
    let w1 = tokio::spawn(wait_then_release(waiter.clone()));
    let w2 = tokio::spawn(wait_then_release(waiter.clone()));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let err = waiter
        .lock("caps/x", Duration::from_secs(20))
        .await
        .expect_err("third waiter");
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted, "{err}");
    held.release().await.expect("release");
    w1.await.expect("join").expect("first waiter");
    w2.await.expect("join").expect("second waiter");
}

#[tokio::test]
async fn session_opening_is_rate_limited() {
    let cluster = Cluster::start_with(3, &["--session-open-rate", "1"]);
    cluster.wait_for_leader(Duration::from_secs(10)).await;
    let options = ClientOptions {
        call_timeout: Duration::from_secs(5),
        ..ClientOptions::default()
    };
    // Ten opens at once from one address: the bucket holds two.
    let opens = (0..10).map(|_| Client::connect(cluster.endpoints(), options.clone()));
    let results = futures::future::join_all(opens).await;
    let mut refused = 0;
    for r in &results {
        match r {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ResourceExhausted => refused += 1,
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(
        refused >= 6,
        "only {refused} of 10 simultaneous opens refused"
    );
    // The refusals changed nothing: only the admitted sessions exist.
    let admin = Client::connect_lazy(cluster.endpoints(), ClientOptions::default()).expect("admin");
    let sessions = admin.list_sessions().await.expect("sessions");
    assert_eq!(sessions.len(), 10 - refused);
}
