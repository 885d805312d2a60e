//! Access control on real clusters with real certificates: revocation that
//! takes effect, an audit trail nobody but an admin can push out, permission
//! checks before anything else, and force-release retries that cannot be
//! replayed on another grant.

use std::time::Duration;

use tenure::{Client, ClientOptions, ErrorKind};
use tenure_proto::v1 as pb;
use tenure_tests::secure::{ADMIN, JOBS, Pki, Principal, metric, with_leader};
use tenure_tests::{Cluster, eventually, kind_of};

const OPS: Principal = Principal::token("ops", "ops-token", ADMIN);
const JOBS_P: Principal = Principal::token("jobs", "jobs-token", JOBS);
/// A principal with no rule at all: authenticated, allowed nothing.
const NOBODY: Principal = Principal::token("nobody", "nobody-token", "");
/// May read under jobs/ only.
const JOBS_READER: Principal = Principal::token(
    "jobs-reader",
    "jobs-reader-token",
    r#"{ prefix = "jobs/", allow = ["read"] }"#,
);

async fn start(pki: &Pki, principals: &[Principal]) -> (Cluster, Client) {
    let cluster = pki.cluster(principals, &[]);
    let admin = Client::connect_lazy(cluster.endpoints(), pki.options(Some("ops-token"), None))
        .expect("admin");
    let admin = with_leader(&cluster, admin).await;
    (cluster, admin)
}

fn with_ttl(options: ClientOptions, ttl: Duration) -> ClientOptions {
    ClientOptions { ttl, ..options }
}

/// A principal removed from the access file renews nothing more: its open
/// keepalive stream is checked again on every message, its holder learns of
/// the loss, and the server expires its session at the deadline (G6).
#[tokio::test]
async fn removing_a_principal_ends_its_sessions_at_their_deadline() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::new(dir.path());
    let (cluster, admin) = start(&pki, &[OPS, JOBS_P]).await;
    let ttl = Duration::from_secs(2);
    let jobs = Client::connect(
        cluster.endpoints(),
        with_ttl(pki.options(Some("jobs-token"), None), ttl),
    )
    .await
    .expect("jobs connects");
    let lock = jobs.try_lock("jobs/revoked").await.expect("lock");
    let session = lock.session_id();
    // The stream is open and renewing; now jobs is removed.
    tokio::time::sleep(ttl).await;
    assert!(lock.is_held());
    pki.write_access(&[OPS]);
    let lost = tokio::time::timeout(ttl * 4, lock.lost()).await;
    assert!(lost.is_ok(), "the revoked holder was never told");
    let gone = eventually(ttl * 4, || {
        let admin = admin.clone();
        async move {
            let sessions = admin.list_sessions().await.ok()?;
            (!sessions.iter().any(|s| s.session_id == session)).then_some(())
        }
    })
    .await;
    assert!(
        gone.is_some(),
        "the revoked principal's session is still alive\n{}",
        cluster.logs()
    );
    // The lock was freed with the session.
    let info = admin.describe("jobs/revoked").await.expect("describe");
    assert!(
        info.as_ref().is_none_or(|l| l.holders.is_empty()),
        "{info:?}"
    );
}

/// Denials are counted and sampled, and kept apart from admin records: a
/// flood of them neither pushes out a force-release record nor fills the log.
#[tokio::test]
async fn a_flood_of_denials_cannot_flush_the_admin_audit_trail() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::new(dir.path());
    let (cluster, admin) = start(&pki, &[OPS, JOBS_P]).await;
    let jobs = Client::connect(cluster.endpoints(), pki.options(Some("jobs-token"), None))
        .await
        .expect("jobs");
    let held = jobs.try_lock("jobs/x").await.expect("lock");
    admin
        .force_release("jobs/x", &held.owner_id(), "flood test")
        .await
        .expect("force-release");
    const FLOOD: usize = 1_500;
    let denied = futures::future::join_all((0..16).map(|_| {
        let jobs = jobs.clone();
        async move {
            let mut n = 0;
            for _ in 0..FLOOD / 16 {
                if let Err(e) = jobs.try_lock("billing/x").await {
                    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
                    n += 1;
                }
            }
            n
        }
    }))
    .await
    .into_iter()
    .sum::<usize>();
    assert!(denied >= FLOOD - 16, "only {denied} denials");
    let audit = admin.audit(10_000).await.expect("audit");
    assert!(
        audit.iter().any(|r| r.action == "force-release"),
        "the admin record was pushed out: {audit:?}"
    );
    let samples = audit
        .iter()
        .filter(|r| r.action == "denied" && r.principal == "jobs")
        .count();
    assert!(
        (1..=3).contains(&samples),
        "{samples} denial records for one principal in a few seconds"
    );
    let leader = admin
        .status()
        .await
        .expect("status")
        .leader_id
        .expect("leader");
    let metrics = cluster.node(leader).metrics_addr.clone().expect("metrics");
    let counted = metric(&metrics, "tenure_denials_total", r#"principal="jobs""#).await;
    assert!(
        counted >= denied as f64,
        "{counted} denials counted of {denied}"
    );
}

