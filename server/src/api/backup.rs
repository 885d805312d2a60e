//! `SaveSnapshot`: streams a consistent copy of the leader's applied state, as
//! a snapshot file, to an admin (`tenure snapshot save`).

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tenure_proto::v1 as pb;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::access;
use super::errors::internal;
use crate::node::context::NodeContext;
use crate::store::backup;

/// Bytes of the file per streamed message.
const CHUNK_BYTES: usize = 1 << 20;
/// Messages buffered ahead of a slow reader.
const CHUNKS_AHEAD: usize = 4;

/// The response stream of `SaveSnapshot`.
pub type SnapshotStream = Pin<Box<dyn Stream<Item = Result<pb::SnapshotChunk, Status>> + Send>>;

/// Starts streaming the applied state to `principal` (already authorised, and
/// after a read barrier, so the copy holds everything committed before the
/// call). The copy is taken and encoded off the async runtime.
pub fn stream(node: &Arc<NodeContext>, principal: &str) -> SnapshotStream {
    let (tx, rx) = mpsc::channel(CHUNKS_AHEAD);
    let (node, principal) = (node.clone(), principal.to_owned());
    tokio::spawn(async move {
        let shared = node.shared.clone();
        let exported = tokio::task::spawn_blocking(move || backup::export(&shared)).await;
        let (file, summary) = match exported {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                let _ = tx.send(Err(internal(format!("cannot export: {e}")))).await;
                return;
            }
            Err(e) => {
                let _ = tx.send(Err(internal(format!("export failed: {e}")))).await;
                return;
            }
        };
        tracing::info!(
            principal,
            bytes = file.len(),
            index = summary.index,
            "saving a snapshot"
        );
        let detail = format!(
            "index {}, {} bytes, {} sessions, {} locks, last token {}",
            summary.index,
            file.len(),
            summary.sessions,
            summary.locks,
            summary.last_token
        );
        access::audit_in_background(&node, "snapshot-save", &principal, "cluster", detail);
        let mut stop = node.stop.clone();
        for chunk in file.chunks(CHUNK_BYTES) {
            let msg = pb::SnapshotChunk {
                data: chunk.to_vec(),
            };
            tokio::select! {
                sent = tx.send(Ok(msg)) => if sent.is_err() { return },
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    });
    Box::pin(ReceiverStream::new(rx))
}
