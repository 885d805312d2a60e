//! # tenure-node: the native layer of the Node.js binding
//!
//! A thin napi-rs layer over the Rust client core (crate `tenure`). It converts
//! types, maps errors and bridges async; every piece of lock logic (sessions,
//! heartbeats, client-side expiry, retries, fencing) stays in the core.
//!
//! The JavaScript wrapper (`index.js`) is the public API; this layer is not meant
//! to be used directly. Conventions it relies on:
//!
//! - Every core error is thrown as a napi error whose message starts with the
//!   stable kind code: `"LOCK_HELD: lock \"x\" is held"`. The wrapper turns it
//!   into the matching `TenureError` subclass.
//! - Durations are milliseconds (`number`); fencing tokens are `bigint` (u64,
//!   never rounded); other counters (session ids, indexes) are `number`.
//! - Callbacks are weak thread-safe functions: they never keep the process alive.

#![deny(missing_docs)]

use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use tokio::sync::watch;

// ---------------------------------------------------------------------------
// Errors and conversions

/// Converts a core error into a napi error carrying the stable code as prefix.
fn to_napi(e: tenure::Error) -> Error {
    Error::new(
        Status::GenericFailure,
        format!("{}: {}", e.kind().code(), e.message()),
    )
}

/// An error of `kind` raised by this layer (bad argument, cancel).
fn error(kind: tenure::ErrorKind, message: impl Into<String>) -> Error {
    to_napi(tenure::Error::new(kind, message))
}

fn invalid(message: impl Into<String>) -> Error {
    error(tenure::ErrorKind::InvalidArgument, message)
}

/// Milliseconds (a JS number) to a Duration; finite and non-negative only.
fn duration(what: &str, ms: f64) -> Result<Duration> {
    if !ms.is_finite() || ms < 0.0 {
        return Err(invalid(format!(
            "{what} must be a finite, non-negative number of milliseconds, got {ms}"
        )));
    }
    Duration::try_from_secs_f64(ms / 1000.0)
        .map_err(|_| invalid(format!("{what} is out of range: {ms} ms")))
}

fn opt_duration(what: &str, ms: Option<f64>) -> Result<Option<Duration>> {
    ms.map(|ms| duration(what, ms)).transpose()
}

/// A Duration as milliseconds (fractional).
fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A u64 counter as a JS number (exact below 2^53, which counters never reach).
fn num(v: u64) -> f64 {
    v as f64
}

/// A JS bigint that must fit in a u64 without loss.
fn u64_of(what: &str, v: &BigInt) -> Result<u64> {
    let (signed, value, lossless) = v.get_u64();
    if signed || !lossless {
        return Err(invalid(format!(
            "{what} must be a non-negative 64-bit integer"
        )));
    }
    Ok(value)
}

fn mode_name(mode: tenure::LockMode) -> String {
    match mode {
        tenure::LockMode::Exclusive => "exclusive",
        tenure::LockMode::Shared => "shared",
    }
    .to_owned()
}

fn lost_reason_name(reason: tenure::LostReason) -> String {
    match reason {
        tenure::LostReason::Released => "released",
        tenure::LostReason::SessionExpired => "session_expired",
        tenure::LostReason::SessionBlacklisted => "session_blacklisted",
        tenure::LostReason::ForceReleased => "force_released",
        tenure::LostReason::ClientClosed => "client_closed",
    }
    .to_owned()
}

fn state_name(state: tenure::SessionState) -> String {
    match state {
        tenure::SessionState::Healthy => "healthy",
        tenure::SessionState::Jeopardy => "jeopardy",
        tenure::SessionState::Expired => "expired",
    }
    .to_owned()
}

/// A weak thread-safe JS callback taking one string (never keeps the loop alive).
type StringCallback = ThreadsafeFunction<String, Unknown<'static>, String, Status, false, true>;

// ---------------------------------------------------------------------------
// Options

