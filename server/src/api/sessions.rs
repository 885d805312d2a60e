//! Sessions: open, close, and the keepalive stream that renews them.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tenure_proto::v1 as pb;
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::access::{self, Caller};
use super::calls::{Calls, unexpected};
use super::validate::{self, MAX_TTL, MIN_TTL};
use crate::machine::{Command, Outcome, SessionId};
use crate::node::context::NodeContext;
use crate::node::keepalive::Answer;
use crate::security::auth::Perm;
use crate::security::limits::{Limit, OpenSlot};

/// Keepalive messages of one stream being answered at once.
const KEEPALIVE_PIPELINE: usize = 8;

/// The response stream of `KeepAlive`.
pub type KeepAliveStream =
    Pin<Box<dyn Stream<Item = Result<pb::KeepAliveResponse, Status>> + Send>>;

/// `OpenSession`: a new session of the caller, through the log.
pub async fn open(
    calls: &Calls,
    req: Request<pb::OpenSessionRequest>,
) -> Result<Response<pb::OpenSessionResponse>, Status> {
    let node = calls.node();
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    let ttl_ms = validate::millis("ttl_ms", r.ttl_ms, MIN_TTL, MAX_TTL)?;
    validate::text("label", &r.label)?;
    let open_id = validate::open_id(&r.open_id)?;
    if !caller.principal.may_anywhere(Perm::Lock) {
        let why = "no lock permission anywhere";
        return Err(access::deny(
            node,
            caller.name(),
            "open-session",
            "cluster",
            why,
        ));
    }
    let _slot = check_session_limits(node, &caller)?;
    let cmd = Command::OpenSession {
        open_id,
        ttl_ms,
        label: r.label,
        principal: caller.name().to_owned(),
    };
    match calls.propose(cmd).await? {
        Outcome::SessionOpened { session, ttl_ms } => {
            if let Some(addr) = caller.addr {
                node.shared.lock().note_opener(session, addr);
            }
            Ok(Response::new(pb::OpenSessionResponse {
                session_id: session,
                ttl_ms,
            }))
        }
        other => Err(unexpected(other)),
    }
}

/// `CloseSession`: ends a session and releases its locks, through the log.
pub async fn close(
    calls: &Calls,
    req: Request<pb::CloseSessionRequest>,
) -> Result<Response<pb::CloseSessionResponse>, Status> {
    let caller = calls.begin(&req)?;
    let session = validate::session_id(req.into_inner().session_id)?;
    access::require_owner(calls.node(), &caller, session)?;
    match calls.propose(Command::CloseSession { session }).await? {
        Outcome::SessionEnded { released } => {
            Ok(Response::new(pb::CloseSessionResponse { released }))
        }
        other => Err(unexpected(other)),
    }
}

/// `KeepAlive`: a stream of renewals, each answered after a leadership check.
pub fn keep_alive(
    calls: &Calls,
    req: Request<Streaming<pb::KeepAliveRequest>>,
) -> Result<Response<KeepAliveStream>, Status> {
    let node = calls.node();
    // Credentials are checked again for every message: a principal removed
    // from the access file (or stripped of its rights) renews nothing more,
    // and its sessions expire at their deadlines (G6).
    let credentials = access::Credentials::of(node, &req);
    credentials.identify(node)?;
    calls.require_leader()?;
    let mut inbound = req.into_inner();
    let (tx, rx) = mpsc::channel(KEEPALIVE_PIPELINE * 2);
    let node = node.clone();
    let mut stop = node.stop.clone();
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(KEEPALIVE_PIPELINE));
        loop {
            // The stream ends when the node stops, so shutdown need not wait for it.
            let msg = tokio::select! {
                m = inbound.next() => m,
                _ = stop.wait_for(|s| *s) => None,
            };
            let Some(Ok(msg)) = msg else { break };
            if msg.session_ids.len() > node.admission.limits.max_keepalive_sessions {
                let err = access::refuse(&node, Limit::MaxKeepaliveSessions);
                let _ = tx.send(Err(err)).await;
                return;
            }
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let (node, tx, credentials) = (node.clone(), tx.clone(), credentials.clone());
            tokio::spawn(async move {
                // Only the owner (or an admin) may renew a session, under
                // the access rules in force now.
                let caller = credentials.identify(&node).ok();
                let (allowed, denied) =
                    split_owned(&node, caller.as_ref(), msg.session_ids.clone());
                let answer = node.keepalives.submit(allowed).await;
                let _ = tx.send(Ok(keepalive_response(msg, answer, &denied))).await;
                drop(permit);
            });
        }
    });
    Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
}

