//! Client-side metrics per lock-name prefix: acquires (granted or failed, and
//! how long they waited), hold times, and locks lost, as plain counters
//! ([`crate::Client::metrics`]) and in the Prometheus text format
//! ([`crate::Client::metrics_text`]).
//!
//! A name's prefix is its first segment with the slash (`jobs/` for
//! `jobs/nightly`), or `""` for a name without one, so that the number of
//! label values stays small; past [`MAX_PREFIXES`] prefixes every new one
//! counts as `"other"`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use parking_lot::Mutex;

use crate::admin::PrefixMetrics;
use crate::session::LostReason;

/// Most distinct prefixes counted (the rest count as `"other"`).
pub const MAX_PREFIXES: usize = 256;
/// Upper bounds (seconds) of the histogram buckets; a `+Inf` bucket follows.
pub const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0];

/// The prefix a lock name is counted under.
pub fn prefix_of(name: &str) -> &str {
    name.find('/').map_or("", |i| &name[..=i])
}

/// A histogram of durations (cumulative counts are derived when printed).
#[derive(Debug, Clone, Default)]
struct Histogram {
    /// Per bucket of [`BUCKETS`], then +Inf.
    counts: [u64; BUCKETS.len() + 1],
    sum: Duration,
}

impl Histogram {
    fn observe(&mut self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(BUCKETS.len());
        self.counts[i] = self.counts[i].saturating_add(1);
        self.sum = self.sum.saturating_add(d);
    }

    fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

#[derive(Debug, Clone, Default)]
struct Counters {
    acquired: u64,
    /// Failed acquires by error kind code.
    failed: BTreeMap<&'static str, u64>,
    /// Locks lost by reason code (released by their holder not counted).
    lost: BTreeMap<&'static str, u64>,
    released: u64,
    wait: Histogram,
    hold: Histogram,
}

/// The counters of one client.
#[derive(Debug, Default)]
pub(crate) struct ClientMetrics {
    by_prefix: Mutex<BTreeMap<String, Counters>>,
}

impl ClientMetrics {
    fn with(&self, name: &str, f: impl FnOnce(&mut Counters)) {
        let mut map = self.by_prefix.lock();
        let prefix = prefix_of(name);
        let key = if map.contains_key(prefix) || map.len() < MAX_PREFIXES {
            prefix
        } else {
            "other"
        };
        f(map.entry(key.to_owned()).or_default());
    }

    /// An acquire of `name` ended after `waited`: granted, or failed with the
    /// error kind `failed`.
    pub(crate) fn acquired(&self, name: &str, waited: Duration, failed: Option<&'static str>) {
        self.with(name, |c| match failed {
            None => {
                c.acquired += 1;
                c.wait.observe(waited);
            }
            Some(kind) => *c.failed.entry(kind).or_default() += 1,
        });
    }

    /// A grant of `name` ended after `held`: released, or lost.
    pub(crate) fn ended(&self, name: &str, held: Duration, reason: LostReason) {
        self.with(name, |c| {
            c.hold.observe(held);
            if reason == LostReason::Released {
                c.released += 1;
            } else {
                *c.lost.entry(reason.code()).or_default() += 1;
            }
        });
    }

    /// Plain counters per prefix.
    pub(crate) fn snapshot(&self) -> Vec<PrefixMetrics> {
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        self.by_prefix
            .lock()
            .iter()
            .map(|(prefix, c)| PrefixMetrics {
                prefix: prefix.clone(),
                acquired: c.acquired,
                acquire_failed: c.failed.values().sum(),
                released: c.released,
                lost: c.lost.values().sum(),
                acquire_wait_ms_total: millis(c.wait.sum),
                hold_ms_total: millis(c.hold.sum),
            })
            .collect()
    }

