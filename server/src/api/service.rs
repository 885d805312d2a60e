//! The gRPC client API of a node. Mutating calls are served by the leader only
//! (a follower answers NOT_LEADER with the leader's address); every request is
//! validated before anything is proposed.

use openraft::async_runtime::watch::WatchReceiver;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt};
use openraft::ServerState;
use tenure_proto::v1 as pb;
use tenure_proto::v1::tenure_server::Tenure;
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::access::{self, Caller};
use super::backup::{self, SnapshotStream};
use super::convert;
use super::errors::{internal, invalid, not_leader, rejected, unavailable};
use super::members;
use super::validate::{self, MAX_LOCK_DELAY, MAX_TTL, MAX_WAIT, MIN_TTL};
use crate::keepalive::Answer;
use crate::machine::{Command, Outcome, Rejection, RequestId, SessionId};
use crate::node::Core;
use crate::proposer::ProposeError;
use crate::security::auth::Perm;
use crate::security::limits::{AcquireSlot, AcquireUse, Held, Limit, OpenSlot};
use crate::steps;
use crate::store::state::WaitState;

/// Extra time a waiting acquire's handler allows past the wait timeout for the
/// leader's `Tick` to resolve it, before it cancels the wait itself.
const WAIT_GRACE: Duration = Duration::from_secs(2);
/// Keepalive messages of one stream being answered at once.
const KEEPALIVE_PIPELINE: usize = 8;

/// The client API of one node.
pub struct TenureService {
    core: Arc<Core>,
}

impl TenureService {
    /// A service on `core`.
    pub fn new(core: Arc<Core>) -> Self {
        TenureService { core }
    }

    /// Every leader-only call starts here: who calls (first, so that a caller
    /// without valid credentials learns nothing, not even who leads), then
    /// whether this node may serve it.
    fn begin<T>(&self, req: &Request<T>) -> Result<Caller, Status> {
        let caller = access::identify(&self.core, req)?;
        self.require_leader()?;
        Ok(caller)
    }

    fn require_leader(&self) -> Result<(), Status> {
        if self.core.leads_with_quorum() {
            return Ok(());
        }
        match self.core.leader() {
            Some((id, _)) if id == self.core.id => Err(unavailable(
                "the leader has not heard from a quorum recently",
            )),
            leader => Err(not_leader(leader)),
        }
    }

    async fn propose(&self, command: Command) -> Result<Outcome, Status> {
        propose(&self.core, command).await
    }

    /// The caps and the rate limit on opening sessions; the slot counts the
    /// open against its principal until the session is in the applied state.
    fn check_session_limits(&self, caller: &Caller) -> Result<OpenSlot<'_>, Status> {
        let core = &self.core;
        let limits = &core.limits;
        let (total, by_conn, of_principal) = {
            let shared = core.shared.lock();
            let by_conn = caller.addr.map_or(0, |a| shared.sessions_opened_by(a));
            let machine = &shared.machine;
            (
                machine.sessions().len(),
                by_conn,
                machine.sessions_of(caller.name()),
            )
        };
        if total >= limits.max_sessions {
            return Err(access::refuse(core, Limit::MaxSessions));
        }
        if by_conn >= limits.max_sessions_per_connection {
            return Err(access::refuse(core, Limit::MaxSessionsPerConnection));
        }
        if let Some(addr) = caller.addr
            && !core.usage.allow_open(addr.ip(), limits)
        {
            return Err(access::refuse(core, Limit::SessionOpenRate));
        }
        core.usage
            .begin_open(caller.name(), of_principal, limits)
            .map_err(|limit| access::refuse(core, limit))
    }

    /// Counts an acquire against the limits on locks and waiters until the
    /// slot is dropped.
    fn check_acquire_limits(
        &self,
        caller: &Caller,
        session: SessionId,
        name: &str,
        waiting: bool,
    ) -> Result<AcquireSlot<'_>, Status> {
        let core = &self.core;
        let held = {
            let shared = core.shared.lock();
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
        core.usage
            .begin_acquire(request, held, &core.limits)
            .map_err(|limit| access::refuse(core, limit))
    }

    /// Makes a read linearizable: only a leader that confirms it still leads and
    /// has applied everything committed before the read serves it.
    async fn read_barrier(&self) -> Result<(), Status> {
        self.require_leader()?;
        self.core.metrics.read_barriers.inc();
        let wait = self.core.timing.election_max * 4;
        match tokio::time::timeout(
            wait,
            self.core
                .raft
                .ensure_linearizable(openraft::ReadPolicy::ReadIndex),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(not_leader(self.core.leader())),
            Err(_) => Err(unavailable("could not confirm leadership in time")),
        }
    }

    /// Waits for a queued acquire's final outcome.
    async fn await_queued(
        &self,
        session: SessionId,
        request: RequestId,
        wait: Duration,
    ) -> Result<Outcome, Status> {
        let mut guard = CancelOnDrop {
            core: self.core.clone(),
            session,
            request,
            armed: true,
        };
        let state = self.core.shared.lock().wait_for(session, request);
        let outcome = match state {
            WaitState::Done(outcome) => outcome,
            WaitState::Pending(rx) => match tokio::time::timeout(wait + WAIT_GRACE, rx).await {
                Ok(Ok(outcome)) => outcome,
                // No outcome in time (a leader change may have lost the Tick):
                // withdraw the wait; the cancel reports the final outcome.
                _ => {
                    self.propose(Command::CancelAcquire { session, request })
                        .await?
                }
            },
        };
        guard.armed = false;
        Ok(outcome)
    }
}

