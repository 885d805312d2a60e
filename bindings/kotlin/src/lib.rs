//! # tenure-ffi: the uniffi layer of the tenure client core for Kotlin/JVM
//!
//! This crate only converts types, maps errors and bridges async: every lock,
//! session, retry and fencing rule lives in the `tenure` core crate. The Kotlin
//! sources generated from it (package `dev.tenure.ffi`) are the raw layer; the
//! idiomatic Kotlin API (package `dev.tenure`, in `bindings/kotlin/src/main/kotlin`)
//! wraps them.
//!
//! ## Runtime
//!
//! The core is async on tokio and has no global runtime. This crate owns one
//! multi-threaded tokio runtime (two workers, threads named `tenure-ffi`) and
//! runs every async call of the core as a task on it. An exported `async fn`
//! becomes a Kotlin `suspend fun`; its uniffi future only awaits the task. When
//! the Kotlin coroutine is cancelled, uniffi drops that future, which aborts the
//! task, which drops the core's future on the runtime: a waiting acquire is then
//! withdrawn from the server's queue by the core (its cancel guard).
//!
//! Running the core's futures on our own runtime (rather than polling them on
//! JVM threads inside `async_compat`, which is what `async_runtime = "tokio"`
//! does) gives every object a runtime context when the JVM's cleaner drops it,
//! so a session dropped without `close()` is still closed on the server, and
//! keeps JVM dispatcher threads free of tokio work.

#![deny(missing_docs)]

use std::future::Future;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use tenure::{Client, ErrorKind, Lock, LockMode, LostReason, SessionState};

uniffi::setup_scaffolding!();

// ---------------------------------------------------------------------------
// Runtime and async bridging
// ---------------------------------------------------------------------------

/// The binding's tokio runtime, started on first use.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tenure-ffi")
            .enable_all()
            .build()
            .expect("cannot start the tenure-ffi tokio runtime")
    })
}

/// A task handle that aborts the task when dropped (the Kotlin coroutine was
/// cancelled and uniffi dropped our future).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Runs `fut` as a task on the binding's runtime and waits for it; dropping the
/// returned future aborts the task.
async fn spawn<T, F>(fut: F) -> Result<T, FfiError>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    match AbortOnDrop(runtime().spawn(fut)).await {
        Ok(out) => Ok(out),
        Err(e) if e.is_panic() => Err(FfiError::Internal {
            message: "the tenure client panicked".into(),
        }),
        Err(_) => Err(FfiError::Cancelled {
            message: "the call was cancelled".into(),
        }),
    }
}

/// [`spawn`] for a fallible core call.
async fn call<T, F>(fut: F) -> Result<T, FfiError>
where
    F: Future<Output = tenure::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    spawn(fut).await?.map_err(FfiError::from)
}

/// Holds a core object and drops it inside the runtime's context, so that
/// whatever the drop starts (closing a session, releasing a lock) can be spawned
/// even when the JVM's cleaner thread drops it.
struct InRuntime<T>(ManuallyDrop<T>);

impl<T> InRuntime<T> {
    fn new(value: T) -> Self {
        InRuntime(ManuallyDrop::new(value))
    }
}

