//! Pruners: whether a running trial goes on, from what it and the other trials reported.
//!
//! The pruner half of Optuna's sampler/pruner split (Ray Tune's `TrialScheduler`). A trial
//! reports its metric at each evaluation ([`Pruner::report`]); the pruner answers with a
//! [`Verdict`]. Values are oriented so that **lower is better** (the caller negates a metric
//! where higher is better), as in [`super::sampler::Observation`]. A pruner is deterministic:
//! the same reports in the same order give the same verdicts, which is what replaying
//! `search.jsonl` relies on.
//!
//! The rules follow Optuna 4.5 exactly (`optuna/pruners/_successive_halving.py`,
//! `_hyperband.py`, `_percentile.py`), checked against it on simulated learning curves by
//! `tests/pruners.rs` (fixtures from `scripts/make_pruner_fixtures.py`).

use crate::spec::pruner::{PrunerKind, PrunerSpec};
use std::collections::{BTreeMap, HashMap};

/// A pruner's answer to one report.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// Stop the trial now.
    pub prune: bool,
    /// The rung the decision was taken at (successive halving: 0 is the first), `None` when
    /// the report reached no rung (or for the median rule).
    pub rung: Option<usize>,
    /// The values the decision compared with (lower is better), the trial's own included:
    /// a rung's values so far, or the completed trials' values at this step (median).
    pub basis: Vec<f64>,
}

impl Verdict {
    fn go_on() -> Self {
        Verdict { prune: false, rung: None, basis: Vec::new() }
    }
}

/// Decides, at each evaluation of a running trial, whether it stops.
pub trait Pruner: Send {
    /// The rule's name (`asha`, `hyperband`, `median`).
    fn name(&self) -> &'static str;

    /// Trial `trial` (a stable key: the trial id) reports `value` (lower is better; NaN for
    /// a diverged value) after `step` training steps. Steps of one trial increase.
    fn report(&mut self, trial: &str, step: usize, value: f64) -> Verdict;

    /// Trial `trial` ended; `completed` when it trained to its last step (the median rule
    /// compares with completed trials only).
    fn finish(&mut self, trial: &str, completed: bool) {
        let _ = (trial, completed);
    }
}

/// The pruner of `spec` for the study (experiment) named `study`: hyperband's brackets hash
/// `"{study}_{trial}"`, as Optuna hashes `"{study_name}_{trial.number}"`.
pub fn build(spec: &PrunerSpec, study: &str) -> Box<dyn Pruner> {
    match spec.kind {
        PrunerKind::Asha => {
            Box::new(SuccessiveHalving::new(spec.min_steps, spec.reduction_factor, spec.min_early_stopping_rate))
        }
        PrunerKind::Hyperband => Box::new(Hyperband::new(spec.min_steps, spec.max_steps, spec.reduction_factor, study)),
        PrunerKind::Median => Box::new(Median::new(spec.n_startup_trials, spec.n_warmup_steps, spec.interval)),
    }
}

/// Asynchronous successive halving (Li et al. 2020, "A System for Massively Parallel
/// Hyperparameter Tuning"), as Optuna's `SuccessiveHalvingPruner`: rung `k` is at
/// `min_steps * reduction_factor^(min_early_stopping_rate + k)` steps. A trial whose report
/// reaches its next rung records its value there and goes on only if the value is among the
/// best `1/reduction_factor` of the values recorded at that rung so far (its own included;
/// while fewer than `reduction_factor` values are recorded, only if it is the best). One
/// report may pass several rungs.
#[derive(Debug, Clone)]
pub struct SuccessiveHalving {
    min_steps: usize,
    reduction_factor: usize,
    rate: usize,
    /// The values recorded at each rung, in order.
    rungs: Vec<Vec<f64>>,
    /// Each trial's next rung.
    next: HashMap<String, usize>,
}

