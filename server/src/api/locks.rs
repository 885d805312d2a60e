//! Locks: acquire (at once or waiting on the server), cancel a waiting
//! acquire, release.

use std::sync::Arc;
use std::time::Duration;

use tenure_proto::v1 as pb;
use tonic::{Request, Response, Status};

use super::access::{self, Caller};
use super::calls::{Calls, propose, unexpected};
use super::convert;
use super::errors::{invalid, rejected};
use super::validate::{self, MAX_LOCK_DELAY, MAX_WAIT};
use crate::machine::{Command, Mode, Outcome, Rejection, RequestId, SessionId};
use crate::node::context::NodeContext;
use crate::security::auth::Perm;
use crate::security::limits::{AcquireSlot, AcquireUse, Held};
use crate::steps;
use crate::store::state::WaitState;

/// Extra time a waiting acquire's handler allows past the wait timeout for the
/// leader's `Tick` to resolve it, before it cancels the wait itself.
const WAIT_GRACE: Duration = Duration::from_secs(2);

/// `Acquire`: grants the lock, queues a waiting acquire until it is granted
/// or times out, or refuses at once.
pub async fn acquire(
    calls: &Calls,
    req: Request<pb::AcquireRequest>,
) -> Result<Response<pb::AcquireResponse>, Status> {
    let _step = steps::Span::new("api.begin", "api.end", 0);
    let node = calls.node();
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    let (session, request) = lock_call(r.session_id, r.request_id, &r.name)?;
    let mode = lock_mode(r.mode, r.permits, r.permit_limit)?;
    let wait_ms = wait_ms(r.wait, r.wait_timeout_ms)?;
    let lock_delay_ms = lock_delay(r.lock_delay_ms)?;
    validate::text("value", &r.value)?;
    access::require(node, &caller, Perm::Lock, &r.name)?;
    access::require_owner(node, &caller, session)?;
    // Counted against the limits until it returns.
    let mut slot = check_acquire_limits(node, &caller, session, &r.name, wait_ms.is_some())?;
    let cmd = Command::Acquire {
        session,
        request,
        name: r.name,
        mode,
        wait_ms,
        lock_delay_ms,
        owner: rand::random(),
        value: r.value,
    };
    let mut outcome = calls.propose(cmd).await?;
    if outcome == Outcome::Queued {
        slot.applied();
        let wait = Duration::from_millis(wait_ms.unwrap_or(0));
        outcome = await_queued(node, session, request, wait).await?;
    }
    match outcome {
        Outcome::Granted(g) => Ok(Response::new(pb::AcquireResponse {
            grant: Some(convert::grant(&g)),
        })),
        Outcome::Rejected(Rejection::Cancelled(name)) if wait_ms.is_some() => {
            Err(rejected(&Rejection::TimedOut(name)))
        }
        other => Err(unexpected(other)),
    }
}

/// Most names in one `AcquireAll`.
pub const MAX_ACQUIRE_ALL: usize = 64;