impl<T> Deref for InRuntime<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Drop for InRuntime<T> {
    fn drop(&mut self) {
        let _guard = runtime().enter();
        // SAFETY: dropped exactly once, here; never used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.0) }
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// A failed call. One variant per stable error kind of the core; the message
/// is the core's message (without the kind). The idiomatic Kotlin layer maps it
/// to `dev.tenure.TenureException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum FfiError {
    /// No server could be reached, or none could serve the call in time.
    #[error("{message}")]
    Unavailable {
        /// What happened.
        message: String,
    },
    /// The call's deadline passed (for example a waiting acquire's timeout).
    #[error("{message}")]
    Timeout {
        /// What happened.
        message: String,
    },
    /// A try-acquire found the lock held.
    #[error("{message}")]
    LockHeld {
        /// What happened.
        message: String,
    },
    /// The lock is no longer held (or a storage rejected a stale fencing token).
    #[error("{message}")]
    LockLost {
        /// What happened.
        message: String,
    },
    /// The session expired (or was closed).
    #[error("{message}")]
    SessionExpired {
        /// What happened.
        message: String,
    },
    /// The session was blacklisted by an administrator.
    #[error("{message}")]
    SessionBlacklisted {
        /// What happened.
        message: String,
    },
    /// The grant named is not current (force-release of a stale owner id).
    #[error("{message}")]
    NotHolder {
        /// What happened.
        message: String,
    },
    /// The request was malformed; nothing changed.
    #[error("{message}")]
    InvalidArgument {
        /// What happened.
        message: String,
    },
    /// The caller may not do this.
    #[error("{message}")]
    PermissionDenied {
        /// What happened.
        message: String,
    },
    /// A server limit was reached.
    #[error("{message}")]
    ResourceExhausted {
        /// What happened.
        message: String,
    },
    /// The call was cancelled.
    #[error("{message}")]
    Cancelled {
        /// What happened.
        message: String,
    },
    /// A bug or an unexpected reply.
    #[error("{message}")]
    Internal {
        /// What happened.
        message: String,
    },
}

impl From<tenure::Error> for FfiError {
    fn from(e: tenure::Error) -> Self {
        let message = e.message().to_owned();
        match e.kind() {
            ErrorKind::Unavailable => FfiError::Unavailable { message },
            ErrorKind::Timeout => FfiError::Timeout { message },
            ErrorKind::LockHeld => FfiError::LockHeld { message },
            ErrorKind::LockLost => FfiError::LockLost { message },
            ErrorKind::SessionExpired => FfiError::SessionExpired { message },
            ErrorKind::SessionBlacklisted => FfiError::SessionBlacklisted { message },
            ErrorKind::NotHolder => FfiError::NotHolder { message },
            ErrorKind::InvalidArgument => FfiError::InvalidArgument { message },
            ErrorKind::PermissionDenied => FfiError::PermissionDenied { message },
            ErrorKind::ResourceExhausted => FfiError::ResourceExhausted { message },
            ErrorKind::Cancelled => FfiError::Cancelled { message },
            ErrorKind::Internal => FfiError::Internal { message },
        }
    }
}

fn invalid(message: impl Into<String>) -> FfiError {
    FfiError::InvalidArgument {
        message: message.into(),
    }
}

/// The stable code of every error kind (for example `LOCK_HELD`), in the order
/// of the [`FfiError`] variants, as the core names them.
#[uniffi::export]
pub fn error_codes() -> Vec<String> {
    ErrorKind::ALL
        .into_iter()
        .map(|k| k.code().to_owned())
        .collect()
}

// ---------------------------------------------------------------------------
// Numbers: the wire has u64; Kotlin/Java get Long (i64).
// ---------------------------------------------------------------------------

/// u64 to i64 (tokens, ids and times are far below 2^63; saturates otherwise).
fn long(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn unsigned(v: i64, what: &str) -> Result<u64, FfiError> {
    u64::try_from(v).map_err(|_| invalid(format!("{what} must not be negative, got {v}")))
}

// ---------------------------------------------------------------------------
// Enums (the core's own types)
// ---------------------------------------------------------------------------

/// Lock mode.
#[uniffi::remote(Enum)]
pub enum LockMode {
    /// One holder at a time.
    Exclusive,
    /// Many shared holders, no exclusive one.
    Shared,
}

/// Why a lock stopped being held.
#[uniffi::remote(Enum)]
pub enum LostReason {
    /// Released by its holder.
    Released,
    /// The session expired (locally or on the server).
    SessionExpired,
    /// The session was blacklisted.
    SessionBlacklisted,
    /// An administrator force-released this grant.
    ForceReleased,
    /// The client was closed.
    ClientClosed,
}

/// Health of a session, as the client sees it.
#[uniffi::remote(Enum)]
pub enum SessionState {
    /// The last renewal succeeded.
    Healthy,
    /// Renewals are failing but the local expiry has not passed: locks are still
    /// held; the client keeps retrying every endpoint.
    Jeopardy,
    /// The local expiry passed, or the server said the session expired or is
    /// blacklisted. Final for that session: every lock of it is lost.
    Expired,
}

/// The core's text for a lost reason (for example `session expired`).
#[uniffi::export]
pub fn lost_reason_text(reason: LostReason) -> String {
    reason.to_string()
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

/// TLS settings of a client (paths of PEM files).
#[derive(Debug, Clone, uniffi::Record)]
pub struct FfiTlsOptions {
    /// PEM file of the CA that signed the servers' certificates.
    pub ca_file: Option<String>,
    /// PEM client certificate (for mutual TLS).
    pub cert_file: Option<String>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<String>,
    /// Name to verify in the server certificate, if not the endpoint's host.
    pub server_name: Option<String>,
}

/// How a client connects and keeps its session (the core's `ClientOptions`).
#[derive(Debug, Clone, uniffi::Record)]
pub struct FfiClientOptions {
    /// Session time-to-live.
    pub ttl: Duration,
    /// Keepalive interval; None means `ttl / 3`.
    pub keepalive_interval: Option<Duration>,
    /// Bound on the combined clock-rate error of client and server (fraction).
    pub drift: f64,
    /// Safety margin subtracted from the local expiry.
    pub margin: Duration,
    /// Deadline of one API call, retries included.
    pub call_timeout: Duration,
    /// Timeout of one attempt at one server.
    pub attempt_timeout: Duration,
    /// First retry backoff.
    pub initial_backoff: Duration,
    /// Largest retry backoff.
    pub max_backoff: Duration,
    /// Label of the session; None means `host:pid`.
    pub label: Option<String>,
    /// TLS settings; None connects in plain text.
    pub tls: Option<FfiTlsOptions>,
    /// Bearer token sent with every request.
    pub token: Option<String>,
}

impl From<tenure::ClientOptions> for FfiClientOptions {
    fn from(o: tenure::ClientOptions) -> Self {
        let path = |p: Option<std::path::PathBuf>| p.map(|p| p.to_string_lossy().into_owned());
        FfiClientOptions {
            ttl: o.ttl,
            keepalive_interval: o.keepalive_interval,
            drift: o.drift,
            margin: o.margin,
            call_timeout: o.call_timeout,
            attempt_timeout: o.attempt_timeout,
            initial_backoff: o.initial_backoff,
            max_backoff: o.max_backoff,
            label: o.label,
            tls: o.tls.map(|t| FfiTlsOptions {
                ca_file: path(t.ca_file),
                cert_file: path(t.cert_file),
                key_file: path(t.key_file),
                server_name: t.server_name,
            }),
            token: o.token,
        }
    }
}

impl From<FfiClientOptions> for tenure::ClientOptions {
    fn from(o: FfiClientOptions) -> Self {
        tenure::ClientOptions {
            ttl: o.ttl,
            keepalive_interval: o.keepalive_interval,
            drift: o.drift,
            margin: o.margin,
            call_timeout: o.call_timeout,
            attempt_timeout: o.attempt_timeout,
            initial_backoff: o.initial_backoff,
            max_backoff: o.max_backoff,
            label: o.label,
            tls: o.tls.map(|t| tenure::TlsOptions {
                ca_file: t.ca_file.map(Into::into),
                cert_file: t.cert_file.map(Into::into),
                key_file: t.key_file.map(Into::into),
                server_name: t.server_name,
            }),
            token: o.token,
            ..tenure::ClientOptions::default()
        }
    }
}

/// The core's default client options.
#[uniffi::export]
pub fn default_client_options() -> FfiClientOptions {
    tenure::ClientOptions::default().into()
}

/// `options` with unset TLS and token settings filled from the environment
/// (`TENURE_CA`, `TENURE_CERT`, `TENURE_KEY`, `TENURE_SERVER_NAME`, `TENURE_TOKEN`).
#[uniffi::export]
pub fn client_options_with_env(options: FfiClientOptions) -> FfiClientOptions {
    tenure::ClientOptions::from(options).with_env().into()
}

/// Checks client options for consistency, as `connect` does.
#[uniffi::export]
pub fn validate_client_options(options: FfiClientOptions) -> Result<(), FfiError> {
    Ok(tenure::ClientOptions::from(options).validate()?)
}

/// How to acquire a lock.
#[derive(Debug, Clone, uniffi::Record)]
pub struct FfiAcquireOptions {
    /// Exclusive or shared.
    pub mode: LockMode,
    /// Wait up to this long in the server's FIFO queue; None tries once.
    pub wait: Option<Duration>,
    /// Lock-delay after this grant's session expires.
    pub lock_delay: Duration,
}

impl From<FfiAcquireOptions> for tenure::AcquireOptions {
    fn from(o: FfiAcquireOptions) -> Self {
        tenure::AcquireOptions {
            mode: o.mode,
            wait: o.wait,
            lock_delay: o.lock_delay,
        }
    }
}

/// Checks a lock name the way the server does.
#[uniffi::export]
pub fn validate_lock_name(name: String) -> Result<(), FfiError> {
    Ok(tenure::validate_lock_name(&name)?)
}

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------

/// A current grant of a lock.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HolderInfo {
    /// Session holding it.
    pub session_id: i64,
    /// Fencing token.
    pub token: i64,
    /// Owner id (32 hex digits).
    pub owner_id: String,
    /// Mode.
    pub mode: LockMode,
    /// When it was granted (Unix ms, leader clock).
    pub granted_at_ms: i64,
}

/// A queued acquire.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct WaiterInfo {
    /// Session waiting.
    pub session_id: i64,
    /// Its request id.
    pub request_id: i64,
    /// Mode.
    pub mode: LockMode,
    /// When the wait times out (Unix ms, leader clock).
    pub deadline_ms: i64,
}

/// A lock's holders and waiters.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LockInfo {
    /// Name.
    pub name: String,
    /// Current grants.
    pub holders: Vec<HolderInfo>,
    /// FIFO queue of waiting acquires.
    pub waiters: Vec<WaiterInfo>,
    /// No grant before this time (Unix ms), 0 if no lock-delay.
    pub delayed_until_ms: i64,
}

