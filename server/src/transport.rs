//! Connection setup in one place: outgoing channels (to peers) and the gRPC
//! server builder. TLS and authentication plug in here.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint, Server};

/// Largest gRPC message accepted or sent (Raft batches and snapshot chunks).
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// How this node connects and listens.
#[derive(Debug, Clone, Default)]
pub struct Transport {}

impl Transport {
    /// A lazily connected channel to `addr` (host:port).
    pub fn channel(&self, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_millis(500))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .keep_alive_while_idle(true);
        Ok(endpoint.connect_lazy())
    }

    /// A server builder with this node's transport settings.
    pub fn server(&self) -> Server {
        Server::builder()
            .tcp_nodelay(true)
            .http2_keepalive_interval(Some(Duration::from_secs(5)))
            .http2_keepalive_timeout(Some(Duration::from_secs(5)))
    }
}