/// Permission comes first: a caller without valid credentials learns nothing
/// from a follower (not even the leader's address); `Status` needs read
/// permission; a read the caller may not make runs no leadership round.
#[tokio::test]
async fn permission_is_checked_before_anything_else() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::new(dir.path());
    let (cluster, admin) = start(&pki, &[OPS, JOBS_P, NOBODY, JOBS_READER]).await;
    let status = admin.status().await.expect("status");
    let leader = status.leader_id.expect("leader");
    let follower = cluster
        .nodes
        .iter()
        .find(|n| n.id != leader)
        .expect("a follower");
    let mut raw = pb::tenure_client::TenureClient::new(pki.channel(&follower.addr, None).await);
    let err = raw
        .describe(pb::DescribeRequest {
            name: "jobs/x".into(),
        })
        .await
        .expect_err("no credentials");
    assert_eq!(kind_of(&err), pb::ErrorKind::PermissionDenied, "{err:?}");
    assert!(
        !err.message()
            .contains(&status.leader_addr.clone().unwrap_or_default()),
        "the leader's address was given away: {err:?}"
    );

    let nobody = Client::connect_lazy(cluster.endpoints(), pki.options(Some("nobody-token"), None))
        .expect("client");
    let err = nobody.status().await.expect_err("no read permission");
    assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");

    let reader = Client::connect_lazy(
        cluster.endpoints(),
        pki.options(Some("jobs-reader-token"), None),
    )
    .expect("client");
    reader.describe("jobs/x").await.expect("may read jobs/");
    let metrics = cluster.node(leader).metrics_addr.clone().expect("metrics");
    let before = metric(&metrics, "tenure_read_barriers_total", "").await;
    for _ in 0..5 {
        let err = reader
            .describe("billing/x")
            .await
            .expect_err("not billing/");
        assert_eq!(err.kind(), ErrorKind::PermissionDenied, "{err}");
    }
    let after = metric(&metrics, "tenure_read_barriers_total", "").await;
    assert_eq!(after, before, "refused reads ran leadership rounds");
}

/// A force-release is deduplicated on (retry id, lock, owner): the same retry
/// id on another lock is a new call that really frees that lock, not a false
/// success copied from the first.
#[tokio::test]
async fn a_force_release_retry_id_is_bound_to_its_lock_and_owner() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::new(dir.path());
    let (cluster, admin) = start(&pki, &[OPS, JOBS_P]).await;
    let jobs = Client::connect(cluster.endpoints(), pki.options(Some("jobs-token"), None))
        .await
        .expect("jobs");
    let a = jobs.try_lock("jobs/a").await.expect("a");
    let b = jobs.try_lock("jobs/b").await.expect("b");
    let leader = admin
        .status()
        .await
        .expect("status")
        .leader_addr
        .expect("leader");
    let token: tonic::metadata::MetadataValue<_> = "Bearer ops-token".parse().expect("header");
    let mut raw = pb::tenure_client::TenureClient::with_interceptor(
        pki.channel(&leader, None).await,
        move |mut req: tonic::Request<()>| {
            req.metadata_mut().insert("authorization", token.clone());
            Ok(req)
        },
    );
    let force = |name: &str, owner: String| pb::ForceReleaseRequest {
        name: name.into(),
        owner_id: owner,
        reason: "retry id test".into(),
        retry_id: 77,
    };
    raw.force_release(force("jobs/a", a.owner_id()))
        .await
        .expect("a force-released");
    // A true retry of the first call still gets its answer.
    raw.force_release(force("jobs/a", a.owner_id()))
        .await
        .expect("retry of a");
    raw.force_release(force("jobs/b", b.owner_id()))
        .await
        .expect("b force-released");
    let info = admin.describe("jobs/b").await.expect("describe");
    assert!(
        info.as_ref().is_none_or(|l| l.holders.is_empty()),
        "b is still held after its force-release answered OK: {info:?}"
    );
    let lost = tokio::time::timeout(Duration::from_secs(10), b.lost()).await;
    assert!(lost.is_ok(), "b's holder was not told");
}