/// Client options as the wrapper passes them (all durations in milliseconds).
#[napi(object)]
#[derive(Default)]
pub struct NativeClientOptions {
    /// Session time-to-live in ms (default 10000).
    pub ttl_ms: Option<f64>,
    /// Keepalive interval in ms (default ttl / 3).
    pub keepalive_interval_ms: Option<f64>,
    /// Bound on the combined clock-rate error, as a fraction (default 0.01).
    pub drift: Option<f64>,
    /// Safety margin subtracted from the local expiry, in ms (default 100).
    pub margin_ms: Option<f64>,
    /// Deadline of one call, retries included, in ms (default 10000).
    pub call_timeout_ms: Option<f64>,
    /// Timeout of one attempt at one server, in ms (default 2000).
    pub attempt_timeout_ms: Option<f64>,
    /// First retry backoff in ms (default 20).
    pub initial_backoff_ms: Option<f64>,
    /// Largest retry backoff in ms (default 500).
    pub max_backoff_ms: Option<f64>,
    /// Session label shown by `tenure sessions` (default `host:pid`).
    pub label: Option<String>,
    /// Bearer token sent with every request.
    pub token: Option<String>,
    /// PEM file of the CA that signed the servers' certificates (enables TLS).
    pub ca_file: Option<String>,
    /// PEM client certificate for mutual TLS (needs `keyFile`).
    pub cert_file: Option<String>,
    /// PEM private key of `certFile`.
    pub key_file: Option<String>,
    /// Name to verify in the server certificate, if not the endpoint's host.
    pub server_name: Option<String>,
    /// Fill unset token/TLS options from TENURE_TOKEN, TENURE_CA, TENURE_CERT,
    /// TENURE_KEY, TENURE_SERVER_NAME (default true).
    pub use_env: Option<bool>,
}

fn client_options(o: Option<NativeClientOptions>) -> Result<tenure::ClientOptions> {
    let o = o.unwrap_or_default();
    let mut opts = tenure::ClientOptions::default();
    if let Some(d) = opt_duration("ttlMs", o.ttl_ms)? {
        opts.ttl = d;
    }
    opts.keepalive_interval = opt_duration("keepaliveIntervalMs", o.keepalive_interval_ms)?;
    if let Some(drift) = o.drift {
        opts.drift = drift;
    }
    if let Some(d) = opt_duration("marginMs", o.margin_ms)? {
        opts.margin = d;
    }
    if let Some(d) = opt_duration("callTimeoutMs", o.call_timeout_ms)? {
        opts.call_timeout = d;
    }
    if let Some(d) = opt_duration("attemptTimeoutMs", o.attempt_timeout_ms)? {
        opts.attempt_timeout = d;
    }
    if let Some(d) = opt_duration("initialBackoffMs", o.initial_backoff_ms)? {
        opts.initial_backoff = d;
    }
    if let Some(d) = opt_duration("maxBackoffMs", o.max_backoff_ms)? {
        opts.max_backoff = d;
    }
    opts.label = o.label;
    opts.token = o.token;
    if o.ca_file.is_some()
        || o.cert_file.is_some()
        || o.key_file.is_some()
        || o.server_name.is_some()
    {
        opts.tls = Some(tenure::TlsOptions {
            ca_file: o.ca_file.map(Into::into),
            cert_file: o.cert_file.map(Into::into),
            key_file: o.key_file.map(Into::into),
            server_name: o.server_name,
        });
    }
    if o.use_env.unwrap_or(true) {
        opts = opts.with_env();
    }
    opts.validate().map_err(to_napi)?;
    Ok(opts)
}

/// Acquire options as the wrapper passes them.
#[napi(object)]
#[derive(Default)]
pub struct NativeAcquireOptions {
    /// Wait up to this many ms in the server's FIFO queue; absent = try once.
    pub wait_ms: Option<f64>,
    /// Shared mode instead of exclusive.
    pub shared: Option<bool>,
    /// Lock-delay in ms after this grant's session expires (default 0).
    pub lock_delay_ms: Option<f64>,
}

