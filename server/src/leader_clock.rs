//! The clock a leader stamps its batches with (and times its `Tick`s by).
//!
//! It is leader-relative: a leadership starts it at the last stamp the state
//! machine applied and advances it by this node's monotonic elapsed time, so a
//! wall clock that steps (NTP, a VM restored from a snapshot, a wrong manual
//! setting) never reaches the log. It slews toward the wall clock by at most
//! `1 / SLEW_DIVISOR` of the elapsed time, so that the machine clock, which is
//! shown to clients as Unix ms, drifts back to Unix time slowly and a wrong wall
//! clock can move it only slowly. It steps to the wall clock only on a fresh
//! cluster (machine clock 0).
//!
//! Nothing here reads a clock: callers pass the wall time and an `Instant`, so
//! the rule is tested without waiting.

use std::time::Instant;

/// The slew bound: the clock runs at most 1 % faster or slower than the
/// monotonic clock while it catches up with the wall clock.
pub const SLEW_DIVISOR: u64 = 100;

/// One leadership's clock.
#[derive(Debug, Clone)]
pub struct LeaderClock {
    /// Stamp at the start: the machine's last stamp, the reference its next
    /// step is measured from (`Machine::clock_after`).
    base_ms: u64,
    /// The machine's last stamp minus its clock, at the start: the wall time
    /// `w` corresponds to stamp `w + offset_ms`, so slewing toward it brings
    /// the machine clock (not the stamps) toward the wall clock.
    offset_ms: i128,
    started: Instant,
    /// The largest time returned: the clock never goes back.
    last_ms: u64,
}

impl LeaderClock {
    /// Starts a leadership's clock from the applied state: the machine clock
    /// `machine_ms` and the last stamp `stamp_ms`. A fresh machine (clock 0)
    /// starts at the wall time `wall_ms`.
    pub fn start(machine_ms: u64, stamp_ms: u64, wall_ms: u64, now: Instant) -> LeaderClock {
        let (base_ms, offset_ms) = if machine_ms == 0 {
            (wall_ms, 0)
        } else {
            (stamp_ms, i128::from(stamp_ms) - i128::from(machine_ms))
        };
        LeaderClock {
            base_ms,
            offset_ms,
            started: now,
            last_ms: base_ms,
        }
    }

    /// The clock's time (Unix ms, approximately) at `now`, given the wall time
    /// `wall_ms` then: the start stamp plus the elapsed monotonic time, moved
    /// toward the wall clock by at most `elapsed / SLEW_DIVISOR`; never less than
    /// any time returned before.
    pub fn now_at(&mut self, wall_ms: u64, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.started).as_millis();
        let elapsed = i128::try_from(elapsed).unwrap_or(i128::MAX / 4);
        let natural = i128::from(self.base_ms).saturating_add(elapsed);
        let target = i128::from(wall_ms) + self.offset_ms;
        let limit = elapsed / i128::from(SLEW_DIVISOR);
        let slewed = natural.saturating_add((target - natural).clamp(-limit, limit));
        let slewed = u64::try_from(slewed.max(0)).unwrap_or(u64::MAX);
        self.last_ms = self.last_ms.max(slewed);
        self.last_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const T0: u64 = 1_700_000_000_000;
    const HOUR: u64 = 3_600_000;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn starts_at_the_last_stamp_and_follows_the_monotonic_clock() {
        let t = Instant::now();
        let mut clock = LeaderClock::start(T0, T0, T0, t);
        assert_eq!(clock.now_at(T0, t), T0);
        assert_eq!(clock.now_at(T0 + 1_500, at(t, 1_500)), T0 + 1_500);
        // The wall clock may step; the stamps do not follow it.
        assert_eq!(clock.now_at(T0 + 24 * HOUR, at(t, 2_000)), T0 + 2_020);
        assert_eq!(clock.now_at(T0 - 24 * HOUR, at(t, 3_000)), T0 + 2_970);
    }

    #[test]
    fn never_starts_below_the_last_stamp_even_when_the_wall_clock_is_behind() {
        let t = Instant::now();
        let mut clock = LeaderClock::start(T0, T0, T0 - HOUR, t);
        assert_eq!(clock.now_at(T0 - HOUR, t), T0);
        for ms in [1, 10, 1_000, 60_000, HOUR] {
            assert!(clock.now_at(T0 - HOUR, at(t, ms)) >= T0);
        }
    }

    #[test]
    fn slews_toward_the_wall_clock_by_at_most_one_percent() {
        let t = Instant::now();
        // The wall clock is a day ahead of the machine clock.
        let mut ahead = LeaderClock::start(T0, T0, T0 + 24 * HOUR, t);
        // Slower than the wall clock behind it: 1 % of the elapsed time at most.
        let mut behind = LeaderClock::start(T0, T0, T0 - 24 * HOUR, t);
        let mut previous = (T0, T0);
        for s in 1..=600u64 {
            let elapsed = s * 1_000;
            let now = at(t, elapsed);
            let a = ahead.now_at(T0 + 24 * HOUR + elapsed, now);
            let b = behind.now_at(T0 - 24 * HOUR + elapsed, now);
            assert_eq!(a, T0 + elapsed + elapsed / 100, "ahead at {s} s");
            assert_eq!(b, T0 + elapsed - elapsed / 100, "behind at {s} s");
            assert!(a > previous.0 && b > previous.1, "not monotonic at {s} s");
            previous = (a, b);
        }
    }

    #[test]
    fn tracks_a_wall_clock_within_the_slew_bound_exactly() {
        let t = Instant::now();
        let mut clock = LeaderClock::start(T0, T0, T0 + 500, t);
        // After 50 s the 500 ms are made up (1 % of 50 s), then it follows the wall.
        assert_eq!(clock.now_at(T0 + 500 + 50_000, at(t, 50_000)), T0 + 50_500);
        assert_eq!(clock.now_at(T0 + 500 + 60_000, at(t, 60_000)), T0 + 60_500);
    }

    #[test]
    fn is_monotonic_when_the_wall_clock_jumps_back_and_forth() {
        let t = Instant::now();
        let mut clock = LeaderClock::start(T0, T0, T0, t);
        let mut last = 0;
        for i in 0..1_000u64 {
            let wall = if i % 2 == 0 { T0 + i * 10 + HOUR } else { T0 };
            let now = clock.now_at(wall, at(t, i * 10));
            assert!(now >= last, "went back at step {i}");
            last = now;
        }
    }

    #[test]
    fn a_fresh_cluster_steps_to_the_wall_clock() {
        let t = Instant::now();
        let mut clock = LeaderClock::start(0, 0, T0, t);
        assert_eq!(clock.now_at(T0, t), T0);
        assert_eq!(clock.now_at(T0 + 1_000, at(t, 1_000)), T0 + 1_000);
    }

    #[test]
    fn slews_the_machine_clock_not_the_stamps_toward_the_wall_clock() {
        let t = Instant::now();
        // Stamps run 10 s ahead of the machine clock (after a bad stamp); the
        // machine clock equals the wall clock, so there is nothing to correct.
        let mut clock = LeaderClock::start(T0, T0 + 10_000, T0, t);
        assert_eq!(clock.now_at(T0 + 60_000, at(t, 60_000)), T0 + 70_000);
    }
}
