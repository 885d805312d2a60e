//! # tenure: the client core
//!
//! A client for the tenure lock service. It owns everything hard about holding a
//! distributed lock safely, so that every language binding wraps the same code:
//!
//! - **Sessions** with a background heartbeat and *client-side expiry*: a session
//!   counts as alive only until `t_send + ttl * (1 - drift) - margin` after the
//!   send time of the last acknowledged renewal, so a holder learns it lost a lock
//!   before the server can give it to anyone else. Expiry is measured on a clock
//!   that counts suspended time (CLOCK_BOOTTIME on Linux and Android), and a
//!   clock jump moves the session to Jeopardy.
//! - **Retries** with backoff and jitter across every endpoint, following the
//!   leader; every mutating call carries a request id, so a retry applies once.
//! - **Lock handles** with their fencing token, `is_held()` without network,
//!   `lost()` notification, release on drop, and cancel-safe acquires.
//! - **Fencing**: [`Fence`] (header `tenure-fence: <lock>=<token>`) and
//!   [`FenceValidator`] for the storage side.
//!
//! ```no_run
//! # async fn demo() -> tenure::Result<()> {
//! use std::time::Duration;
//! let client = tenure::Client::connect(["127.0.0.1:7100"], Default::default()).await?;
//! let lock = client.lock("jobs/nightly", Duration::from_secs(10)).await?;
//! println!("holding {} with fencing token {}", lock.name(), lock.fencing_token());
//! lock.release().await?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

// With the `uniffi` feature the records and enums below derive their Kotlin
// (uniffi) form here, once; bindings/kotlin re-exports them.
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("tenure");

mod acquire_all;
mod admin;
mod client;
mod clock;
mod conn;
mod election;
mod error;
mod fence;
mod keepalive;
mod lock;
mod metrics;
mod options;
mod releasing;
mod rt;
mod session;
mod watch;
mod work;

pub use acquire_all::MAX_ACQUIRE_ALL;
pub use admin::{
    AuditRecord, ClusterStatus, GrantInfo, HolderInfo, Leader, LockInfo, MemberInfo, PrefixMetrics,
    SessionInfo, WaiterInfo, WatchBatch, WatchEvent,
};
pub use client::{
    Client, MAX_LOCK_NAME_BYTES, MAX_LOCK_VALUE_BYTES, MAX_PERMITS, Subscription,
    validate_lock_name, validate_lock_value,
};
pub use election::{Election, Observer};
pub use error::{Error, ErrorKind, Result};
pub use fence::{FENCE_HEADER, Fence, FenceValidator};
pub use lock::{Lock, LostCallback, RevokeCallback};
pub use options::{
    AcquireOptions, ClientOptions, ENV_CA, ENV_CERT, ENV_ENDPOINTS, ENV_KEY, ENV_SERVER_NAME,
    ENV_TOKEN, LockMode, TlsOptions,
};
pub use rt::Instant;
pub use session::{LostReason, SessionState};
pub use watch::{LockChange, STALL as WATCH_STALL, Watcher};
#[cfg(not(target_arch = "wasm32"))]
pub use work::LockScope;
pub use work::Work;