fn acquire_options(o: Option<NativeAcquireOptions>) -> Result<tenure::AcquireOptions> {
    let o = o.unwrap_or_default();
    Ok(tenure::AcquireOptions {
        mode: if o.shared.unwrap_or(false) {
            tenure::LockMode::Shared
        } else {
            tenure::LockMode::Exclusive
        },
        wait: opt_duration("timeout", o.wait_ms)?,
        lock_delay: opt_duration("lockDelayMs", o.lock_delay_ms)?.unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------
// Records

/// A current grant of a lock.
#[napi(object)]
pub struct HolderInfo {
    /// Session holding it.
    pub session_id: f64,
    /// Fencing token.
    pub token: BigInt,
    /// Owner id (32 hex digits).
    pub owner_id: String,
    /// `exclusive` or `shared`.
    pub mode: String,
    /// When it was granted (Unix ms, leader clock).
    pub granted_at_ms: f64,
}

/// A queued acquire.
#[napi(object)]
pub struct WaiterInfo {
    /// Session waiting.
    pub session_id: f64,
    /// Its request id.
    pub request_id: f64,
    /// `exclusive` or `shared`.
    pub mode: String,
    /// When the wait times out (Unix ms, leader clock).
    pub deadline_ms: f64,
}

/// A lock's holders and waiters.
#[napi(object)]
pub struct LockInfo {
    /// Lock name.
    pub name: String,
    /// Current grants.
    pub holders: Vec<HolderInfo>,
    /// FIFO queue of waiting acquires.
    pub waiters: Vec<WaiterInfo>,
    /// No grant before this time (Unix ms), 0 if no lock-delay.
    pub delayed_until_ms: f64,
}

impl From<tenure::LockInfo> for LockInfo {
    fn from(l: tenure::LockInfo) -> Self {
        LockInfo {
            name: l.name,
            holders: l
                .holders
                .into_iter()
                .map(|h| HolderInfo {
                    session_id: num(h.session_id),
                    token: BigInt::from(h.token),
                    owner_id: h.owner_id,
                    mode: mode_name(h.mode),
                    granted_at_ms: num(h.granted_at_ms),
                })
                .collect(),
            waiters: l
                .waiters
                .into_iter()
                .map(|w| WaiterInfo {
                    session_id: num(w.session_id),
                    request_id: num(w.request_id),
                    mode: mode_name(w.mode),
                    deadline_ms: num(w.deadline_ms),
                })
                .collect(),
            delayed_until_ms: num(l.delayed_until_ms),
        }
    }
}

/// A session as the server knows it.
#[napi(object)]
pub struct SessionInfo {
    /// Session id.
    pub session_id: f64,
    /// TTL in ms.
    pub ttl_ms: f64,
    /// Label given by its client.
    pub label: String,
    /// Blacklisted (expires at its deadline, never renewed).
    pub blacklisted: bool,
    /// Names of the locks it holds.
    pub held: Vec<String>,
    /// Number of acquires it has waiting.
    pub waiting: u32,
    /// The leader's view of the time left, in ms.
    pub remaining_ms: f64,
}

impl From<tenure::SessionInfo> for SessionInfo {
    fn from(s: tenure::SessionInfo) -> Self {
        SessionInfo {
            session_id: num(s.session_id),
            ttl_ms: millis(s.ttl),
            label: s.label,
            blacklisted: s.blacklisted,
            held: s.held,
            waiting: s.waiting,
            remaining_ms: millis(s.remaining),
        }
    }
}

/// A cluster member.
#[napi(object)]
pub struct MemberInfo {
    /// Node id.
    pub id: f64,
    /// Address.
    pub addr: String,
    /// Last log index it is known to hold (reported by the leader only).
    pub matched_index: f64,
}

/// One node's view of the cluster.
#[napi(object)]
pub struct ClusterStatus {
    /// The node that answered.
    pub node_id: f64,
    /// Its role: leader, follower, candidate, learner.
    pub role: String,
    /// Current term.
    pub term: f64,
    /// The leader's id, if known.
    pub leader_id: Option<f64>,
    /// The leader's address, if known.
    pub leader_addr: Option<String>,
    /// Members.
    pub members: Vec<MemberInfo>,
    /// Last log index on this node.
    pub last_log_index: f64,
    /// Last committed index this node knows.
    pub commit_index: f64,
    /// Last applied index.
    pub applied_index: f64,
    /// Live sessions.
    pub sessions: f64,
    /// Locks with holders or waiters.
    pub locks: f64,
    /// The fencing token the next grant will get.
    pub next_token: BigInt,
}

impl From<tenure::ClusterStatus> for ClusterStatus {
    fn from(s: tenure::ClusterStatus) -> Self {
        ClusterStatus {
            node_id: num(s.node_id),
            role: s.role,
            term: num(s.term),
            leader_id: s.leader_id.map(num),
            leader_addr: s.leader_addr,
            members: s
                .members
                .into_iter()
                .map(|m| MemberInfo {
                    id: num(m.id),
                    addr: m.addr,
                    matched_index: num(m.matched_index),
                })
                .collect(),
            last_log_index: num(s.last_log_index),
            commit_index: num(s.commit_index),
            applied_index: num(s.applied_index),
            sessions: num(s.sessions),
            locks: num(s.locks),
            next_token: BigInt::from(s.next_token),
        }
    }
}

/// An admin action on record.
#[napi(object)]
pub struct AuditRecord {
    /// When (Unix ms, leader clock).
    pub at_ms: f64,
    /// What: `force-release` or `blacklist`.
    pub action: String,
    /// Who.
    pub principal: String,
    /// On what.
    pub target: String,
    /// Details (owner, token, reason).
    pub detail: String,
}

impl From<tenure::AuditRecord> for AuditRecord {
    fn from(r: tenure::AuditRecord) -> Self {
        AuditRecord {
            at_ms: num(r.at_ms),
            action: r.action,
            principal: r.principal,
            target: r.target,
            detail: r.detail,
        }
    }
}

/// A grant handed out by a force-release.
#[napi(object)]
pub struct GrantInfo {
    /// Lock name.
    pub name: String,
    /// Fencing token.
    pub token: BigInt,
    /// Owner id.
    pub owner_id: String,
    /// Session that got it.
    pub session_id: f64,
}

impl From<tenure::GrantInfo> for GrantInfo {
    fn from(g: tenure::GrantInfo) -> Self {
        GrantInfo {
            name: g.name,
            token: BigInt::from(g.token),
            owner_id: g.owner_id,
            session_id: num(g.session_id),
        }
    }
}

/// A lock name and a fencing token (plain data).
#[napi(object)]
pub struct FenceData {
    /// The lock (resource) name.
    pub lock: String,
    /// The fencing token.
    pub token: BigInt,
}

impl From<tenure::Fence> for FenceData {
    fn from(f: tenure::Fence) -> Self {
        FenceData {
            lock: f.lock,
            token: BigInt::from(f.token),
        }
    }
}

// ---------------------------------------------------------------------------
// Cancellation

/// A one-shot cancel signal for a waiting acquire. The wrapper cancels it when
/// the caller's AbortSignal fires; the acquire's Rust future is then dropped,
/// which makes the core withdraw the waiting acquire from the server's queue.
#[napi]
pub struct CancelToken {
    tx: watch::Sender<bool>,
}

#[napi]
impl CancelToken {
    /// A token that has not been cancelled.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        CancelToken {
            tx: watch::channel(false).0,
        }
    }

    /// Cancels every acquire given this token (idempotent).
    #[napi]
    pub fn cancel(&self) {
        self.tx.send_replace(true);
    }
}

/// Resolves when `rx` is cancelled; never if its token is dropped uncancelled.
async fn cancelled(mut rx: watch::Receiver<bool>) {
    if rx.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

// ---------------------------------------------------------------------------
// Client

/// A connection to a tenure cluster with one session at a time.
#[napi]
pub struct NativeClient {
    inner: tenure::Client,
    runtime: tokio::runtime::Handle,
}

impl Drop for NativeClient {
    fn drop(&mut self) {
        // Dropped by the JS garbage collector on the main thread, outside any
        // runtime: drop the last reference inside the runtime so that the core
        // can close a session nobody uses any more.
        let client = self.inner.clone();
        self.runtime.spawn(async move { drop(client) });
    }
}

/// Connects to the cluster at `endpoints` and opens a session.
#[napi]
pub async fn connect(
    endpoints: Vec<String>,
    options: Option<NativeClientOptions>,
) -> Result<NativeClient> {
    let options = client_options(options)?;
    let inner = tenure::Client::connect(endpoints, options)
        .await
        .map_err(to_napi)?;
    Ok(NativeClient {
        inner,
        runtime: tokio::runtime::Handle::current(),
    })
}

/// Like `connect`, but opens no session until the first acquire (admin use).
#[napi(async_runtime)]
pub fn connect_lazy(
    endpoints: Vec<String>,
    options: Option<NativeClientOptions>,
) -> Result<NativeClient> {
    let options = client_options(options)?;
    let inner = tenure::Client::connect_lazy(endpoints, options).map_err(to_napi)?;
    Ok(NativeClient {
        inner,
        runtime: tokio::runtime::Handle::current(),
    })
}

#[napi]
impl NativeClient {
    /// Acquires `name`. With `waitMs` waits in the server's FIFO queue; without,
    /// fails at once with LOCK_HELD. If `cancel` fires first, the acquire is
    /// withdrawn and the promise rejects with CANCELLED.
    #[napi(ts_return_type = "Promise<NativeLock>")]
    pub fn acquire<'env>(
        &self,
        env: &'env Env,
        name: String,
        options: Option<NativeAcquireOptions>,
        cancel: Option<&CancelToken>,
    ) -> Result<PromiseRaw<'env, NativeLock>> {
        let options = acquire_options(options)?;
        let client = self.inner.clone();
        let cancel = cancel.map(|c| c.tx.subscribe());
        env.spawn_future(async move {
            let acquire = client.acquire(&name, options);
            let lock = match cancel {
                None => acquire.await,
                Some(rx) => tokio::select! {
                    // Dropping `acquire` here withdraws it on the server (core CancelGuard).
                    _ = cancelled(rx) => Err(tenure::Error::new(
                        tenure::ErrorKind::Cancelled,
                        format!("acquire of {name:?} was aborted"),
                    )),
                    r = acquire => r,
                },
            }
            .map_err(to_napi)?;
            Ok(NativeLock { inner: lock })
        })
    }

    /// The current session's id, or null if none is open.
    #[napi]
    pub async fn session_id(&self) -> Option<f64> {
        self.inner.session_id().await.map(num)
    }

    /// The session state: `healthy`, `jeopardy` or `expired` (no session).
    #[napi]
    pub fn session_state(&self) -> String {
        state_name(self.inner.session_state())
    }

    /// Calls `callback` with every change of the session state until the
    /// returned subscription is closed.
    #[napi(async_runtime)]
    pub fn on_session_state(
        &self,
        #[napi(ts_arg_type = "(state: string) => void")] callback: StringCallback,
    ) -> NativeSubscription {
        let sub = self.inner.on_session_state(move |state| {
            callback.call(state_name(state), ThreadsafeFunctionCallMode::NonBlocking);
        });
        NativeSubscription { inner: Some(sub) }
    }

    /// Admin: frees `name` only if `ownerId` still holds it (compare-and-swap).
    #[napi]
    pub async fn force_release(
        &self,
        name: String,
        owner_id: String,
        reason: String,
    ) -> Result<Vec<GrantInfo>> {
        let grants = self
            .inner
            .force_release(&name, &owner_id, &reason)
            .await
            .map_err(to_napi)?;
        Ok(grants.into_iter().map(GrantInfo::from).collect())
    }

    /// Admin: blacklists a session; returns the ms left until it expires.
    #[napi]
    pub async fn blacklist(&self, session_id: BigInt, reason: String) -> Result<f64> {
        let id = u64_of("sessionId", &session_id)?;
        let left = self.inner.blacklist(id, &reason).await.map_err(to_napi)?;
        Ok(millis(left))
    }

    /// Reads one lock (null if nobody holds or waits for it).
    #[napi]
    pub async fn describe(&self, name: String) -> Result<Option<LockInfo>> {
        let info = self.inner.describe(&name).await.map_err(to_napi)?;
        Ok(info.map(LockInfo::from))
    }

    /// Lists locks whose names start with `prefix`.
    #[napi]
    pub async fn list_locks(&self, prefix: String) -> Result<Vec<LockInfo>> {
        let locks = self.inner.list_locks(&prefix).await.map_err(to_napi)?;
        Ok(locks.into_iter().map(LockInfo::from).collect())
    }

    /// Lists sessions.
    #[napi]
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>> {
        let sessions = self.inner.list_sessions().await.map_err(to_napi)?;
        Ok(sessions.into_iter().map(SessionInfo::from).collect())
    }

    /// The cluster status as the leader (or any reachable node) sees it.
    #[napi]
    pub async fn status(&self) -> Result<ClusterStatus> {
        let status = self.inner.status().await.map_err(to_napi)?;
        Ok(status.into())
    }

    /// The most recent admin actions (oldest first).
    #[napi]
    pub async fn audit(&self, limit: u32) -> Result<Vec<AuditRecord>> {
        let records = self.inner.audit(limit).await.map_err(to_napi)?;
        Ok(records.into_iter().map(AuditRecord::from).collect())
    }

    /// The endpoints this client was given.
    #[napi]
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints()
    }

    /// Closes the session (its locks pass on at once, and are marked lost).
    #[napi]
    pub async fn close(&self) -> Result<()> {
        self.inner.close().await.map_err(to_napi)
    }
}

