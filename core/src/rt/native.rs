//! Native hosts: tokio's clock, timers and runtime, tonic's HTTP/2 channel.

use std::future::Future;
use std::time::Duration;

#[cfg(any(feature = "tls-ring", feature = "tls-aws-lc"))]
use tonic::transport::{Certificate, ClientTlsConfig, Identity};
use tonic::transport::{Channel, Endpoint};

use super::Task;
use crate::error::{Error, Result};
use crate::options::ClientOptions;

pub(crate) use tokio::time::{sleep, sleep_until, timeout};

/// The channel to one node.
pub(crate) type Transport = Channel;

/// The runtime a client was made on. Work spawned from `Drop` goes there even
/// when the last reference is dropped outside any runtime (a binding's GC
/// thread).
#[derive(Debug, Clone)]
pub(crate) struct Spawner(tokio::runtime::Handle);

impl Spawner {
    /// The current tokio runtime (panics outside one, as `tokio::spawn` does).
    pub(crate) fn current() -> Spawner {
        Spawner(tokio::runtime::Handle::current())
    }

    /// Runs `work` in the background.
    pub(crate) fn spawn<F>(&self, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.0.spawn(work);
    }
}

/// Runs `work` in the background on the current runtime until it ends or the
/// returned task is aborted.
pub(crate) fn spawn<F>(work: F) -> Task
where
    F: Future<Output = ()> + Send + 'static,
{
    let (work, handle) = futures::future::abortable(work);
    tokio::spawn(work);
    Task(handle)
}

/// TLS settings, read once from the files the options name.
#[cfg(any(feature = "tls-ring", feature = "tls-aws-lc"))]
#[derive(Clone)]
pub(crate) struct Tls(ClientTlsConfig);

/// A build without a TLS feature has no TLS settings to hold.
#[cfg(not(any(feature = "tls-ring", feature = "tls-aws-lc")))]
#[derive(Clone)]
pub(crate) struct Tls;

#[cfg(any(feature = "tls-ring", feature = "tls-aws-lc"))]
fn read_file(what: &str, path: &std::path::Path) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::invalid(format!("cannot read {what} {}: {e}", path.display())))
}

/// Builds the TLS configuration from the options (files are read once).
#[cfg(any(feature = "tls-ring", feature = "tls-aws-lc"))]
pub(crate) fn tls_config(options: &ClientOptions) -> Result<Option<Tls>> {
    let Some(tls) = &options.tls else {
        return Ok(None);
    };
    let mut config = ClientTlsConfig::new();
    if let Some(ca) = &tls.ca_file {
        config = config.ca_certificate(Certificate::from_pem(read_file("CA file", ca)?));
    }
    if let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) {
        config = config.identity(Identity::from_pem(
            read_file("certificate", cert)?,
            read_file("key", key)?,
        ));
    }
    if let Some(name) = &tls.server_name {
        config = config.domain_name(name.clone());
    }
    Ok(Some(Tls(config)))
}

/// Without a TLS feature, TLS options are refused rather than ignored.
#[cfg(not(any(feature = "tls-ring", feature = "tls-aws-lc")))]
pub(crate) fn tls_config(options: &ClientOptions) -> Result<Option<Tls>> {
    match options.tls {
        None => Ok(None),
        Some(_) => Err(Error::invalid(
            "TLS options given, but this build of tenure has no TLS backend \
             (enable the feature tls-ring or tls-aws-lc)",
        )),
    }
}

/// A lazily connecting HTTP/2 channel to `addr`.
pub(crate) fn connect(addr: &str, tls: Option<&Tls>, options: &ClientOptions) -> Result<Channel> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))
        .map_err(|e| Error::invalid(format!("bad endpoint {addr}: {e}")))?;
    #[cfg(any(feature = "tls-ring", feature = "tls-aws-lc"))]
    let endpoint = match tls {
        Some(Tls(tls)) => endpoint
            .tls_config(tls.clone())
            .map_err(|e| Error::invalid(format!("TLS settings for {addr}: {e}")))?,
        None => endpoint,
    };
    let endpoint = endpoint
        .connect_timeout(options.attempt_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(5))
        .keep_alive_timeout(Duration::from_secs(5))
        .keep_alive_while_idle(true);
    Ok(endpoint.connect_lazy())
}

/// A label for the sessions this process opens: `host:pid`.
pub(crate) fn default_label() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}