impl SuccessiveHalving {
    /// Rungs at `min_steps * reduction_factor^(min_early_stopping_rate + k)` steps.
    pub fn new(min_steps: usize, reduction_factor: usize, min_early_stopping_rate: usize) -> Self {
        SuccessiveHalving {
            min_steps,
            reduction_factor,
            rate: min_early_stopping_rate,
            rungs: Vec::new(),
            next: HashMap::new(),
        }
    }

    /// The step of rung `k` (saturating).
    pub fn rung_step(&self, k: usize) -> usize {
        let power = u32::try_from(self.rate + k).unwrap_or(u32::MAX);
        self.reduction_factor.checked_pow(power).and_then(|f| f.checked_mul(self.min_steps)).unwrap_or(usize::MAX)
    }
}

/// Optuna's `_is_trial_promotable_to_next_rung` on lower-is-better values.
fn promotable(value: f64, competing: &[f64], reduction_factor: usize) -> bool {
    let mut sorted = competing.to_vec();
    sorted.sort_by(f64::total_cmp);
    let index = (sorted.len() / reduction_factor).saturating_sub(1);
    value <= sorted[index]
}

impl Pruner for SuccessiveHalving {
    fn name(&self) -> &'static str {
        "asha"
    }

    fn report(&mut self, trial: &str, step: usize, value: f64) -> Verdict {
        let mut rung = self.next.get(trial).copied().unwrap_or(0);
        let mut verdict = Verdict::go_on();
        while step >= self.rung_step(rung) {
            if value.is_nan() {
                return Verdict { prune: true, rung: Some(rung), basis: Vec::new() };
            }
            if self.rungs.len() <= rung {
                self.rungs.resize(rung + 1, Vec::new());
            }
            let mut competing = self.rungs[rung].clone();
            competing.push(value);
            self.rungs[rung].push(value);
            self.next.insert(trial.to_string(), rung + 1);
            let prune = !promotable(value, &competing, self.reduction_factor);
            verdict = Verdict { prune, rung: Some(rung), basis: competing };
            if prune {
                break;
            }
            rung += 1;
        }
        verdict
    }
}

/// Hyperband (Li et al. 2018), as Optuna's `HyperbandPruner`: `floor(log_rf(max/min)) + 1`
/// brackets, bracket `b` a [`SuccessiveHalving`] with `min_early_stopping_rate = b` over its
/// own trials only. A trial's bracket is chosen by the CRC-32 of `"{study}_{trial}"` modulo
/// the brackets' total trial budget, bracket `b`'s budget being
/// `ceil(n * rf^s / (s + 1))` with `s = n - 1 - b`.
#[derive(Debug, Clone)]
pub struct Hyperband {
    study: String,
    budgets: Vec<u32>,
    brackets: Vec<SuccessiveHalving>,
}

impl Hyperband {
    /// Brackets between `min_steps` and `max_steps` (`training.steps`).
    pub fn new(min_steps: usize, max_steps: usize, reduction_factor: usize, study: &str) -> Self {
        let rf = reduction_factor as f64;
        let n = ((max_steps as f64 / min_steps as f64).ln() / rf.ln()).floor().max(0.0) as usize + 1;
        let budgets = (0..n)
            .map(|b| {
                let s = (n - 1 - b) as i32;
                (n as f64 * rf.powi(s) / f64::from(s + 1)).ceil() as u32
            })
            .collect();
        let brackets = (0..n).map(|b| SuccessiveHalving::new(min_steps, reduction_factor, b)).collect();
        Hyperband { study: study.to_string(), budgets, brackets }
    }

    /// The bracket of `trial`.
    pub fn bracket(&self, trial: &str) -> usize {
        let total: u32 = self.budgets.iter().sum();
        let mut n = i64::from(crc32(format!("{}_{trial}", self.study).as_bytes()) % total);
        for (b, budget) in self.budgets.iter().enumerate() {
            n -= i64::from(*budget);
            if n < 0 {
                return b;
            }
        }
        self.budgets.len() - 1
    }
}

