//! The keepalive link from a session's heartbeat to one node.
//!
//! Natively a link is one bidirectional `KeepAlive` stream, opened once and
//! reused for every renewal. gRPC-web (the wasm client) has no client
//! streaming, so there each renewal is one unary `Renew` call; the server
//! answers both the same way, from the same batched leadership round, so the
//! session's expiry arithmetic (G3) does not depend on which is used.

use tenure_proto::v1 as pb;

use crate::conn::Conn;
use crate::error::{Failure, classify};

/// The answer to one renewal.
pub(crate) enum Reply {
    /// The server's verdict on the session.
    Lease(pb::SessionLease),
    /// The node is not the leader (and may name the one it knows).
    NotLeader(Option<String>),
}

/// A keepalive link to one node.
pub(crate) struct Link {
    addr: String,
    #[cfg(not(target_arch = "wasm32"))]
    stream: stream::Stream,
}

impl Link {
    /// The node this link goes to.
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// Opens a link to `addr`; a node that is not the leader may answer with a
    /// redirect instead.
    pub(crate) async fn open(conn: &Conn, addr: &str) -> Result<Result<Link, Reply>, String> {
        #[cfg(not(target_arch = "wasm32"))]
        {
            Ok(stream::Stream::open(conn, addr).await?.map(|stream| Link {
                addr: addr.to_owned(),
                stream,
            }))
        }
        #[cfg(target_arch = "wasm32")]
        {
            let _ = conn;
            Ok(Ok(Link {
                addr: addr.to_owned(),
            }))
        }
    }

    /// Renews `session` (message number `seq`) and waits for the answer.
    pub(crate) async fn exchange(
        &mut self,
        conn: &Conn,
        seq: u64,
        session: u64,
    ) -> Result<Reply, String> {
        let req = pb::KeepAliveRequest {
            seq,
            session_ids: vec![session],
        };
        #[cfg(not(target_arch = "wasm32"))]
        let resp = {
            let _ = conn;
            self.stream.exchange(req).await?
        };
        #[cfg(target_arch = "wasm32")]
        let resp = {
            let mut stub = conn.stub(&self.addr).map_err(|e| e.to_string())?;
            match stub.renew(req).await {
                Ok(resp) => resp.into_inner(),
                Err(status) => return refusal(&status),
            }
        };
        reply(resp, session)
    }
}

/// A refused call: a redirect if the node is not the leader, else an error.
fn refusal(status: &tonic::Status) -> Result<Reply, String> {
    match classify(status) {
        Failure::NotLeader(leader) => Ok(Reply::NotLeader(leader)),
        _ => Err(status.message().to_owned()),
    }
}

/// The verdict on `session` in a keepalive answer.
fn reply(resp: pb::KeepAliveResponse, session: u64) -> Result<Reply, String> {
    let lease = resp.leases.into_iter().find(|l| l.session_id == session);
    match lease {
        Some(l) if l.status == pb::LeaseStatus::LeaseNotLeader as i32 => Ok(Reply::NotLeader(
            (!resp.leader_addr.is_empty()).then_some(resp.leader_addr),
        )),
        Some(l) => Ok(Reply::Lease(l)),
        None => Err("answer without our session".to_owned()),
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod stream {
    //! The native link: one `KeepAlive` stream.

    use tenure_proto::v1 as pb;
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::ReceiverStream;
    use tonic::Streaming;

    use super::{Reply, refusal};
    use crate::conn::Conn;

    /// One keepalive stream to one node.
    pub(super) struct Stream {
        tx: mpsc::Sender<pb::KeepAliveRequest>,
        rx: Streaming<pb::KeepAliveResponse>,
    }

    impl Stream {
        /// Opens the stream; a node that is not the leader answers with a redirect.
        pub(super) async fn open(conn: &Conn, addr: &str) -> Result<Result<Stream, Reply>, String> {
            let mut stub = conn.stub(addr).map_err(|e| e.to_string())?;
            let (tx, rx) = mpsc::channel(4);
            match stub.keep_alive(ReceiverStream::new(rx)).await {
                Ok(resp) => Ok(Ok(Stream {
                    tx,
                    rx: resp.into_inner(),
                })),
                Err(status) => refusal(&status).map(Err),
            }
        }

        /// Sends `req` and waits for the answer with its sequence number.
        pub(super) async fn exchange(
            &mut self,
            req: pb::KeepAliveRequest,
        ) -> Result<pb::KeepAliveResponse, String> {
            let seq = req.seq;
            self.tx
                .send(req)
                .await
                .map_err(|_| "stream closed".to_owned())?;
            loop {
                let resp = self
                    .rx
                    .message()
                    .await
                    .map_err(|s| s.message().to_owned())?
                    .ok_or_else(|| "stream ended".to_owned())?;
                if resp.seq == seq {
                    return Ok(resp);
                }
                // An answer to an earlier, abandoned attempt.
            }
        }
    }
}
