//! Admin calls: force-release a grant (G7), blacklist a session (G6),
//! membership changes, snapshot save, and the audit log. Each needs `admin`
//! permission and leaves an audit record (the audit read excepted).

use std::time::Instant;

use tenure_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::access;
use super::backup::{self, SnapshotStream};
use super::calls::{Calls, unexpected};
use super::convert;
use super::members;
use super::validate;
use crate::machine::{Command, Outcome};
use crate::security::auth::Perm;

/// `ForceRelease`: frees a lock only if the named grant still holds it.
pub async fn force_release(
    calls: &Calls,
    req: Request<pb::ForceReleaseRequest>,
) -> Result<Response<pb::ForceReleaseResponse>, Status> {
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    validate::lock_name(&r.name)?;
    let owner = validate::owner_id(&r.owner_id)?;
    validate::text("reason", &r.reason)?;
    access::require(calls.node(), &caller, Perm::Admin, &r.name)?;
    let cmd = Command::ForceRelease {
        name: r.name,
        owner,
        principal: caller.name().to_owned(),
        reason: r.reason,
        retry_id: r.retry_id,
    };
    match calls.propose(cmd).await? {
        Outcome::ForceReleased { granted } => Ok(Response::new(pb::ForceReleaseResponse {
            granted: granted.iter().map(convert::grant).collect(),
        })),
        other => Err(unexpected(other)),
    }
}

/// `RequestRelease`: asks the holders of a lock (or one grant) to release
/// it. Needs `lock` permission on the name: anyone who may take the lock may
/// ask for it, as with Curator's revocable locks.
pub async fn request_release(
    calls: &Calls,
    req: Request<pb::RequestReleaseRequest>,
) -> Result<Response<pb::RequestReleaseResponse>, Status> {
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    validate::lock_name(&r.name)?;
    let owner = match r.owner_id.as_str() {
        "" => None,
        id => Some(validate::owner_id(id)?),
    };
    validate::text("reason", &r.reason)?;
    access::require(calls.node(), &caller, Perm::Lock, &r.name)?;
    let cmd = Command::RequestRelease {
        name: r.name,
        owner,
        principal: caller.name().to_owned(),
        reason: r.reason,
    };
    match calls.propose(cmd).await? {
        Outcome::ReleaseRequested { asked } => Ok(Response::new(pb::RequestReleaseResponse {
            asked: asked.iter().map(convert::grant).collect(),
        })),
        other => Err(unexpected(other)),
    }
}

/// `Blacklist`: the session is never renewed again and expires at its
/// current deadline, which the answer reports.
pub async fn blacklist(
    calls: &Calls,
    req: Request<pb::BlacklistRequest>,
) -> Result<Response<pb::BlacklistResponse>, Status> {
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    let session = validate::session_id(r.session_id)?;
    validate::text("reason", &r.reason)?;
    access::require(calls.node(), &caller, Perm::Admin, "")?;
    let cmd = Command::Blacklist {
        session,
        principal: caller.name().to_owned(),
        reason: r.reason,
    };
    match calls.propose(cmd).await? {
        Outcome::Blacklisted => {
            let remaining = calls
                .node()
                .shared
                .lock()
                .leases
                .remaining(session, Instant::now());
            Ok(Response::new(pb::BlacklistResponse {
                expires_in_ms: remaining.map_or(0, |d| d.as_millis() as u64),
            }))
        }
        other => Err(unexpected(other)),
    }
}

/// `AddMember`: makes a node a voter once it has caught up.
pub async fn add_member(
    calls: &Calls,
    req: Request<pb::AddMemberRequest>,
) -> Result<Response<pb::MembersResponse>, Status> {
    let node = calls.node();
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    access::require(node, &caller, Perm::Admin, "")?;
    let members = members::add(&node.leadership, r.id, &r.addr).await?;
    let target = format!("node {}", r.id);
    access::audit_in_background(node, "add-member", caller.name(), &target, r.addr);
    Ok(Response::new(pb::MembersResponse { members }))
}

/// `RemoveMember`: removes a voter (this node steps down if it is the one).
pub async fn remove_member(
    calls: &Calls,
    req: Request<pb::RemoveMemberRequest>,
) -> Result<Response<pb::MembersResponse>, Status> {
    let node = calls.node();
    let caller = calls.begin(&req)?;
    let id = req.into_inner().id;
    access::require(node, &caller, Perm::Admin, "")?;
    let members = members::remove(&node.leadership, id).await?;
    let target = format!("node {id}");
    access::audit_in_background(node, "remove-member", caller.name(), &target, String::new());
    Ok(Response::new(pb::MembersResponse { members }))
}

/// `SaveSnapshot`: streams a consistent copy of the applied state.
pub async fn save_snapshot(
    calls: &Calls,
    req: Request<pb::SaveSnapshotRequest>,
) -> Result<Response<SnapshotStream>, Status> {
    let caller = calls.begin(&req)?;
    access::require(calls.node(), &caller, Perm::Admin, "")?;
    calls.read_barrier().await?;
    Ok(Response::new(backup::stream(calls.node(), caller.name())))
}

/// `Audit`: the latest audit records, oldest first.
pub async fn audit(
    calls: &Calls,
    req: Request<pb::AuditRequest>,
) -> Result<Response<pb::AuditResponse>, Status> {
    let caller = calls.begin(&req)?;
    let limit = validate::limit(req.into_inner().limit)?;
    access::require(calls.node(), &caller, Perm::Admin, "")?;
    calls.read_barrier().await?;
    let shared = calls.node().shared.lock();
    let mut records: Vec<pb::AuditRecord> = shared
        .machine
        .audit()
        .rev()
        .take(limit)
        .map(convert::audit)
        .collect();
    records.reverse();
    Ok(Response::new(pb::AuditResponse { records }))
}