impl From<tenure::LockInfo> for LockInfo {
    fn from(l: tenure::LockInfo) -> Self {
        LockInfo {
            name: l.name,
            holders: l
                .holders
                .into_iter()
                .map(|h| HolderInfo {
                    session_id: long(h.session_id),
                    token: long(h.token),
                    owner_id: h.owner_id,
                    mode: h.mode,
                    granted_at_ms: long(h.granted_at_ms),
                })
                .collect(),
            waiters: l
                .waiters
                .into_iter()
                .map(|w| WaiterInfo {
                    session_id: long(w.session_id),
                    request_id: long(w.request_id),
                    mode: w.mode,
                    deadline_ms: long(w.deadline_ms),
                })
                .collect(),
            delayed_until_ms: long(l.delayed_until_ms),
        }
    }
}

/// A session as the server knows it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SessionInfo {
    /// Id.
    pub session_id: i64,
    /// TTL.
    pub ttl: Duration,
    /// Label given by its client.
    pub label: String,
    /// Blacklisted (expires at its deadline, never renewed).
    pub blacklisted: bool,
    /// Names of the locks held.
    pub held: Vec<String>,
    /// Acquires waiting.
    pub waiting: i64,
    /// The leader's view of the time left.
    pub remaining: Duration,
}

impl From<tenure::SessionInfo> for SessionInfo {
    fn from(s: tenure::SessionInfo) -> Self {
        SessionInfo {
            session_id: long(s.session_id),
            ttl: s.ttl,
            label: s.label,
            blacklisted: s.blacklisted,
            held: s.held,
            waiting: i64::from(s.waiting),
            remaining: s.remaining,
        }
    }
}

