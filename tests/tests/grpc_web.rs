//! gRPC-web on the client port (`tenure server --web-origin`): unary calls
//! over plain HTTP/1.1 as a browser makes them, CORS preflights for allowed
//! and other origins, the port without the flag (the negative control), the
//! peer API kept off HTTP/1.1, tokens, and `Renew`, the unary keepalive that
//! gRPC-web clients use instead of the `KeepAlive` stream.

use std::time::{Duration, Instant};

use http_body_util::Empty;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::task::{Context, Poll};
use tenure_proto::v1 as pb;
use tenure_proto::v1::tenure_client::TenureClient;
use tenure_tests::secure::{Pki, Principal};
use tenure_tests::{Cluster, eventually};
use tonic::body::Body;
use tonic::codegen::{Bytes, Service};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic_web::{GrpcWebCall, GrpcWebClientService};

const APP: &str = "https://app.example.com";
const OTHER: &str = "https://evil.example.com";
/// A page served on this machine (`--web-origin local`, `tenure dev --web`).
const LOCAL_PAGE: &str = "http://localhost:5173";

type WebClient = TenureClient<GrpcWebClientService<HttpClient<HttpConnector, GrpcWebCall<Body>>>>;

/// A gRPC-web client of `addr` over HTTP/1.1 (as a browser without TLS).
fn web_client(addr: &str) -> WebClient {
    let http = HttpClient::builder(TokioExecutor::new()).build_http();
    let origin = format!("http://{addr}").parse().expect("uri");
    TenureClient::with_origin(GrpcWebClientService::new(http), origin)
}

/// `msg` with the `Origin` header of a page of `origin`, and `token` if any.
fn request<T>(msg: T, origin: Option<&str>, token: Option<&str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    if let Some(o) = origin {
        req.metadata_mut()
            .insert("origin", o.parse().expect("origin"));
    }
    if let Some(t) = token {
        req.metadata_mut().insert(
            "authorization",
            format!("Bearer {t}").parse().expect("token"),
        );
    }
    req
}

/// An HTTP/1.1 request without a body; the answer's status and headers.
async fn http1(
    addr: &str,
    method: http::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<http::response::Parts, String> {
    let client = HttpClient::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut req = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Empty::new()).map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(Duration::from_secs(5), client.request(req))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    Ok(answer.into_parts().0)
}

/// A CORS preflight of a gRPC-web call to `Status` from a page of `origin`.
async fn preflight(addr: &str, origin: &str) -> Result<http::response::Parts, String> {
    http1(
        addr,
        http::Method::OPTIONS,
        "/tenure.v1.Tenure/Status",
        &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type,x-grpc-web,x-user-agent,grpc-timeout",
            ),
        ],
    )
    .await
}

fn header<'a>(parts: &'a http::response::Parts, name: &str) -> &'a str {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// The list in a CORS header, lower case, as a sorted list.
fn listed(parts: &http::response::Parts, name: &str) -> Vec<String> {
    let mut items: Vec<String> = header(parts, name)
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    items.sort();
    items
}

/// Waits until `addr` answers a gRPC-web `Status` naming a leader.
async fn web_leader(addr: &str, token: Option<&str>) -> Option<pb::StatusResponse> {
    eventually(Duration::from_secs(10), || async move {
        web_client(addr)
            .status(request(pb::StatusRequest::default(), None, token))
            .await
            .ok()
            .map(|r| r.into_inner())
            .filter(|s| s.leader_id != 0)
    })
    .await
}

/// Opens a session of `ttl` over gRPC-web, as a page of `origin`.
async fn open_session(
    client: &mut WebClient,
    ttl: Duration,
    origin: Option<&str>,
    token: Option<&str>,
) -> u64 {
    let open = pb::OpenSessionRequest {
        ttl_ms: ttl.as_millis() as u64,
        label: "grpc-web test".into(),
        open_id: rand::random::<[u8; 16]>().to_vec(),
    };
    client
        .open_session(request(open, origin, token))
        .await
        .expect("OpenSession over gRPC-web")
        .into_inner()
        .session_id
}

