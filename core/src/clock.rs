//! The clock every client-side expiry decision reads (G3).
//!
//! tokio's `Instant` is CLOCK_MONOTONIC, which stops while the machine or VM is
//! suspended. A lease measured on it would still look alive after a resume
//! although the server, whose clock kept running, has expired the session. The
//! boot clock keeps counting through a suspend:
//!
//! - Linux and Android: `CLOCK_BOOTTIME`.
//! - macOS and iOS: `CLOCK_MONOTONIC`, which on Darwin counts sleep (the clock
//!   behind `mach_continuous_time`).
//! - WebAssembly: `performance.now()` advanced by the wall clock whenever the
//!   wall clock moved further (see `boot` below): browsers stop
//!   `performance.now()` while the machine sleeps, the wall clock does not.
//! - Elsewhere (Windows, the BSDs): `std::time::Instant`. It may stop
//!   during a suspend there, so a suspend is neither counted nor seen as a jump;
//!   only the fencing token protects the resource on those platforms.
//!
//! If the boot clock cannot be read (a kernel older than Linux 2.6.39), the
//! process falls back to `std::time::Instant` once, for good, with a warning:
//! readings of two different clocks must never be mixed.

use std::sync::OnceLock;
use std::time::Duration;

use crate::rt::Instant;

/// A reading of the boot clock: nanoseconds since an arbitrary origin, counting
/// the time the machine was suspended. Arithmetic saturates, never panics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct BootInstant {
    nanos: u64,
}

impl BootInstant {
    /// `self + d`, saturating at the end of time (585 years after the origin).
    pub(crate) fn saturating_add(self, d: Duration) -> BootInstant {
        BootInstant {
            nanos: self.nanos.saturating_add(duration_nanos(d)),
        }
    }

