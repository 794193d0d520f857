//! Parzen estimators: the densities `l(x)` and `g(x)` of one search-space key.
//!
//! Each is a mixture with one kernel per observation plus a prior kernel, in Optuna 4.5's
//! univariate form (`optuna/samplers/_tpe/parzen_estimator.py`, `probability_distributions.py`):
//!
//! - numerical keys: truncated normals on the (log-)scaled domain `[low, high]`; an integer
//!   key's kernels are discretised on its grid (`step = 1`: the mass of `[x - 1/2, x + 1/2]`
//!   over that of `[low - 1/2, high + 1/2]`). Kernel `i`'s mean is observation `x_i`; its
//!   bandwidth is the larger distance to its neighbours among the sorted observations, the
//!   prior mean `(low + high) / 2` and the ends `low - step/2`, `high + step/2`; the first and
//!   last (endpoints off) take the distance to their only inner neighbour. Magic clip bounds the
//!   bandwidths to `[W / min(100, n + 2), W]`, `W = high - low + step`, `n` observations. The
//!   prior kernel has mean `(low + high) / 2` and bandwidth `W`.
//! - categorical keys: kernel `i` puts `(1 + w/(n+1)) / (1 + k w/(n+1))` on observation `i`'s
//!   choice and `(w/(n+1)) / (1 + k w/(n+1))` on each other choice (`k` choices, `w` the prior
//!   weight); the prior kernel is uniform.
//!
//! The mixture weights are the observations' weights (see [`super::default_weights`]) and the
//! prior weight `w`, normalised; without observations the prior alone.

use super::truncnorm;
use rand::Rng;

/// The prior's settings (Optuna's `_ParzenEstimatorParameters`, univariate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ParzenSettings {
    /// The prior kernel's weight, before normalisation (Optuna: `prior_weight = 1.0`).
    pub prior_weight: f64,
    /// Bound the bandwidths below by `W / min(100, n + 2)` (Optuna: `consider_magic_clip`);
    /// else by 1e-12.
    pub magic_clip: bool,
    /// Let the first and last kernels' bandwidths reach the domain's ends (Optuna:
    /// `consider_endpoints = False`).
    pub endpoints: bool,
}

/// A numerical key's domain, in the scale its kernels live on (log for log-scaled keys).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Interval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// The grid step of an integer key (1), else 0 (continuous).
    pub step: f64,
}

/// The kernels of one key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kernels {
    /// Truncated normals on an interval: means, bandwidths and the log of each kernel's
    /// normaliser (its mass on `[low - step/2, high + step/2]`, times its bandwidth when
    /// continuous), prior last.
    Numeric { mus: Vec<f64>, sigmas: Vec<f64>, log_norms: Vec<f64>, domain: Interval },
    /// One row of choice probabilities per kernel, prior last.
    Categorical { rows: Vec<Vec<f64>> },
}

/// A weighted mixture of kernels over one key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Parzen {
    /// The kernels' weights, summing to 1, prior last.
    pub weights: Vec<f64>,
    /// The kernels.
    pub kernels: Kernels,
}

/// The mixture weights: `obs_weights` then the prior's, normalised; the prior alone without
/// observations.
fn mixture_weights(obs_weights: &[f64], prior_weight: f64) -> Vec<f64> {
    let mut w = obs_weights.to_vec();
    w.push(if obs_weights.is_empty() { 1.0 } else { prior_weight });
    let total: f64 = w.iter().sum();
    w.iter().map(|v| v / total).collect()
}

/// The bandwidths of the observations `obs` on `domain` (the prior's excluded), before clipping.
fn neighbour_bandwidths(obs: &[f64], domain: Interval, endpoints: bool) -> Vec<f64> {
    let Interval { low, high, step } = domain;
    let mut mus = obs.to_vec();
    mus.push(0.5 * (low + high));
    let mut order: Vec<usize> = (0..mus.len()).collect();
    order.sort_by(|&i, &j| mus[i].total_cmp(&mus[j]));
    let mut ends = Vec::with_capacity(mus.len() + 2);
    ends.push(low - step / 2.0);
    ends.extend(order.iter().map(|&i| mus[i]));
    ends.push(high + step / 2.0);
    let m = mus.len();
    let mut sorted: Vec<f64> = (0..m).map(|k| (ends[k + 1] - ends[k]).max(ends[k + 2] - ends[k + 1])).collect();
    if !endpoints && m >= 2 {
        sorted[0] = ends[2] - ends[1];
        sorted[m - 1] = ends[m] - ends[m - 1];
    }
    let mut sigmas = vec![0.0; m];
    for (k, &i) in order.iter().enumerate() {
        sigmas[i] = sorted[k];
    }
    sigmas.truncate(obs.len());
    sigmas
}

/// The index of the component a uniform `u` in `[0, 1)` falls on under `weights` (the first
/// whose cumulative weight exceeds `u`; the last on rounding).
fn pick(weights: &[f64], u: f64) -> usize {
    let total: f64 = weights.iter().sum();
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += w / total;
        if acc > u {
            return i;
        }
    }
    weights.len() - 1
}