/// One `Renew` of `session` over gRPC-web, as a page of `origin`.
async fn renew(
    client: &mut WebClient,
    seq: u64,
    session: u64,
    origin: Option<&str>,
    token: Option<&str>,
) -> pb::SessionLease {
    let msg = pb::KeepAliveRequest {
        seq,
        session_ids: vec![session],
    };
    let answer = client
        .renew(request(msg, origin, token))
        .await
        .expect("Renew over gRPC-web")
        .into_inner();
    assert_eq!(answer.seq, seq);
    answer
        .leases
        .into_iter()
        .find(|l| l.session_id == session)
        .expect("a lease for the session")
}

/// With `--web-origin`, unary gRPC-web calls over HTTP/1.1 work (`Status`,
/// `OpenSession`, `Renew`), preflights from the allowed origin get the CORS
/// headers and others do not, calls from another origin are refused, native
/// clients and the peers (a 3-node cluster elects and replicates) are
/// unaffected, and the peer API answers nothing over HTTP/1.1.
#[tokio::test]
async fn grpc_web_unary_calls_and_cors_with_the_flag() {
    let cluster = Cluster::start_with(3, &["--web-origin", APP]);
    let leader = cluster.wait_for_leader(Duration::from_secs(15)).await;
    let addr = cluster.node(leader).addr.clone();
    let status = web_leader(&addr, None).await;
    assert!(status.is_some(), "no gRPC-web Status\n{}", cluster.logs());

    let mut web = web_client(&addr);
    let ttl = Duration::from_secs(2);
    let session = open_session(&mut web, ttl, Some(APP), None).await;
    let lease = renew(&mut web, 1, session, Some(APP), None).await;
    assert_eq!(lease.status(), pb::LeaseStatus::LeaseOk, "{lease:?}");
    assert_eq!(lease.ttl_ms, ttl.as_millis() as u64);

    // A call from a page of another origin never reaches the API.
    let refused = web
        .status(request(pb::StatusRequest::default(), Some(OTHER), None))
        .await;
    assert!(refused.is_err(), "a call from {OTHER} was answered");
    let allowed = web
        .status(request(pb::StatusRequest::default(), Some(APP), None))
        .await;
    assert!(allowed.is_ok(), "{allowed:?}");

    // Preflight: the allowed origin gets what a gRPC-web client needs.
    let ok = preflight(&addr, APP).await.expect("preflight answered");
    assert!(ok.status.is_success(), "{ok:?}");
    assert_eq!(header(&ok, "access-control-allow-origin"), APP, "{ok:?}");
    assert!(header(&ok, "access-control-allow-methods").contains("POST"));
    let allowed_headers = listed(&ok, "access-control-allow-headers");
    for h in [
        "authorization",
        "content-type",
        "grpc-timeout",
        "x-grpc-web",
        "x-user-agent",
    ] {
        assert!(
            allowed_headers.iter().any(|a| a == h),
            "{h} not allowed: {ok:?}"
        );
    }
    // The exposed headers come with the calls themselves.
    let call = http1(
        &addr,
        http::Method::POST,
        "/tenure.v1.Tenure/Status",
        &[
            ("origin", APP),
            ("content-type", "application/grpc-web+proto"),
        ],
    )
    .await
    .expect("call answered");
    assert_eq!(
        header(&call, "access-control-allow-origin"),
        APP,
        "{call:?}"
    );
    assert_eq!(
        listed(&call, "access-control-expose-headers"),
        ["grpc-message", "grpc-status", "grpc-status-details-bin"],
        "{call:?}"
    );
    // Another origin gets no allow headers (the browser then sends nothing).
    let other = preflight(&addr, OTHER).await.expect("preflight answered");
    assert_eq!(
        header(&other, "access-control-allow-origin"),
        "",
        "{other:?}"
    );
    assert_eq!(
        header(&other, "access-control-allow-headers"),
        "",
        "{other:?}"
    );

    // The peer API is not reachable over HTTP/1.1, gRPC-web or not.
    let peer = http1(
        &addr,
        http::Method::POST,
        "/tenure.raft.v1.Raft/Vote",
        &[("content-type", "application/grpc-web+proto")],
    )
    .await
    .expect("peer path answered");
    assert_eq!(header(&peer, "grpc-status"), "12", "{peer:?}");

    // Native clients (HTTP/2) on the same port are unaffected.
    let native = cluster.client(Duration::from_secs(2)).await;
    let lock = native.try_lock("web/native").await.expect("native lock");
    assert!(lock.fencing_token() > 0);
    lock.release().await.expect("release");
}

