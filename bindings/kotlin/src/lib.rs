//! # tenure-ffi: the uniffi layer of the tenure client core for Kotlin/JVM
//!
//! This crate only converts types, maps errors and bridges async, a module per
//! concept (runtime, errors, options, fence, client, lock, watch, election):
//! every lock, session, retry, fencing, env, scope, watch and election rule
//! lives in the `tenure` core crate, whose records and enums (`LockInfo`,
//! `LostReason`, `Fence`, `WatchBatch`, `Leader`, `LockChange`, ...)
//! derive their uniffi form there (feature `uniffi`, Kotlin package
//! `dev.tenure.core`). The Kotlin sources generated from this crate (package
//! `dev.tenure.ffi`) are the raw layer; the idiomatic Kotlin API (package
//! `dev.tenure`, in `bindings/kotlin/src/main/kotlin`) wraps them.
//!
//! Objects the JVM's cleaner drops are cleaned up by the core on its own
//! runtime (a lock released, a session closed): this layer does nothing for it.

#![deny(missing_docs)]

mod client;
mod election;
mod errors;
mod fence;
mod lock;
mod options;
mod runtime;
mod watch;

uniffi::setup_scaffolding!();