impl Pruner for Hyperband {
    fn name(&self) -> &'static str {
        "hyperband"
    }

    fn report(&mut self, trial: &str, step: usize, value: f64) -> Verdict {
        let b = self.bracket(trial);
        self.brackets[b].report(trial, step, value)
    }
}

/// CRC-32 (IEEE 802.3, as Python's `binascii.crc32`).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The median rule, as Optuna's `MedianPruner`: once `n_startup_trials` trials have
/// completed, a trial past `n_warmup_steps`, at the first report of each `interval` steps,
/// stops when its best value so far is worse than the median of the completed trials'
/// values at the same step (none recorded there: it goes on).
#[derive(Debug, Clone)]
pub struct Median {
    n_startup_trials: usize,
    n_warmup_steps: usize,
    interval: usize,
    curves: HashMap<String, BTreeMap<usize, f64>>,
    completed: Vec<String>,
}

impl Median {
    /// The rule with Optuna's parameters (`interval` is its `interval_steps`).
    pub fn new(n_startup_trials: usize, n_warmup_steps: usize, interval: usize) -> Self {
        Median { n_startup_trials, n_warmup_steps, interval, curves: HashMap::new(), completed: Vec::new() }
    }

    /// Optuna's `_is_first_in_interval_step`.
    fn first_in_interval(&self, step: usize, steps: &BTreeMap<usize, f64>) -> bool {
        let nearest = (step - self.n_warmup_steps) / self.interval * self.interval + self.n_warmup_steps;
        let second_last = steps.keys().filter(|&&s| s != step).max().map_or(-1, |&s| s as i64);
        second_last < nearest as i64
    }
}

/// The median of `values` (NumPy's `nanmedian` on NaN-free values).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

