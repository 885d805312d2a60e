//! Scenario 7: binding overhead. Scenario 1's loop (one client, acquire +
//! release on one lock) run from Python, Node and Kotlin, each in its own
//! runtime loading the real native library, against the same cluster as the
//! Rust native loop. The scripts live in bench/bindings/.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tokio::process::Command;

use crate::cluster::Cluster;
use crate::scenarios;
use crate::stats::{Percentiles, percentiles};
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

    /// Runs the loop for `pairs` measured pairs; the latency of each.
    async fn run(self, cluster: &Cluster, pairs: usize) -> anyhow::Result<Vec<Duration>> {
        let mut cmd = self.command();
        cmd.env("TENURE_ENDPOINTS", cluster.endpoints().join(","))
            .env("TENURE_BENCH_PAIRS", pairs.to_string())
            .env("TENURE_BENCH_WARMUP", warmup(pairs).to_string())
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

/// Scenario 7: each binding's uncontended latency, and Rust native's measured
/// on the same cluster in two halves (before and after the bindings) so that
/// drift of the machine during the run affects both sides alike.
pub async fn overhead(
    cluster: &Cluster,
    bindings: &[Binding],
    pairs: usize,
) -> anyhow::Result<Vec<(String, Percentiles)>> {
    let lock = "bench/bindings/rust";
    let mut native =
        scenarios::pair_samples(System::Tenure, cluster, lock, warmup(pairs), pairs / 2).await?;
    let mut measured = Vec::new();
    for b in bindings {
        eprintln!("[tenure] 7. binding overhead: {}", b.name());
        let samples = b.run(cluster, pairs).await?;
        measured.push((b.name().to_owned(), percentiles(&samples)));
    }
    native.extend(
        scenarios::pair_samples(
            System::Tenure,
            cluster,
            lock,
            warmup(pairs),
            pairs - pairs / 2,
        )
        .await?,
    );
    measured.insert(0, ("rust (native)".to_owned(), percentiles(&native)));
    Ok(measured)
}
