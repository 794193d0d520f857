//! The truncated normal distribution, in log space where the tails need it.
//!
//! The kernels of TPE's Parzen estimators (see [`super::parzen`]). A standard normal truncated
//! to `[a, b]` has the density `phi(z) / (Phi(b) - Phi(a))` on `[a, b]`, where `phi` and `Phi`
//! are the standard normal density and distribution function. The probability mass
//! `Phi(b) - Phi(a)` is computed in log space on the left tail (mirroring a right-tail interval),
//! which keeps its precision far from the mean; the same approach as Optuna's
//! `optuna/samplers/_tpe/_truncnorm.py` and SciPy's `scipy.stats.truncnorm`.

use statrs::function::erf::{erfc, erfc_inv};
use std::f64::consts::SQRT_2;

/// `ln(sqrt(2 pi))`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// `Phi(x)`, the standard normal distribution function.
pub(crate) fn ndtr(x: f64) -> f64 {
    0.5 * erfc(-x / SQRT_2)
}

/// `ln Phi(x)`, accurate in the left tail: direct above -20, below it the asymptotic series
/// `ln Phi(x) = ln(phi(x) / -x) + ln(1 - 1/x^2 + 3/x^4 - 15/x^6 + ...)` (Abramowitz and Stegun
/// 26.2.12), summed while its terms shrink.
pub(crate) fn log_ndtr(x: f64) -> f64 {
    if x > 6.0 {
        return (-ndtr(-x)).ln_1p();
    }
    if x > -20.0 {
        return ndtr(x).ln();
    }
    let lead = -0.5 * x * x - (-x).ln() - LN_SQRT_2PI;
    let inv_x2 = 1.0 / (x * x);
    let (mut sum, mut term, mut k) = (1.0f64, 1.0f64, 1.0f64);
    loop {
        let next = -term * (2.0 * k - 1.0) * inv_x2;
        if next.abs() >= term.abs() || next.abs() < f64::EPSILON * sum.abs() {
            break;
        }
        sum += next;
        term = next;
        k += 1.0;
    }
    lead + sum.ln()
}

/// `ln(exp(p) - exp(q))` for `p >= q`.
fn log_diff(p: f64, q: f64) -> f64 {
    p + (-(q - p).exp()).ln_1p()
}

/// `ln(exp(p) + exp(q))`.
fn log_sum(p: f64, q: f64) -> f64 {
    let m = p.max(q);
    if m == f64::NEG_INFINITY { m } else { m + ((p - m).exp() + (q - m).exp()).ln() }
}

/// `ln(Phi(b) - Phi(a))` for `a <= b`: the log of the standard normal's mass on `[a, b]`.
pub(crate) fn log_gauss_mass(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        log_diff(log_ndtr(b), log_ndtr(a))
    } else if a > 0.0 {
        log_gauss_mass(-b, -a)
    } else {
        // Central: 1 - Phi(a) - Phi(-b), without the cancellation of a difference near 1.
        (-ndtr(a) - ndtr(-b)).ln_1p()
    }
}

/// `Phi^-1(exp(y))`: the standard normal quantile of a probability given by its log.
fn ndtri_exp(y: f64) -> f64 {
    if y > -std::f64::consts::LN_2 {
        // p > 1/2: from the upper tail 1 - p = -expm1(y), which keeps its digits.
        SQRT_2 * erfc_inv(-2.0 * y.exp_m1())
    } else {
        -SQRT_2 * erfc_inv(2.0 * y.exp())
    }
}

/// The `q`-quantile (`0 <= q <= 1`) of the standard normal truncated to `[a, b]`, `a < b`: the
/// `z` with `Phi(z) = Phi(a) + q (Phi(b) - Phi(a))`, solved on the left tail (mirrored for
/// `a >= 0`). Clamped to `[a, b]`.
pub(crate) fn ppf(q: f64, a: f64, b: f64) -> f64 {
    let log_mass = log_gauss_mass(a, b);
    let z = if a < 0.0 {
        ndtri_exp(log_sum(log_ndtr(a), q.ln() + log_mass))
    } else {
        -ndtri_exp(log_sum(log_ndtr(-b), (-q).ln_1p() + log_mass))
    };
    z.clamp(a, b)
}

/// `ln phi(z)`, the standard normal log density: `-z^2 / 2 - ln sqrt(2 pi)`. A normal with mean
/// `mu` and standard deviation `sigma` truncated to `[low, high]` has the log density
/// `ln phi(z) - ln(Phi(b) - Phi(a)) - ln sigma` at `x` in `[low, high]` (`z = (x - mu) / sigma`,
/// `a`, `b` the standardised bounds), `-inf` outside.
pub(crate) fn log_phi(z: f64) -> f64 {
    -0.5 * z * z - LN_SQRT_2PI
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masses_quantiles_and_tails() {
        // Phi(1) - Phi(-1) = 0.682689492137...; Phi(-30) = 4.906713927e-198 (R: pnorm(-30)).
        // statrs' erfc is good to about 1e-11 here.
        assert!((log_gauss_mass(-1.0, 1.0).exp() - 0.682_689_492_137_086).abs() < 1e-10);
        assert!((log_ndtr(-30.0) - 4.906_713_927_148_187e-198_f64.ln()).abs() < 1e-9);
        // The series below -20 agrees with the direct formula there.
        assert!((log_ndtr(-20.5) - ndtr(-20.5).ln()).abs() < 1e-8, "{}", log_ndtr(-20.5) - ndtr(-20.5).ln());
        // A far right-tail interval, by symmetry with the left one.
        assert!((log_gauss_mass(30.0, 31.0) - log_gauss_mass(-31.0, -30.0)).abs() < 1e-12);
        assert!(log_gauss_mass(30.0, 31.0).is_finite());
        for (a, b) in [(-1.0, 2.0), (0.5, 3.0), (-40.0, 0.1), (-0.2, 0.0)] {
            for q in [0.0, 0.1, 0.5, 0.9, 1.0] {
                let z = ppf(q, a, b);
                let back = (log_gauss_mass(a, z) - log_gauss_mass(a, b)).exp();
                assert!((a..=b).contains(&z) && (back - q).abs() < 1e-9, "ppf({q}, {a}, {b}) = {z}: {back}");
            }
        }
        // A truncated density integrates to 1 on its interval (midpoint rule).
        let (n, mu, sigma) = (20_000, 0.7, 1.3);
        let h = 6.0 / n as f64;
        let norm = log_gauss_mass((-1.0 - mu) / sigma, (5.0 - mu) / sigma) + f64::ln(sigma);
        let total: f64 = (0..n).map(|i| (log_phi((-1.0 + (i as f64 + 0.5) * h - mu) / sigma) - norm).exp() * h).sum();
        assert!((total - 1.0).abs() < 1e-6, "{total}");
    }
}