impl Pruner for Median {
    fn name(&self) -> &'static str {
        "median"
    }

    fn report(&mut self, trial: &str, step: usize, value: f64) -> Verdict {
        self.curves.entry(trial.to_string()).or_default().insert(step, value);
        let n = self.completed.len();
        if n == 0 || n < self.n_startup_trials || step < self.n_warmup_steps {
            return Verdict::go_on();
        }
        let curve = &self.curves[trial];
        if !self.first_in_interval(step, curve) {
            return Verdict::go_on();
        }
        let best = curve.values().copied().filter(|v| !v.is_nan()).min_by(f64::total_cmp);
        let mut basis: Vec<f64> = self
            .completed
            .iter()
            .filter_map(|t| self.curves.get(t).and_then(|c| c.get(&step)).copied())
            .filter(|v| !v.is_nan())
            .collect();
        let Some(best) = best else { return Verdict { prune: true, rung: None, basis } };
        if basis.is_empty() {
            return Verdict::go_on();
        }
        let m = median(&mut basis);
        Verdict { prune: best > m, rung: None, basis }
    }

    fn finish(&mut self, trial: &str, completed: bool) {
        if completed && !self.completed.iter().any(|t| t == trial) {
            self.completed.push(trial.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_python_s() {
        // binascii.crc32(b"study_0"), binascii.crc32(b"123456789")
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    /// Rungs at 1, 3, 9 steps (min_steps 1, rf 3). Hand-computed, lower is better.
    #[test]
    fn successive_halving_promotes_the_top_third_of_each_rung() {
        let mut p = SuccessiveHalving::new(1, 3, 0);
        assert_eq!((p.rung_step(0), p.rung_step(1), p.rung_step(2)), (1, 3, 9));
        // Trial a at step 1: alone at rung 0, the best: goes on.
        let v = p.report("a", 1, 0.5);
        assert_eq!(v, Verdict { prune: false, rung: Some(0), basis: vec![0.5] });
        // b worse than a, fewer than 3 values: only the best goes on.
        assert!(p.report("b", 1, 0.7).prune);
        // c better than a: goes on.
        assert!(!p.report("c", 1, 0.4).prune);
        // d: 4 values [0.4, 0.5, 0.6, 0.7] -> index 4/3 - 1 = 0: must be <= 0.4.
        let v = p.report("d", 1, 0.6);
        assert!(v.prune);
        assert_eq!(v.basis, vec![0.5, 0.7, 0.4, 0.6]);
        // 6 values -> index 1: e at 0.45 is second best of [.4,.45,.5,.6,.7,.3]? no: f first.
        assert!(!p.report("f", 1, 0.3).prune);
        let v = p.report("e", 1, 0.45);
        // [0.3, 0.4, 0.45, 0.5, 0.6, 0.7]: index 6/3 - 1 = 1 -> 0.4: 0.45 is pruned.
        assert!(v.prune);
        // a between rungs (step 2): nothing decided.
        assert_eq!(p.report("a", 2, 0.9), Verdict::go_on());
        // a at step 3 (rung 1): alone there, goes on; c at step 9 passes rungs 1 and 2 at once.
        assert_eq!(p.report("a", 3, 0.2).rung, Some(1));
        let v = p.report("c", 9, 0.25);
        // rung 1: [0.2, 0.25]: index 0 -> 0.2: c is pruned at rung 1, not reaching rung 2.
        assert_eq!((v.prune, v.rung), (true, Some(1)));
        // NaN is pruned at once.
        assert!(p.report("g", 1, f64::NAN).prune);
    }

    #[test]
    fn successive_halving_respects_the_early_stopping_rate() {
        let mut p = SuccessiveHalving::new(10, 2, 1);
        assert_eq!(p.rung_step(0), 20);
        assert_eq!(p.report("a", 10, 1.0), Verdict::go_on());
        assert_eq!(p.report("a", 20, 1.0).rung, Some(0));
    }

    #[test]
    fn hyperband_brackets_and_budgets_are_optuna_s() {
        // min 1, max 27, rf 3: 4 brackets, budgets ceil(4*27/4)=27, ceil(4*9/3)=12,
        // ceil(4*3/2)=6, ceil(4*1/1)=4.
        let h = Hyperband::new(1, 27, 3, "s");
        assert_eq!(h.budgets, vec![27, 12, 6, 4]);
        assert_eq!(h.brackets[2].rung_step(0), 9);
        // crc32("s_0") % 49 picks the bracket; each bracket is reached by some trial.
        let seen: std::collections::BTreeSet<usize> = (0..200).map(|i| h.bracket(&i.to_string())).collect();
        assert_eq!(seen.len(), 4);
    }

    #[test]
    fn the_median_rule_compares_the_best_so_far_with_completed_trials_at_the_step() {
        let mut p = Median::new(2, 10, 1);
        for (t, vals) in [("a", [1.0, 0.8, 0.6]), ("b", [1.2, 1.0, 0.7])] {
            for (i, v) in vals.iter().enumerate() {
                assert!(!p.report(t, 10 * (i + 1), *v).prune, "no completed trial yet");
            }
            p.finish(t, true);
        }
        // Median at step 10: 1.1; at 20: 0.9. c's best at 10 is 1.05: goes on.
        let v = p.report("c", 10, 1.05);
        assert_eq!((v.prune, v.basis.clone()), (false, vec![1.0, 1.2]));
        // At 20, c reports 1.5 but its best so far is 1.05 > 0.9: pruned.
        assert!(p.report("c", 20, 1.5).prune);
        // A pruned trial does not count as completed.
        p.finish("c", false);
        assert!(!p.report("d", 10, 1.1).prune);
        // Before the warm-up nothing is decided.
        let mut p = Median::new(0, 10, 1);
        p.report("a", 5, 0.0);
        p.finish("a", true);
        assert!(!p.report("b", 5, 9.0).prune);
    }
}
