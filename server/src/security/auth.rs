//! Who a caller is and what it may do.
//!
//! Principals come from an access file (TOML) given to `tenure server
//! --auth-file`. A principal is recognised by a bearer token (stored as its
//! SHA-256, never in clear) or by the common name of its verified client
//! certificate. Rules grant permissions on lock-name prefixes:
//!
//! ```toml
//! [[principal]]
//! name = "jobs"
//! token_sha256 = "9f86d081884c7d65..."   # `tenure auth hash-token TOKEN`
//! rules = [{ prefix = "jobs/", allow = ["lock", "read"] }]
//!
//! [[principal]]
//! name = "ops"
//! cert_cn = "ops.example.com"
//! rules = [{ prefix = "", allow = ["admin", "lock", "read"] }]
//! ```
//!
//! Without an access file every caller is the principal `anonymous` with every
//! permission (the default of `tenure dev`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use parking_lot::RwLock;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// What a rule allows on its prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Perm {
    /// describe, list.
    Read,
    /// acquire, release, open/renew/close its own sessions.
    Lock,
    /// force-release, blacklist, audit, other principals' sessions.
    Admin,
}

impl Perm {
    /// Whether holding `self` grants `other`: `admin` implies `lock` and
    /// `read`; `lock` implies `read`.
    pub fn implies(self, other: Perm) -> bool {
        self == other || self == Perm::Admin || (self == Perm::Lock && other == Perm::Read)
    }
}

impl std::fmt::Display for Perm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Perm::Read => "read",
            Perm::Lock => "lock",
            Perm::Admin => "admin",
        })
    }
}

/// A permission on a lock-name prefix.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Lock-name prefix ("" = every lock, and the cluster itself).
    pub prefix: String,
    /// Permissions granted.
    pub allow: Vec<Perm>,
}

/// One principal of the access file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalConfig {
    /// Name, recorded with its sessions and in the audit log.
    pub name: String,
    /// Hex SHA-256 of its bearer token.
    #[serde(default)]
    pub token_sha256: Option<String>,
    /// Common name of its client certificate.
    #[serde(default)]
    pub cert_cn: Option<String>,
    /// What it may do.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessFile {
    #[serde(default)]
    principal: Vec<PrincipalConfig>,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Its name.
    pub name: String,
    rules: Arc<Vec<Rule>>,
}

impl Principal {
    /// The caller when no access file is configured: may do everything.
    pub fn anonymous() -> Principal {
        Principal {
            name: "anonymous".into(),
            rules: Arc::new(vec![Rule {
                prefix: String::new(),
                allow: vec![Perm::Read, Perm::Lock, Perm::Admin],
            }]),
        }
    }

    /// Whether it holds `perm` on lock `name` (a rule's prefix matches the name).
    /// `admin` implies `lock` and `read`; `lock` implies `read`.
    pub fn may(&self, perm: Perm, name: &str) -> bool {
        self.rules
            .iter()
            .any(|r| name.starts_with(&r.prefix) && r.allow.iter().any(|&a| a.implies(perm)))
    }

    /// Whether it holds `perm` on some prefix (for example, `lock` anywhere
    /// lets it own sessions).
    pub fn may_anywhere(&self, perm: Perm) -> bool {
        self.rules
            .iter()
            .any(|r| r.allow.iter().any(|&a| a.implies(perm)))
    }
}

/// The parsed access file.
#[derive(Debug, Default)]
pub struct Access {
    principals: Vec<(PrincipalConfig, Principal)>,
}

/// Hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Access {
    /// Parses an access file.
    pub fn parse(text: &str) -> anyhow::Result<Access> {
        let file: AccessFile = toml::from_str(text)?;
        let mut principals = Vec::new();
        for p in file.principal {
            anyhow::ensure!(!p.name.is_empty(), "a principal needs a name");
            anyhow::ensure!(
                p.token_sha256.is_some() || p.cert_cn.is_some(),
                "principal {:?} has neither token_sha256 nor cert_cn",
                p.name
            );
            if let Some(h) = &p.token_sha256 {
                anyhow::ensure!(
                    h.len() == 64 && h.chars().all(|c| c.is_ascii_hexdigit()),
                    "token_sha256 of {:?} is not 64 hex digits",
                    p.name
                );
            }
            let principal = Principal {
                name: p.name.clone(),
                rules: Arc::new(p.rules.clone()),
            };
            principals.push((p, principal));
        }
        Ok(Access { principals })
    }

    /// The principal whose token this is.
    pub fn by_token(&self, token: &str) -> Option<Principal> {
        let hash = hash_token(token);
        self.principals
            .iter()
            .find(|(c, _)| {
                c.token_sha256.as_deref().is_some_and(|h| {
                    constant_time_eq(h.to_ascii_lowercase().as_bytes(), hash.as_bytes())
                })
            })
            .map(|(_, p)| p.clone())
    }

    /// The principal with this client-certificate common name.
    pub fn by_cert_cn(&self, cn: &str) -> Option<Principal> {
        self.principals
            .iter()
            .find(|(c, _)| c.cert_cn.as_deref() == Some(cn))
            .map(|(_, p)| p.clone())
    }
}