/// `Renew`: one keepalive message as a unary call (gRPC-web has no client
/// streaming). The same checks and the same batched leadership round as a
/// message of the `KeepAlive` stream, so G3 and G6 hold alike.
pub async fn renew(
    calls: &Calls,
    req: Request<pb::KeepAliveRequest>,
) -> Result<Response<pb::KeepAliveResponse>, Status> {
    let node = calls.node();
    let credentials = access::Credentials::of(node, &req);
    let caller = credentials.identify(node)?;
    calls.require_leader()?;
    let msg = req.into_inner();
    if msg.session_ids.len() > node.admission.limits.max_keepalive_sessions {
        return Err(access::refuse(node, Limit::MaxKeepaliveSessions));
    }
    let (allowed, denied) = split_owned(node, Some(&caller), msg.session_ids.clone());
    let answer = node.keepalives.submit(allowed).await;
    Ok(Response::new(keepalive_response(msg, answer, &denied)))
}

/// The caps and the rate limit on opening sessions; the slot counts the
/// open against its principal until the session is in the applied state.
fn check_session_limits<'a>(
    node: &'a NodeContext,
    caller: &Caller,
) -> Result<OpenSlot<'a>, Status> {
    let admission = &node.admission;
    let limits = &admission.limits;
    let (total, by_conn, of_principal) = {
        let shared = node.shared.lock();
        let by_conn = caller.addr.map_or(0, |a| shared.sessions_opened_by(a));
        let machine = &shared.machine;
        (
            machine.sessions().len(),
            by_conn,
            machine.sessions_of(caller.name()),
        )
    };
    if total >= limits.max_sessions {
        return Err(access::refuse(node, Limit::MaxSessions));
    }
    if by_conn >= limits.max_sessions_per_connection {
        return Err(access::refuse(node, Limit::MaxSessionsPerConnection));
    }
    if let Some(addr) = caller.addr
        && !admission.usage.allow_open(addr.ip(), limits)
    {
        return Err(access::refuse(node, Limit::SessionOpenRate));
    }
    admission
        .usage
        .begin_open(caller.name(), of_principal, limits)
        .map_err(|limit| access::refuse(node, limit))
}

/// Splits keepalive session ids into those the caller may renew and the rest:
/// a caller no longer known, or without `lock` permission anywhere, renews
/// nothing.
fn split_owned(
    node: &NodeContext,
    caller: Option<&Caller>,
    ids: Vec<SessionId>,
) -> (Vec<SessionId>, Vec<SessionId>) {
    let Some(caller) = caller.filter(|c| c.principal.may_anywhere(Perm::Lock)) else {
        return (Vec::new(), ids);
    };
    let shared = node.shared.lock();
    ids.into_iter().partition(|id| {
        shared
            .machine
            .session(*id)
            .is_none_or(|s| access::may_use_session(caller, &s.principal))
    })
}

/// The answer to one keepalive message: the batcher's answer for the sessions
/// the caller may renew, PERMISSION_DENIED for the others.
fn keepalive_response(
    req: pb::KeepAliveRequest,
    answer: Answer,
    denied: &[SessionId],
) -> pb::KeepAliveResponse {
    let denied_leases = denied.iter().map(|&id| pb::SessionLease {
        session_id: id,
        status: pb::LeaseStatus::LeasePermissionDenied as i32,
        ttl_ms: 0,
        revoked: Vec::new(),
        release_requested: Vec::new(),
    });
    match answer {
        Answer::Leases(leases) => pb::KeepAliveResponse {
            seq: req.seq,
            leases: leases
                .into_iter()
                .map(|l| pb::SessionLease {
                    session_id: l.session,
                    status: l.status as i32,
                    ttl_ms: l.ttl_ms,
                    revoked: l.revoked.into_iter().map(validate::owner_hex).collect(),
                    release_requested: l
                        .release_requested
                        .into_iter()
                        .map(validate::owner_hex)
                        .collect(),
                })
                .chain(denied_leases)
                .collect(),
            leader_id: 0,
            leader_addr: String::new(),
        },
        Answer::NotLeader(leader) => {
            let (leader_id, leader_addr) = leader.unwrap_or_default();
            pb::KeepAliveResponse {
                seq: req.seq,
                leases: req
                    .session_ids
                    .iter()
                    .filter(|id| !denied.contains(id))
                    .map(|&id| pb::SessionLease {
                        session_id: id,
                        status: pb::LeaseStatus::LeaseNotLeader as i32,
                        ttl_ms: 0,
                        revoked: Vec::new(),
                        release_requested: Vec::new(),
                    })
                    .chain(denied_leases)
                    .collect(),
                leader_id,
                leader_addr,
            }
        }
    }
}
