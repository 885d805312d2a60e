//! `Watch`: a stream of the changes of the locks under a prefix, served by the
//! leader from the watch hub (`node::watches`), resumable by revision.

use std::ops::Bound;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures::Stream;
use tenure_proto::v1 as pb;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::access;
use super::calls::Calls;
use super::convert;
use super::errors::error;
use super::validate;
use crate::controls::{self, Control};
use crate::machine::{Change, LockEvent};
use crate::node::context::NodeContext;
use crate::node::watches::HubMsg;
use crate::security::auth::Perm;
use crate::store::state::Shared;

/// The response stream of `Watch`.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchResponse, Status>> + Send>>;

/// How often an idle stream gets a progress message (its revision), and the
/// node re-checks that it still leads.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(1);
/// Most watch streams one node serves at once.
pub const MAX_WATCHERS: usize = 1_024;
/// Most changes per message.
const EVENTS_PER_MESSAGE: usize = 256;
/// How far back the `WatchReplayOld` negative control resumes.
const REPLAY_OLD_BY: u64 = 200;
/// Messages buffered ahead of a slow reader (beyond that the hub's queue
/// fills, and the watcher starts over from the state).
const MESSAGES_AHEAD: usize = 4;

/// `Watch`: validates, checks read permission on the prefix, confirms
/// leadership, then streams.
pub async fn watch(
    calls: &Calls,
    req: Request<pb::WatchRequest>,
) -> Result<Response<WatchStream>, Status> {
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    if !r.prefix.is_empty() {
        validate::lock_name(&r.prefix)?;
    }
    access::require(calls.node(), &caller, Perm::Read, &r.prefix)?;
    calls.read_barrier().await?;
    let node = calls.node().clone();
    let (first, rx) = {
        let shared = node.shared.lock();
        if shared.watches.watchers() >= MAX_WATCHERS {
            return Err(error(
                pb::ErrorKind::ResourceExhausted,
                format!("this node serves {MAX_WATCHERS} watch streams already"),
            ));
        }
        start(&shared, &r.prefix, r.start_revision)
    };
    Ok(Response::new(stream(node, r.prefix, first, rx)))
}

/// The first message for a watcher resuming after `start_revision` (0: from
/// the state), and its receiver, taken under one lock of the state.
fn start(
    shared: &Shared,
    prefix: &str,
    start_revision: u64,
) -> (pb::WatchResponse, broadcast::Receiver<HubMsg>) {
    let current = shared.machine.revision();
    // Negative control: resume well before where the watcher stopped.
    let start_revision = if start_revision > 0 && controls::active(Control::WatchReplayOld) {
        start_revision.saturating_sub(REPLAY_OLD_BY).max(1)
    } else {
        start_revision
    };
    let replay = (start_revision > 0)
        .then(|| shared.watches.since(start_revision, current))
        .flatten();
    let first = match replay {
        Some(changes) => pb::WatchResponse {
            revision: current,
            reset: false,
            locks: Vec::new(),
            events: changes
                .iter()
                .filter(|e| e.name.starts_with(prefix))
                .map(|e| event(e))
                .collect(),
        },
        None => reset(shared, prefix),
    };
    (first, shared.watches.subscribe())
}

/// The state under `prefix` as a reset message.
fn reset(shared: &Shared, prefix: &str) -> pb::WatchResponse {
    let locks = shared
        .machine
        .locks()
        .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
        .take_while(|(name, _)| name.starts_with(prefix))
        .map(|(name, lock)| convert::lock_info(name, lock))
        .collect();
    pb::WatchResponse {
        revision: shared.machine.revision(),
        reset: true,
        locks,
        events: Vec::new(),
    }
}

