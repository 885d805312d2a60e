//! The peer API on real clusters with real certificates: no way into the Raft
//! log without a peer identity.

use std::time::Duration;

use tenure::Client;
use tenure_proto::raft::RaftMessage;
use tenure_proto::raft::raft_client::RaftClient;
use tenure_tests::secure::{ADMIN, Pki, Principal, with_leader};
use tenure_tests::{Cluster, eventually};

/// ops: admin by token, or by a client certificate named ops-cn.
const OPS: Principal = Principal {
    name: "ops",
    token: Some("ops-token"),
    cert_cn: Some("ops-cn"),
    rules: ADMIN,
};

fn undecodable() -> RaftMessage {
    RaftMessage {
        payload: vec![0xff; 3],
    }
}

/// With TLS but no --peer-ca, anyone could write into the log: the node
/// refuses to start, unless the operator says --insecure-peers (logged loudly).
#[tokio::test]
async fn a_node_with_tls_and_no_peer_ca_refuses_to_start() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::new(dir.path());
    pki.write_access(&[OPS]);
    let without_peer_ca: Vec<String> = pki
        .server_args(&[])
        .chunks(2)
        .filter(|flag| flag[0] != "--peer-ca")
        .flatten()
        .cloned()
        .collect();
    let args: Vec<&str> = without_peer_ca.iter().map(String::as_str).collect();
    let mut cluster = Cluster::start_with(3, &args);
    let status = eventually(Duration::from_secs(10), || {
        let status = cluster.exited(1);
        async move { status }
    })
    .await;
    assert!(
        status.is_some_and(|s| !s.success()),
        "node 1 did not refuse to start: {status:?}"
    );
    assert!(cluster.log(1).contains("--peer-ca"), "{}", cluster.log(1));
    drop(cluster);

    // The configuration of old: one CA for clients and nodes, no --peer-ca
    // (outgoing peer links then verify nodes with the client CA).
    let client_ca = pki.client_ca.cert.display().to_string();
    let cluster_ca = pki.cluster_ca.cert.display().to_string();
    let mut insecure: Vec<String> = without_peer_ca
        .iter()
        .map(|a| {
            if *a == client_ca {
                cluster_ca.clone()
            } else {
                a.clone()
            }
        })
        .collect();
    insecure.push("--insecure-peers".into());
    let args: Vec<&str> = insecure.iter().map(String::as_str).collect();
    let cluster = Cluster::start_with(3, &args);
    let admin = Client::connect_lazy(cluster.endpoints(), pki.options(Some("ops-token"), None))
        .expect("client");
    let admin = with_leader(&cluster, admin).await;
    admin.try_lock("insecure/x").await.expect("serves");
    assert!(cluster.log(1).contains("INSECURE"), "{}", cluster.log(1));
}

/// The client CA and the peer CA are two verifiers: a client certificate with
/// the peer common name is no peer, and a node-CA certificate with a
/// principal's common name is no principal.
#[tokio::test]
async fn client_and_peer_certificate_authorities_are_kept_apart() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::new(dir.path());
    let cluster = pki.cluster(&[OPS], &[]);
    let admin = Client::connect_lazy(cluster.endpoints(), pki.options(Some("ops-token"), None))
        .expect("admin");
    with_leader(&cluster, admin).await;
    let addr = cluster.nodes[0].addr.clone();

    // A client certificate named like a peer: refused by the peer API.
    let fake_peer = pki.client_cert("fake-peer", "tenure-peer");
    let channel = pki.channel(&addr, Some(&fake_peer)).await;
    let err = RaftClient::new(channel)
        .vote(undecodable())
        .await
        .expect_err("a client certificate is no peer");
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");

    // A node-CA certificate named like a principal: not that principal.
    let fake_ops = pki.cluster_cert("fake-ops", "ops-cn");
    let client = Client::connect_lazy(cluster.endpoints(), pki.options(None, Some(&fake_ops)))
        .expect("client");
    let err = client.status().await.expect_err("no principal");
    assert_eq!(err.kind(), tenure::ErrorKind::PermissionDenied, "{err}");

    // The same common name from the client CA is the principal.
    let real_ops = pki.client_cert("ops", "ops-cn");
    let client = Client::connect_lazy(cluster.endpoints(), pki.options(None, Some(&real_ops)))
        .expect("client");
    client.status().await.expect("ops by certificate");
}

/// The peer API checks the caller before it reads the request: a body that is
/// not even a peer message gets PERMISSION_DENIED, not a decoding error.
#[tokio::test]
async fn the_peer_api_checks_the_caller_before_reading_the_body() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = Pki::new(dir.path());
    let cluster = pki.cluster(&[OPS], &[]);
    let admin = Client::connect_lazy(cluster.endpoints(), pki.options(Some("ops-token"), None))
        .expect("admin");
    with_leader(&cluster, admin).await;
    let channel = pki.channel(&cluster.nodes[1].addr, None).await;

    /// Field 1 as a varint, where a RaftMessage has bytes: undecodable.
    #[derive(Clone, PartialEq, prost::Message)]
    struct NotAPeerMessage {
        #[prost(uint64, tag = "1")]
        bogus: u64,
    }
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<NotAPeerMessage, RaftMessage>::default();
    let path = http::uri::PathAndQuery::from_static("/tenure.raft.v1.Raft/AppendEntries");
    let err = grpc
        .unary(
            tonic::Request::new(NotAPeerMessage { bogus: 7 }),
            path,
            codec,
        )
        .await
        .expect_err("refused");
    assert_eq!(err.code(), tonic::Code::PermissionDenied, "{err:?}");
}
