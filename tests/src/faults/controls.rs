//! The negative controls of the fault suite: for each check, a run against a
//! build with one guarantee deliberately broken (`TENURE_NEGATIVE_CONTROL`,
//! server/src/controls.rs) that the suite must report. A check that no broken
//! build can trip is not a check.
//!
//! The CI test (tests/tests/negative_controls.rs) and the long soak
//! (`tenure-faults run --controls`) both run this one table.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use super::{Drift, RunConfig};

/// One control and the run that must catch it.
pub struct Case {
    /// The control's name in `TENURE_NEGATIVE_CONTROL`.
    pub control: &'static str,
    /// What the control breaks.
    pub breaks: &'static str,
    /// Faults the run draws from.
    pub faults: &'static [&'static str],
    /// Seconds of workload per run.
    pub secs: u64,
    /// Seeds to try: a fault must land at the right moment.
    pub tries: u64,
    /// Worker processes (one client each).
    pub workers: u32,
    /// Session TTL of the workers.
    pub ttl: Duration,
    /// How clocks drift.
    pub drift: Drift,
    /// The checks that may report it (any one suffices).
    pub expect: &'static [&'static str],
}

const OVERLAP: &str = "G3 belief intervals overlap";
const EARLY_EXPIRY: &str = "session of a healthy client expired";
const CATCH_UP_CHECK: &str = super::CATCH_UP_CHECK;

/// Every negative control the suite must catch.
pub const CASES: [Case; 8] = [
    Case {
        control: "skip-fsync",
        breaks: "G4: the log never fsyncs, so a power loss loses acknowledged entries",
        faults: &["power-loss", "kill-leader"],
        secs: 25,
        tries: 2,
        workers: 4,
        ttl: Duration::from_secs(2),
        drift: Drift::Off,
        expect: &[
            "G2 token granted twice",
            "G4 token counter went back",
            "G4 acknowledged write lost",
            OVERLAP,
        ],
    },
    Case {
        control: "skip-fence-check",
        breaks: "G2 at the storage: the fenced store accepts a paused writer's stale token",
        faults: &["pause-client"],
        secs: 30,
        tries: 4,
        workers: 4,
        ttl: Duration::from_secs(2),
        drift: Drift::Off,
        expect: &["G2 store accepted a stale token"],
    },
    Case {
        control: "grant-without-quorum",
        breaks: "G1/G4: the leader answers before a majority has the entry, and an \
                 isolated leader keeps granting",
        faults: &["partition-node", "kill-leader", "partition-node"],
        secs: 30,
        tries: 3,
        workers: 4,
        ttl: Duration::from_secs(2),
        drift: Drift::Off,
        expect: &[
            "G2 token granted twice",
            "G2 tokens out of grant order",
            "G4 token counter went back",
            OVERLAP,
        ],
    },
    Case {
        control: "keepalive-without-round",
        breaks: "G3: an isolated leader renews sessions the new leader expires",
        faults: &["partition-node"],
        secs: 40,
        tries: 3,
        workers: 4,
        ttl: Duration::from_secs(2),
        drift: Drift::Off,
        expect: &[OVERLAP, EARLY_EXPIRY],
    },
    Case {
        control: "zero-margin-and-drift",
        breaks: "G3: clients on slow clocks believe until t_send + ttl, past the \
                 expiry of servers on fast clocks (drift within the bound; a 5 s \
                 TTL makes the 1 % bound a 100 ms window)",
        faults: &["pause-client"],
        secs: 40,
        tries: 3,
        workers: 4,
        ttl: Duration::from_secs(5),
        drift: Drift::Worst,
        expect: &[OVERLAP, EARLY_EXPIRY],
    },
    Case {
        control: "restarted-node-stops-applying",
        breaks: "replicas: node 3, once restarted, never applies again, so its state \
                 (and a reader it serves) falls behind for good",
        faults: &["kill-random"],
        secs: 10,
        tries: 2,
        workers: 4,
        ttl: Duration::from_secs(2),
        drift: Drift::Off,
        expect: &[CATCH_UP_CHECK],
    },
    Case {
        control: "semaphore-overgrant",
        breaks: "semaphores: the state machine grants permits past the limit, so more \
                 workers than the semaphore has permits believe they hold one",
        faults: &["kill-random"],
        // Three holders at once among 8 workers, a permit being one acquire
        // in four: a few times a run in 20 s (10 s with 4 workers missed).
        secs: 20,
        tries: 2,
        workers: 8,
        ttl: Duration::from_secs(2),
        drift: Drift::Off,
        expect: &["semaphore holders beyond its permits"],
    },
    Case {
        control: "watch-replay-old",
        breaks: "watches: a resumed watch replays changes the watcher saw already, so an \
                 election observer reports an old leader after a newer one",
        faults: &["kill-leader", "kill-leader"],
        secs: 12,
        tries: 2,
        workers: 4,
        ttl: Duration::from_secs(2),
        drift: Drift::Off,
        expect: &["observer saw leaders out of token order"],
    },
];

/// The case of `control`.
pub fn case(control: &str) -> Option<&'static Case> {
    CASES.iter().find(|c| c.control == control)
}

/// What running one control found.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The control.
    pub control: &'static str,
    /// What it breaks.
    pub breaks: &'static str,
    /// Whether a run reported one of the expected checks.
    pub caught: bool,
    /// Runs made (seeds tried).
    pub runs: u64,
    /// Every check the catching run (or the last run) reported, counted.
    pub checks: Vec<(String, usize)>,
}

impl Case {
    /// The run configuration of this case with `seed`, with or without the control.
    pub fn config(&self, seed: u64, with_control: bool, worker_bin: PathBuf) -> RunConfig {
        RunConfig {
            seed,
            duration: Duration::from_secs(self.secs),
            nodes: 3,
            workers: self.workers,
            clients_per_worker: 1,
            locks: 3,
            ttl: self.ttl,
            faults: self.faults.iter().map(|s| s.to_string()).collect(),
            worker_bin,
            negative_control: with_control.then(|| self.control.to_owned()),
            drift: self.drift,
        }
    }

    /// Runs this case with its control until a seed reports one of the
    /// expected checks (at most `tries` seeds, from 100).
    pub async fn run(&self, worker_bin: PathBuf) -> anyhow::Result<Outcome> {
        let mut outcome = Outcome {
            control: self.control,
            breaks: self.breaks,
            caught: false,
            runs: 0,
            checks: Vec::new(),
        };
        for seed in 100..100 + self.tries {
            let report = super::run(self.config(seed, true, worker_bin.clone())).await?;
            outcome.runs += 1;
            let mut counted: Vec<(String, usize)> = Vec::new();
            for v in &report.violations {
                match counted.iter_mut().find(|(c, _)| c == v.check) {
                    Some((_, n)) => *n += 1,
                    None => counted.push((v.check.to_owned(), 1)),
                }
            }
            tracing::info!(control = self.control, seed, checks = ?counted, "negative control run");
            outcome.caught = counted
                .iter()
                .any(|(c, _)| self.expect.contains(&c.as_str()));
            outcome.checks = counted;
            if outcome.caught {
                break;
            }
        }
        Ok(outcome)
    }
}

/// A Markdown table of control outcomes.
pub fn markdown(outcomes: &[Outcome]) -> String {
    let mut out = String::from(
        "| negative control | breaks | caught | runs | checks reported |\n|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let checks: Vec<String> = o.checks.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            o.control,
            o.breaks,
            if o.caught { "yes" } else { "**NO**" },
            o.runs,
            checks.join("; ")
        ));
    }
    out
}