/// Streams `first`, then every change under `prefix`, until the watcher goes
/// away, the node stops, or it stops leading (NOT_LEADER: resume elsewhere).
fn stream(
    node: Arc<NodeContext>,
    prefix: String,
    first: pb::WatchResponse,
    mut rx: broadcast::Receiver<HubMsg>,
) -> WatchStream {
    let (tx, out) = mpsc::channel(MESSAGES_AHEAD);
    tokio::spawn(async move {
        let mut seen = first.revision;
        if tx.send(Ok(first)).await.is_err() {
            return;
        }
        let (calls, mut stop) = (Calls::new(node.clone()), node.stop.clone());
        let mut progress = tokio::time::interval(PROGRESS_EVERY);
        progress.reset();
        loop {
            let msg = tokio::select! {
                msg = rx.recv() => match next_message(&node, &prefix, &mut rx, msg, &mut seen) {
                    Some(msg) => msg,
                    None => return,
                },
                _ = progress.tick() => {
                    if let Err(status) = calls.require_leader() {
                        let _ = tx.send(Err(status)).await;
                        return;
                    }
                    progress_message(seen)
                }
                _ = stopped(&mut stop) => return,
                _ = tx.closed() => return,
            };
            if let Some(msg) = msg {
                progress.reset();
                if tx.send(Ok(msg)).await.is_err() {
                    return;
                }
            }
        }
    });
    Box::pin(ReceiverStream::new(out))
}

/// The message for what the hub said (with what else is queued behind it):
/// Some(None) when nothing under the prefix changed, None when the hub is gone.
fn next_message(
    node: &NodeContext,
    prefix: &str,
    rx: &mut broadcast::Receiver<HubMsg>,
    received: Result<HubMsg, broadcast::error::RecvError>,
    seen: &mut u64,
) -> Option<Option<pb::WatchResponse>> {
    let mut changes = Vec::new();
    let mut next = Some(received);
    while let Some(received) = next.take() {
        match received {
            Ok(HubMsg::Change(e)) => {
                *seen = e.revision;
                if e.name.starts_with(prefix) {
                    changes.push(event(&e));
                }
            }
            // A snapshot replaced the state, or this watcher fell behind:
            // start over from the state, with a fresh receiver.
            Ok(HubMsg::Reset) | Err(broadcast::error::RecvError::Lagged(_)) => {
                let shared = node.shared.lock();
                *rx = shared.watches.subscribe();
                let msg = reset(&shared, prefix);
                *seen = msg.revision;
                return Some(Some(msg));
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
        if changes.len() < EVENTS_PER_MESSAGE {
            next = match rx.try_recv() {
                Ok(m) => Some(Ok(m)),
                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                    Some(Err(broadcast::error::RecvError::Lagged(n)))
                }
                Err(_) => None,
            };
        }
    }
    if changes.is_empty() {
        return Some(None);
    }
    Some(Some(pb::WatchResponse {
        revision: *seen,
        reset: false,
        locks: Vec::new(),
        events: changes,
    }))
}

/// Resolves when the node stops (the guard `wait_for` returns is not Send,
/// so it must not reach the select's output).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn progress_message(revision: u64) -> Option<pb::WatchResponse> {
    Some(pb::WatchResponse {
        revision,
        reset: false,
        locks: Vec::new(),
        events: Vec::new(),
    })
}

/// A change on the wire.
fn event(e: &LockEvent) -> pb::WatchEvent {
    pb::WatchEvent {
        revision: e.revision,
        change: change_to_pb(e.change) as i32,
        name: e.name.clone(),
        session_id: e.session,
        token: e.token,
        owner_id: validate::owner_hex(e.owner),
        mode: convert::mode_to_pb(e.mode) as i32,
        permits: e.mode.permits(),
        value: e.value.clone(),
        request_id: e.request,
        at_ms: e.at_ms,
    }
}

fn change_to_pb(change: Change) -> pb::LockChange {
    match change {
        Change::Granted => pb::LockChange::Granted,
        Change::Released => pb::LockChange::Released,
        Change::Expired => pb::LockChange::Expired,
        Change::ForceReleased => pb::LockChange::ForceReleased,
        Change::WaiterAdded => pb::LockChange::WaiterAdded,
        Change::WaiterRemoved => pb::LockChange::WaiterRemoved,
        Change::ValueChanged => pb::LockChange::ValueChanged,
        Change::ReleaseRequested => pb::LockChange::ReleaseRequested,
    }
}
