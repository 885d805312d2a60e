//! TLS settings of a node: the certificate it serves (and presents to peers),
//! which client certificates it verifies, and how peers verify each other.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
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
    /// Serve the peer API to any caller when there is no `peer_ca` (the
    /// operator's explicit, loudly logged choice); without it such a node
    /// refuses to start.
    pub insecure_peers: bool,
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

    /// Refuses a configuration in which anyone could call the peer API: with
    /// TLS, peers must authenticate each other (`peer_ca`), unless the operator
    /// said `insecure_peers`.
    pub fn check_peer_auth(&self) -> anyhow::Result<()> {
        if self.peer_ca.is_none() && !self.insecure_peers {
            anyhow::bail!(
                "TLS is on but --peer-ca is not set: anyone could send Raft messages \
                 (AppendEntries, Vote, InstallSnapshot) and write into the log past every \
                 permission. Give the peers' CA with --peer-ca, or pass --insecure-peers \
                 to serve the peer API to any caller"
            );
        }
        if self.peer_ca.is_none() {
            tracing::error!(
                "INSECURE: --insecure-peers: the peer API accepts any caller, who can \
                 write arbitrary commands into the Raft log"
            );
        }
        Ok(())
    }

    /// The client side of peer links: verify the peer against `peer_ca` (or the
    /// client CA, with `insecure_peers`) and present this node's certificate.
    pub fn peer_client_config(&self) -> anyhow::Result<ClientTlsConfig> {
        let identity =
            Identity::from_pem(read("certificate", &self.cert)?, read("key", &self.key)?);
        let ca = self
            .peer_ca
            .as_ref()
            .or(self.client_ca.as_ref().filter(|_| self.insecure_peers))
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

/// Which CA signed a caller's certificate chain. The handshake (one listener
/// for clients and peers) trusts the client CA and the peer CA together, so the
/// handlers verify the chain again against the one CA that matters: a peer
/// certificate must chain to the peer CA, a principal's to the client CA.
#[derive(Clone, Default)]
pub struct Verifiers {
    peer: Option<Arc<dyn ClientCertVerifier>>,
    client: Option<Arc<dyn ClientCertVerifier>>,
}

impl std::fmt::Debug for Verifiers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifiers")
            .field("peer", &self.peer.is_some())
            .field("client", &self.client.is_some())
            .finish()
    }
}

impl Verifiers {
    /// The verifiers of `settings` (none for a CA that is not configured).
    pub fn from_settings(settings: &TlsSettings) -> anyhow::Result<Verifiers> {
        let build = |what: &str, path: &Option<PathBuf>| -> anyhow::Result<_> {
            path.as_ref().map(|p| verifier(what, p)).transpose()
        };
        Ok(Verifiers {
            peer: build("peer CA", &settings.peer_ca)?,
            client: build("client CA", &settings.client_ca)?,
        })
    }

    /// Whether `chain` (end entity first) is signed by the peer CA.
    pub fn is_peer(&self, chain: &[CertificateDer<'static>]) -> bool {
        verifies(self.peer.as_deref(), chain)
    }

    /// Whether `chain` (end entity first) is signed by the client CA.
    pub fn is_client(&self, chain: &[CertificateDer<'static>]) -> bool {
        verifies(self.client.as_deref(), chain)
    }
}

fn verifier(what: &str, path: &Path) -> anyhow::Result<Arc<dyn ClientCertVerifier>> {
    let pem = read(what, path)?;
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.with_context(|| format!("the {what} {} is not PEM", path.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("the {what} {} holds a bad certificate", path.display()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .with_context(|| format!("cannot verify certificates with the {what}"))
}

fn verifies(verifier: Option<&dyn ClientCertVerifier>, chain: &[CertificateDer<'static>]) -> bool {
    let (Some(verifier), Some((end_entity, intermediates))) = (verifier, chain.split_first())
    else {
        return false;
    };
    verifier
        .verify_client_cert(end_entity, intermediates, UnixTime::now())
        .is_ok()
}

/// The common name of the first certificate of a verified client chain.
pub fn common_name(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?;
    cn.as_str().ok().map(str::to_owned)
}
