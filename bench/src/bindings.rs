//! Scenario 7: binding overhead. Scenario 1's loop (one client, acquire +
//! release on one lock) run from Python, Node and Kotlin, each in its own
//! runtime loading the real native library, against the same cluster as the
//! Rust native loop. The scripts live in bench/bindings/.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use tokio::process::Command;

use crate::cluster::Cluster;
use crate::scenarios;
use crate::stats::{Percentiles, nearest_rank, percentiles};
use crate::systems::System;

/// Most unmeasured pairs each client runs first (the JVM's JIT needs about a
/// thousand to settle; every language gets the same).
const MAX_WARMUP: usize = 1_000;
/// Bound on one binding's run, Maven's compile of the Kotlin program included.
const RUN_LIMIT: Duration = Duration::from_secs(600);

/// A language binding measured by scenario 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// bindings/python, run by `$TENURE_BENCH_PYTHON` (default: its test venv).
    Python,
    /// bindings/node, run by `node`.
    Node,
    /// bindings/kotlin, run by Maven from the local repository's jar.
    Kotlin,
}

impl Binding {
    /// Parses `python`, `node` or `kotlin`.
    pub fn parse(name: &str) -> anyhow::Result<Binding> {
        match name {
            "python" => Ok(Binding::Python),
            "node" => Ok(Binding::Node),
            "kotlin" => Ok(Binding::Kotlin),
            other => anyhow::bail!("unknown binding {other} (python, node or kotlin)"),
        }
    }

    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Binding::Python => "python",
            Binding::Node => "node",
            Binding::Kotlin => "kotlin",
        }
    }

    /// The command that runs its loop, from the repository root.
    fn command(self) -> Command {
        let env_or = |var: &str, default: &str| {
            std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
        };
        match self {
            Binding::Python => {
                let mut c = Command::new(env_or(
                    "TENURE_BENCH_PYTHON",
                    "bindings/python/.venv/bin/python",
                ));
                c.arg("bench/bindings/uncontended.py");
                c
            }
            Binding::Node => {
                let mut c = Command::new("node");
                c.arg("bench/bindings/uncontended.mjs");
                c
            }
            Binding::Kotlin => {
                let mut c = Command::new("mvn");
                c.args([
                    "-B",
                    "-q",
                    "-f",
                    "bench/bindings/kotlin/pom.xml",
                    "compile",
                    "exec:java",
                ]);
                // JNA looks in jna.library.path before the jar's bundled library:
                // this is how `make bench` gives the JVM the release build.
                if let Some(dir) = std::env::var_os("TENURE_BENCH_JNA_PATH") {
                    let dir = Path::new(&dir)
                        .canonicalize()
                        .unwrap_or_else(|_| dir.into());
                    c.arg(format!("-Djna.library.path={}", dir.display()));
                }
                c
            }
        }
    }

    /// Runs the loop for `warmup` unmeasured and `pairs` measured pairs; the
    /// latency of each measured one.
    async fn run(
        self,
        cluster: &Cluster,
        pairs: usize,
        warmup: usize,
    ) -> anyhow::Result<Vec<Duration>> {
        let mut cmd = self.command();
        cmd.env("TENURE_ENDPOINTS", cluster.endpoints().join(","))
            .env("TENURE_BENCH_PAIRS", pairs.to_string())
            .env("TENURE_BENCH_WARMUP", warmup.to_string())
            .env(
                "TENURE_BENCH_LOCK",
                format!("bench/bindings/{}", self.name()),
            )
            .kill_on_drop(true);
        let out = tokio::time::timeout(RUN_LIMIT, cmd.output())
            .await
            .with_context(|| format!("{} did not finish within {RUN_LIMIT:?}", self.name()))?
            .with_context(|| format!("cannot start the {} benchmark", self.name()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        anyhow::ensure!(
            out.status.success(),
            "the {} benchmark failed ({}): {}{}",
            self.name(),
            out.status,
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
        let samples: Vec<Duration> = stdout
            .lines()
            .filter_map(|l| without_ansi_codes(l).trim().parse::<u64>().ok())
            .map(Duration::from_micros)
            .collect();
        anyhow::ensure!(
            samples.len() == pairs,
            "the {} benchmark printed {} samples, expected {pairs}",
            self.name(),
            samples.len()
        );
        Ok(samples)
    }
}

/// Unmeasured pairs before `pairs` measured ones.
fn warmup(pairs: usize) -> usize {
    (pairs / 2).min(MAX_WARMUP)
}

/// `line` without terminal colour codes (`ESC [ ... letter`), which Maven
/// prints around a program's output even in batch mode.
fn without_ansi_codes(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip up to and including the final letter of the sequence.
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Scenario 7 for one client: its latency over every round and, for a
/// binding, what it added to Rust native's median in each round.
#[derive(Debug, Clone, Serialize)]
pub struct BindingResult {
    /// `rust (native)`, `python`, `node` or `kotlin`.
    pub client: String,
    /// Latency of an acquire+release pair, all rounds together.
    pub latency: Percentiles,
    /// Per round: this binding's median minus Rust native's, measured on the
    /// same cluster just before and just after it (the mean of the two), in
    /// µs. Empty for Rust native itself.
    pub added_us: Vec<f64>,
}

impl BindingResult {
    /// The median of the per-round figures, by nearest rank like every other
    /// median of the report (0 for Rust native).
    pub fn added_median_us(&self) -> f64 {
        let mut added = self.added_us.clone();
        added.sort_by(f64::total_cmp);
        if added.is_empty() {
            return 0.0;
        }
        nearest_rank(&added, 0.5)
    }
}

/// Scenario 7: each binding's uncontended latency against Rust native's, in
/// `rounds` rounds of native, binding, native, binding, ..., native. Each
/// binding is compared with the native runs right before and after it, so
/// that drift of the machine over the minutes the scenario takes (a JVM
/// starting, another process's burst) moves both sides of one comparison alike.
pub async fn overhead(
    cluster: &Cluster,
    bindings: &[Binding],
    pairs: usize,
    rounds: usize,
) -> anyhow::Result<Vec<BindingResult>> {
    let rounds = rounds.max(1);
    let per_run = (pairs / rounds).max(1);
    let mut native_all = Vec::new();
    let mut measured: Vec<(Vec<Duration>, Vec<f64>)> =
        vec![(Vec::new(), Vec::new()); bindings.len()];
    for round in 1..=rounds {
        let mut before = native(cluster, per_run).await?;
        for (b, (all, added)) in bindings.iter().zip(measured.iter_mut()) {
            eprintln!(
                "[tenure] 7. binding overhead: {} (round {round} of {rounds})",
                b.name()
            );
            let samples = b.run(cluster, per_run, warmup(pairs)).await?;
            let after = native(cluster, per_run).await?;
            let baseline = (median_us(&before) + median_us(&after)) / 2.0;
            added.push(median_us(&samples) - baseline);
            all.extend(samples);
            native_all.append(&mut before);
            before = after;
        }
        native_all.append(&mut before);
    }
    let mut out = vec![BindingResult {
        client: "rust (native)".to_owned(),
        latency: percentiles(&native_all),
        added_us: Vec::new(),
    }];
    out.extend(
        bindings
            .iter()
            .zip(measured)
            .map(|(b, (all, added_us))| BindingResult {
                client: b.name().to_owned(),
                latency: percentiles(&all),
                added_us,
            }),
    );
    Ok(out)
}

/// One Rust native run of `pairs` measured pairs on the scenario's lock.
async fn native(cluster: &Cluster, pairs: usize) -> anyhow::Result<Vec<Duration>> {
    let lock = "bench/bindings/rust";
    scenarios::pair_samples(System::Tenure, cluster, lock, warmup(pairs), pairs).await
}

fn median_us(samples: &[Duration]) -> f64 {
    percentiles(samples).p50_us
}