/// `ln sum exp(terms)`, `-inf` when every term is.
fn log_sum_exp(terms: impl Iterator<Item = f64>) -> f64 {
    let terms: Vec<f64> = terms.collect();
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
}

impl Parzen {
    /// The estimator of a numerical key from its observations `obs` (in the kernels' scale,
    /// inside `domain`), weighted by `obs_weights` (one each).
    pub fn numeric(obs: &[f64], obs_weights: &[f64], domain: Interval, settings: &ParzenSettings) -> Self {
        let width = domain.high - domain.low + domain.step;
        let min_sigma = if settings.magic_clip { width / (obs.len() as f64 + 2.0).min(100.0) } else { 1e-12 };
        let mut sigmas: Vec<f64> = neighbour_bandwidths(obs, domain, settings.endpoints)
            .into_iter()
            .map(|s| s.clamp(min_sigma, width))
            .collect();
        let mut mus = obs.to_vec();
        mus.push(0.5 * (domain.low + domain.high));
        sigmas.push(width);
        let (low, high, h) = (domain.low, domain.high, domain.step / 2.0);
        let log_norms = mus
            .iter()
            .zip(&sigmas)
            .map(|(mu, s)| {
                let mass = truncnorm::log_gauss_mass((low - h - mu) / s, (high + h - mu) / s);
                if domain.step > 0.0 { mass } else { mass + s.ln() }
            })
            .collect();
        let kernels = Kernels::Numeric { mus, sigmas, log_norms, domain };
        Parzen { weights: mixture_weights(obs_weights, settings.prior_weight), kernels }
    }

    /// The estimator of a categorical key with `choices` choices from the observed choice
    /// indices `obs`, weighted by `obs_weights`.
    pub fn categorical(obs: &[usize], obs_weights: &[f64], choices: usize, settings: &ParzenSettings) -> Self {
        let kernels = obs.len() + 1;
        let fill = if obs.is_empty() { 1.0 } else { settings.prior_weight / kernels as f64 };
        let mut rows = vec![vec![fill; choices]; kernels];
        for (row, &c) in rows.iter_mut().zip(obs) {
            row[c] += 1.0;
        }
        for row in &mut rows {
            let total: f64 = row.iter().sum();
            if total > 0.0 {
                row.iter_mut().for_each(|v| *v /= total);
            }
        }
        Parzen { weights: mixture_weights(obs_weights, settings.prior_weight), kernels: Kernels::Categorical { rows } }
    }

    /// `size` draws (a numerical value in the kernels' scale, on the grid of an integer key; or a
    /// choice index): `size` kernels drawn by weight, then one draw from each.
    pub fn sample(&self, rng: &mut impl Rng, size: usize) -> Vec<f64> {
        let active: Vec<usize> = (0..size).map(|_| pick(&self.weights, rng.random::<f64>())).collect();
        match &self.kernels {
            Kernels::Categorical { rows } => {
                active.iter().map(|&k| pick(&rows[k], rng.random::<f64>()) as f64).collect()
            }
            Kernels::Numeric { mus, sigmas, domain, .. } => {
                let Interval { low, high, step } = *domain;
                let draw = |k: usize, q: f64| {
                    let (mu, s) = (mus[k], sigmas[k]);
                    let x = truncnorm::ppf(q, (low - step / 2.0 - mu) / s, (high + step / 2.0 - mu) / s) * s + mu;
                    if step > 0.0 { (low + ((x - low) / step).round_ties_even() * step).clamp(low, high) } else { x }
                };
                active.iter().map(|&k| draw(k, rng.random::<f64>())).collect()
            }
        }
    }

