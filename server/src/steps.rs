//! Step timestamps for the latency breakdown (docs/benchmarks/profiling.md):
//! when `TENURE_STEP_TRACE=FILE` is set, each hand-off of an operation that this
//! node sees appends `step key mono_ns` to FILE (the machine's CLOCK_MONOTONIC,
//! one clock for every process on it); `tenure-bench breakdown` lines them up.
//! Off (one relaxed load per step) unless the variable is set.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::Mutex;

/// The environment variable naming the trace file.
pub const ENV: &str = "TENURE_STEP_TRACE";

struct Trace {
    buffer: Mutex<Vec<u8>>,
}

fn trace() -> Option<&'static Trace> {
    static TRACE: OnceLock<Option<Trace>> = OnceLock::new();
    TRACE
        .get_or_init(|| {
            let path = std::env::var_os(ENV)?;
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .ok()?;
            // Flushed from its own thread, so a step costs no system call.
            std::thread::Builder::new()
                .name("step-trace".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_millis(100));
                        if let Some(t) = trace() {
                            let out = std::mem::take(&mut *t.buffer.lock());
                            let _ = file.write_all(&out);
                        }
                    }
                })
                .ok()?;
            Some(Trace {
                buffer: Mutex::new(Vec::with_capacity(1 << 20)),
            })
        })
        .as_ref()
}

/// Nanoseconds on CLOCK_MONOTONIC.
pub fn mono_ns() -> u64 {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| (t.tv_sec() as u64).saturating_mul(1_000_000_000) + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Records that step `name` happened now for `key` (a log index, or 0).
pub fn step(name: &'static str, key: u64) {
    if let Some(t) = trace() {
        let line = format!("{name} {key} {}\n", mono_ns());
        t.buffer.lock().extend_from_slice(line.as_bytes());
    }
}

/// Whether steps are being recorded.
pub fn enabled() -> bool {
    trace().is_some()
}

/// Records `{name}.begin` now and `{name}.end` when dropped.
pub struct Span {
    end: &'static str,
    key: u64,
}

impl Span {
    /// Starts a span; `begin` and `end` are the two step names.
    pub fn new(begin: &'static str, end: &'static str, key: u64) -> Span {
        step(begin, key);
        Span { end, key }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        step(self.end, self.key);
    }
}
