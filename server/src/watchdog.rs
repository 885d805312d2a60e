//! Watchdogs that stop a node which can no longer make progress, so a
//! supervisor restarts it and clients move on (DESIGN "Faults of the node
//! itself"): a liveness check of the async runtime, and (in test and debug
//! builds with the `deadlock-detection` feature) parking_lot's lock-cycle
//! detector.
//!
//! Both run on their own OS threads: a wedged runtime cannot stop them.

use openraft::async_runtime::watch::WatchReceiver;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::controls::{self, Control};

/// Exit status of a node whose runtime stopped making progress.
pub const EXIT_STALLED: i32 = 70;
/// Exit status of a process whose threads deadlocked on locks.
pub const EXIT_DEADLOCK: i32 = 71;

/// How often the runtime's heartbeat task beats and the watchdog looks.
const TICK: Duration = Duration::from_millis(50);

/// Starts the liveness watchdog of the runtime behind `runtime`: if a task on
/// it is not scheduled for `stall_limit`, the process logs it and exits with
/// [`EXIT_STALLED`].
///
/// Only time during which the watchdog thread itself ran on schedule counts,
/// so a process that is stopped (SIGSTOP) or starved of CPU as a whole is not
/// mistaken for a wedged runtime.
pub fn start_liveness(runtime: &tokio::runtime::Handle, stall_limit: Duration) {
    let beats = Arc::new(AtomicU64::new(0));
    let task_beats = beats.clone();
    runtime.spawn(async move {
        loop {
            task_beats.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(TICK).await;
        }
    });
    let spawned = std::thread::Builder::new()
        .name("tenure-liveness".into())
        .spawn(move || watch_liveness(&beats, stall_limit));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the liveness watchdog");
    }
}

fn watch_liveness(beats: &AtomicU64, stall_limit: Duration) {
    let mut seen = beats.load(Ordering::Relaxed);
    let mut stalled = Duration::ZERO;
    let mut last = Instant::now();
    loop {
        std::thread::sleep(TICK);
        let now = Instant::now();
        // A late wake-up of this thread means the whole process was held up.
        let slept = now.duration_since(last).min(TICK * 4);
        last = now;
        let current = beats.load(Ordering::Relaxed);
        if current != seen {
            seen = current;
            stalled = Duration::ZERO;
            continue;
        }
        stalled += slept;
        if stalled >= stall_limit {
            tracing::error!(
                stalled_ms = stalled.as_millis() as u64,
                "the async runtime made no progress; exiting so a supervisor restarts this node"
            );
            std::process::exit(EXIT_STALLED);
        }
    }
}

/// Starts parking_lot's deadlock detector when the build has it: every 200 ms it
/// looks for a cycle of threads blocked on each other's locks and, on finding
/// one, logs every thread of it with its backtrace and exits with
/// [`EXIT_DEADLOCK`]. Without the `deadlock-detection` feature it does nothing.
pub fn start_deadlock_detector() {
    #[cfg(feature = "deadlock-detection")]
    {
        let spawned = std::thread::Builder::new()
            .name("tenure-deadlocks".into())
            .spawn(|| {
                loop {
                    std::thread::sleep(Duration::from_millis(200));
                    let cycles = parking_lot::deadlock::check_deadlock();
                    if cycles.is_empty() {
                        continue;
                    }
                    for (i, cycle) in cycles.iter().enumerate() {
                        for thread in cycle {
                            tracing::error!(
                                cycle = i,
                                thread = ?thread.thread_id(),
                                backtrace = ?thread.backtrace(),
                                "deadlock detected"
                            );
                        }
                    }
                    eprintln!(
                        "tenure: deadlock detected ({} cycles); exiting",
                        cycles.len()
                    );
                    std::process::exit(EXIT_DEADLOCK);
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the deadlock detector");
        }
    }
}

/// Negative control [`Control::WedgeOnSigusr1`]: on SIGUSR1, block every worker
/// thread of the runtime (as a deadlock among them would).
pub fn arm_wedge_control(runtime: &tokio::runtime::Handle) {
    if !controls::active(Control::WedgeOnSigusr1) {
        return;
    }
    let handle = runtime.clone();
    runtime.spawn(async move {
        let Ok(mut usr1) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        else {
            return;
        };
        if usr1.recv().await.is_some() {
            tracing::warn!("negative control: wedging every runtime worker thread");
            let workers = handle.metrics().num_workers();
            for _ in 0..workers * 4 {
                handle.spawn(async { std::thread::sleep(Duration::from_secs(3_600)) });
            }
            std::thread::sleep(Duration::from_secs(3_600));
        }
    });
}

/// Exit status of a node whose Raft core stopped with a fatal error.
pub const EXIT_RAFT_FATAL: i32 = 75;
/// Exit status of a node in which a thread or task panicked.
pub const EXIT_PANIC: i32 = 101;

/// Makes any panic, on any thread or task, end the process with [`EXIT_PANIC`]
/// after logging it. tokio would otherwise catch a task's panic and leave the
/// node running without that task: a silent zombie that may hold leadership.
pub fn exit_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default(info);
        tracing::error!(panic = %info, "a thread or task panicked; exiting");
        std::process::exit(EXIT_PANIC);
    }));
}

/// Ends the process with [`EXIT_RAFT_FATAL`] when openraft stops with a fatal
/// error (a storage error, a panic in its core) while the node is not being
/// shut down on purpose; openraft itself would only stop serving.
pub async fn exit_on_raft_fatal(raft: crate::raft::Raft, stop: tokio::sync::watch::Receiver<bool>) {
    let mut metrics = raft.metrics();
    loop {
        let fatal = metrics.borrow_watched().running_state.clone().err();
        if let Some(fatal) = fatal {
            if *stop.borrow() || controls::active(Control::CarryOnAfterIoError) {
                return;
            }
            tracing::error!(error = %fatal, "the Raft core stopped with a fatal error; exiting");
            std::process::exit(EXIT_RAFT_FATAL);
        }
        if metrics.changed().await.is_err() {
            if *stop.borrow() {
                return;
            }
            tracing::error!("the Raft core ended; exiting");
            std::process::exit(EXIT_RAFT_FATAL);
        }
    }
}