/// A cluster member.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MemberInfo {
    /// Node id.
    pub id: i64,
    /// Address.
    pub addr: String,
    /// Last log index it is known to hold (reported by the leader only).
    pub matched_index: i64,
}

/// One node's view of the cluster.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClusterStatus {
    /// The node that answered.
    pub node_id: i64,
    /// Its role: leader, follower, candidate, learner.
    pub role: String,
    /// Current term.
    pub term: i64,
    /// The leader's id, if known.
    pub leader_id: Option<i64>,
    /// The leader's address, if known.
    pub leader_addr: Option<String>,
    /// Members.
    pub members: Vec<MemberInfo>,
    /// Last log index on this node.
    pub last_log_index: i64,
    /// Last committed index this node knows.
    pub commit_index: i64,
    /// Last applied index.
    pub applied_index: i64,
    /// Live sessions.
    pub sessions: i64,
    /// Locks with holders or waiters.
    pub locks: i64,
    /// The fencing token the next grant will get.
    pub next_token: i64,
}

impl From<tenure::ClusterStatus> for ClusterStatus {
    fn from(s: tenure::ClusterStatus) -> Self {
        ClusterStatus {
            node_id: long(s.node_id),
            role: s.role,
            term: long(s.term),
            leader_id: s.leader_id.map(long),
            leader_addr: s.leader_addr,
            members: s
                .members
                .into_iter()
                .map(|m| MemberInfo {
                    id: long(m.id),
                    addr: m.addr,
                    matched_index: long(m.matched_index),
                })
                .collect(),
            last_log_index: long(s.last_log_index),
            commit_index: long(s.commit_index),
            applied_index: long(s.applied_index),
            sessions: long(s.sessions),
            locks: long(s.locks),
            next_token: long(s.next_token),
        }
    }
}

