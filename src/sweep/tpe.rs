//! TPE: the Tree-structured Parzen Estimator sampler.
//!
//! Bergstra, Bardenet, Bengio and Kégl (2011), "Algorithms for Hyper-Parameter Optimization"
//! (NeurIPS), with Optuna 4.5's `TPESampler` (`optuna/samplers/_tpe/sampler.py`) and its
//! defaults as the reference behaviour. Each proposal, for each key independently
//! (univariate):
//!
//! 1. The usable history (failed trials, and trials without a value, left out) is split: the
//!    best `gamma(n) = min(ceil(n / 10), 25)` of its `n` trials are "below", the rest "above".
//!    Completed trials rank first, by value; pruned ones after them, the deeper first (larger
//!    last step), then by value.
//! 2. Two Parzen estimators (see [`parzen`]) are fitted to the key's values: `l(x)` to the
//!    below trials, `g(x)` to the above ones, each trial's kernel weighted by its age
//!    ([`default_weights`], trials in history order) plus a prior kernel.
//! 3. `n_ei_candidates` (24) candidates are drawn from `l`; the one with the largest
//!    `ln l(x) - ln g(x)` is proposed (the expected improvement of the paper's section 4 is
//!    increasing in `l(x) / g(x)`).
//!
//! The first `n_startup_trials` (10) proposals, while fewer usable trials exist, are
//! [`RandomSampler`]'s (the same draws). Float keys are modelled on their (log-)scaled domain;
//! `int_range` keys with kernels discretised on the integers; `int_log_uniform` keys as Optuna
//! models a `log=True` integer: continuous on `[ln(low - 1/2), ln(high + 1/2)]`, rounded to the
//! nearest integer; `choice` keys with categorical kernels. A key with a single value takes it.
//! Every draw of proposal `number` comes from a ChaCha8 generator seeded with
//! [`proposal_seed`]`(seed, number)`, so a proposal depends on the seed, its number and the
//! history only.

mod parzen;
mod truncnorm;

use super::sampler::{Observation, RandomSampler, Sampler, proposal_seed};
use super::{Distribution, Outcome, Point};
use parzen::{Interval, Parzen, ParzenSettings};
use rand::SeedableRng;

/// The TPE sampler (Optuna's `TPESampler` defaults, univariate).
#[derive(Debug, Clone)]
pub struct Tpe {
    seed: u64,
    n_startup_trials: usize,
    n_ei_candidates: usize,
    parzen: ParzenSettings,
}

impl Tpe {
    /// A TPE sampler with the sweep's seed and Optuna's defaults: 10 start-up trials, 24
    /// candidates, prior weight 1, magic clip on, endpoints off.
    pub fn new(seed: u64) -> Self {
        Tpe {
            seed,
            n_startup_trials: 10,
            n_ei_candidates: 24,
            parzen: ParzenSettings { prior_weight: 1.0, magic_clip: true, endpoints: false },
        }
    }

    /// The number of usable trials below which proposals are random (default 10).
    pub fn with_startup_trials(mut self, n: usize) -> Self {
        self.n_startup_trials = n;
        self
    }

    /// The number of candidates drawn from `l(x)` per proposal and key (default 24; at least 1).
    pub fn with_ei_candidates(mut self, n: usize) -> Self {
        self.n_ei_candidates = n.max(1);
        self
    }
}

/// The number of "below" (good) trials among `n`: `min(ceil(n / 10), 25)` (Optuna's
/// `default_gamma`).
pub fn gamma(n: usize) -> usize {
    n.div_ceil(10).min(25)
}

/// The weights of `n` trials' kernels, oldest first (Optuna's `default_weights`): 1 for all
/// when `n < 25`, else a ramp from `1/n` to 1 (`linspace(1/n, 1, n - 25)`) for the oldest
/// `n - 25` and 1 for the newest 25.
pub fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let start = 1.0 / n as f64;
    let mut w: Vec<f64> = match ramp {
        0 => Vec::new(),
        1 => vec![start],
        _ => (0..ramp).map(|i| start + (1.0 - start) * i as f64 / (ramp - 1) as f64).collect(),
    };
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