/// `AcquireAll`: grants every name at once, or none.
pub async fn acquire_all(
    calls: &Calls,
    req: Request<pb::AcquireAllRequest>,
) -> Result<Response<pb::AcquireAllResponse>, Status> {
    let node = calls.node();
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    let session = validate::session_id(r.session_id)?;
    let request = validate::request_id("request_id", r.request_id)?;
    if r.names.is_empty() || r.names.len() > MAX_ACQUIRE_ALL {
        return Err(invalid(format!(
            "names must list 1 to {MAX_ACQUIRE_ALL} locks, got {}",
            r.names.len()
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    for name in &r.names {
        validate::lock_name(name)?;
        if !seen.insert(name.as_str()) {
            return Err(invalid(format!("lock {name:?} is named twice")));
        }
    }
    let mode = match lock_mode(r.mode, 0, 0)? {
        Mode::Permits { .. } => {
            return Err(invalid("acquire-all takes locks, not semaphore permits"));
        }
        mode => mode,
    };
    let wait_ms = wait_ms(r.wait, r.wait_timeout_ms)?;
    let lock_delay_ms = lock_delay(r.lock_delay_ms)?;
    validate::text("value", &r.value)?;
    for name in &r.names {
        access::require(node, &caller, Perm::Lock, name)?;
    }
    access::require_owner(node, &caller, session)?;
    // Each name counts against the limits until the call returns.
    let mut slots = r
        .names
        .iter()
        .map(|name| check_acquire_limits(node, &caller, session, name, wait_ms.is_some()))
        .collect::<Result<Vec<_>, Status>>()?;
    let owners = r.names.iter().map(|_| rand::random()).collect();
    let cmd = Command::AcquireAll {
        session,
        request,
        names: r.names,
        mode,
        wait_ms,
        lock_delay_ms,
        owners,
        value: r.value,
    };
    let mut outcome = calls.propose(cmd).await?;
    if outcome == Outcome::Queued {
        slots.iter_mut().for_each(AcquireSlot::applied);
        let wait = Duration::from_millis(wait_ms.unwrap_or(0));
        outcome = await_queued(node, session, request, wait).await?;
    }
    match outcome {
        Outcome::GrantedAll(grants) => Ok(Response::new(pb::AcquireAllResponse {
            grants: grants.iter().map(convert::grant).collect(),
        })),
        Outcome::Rejected(Rejection::Cancelled(name)) if wait_ms.is_some() => {
            Err(rejected(&Rejection::TimedOut(name)))
        }
        other => Err(unexpected(other)),
    }
}

/// An acquire's wait: None to try once, else within bounds.
fn wait_ms(wait: bool, timeout_ms: u64) -> Result<Option<u64>, Status> {
    if !wait {
        return Ok(None);
    }
    validate::millis("wait_timeout_ms", timeout_ms, Duration::ZERO, MAX_WAIT).map(Some)
}

/// `CancelAcquire`: withdraws a waiting acquire (or leaves a tombstone for one
/// not seen yet); answers the grant if it was granted first.
pub async fn cancel_acquire(
    calls: &Calls,
    req: Request<pb::CancelAcquireRequest>,
) -> Result<Response<pb::CancelAcquireResponse>, Status> {
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    let session = validate::session_id(r.session_id)?;
    let request = validate::request_id("acquire_request_id", r.acquire_request_id)?;
    access::require_owner(calls.node(), &caller, session)?;
    let cmd = Command::CancelAcquire { session, request };
    match calls.propose(cmd).await? {
        Outcome::Granted(g) => Ok(Response::new(pb::CancelAcquireResponse {
            grant: Some(convert::grant(&g)),
        })),
        Outcome::Rejected(
            Rejection::Cancelled(_) | Rejection::TimedOut(_) | Rejection::LockHeld(_),
        ) => Ok(Response::new(pb::CancelAcquireResponse { grant: None })),
        // An acquire-all granted before the cancel: its caller learns the
        // grants by sending the same AcquireAll again (its recorded answer).
        Outcome::GrantedAll(_) => Ok(Response::new(pb::CancelAcquireResponse { grant: None })),
        other => Err(unexpected(other)),
    }
}

/// `Release`: frees the caller's grant of a lock.
pub async fn release(
    calls: &Calls,
    req: Request<pb::ReleaseRequest>,
) -> Result<Response<pb::ReleaseResponse>, Status> {
    let _step = steps::Span::new("api.begin", "api.end", 0);
    let node = calls.node();
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    let (session, request) = lock_call(r.session_id, r.request_id, &r.name)?;
    let owner = validate::owner_id(&r.owner_id)?;
    access::require(node, &caller, Perm::Lock, &r.name)?;
    access::require_owner(node, &caller, session)?;
    let cmd = Command::Release {
        session,
        request,
        name: r.name,
        owner,
    };
    match calls.propose(cmd).await? {
        Outcome::Released { released } => Ok(Response::new(pb::ReleaseResponse { released })),
        other => Err(unexpected(other)),
    }
}

/// `SetValue`: replaces the value of a grant the caller's session holds.
pub async fn set_value(
    calls: &Calls,
    req: Request<pb::SetValueRequest>,
) -> Result<Response<pb::SetValueResponse>, Status> {
    let node = calls.node();
    let caller = calls.begin(&req)?;
    let r = req.into_inner();
    let (session, request) = lock_call(r.session_id, r.request_id, &r.name)?;
    let owner = validate::owner_id(&r.owner_id)?;
    validate::text("value", &r.value)?;
    access::require(node, &caller, Perm::Lock, &r.name)?;
    access::require_owner(node, &caller, session)?;
    let cmd = Command::SetValue {
        session,
        request,
        name: r.name,
        owner,
        value: r.value,
    };
    match calls.propose(cmd).await? {
        Outcome::ValueSet => Ok(Response::new(pb::SetValueResponse {})),
        other => Err(unexpected(other)),
    }
}

/// A grant's lock-delay, within bounds.
fn lock_delay(ms: u64) -> Result<u64, Status> {
    validate::millis("lock_delay_ms", ms, Duration::ZERO, MAX_LOCK_DELAY)
}

/// The session, request id and lock name that an acquire and a release both
/// carry, validated in that order.
fn lock_call(
    session_id: u64,
    request_id: u64,
    name: &str,
) -> Result<(SessionId, RequestId), Status> {
    let session = validate::session_id(session_id)?;
    let request = validate::request_id("request_id", request_id)?;
    validate::lock_name(name)?;
    Ok((session, request))
}

/// The state-machine mode of an acquire: its wire mode, and for PERMITS the
/// count and the semaphore's limit (both zero otherwise).
fn lock_mode(mode: i32, permits: u32, limit: u32) -> Result<Mode, Status> {
    let mode =
        pb::LockMode::try_from(mode).map_err(|_| invalid(format!("unknown lock mode {mode}")))?;
    match mode {
        pb::LockMode::Exclusive | pb::LockMode::Shared if permits != 0 || limit != 0 => Err(
            invalid("permits and permit_limit are for mode PERMITS only"),
        ),
        pb::LockMode::Exclusive => Ok(Mode::Exclusive),
        pb::LockMode::Shared => Ok(Mode::Shared),
        pb::LockMode::Permits => {
            validate::permits(permits, limit)?;
            Ok(Mode::Permits {
                count: permits,
                limit,
            })
        }
    }
}

/// Counts an acquire against the limits on locks and waiters until the
/// slot is dropped.
fn check_acquire_limits<'a>(
    node: &'a NodeContext,
    caller: &Caller,
    session: SessionId,
    name: &str,
    waiting: bool,
) -> Result<AcquireSlot<'a>, Status> {
    let held = {
        let shared = node.shared.lock();
        let machine = &shared.machine;
        let lock = machine.lock(name);
        Held {
            session_locks: machine
                .session(session)
                .map_or(0, |s| s.held().count() + s.waiting()),
            locks: machine.locks().len(),
            lock_exists: lock.is_some(),
            lock_waiters: lock.map_or(0, |l| l.waiters.len()),
        }
    };
    let request = AcquireUse {
        conn: caller.addr,
        session,
        lock: name.to_owned(),
        waiting,
    };
    let admission = &node.admission;
    admission
        .usage
        .begin_acquire(request, held, &admission.limits)
        .map_err(|limit| access::refuse(node, limit))
}

/// Waits for a queued acquire's final outcome.
async fn await_queued(
    node: &Arc<NodeContext>,
    session: SessionId,
    request: RequestId,
    wait: Duration,
) -> Result<Outcome, Status> {
    let mut guard = CancelOnDrop {
        node: node.clone(),
        session,
        request,
        armed: true,
    };
    let state = node.shared.lock().wait_for(session, request);
    let outcome = match state {
        WaitState::Done(outcome) => outcome,
        WaitState::Pending(rx) => match tokio::time::timeout(wait + WAIT_GRACE, rx).await {
            Ok(Ok(outcome)) => outcome,
            // No outcome in time (a leader change may have lost the Tick):
            // withdraw the wait; the cancel reports the final outcome.
            _ => propose(node, Command::CancelAcquire { session, request }).await?,
        },
    };
    guard.armed = false;
    Ok(outcome)
}

/// Withdraws a waiting acquire whose handler was dropped (the client went away
/// or cancelled), so the lock is not granted to nobody.
struct CancelOnDrop {
    node: Arc<NodeContext>,
    session: SessionId,
    request: RequestId,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let node = self.node.clone();
        let (session, request) = (self.session, self.request);
        tokio::spawn(async move {
            let _ = propose(&node, Command::CancelAcquire { session, request }).await;
        });
    }
}