/// An admin action on record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AuditRecord {
    /// When (Unix ms, leader clock).
    pub at_ms: i64,
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
            at_ms: long(r.at_ms),
            action: r.action,
            principal: r.principal,
            target: r.target,
            detail: r.detail,
        }
    }
}

/// A grant handed out by a force-release.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct GrantInfo {
    /// Lock name.
    pub name: String,
    /// Fencing token.
    pub token: i64,
    /// Owner id.
    pub owner_id: String,
    /// Session that got it.
    pub session_id: i64,
}

impl From<tenure::GrantInfo> for GrantInfo {
    fn from(g: tenure::GrantInfo) -> Self {
        GrantInfo {
            name: g.name,
            token: long(g.token),
            owner_id: g.owner_id,
            session_id: long(g.session_id),
        }
    }
}

// ---------------------------------------------------------------------------
// Fences
// ---------------------------------------------------------------------------

/// A lock name and a fencing token.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct FfiFence {
    /// The lock (resource) name.
    pub lock: String,
    /// The fencing token of the grant.
    pub token: i64,
}

impl From<tenure::Fence> for FfiFence {
    fn from(f: tenure::Fence) -> Self {
        FfiFence {
            lock: f.lock,
            token: long(f.token),
        }
    }
}

impl TryFrom<FfiFence> for tenure::Fence {
    type Error = FfiError;
    fn try_from(f: FfiFence) -> Result<Self, FfiError> {
        Ok(tenure::Fence::new(
            f.lock,
            unsigned(f.token, "a fencing token")?,
        ))
    }
}

/// The header that carries a fence (`tenure-fence`).
#[uniffi::export]
pub fn fence_header_name() -> String {
    tenure::FENCE_HEADER.to_owned()
}

/// The header value of a fence, `<lock>=<token>` (name percent-encoded).
#[uniffi::export]
pub fn fence_header_value(fence: FfiFence) -> Result<String, FfiError> {
    Ok(tenure::Fence::try_from(fence)?.header_value())
}

/// Parses a header value made by [`fence_header_value`].
#[uniffi::export]
pub fn fence_parse(value: String) -> Result<FfiFence, FfiError> {
    Ok(tenure::Fence::parse(&value)?.into())
}

/// The storage side of fencing: remembers the highest token seen per resource
/// and rejects writes carrying a lower one. Equal tokens pass.
#[derive(uniffi::Object)]
pub struct FfiFenceValidator {
    inner: tenure::FenceValidator,
}

#[uniffi::export]
impl FfiFenceValidator {
    /// An empty validator.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(FfiFenceValidator {
            inner: tenure::FenceValidator::new(),
        })
    }

    /// Accepts `fence` if its token is at least the highest seen for its lock
    /// (and records it); otherwise fails with `LockLost`.
    pub fn check(&self, fence: FfiFence) -> Result<(), FfiError> {
        Ok(self.inner.check(&fence.try_into()?)?)
    }

    /// Parses a header value and checks it.
    pub fn check_header(&self, value: String) -> Result<FfiFence, FfiError> {
        Ok(self.inner.check_header(&value)?.into())
    }

    /// The highest token seen for `lock`.
    pub fn highest(&self, lock: String) -> Option<i64> {
        self.inner.highest(&lock).map(long)
    }
}

// ---------------------------------------------------------------------------
// Callbacks implemented in Kotlin
// ---------------------------------------------------------------------------

/// Told once when a lock is lost or released. Called on a runtime thread of the
/// binding: return quickly.
#[uniffi::export(foreign)]
pub trait LostListener: Send + Sync {
    /// The lock is no longer held, for `reason`.
    fn on_lost(&self, reason: LostReason);
}

/// Told every change of a client's session state. Called on a runtime thread
/// of the binding: return quickly.
#[uniffi::export(foreign)]
pub trait SessionStateListener: Send + Sync {
    /// The session state is now `state`.
    fn on_state(&self, state: SessionState);
}

/// A running callback registration; `cancel()` (or dropping it) ends it.
#[derive(uniffi::Object)]
pub struct FfiSubscription {
    inner: Mutex<Option<tenure::Subscription>>,
}

