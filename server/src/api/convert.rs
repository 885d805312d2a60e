//! Conversions from state-machine records to wire messages.

use tenure_proto::v1 as pb;

use super::validate::owner_hex;
use crate::machine::{AuditRecord, Grant, Lock, Mode, Session, SessionId};

/// Wire mode of a state-machine mode.
pub fn mode_to_pb(mode: Mode) -> pb::LockMode {
    match mode {
        Mode::Exclusive => pb::LockMode::Exclusive,
        Mode::Shared => pb::LockMode::Shared,
        Mode::Permits { .. } => pb::LockMode::Permits,
    }
}

/// A grant on the wire.
pub fn grant(g: &Grant) -> pb::Grant {
    pb::Grant {
        name: g.name.clone(),
        token: g.token,
        owner_id: owner_hex(g.owner),
        mode: mode_to_pb(g.mode) as i32,
        permits: g.mode.permits(),
        session_id: g.session,
    }
}

/// A lock's holders and waiters on the wire.
pub fn lock_info(name: &str, lock: &Lock) -> pb::LockInfo {
    pb::LockInfo {
        name: name.to_owned(),
        holders: lock
            .holders
            .iter()
            .map(|h| pb::Holder {
                session_id: h.session,
                token: h.token,
                owner_id: owner_hex(h.owner),
                mode: mode_to_pb(h.mode) as i32,
                permits: h.mode.permits(),
                granted_at_ms: h.granted_at_ms,
                value: h.value.clone(),
                release_requested: h.release_requested,
            })
            .collect(),
        waiters: lock
            .waiters
            .iter()
            .map(|w| pb::Waiter {
                session_id: w.session,
                request_id: w.request,
                mode: mode_to_pb(w.mode) as i32,
                permits: w.mode.permits(),
                deadline_ms: w.deadline_ms,
                value: w.value.clone(),
            })
            .collect(),
        delayed_until_ms: lock.delayed_until_ms,
        permit_limit: lock.permit_limit().flatten().unwrap_or(0),
    }
}

/// A session on the wire.
pub fn session_info(id: SessionId, s: &Session, remaining_ms: u64) -> pb::SessionInfo {
    pb::SessionInfo {
        session_id: id,
        ttl_ms: s.ttl_ms,
        label: s.label.clone(),
        blacklisted: s.blacklisted,
        held: s.held().map(str::to_owned).collect(),
        waiting: s.waiting() as u32,
        remaining_ms,
    }
}

/// An audit record on the wire.
pub fn audit(r: &AuditRecord) -> pb::AuditRecord {
    pb::AuditRecord {
        at_ms: r.at_ms,
        action: r.action.clone(),
        principal: r.principal.clone(),
        target: r.target.clone(),
        detail: r.detail.clone(),
    }
}
