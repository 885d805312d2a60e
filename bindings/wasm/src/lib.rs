//! # tenure-wasm: the WebAssembly layer of the tenure client
//!
//! A thin wasm-bindgen layer over the Rust client core (crate `tenure`), a
//! module per concept like the Node binding: errors, options, records, fence,
//! client, lock, watch, election. It converts types, maps errors and bridges
//! promises; every piece of lock logic (sessions, heartbeats, client-side
//! expiry with the safety margin, retries, fencing, with-lock, what a scope
//! exit reports, watch resumes, who leads) stays in the core, which on
//! `wasm32-unknown-unknown` speaks gRPC-web over the host's `fetch` (a watch
//! is a server-streaming call: its response body is read as it arrives),
//! renews with unary `Renew` calls and runs its timers on the host's
//! `setTimeout`.
//!
//! The JavaScript layer (`index.js`) is the public API; this layer is not
//! meant to be used directly. Conventions it relies on:
//!
//! - Every core error is thrown as a JS `Error` named `TenureNativeError`, with
//!   the stable kind code as `code` and as the message prefix
//!   (`"LOCK_HELD: lock \"x\" is held"`). The wrapper turns it into the
//!   matching `TenureError` subclass, built from [`errors::error_kinds`].
//! - Durations are milliseconds (`number`); fencing tokens are `bigint` (u64,
//!   never rounded); other counters (session ids, indexes) are `number`.
//! - Records and options are plain JS objects; their TypeScript declarations
//!   are generated from the Rust types (tsify), the records' from the core's
//!   table (`tenure::admin_records!`).
//!
//! Natively the crate is empty: it is built for `wasm32-unknown-unknown` only.

#![deny(missing_docs)]
#![cfg(target_arch = "wasm32")]

pub mod client;
pub mod election;
pub mod errors;
pub mod fence;
pub mod lock;
pub mod options;
pub mod records;
pub mod watch;

/// Runs when the module is instantiated: Rust panics go to `console.error`
/// with their message (a panic is a bug; without the hook the host sees only
/// "unreachable executed").
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
