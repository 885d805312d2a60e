//! Latency statistics.

use std::time::Duration;

use serde::Serialize;

/// Percentiles of a sample, in microseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Percentiles {
    /// Samples.
    pub n: usize,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// Largest.
    pub max_us: f64,
}

/// Percentiles of `samples` (nearest-rank).
pub fn percentiles(samples: &[Duration]) -> Percentiles {
    if samples.is_empty() {
        return Percentiles::default();
    }
    let mut us: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e6).collect();
    us.sort_by(|a, b| a.total_cmp(b));
    Percentiles {
        n: us.len(),
        p50_us: nearest_rank(&us, 0.50),
        p90_us: nearest_rank(&us, 0.90),
        p99_us: nearest_rank(&us, 0.99),
        max_us: us[us.len() - 1],
    }
}

/// The `q` quantile of `sorted` (ascending, not empty) by nearest rank.
pub fn nearest_rank(sorted: &[f64], q: f64) -> f64 {
    sorted[((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let s: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let p = percentiles(&s);
        assert_eq!(
            (p.p50_us, p.p90_us, p.p99_us, p.max_us),
            (50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(percentiles(&[]).n, 0);
    }
}
