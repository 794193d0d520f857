//! Effect sizes of the difference between two groups' means, in units of their pooled sample
//! standard deviation: Cohen's d and its small-sample correction Hedges' g (Hedges & Olkin
//! 1985; the approximate factor `1 - 3 / (4 (n_a + n_b) - 9)`).

use super::Stats;

/// Cohen's d of `a` against `b`: `(mean_a - mean_b) / s_pooled`, with
/// `s_pooled^2 = ((n_a - 1) s_a^2 + (n_b - 1) s_b^2) / (n_a + n_b - 2)`. `None` when either
/// group has fewer than two values or the pooled deviation is zero.
pub fn cohens_d(a: &[f64], b: &[f64]) -> Option<f64> {
    let (sa, sb) = (Stats::of(a)?, Stats::of(b)?);
    if sa.n < 2 || sb.n < 2 {
        return None;
    }
    let pooled =
        (((sa.n - 1) as f64 * sa.std.powi(2) + (sb.n - 1) as f64 * sb.std.powi(2)) / (sa.n + sb.n - 2) as f64).sqrt();
    (pooled > 0.0).then(|| (sa.mean - sb.mean) / pooled)
}

/// Hedges' g of `a` against `b`: Cohen's d times `1 - 3 / (4 (n_a + n_b) - 9)`.
pub fn hedges_g(a: &[f64], b: &[f64]) -> Option<f64> {
    let n = (a.len() + b.len()) as f64;
    cohens_d(a, b).map(|d| d * (1.0 - 3.0 / (4.0 * n - 9.0)))
}