    /// `ln p(x)`, `x` a value in the kernels' scale (on the grid of an integer key) or a
    /// choice index.
    pub fn log_pdf(&self, x: f64) -> f64 {
        let weights = self.weights.iter().map(|w| w.ln());
        match &self.kernels {
            Kernels::Categorical { rows } => log_sum_exp(weights.zip(rows).map(|(w, row)| w + row[x as usize].ln())),
            Kernels::Numeric { mus, sigmas, log_norms, domain } => {
                let Interval { low, high, step } = *domain;
                if !(low..=high).contains(&x) {
                    return f64::NEG_INFINITY;
                }
                let h = step / 2.0;
                let kernel = |((mu, s), norm): ((&f64, &f64), &f64)| {
                    let density = if step > 0.0 {
                        truncnorm::log_gauss_mass((x - h - mu) / s, (x + h - mu) / s)
                    } else {
                        truncnorm::log_phi((x - mu) / s)
                    };
                    density - norm
                };
                log_sum_exp(weights.zip(mus.iter().zip(sigmas).zip(log_norms)).map(|(w, k)| w + kernel(k)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTUNA: ParzenSettings = ParzenSettings { prior_weight: 1.0, magic_clip: true, endpoints: false };

    fn sigmas(p: &Parzen) -> Vec<f64> {
        match &p.kernels {
            Kernels::Numeric { sigmas, .. } => sigmas.clone(),
            Kernels::Categorical { .. } => unreachable!(),
        }
    }

    fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < tol)
    }

    // Reference values: Optuna 4.5.0's _ParzenEstimator on the same observations and domain.
    #[test]
    fn bandwidths_and_densities_match_optuna() {
        let domain = Interval { low: 0.0, high: 100.0, step: 0.0 };
        let obs = [20.0, 30.0, 90.0];
        // Sorted with the prior mean 50 and the ends: 0 | 20 30 50 90 | 100. Kernel 20 (first,
        // endpoints off): 30 - 20; 30: max(10, 20); 90 (last): 90 - 50; prior: the width.
        let unclipped = Parzen::numeric(&obs, &[1.0; 3], domain, &ParzenSettings { magic_clip: false, ..OPTUNA });
        assert_eq!(sigmas(&unclipped), [10.0, 20.0, 40.0, 100.0]);
        assert_eq!(unclipped.weights, [0.25; 4]);
        let p = Parzen::numeric(&obs, &[1.0; 3], domain, &OPTUNA);
        // Magic clip: at least 100 / min(100, 3 + 2) = 20.
        assert_eq!(sigmas(&p), [20.0, 20.0, 40.0, 100.0]);
        let lp: Vec<f64> = [25.0, 0.0, 99.0].iter().map(|&x| p.log_pdf(x)).collect();
        assert!(close(&lp, &[-4.22772993, -4.83242109, -5.04035655], 1e-7), "{lp:?}");
        let lp: Vec<f64> = [25.0, 0.0, 99.0].iter().map(|&x| unclipped.log_pdf(x)).collect();
        assert!(close(&lp, &[-4.02592059, -5.15798686, -5.04073144], 1e-7), "{lp:?}");

        // An integer key on [1, 8]: ends 0.5 and 8.5, width 8.
        let p = Parzen::numeric(&[2.0, 3.0, 7.0], &[1.0; 3], Interval { low: 1.0, high: 8.0, step: 1.0 }, &OPTUNA);
        assert!(close(&sigmas(&p), &[1.6, 1.6, 2.5, 8.0], 1e-12), "{:?}", sigmas(&p));
        let lp: Vec<f64> = [1.0, 3.0, 8.0].iter().map(|&x| p.log_pdf(x)).collect();
        assert!(close(&lp, &[-2.0804929, -1.74753385, -2.51313317], 1e-7), "{lp:?}");
    }

    #[test]
    fn categorical_kernels_match_optuna() {
        // Choices 0, 0, 2 of three, prior weight 1: each kernel puts (1 + 1/4) / (1 + 3/4) on its
        // choice and (1/4) / (1 + 3/4) on the others; the prior is uniform.
        let p = Parzen::categorical(&[0, 0, 2], &[1.0; 3], 3, &OPTUNA);
        let Kernels::Categorical { rows } = &p.kernels else { unreachable!() };
        assert!(close(&rows[0], &[1.25 / 1.75, 0.25 / 1.75, 0.25 / 1.75], 1e-15));
        assert!(close(&rows[2], &[0.25 / 1.75, 0.25 / 1.75, 1.25 / 1.75], 1e-15));
        assert!(close(&rows[3], &[1.0 / 3.0; 3], 1e-15));
        let lp: Vec<f64> = (0..3).map(|c| p.log_pdf(c as f64)).collect();
        assert!(close(&lp, &[-0.74193734, -1.65822808, -1.09861229], 1e-7), "{lp:?}");
        // Without observations: the prior alone.
        let p = Parzen::categorical(&[], &[], 4, &OPTUNA);
        assert_eq!((p.weights.as_slice(), p.log_pdf(1.0)), (&[1.0][..], 0.25f64.ln()));
    }

    #[test]
    fn draws_follow_the_mixture() {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let domain = Interval { low: 1.0, high: 8.0, step: 1.0 };
        let p = Parzen::numeric(&[2.0, 2.0, 2.0, 2.0], &[1.0; 4], domain, &OPTUNA);
        let draws = p.sample(&mut rng, 4000);
        assert!(draws.iter().all(|x| x.fract() == 0.0 && (1.0..=8.0).contains(x)));
        // The share of 2s matches the mixture's probability of 2.
        let share = draws.iter().filter(|&&x| x == 2.0).count() as f64 / 4000.0;
        assert!((share - p.log_pdf(2.0).exp()).abs() < 0.03, "{share} vs {}", p.log_pdf(2.0).exp());
        let c = Parzen::categorical(&[1, 1, 1], &[1.0; 3], 3, &OPTUNA);
        let ones = c.sample(&mut rng, 4000).iter().filter(|&&x| x == 1.0).count() as f64 / 4000.0;
        assert!((ones - c.log_pdf(1.0).exp()).abs() < 0.03, "{ones}");
    }
}
