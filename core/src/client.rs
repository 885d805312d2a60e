//! The client: one session at a time, acquires, and the admin calls.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tenure_proto::v1 as pb;
use tokio::sync::watch;

use crate::admin::{AuditRecord, ClusterStatus, GrantInfo, LockInfo, MemberInfo, SessionInfo};
use crate::clock::Clock;
use crate::conn::{Conn, normalize};
use crate::election::Election;
use crate::error::{Error, ErrorKind, Result};
use crate::lock::Lock;
use crate::options::{AcquireOptions, ClientOptions, LockMode};
use crate::rt::{self, Instant};
use crate::session::{LostReason, SessionInner, SessionState};
use crate::watch::Watcher;

/// Longest lock name, in bytes (the server enforces the same).
pub const MAX_LOCK_NAME_BYTES: usize = 256;
/// Longest [`AcquireOptions::value`], in bytes (the server enforces the same).
pub const MAX_LOCK_VALUE_BYTES: usize = 1_024;
/// Most permits a semaphore may have (the server enforces the same).
pub const MAX_PERMITS: u32 = 1_000_000;

/// A connection to a tenure cluster. Cheap to clone; clones share the session.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoints", &self.inner.conn.endpoints())
            .field("session_state", &self.session_state())
            .finish()
    }
}

struct ClientInner {
    conn: Arc<Conn>,
    session: tokio::sync::Mutex<Option<Arc<SessionInner>>>,
    state: watch::Sender<SessionState>,
}

/// Checks a lock name the way the server does, to fail early with a clear error.
pub fn validate_lock_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_LOCK_NAME_BYTES {
        return Err(Error::invalid(format!(
            "lock name must be 1 to {MAX_LOCK_NAME_BYTES} bytes, got {}",
            name.len()
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "lock name must not contain control characters",
        ));
    }
    Ok(())
}

/// Checks an [`AcquireOptions::value`] as the server will: at most
/// [`MAX_LOCK_VALUE_BYTES`] bytes, no control characters but tab.
pub fn validate_lock_value(value: &str) -> Result<()> {
    if value.len() > MAX_LOCK_VALUE_BYTES {
        return Err(Error::invalid(format!(
            "lock value must be at most {MAX_LOCK_VALUE_BYTES} bytes, got {}",
            value.len()
        )));
    }
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(Error::invalid(
            "lock value must not contain control characters (tab allowed)",
        ));
    }
    Ok(())
}

/// Checks the permit fields of `options` as the server will.
fn validate_permits(options: &AcquireOptions) -> Result<()> {
    let (count, limit) = (options.permits, options.permit_limit);
    if options.mode != LockMode::Permits {
        if count != 0 || limit != 0 {
            return Err(Error::invalid(
                "permits and permit_limit are for mode permits only",
            ));
        }
        return Ok(());
    }
    if limit == 0 || limit > MAX_PERMITS {
        return Err(Error::invalid(format!(
            "permit_limit must be 1 to {MAX_PERMITS}, got {limit}"
        )));
    }
    if count == 0 || count > limit {
        return Err(Error::invalid(format!(
            "permits must be 1 to permit_limit ({limit}), got {count}"
        )));
    }
    Ok(())
}

pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Client {
    /// Connects to the cluster at `endpoints` (any members; `host:port`, or one
    /// comma-separated string) and opens a session.
    pub async fn connect<I, S>(endpoints: I, options: ClientOptions) -> Result<Client>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let client = Client::connect_lazy(endpoints, options)?;
        client.session().await?;
        Ok(client)
    }

    /// Like [`Client::connect`], but opens no session until the first acquire
    /// (for admin tools that only read or administer).
    pub fn connect_lazy<I, S>(endpoints: I, options: ClientOptions) -> Result<Client>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let options = options.resolved();
        options.validate()?;
        let endpoints: Vec<String> = endpoints
            .into_iter()
            .map(|e| e.as_ref().to_owned())
            .collect();
        let endpoints = options.resolve_endpoints(endpoints)?;
        let conn = Arc::new(Conn::new(&endpoints, options)?);
        let (state, _) = watch::channel(SessionState::Expired);
        Ok(Client {
            inner: Arc::new(ClientInner {
                conn,
                session: tokio::sync::Mutex::new(None),
                state,
            }),
        })
    }

    /// The client's options.
    pub fn options(&self) -> &ClientOptions {
        &self.inner.conn.options
    }

    /// The connection the client's calls go through.
    pub(crate) fn inner_conn(&self) -> Arc<crate::conn::Conn> {
        self.inner.conn.clone()
    }

    pub(crate) fn deadline(&self, extra: Duration) -> Instant {
        Instant::now() + self.options().call_timeout + extra
    }

    /// The live session, opening a fresh one if there is none or it ended.
    pub(crate) async fn session(&self) -> Result<Arc<SessionInner>> {
        let mut current = self.inner.session.lock().await;
        if let Some(s) = current.as_ref() {
            if s.is_alive() {
                return Ok(s.clone());
            }
            // Ended, or past its local expiry: end it (final) before a new one.
            s.end(LostReason::SessionExpired);
        }
        let conn = &self.inner.conn;
        let ttl = conn.options.ttl;
        let label = conn.options.label.clone().unwrap_or_else(rt::default_label);
        let req = pb::OpenSessionRequest {
            ttl_ms: millis(ttl),
            label,
            open_id: rand::random::<[u8; 16]>().to_vec(),
        };
        // Local expiry counts from the first send: retries only shorten it.
        let clock = Clock::system();
        let t_send = clock.now();
        let resp = conn
            .call(
                self.deadline(Duration::ZERO),
                conn.options.attempt_timeout,
                |mut stub| {
                    let req = req.clone();
                    async move { stub.open_session(req).await }
                },
            )
            .await?;
        let granted = Duration::from_millis(resp.ttl_ms);
        let session = SessionInner::new(
            resp.session_id,
            granted,
            clock,
            t_send,
            conn.clone(),
            self.inner.state.clone(),
        )
        .start();
        tracing::debug!(session = resp.session_id, "session opened");
        *current = Some(session.clone());
        Ok(session)
    }

    /// Opens a session now if there is none (or it ended), and returns its id.
    /// [`Client::connect_lazy`] clients open one on their first acquire otherwise.
    pub async fn open_session(&self) -> Result<u64> {
        Ok(self.session().await?.id)
    }

    /// The current session's id, if one is open.
    pub async fn session_id(&self) -> Option<u64> {
        self.inner.session.lock().await.as_ref().map(|s| s.id)
    }

    /// The host says this process may have been paused or throttled: a page
    /// hidden or frozen (`visibilitychange`, `freeze`), a machine resumed. The
    /// session ends now if its local expiry has passed; otherwise it is in
    /// Jeopardy until a renewal sent from now on succeeds, and that renewal is
    /// sent at once. Never extends anything: it can only shorten belief.
    pub async fn host_paused(&self) {
        if let Some(session) = self.inner.session.lock().await.as_ref() {
            session.host_paused();
        }
    }

    /// The current session's state (Expired when there is none).
    pub fn session_state(&self) -> SessionState {
        *self.inner.state.borrow()
    }

    /// A watch of the client's session state: Healthy, Jeopardy, Expired (and
    /// Healthy again when a later call opens a fresh session).
    pub fn watch_session(&self) -> watch::Receiver<SessionState> {
        self.inner.state.subscribe()
    }

    /// Calls `callback` with every change of the session state (on the
    /// runtime the client was made on) until the returned [`Subscription`] is dropped.
    pub fn on_session_state(
        &self,
        callback: impl Fn(SessionState) + Send + Sync + 'static,
    ) -> Subscription {
        let mut rx = self.watch_session();
        let task = rt::spawn(async move {
            while rx.changed().await.is_ok() {
                let state = *rx.borrow_and_update();
                callback(state);
            }
        });
        Subscription(task)
    }

    /// Acquires `name`. With `options.wait`, waits in the server's FIFO queue up
    /// to that long; without, fails at once with `LockHeld` if it is taken.
    ///
    /// Cancel-safe: dropping the future withdraws a waiting acquire (and releases
    /// the grant if it raced with the cancel).
    pub async fn acquire(&self, name: &str, options: AcquireOptions) -> Result<Lock> {
        validate_lock_name(name)?;
        validate_lock_value(&options.value)?;
        validate_permits(&options)?;
        let mut counted = self.counting(&[name], Instant::now());
        let result = match self.acquire_once(name, &options).await {
            // The session ended before anything was granted: once more, fresh.
            Err(e) if e.kind() == ErrorKind::SessionExpired => {
                self.acquire_once(name, &options).await
            }
            other => other,
        };
        counted.done(result.as_ref().err());
        result
    }

    /// Counts an acquire of `names` that starts at `started` in the metrics:
    /// when it ends, or as cancelled if its future is dropped first.
    pub(crate) fn counting(&self, names: &[&str], started: Instant) -> Counting {
        Counting {
            conn: self.inner.conn.clone(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            started,
            counted: false,
        }
    }

    /// This client's counters per lock-name prefix (the first segment and
    /// its slash): acquires granted and failed, releases, losses, total wait
    /// and hold time.
    pub fn metrics(&self) -> Vec<crate::admin::PrefixMetrics> {
        self.inner.conn.metrics.snapshot()
    }

    /// The same counters, with wait and hold time histograms, in the
    /// Prometheus text format (metrics `tenure_client_*`), for an
    /// application's own `/metrics` page.
    pub fn metrics_text(&self) -> String {
        self.inner.conn.metrics.prometheus()
    }

    async fn acquire_once(&self, name: &str, options: &AcquireOptions) -> Result<Lock> {
        let session = self.session().await?;
        // A dropped handle or acquire of this name may still be releasing it
        // in the background: the server would find this session holding it.
        session.releasing.settled(name).await;
        let request_id = session.next_request_id();
        let wait = options.wait.unwrap_or(Duration::ZERO);
        let req = pb::AcquireRequest {
            session_id: session.id,
            request_id,
            name: name.to_owned(),
            mode: match options.mode {
                LockMode::Exclusive => pb::LockMode::Exclusive,
                LockMode::Shared => pb::LockMode::Shared,
                LockMode::Permits => pb::LockMode::Permits,
            } as i32,
            wait: options.wait.is_some(),
            wait_timeout_ms: millis(wait),
            lock_delay_ms: millis(options.lock_delay),
            value: options.value.clone(),
            permits: options.permits,
            permit_limit: options.permit_limit,
        };
        let mut guard = CancelGuard {
            session: Some(session.clone()),
            request_id,
            name: name.to_owned(),
        };
        let conn = &self.inner.conn;
        let deadline = self.deadline(wait);
        let result = conn
            .call(deadline, conn.options.attempt_timeout + wait, |mut stub| {
                let req = req.clone();
                async move { stub.acquire(req).await }
            })
            .await;
        // Without an answer (no server reached, or the deadline passed) the
        // acquire may still have been granted: the guard stays armed and
        // withdraws or releases it.
        if !unanswered(&result, deadline) {
            guard.session = None;
        }
        match result {
            Ok(resp) => {
                let grant = resp
                    .grant
                    .ok_or_else(|| Error::internal("acquire answered without a grant"))?;
                let lock = Lock::new(grant, session.clone())?;
                if !lock.is_held() {
                    // Granted, but the session's local expiry passed meanwhile (G3).
                    let _ = lock.release().await;
                    return Err(Error::new(
                        ErrorKind::SessionExpired,
                        "session expired while acquiring",
                    ));
                }
                Ok(lock)
            }
            Err(e) => {
                match e.kind() {
                    ErrorKind::SessionExpired => session.end(LostReason::SessionExpired),
                    ErrorKind::SessionBlacklisted => session.end(LostReason::SessionBlacklisted),
                    _ => {}
                }
                Err(e)
            }
        }
    }

    /// Waits up to `timeout` for an exclusive lock.
    pub async fn lock(&self, name: &str, timeout: Duration) -> Result<Lock> {
        self.acquire(name, AcquireOptions::wait(timeout)).await
    }

    /// Tries once for an exclusive lock (`LockHeld` if taken).
    pub async fn try_lock(&self, name: &str) -> Result<Lock> {
        self.acquire(name, AcquireOptions::try_once()).await
    }

    /// Acquires `name`, runs `work` with the lock, and releases it. If the lock
    /// is lost first, `work` is cancelled and `LockLost` returned; if it is
    /// lost after `work` finished but before the release, `LockLost` too
    /// ([`Lock::finish`]). Errors come in that order: the acquire's, the loss,
    /// the release's; `work`'s own result (its `T`) last.
    pub async fn with_lock<F, Fut, T>(
        &self,
        name: &str,
        options: AcquireOptions,
        work: F,
    ) -> Result<T>
    where
        F: FnOnce(Lock) -> Fut,
        Fut: Future<Output = T>,
    {
        let lock = self.acquire(name, options).await?;
        let out = lock.run(work(lock.clone())).await;
        let finished = lock.finish().await;
        let out = out?;
        finished?;
        Ok(out)
    }

    /// Admin: frees `name` only if `owner_id` still holds it (compare-and-swap),
    /// handing it to the next waiter at once. Returns the grants made.
    pub async fn force_release(
        &self,
        name: &str,
        owner_id: &str,
        reason: &str,
    ) -> Result<Vec<GrantInfo>> {
        validate_lock_name(name)?;
        // The same id on every retry of this call: if an attempt took effect
        // but its answer was lost, the retry gets that answer (G5).
        let req = pb::ForceReleaseRequest {
            name: name.to_owned(),
            owner_id: owner_id.to_owned(),
            reason: reason.to_owned(),
            retry_id: rand::random::<u64>() | 1,
        };
        let resp = self
            .call(|mut stub| {
                let req = req.clone();
                async move { stub.force_release(req).await }
            })
            .await?;
        Ok(resp.granted.into_iter().map(GrantInfo::from).collect())
    }

    /// Asks the holders of `name` (only the grant `owner_id`, if given) to
    /// release it: each holder's client learns it with its next renewal
    /// ([`Lock::on_revoke_requested`]) and decides. Frees nothing: use
    /// [`Client::force_release`] for a holder that is gone. Needs `lock`
    /// permission on the name. Returns the grants asked (empty: nobody held
    /// it, or not that grant).
    pub async fn request_release(
        &self,
        name: &str,
        owner_id: Option<&str>,
        reason: &str,
    ) -> Result<Vec<GrantInfo>> {
        validate_lock_name(name)?;
        // Idempotent on the server (asking twice asks once), so retries
        // need no id.
        let req = pb::RequestReleaseRequest {
            name: name.to_owned(),
            owner_id: owner_id.unwrap_or_default().to_owned(),
            reason: reason.to_owned(),
        };
        let resp = self
            .call(|mut stub| {
                let req = req.clone();
                async move { stub.request_release(req).await }
            })
            .await?;
        Ok(resp.asked.into_iter().map(GrantInfo::from).collect())
    }

    /// Watches every lock whose name starts with `prefix` ("" for all; needs
    /// read permission on the prefix). With `start_revision` 0 the first
    /// batch is the current state (`reset`); with the revision of a batch
    /// seen before, the watch resumes after it (or starts over with the state
    /// if the server no longer has every change since). See [`Watcher`].
    pub fn watch(&self, prefix: &str, start_revision: u64) -> Result<Watcher> {
        if !prefix.is_empty() {
            validate_lock_name(prefix)?;
        }
        Ok(self.watch_from(prefix, start_revision))
    }

    pub(crate) fn watch_from(&self, prefix: &str, start_revision: u64) -> Watcher {
        Watcher::new(self.inner.conn.clone(), prefix.to_owned(), start_revision)
    }

    /// The election of `name` (a lock of that name): campaign, observe, see
    /// [`Election`].
    pub fn election(&self, name: &str) -> Result<Election> {
        Election::new(self.clone(), name)
    }

    /// Admin: blacklists a session: it is never renewed again and expires at its
    /// current deadline. Returns the time left until then (leader's view).
    pub async fn blacklist(&self, session_id: u64, reason: &str) -> Result<Duration> {
        let req = pb::BlacklistRequest {
            session_id,
            reason: reason.to_owned(),
        };
        let resp = self
            .call(|mut stub| {
                let req = req.clone();
                async move { stub.blacklist(req).await }
            })
            .await?;
        Ok(Duration::from_millis(resp.expires_in_ms))
    }

    /// Reads one lock (None if nobody holds or waits for it).
    pub async fn describe(&self, name: &str) -> Result<Option<LockInfo>> {
        validate_lock_name(name)?;
        let req = pb::DescribeRequest {
            name: name.to_owned(),
        };
        let resp = self
            .call(|mut stub| {
                let req = req.clone();
                async move { stub.describe(req).await }
            })
            .await?;
        Ok(resp.lock.map(LockInfo::from))
    }

    /// Lists locks whose names start with `prefix` (all pages).
    pub async fn list_locks(&self, prefix: &str) -> Result<Vec<LockInfo>> {
        let mut out: Vec<LockInfo> = Vec::new();
        loop {
            let req = pb::ListLocksRequest {
                prefix: prefix.to_owned(),
                start_after: out.last().map(|l| l.name.clone()).unwrap_or_default(),
                limit: 0,
            };
            let resp = self
                .call(|mut stub| {
                    let req = req.clone();
                    async move { stub.list_locks(req).await }
                })
                .await?;
            out.extend(resp.locks.into_iter().map(LockInfo::from));
            if !resp.truncated {
                return Ok(out);
            }
        }
    }

    /// Lists sessions (all pages).
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>> {
        let mut out: Vec<SessionInfo> = Vec::new();
        loop {
            let req = pb::ListSessionsRequest {
                start_after: out.last().map_or(0, |s| s.session_id),
                limit: 0,
            };
            let resp = self
                .call(|mut stub| async move { stub.list_sessions(req).await })
                .await?;
            out.extend(resp.sessions.into_iter().map(SessionInfo::from));
            if !resp.truncated {
                return Ok(out);
            }
        }
    }

    /// The cluster status as the leader sees it, or as the node that answered
    /// sees it if that node knows no leader or the leader does not answer.
    ///
    /// A follower's view trails the leader's: it learns that an entry committed
    /// later (with the next append, or a few milliseconds after), so its
    /// `applied_index` and `next_token` may not yet show a grant the leader
    /// already answered.
    pub async fn status(&self) -> Result<ClusterStatus> {
        let resp = self
            .call(|mut stub| async move { stub.status(pb::StatusRequest {}).await })
            .await?;
        let answered = ClusterStatus::from(resp);
        match answered.leader_addr.as_deref() {
            Some(leader) if answered.role != "leader" => {
                Ok(self.node_status(leader).await.unwrap_or(answered))
            }
            _ => Ok(answered),
        }
    }

    /// The status as one particular node sees it.
    pub async fn node_status(&self, endpoint: &str) -> Result<ClusterStatus> {
        let addr = normalize(endpoint)?;
        let mut stub = self.inner.conn.stub(&addr)?;
        let fut = stub.status(pb::StatusRequest {});
        match rt::timeout(self.options().attempt_timeout, fut).await {
            Ok(Ok(resp)) => Ok(resp.into_inner().into()),
            Ok(Err(status)) => Err(Error::unavailable(format!("{addr}: {}", status.message()))),
            Err(_) => Err(Error::unavailable(format!("{addr}: no answer"))),
        }
    }

    /// The endpoints this client was given.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.conn.endpoints().to_vec()
    }

    /// Admin: adds node `id`, listening at `addr` and started with `--join`, as
    /// a voting member. Returns once it has caught up and the new membership is
    /// committed, with the voting members after the change.
    pub async fn add_member(&self, id: u64, addr: &str) -> Result<Vec<MemberInfo>> {
        let req = pb::AddMemberRequest {
            id,
            addr: addr.to_owned(),
        };
        let resp = self
            .call(|mut stub| {
                let req = req.clone();
                async move { stub.add_member(req).await }
            })
            .await?;
        Ok(resp.members.into_iter().map(MemberInfo::from).collect())
    }

    /// Admin: removes voting member `id`; returns the voting members after it.
    pub async fn remove_member(&self, id: u64) -> Result<Vec<MemberInfo>> {
        let resp = self
            .call(
                |mut stub| async move { stub.remove_member(pb::RemoveMemberRequest { id }).await },
            )
            .await?;
        Ok(resp.members.into_iter().map(MemberInfo::from).collect())
    }

    /// Admin: streams a consistent copy of the cluster's state (everything
    /// committed before the call: locks, sessions, the token counter), as a
    /// tenure snapshot file, into `out`. Returns the bytes written. Not on
    /// wasm (no files there).
    #[cfg(not(target_arch = "wasm32"))]
    pub async fn save_snapshot<W>(&self, out: &mut W) -> Result<u64>
    where
        W: tokio::io::AsyncWrite + Unpin,
    {
        crate::admin::save_snapshot(&self.inner.conn, out).await
    }

    /// The most recent admin actions (oldest first).
    pub async fn audit(&self, limit: u32) -> Result<Vec<AuditRecord>> {
        let resp = self
            .call(|mut stub| async move { stub.audit(pb::AuditRequest { limit }).await })
            .await?;
        Ok(resp.records.into_iter().map(AuditRecord::from).collect())
    }

    /// Closes the session (its locks pass on at once) and marks its locks lost.
    pub async fn close(&self) -> Result<()> {
        let Some(session) = self.inner.session.lock().await.take() else {
            return Ok(());
        };
        session.end(LostReason::ClientClosed);
        let id = session.id;
        let result = self
            .call(|mut stub| async move {
                stub.close_session(pb::CloseSessionRequest { session_id: id })
                    .await
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::SessionExpired => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn call<T, F, Fut>(&self, call: F) -> Result<T>
    where
        F: FnMut(crate::conn::Stub) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
    {
        let conn = &self.inner.conn;
        conn.call(
            self.deadline(Duration::ZERO),
            conn.options.attempt_timeout,
            call,
        )
        .await
    }
}

/// Whether a call that ended with `result` may have taken effect without its
/// caller learning of it: no server reached, or the caller's deadline passed.
pub(crate) fn unanswered<T>(result: &Result<T>, deadline: Instant) -> bool {
    result.as_ref().err().is_some_and(|e| {
        e.kind() == ErrorKind::Unavailable
            || (e.kind() == ErrorKind::Timeout && Instant::now() >= deadline)
    })
}

/// One acquire's entry in the metrics, made once (see `Client::counting`).
pub(crate) struct Counting {
    conn: Arc<Conn>,
    names: Vec<String>,
    started: Instant,
    counted: bool,
}

impl Counting {
    /// The acquire ended: granted, or failed with `failed`.
    pub(crate) fn done(&mut self, failed: Option<&Error>) {
        self.count(failed.map(|e| e.kind().code()));
    }

    fn count(&mut self, failed: Option<&'static str>) {
        if std::mem::replace(&mut self.counted, true) {
            return;
        }
        let waited = Instant::now().saturating_duration_since(self.started);
        for name in &self.names {
            self.conn.metrics.acquired(name, waited, failed);
        }
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        // The future was dropped before the acquire ended.
        self.count(Some(ErrorKind::Cancelled.code()));
    }
}

/// A running callback registration; dropping it cancels the registration.
#[derive(Debug)]
pub struct Subscription(rt::Task);

impl Drop for Subscription {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Withdraws an acquire whose future was dropped before it finished; if the
/// acquire had been granted meanwhile, releases the grant.
struct CancelGuard {
    session: Option<Arc<SessionInner>>,
    request_id: u64,
    /// The lock asked for (a later acquire of it waits for this cleanup).
    name: String,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        let request_id = self.request_id;
        let ticket = session.releasing.begin(&self.name);
        session.spawner().clone().spawn(async move {
            let _ticket = ticket;
            let conn = session.conn.clone();
            let req = pb::CancelAcquireRequest {
                session_id: session.id,
                acquire_request_id: request_id,
            };
            let deadline = Instant::now() + conn.options.call_timeout;
            let result = conn
                .call(
                    deadline,
                    conn.options.attempt_timeout,
                    |mut stub| async move { stub.cancel_acquire(req).await },
                )
                .await;
            if let Ok(pb::CancelAcquireResponse { grant: Some(grant) }) = result
                && let Ok(lock) = Lock::untracked(grant, session)
            {
                let _ = lock.release().await;
            }
        });
    }
}
