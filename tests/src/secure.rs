//! Secured clusters for the security tests: certificates made with rcgen, an
//! access file, TLS client options, raw TLS channels, and metrics scrapes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tenure::{Client, ClientOptions, TlsOptions};
use tenure_cli::devcerts::{DevCa, Issued};
use tenure_server::security::auth::hash_token;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::{Cluster, eventually};

/// The certificates of a secured cluster: one CA signs the nodes (server and
/// peer certificates, common name `tenure-peer`), another signs clients.
pub struct Pki {
    /// The nodes' CA (`--peer-ca`, and the CA clients verify nodes with).
    pub cluster_ca: DevCa,
    /// The clients' CA (`--tls-client-ca`).
    pub client_ca: DevCa,
    /// Every node's certificate.
    pub node: Issued,
    dir: PathBuf,
}

impl Pki {
    /// Two CAs and a node certificate under `dir`.
    pub fn new(dir: &Path) -> Pki {
        let cluster_ca = DevCa::new(&dir.join("cluster-ca"), "cluster-ca").expect("cluster CA");
        let client_ca = DevCa::new(&dir.join("client-ca"), "client-ca").expect("client CA");
        let node = cluster_ca
            .issue("node", "tenure-peer", &["127.0.0.1", "localhost"])
            .expect("node certificate");
        Pki {
            cluster_ca,
            client_ca,
            node,
            dir: dir.to_owned(),
        }
    }

    /// A certificate with common name `cn` signed by the client CA.
    pub fn client_cert(&self, file: &str, cn: &str) -> Issued {
        self.client_ca
            .issue(file, cn, &[])
            .expect("client certificate")
    }

    /// A certificate with common name `cn` signed by the nodes' CA.
    pub fn cluster_cert(&self, file: &str, cn: &str) -> Issued {
        self.cluster_ca
            .issue(file, cn, &["127.0.0.1"])
            .expect("cluster certificate")
    }

    /// The access file's path.
    pub fn access_path(&self) -> PathBuf {
        self.dir.join("access.toml")
    }

    /// Server flags: TLS with both CAs, the access file, and `extra`.
    pub fn server_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "--tls-cert",
            &self.node.cert.display().to_string(),
            "--tls-key",
            &self.node.key.display().to_string(),
            "--tls-client-ca",
            &self.client_ca.cert.display().to_string(),
            "--peer-ca",
            &self.cluster_ca.cert.display().to_string(),
            "--auth-file",
            &self.access_path().display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Writes `principals` as the access file and starts a 3-node cluster
    /// (with metrics listeners).
    pub fn cluster(&self, principals: &[Principal], extra: &[&str]) -> Cluster {
        self.write_access(principals);
        let args = self.server_args(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Cluster::start_opts(3, &args, true)
    }

    /// Rewrites the access file (the nodes reload it).
    pub fn write_access(&self, principals: &[Principal]) {
        let text: String = principals.iter().map(Principal::toml).collect();
        std::fs::write(self.access_path(), text).expect("write the access file");
    }

    /// Client options: verify nodes with the cluster CA, authenticate with
    /// `token` and/or `cert`.
    pub fn options(&self, token: Option<&str>, cert: Option<&Issued>) -> ClientOptions {
        ClientOptions {
            tls: Some(TlsOptions {
                ca_file: Some(self.cluster_ca.cert.clone()),
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

    /// A TLS channel to `addr` presenting `identity`.
    pub async fn channel(&self, addr: &str, identity: Option<&Issued>) -> Channel {
        tls_channel(addr, &self.cluster_ca.cert, identity)
            .await
            .expect("TLS channel")
    }
}

/// A principal of the access file.
pub struct Principal {
    /// Its name.
    pub name: &'static str,
    /// Its bearer token (stored hashed), if it uses one.
    pub token: Option<&'static str>,
    /// The common name of its client certificate, if it uses one.
    pub cert_cn: Option<&'static str>,
    /// Its rules, as TOML (`{ prefix = "jobs/", allow = ["lock"] }, ...`).
    pub rules: &'static str,
}

impl Principal {
    /// A principal authenticated by `token`.
    pub const fn token(name: &'static str, token: &'static str, rules: &'static str) -> Principal {
        Principal {
            name,
            token: Some(token),
            cert_cn: None,
            rules,
        }
    }

    fn toml(&self) -> String {
        let mut out = format!("[[principal]]\nname = \"{}\"\n", self.name);
        if let Some(token) = self.token {
            out.push_str(&format!("token_sha256 = \"{}\"\n", hash_token(token)));
        }
        if let Some(cn) = self.cert_cn {
            out.push_str(&format!("cert_cn = \"{cn}\"\n"));
        }
        out.push_str(&format!("rules = [{}]\n\n", self.rules));
        out
    }
}

/// Rules that allow `admin` everywhere.
pub const ADMIN: &str = r#"{ prefix = "", allow = ["admin"] }"#;
/// Rules that allow `lock` under `jobs/`.
pub const JOBS: &str = r#"{ prefix = "jobs/", allow = ["lock"] }"#;

/// A TLS channel to `addr` that verifies it with `ca` and presents `identity`.
pub async fn tls_channel(
    addr: &str,
    ca: &Path,
    identity: Option<&Issued>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(std::fs::read(ca).expect("ca")));
    if let Some(id) = identity {
        tls = tls.identity(Identity::from_pem(
            std::fs::read(&id.cert).expect("cert"),
            std::fs::read(&id.key).expect("key"),
        ));
    }
    Endpoint::from_shared(format!("https://{addr}"))?
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(2))
        .connect()
        .await
}

/// Waits until `admin` (any working client) sees a leader; returns it.
pub async fn with_leader(cluster: &Cluster, admin: Client) -> Client {
    let ok = eventually(Duration::from_secs(15), || {
        let admin = admin.clone();
        async move { admin.status().await.ok().filter(|s| s.leader_id.is_some()) }
    })
    .await;
    assert!(ok.is_some(), "no leader\n{}", cluster.logs());
    admin
}

/// One sample of `metric` (with `labels`, e.g. `limit="max-locks"`) from the
/// Prometheus text at `addr`; 0 if absent.
pub async fn metric(addr: &str, metric: &str, labels: &str) -> f64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return 0.0;
    };
    let request = format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return 0.0;
    }
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text).await;
    let wanted = format!("{metric}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&wanted))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}
