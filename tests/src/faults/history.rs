//! The history a fault run records: one JSON line per event, all times in
//! nanoseconds of the machine's monotonic clock (shared by every process).

use serde::{Deserialize, Serialize};

/// Nanoseconds on CLOCK_MONOTONIC (the same clock in every process).
pub fn mono_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// A monotonic instant (tokio's clock) as `mono_ns`.
pub fn instant_ns(at: tokio::time::Instant) -> u64 {
    let now = tokio::time::Instant::now();
    let base = mono_ns();
    if at >= now {
        base + (at - now).as_nanos() as u64
    } else {
        base.saturating_sub((now - at).as_nanos() as u64)
    }
}

/// One recorded event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Event {
    /// An acquire completed (ok or not).
    Acquire {
        worker: u32,
        lock: String,
        invoke: u64,
        complete: u64,
        ok: bool,
        token: u64,
        session: u64,
        error: Option<String>,
    },
    /// A grant held and let go: the client's belief interval [grant, belief_end].
    Hold {
        worker: u32,
        lock: String,
        token: u64,
        session: u64,
        grant: u64,
        belief_end: u64,
        lost: Option<String>,
    },
    /// A fenced write to the store.
    Write {
        worker: u32,
        lock: String,
        token: u64,
        at: u64,
        accepted: bool,
    },
    /// A release completed.
    Release {
        worker: u32,
        lock: String,
        token: u64,
        invoke: u64,
        complete: u64,
        ok: bool,
    },
    /// The worker's session ended (expired, blacklisted) while it ran.
    SessionLost {
        worker: u32,
        /// The worker process the client runs in (the target of client faults).
        #[serde(default)]
        process: u32,
        session: u64,
        at: u64,
        reason: String,
        /// The server ended it while the client still counted it alive (its
        /// local expiry had not passed); otherwise renewals failed for a TTL.
        early: bool,
    },
    /// The client closed its session at the end of the run.
    Closed {
        worker: u32,
        session: u64,
        error: Option<String>,
    },
    /// A fault, from its start to its end.
    Fault {
        kind: String,
        target: String,
        start: u64,
        end: u64,
    },
}

impl Event {
    /// The session the event is about, if it names one.
    pub fn session(&self) -> Option<u64> {
        match self {
            Event::Acquire { session, .. }
            | Event::Hold { session, .. }
            | Event::SessionLost { session, .. }
            | Event::Closed { session, .. } => Some(*session),
            _ => None,
        }
    }
}
