//! Summary statistics over seeds: the mean, sample std and Student t interval of a group
//! ([`Stats`]), Welch's t-test, and the verdict against a published value. The other tests
//! live in one module each: paired tests ([`paired`]), the Holm–Bonferroni correction
//! ([`holm`]), bootstrap intervals and the interquartile mean ([`bootstrap`]), effect sizes
//! ([`effect`]).

pub mod bootstrap;
pub mod effect;
pub mod holm;
pub mod paired;

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

/// A sample's summary for Welch's test: mean, sample standard deviation, size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1).
    pub std: f64,
    /// Number of values.
    pub n: usize,
}

impl From<Stats> for Summary {
    fn from(s: Stats) -> Summary {
        Summary { mean: s.mean, std: s.std, n: s.n }
    }
}

/// Welch's t statistic of `a - b` and its Welch–Satterthwaite degrees of freedom; `Err` with
/// the p-value to report when both variances are zero (two-sided: 1 for equal means, else 0).
fn welch_t(a: Summary, b: Summary) -> Result<(f64, f64), f64> {
    let (va, vb) = (a.std.powi(2) / a.n as f64, b.std.powi(2) / b.n as f64);
    if va + vb == 0.0 {
        return Err(if a.mean == b.mean { 1.0 } else { 0.0 });
    }
    let t = (a.mean - b.mean) / (va + vb).sqrt();
    let df = (va + vb).powi(2) / (va.powi(2) / (a.n - 1) as f64 + vb.powi(2) / (b.n - 1) as f64);
    Ok((t, df))
}

/// Two-sided p-value of Welch's test from two samples' summaries (`scipy.stats.
/// ttest_ind_from_stats(..., equal_var=False)`); `None` when either has fewer than two values.
pub fn welch_p_summary(a: Summary, b: Summary) -> Option<f64> {
    if a.n < 2 || b.n < 2 {
        return None;
    }
    match welch_t(a, b) {
        Err(p) => Some(p),
        Ok((t, df)) => Some((2.0 * StudentsT::new(0.0, 1.0, df).ok()?.cdf(-t.abs())).clamp(0.0, 1.0)),
    }
}

/// Two-sided p-value of Welch's unequal-variance t-test for the means of `a` and `b`.
///
/// `None` when either sample has fewer than two values. When both variances are zero the
/// p-value is 1 for equal means and 0 otherwise.
pub fn welch_p(a: &[f64], b: &[f64]) -> Option<f64> {
    welch_p_summary(Stats::of(a)?.into(), Stats::of(b)?.into())
}

/// One-sided p-value of Welch's test for "the mean of `a` is larger than that of `b`"
/// (`scipy.stats.ttest_ind(a, b, equal_var=False, alternative="greater")`); `None` when either
/// sample has fewer than two values. Both variances zero: 0 when `a`'s mean is larger, else 1.
pub fn welch_greater_p(a: &[f64], b: &[f64]) -> Option<f64> {
    let (sa, sb) = (Stats::of(a)?, Stats::of(b)?);
    if sa.n < 2 || sb.n < 2 {
        return None;
    }
    match welch_t(sa.into(), sb.into()) {
        Err(_) => Some(if sa.mean > sb.mean { 0.0 } else { 1.0 }),
        Ok((t, df)) => Some(StudentsT::new(0.0, 1.0, df).ok()?.cdf(-t).clamp(0.0, 1.0)),
    }
}

/// The significance level of the verdicts and claims unless a claim sets its own.
pub const ALPHA: f64 = 0.05;

/// Whether a published value was reproduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The published value lies in the 95% CI widened by the tolerance (or, for a single
    /// seed, within the tolerance of the value).
    Reproduced,
    /// It does not.
    NotReproduced,
    /// No published value for this row.
    NoReference,
}

