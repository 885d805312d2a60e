//! Clock drift for nodes and clients, with libfaketime.
//!
//! A drifting process sees every clock (monotonic and boot clocks included)
//! run at `rate` times the real speed, for as long as it lives. Rates stay
//! within the client's configured `drift` bound: each side drifts by at most
//! half of it, so a client and a server that drift in opposite directions
//! together reach the bound exactly.

use std::path::Path;

use tenure::ClientOptions;

/// Where libfaketime lives when Debian's faketime package is installed.
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// Whether drift can be injected on this machine.
pub fn available() -> bool {
    Path::new(LIBFAKETIME).exists()
}

/// The largest rate error one side may have: half the client's default bound.
pub fn max_skew() -> f64 {
    ClientOptions::default().drift / 2.0
}

/// A clock that runs slow by the largest allowed error: a client on it
/// believes longest.
pub fn slow() -> f64 {
    1.0 - max_skew()
}

/// A clock that runs fast by the largest allowed error: a server on it expires
/// sessions earliest.
pub fn fast() -> f64 {
    1.0 + max_skew()
}

/// The environment that makes a process's clocks run at `rate` (none for 1).
pub fn env(rate: f64) -> Vec<(String, String)> {
    if rate == 1.0 || !available() {
        return Vec::new();
    }
    vec![
        ("LD_PRELOAD".into(), LIBFAKETIME.into()),
        ("FAKETIME".into(), format!("+0 x{rate}")),
        ("FAKETIME_NO_CACHE".into(), "1".into()),
    ]
}

/// The rate this process's clocks run at (from the environment [`env`] set).
pub fn process_rate() -> f64 {
    let preloaded = std::env::var("LD_PRELOAD").is_ok_and(|p| p.contains("faketime"));
    std::env::var("FAKETIME")
        .ok()
        .filter(|_| preloaded)
        .and_then(|spec| spec.split_once(" x").and_then(|(_, r)| r.parse().ok()))
        .filter(|r: &f64| r.is_finite() && *r > 0.0)
        .unwrap_or(1.0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_stay_within_the_client_bound() {
        let bound = tenure::ClientOptions::default().drift;
        assert!((super::fast() - super::slow() - bound).abs() < 1e-12);
        assert!(super::slow() < 1.0 && super::fast() > 1.0);
    }
}