/// A session-state subscription; `close()` ends it.
#[napi]
pub struct NativeSubscription {
    inner: Option<tenure::Subscription>,
}

#[napi]
impl NativeSubscription {
    /// Ends the subscription (idempotent).
    #[napi]
    pub fn close(&mut self) {
        self.inner.take();
    }
}

// ---------------------------------------------------------------------------
// Lock

/// A held lock (one grant).
#[napi]
pub struct NativeLock {
    inner: tenure::Lock,
}

#[napi]
impl NativeLock {
    /// The lock's name.
    #[napi(getter)]
    pub fn name(&self) -> String {
        self.inner.name().to_owned()
    }

    /// The fencing token of this grant (u64 as bigint).
    #[napi(getter)]
    pub fn fencing_token(&self) -> BigInt {
        BigInt::from(self.inner.fencing_token())
    }

    /// The grant's unique owner id (32 hex digits).
    #[napi(getter)]
    pub fn owner_id(&self) -> String {
        self.inner.owner_id()
    }

    /// `exclusive` or `shared`.
    #[napi(getter)]
    pub fn mode(&self) -> String {
        mode_name(self.inner.mode())
    }

    /// The id of the session holding it.
    #[napi(getter)]
    pub fn session_id(&self) -> f64 {
        num(self.inner.session_id())
    }