impl Verdict {
    /// Decides the verdict for a published mean ± std over `n` runs (`[reference]` rows with
    /// `std` and `n`): reproduced when Welch's two-sided test from the two summaries does not
    /// reject equal means at [`ALPHA`]. Returns the verdict and the test's p-value (`None`,
    /// and not reproduced, for fewer than two seeds).
    pub fn decide_summary(stats: Option<&Stats>, published: Summary) -> (Verdict, Option<f64>) {
        let p = stats.and_then(|s| welch_p_summary((*s).into(), published));
        (if p.is_some_and(|p| p >= ALPHA) { Verdict::Reproduced } else { Verdict::NotReproduced }, p)
    }

    /// Decides the verdict for a published value against the group's statistics.
    pub fn decide(stats: Option<&Stats>, published: Option<f64>, tolerance: f64) -> Verdict {
        match (stats, published) {
            (_, None) => Verdict::NoReference,
            (None, Some(_)) => Verdict::NotReproduced,
            (Some(s), Some(p)) => {
                let (lo, hi) = if s.n >= 2 { s.ci95 } else { (s.mean, s.mean) };
                if p >= lo - tolerance && p <= hi + tolerance { Verdict::Reproduced } else { Verdict::NotReproduced }
            }
        }
    }

    /// The text shown in tables.
    pub fn text(self) -> &'static str {
        match self {
            Verdict::Reproduced => "reproduced",
            Verdict::NotReproduced => "not reproduced",
            Verdict::NoReference => "no reference",
        }
    }
}

#[cfg(test)]
mod welch_tests {
    use super::*;

    #[test]
    fn intervals_and_welch_match_scipy_fixtures() {
        // tests/fixtures/stats.json is written by scripts/make_stats_fixtures.py (scipy).
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/stats.json")).unwrap();
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
        assert_eq!(cases.len(), 4);
        let nums =
            |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>();
        for c in &cases {
            let (a, b) = (nums(&c["a"]), nums(&c["b"]));
            let s = Stats::of(&a).unwrap();
            let ci = nums(&c["ci95_a"]);
            assert!((s.mean - c["mean_a"].as_f64().unwrap()).abs() < 1e-12);
            assert!((s.std - c["std_a"].as_f64().unwrap()).abs() < 1e-12);
            assert!((s.ci95.0 - ci[0]).abs() < 1e-9 && (s.ci95.1 - ci[1]).abs() < 1e-9, "{:?} vs {ci:?}", s.ci95);
            let p = welch_p(&a, &b).unwrap();
            assert!((p - c["welch_p"].as_f64().unwrap()).abs() < 1e-9, "{p} vs {}", c["welch_p"]);
        }
        assert_eq!(welch_p(&[1.0, 1.0], &[1.0, 1.0]), Some(1.0));
        assert_eq!(welch_p(&[1.0, 1.0], &[2.0, 2.0]), Some(0.0));
        assert_eq!(welch_p(&[1.0], &[2.0, 3.0]), None);
    }

    #[test]
    fn verdicts_at_the_edges() {
        let s = Stats::of(&[1.0, 2.0, 3.0, 4.0, 5.0]).unwrap(); // CI (1.0367568385224393, 4.963243161477561)
        assert_eq!(Verdict::decide(Some(&s), Some(4.96), 0.0), Verdict::Reproduced);
        assert_eq!(Verdict::decide(Some(&s), Some(4.97), 0.0), Verdict::NotReproduced);
        assert_eq!(Verdict::decide(Some(&s), Some(4.97), 0.01), Verdict::Reproduced);
        assert_eq!(Verdict::decide(Some(&s), Some(1.03), 0.0), Verdict::NotReproduced);
        assert_eq!(Verdict::decide(Some(&s), None, 0.0), Verdict::NoReference);
        assert_eq!(Verdict::decide(None, Some(1.0), 0.0), Verdict::NotReproduced);
        let one = Stats::of(&[0.5]).unwrap();
        assert_eq!(Verdict::decide(Some(&one), Some(0.52), 0.02), Verdict::Reproduced);
        assert_eq!(Verdict::decide(Some(&one), Some(0.53), 0.02), Verdict::NotReproduced);
    }
}

#[cfg(test)]
mod reference_tests;