/// The access rules in force, reloaded when the file changes (or on SIGHUP).
#[derive(Clone, Default)]
pub struct Authenticator {
    inner: Arc<RwLock<Option<Arc<Access>>>>,
    path: Option<PathBuf>,
}

impl Authenticator {
    /// No access file: everyone is `anonymous` with every permission.
    pub fn open() -> Authenticator {
        Authenticator::default()
    }

    /// Loads `path`; fails if it does not parse.
    pub fn from_file(path: &Path) -> anyhow::Result<Authenticator> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the access file {}: {e}", path.display()))?;
        let access = Access::parse(&text)
            .map_err(|e| anyhow::anyhow!("access file {}: {e}", path.display()))?;
        Ok(Authenticator {
            inner: Arc::new(RwLock::new(Some(Arc::new(access)))),
            path: Some(path.to_owned()),
        })
    }

    /// Whether callers must authenticate.
    pub fn enabled(&self) -> bool {
        self.inner.read().is_some()
    }

    /// Identifies a caller by its bearer token or certificate common name.
    /// None: not authenticated.
    pub fn identify(&self, token: Option<&str>, cert_cn: Option<&str>) -> Option<Principal> {
        let guard = self.inner.read();
        let Some(access) = guard.as_ref() else {
            return Some(Principal::anonymous());
        };
        if let Some(t) = token {
            return access.by_token(t);
        }
        cert_cn.and_then(|cn| access.by_cert_cn(cn))
    }

    /// Re-reads the access file; keeps the old rules if the new file is bad.
    pub fn reload(&self) -> anyhow::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let fresh = Authenticator::from_file(path)?;
        let access = fresh.inner.read().clone();
        *self.inner.write() = access;
        tracing::info!(path = %path.display(), "access file reloaded");
        Ok(())
    }

    /// Reloads on SIGHUP and whenever the file's modification time changes.
    pub async fn watch(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let Some(path) = self.path.clone() else {
            return;
        };
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut seen: Option<SystemTime> = mtime(&path);
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let hangup = async {
                match hup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            #[cfg(not(unix))]
            let hangup = std::future::pending::<()>();
            let forced = tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => false,
                _ = hangup => true,
                _ = stop.changed() => return,
            };
            let now = mtime(&path);
            if forced || now != seen {
                seen = now;
                if let Err(e) = self.reload() {
                    tracing::error!(error = %e, "access file not reloaded; keeping the previous rules");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
[[principal]]
name = "jobs"
token_sha256 = "TOKEN_HASH"
rules = [{ prefix = "jobs/", allow = ["lock"] }]

[[principal]]
name = "ops"
cert_cn = "ops.example"
rules = [{ prefix = "", allow = ["admin"] }]
"#;

    #[test]
    fn tokens_and_prefix_rules() {
        let access =
            Access::parse(&FILE.replace("TOKEN_HASH", &hash_token("s3cret"))).expect("parses");
        let jobs = access.by_token("s3cret").expect("known token");
        assert_eq!(jobs.name, "jobs");
        assert!(jobs.may(Perm::Lock, "jobs/x"));
        assert!(jobs.may(Perm::Read, "jobs/x"));
        assert!(!jobs.may(Perm::Lock, "billing/x"));
        assert!(!jobs.may(Perm::Admin, "jobs/x"));
        assert!(access.by_token("wrong").is_none());
        let ops = access.by_cert_cn("ops.example").expect("known cn");
        assert!(ops.may(Perm::Admin, "billing/x") && ops.may(Perm::Lock, "x"));
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(Access::parse("[[principal]]\nname = \"x\"\n").is_err());
        assert!(Access::parse("[[principal]]\nname = \"x\"\ntoken_sha256 = \"abc\"\n").is_err());
        assert!(Access::parse("[[principal]]\nname = \"x\"\ncert_cn = \"x\"\nrules = [{ prefix = \"\", allow = [\"root\"] }]\n").is_err());
        assert!(Access::parse("garbage = [").is_err());
    }
}
