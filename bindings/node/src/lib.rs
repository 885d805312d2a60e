//! # tenure-node: the native layer of the Node.js binding
//!
//! A thin napi-rs layer over the Rust client core (crate `tenure`), a module
//! per concept: errors, options, records, fence, client, lock, watch,
//! election. It converts types, maps errors and bridges async; every piece of
//! lock logic (sessions, heartbeats, client-side expiry, retries, fencing,
//! run-under-lock, the env policy, what a scope exit reports, watch resumes,
//! who leads) stays in the core.
//!
//! The JavaScript wrapper (`index.js`) is the public API; this layer is not meant
//! to be used directly. Conventions it relies on:
//!
//! - Every core error is thrown as a napi error whose message starts with the
//!   stable kind code: `"LOCK_HELD: lock \"x\" is held"`. The wrapper turns it
//!   into the matching `TenureError` subclass, built from [`errors::error_kinds`].
//! - Durations are milliseconds (`number`); fencing tokens are `bigint` (u64,
//!   never rounded); other counters (session ids, indexes) are `number`.
//! - Callbacks are weak thread-safe functions: they never keep the process alive.
//! - Objects the garbage collector drops are cleaned up by the core on its own
//!   runtime (a lock is released, a session closed): nothing to do here.

#![deny(missing_docs)]

pub mod client;
pub mod election;
pub mod errors;
pub mod fence;
pub mod lock;
pub mod options;
pub mod records;
pub mod watch;
