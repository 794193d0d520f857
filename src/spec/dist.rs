//! Distributions for random search, drawn from a seeded generator.

use rand::Rng;
use serde::{Deserialize, Serialize};

/// A distribution over one swept value, written `{ log_uniform = [1e-4, 1e-1] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Uniform on `[low, high)`.
    Uniform([f64; 2]),
    /// Log-uniform on `[low, high)`, `low > 0`.
    LogUniform([f64; 2]),
    /// A uniformly drawn integer in `[low, high]`.
    IntRange([i64; 2]),
    /// An integer in `[low, high]`, `low >= 1`, uniform on a log scale (widths, counts):
    /// `floor(x)` for `x` log-uniform on `[low, high + 1)`.
    IntLogUniform([i64; 2]),
    /// One of the listed values.
    Choice(Vec<toml::Value>),
}

impl Distribution {
    /// Checks the bounds.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            Distribution::Uniform([lo, hi]) if !(lo.is_finite() && hi.is_finite() && lo < hi) => {
                Err(format!("uniform needs finite low < high, got [{lo}, {hi}]"))
            }
            Distribution::LogUniform([lo, hi]) if !(*lo > 0.0 && hi.is_finite() && lo < hi) => {
                Err(format!("log_uniform needs 0 < low < high, got [{lo}, {hi}]"))
            }
            Distribution::IntRange([lo, hi]) if lo > hi => {
                Err(format!("int_range needs low <= high, got [{lo}, {hi}]"))
            }
            Distribution::IntLogUniform([lo, hi]) if !(*lo >= 1 && lo <= hi) => {
                Err(format!("int_log_uniform needs 1 <= low <= high, got [{lo}, {hi}]"))
            }
            Distribution::Choice(v) if v.is_empty() => Err("choice needs at least one value".into()),
            _ => Ok(()),
        }
    }

    /// Draws one value.
    pub fn sample(&self, rng: &mut impl Rng) -> toml::Value {
        match self {
            Distribution::Uniform([lo, hi]) => toml::Value::Float(lo + (hi - lo) * rng.random::<f64>()),
            Distribution::LogUniform([lo, hi]) => {
                toml::Value::Float((lo.ln() + (hi.ln() - lo.ln()) * rng.random::<f64>()).exp())
            }
            Distribution::IntRange([lo, hi]) => toml::Value::Integer(rng.random_range(*lo..=*hi)),
            Distribution::IntLogUniform([lo, hi]) => {
                let (a, b) = ((*lo as f64).ln(), (*hi as f64 + 1.0).ln());
                let x = (a + (b - a) * rng.random::<f64>()).exp().floor() as i64;
                toml::Value::Integer(x.clamp(*lo, *hi))
            }
            Distribution::Choice(v) => v[rng.random_range(0..v.len())].clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn draws_stay_in_bounds_and_repeat_with_the_seed() {
        let d = Distribution::LogUniform([1e-4, 1e-1]);
        let draw = |s| {
            let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(s);
            (0..50).map(|_| d.sample(&mut r).as_float().unwrap()).collect::<Vec<_>>()
        };
        let a = draw(3);
        assert_eq!(a, draw(3));
        assert_ne!(a, draw(4));
        assert!(a.iter().all(|v| (1e-4..1e-1).contains(v)));
        let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let ints: Vec<i64> =
            (0..200).map(|_| Distribution::IntRange([2, 4]).sample(&mut r).as_integer().unwrap()).collect();
        assert!(ints.contains(&2) && ints.contains(&4) && ints.iter().all(|v| (2..=4).contains(v)));
        assert!(Distribution::LogUniform([0.0, 1.0]).validate().is_err());
        let d = Distribution::IntLogUniform([8, 1024]);
        let ints: Vec<i64> = (0..2000).map(|_| d.sample(&mut r).as_integer().unwrap()).collect();
        assert!(ints.iter().all(|v| (8..=1024).contains(v)));
        // Log scale: about as many draws in [8, 90] as in [91, 1024].
        let low = ints.iter().filter(|&&v| v <= 90).count();
        assert!((800..1200).contains(&low), "{low} of 2000 draws in [8, 90]");
        assert!(Distribution::IntLogUniform([0, 5]).validate().is_err());
    }
}