    /// `self - earlier`, zero if `earlier` is later.
    pub(crate) fn saturating_duration_since(self, earlier: BootInstant) -> Duration {
        Duration::from_nanos(self.nanos.saturating_sub(earlier.nanos))
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX`.
fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The source of [`BootInstant`]s a session reads.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    source: Source,
}

#[derive(Debug, Clone)]
enum Source {
    /// The machine's boot clock (see the module docs).
    System,
    /// A test clock whose suspends tokio does not see.
    #[cfg(test)]
    Fake(FakeClock),
}

impl Clock {
    /// The machine's boot clock.
    pub(crate) fn system() -> Clock {
        Clock {
            source: Source::System,
        }
    }

    /// A clock driven by `fake` (tests only).
    #[cfg(test)]
    pub(crate) fn fake(fake: &FakeClock) -> Clock {
        Clock {
            source: Source::Fake(fake.clone()),
        }
    }

    /// Now, on this clock.
    pub(crate) fn now(&self) -> BootInstant {
        match &self.source {
            Source::System => system_now(),
            #[cfg(test)]
            Source::Fake(fake) => fake.now(),
        }
    }

    /// `at` as a tokio instant, for APIs that speak tokio time. Exact only if the
    /// machine is not suspended in between; a value that does not fit is
    /// clamped to now (earlier, so never a longer belief).
    pub(crate) fn to_tokio(&self, at: BootInstant) -> Instant {
        let (boot_now, tokio_now) = (self.now(), Instant::now());
        let converted = if at >= boot_now {
            tokio_now.checked_add(at.saturating_duration_since(boot_now))
        } else {
            tokio_now.checked_sub(boot_now.saturating_duration_since(at))
        };
        converted.unwrap_or(tokio_now)
    }
}

/// Reads the process-wide system clock, chosen once.
fn system_now() -> BootInstant {
    static SOURCE: OnceLock<SystemSource> = OnceLock::new();
    let source = SOURCE.get_or_init(|| match boot::now() {
        Some(_) => SystemSource::Boot,
        None => {
            tracing::warn!(
                "the boot clock cannot be read; client-side expiry uses a clock \
                 that may stop while the machine is suspended"
            );
            SystemSource::Fallback(std::time::Instant::now())
        }
    });
    match source {
        // Once read, the boot clock keeps working. Should a read fail after
        // all, the end of time ends every lease: it can only shorten belief.
        SystemSource::Boot => boot::now().unwrap_or(BootInstant { nanos: u64::MAX }),
        SystemSource::Fallback(origin) => BootInstant {
            nanos: duration_nanos(origin.elapsed()),
        },
    }
}

enum SystemSource {
    Boot,
    /// `std::time::Instant` since this origin.
    Fallback(std::time::Instant),
}

#[cfg(any(target_os = "linux", target_os = "android", target_vendor = "apple"))]
mod boot {
    use super::BootInstant;

    /// The clock that counts suspended time on this platform.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_BOOTTIME;
    /// Darwin's CLOCK_MONOTONIC keeps counting while the machine sleeps.
    #[cfg(target_vendor = "apple")]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;

    /// The boot clock now, or None if the kernel cannot read it.
    pub(super) fn now() -> Option<BootInstant> {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        if unsafe { libc::clock_gettime(CLOCK, &mut ts) } != 0 {
            return None;
        }
        let secs = u64::try_from(ts.tv_sec).ok()?;
        let nanos = u64::try_from(ts.tv_nsec).ok()?;
        let total = secs.checked_mul(1_000_000_000)?.checked_add(nanos)?;
        Some(BootInstant { nanos: total })
    }
}

#[cfg(target_arch = "wasm32")]
mod boot {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::{BootInstant, duration_nanos};
    use crate::rt::Instant;

    /// The last reading: the monotonic and the wall clock then, and the value given.
    struct Last {
        monotonic: Instant,
        wall_ms: f64,
        nanos: u64,
    }

    static LAST: Mutex<Option<Last>> = Mutex::new(None);

    /// A clock that advances, between two readings, by the larger of what
    /// `performance.now()` and the wall clock (`Date.now()`) advanced. It
    /// counts a sleep of the machine (the wall clock's advance), never goes
    /// back (a wall clock set back counts as no advance), and a wall clock
    /// set forward only makes leases end sooner: never a longer belief.
    pub(super) fn now() -> Option<BootInstant> {
        let (monotonic, wall_ms) = (Instant::now(), js_sys::Date::now());
        let mut last = LAST.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let nanos = match last.as_ref() {
            None => 0,
            Some(prev) => {
                let by_monotonic = monotonic.saturating_duration_since(prev.monotonic);
                let wall_secs = ((wall_ms - prev.wall_ms) / 1000.0).max(0.0);
                let by_wall = Duration::try_from_secs_f64(wall_secs).unwrap_or(Duration::MAX);
                prev.nanos
                    .saturating_add(duration_nanos(by_monotonic.max(by_wall)))
            }
        };
        *last = Some(Last {
            monotonic,
            wall_ms,
            nanos,
        });
        Some(BootInstant { nanos })
    }
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_vendor = "apple",
    target_arch = "wasm32"
)))]
mod boot {
    use super::BootInstant;

    /// No boot clock here: the caller falls back to `std::time::Instant`.
    pub(super) fn now() -> Option<BootInstant> {
        None
    }
}

/// A test clock: tokio's (possibly paused) time plus every simulated suspend.
/// [`FakeClock::suspend`] moves it forward while tokio's clock stands still,
/// as CLOCK_BOOTTIME moves against CLOCK_MONOTONIC across a real suspend.
#[cfg(test)]
#[derive(Debug, Clone)]
pub(crate) struct FakeClock {
    state: std::sync::Arc<FakeState>,
}

#[cfg(test)]
#[derive(Debug)]
struct FakeState {
    origin: Instant,
    suspended_nanos: std::sync::atomic::AtomicU64,
    /// False models a clock that stops during a suspend (CLOCK_MONOTONIC, the
    /// clock sessions used before): the negative control of the suspend tests.
    counts_suspend: bool,
}

#[cfg(test)]
impl FakeClock {
    /// A clock that counts suspended time, like CLOCK_BOOTTIME.
    pub(crate) fn new() -> FakeClock {
        FakeClock::with(true)
    }

    /// A clock that does not see a suspend, like CLOCK_MONOTONIC.
    pub(crate) fn monotonic_only() -> FakeClock {
        FakeClock::with(false)
    }

    fn with(counts_suspend: bool) -> FakeClock {
        FakeClock {
            state: std::sync::Arc::new(FakeState {
                origin: Instant::now(),
                suspended_nanos: std::sync::atomic::AtomicU64::new(0),
                counts_suspend,
            }),
        }
    }

    /// Simulates the machine being suspended for `d` and resumed just now.
    pub(crate) fn suspend(&self, d: Duration) {
        if self.state.counts_suspend {
            let _ = self.state.suspended_nanos.fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| Some(n.saturating_add(duration_nanos(d))),
            );
        }
    }

    fn now(&self) -> BootInstant {
        let suspended = self
            .state
            .suspended_nanos
            .load(std::sync::atomic::Ordering::SeqCst);
        BootInstant {
            nanos: duration_nanos(self.state.origin.elapsed()).saturating_add(suspended),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates() {
        let end = BootInstant { nanos: u64::MAX };
        assert_eq!(end.saturating_add(Duration::MAX), end);
        let zero = BootInstant { nanos: 0 };
        assert_eq!(zero.saturating_duration_since(end), Duration::ZERO);
        assert_eq!(
            end.saturating_duration_since(zero),
            Duration::from_nanos(u64::MAX)
        );
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn system_clock_reads_clock_boottime() {
        let read = |clock| {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
            assert_eq!(unsafe { libc::clock_gettime(clock, &mut ts) }, 0);
            Duration::new(
                u64::try_from(ts.tv_sec).expect("non-negative"),
                u32::try_from(ts.tv_nsec).expect("below a second"),
            )
        };
        let before = read(libc::CLOCK_BOOTTIME);
        let ours = Duration::from_nanos(Clock::system().now().nanos);
        let after = read(libc::CLOCK_BOOTTIME);
        assert!(
            before <= ours && ours <= after,
            "{before:?} {ours:?} {after:?}"
        );
        // BOOTTIME = MONOTONIC + time spent suspended, never less.
        assert!(read(libc::CLOCK_MONOTONIC) <= read(libc::CLOCK_BOOTTIME));
    }

    /// `a` and `b` within a few milliseconds of each other.
    fn close(a: Instant, b: Instant) -> bool {
        a.max(b).saturating_duration_since(a.min(b)) < Duration::from_millis(50)
    }

    #[tokio::test]
    async fn a_suspend_moves_the_fake_clock_but_not_tokio() {
        let fake = FakeClock::new();
        let clock = Clock::fake(&fake);
        let (boot0, tokio0) = (clock.now(), Instant::now());
        fake.suspend(Duration::from_secs(60));
        let boot_elapsed = clock.now().saturating_duration_since(boot0);
        assert!(boot_elapsed >= Duration::from_secs(60), "{boot_elapsed:?}");
        assert!(boot_elapsed < Duration::from_secs(61), "{boot_elapsed:?}");
        assert!(tokio0.elapsed() < Duration::from_secs(1));
        let frozen = FakeClock::monotonic_only();
        let clock = Clock::fake(&frozen);
        let before = clock.now();
        frozen.suspend(Duration::from_secs(60));
        assert!(clock.now().saturating_duration_since(before) < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn boot_instants_convert_to_tokio_instants() {
        let clock = Clock::fake(&FakeClock::new());
        let now = clock.now();
        let ahead = now.saturating_add(Duration::from_secs(5));
        assert!(close(
            clock.to_tokio(ahead),
            Instant::now() + Duration::from_secs(5)
        ));
        tokio::time::sleep(Duration::from_millis(20)).await;
        let past = clock.to_tokio(now);
        assert!(past + Duration::from_millis(20) <= Instant::now());
        assert!(close(past + Duration::from_millis(20), Instant::now()));
        let far = BootInstant { nanos: u64::MAX };
        assert!(clock.to_tokio(far) >= Instant::now());
    }
}