    /// Every counter in the Prometheus text format (version 0.0.4).
    pub(crate) fn prometheus(&self) -> String {
        let map = self.by_prefix.lock();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP tenure_client_acquires_total Acquires ended, by prefix and result (ok or the error kind)."
        );
        let _ = writeln!(out, "# TYPE tenure_client_acquires_total counter");
        for (p, c) in map.iter() {
            let _ = writeln!(
                out,
                "tenure_client_acquires_total{{prefix=\"{}\",result=\"ok\"}} {}",
                escape(p),
                c.acquired
            );
            for (kind, n) in &c.failed {
                let _ = writeln!(
                    out,
                    "tenure_client_acquires_total{{prefix=\"{}\",result=\"{kind}\"}} {n}",
                    escape(p)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP tenure_client_locks_lost_total Locks lost (not released by their holder), by prefix and reason."
        );
        let _ = writeln!(out, "# TYPE tenure_client_locks_lost_total counter");
        for (p, c) in map.iter() {
            for (reason, n) in &c.lost {
                let _ = writeln!(
                    out,
                    "tenure_client_locks_lost_total{{prefix=\"{}\",reason=\"{reason}\"}} {n}",
                    escape(p)
                );
            }
        }
        histogram(
            &mut out,
            "tenure_client_acquire_wait_seconds",
            "Time from an acquire's call to its grant.",
            &map,
            |c| &c.wait,
        );
        histogram(
            &mut out,
            "tenure_client_hold_seconds",
            "Time from a grant to its release or loss.",
            &map,
            |c| &c.hold,
        );
        out
    }
}

fn histogram(
    out: &mut String,
    name: &str,
    help: &str,
    map: &BTreeMap<String, Counters>,
    of: impl Fn(&Counters) -> &Histogram,
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (p, c) in map.iter() {
        let h = of(c);
        let p = escape(p);
        let mut cumulative = 0u64;
        for (bound, n) in BUCKETS.iter().zip(h.counts.iter()) {
            cumulative += n;
            let _ = writeln!(
                out,
                "{name}_bucket{{prefix=\"{p}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{prefix=\"{p}\",le=\"+Inf\"}} {}",
            h.count()
        );
        let _ = writeln!(out, "{name}_sum{{prefix=\"{p}\"}} {}", h.sum.as_secs_f64());
        let _ = writeln!(out, "{name}_count{{prefix=\"{p}\"}} {}", h.count());
    }
}

/// A label value as the text format wants it.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_prefix_and_prints_the_text_format() {
        let m = ClientMetrics::default();
        m.acquired("jobs/a", Duration::from_millis(3), None);
        m.acquired("jobs/b", Duration::from_millis(700), None);
        m.acquired("jobs/b", Duration::ZERO, Some("lock_held"));
        m.acquired("solo", Duration::ZERO, None);
        m.ended("jobs/a", Duration::from_secs(2), LostReason::Released);
        m.ended(
            "jobs/b",
            Duration::from_secs(20),
            LostReason::SessionExpired,
        );
        let snap = m.snapshot();
        let jobs = snap.iter().find(|p| p.prefix == "jobs/").expect("jobs/");
        assert_eq!(
            (jobs.acquired, jobs.acquire_failed, jobs.released, jobs.lost),
            (2, 1, 1, 1)
        );
        assert_eq!(
            (jobs.acquire_wait_ms_total, jobs.hold_ms_total),
            (703, 22_000)
        );
        assert!(snap.iter().any(|p| p.prefix.is_empty() && p.acquired == 1));
        let text = m.prometheus();
        for line in [
            "tenure_client_acquires_total{prefix=\"jobs/\",result=\"ok\"} 2",
            "tenure_client_acquires_total{prefix=\"jobs/\",result=\"lock_held\"} 1",
            "tenure_client_locks_lost_total{prefix=\"jobs/\",reason=\"session_expired\"} 1",
            "tenure_client_acquire_wait_seconds_bucket{prefix=\"jobs/\",le=\"0.005\"} 1",
            "tenure_client_acquire_wait_seconds_bucket{prefix=\"jobs/\",le=\"1\"} 2",
            "tenure_client_hold_seconds_bucket{prefix=\"jobs/\",le=\"+Inf\"} 2",
            "tenure_client_hold_seconds_count{prefix=\"jobs/\"} 2",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }

    #[test]
    fn prefixes_past_the_limit_count_as_other() {
        let m = ClientMetrics::default();
        for i in 0..MAX_PREFIXES + 5 {
            m.acquired(&format!("p{i}/x"), Duration::ZERO, None);
        }
        let snap = m.snapshot();
        assert_eq!(snap.len(), MAX_PREFIXES + 1);
        assert_eq!(
            snap.iter()
                .find(|p| p.prefix == "other")
                .map(|p| p.acquired),
            Some(5)
        );
    }
}
