//! Paired tests for two variants run on the same seeds: the paired t-test and the Wilcoxon
//! signed-rank test, both two-sided, on the per-seed differences `a[i] - b[i]`.
//!
//! They match `scipy.stats.ttest_rel` and `scipy.stats.wilcoxon` as of scipy 1.14 (defaults:
//! zeros dropped; the exact null distribution for n <= 50 without zeros, a statistic made
//! non-integral by ties rounded conservatively; else the normal approximation with the tie
//! correction and no continuity correction); checked against scipy on the fixtures of
//! `scripts/make_report_stats_fixtures.py`.

use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
use std::collections::BTreeMap;

/// The values of two groups matched by seed, when both have exactly the same seeds (each
/// once, at least two): `(a, b)` in ascending seed order; `None` otherwise.
pub fn pair_by_seed(a: &[(u64, f64)], b: &[(u64, f64)]) -> Option<(Vec<f64>, Vec<f64>)> {
    let ma: BTreeMap<u64, f64> = a.iter().copied().collect();
    let mb: BTreeMap<u64, f64> = b.iter().copied().collect();
    if ma.len() != a.len() || mb.len() != b.len() || ma.len() < 2 || !ma.keys().eq(mb.keys()) {
        return None;
    }
    Some((ma.into_values().collect(), mb.into_values().collect()))
}

/// Two-sided p-value of the paired t-test of `a` against `b` (equal lengths, n >= 2; `None`
/// otherwise). Differences all equal: 1 when they are zero, else 0.
pub fn paired_t_p(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let s = super::Stats::of(&d)?;
    if s.std == 0.0 {
        return Some(if s.mean == 0.0 { 1.0 } else { 0.0 });
    }
    let t = s.mean / (s.std / (s.n as f64).sqrt());
    let dist = StudentsT::new(0.0, 1.0, (s.n - 1) as f64).ok()?;
    Some((2.0 * dist.cdf(-t.abs())).clamp(0.0, 1.0))
}

/// Ranks of `v` from 1, ties given their average rank.
fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// P(T <= ceil(r)) and P(T >= floor(r)) for the signed-rank statistic of `n` untied ranks (every sign
/// pattern equally likely), from the exact count of subsets of 1..=n by their sum.
fn exact_tails(n: usize, r: f64) -> (f64, f64) {
    let max = n * (n + 1) / 2;
    let mut counts = vec![0.0f64; max + 1];
    counts[0] = 1.0;
    for k in 1..=n {
        for s in (k..=max).rev() {
            counts[s] += counts[s - k];
        }
    }
    let total: f64 = counts.iter().sum();
    let below: f64 = counts.iter().enumerate().filter(|(s, _)| *s as f64 <= r.ceil()).map(|(_, c)| c).sum();
    let above: f64 = counts.iter().enumerate().filter(|(s, _)| *s as f64 >= r.floor()).map(|(_, c)| c).sum();
    (below / total, above / total)
}

/// Two-sided p-value of the Wilcoxon signed-rank test of `a` against `b` (equal lengths);
/// `None` when fewer than one non-zero difference remains. Zero differences are dropped
/// (scipy's `zero_method="wilcox"`).
pub fn wilcoxon_p(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() {
        return None;
    }
    let had_zeros = a.iter().zip(b).any(|(x, y)| x == y);
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).filter(|d| *d != 0.0).collect();
    let n = d.len();
    if n == 0 {
        return None;
    }
    let abs: Vec<f64> = d.iter().map(|x| x.abs()).collect();
    let ranks = average_ranks(&abs);
    let r_plus: f64 = d.iter().zip(&ranks).filter(|(x, _)| **x > 0.0).map(|(_, r)| r).sum();
    if n <= 50 && !had_zeros {
        let (below, above) = exact_tails(n, r_plus);
        return Some((2.0 * below.min(above)).min(1.0));
    }
    let nf = n as f64;
    let mean = nf * (nf + 1.0) / 4.0;
    let mut groups: BTreeMap<u64, usize> = BTreeMap::new();
    for r in &ranks {
        *groups.entry(r.to_bits()).or_default() += 1;
    }
    let tie_term: f64 = groups.values().map(|&t| (t * t * t - t) as f64).sum::<f64>() / 48.0;
    let var = nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0 - tie_term;
    if var <= 0.0 {
        return Some(1.0);
    }
    let z = (r_plus - mean) / var.sqrt();
    let normal = Normal::new(0.0, 1.0).ok()?;
    Some((2.0 * normal.cdf(-z.abs())).min(1.0))
}
