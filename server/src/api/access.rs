//! Authentication and authorization of client calls, and the audit of denials.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use tenure_proto::v1::ErrorKind;
use tonic::{Request, Status};

use super::errors::error;
use crate::machine::{Command, SessionId};
use crate::node::Core;
use crate::security::auth::{Perm, Principal};
use crate::security::tls::common_name;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who it is.
    pub principal: Principal,
    /// Its connection's remote address, when known.
    pub addr: Option<SocketAddr>,
}

impl Caller {
    /// The principal's name.
    pub fn name(&self) -> &str {
        &self.principal.name
    }
}

/// Denials not yet written to the audit log because of the rate limit.
static SUPPRESSED: AtomicU64 = AtomicU64::new(0);

/// Identifies the caller of `req` by its bearer token or client certificate.
pub fn identify<T>(core: &Core, req: &Request<T>) -> Result<Caller, Status> {
    let token = req
        .metadata()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let cn = req
        .peer_certs()
        .and_then(|certs| certs.first().and_then(|c| common_name(c.as_ref())));
    let addr = req.remote_addr();
    match core.auth.identify(token, cn.as_deref()) {
        Some(principal) => Ok(Caller { principal, addr }),
        None => {
            let who = match (token, cn) {
                (Some(_), _) => "unknown token".to_owned(),
                (None, Some(cn)) => format!("unknown certificate {cn:?}"),
                (None, None) => "no credentials".to_owned(),
            };
            let from = addr.map_or_else(|| "?".to_owned(), |a| a.to_string());
            Err(deny(
                core,
                &format!("({who})"),
                "authenticate",
                &from,
                "not authenticated",
            ))
        }
    }
}

/// Requires `perm` on `target` (a lock name or prefix; "" for the cluster).
pub fn require(core: &Core, caller: &Caller, perm: Perm, target: &str) -> Result<(), Status> {
    if caller.principal.may(perm, target) {
        return Ok(());
    }
    Err(deny(
        core,
        caller.name(),
        &perm.to_string(),
        &format!("lock {target:?}"),
        "no rule allows it",
    ))
}

/// Requires that `session` belongs to the caller, or that the caller is an admin.
/// An unknown session passes (the state machine answers SESSION_EXPIRED).
pub fn require_owner(core: &Core, caller: &Caller, session: SessionId) -> Result<(), Status> {
    let owner = core
        .shared
        .lock()
        .machine
        .session(session)
        .map(|s| s.principal.clone());
    match owner {
        None => Ok(()),
        Some(owner) if may_use_session(caller, &owner) => Ok(()),
        Some(owner) => Err(deny(
            core,
            caller.name(),
            "use-session",
            &format!("session {session}"),
            &format!("owned by {owner:?}"),
        )),
    }
}

/// Whether `caller` may renew, use or close a session owned by `owner`.
pub fn may_use_session(caller: &Caller, owner: &str) -> bool {
    owner == caller.name() || caller.principal.may(Perm::Admin, "")
}

/// Proposes an audit record without waiting for it: the caller's answer does
/// not depend on it (a denial, or a membership change already committed, after
/// which a removed node may no longer be able to propose).
pub fn audit_in_background(
    core: &Core,
    action: &str,
    principal: &str,
    target: &str,
    detail: String,
) {
    let command = Command::Audit {
        action: action.to_owned(),
        principal: principal.to_owned(),
        target: target.to_owned(),
        detail,
    };
    let proposer = core.proposer.clone();
    tokio::spawn(async move {
        let _ = proposer.propose(command).await;
    });
}

/// A PERMISSION_DENIED status, recorded in the audit log (rate-limited) when
/// this node can propose.
pub fn deny(core: &Core, principal: &str, action: &str, target: &str, why: &str) -> Status {
    tracing::warn!(principal, action, target, why, "permission denied");
    if core.leads_with_quorum() && core.usage.allow_denial_audit() {
        let suppressed = SUPPRESSED.swap(0, Ordering::Relaxed);
        let mut detail = format!("{action} denied: {why}");
        if suppressed > 0 {
            detail.push_str(&format!(" (and {suppressed} more denials not recorded)"));
        }
        audit_in_background(core, "denied", principal, target, detail);
    } else {
        SUPPRESSED.fetch_add(1, Ordering::Relaxed);
    }
    error(
        ErrorKind::PermissionDenied,
        format!("{principal} may not {action} {target}: {why}"),
    )
}