#[uniffi::export]
impl FfiSubscription {
    /// Ends the registration (idempotent).
    pub fn cancel(&self) {
        let taken = self.inner.lock().map(|mut s| s.take()).unwrap_or(None);
        drop(taken);
    }
}

// ---------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------

/// A connection to a tenure cluster with its session.
#[derive(uniffi::Object)]
pub struct FfiClient {
    inner: InRuntime<Client>,
}

fn client(c: Client) -> Arc<FfiClient> {
    Arc::new(FfiClient {
        inner: InRuntime::new(c),
    })
}

/// Connects to the cluster at `endpoints` (any members; `host:port`, or one
/// comma-separated string) and opens a session.
#[uniffi::export]
pub async fn connect(
    endpoints: Vec<String>,
    options: FfiClientOptions,
) -> Result<Arc<FfiClient>, FfiError> {
    let options = tenure::ClientOptions::from(options);
    let c = call(async move { Client::connect(endpoints, options).await }).await?;
    Ok(client(c))
}

/// Like [`connect`], but opens no session until the first acquire (for admin
/// tools that only read or administer).
#[uniffi::export]
pub fn connect_lazy(
    endpoints: Vec<String>,
    options: FfiClientOptions,
) -> Result<Arc<FfiClient>, FfiError> {
    let _guard = runtime().enter();
    let c = Client::connect_lazy(endpoints, options.into())?;
    Ok(client(c))
}

#[uniffi::export]
impl FfiClient {
    /// Acquires `name`. With `options.wait`, waits in the server's FIFO queue up
    /// to that long; without, fails at once with `LockHeld` if it is taken.
    /// Cancel-safe: dropping the future withdraws a waiting acquire.
    pub async fn acquire(
        &self,
        name: String,
        options: FfiAcquireOptions,
    ) -> Result<FfiAcquired, FfiError> {
        let c = Client::clone(&self.inner);
        let options = tenure::AcquireOptions::from(options);
        let lock = call(async move { c.acquire(&name, options).await }).await?;
        Ok(FfiAcquired::new(lock))
    }

    /// The current session's id, if one is open.
    pub async fn session_id(&self) -> Option<i64> {
        let c = Client::clone(&self.inner);
        spawn(async move { c.session_id().await })
            .await
            .ok()
            .flatten()
            .map(long)
    }

    /// The current session's state (Expired when there is none).
    pub fn session_state(&self) -> SessionState {
        self.inner.session_state()
    }

    /// Calls `listener` with every change of the session state until the
    /// returned subscription is cancelled.
    pub fn on_session_state(
        &self,
        listener: Arc<dyn SessionStateListener>,
    ) -> Arc<FfiSubscription> {
        let _guard = runtime().enter();
        let sub = self.inner.on_session_state(move |s| listener.on_state(s));
        Arc::new(FfiSubscription {
            inner: Mutex::new(Some(sub)),
        })
    }

    /// Admin: frees `name` only if `owner_id` still holds it (compare-and-swap),
    /// handing it to the next waiter at once. Returns the grants made.
    pub async fn force_release(
        &self,
        name: String,
        owner_id: String,
        reason: String,
    ) -> Result<Vec<GrantInfo>, FfiError> {
        let c = Client::clone(&self.inner);
        let grants = call(async move { c.force_release(&name, &owner_id, &reason).await }).await?;
        Ok(grants.into_iter().map(Into::into).collect())
    }

    /// Admin: blacklists a session: it is never renewed again and expires at its
    /// current deadline. Returns the time left until then (leader's view).
    pub async fn blacklist(&self, session_id: i64, reason: String) -> Result<Duration, FfiError> {
        let id = unsigned(session_id, "a session id")?;
        let c = Client::clone(&self.inner);
        call(async move { c.blacklist(id, &reason).await }).await
    }

    /// Reads one lock (None if nobody holds or waits for it).
    pub async fn describe(&self, name: String) -> Result<Option<LockInfo>, FfiError> {
        let c = Client::clone(&self.inner);
        Ok(call(async move { c.describe(&name).await })
            .await?
            .map(Into::into))
    }

    /// Lists locks whose names start with `prefix` (all pages).
    pub async fn list_locks(&self, prefix: String) -> Result<Vec<LockInfo>, FfiError> {
        let c = Client::clone(&self.inner);
        let locks = call(async move { c.list_locks(&prefix).await }).await?;
        Ok(locks.into_iter().map(Into::into).collect())
    }

