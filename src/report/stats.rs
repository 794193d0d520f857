//! Summary statistics over seeds.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// Statistics of one metric over a group's trials.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Number of values.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single value.
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// 95% Student-t confidence interval of the mean (NaN bounds when n < 2).
    pub ci95: (f64, f64),
}

impl Stats {
    /// Computes the statistics; `None` for no values.
    pub fn of(values: &[f64]) -> Option<Stats> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let var = if n > 1 { values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64 } else { 0.0 };
        let std = var.sqrt();
        let ci95 = if n > 1 {
            let t = StudentsT::new(0.0, 1.0, (n - 1) as f64).expect("n > 1").inverse_cdf(0.975);
            let half = t * std / (n as f64).sqrt();
            (mean - half, mean + half)
        } else {
            (f64::NAN, f64::NAN)
        };
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Stats { n, mean, std, min, max, ci95 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scipy_t_interval() {
        // scipy.stats.t.interval(0.95, 4, loc=mean, scale=sem) for [1, 2, 3, 4, 5]:
        // mean 3, std 1.5811388300841898, interval (1.0367568385224393, 4.963243161477561).
        let s = Stats::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap();
        assert_eq!(s.n, 5);
        assert!((s.mean - 3.0).abs() < 1e-12);
        assert!((s.std - 1.5811388300841898).abs() < 1e-12);
        assert!((s.ci95.0 - 1.0367568385224393).abs() < 1e-9, "{:?}", s.ci95);
        assert!((s.ci95.1 - 4.963243161477561).abs() < 1e-9);
        let one = Stats::of(&[0.5]).unwrap();
        assert_eq!(one.std, 0.0);
        assert!(one.ci95.0.is_nan());
        assert!(Stats::of(&[]).is_none());
    }
}
