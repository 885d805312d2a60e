//! Negative controls: test-only switches that each deliberately break one
//! guarantee, so the test that checks the guarantee can be seen to fail.
//!
//! Switch them on with `TENURE_NEGATIVE_CONTROL=name[,name...]` in the
//! environment of a binary built with the `negative-controls` feature (the test
//! kit enables it). In a build without the feature every control is off, and a
//! node started with the variable set refuses to start.

use std::sync::OnceLock;

/// The environment variable that names the active controls.
pub const ENV: &str = "TENURE_NEGATIVE_CONTROL";

/// One deliberate defect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Control {
    /// Take the waiter-count and rate-limit mutexes in opposite orders (the lock
    /// inversion that once wedged nodes under load); the deadlock detector must
    /// report it.
    InvertWaiterLocks,
    /// Block every runtime worker thread when the process receives SIGUSR1; the
    /// liveness watchdog must stop the node.
    WedgeOnSigusr1,
    /// `tenure lock`: stop the command only once the loss is noticed, with the
    /// full kill grace; the command then outlives the lock.
    LateKill,
    /// The storage failure handling of old: the write-ahead log writer carries
    /// on after an I/O error (later frames are acknowledged behind a partly
    /// written one), and a fatal Raft error leaves the node running as a zombie.
    CarryOnAfterIoError,
    /// The write-ahead log never calls fsync: acknowledged entries live only in
    /// the page cache, and a power loss (not a SIGKILL) loses them.
    SkipFsync,
    /// The fenced SQLite store of the demo and the tests accepts every token,
    /// stale ones included (the storage forgot its fencing check).
    SkipFenceCheck,
    /// The leader answers a request (a grant, a release) as soon as it has
    /// decided it on its own state, before the entry is on a majority
    /// (asynchronous replication),
    /// and keeps granting without check-quorum: a leader crash or partition
    /// then loses grants already acknowledged, and an isolated leader grants
    /// what the majority's new leader grants too.
    GrantWithoutQuorum,
    /// Keepalives are renewed on the node's belief that it leads, without the
    /// quorum round (and so without check-quorum): a deposed or isolated
    /// leader keeps renewing sessions the new leader expires.
    KeepaliveWithoutRound,
    /// Clients believe their session until `t_send + ttl`: no safety margin
    /// and no allowance for clock drift (read by the fault suite's workers).
    ZeroMarginAndDrift,
    /// A restarted leader takes its leadership back without an election
    /// (openraft's default), although entries may have been committed by its
    /// followers before its own slower fsync: after a power loss it lacks them.
    LeaderRestore,
    /// Node 3, once restarted, never applies a replicated entry again (its state
    /// machine worker hangs at the first one it did not propose itself): the
    /// fault suite's "every node catches up after the faults" must report it.
    RestartedNodeStopsApplying,
    /// The state machine grants semaphore permits past the semaphore's limit
    /// (every replica alike): the fault suite's "semaphore holders beyond its
    /// permits" must report it.
    SemaphoreOvergrant,
    /// A watch resumed from a revision replays changes from well before it
    /// (changes the watcher has seen already, old grants among them): an
    /// observer then sees an older leader after a newer one, which the fault
    /// suite's "observer saw leaders out of token order" must report.
    WatchReplayOld,
}

impl Control {
    /// Every control.
    pub const ALL: [Control; 13] = [
        Control::InvertWaiterLocks,
        Control::WedgeOnSigusr1,
        Control::LateKill,
        Control::CarryOnAfterIoError,
        Control::SkipFsync,
        Control::SkipFenceCheck,
        Control::GrantWithoutQuorum,
        Control::KeepaliveWithoutRound,
        Control::ZeroMarginAndDrift,
        Control::LeaderRestore,
        Control::RestartedNodeStopsApplying,
        Control::SemaphoreOvergrant,
        Control::WatchReplayOld,
    ];

    /// The name used in [`ENV`].
    pub fn name(self) -> &'static str {
        match self {
            Control::InvertWaiterLocks => "invert-waiter-locks",
            Control::WedgeOnSigusr1 => "wedge-on-sigusr1",
            Control::LateKill => "late-kill",
            Control::CarryOnAfterIoError => "carry-on-after-io-error",
            Control::SkipFsync => "skip-fsync",
            Control::SkipFenceCheck => "skip-fence-check",
            Control::GrantWithoutQuorum => "grant-without-quorum",
            Control::KeepaliveWithoutRound => "keepalive-without-round",
            Control::ZeroMarginAndDrift => "zero-margin-and-drift",
            Control::LeaderRestore => "leader-restore",
            Control::RestartedNodeStopsApplying => "restarted-node-stops-applying",
            Control::SemaphoreOvergrant => "semaphore-overgrant",
            Control::WatchReplayOld => "watch-replay-old",
        }
    }

    fn parse(name: &str) -> Option<Control> {
        Control::ALL.into_iter().find(|c| c.name() == name)
    }
}

fn requested() -> Result<Vec<Control>, String> {
    let Ok(list) = std::env::var(ENV) else {
        return Ok(Vec::new());
    };
    list.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| Control::parse(n).ok_or_else(|| format!("unknown negative control {n:?}")))
        .collect()
}

fn enabled() -> &'static [Control] {
    static ACTIVE: OnceLock<Vec<Control>> = OnceLock::new();
    ACTIVE.get_or_init(|| {
        if cfg!(feature = "negative-controls") {
            requested().unwrap_or_default()
        } else {
            Vec::new()
        }
    })
}

/// Whether `control` is switched on (always false without the feature).
pub fn active(control: Control) -> bool {
    cfg!(feature = "negative-controls") && enabled().contains(&control)
}

/// Checks [`ENV`] at start-up: an unknown name, or any control in a build
/// without the feature, is an error; each active control is logged loudly.
pub fn check() -> anyhow::Result<()> {
    let wanted = requested().map_err(anyhow::Error::msg)?;
    if wanted.is_empty() {
        return Ok(());
    }
    anyhow::ensure!(
        cfg!(feature = "negative-controls"),
        "{ENV} is set, but this build has no negative controls"
    );
    for c in enabled() {
        tracing::warn!(
            control = c.name(),
            "NEGATIVE CONTROL ACTIVE: a guarantee is deliberately broken (tests only)"
        );
    }
    Ok(())
}
