//! TLS settings of a node: the certificate it serves (and presents to peers),
//! which client certificates it verifies, and how peers verify each other.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

/// TLS settings from the command line.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// PEM certificate (chain) of this node.
    pub cert: PathBuf,
    /// PEM private key of `cert`.
    pub key: PathBuf,
    /// CA that signs client certificates; with it clients may present one
    /// (its common name can identify a principal).
    pub client_ca: Option<PathBuf>,
    /// Refuse clients without a certificate signed by `client_ca`.
    pub require_client_cert: bool,
    /// CA that signs peer certificates. Peers then verify each other: outgoing
    /// links check the peer's server certificate, and the peer API accepts only
    /// callers whose certificate (signed by a trusted CA) has `peer_cn`.
    pub peer_ca: Option<PathBuf>,
    /// Common name every peer certificate carries.
    pub peer_cn: String,
    /// Server name to verify in peers' certificates, if not their host.
    pub peer_server_name: Option<String>,
}

fn read(what: &str, path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read the {what} {}", path.display()))
}

impl TlsSettings {
    /// The server side: this node's identity, and the roots that verify client
    /// (and peer) certificates.
    pub fn server_config(&self) -> anyhow::Result<ServerTlsConfig> {
        let identity =
            Identity::from_pem(read("certificate", &self.cert)?, read("key", &self.key)?);
        let mut config = ServerTlsConfig::new().identity(identity);
        let mut roots = Vec::new();
        for ca in [&self.client_ca, &self.peer_ca].into_iter().flatten() {
            roots.extend(read("CA", ca)?);
            roots.push(b'\n');
        }
        if !roots.is_empty() {
            config = config
                .client_ca_root(Certificate::from_pem(roots))
                .client_auth_optional(!self.require_client_cert);
        }
        Ok(config)
    }

    /// The client side of peer links: verify the peer against `peer_ca` (or the
    /// client CA) and present this node's certificate.
    pub fn peer_client_config(&self) -> anyhow::Result<ClientTlsConfig> {
        let identity =
            Identity::from_pem(read("certificate", &self.cert)?, read("key", &self.key)?);
        let ca = self
            .peer_ca
            .as_ref()
            .or(self.client_ca.as_ref())
            .context("TLS between peers needs --peer-ca")?;
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read("peer CA", ca)?))
            .identity(identity);
        if let Some(name) = &self.peer_server_name {
            config = config.domain_name(name.clone());
        }
        Ok(config)
    }
}

/// The common name of the first certificate of a verified client chain.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}