/// Without the flag the port speaks gRPC over HTTP/2 only: a gRPC-web call
/// and a preflight over HTTP/1.1 get nothing, and a gRPC-web call over HTTP/2
/// is refused (the negative control of the tests of gRPC-web calls).
#[tokio::test]
async fn grpc_web_is_refused_without_the_flag() {
    let cluster = Cluster::start(1);
    let leader = cluster.wait_for_leader(Duration::from_secs(15)).await;
    let addr = cluster.node(leader).addr.clone();
    let call = web_client(&addr)
        .status(request(pb::StatusRequest::default(), Some(APP), None))
        .await;
    assert!(call.is_err(), "a gRPC-web call was answered: {call:?}");
    let pre = preflight(&addr, APP).await;
    assert!(pre.is_err(), "a preflight was answered: {pre:?}");
    // Nor is gRPC-web served over HTTP/2 (as a browser would send it over
    // https), although tonic alone would answer it.
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_lazy();
    let mut h2 = TenureClient::new(GrpcWebClientService::new(OverChannel(channel)));
    let call = h2
        .status(request(pb::StatusRequest::default(), Some(APP), None))
        .await;
    let code = call.as_ref().err().map(|s| s.code());
    assert_eq!(code, Some(tonic::Code::Unimplemented), "{call:?}");
    // The native client works, so the refusals are about gRPC-web.
    let native = cluster.client(Duration::from_secs(2)).await;
    assert!(native.status().await.is_ok());
}

/// `Renew` alone keeps a session alive for longer than three TTLs (no
/// `KeepAlive` stream is ever opened); once renewals stop the session
/// expires, and renewing it, or a session that never existed, answers
/// LEASE_EXPIRED.
#[tokio::test]
async fn renew_keeps_a_session_alive_and_expired_sessions_stay_expired() {
    let cluster = Cluster::start_with(1, &["--web-origin", "local"]);
    let leader = cluster.wait_for_leader(Duration::from_secs(15)).await;
    let addr = cluster.node(leader).addr.clone();
    assert!(web_leader(&addr, None).await.is_some());
    let mut web = web_client(&addr);
    // `local` is pages on this machine, whatever their port, and nothing else.
    for (origin, allowed) in [
        (LOCAL_PAGE, true),
        ("http://127.0.0.1:8080", true),
        ("http://localhost.evil.example:5173", false),
        (APP, false),
    ] {
        let call = web
            .status(request(pb::StatusRequest::default(), Some(origin), None))
            .await;
        assert_eq!(call.is_ok(), allowed, "{origin}: {call:?}");
    }
    let ttl = Duration::from_secs(1);
    let session = open_session(&mut web, ttl, Some(LOCAL_PAGE), None).await;
    let start = Instant::now();
    let mut seq = 0;
    while start.elapsed() < ttl * 3 + ttl / 2 {
        seq += 1;
        let lease = renew(&mut web, seq, session, Some(LOCAL_PAGE), None).await;
        assert_eq!(
            lease.status(),
            pb::LeaseStatus::LeaseOk,
            "lost after {:?}: {lease:?}\n{}",
            start.elapsed(),
            cluster.logs()
        );
        tokio::time::sleep(ttl / 4).await;
    }
    // Still alive in the state machine, not only in the leader's answers.
    let native = cluster.client(Duration::from_secs(2)).await;
    let sessions = native.list_sessions().await.expect("list sessions");
    assert!(sessions.iter().any(|s| s.session_id == session));

    // No renewal: once its deadline has passed the session is expired (and
    // reaped), and renewing it, or a session that never was, answers
    // LEASE_EXPIRED.
    tokio::time::sleep(ttl * 3).await;
    let lease = renew(&mut web, seq + 1, session, Some(LOCAL_PAGE), None).await;
    assert_eq!(lease.status(), pb::LeaseStatus::LeaseExpired, "{lease:?}");
    let unknown = renew(&mut web, seq + 2, u64::MAX - 7, Some(LOCAL_PAGE), None).await;
    assert_eq!(
        unknown.status(),
        pb::LeaseStatus::LeaseExpired,
        "{unknown:?}"
    );
}

const ALICE: Principal = Principal::token(
    "alice",
    "alice-token",
    r#"{ prefix = "", allow = ["lock", "read"] }"#,
);
const BOB: Principal = Principal::token(
    "bob",
    "bob-token",
    r#"{ prefix = "", allow = ["lock", "read"] }"#,
);