/// The history split into below and above (indices into `history`, each in history order),
/// and the number of usable trials. A trial is usable unless it failed, has no value, or
/// completed (or diverged) with a NaN value (Optuna fails a NaN objective). Completed trials
/// rank by value; pruned ones after them by `(-step, value)` (NaN as `+inf`); ties keep
/// history order.
pub fn split(history: &[Observation]) -> (Vec<usize>, Vec<usize>, usize) {
    let mut complete: Vec<(usize, f64)> = Vec::new();
    let mut pruned: Vec<(usize, f64, f64)> = Vec::new();
    for (i, o) in history.iter().enumerate() {
        match (o.outcome, o.value) {
            (Outcome::Failed, _) | (Outcome::Completed | Outcome::Diverged, None) => {}
            (Outcome::Completed | Outcome::Diverged, Some(v)) if !v.is_nan() => complete.push((i, v)),
            (Outcome::Completed | Outcome::Diverged, Some(_)) => {}
            (Outcome::Pruned, Some(v)) => {
                pruned.push((i, -(o.step as f64), if v.is_nan() { f64::INFINITY } else { v }))
            }
            // Optuna ranks a pruned trial without intermediate values last: (1, 0).
            (Outcome::Pruned, None) => pruned.push((i, 1.0, 0.0)),
        }
    }
    let n = complete.len() + pruned.len();
    let n_below = gamma(n);
    complete.sort_by(|a, b| a.1.total_cmp(&b.1));
    pruned.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.2.total_cmp(&b.2)));
    let ranked: Vec<usize> = complete.iter().map(|c| c.0).chain(pruned.iter().map(|p| p.0)).collect();
    let (mut below, mut above) = (ranked[..n_below.min(n)].to_vec(), ranked[n_below.min(n)..].to_vec());
    below.sort_unstable();
    above.sort_unstable();
    (below, above, n)
}

/// How a key's values are modelled: a numerical interval (and how to map values to it) or
/// categorical.
enum Domain<'a> {
    Numeric { interval: Interval, log: bool, kind: Kind },
    Categorical(&'a [toml::Value]),
}

/// The external type of a numerical key.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A float on `[low, high)`.
    Float { low: f64, high: f64 },
    /// An integer on `[low, high]`.
    Int { low: i64, high: i64 },
}

/// A number from a swept value (floats, or integers where a float is swept).
fn number(v: &toml::Value) -> Option<f64> {
    v.as_float().or_else(|| v.as_integer().map(|i| i as f64))
}

impl<'a> Domain<'a> {
    fn of(d: &'a Distribution) -> Self {
        let numeric = |low: f64, high: f64, step, log, kind| Domain::Numeric {
            interval: Interval { low, high, step },
            log,
            kind,
        };
        match d {
            Distribution::Uniform([lo, hi]) => numeric(*lo, *hi, 0.0, false, Kind::Float { low: *lo, high: *hi }),
            Distribution::LogUniform([lo, hi]) => {
                numeric(lo.ln(), hi.ln(), 0.0, true, Kind::Float { low: *lo, high: *hi })
            }
            Distribution::IntRange([lo, hi]) => {
                numeric(*lo as f64, *hi as f64, 1.0, false, Kind::Int { low: *lo, high: *hi })
            }
            Distribution::IntLogUniform([lo, hi]) => {
                let kind = Kind::Int { low: *lo, high: *hi };
                numeric((*lo as f64 - 0.5).ln(), (*hi as f64 + 0.5).ln(), 0.0, true, kind)
            }
            Distribution::Choice(values) => Domain::Categorical(values),
        }
    }

    /// The internal value (kernel scale, or choice index) of an observed value; `None` when it
    /// lies outside the domain (a history from another search space).
    fn internal(&self, v: &toml::Value) -> Option<f64> {
        match self {
            Domain::Categorical(values) => values.iter().position(|c| c == v).map(|i| i as f64),
            Domain::Numeric { log, kind, .. } => {
                let x = number(v)?;
                let inside = match *kind {
                    Kind::Float { low, high } => (low..=high).contains(&x),
                    Kind::Int { low, high } => x.fract() == 0.0 && (low as f64..=high as f64).contains(&x),
                };
                inside.then(|| if *log { x.ln() } else { x })
            }
        }
    }