    /// Whether the lock is still held, judged locally (no network).
    #[napi]
    pub fn is_held(&self) -> bool {
        self.inner.is_held()
    }

    /// Ms the lock is certainly held without a further renewal (0 once lost).
    #[napi]
    pub fn remaining(&self) -> f64 {
        millis(self.inner.remaining())
    }

    /// Why the lock is no longer held, or null while it is.
    #[napi]
    pub fn lost_reason(&self) -> Option<String> {
        self.inner.lost_reason().map(lost_reason_name)
    }

    /// Resolves with the reason when the lock is lost or released.
    #[napi]
    pub async fn lost(&self) -> String {
        lost_reason_name(self.inner.lost().await)
    }

    /// Calls `callback` once with the reason when the lock is lost or released.
    #[napi]
    pub fn on_lost(
        &self,
        #[napi(ts_arg_type = "(reason: string) => void")] callback: StringCallback,
    ) {
        self.inner.on_lost(move |reason| {
            callback.call(
                lost_reason_name(reason),
                ThreadsafeFunctionCallMode::NonBlocking,
            );
        });
    }

    /// Releases the lock (idempotent).
    #[napi]
    pub async fn release(&self) -> Result<()> {
        self.inner.release().await.map_err(to_napi)
    }
}

// ---------------------------------------------------------------------------
// Fencing

