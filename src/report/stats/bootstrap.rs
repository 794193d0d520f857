//! Bootstrap confidence intervals, seeded so that a report is the same every time it is
//! rebuilt: the percentile bootstrap of a group's mean over its seeds (Efron & Tibshirani
//! 1993), and the interquartile mean (IQM) over several tasks with a stratified bootstrap
//! interval (Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the Statistical
//! Precipice", and its `rliable` package: runs resampled with replacement within each task).
//!
//! Resampling uses ChaCha8 seeded with [`SEED`] and draws [`RESAMPLES`] resamples; intervals
//! are the 2.5th and 97.5th percentiles of the resampled statistic (linear interpolation, as
//! `numpy.percentile`).

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Number of bootstrap resamples.
pub const RESAMPLES: usize = 10_000;

/// The seed of the resampling stream (ASCII "boot").
pub const SEED: u64 = 0x626f_6f74;

/// The `q`-quantile (0..=1) of `sorted` (ascending), linearly interpolated.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// The central 95% interval of the statistic over `resamples` draws of `draw`.
fn percentile_interval(resamples: usize, mut draw: impl FnMut() -> f64) -> (f64, f64) {
    let mut stats: Vec<f64> = (0..resamples).map(|_| draw()).collect();
    stats.sort_by(f64::total_cmp);
    (quantile(&stats, 0.025), quantile(&stats, 0.975))
}

/// Resamples `values` with replacement into `out`.
fn resample(rng: &mut ChaCha8Rng, values: &[f64], out: &mut Vec<f64>) {
    out.extend((0..values.len()).map(|_| values[rng.random_range(0..values.len())]));
}

/// Percentile-bootstrap 95% interval of the mean of `values` ([`RESAMPLES`] resamples seeded
/// with `seed`); `None` for fewer than two values.
pub fn mean_ci(values: &[f64], resamples: usize, seed: u64) -> Option<(f64, f64)> {
    if values.len() < 2 {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = Vec::with_capacity(values.len());
    Some(percentile_interval(resamples, || {
        buf.clear();
        resample(&mut rng, values, &mut buf);
        buf.iter().sum::<f64>() / buf.len() as f64
    }))
}

/// The interquartile mean: the mean of the values left after cutting `floor(n / 4)` from each
/// end of the sorted values (`scipy.stats.trim_mean(x, 0.25)`, rliable's `aggregate_iqm`).
/// `None` for no values.
pub fn iqm(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let cut = v.len() / 4;
    let kept = &v[cut..v.len() - cut];
    Some(kept.iter().sum::<f64>() / kept.len() as f64)
}

/// The IQM of the runs of every task pooled, and its stratified-bootstrap 95% interval: each
/// resample draws, within every task, as many runs as it has, with replacement. `None` when
/// no task has runs; the interval is `None` when every task has fewer than two runs.
pub fn stratified_iqm(tasks: &[Vec<f64>], resamples: usize, seed: u64) -> Option<(f64, Option<(f64, f64)>)> {
    let pooled: Vec<f64> = tasks.iter().flatten().copied().collect();
    let point = iqm(&pooled)?;
    if tasks.iter().all(|t| t.len() < 2) {
        return Some((point, None));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut buf = Vec::with_capacity(pooled.len());
    let ci = percentile_interval(resamples, || {
        buf.clear();
        for t in tasks.iter().filter(|t| !t.is_empty()) {
            resample(&mut rng, t, &mut buf);
        }
        iqm(&buf).unwrap_or(f64::NAN)
    });
    Some((point, Some(ci)))
}