    /// A drawn internal value moved onto the values the key takes (a log-scale integer
    /// rounded, as Optuna does), still internal.
    fn snap(&self, x: f64) -> f64 {
        match self {
            Domain::Numeric { log: true, kind: Kind::Int { low, high }, .. } => {
                let (low, high) = (*low as f64, *high as f64);
                (low + (x.exp() - low).round_ties_even()).clamp(low, high).ln()
            }
            _ => x,
        }
    }

    /// The swept value of an internal value.
    fn external(&self, x: f64) -> toml::Value {
        match self {
            Domain::Categorical(values) => values[x as usize].clone(),
            Domain::Numeric { log, kind, .. } => {
                let x = if *log { x.exp() } else { x };
                match *kind {
                    Kind::Float { low, high } => toml::Value::Float(x.clamp(low, high.next_down())),
                    Kind::Int { low, high } => toml::Value::Integer((x.round() as i64).clamp(low, high)),
                }
            }
        }
    }
}

/// The only value of a distribution that has one.
fn single(d: &Distribution) -> Option<toml::Value> {
    match d {
        Distribution::IntRange([lo, hi]) | Distribution::IntLogUniform([lo, hi]) if lo == hi => {
            Some(toml::Value::Integer(*lo))
        }
        Distribution::Choice(v) if v.len() == 1 => Some(v[0].clone()),
        _ => None,
    }
}

impl Tpe {
    /// The Parzen estimator of `key` over the trials `which`, weighted by age.
    fn estimator(&self, domain: &Domain<'_>, key: &str, history: &[Observation], which: &[usize]) -> Parzen {
        let obs: Vec<f64> = which
            .iter()
            .filter_map(|&i| history[i].point.iter().find(|(k, _)| k == key))
            .filter_map(|(_, v)| domain.internal(v))
            .collect();
        let weights = default_weights(obs.len());
        match domain {
            Domain::Numeric { interval, .. } => Parzen::numeric(&obs, &weights, *interval, &self.parzen),
            Domain::Categorical(values) => {
                let idx: Vec<usize> = obs.iter().map(|&x| x as usize).collect();
                Parzen::categorical(&idx, &weights, values.len(), &self.parzen)
            }
        }
    }

    /// One key's proposal: the candidate drawn from `l` with the largest `ln l - ln g`.
    fn propose(
        &self,
        rng: &mut rand_chacha::ChaCha8Rng,
        (key, dist): &(String, Distribution),
        history: &[Observation],
        (below, above): (&[usize], &[usize]),
    ) -> toml::Value {
        if let Some(v) = single(dist) {
            return v;
        }
        let domain = Domain::of(dist);
        let l = self.estimator(&domain, key, history, below);
        let g = self.estimator(&domain, key, history, above);
        let mut best = (f64::NEG_INFINITY, None);
        for x in l.sample(rng, self.n_ei_candidates) {
            let x = domain.snap(x);
            let score = l.log_pdf(x) - g.log_pdf(x);
            if best.1.is_none() || score > best.0 {
                best = (score, Some(x));
            }
        }
        domain.external(best.1.expect("at least one candidate"))
    }
}

impl Sampler for Tpe {
    fn name(&self) -> &'static str {
        "tpe"
    }

    fn sample(&mut self, number: usize, space: &[(String, Distribution)], history: &[Observation]) -> Point {
        let (below, above, n) = split(history);
        if n < self.n_startup_trials {
            return RandomSampler::new(self.seed).sample(number, space, history);
        }
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(proposal_seed(self.seed, number));
        space.iter().map(|kd| (kd.0.clone(), self.propose(&mut rng, kd, history, (&below, &above)))).collect()
    }
}

#[cfg(test)]
mod tests;
