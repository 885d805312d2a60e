//! The history a fault run records: one JSON line per event, all times in
//! nanoseconds of the machine's monotonic clock (shared by every process).

use serde::{Deserialize, Serialize};

/// Nanoseconds on the machine's real CLOCK_MONOTONIC (the same clock in every
/// process). Read by a raw system call: libfaketime, which skews the clocks of
/// a drifting process, wraps only the C library's call, so a drifting worker
/// still stamps its history on the real clock.
pub fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::syscall(libc::SYS_clock_gettime, libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// An instant of this process's (possibly drifting) tokio clock as `mono_ns`:
/// a distance on a clock running at `rate` is `1 / rate` of it in real time.
pub fn instant_ns(at: tokio::time::Instant, rate: f64) -> u64 {
    let now = tokio::time::Instant::now();
    let base = mono_ns();
    let real = |d: std::time::Duration| (d.as_nanos() as f64 / rate) as u64;
    if at >= now {
        base + real(at - now)
    } else {
        base.saturating_sub(real(now - at))
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
        /// The semaphore's number of permits, 0 for a lock.
        #[serde(default)]
        permits_of: u32,
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
        /// The semaphore's number of permits (each hold takes one), 0 for a lock.
        #[serde(default)]
        permits_of: u32,
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
    /// An election observer's answer: the leader's token (0: nobody leads).
    Observed {
        /// The worker process observing.
        worker: u32,
        at: u64,
        token: u64,
        session: u64,
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
