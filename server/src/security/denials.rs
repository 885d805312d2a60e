//! Permission denials: each is counted (the `tenure_denials_total{principal}`
//! metric), and a sample goes to the audit log: at most one record per caller
//! every [`SAMPLE_EVERY`], carrying how many denials it stands for. The audit
//! log keeps denial records apart from admin records (the machine's
//! `DENIAL_AUDIT_WINDOW`), so a flood of bad requests can neither flush the
//! admin trail nor fill the log.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A caller's denials are sampled into the audit log this often at most.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(10);
/// Callers tracked at once; past it, the ones not sampled lately are forgotten,
/// then every new caller shares one entry.
const MAX_TRACKED: usize = 10_000;
/// The entry callers share when too many are tracked.
const OVERFLOW: &str = "(many callers)";

/// The denial sampler of one node.
#[derive(Debug, Default)]
pub struct Denials {
    callers: Mutex<HashMap<String, Tracked>>,
}

#[derive(Debug, Clone, Copy)]
struct Tracked {
    /// When this caller's last record was sampled.
    sampled: Instant,
    /// Denials since then, not yet in a record.
    unrecorded: u64,
}

impl Denials {
    /// Counts a denial of `caller`; returns `Some(n)` when a record is due now,
    /// standing for this denial and the `n` before it that were not recorded.
    pub fn sample(&self, caller: &str, now: Instant) -> Option<u64> {
        let mut callers = self.callers.lock();
        if callers.len() >= MAX_TRACKED && !callers.contains_key(caller) {
            callers.retain(|_, t| now.duration_since(t.sampled) < SAMPLE_EVERY);
        }
        let key = if callers.len() >= MAX_TRACKED && !callers.contains_key(caller) {
            OVERFLOW
        } else {
            caller
        };
        match callers.get_mut(key) {
            Some(t) if now.duration_since(t.sampled) < SAMPLE_EVERY => {
                t.unrecorded += 1;
                None
            }
            Some(t) => {
                let before = std::mem::take(&mut t.unrecorded);
                t.sampled = now;
                Some(before)
            }
            None => {
                let first = Tracked {
                    sampled: now,
                    unrecorded: 0,
                };
                callers.insert(key.to_owned(), first);
                Some(0)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_record_per_caller_per_period_carrying_the_rest() {
        let d = Denials::default();
        let t0 = Instant::now();
        assert_eq!(d.sample("a", t0), Some(0));
        for _ in 0..99 {
            assert_eq!(d.sample("a", t0), None);
        }
        assert_eq!(d.sample("b", t0), Some(0), "callers are sampled apart");
        assert_eq!(d.sample("a", t0 + SAMPLE_EVERY), Some(99));
    }

    #[test]
    fn many_callers_share_one_entry() {
        let d = Denials::default();
        let t0 = Instant::now();
        for i in 0..MAX_TRACKED {
            assert!(d.sample(&format!("c{i}"), t0).is_some());
        }
        assert_eq!(d.sample("new-1", t0), Some(0));
        assert_eq!(d.sample("new-2", t0), None, "shares the overflow entry");
        assert!(d.callers.lock().len() <= MAX_TRACKED + 1);
    }
}