/// A tonic channel (HTTP/2, TLS with ALPN, as a browser gets over https)
/// carrying gRPC-web requests.
#[derive(Clone)]
struct OverChannel(Channel);

impl Service<http::Request<GrpcWebCall<Body>>> for OverChannel {
    type Response = http::Response<Body>;
    type Error = tonic::transport::Error;
    type Future = <Channel as Service<http::Request<Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<http::Request<Body>>::poll_ready(&mut self.0, cx)
    }

    fn call(&mut self, req: http::Request<GrpcWebCall<Body>>) -> Self::Future {
        let mut req = req.map(Body::new);
        *req.version_mut() = http::Version::HTTP_2;
        self.0.call(req)
    }
}

type TlsWebClient = TenureClient<GrpcWebClientService<OverChannel>>;

/// A gRPC-web client of `addr` over TLS that trusts the cluster's CA.
fn tls_web_client(addr: &str, pki: &Pki) -> TlsWebClient {
    let ca = std::fs::read(&pki.cluster_ca.cert).expect("CA");
    let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
    let channel = Endpoint::from_shared(format!("https://{addr}"))
        .expect("endpoint")
        .tls_config(tls)
        .expect("TLS config")
        .connect_lazy();
    TenureClient::new(GrpcWebClientService::new(OverChannel(channel)))
}

/// On a TLS cluster with an access file, gRPC-web calls are authenticated
/// like any other: without a token they are refused (PERMISSION_DENIED, as
/// for native clients), and one principal's `Renew` of another's session
/// answers LEASE_PERMISSION_DENIED (and renews nothing).
#[tokio::test]
async fn tls_and_tokens_apply_to_grpc_web_calls() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::new(dir.path());
    pki.write_access(&[ALICE, BOB]);
    let args = pki.server_args(&["--web-origin", APP]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cluster = Cluster::start_with(1, &args);
    let addr = cluster.node(1).addr.clone();
    let mut web = tls_web_client(&addr, &pki);
    let status = eventually(Duration::from_secs(10), || {
        let mut web = web.clone();
        async move {
            let req = request(pb::StatusRequest::default(), Some(APP), Some("alice-token"));
            let status = web.status(req).await.ok()?.into_inner();
            (status.leader_id != 0).then_some(status)
        }
    })
    .await;
    assert!(
        status.is_some(),
        "no gRPC-web Status over TLS\n{}",
        cluster.logs()
    );

    let anonymous = web
        .status(request(pb::StatusRequest::default(), Some(APP), None))
        .await;
    let code = anonymous.as_ref().err().map(|s| s.code());
    assert_eq!(code, Some(tonic::Code::PermissionDenied), "{anonymous:?}");

    let ttl = Duration::from_secs(2);
    let open = pb::OpenSessionRequest {
        ttl_ms: ttl.as_millis() as u64,
        label: "grpc-web over TLS".into(),
        open_id: rand::random::<[u8; 16]>().to_vec(),
    };
    let session = web
        .open_session(request(open, Some(APP), Some("alice-token")))
        .await
        .expect("OpenSession over gRPC-web and TLS")
        .into_inner()
        .session_id;
    let renew_as = |seq: u64, token: Option<&'static str>| {
        let mut web = web.clone();
        async move {
            let msg = pb::KeepAliveRequest {
                seq,
                session_ids: vec![session],
            };
            web.renew(request(msg, Some(APP), token))
                .await
                .map(|r| r.into_inner().leases)
        }
    };
    let lease_status = |leases: Vec<pb::SessionLease>| {
        leases
            .into_iter()
            .find(|l| l.session_id == session)
            .map(|l| l.status())
    };
    let by_bob = renew_as(1, Some("bob-token")).await.expect("Renew by bob");
    assert_eq!(
        lease_status(by_bob),
        Some(pb::LeaseStatus::LeasePermissionDenied)
    );
    let by_alice = renew_as(2, Some("alice-token"))
        .await
        .expect("Renew by alice");
    assert_eq!(lease_status(by_alice), Some(pb::LeaseStatus::LeaseOk));
    let anonymous = renew_as(3, None).await;
    let code = anonymous.as_ref().err().map(|s| s.code());
    assert_eq!(code, Some(tonic::Code::PermissionDenied), "{anonymous:?}");
}