async fn propose(core: &Core, command: Command) -> Result<Outcome, Status> {
    core.proposer.propose(command).await.map_err(|e| match e {
        ProposeError::NotLeader(leader) => not_leader(leader),
        ProposeError::Unavailable(m) => unavailable(m),
    })
}

/// Withdraws a waiting acquire whose handler was dropped (the client went away
/// or cancelled), so the lock is not granted to nobody.
struct CancelOnDrop {
    core: Arc<Core>,
    session: SessionId,
    request: RequestId,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let core = self.core.clone();
        let (session, request) = (self.session, self.request);
        tokio::spawn(async move {
            let _ = propose(&core, Command::CancelAcquire { session, request }).await;
        });
    }
}

fn unexpected(outcome: Outcome) -> Status {
    match outcome {
        Outcome::Rejected(r) => rejected(&r),
        other => internal(format!("unexpected outcome {other:?}")),
    }
}

fn lock_mode(mode: i32) -> Result<pb::LockMode, Status> {
    pb::LockMode::try_from(mode).map_err(|_| invalid(format!("unknown lock mode {mode}")))
}

type KeepAliveStream = Pin<Box<dyn Stream<Item = Result<pb::KeepAliveResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Tenure for TenureService {
    async fn open_session(
        &self,
        req: Request<pb::OpenSessionRequest>,
    ) -> Result<Response<pb::OpenSessionResponse>, Status> {
        let caller = self.begin(&req)?;
        let r = req.into_inner();
        let ttl_ms = validate::millis("ttl_ms", r.ttl_ms, MIN_TTL, MAX_TTL)?;
        validate::text("label", &r.label)?;
        let open_id = validate::open_id(&r.open_id)?;
        if !caller.principal.may_anywhere(Perm::Lock) {
            let why = "no lock permission anywhere";
            return Err(access::deny(
                &self.core,
                caller.name(),
                "open-session",
                "cluster",
                why,
            ));
        }
        let _slot = self.check_session_limits(&caller)?;
        let cmd = Command::OpenSession {
            open_id,
            ttl_ms,
            label: r.label,
            principal: caller.name().to_owned(),
        };
        match self.propose(cmd).await? {
            Outcome::SessionOpened { session, ttl_ms } => {
                if let Some(addr) = caller.addr {
                    self.core.shared.lock().note_opener(session, addr);
                }
                Ok(Response::new(pb::OpenSessionResponse {
                    session_id: session,
                    ttl_ms,
                }))
            }
            other => Err(unexpected(other)),
        }
    }

    async fn close_session(
        &self,
        req: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        let caller = self.begin(&req)?;
        let session = validate::session_id(req.into_inner().session_id)?;
        access::require_owner(&self.core, &caller, session)?;
        match self.propose(Command::CloseSession { session }).await? {
            Outcome::SessionEnded { released } => {
                Ok(Response::new(pb::CloseSessionResponse { released }))
            }
            other => Err(unexpected(other)),
        }
    }

    type KeepAliveStream = KeepAliveStream;

    async fn keep_alive(
        &self,
        req: Request<Streaming<pb::KeepAliveRequest>>,
    ) -> Result<Response<Self::KeepAliveStream>, Status> {
        // Credentials are checked again for every message: a principal removed
        // from the access file (or stripped of its rights) renews nothing more,
        // and its sessions expire at their deadlines (G6).
        let credentials = access::Credentials::of(&self.core, &req);
        credentials.identify(&self.core)?;
        self.require_leader()?;
        let mut inbound = req.into_inner();
        let (tx, rx) = mpsc::channel(KEEPALIVE_PIPELINE * 2);
        let core = self.core.clone();
        let mut stop = self.core.stop.clone();
        tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(KEEPALIVE_PIPELINE));
            loop {
                // The stream ends when the node stops, so shutdown need not wait for it.
                let msg = tokio::select! {
                    m = inbound.next() => m,
                    _ = stop.wait_for(|s| *s) => None,
                };
                let Some(Ok(msg)) = msg else { break };
                if msg.session_ids.len() > core.limits.max_keepalive_sessions {
                    let err = access::refuse(&core, Limit::MaxKeepaliveSessions);
                    let _ = tx.send(Err(err)).await;
                    return;
                }
                let Ok(permit) = slots.clone().acquire_owned().await else {
                    return;
                };
                let (core, tx, credentials) = (core.clone(), tx.clone(), credentials.clone());
                tokio::spawn(async move {
                    // Only the owner (or an admin) may renew a session, under
                    // the access rules in force now.
                    let caller = credentials.identify(&core).ok();
                    let (allowed, denied) =
                        split_owned(&core, caller.as_ref(), msg.session_ids.clone());
                    let answer = core.keepalives.submit(allowed).await;
                    let _ = tx.send(Ok(keepalive_response(msg, answer, &denied))).await;
                    drop(permit);
                });
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn acquire(
        &self,
        req: Request<pb::AcquireRequest>,
    ) -> Result<Response<pb::AcquireResponse>, Status> {
        let _step = steps::Span::new("api.begin", "api.end", 0);
        let caller = self.begin(&req)?;
        let r = req.into_inner();
        let session = validate::session_id(r.session_id)?;
        let request = validate::request_id("request_id", r.request_id)?;
        validate::lock_name(&r.name)?;
        let mode = convert::mode_from_pb(lock_mode(r.mode)?);
        let wait_ms = if r.wait {
            Some(validate::millis(
                "wait_timeout_ms",
                r.wait_timeout_ms,
                Duration::ZERO,
                MAX_WAIT,
            )?)
        } else {
            None
        };
        let lock_delay_ms = validate::millis(
            "lock_delay_ms",
            r.lock_delay_ms,
            Duration::ZERO,
            MAX_LOCK_DELAY,
        )?;
        access::require(&self.core, &caller, Perm::Lock, &r.name)?;
        access::require_owner(&self.core, &caller, session)?;
        // Counted against the limits until it returns.
        let mut slot = self.check_acquire_limits(&caller, session, &r.name, wait_ms.is_some())?;
        let cmd = Command::Acquire {
            session,
            request,
            name: r.name,
            mode,
            wait_ms,
            lock_delay_ms,
            owner: rand::random(),
        };
        let mut outcome = self.propose(cmd).await?;
        if outcome == Outcome::Queued {
            slot.applied();
            let wait = Duration::from_millis(wait_ms.unwrap_or(0));
            outcome = self.await_queued(session, request, wait).await?;
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

    async fn cancel_acquire(
        &self,
        req: Request<pb::CancelAcquireRequest>,
    ) -> Result<Response<pb::CancelAcquireResponse>, Status> {
        let caller = self.begin(&req)?;
        let r = req.into_inner();
        let session = validate::session_id(r.session_id)?;
        let request = validate::request_id("acquire_request_id", r.acquire_request_id)?;
        access::require_owner(&self.core, &caller, session)?;
        let cmd = Command::CancelAcquire { session, request };
        match self.propose(cmd).await? {
            Outcome::Granted(g) => Ok(Response::new(pb::CancelAcquireResponse {
                grant: Some(convert::grant(&g)),
            })),
            Outcome::Rejected(
                Rejection::Cancelled(_) | Rejection::TimedOut(_) | Rejection::LockHeld(_),
            ) => Ok(Response::new(pb::CancelAcquireResponse { grant: None })),
            other => Err(unexpected(other)),
        }
    }

    async fn release(
        &self,
        req: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        let _step = steps::Span::new("api.begin", "api.end", 0);
        let caller = self.begin(&req)?;
        let r = req.into_inner();
        let session = validate::session_id(r.session_id)?;
        let request = validate::request_id("request_id", r.request_id)?;
        validate::lock_name(&r.name)?;
        let owner = validate::owner_id(&r.owner_id)?;
        access::require(&self.core, &caller, Perm::Lock, &r.name)?;
        access::require_owner(&self.core, &caller, session)?;
        let cmd = Command::Release {
            session,
            request,
            name: r.name,
            owner,
        };
        match self.propose(cmd).await? {
            Outcome::Released { released } => Ok(Response::new(pb::ReleaseResponse { released })),
            other => Err(unexpected(other)),
        }
    }

    async fn force_release(
        &self,
        req: Request<pb::ForceReleaseRequest>,
    ) -> Result<Response<pb::ForceReleaseResponse>, Status> {
        let caller = self.begin(&req)?;
        let r = req.into_inner();
        validate::lock_name(&r.name)?;
        let owner = validate::owner_id(&r.owner_id)?;
        validate::text("reason", &r.reason)?;
        access::require(&self.core, &caller, Perm::Admin, &r.name)?;
        let cmd = Command::ForceRelease {
            name: r.name,
            owner,
            principal: caller.name().to_owned(),
            reason: r.reason,
            retry_id: r.retry_id,
        };
        match self.propose(cmd).await? {
            Outcome::ForceReleased { granted } => Ok(Response::new(pb::ForceReleaseResponse {
                granted: granted.iter().map(convert::grant).collect(),
            })),
            other => Err(unexpected(other)),
        }
    }

    async fn blacklist(
        &self,
        req: Request<pb::BlacklistRequest>,
    ) -> Result<Response<pb::BlacklistResponse>, Status> {
        let caller = self.begin(&req)?;
        let r = req.into_inner();
        let session = validate::session_id(r.session_id)?;
        validate::text("reason", &r.reason)?;
        access::require(&self.core, &caller, Perm::Admin, "")?;
        let cmd = Command::Blacklist {
            session,
            principal: caller.name().to_owned(),
            reason: r.reason,
        };
        match self.propose(cmd).await? {
            Outcome::Blacklisted => {
                let remaining = self
                    .core
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

    async fn add_member(
        &self,
        req: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::MembersResponse>, Status> {
        let caller = self.begin(&req)?;
        let r = req.into_inner();
        access::require(&self.core, &caller, Perm::Admin, "")?;
        let members = members::add(&self.core, r.id, &r.addr).await?;
        let target = format!("node {}", r.id);
        access::audit_in_background(&self.core, "add-member", caller.name(), &target, r.addr);
        Ok(Response::new(pb::MembersResponse { members }))
    }

    async fn remove_member(
        &self,
        req: Request<pb::RemoveMemberRequest>,
    ) -> Result<Response<pb::MembersResponse>, Status> {
        let caller = self.begin(&req)?;
        let id = req.into_inner().id;
        access::require(&self.core, &caller, Perm::Admin, "")?;
        let members = members::remove(&self.core, id).await?;
        let target = format!("node {id}");
        access::audit_in_background(
            &self.core,
            "remove-member",
            caller.name(),
            &target,
            String::new(),
        );
        Ok(Response::new(pb::MembersResponse { members }))
    }

    type SaveSnapshotStream = SnapshotStream;

    async fn save_snapshot(
        &self,
        req: Request<pb::SaveSnapshotRequest>,
    ) -> Result<Response<Self::SaveSnapshotStream>, Status> {
        let caller = self.begin(&req)?;
        access::require(&self.core, &caller, Perm::Admin, "")?;
        self.read_barrier().await?;
        Ok(Response::new(backup::stream(&self.core, caller.name())))
    }

    async fn describe(
        &self,
        req: Request<pb::DescribeRequest>,
    ) -> Result<Response<pb::DescribeResponse>, Status> {
        let caller = self.begin(&req)?;
        let name = req.into_inner().name;
        validate::lock_name(&name)?;
        access::require(&self.core, &caller, Perm::Read, &name)?;
        self.read_barrier().await?;
        let shared = self.core.shared.lock();
        let lock = shared
            .machine
            .lock(&name)
            .map(|l| convert::lock_info(&name, l));
        Ok(Response::new(pb::DescribeResponse { lock }))
    }

    async fn list_locks(
        &self,
        req: Request<pb::ListLocksRequest>,
    ) -> Result<Response<pb::ListLocksResponse>, Status> {
        let caller = self.begin(&req)?;
        let r = req.into_inner();
        let limit = validate::limit(r.limit)?;
        access::require(&self.core, &caller, Perm::Read, &r.prefix)?;
        self.read_barrier().await?;
        let shared = self.core.shared.lock();
        let mut locks: Vec<pb::LockInfo> = shared
            .machine
            .locks()
            .range::<str, _>((
                std::ops::Bound::Excluded(r.start_after.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .filter(|(name, _)| name.starts_with(&r.prefix))
            .take(limit + 1)
            .map(|(name, lock)| convert::lock_info(name, lock))
            .collect();
        let truncated = locks.len() > limit;
        locks.truncate(limit);
        Ok(Response::new(pb::ListLocksResponse { locks, truncated }))
    }

    async fn list_sessions(
        &self,
        req: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        let caller = self.begin(&req)?;
        let r = req.into_inner();
        let limit = validate::limit(r.limit)?;
        access::require(&self.core, &caller, Perm::Read, "")?;
        self.read_barrier().await?;
        let shared = self.core.shared.lock();
        let now = Instant::now();
        let mut sessions: Vec<pb::SessionInfo> = shared
            .machine
            .sessions()
            .range(r.start_after.saturating_add(1)..)
            .take(limit + 1)
            .map(|(&id, s)| {
                let remaining = shared
                    .leases
                    .remaining(id, now)
                    .map_or(0, |d| d.as_millis() as u64);
                convert::session_info(id, s, remaining)
            })
            .collect();
        let truncated = sessions.len() > limit;
        sessions.truncate(limit);
        Ok(Response::new(pb::ListSessionsResponse {
            sessions,
            truncated,
        }))
    }

    async fn status(
        &self,
        req: Request<pb::StatusRequest>,
    ) -> Result<Response<pb::StatusResponse>, Status> {
        // Any node answers (clients and operators ask followers too), but only
        // a caller who may read something.
        let caller = access::identify(&self.core, &req)?;
        if !caller.principal.may_anywhere(Perm::Read) {
            return Err(access::deny(
                &self.core,
                caller.name(),
                "status",
                "cluster",
                "no read permission anywhere",
            ));
        }
        let m = self.core.raft.metrics().borrow_watched().clone();
        let leader = self.core.leader();
        let matched = |id: u64| {
            m.replication
                .as_ref()
                .and_then(|r| r.get(&id).copied().flatten())
                .map_or(0, |l| l.index)
        };
        let members = m
            .membership_config
            .membership()
            .nodes()
            .map(|(id, node)| pb::Member {
                id: *id,
                addr: node.addr.clone(),
                matched_index: matched(*id),
            })
            .collect();
        let role = match m.state {
            ServerState::Leader => "leader",
            ServerState::Follower => "follower",
            ServerState::Candidate => "candidate",
            ServerState::Learner => "learner",
            ServerState::Shutdown => "shutdown",
        };
        // Read before taking the state lock: no code holds two locks at once.
        let commit_index = self.core.log.committed().map_or(0, |l| l.index);
        let shared = self.core.shared.lock();
        Ok(Response::new(pb::StatusResponse {
            node_id: self.core.id,
            role: role.into(),
            term: m.current_term,
            leader_id: leader.as_ref().map_or(0, |l| l.0),
            leader_addr: leader.map(|l| l.1).unwrap_or_default(),
            members,
            last_log_index: m.last_log_index.unwrap_or(0),
            commit_index,
            applied_index: m.last_applied.map_or(0, |l| l.index),
            sessions: shared.machine.sessions().len() as u64,
            locks: shared.machine.locks().len() as u64,
            next_token: shared.machine.last_token() + 1,
        }))
    }

    async fn audit(
        &self,
        req: Request<pb::AuditRequest>,
    ) -> Result<Response<pb::AuditResponse>, Status> {
        let caller = self.begin(&req)?;
        let limit = validate::limit(req.into_inner().limit)?;
        access::require(&self.core, &caller, Perm::Admin, "")?;
        self.read_barrier().await?;
        let shared = self.core.shared.lock();
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
}

/// Splits keepalive session ids into those the caller may renew and the rest:
/// a caller no longer known, or without `lock` permission anywhere, renews
/// nothing.
fn split_owned(
    core: &Core,
    caller: Option<&Caller>,
    ids: Vec<SessionId>,
) -> (Vec<SessionId>, Vec<SessionId>) {
    let Some(caller) = caller.filter(|c| c.principal.may_anywhere(Perm::Lock)) else {
        return (Vec::new(), ids);
    };
    let shared = core.shared.lock();
    ids.into_iter().partition(|id| {
        shared
            .machine
            .session(*id)
            .is_none_or(|s| access::may_use_session(caller, &s.principal))
    })
}

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
                    })
                    .chain(denied_leases)
                    .collect(),
                leader_id,
                leader_addr,
            }
        }
    }
}