    /// Lists sessions (all pages).
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>, FfiError> {
        let c = Client::clone(&self.inner);
        let sessions = call(async move { c.list_sessions().await }).await?;
        Ok(sessions.into_iter().map(Into::into).collect())
    }

    /// The cluster status as the leader (or any reachable node) sees it.
    pub async fn status(&self) -> Result<ClusterStatus, FfiError> {
        let c = Client::clone(&self.inner);
        Ok(call(async move { c.status().await }).await?.into())
    }

    /// The status as one particular node sees it.
    pub async fn node_status(&self, endpoint: String) -> Result<ClusterStatus, FfiError> {
        let c = Client::clone(&self.inner);
        Ok(call(async move { c.node_status(&endpoint).await })
            .await?
            .into())
    }

    /// The most recent admin actions (oldest first), at most `limit`.
    pub async fn audit(&self, limit: i32) -> Result<Vec<AuditRecord>, FfiError> {
        let limit = u32::try_from(limit).map_err(|_| invalid("limit must not be negative"))?;
        let c = Client::clone(&self.inner);
        let records = call(async move { c.audit(limit).await }).await?;
        Ok(records.into_iter().map(Into::into).collect())
    }

    /// The endpoints this client was given.
    pub fn endpoints(&self) -> Vec<String> {
        self.inner.endpoints()
    }

    /// Closes the session (its locks pass on at once) and marks its locks lost.
    /// A later acquire opens a fresh session.
    pub async fn close_session(&self) -> Result<(), FfiError> {
        let c = Client::clone(&self.inner);
        call(async move { c.close().await }).await
    }
}

// ---------------------------------------------------------------------------
// Lock
// ---------------------------------------------------------------------------

/// What `acquire` returns: the lock and its fixed properties, in one answer.
/// Every call from the JVM allocates JNA structures for its status; reading the
/// five properties through five calls cost more than the rest of an acquire.
#[derive(uniffi::Record)]
pub struct FfiAcquired {
    /// The held lock.
    pub lock: Arc<FfiLock>,
    /// Its name.
    pub name: String,
    /// The fencing token of this grant.
    pub fencing_token: i64,
    /// The owner id of this grant (for force-release).
    pub owner_id: String,
    /// Exclusive or shared.
    pub mode: LockMode,
    /// The session holding it.
    pub session_id: i64,
}

impl FfiAcquired {
    fn new(lock: Lock) -> Self {
        FfiAcquired {
            name: lock.name().to_owned(),
            fencing_token: long(lock.fencing_token()),
            owner_id: lock.owner_id(),
            mode: lock.mode(),
            session_id: long(lock.session_id()),
            lock: Arc::new(FfiLock {
                inner: InRuntime::new(lock),
            }),
        }
    }
}

/// A held lock. Dropping the last reference without `release()` releases it in
/// the background.
#[derive(uniffi::Object)]
pub struct FfiLock {
    inner: InRuntime<Lock>,
}

#[uniffi::export]
impl FfiLock {
    /// Whether the lock is still held, judged locally (no network).
    pub fn is_held(&self) -> bool {
        self.inner.is_held()
    }

    /// How long the lock is certainly held without a further renewal (zero once lost).
    pub fn remaining(&self) -> Duration {
        self.inner.remaining()
    }

    /// Why the lock is no longer held, if it is not.
    pub fn lost_reason(&self) -> Option<LostReason> {
        self.inner.lost_reason()
    }

    /// Resolves when the lock is lost or released, with the reason (at the
    /// local expiry at the latest, even without any renewal answer).
    pub async fn lost(&self) -> Result<LostReason, FfiError> {
        let l = Lock::clone(&self.inner);
        spawn(async move { l.lost().await }).await
    }

    /// Calls `listener` once when the lock is lost or released (at once if it
    /// already is).
    pub fn on_lost(&self, listener: Arc<dyn LostListener>) {
        let _guard = runtime().enter();
        self.inner.on_lost(move |reason| listener.on_lost(reason));
    }

    /// Releases the lock. Idempotent: releasing a released or lost lock is Ok.
    pub async fn release(&self) -> Result<(), FfiError> {
        let l = Lock::clone(&self.inner);
        call(async move { l.release().await }).await
    }
}
