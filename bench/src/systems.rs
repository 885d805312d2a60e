//! tenure and etcd behind one small interface: a session (tenure session /
//! etcd lease with keepalives) that locks and unlocks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

/// Which system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// tenure (the core client).
    Tenure,
    /// etcd (lease + Lock/Unlock API; token = revision of the lock key).
    Etcd,
}

impl System {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            System::Tenure => "tenure",
            System::Etcd => "etcd",
        }
    }
}

/// A client with a session.
#[derive(Clone)]
pub enum Session {
    /// A tenure client (one session).
    Tenure(tenure::Client),
    /// An etcd client and a lease kept alive in the background.
    Etcd {
        /// The client.
        client: Box<etcd_client::Client>,
        /// The lease.
        lease: i64,
        /// Set when a keepalive found the lease gone.
        expired: Arc<AtomicBool>,
    },
}

/// A held lock.
pub enum Held {
    /// tenure's handle.
    Tenure(tenure::Lock),
    /// etcd's lock key and its revision (the fencing token).
    Etcd {
        /// The key.
        key: Vec<u8>,
        /// Its revision.
        token: u64,
    },
}

impl Held {
    /// The fencing token.
    pub fn token(&self) -> u64 {
        match self {
            Held::Tenure(l) => l.fencing_token(),
            Held::Etcd { token, .. } => *token,
        }
    }
}

/// Renews an etcd lease every ttl/3, reopening the stream after errors, until
/// the lease is gone.
async fn keep_lease_alive(
    mut client: etcd_client::Client,
    lease: i64,
    ttl: Duration,
    expired: Arc<AtomicBool>,
) {
    loop {
        let Ok((mut keeper, mut stream)) = client.lease_keep_alive(lease).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        loop {
            if keeper.keep_alive().await.is_err() {
                break;
            }
            match stream.message().await {
                Ok(Some(r)) if r.ttl() <= 0 => {
                    expired.store(true, Ordering::Relaxed);
                    return;
                }
                Ok(Some(_)) => tokio::time::sleep(ttl / 3).await,
                _ => break,
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Session {
    /// Opens a session with `ttl`.
    pub async fn open(
        system: System,
        endpoints: &[String],
        ttl: Duration,
    ) -> anyhow::Result<Session> {
        match system {
            System::Tenure => {
                let options = tenure::ClientOptions {
                    ttl,
                    ..Default::default()
                };
                Ok(Session::Tenure(
                    tenure::Client::connect(endpoints, options).await?,
                ))
            }
            System::Etcd => {
                let mut client = etcd_client::Client::connect(endpoints, None).await?;
                let lease = client.lease_grant(ttl.as_secs() as i64, None).await?.id();
                let expired = Arc::new(AtomicBool::new(false));
                tokio::spawn(keep_lease_alive(
                    client.clone(),
                    lease,
                    ttl,
                    expired.clone(),
                ));
                Ok(Session::Etcd {
                    client: Box::new(client),
                    lease,
                    expired,
                })
            }
        }
    }

    /// Acquires `name`: waits if `wait`, else fails at once when taken (tenure
    /// only; etcd's Lock always waits).
    pub async fn lock(&self, name: &str, wait: bool) -> anyhow::Result<Held> {
        match self {
            Session::Tenure(c) => {
                let opts = if wait {
                    tenure::AcquireOptions::wait(Duration::from_secs(30))
                } else {
                    tenure::AcquireOptions::try_once()
                };
                Ok(Held::Tenure(c.acquire(name, opts).await?))
            }
            Session::Etcd { client, lease, .. } => {
                let mut client = (**client).clone();
                let resp = client
                    .lock(
                        name,
                        Some(etcd_client::LockOptions::new().with_lease(*lease)),
                    )
                    .await?;
                let token = resp.header().map(|h| h.revision()).context("no header")? as u64;
                Ok(Held::Etcd {
                    key: resp.key().to_vec(),
                    token,
                })
            }
        }
    }

    /// Releases a held lock.
    pub async fn unlock(&self, held: Held) -> anyhow::Result<()> {
        match (self, held) {
            (_, Held::Tenure(l)) => Ok(l.release().await?),
            (Session::Etcd { client, .. }, Held::Etcd { key, .. }) => {
                (**client).clone().unlock(key).await?;
                Ok(())
            }
            _ => anyhow::bail!("mismatched session and lock"),
        }
    }

    /// Whether the session was lost (expired) while in use.
    pub fn lost(&self) -> bool {
        match self {
            Session::Tenure(c) => c.session_state() == tenure::SessionState::Expired,
            Session::Etcd { expired, .. } => expired.load(Ordering::Relaxed),
        }
    }

    /// An admin force-release of `name`'s current grant (tenure only).
    pub async fn force_release(&self, name: &str, owner: &str) -> anyhow::Result<()> {
        match self {
            Session::Tenure(c) => {
                c.force_release(name, owner, "bench: holder crashed")
                    .await?;
                Ok(())
            }
            Session::Etcd { .. } => anyhow::bail!("etcd has no compare-and-swap force-release"),
        }
    }
}
