//! Throw-away certificates for `tenure dev --tls` and for tests: a CA, server
//! certificates valid for 127.0.0.1/localhost (with the peer common name, so the
//! nodes accept each other), and client certificates.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};

/// A certificate authority that issues certificates into a directory.
pub struct DevCa {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate (PEM file).
    pub cert: PathBuf,
}

/// A certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct Issued {
    /// Certificate file.
    pub cert: PathBuf,
    /// Private key file.
    pub key: PathBuf,
}

impl DevCa {
    /// Creates a CA named `name` whose files go to `dir`.
    pub fn new(dir: &Path, name: &str) -> anyhow::Result<DevCa> {
        std::fs::create_dir_all(dir)?;
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key)?;
        let path = dir.join(format!("{name}.crt"));
        std::fs::write(&path, cert.pem())?;
        Ok(DevCa {
            dir: dir.to_owned(),
            issuer: Issuer::new(params, key),
            cert: path,
        })
    }

    /// Issues a certificate with common name `cn` and the given DNS/IP names,
    /// written as `<file>.crt` and `<file>.key`.
    pub fn issue(&self, file: &str, cn: &str, names: &[&str]) -> anyhow::Result<Issued> {
        let key = KeyPair::generate()?;
        let mut params =
            CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
        params.distinguished_name.push(DnType::CommonName, cn);
        let cert = params.signed_by(&key, &self.issuer)?;
        let issued = Issued {
            cert: self.dir.join(format!("{file}.crt")),
            key: self.dir.join(format!("{file}.key")),
        };
        std::fs::write(&issued.cert, cert.pem())?;
        std::fs::write(&issued.key, key.serialize_pem())?;
        Ok(issued)
    }
}

/// Everything `tenure dev --tls` needs.
pub struct DevCerts {
    /// The CA.
    pub ca: DevCa,
    /// The nodes' certificate (server and peer identity).
    pub node: Issued,
    /// A client certificate (common name `dev-client`).
    pub client: Issued,
}

/// The common name peers present by default.
pub const DEFAULT_PEER_CN: &str = "tenure-peer";

/// Creates a CA, a node certificate for loopback and a client certificate in `dir`.
pub fn generate(dir: &Path) -> anyhow::Result<DevCerts> {
    let ca = DevCa::new(dir, "tenure-dev-ca")?;
    let node = ca.issue("node", DEFAULT_PEER_CN, &["127.0.0.1", "localhost"])?;
    let client = ca.issue("client", "dev-client", &[])?;
    Ok(DevCerts { ca, node, client })
}