/// The header that carries a fence: `tenure-fence`.
#[napi]
pub const FENCE_HEADER: &str = tenure::FENCE_HEADER;

/// The header value of a fence, `<lock>=<token>` (odd bytes percent-encoded).
#[napi]
pub fn fence_header_value(lock: String, token: BigInt) -> Result<String> {
    let token = u64_of("token", &token)?;
    Ok(tenure::Fence::new(lock, token).header_value())
}

/// Parses a header value made by `fenceHeaderValue`.
#[napi]
pub fn parse_fence(value: String) -> Result<FenceData> {
    tenure::Fence::parse(&value)
        .map(FenceData::from)
        .map_err(to_napi)
}

/// Checks a lock name the way the server does.
#[napi]
pub fn validate_lock_name(name: String) -> Result<()> {
    tenure::validate_lock_name(&name).map_err(to_napi)
}

/// The storage side of fencing: rejects tokens lower than the highest seen.
#[napi]
pub struct NativeFenceValidator {
    inner: tenure::FenceValidator,
}

#[napi]
impl NativeFenceValidator {
    /// An empty validator.
    #[napi(constructor)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        NativeFenceValidator {
            inner: tenure::FenceValidator::new(),
        }
    }

    /// Accepts the fence if its token is at least the highest seen for its lock
    /// (and records it); otherwise throws LOCK_LOST.
    #[napi]
    pub fn check(&self, lock: String, token: BigInt) -> Result<()> {
        let token = u64_of("token", &token)?;
        self.inner
            .check(&tenure::Fence::new(lock, token))
            .map_err(to_napi)
    }

    /// Parses a header value and checks it.
    #[napi]
    pub fn check_header(&self, value: String) -> Result<FenceData> {
        self.inner
            .check_header(&value)
            .map(FenceData::from)
            .map_err(to_napi)
    }

    /// The highest token seen for `lock`, or null.
    #[napi]
    pub fn highest(&self, lock: String) -> Option<BigInt> {
        self.inner.highest(&lock).map(BigInt::from)
    }
}
