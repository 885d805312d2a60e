//! Connection setup in one place: outgoing channels (to peers) and the gRPC
//! server builder, with TLS when configured.

use std::sync::Arc;
use std::time::Duration;

use tonic::transport::{Channel, ClientTlsConfig, Endpoint, Server, ServerTlsConfig};

use crate::security::tls::TlsSettings;

/// Largest gRPC message between peers (Raft batches and snapshot chunks).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How this node connects and listens.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    tls: Option<Arc<(ServerTlsConfig, ClientTlsConfig)>>,
}

impl Transport {
    /// Plain TCP (no TLS).
    pub fn plain() -> Transport {
        Transport::default()
    }

    /// TLS on every link, from `settings` (certificate files are read now).
    pub fn tls(settings: &TlsSettings) -> anyhow::Result<Transport> {
        let server = settings.server_config()?;
        let client = settings.peer_client_config()?;
        Ok(Transport {
            tls: Some(Arc::new((server, client))),
        })
    }

    /// Whether links use TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// A lazily connected channel to peer `addr` (host:port).
    pub fn channel(&self, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{addr}"))?;
        if let Some(tls) = &self.tls {
            endpoint = endpoint.tls_config(tls.1.clone())?;
        }
        let endpoint = endpoint
            .connect_timeout(Duration::from_millis(500))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
        Ok(endpoint.connect_lazy())
    }

    /// A server builder with this node's transport settings.
    pub fn server(&self) -> Result<Server, tonic::transport::Error> {
        let mut server = Server::builder();
        if let Some(tls) = &self.tls {
            server = server.tls_config(tls.0.clone())?;
        }
        Ok(server
            .tcp_nodelay(true)
            .http2_keepalive_interval(Some(Duration::from_secs(5)))
            .http2_keepalive_timeout(Some(Duration::from_secs(5))))
    }
}
