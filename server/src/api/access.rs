//! Authentication and authorization of client calls, and the audit of denials.

use std::net::SocketAddr;
use std::time::Instant;

use tenure_proto::v1::ErrorKind;
use tonic::{Request, Status};

use super::errors::error;
use crate::machine::{Command, DENIED, SessionId};
use crate::metrics::{LimitLabel, PrincipalLabel};
use crate::node::context::NodeContext;
use crate::security::auth::{Perm, Principal};
use crate::security::limits::Limit;
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

/// The credentials a request carries: a bearer token, and the common name of
/// a client certificate signed by the client CA.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    token: Option<String>,
    cert_cn: Option<String>,
    addr: Option<SocketAddr>,
}

impl Credentials {
    /// The credentials of `req`. A certificate counts only if it chains to the
    /// client CA: a peer's certificate never names a principal.
    pub fn of<T>(node: &NodeContext, req: &Request<T>) -> Credentials {
        let token = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned);
        let cert_cn = req
            .peer_certs()
            .filter(|chain| node.admission.verifiers.is_client(chain))
            .and_then(|chain| chain.first().and_then(|c| common_name(c.as_ref())));
        Credentials {
            token,
            cert_cn,
            addr: req.remote_addr(),
        }
    }

    /// Who these credentials name under the access rules in force now (they
    /// may have been reloaded since the request began).
    pub fn identify(&self, node: &NodeContext) -> Result<Caller, Status> {
        let (token, cn) = (self.token.as_deref(), self.cert_cn.as_deref());
        if let Some(principal) = node.admission.auth.identify(token, cn) {
            return Ok(Caller {
                principal,
                addr: self.addr,
            });
        }
        let who = match (token, cn) {
            (Some(_), _) => "unknown token".to_owned(),
            (None, Some(cn)) => format!("unknown certificate {cn:?}"),
            (None, None) => "no credentials".to_owned(),
        };
        let from = self.addr.map_or_else(|| "?".to_owned(), |a| a.to_string());
        Err(deny(
            node,
            &format!("({who})"),
            "authenticate",
            &from,
            "not authenticated",
        ))
    }
}

/// Identifies the caller of `req` by its bearer token or client certificate.
pub fn identify<T>(node: &NodeContext, req: &Request<T>) -> Result<Caller, Status> {
    Credentials::of(node, req).identify(node)
}

/// Requires `perm` on `target` (a lock name or prefix; "" for the cluster).
pub fn require(
    node: &NodeContext,
    caller: &Caller,
    perm: Perm,
    target: &str,
) -> Result<(), Status> {
    if caller.principal.may(perm, target) {
        return Ok(());
    }
    Err(deny(
        node,
        caller.name(),
        &perm.to_string(),
        &format!("lock {target:?}"),
        "no rule allows it",
    ))
}

/// Requires that `session` belongs to the caller, or that the caller is an admin.
/// An unknown session passes (the state machine answers SESSION_EXPIRED).
pub fn require_owner(
    node: &NodeContext,
    caller: &Caller,
    session: SessionId,
) -> Result<(), Status> {
    let owner = node
        .shared
        .lock()
        .machine
        .session(session)
        .map(|s| s.principal.clone());
    match owner {
        None => Ok(()),
        Some(owner) if may_use_session(caller, &owner) => Ok(()),
        Some(owner) => Err(deny(
            node,
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
    node: &NodeContext,
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
    let proposer = node.proposer.clone();
    tokio::spawn(async move {
        let _ = proposer.propose(command).await;
    });
}

/// A PERMISSION_DENIED status. The denial is counted per principal (callers
/// without valid credentials count as "(unauthenticated)") and sampled into the
/// audit log when this node can propose (security/denials.rs).
pub fn deny(node: &NodeContext, principal: &str, action: &str, target: &str, why: &str) -> Status {
    tracing::warn!(principal, action, target, why, "permission denied");
    let unauthenticated = principal.starts_with('(');
    let counted = if unauthenticated {
        "(unauthenticated)"
    } else {
        principal
    };
    node.metrics
        .denials
        .get_or_create(&PrincipalLabel {
            principal: counted.to_owned(),
        })
        .inc();
    // Unauthenticated callers are sampled per address (the target names it).
    let caller = if unauthenticated { target } else { principal };
    if node.leadership.leads_with_quorum()
        && let Some(unrecorded) = node.admission.denials.sample(caller, Instant::now())
    {
        let mut detail = format!("{action} denied: {why}");
        if unrecorded > 0 {
            detail.push_str(&format!(
                " (and {unrecorded} more denials of this caller since its last record)"
            ));
        }
        audit_in_background(node, DENIED, principal, target, detail);
    }
    error(
        ErrorKind::PermissionDenied,
        format!("{principal} may not {action} {target}: {why}"),
    )
}

/// A RESOURCE_EXHAUSTED status naming `limit`, counted in the metric.
pub fn refuse(node: &NodeContext, limit: Limit) -> Status {
    node.metrics
        .limit_refusals
        .get_or_create(&LimitLabel {
            limit: limit.name().to_owned(),
        })
        .inc();
    error(
        ErrorKind::ResourceExhausted,
        format!(
            "limit {} ({}) reached",
            limit.name(),
            limit.value(&node.admission.limits)
        ),
    )
}
