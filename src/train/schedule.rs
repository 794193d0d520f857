//! `training.lr_schedule`: learning-rate schedules over Burn's `lr_scheduler` module, with
//! PyTorch's step semantics (`torch.optim.lr_scheduler`).
//!
//! A schedule is a factor on `training.lr`. Optimisation step `t` (1-based) uses the factor
//! PyTorch's scheduler gives at epoch `t - 1`: the first step uses the schedule's initial
//! value, as when `scheduler.step()` is called after each `optimizer.step()`. The schedule
//! spans `training.steps` steps: a linear warm-up of `warmup_steps` steps
//! (`LinearLR(start_factor = warmup_start, end_factor = 1, total_iters = warmup_steps)`),
//! then at milestone `warmup_steps` (`SequentialLR`) the main schedule over the remaining
//! `steps - warmup_steps` steps, starting at factor 1:
//!
//! | kind | factor at epoch `e` of the main schedule | PyTorch |
//! |------|-------------------------------------------|---------|
//! | `constant` | 1 | `ConstantLR(factor = 1)` |
//! | `linear` | `1 + (m - 1) e / n` | `LinearLR(1, m, total_iters = n)` |
//! | `cosine` | `m + (1 - m)(1 + cos(pi e / n)) / 2` | `CosineAnnealingLR(T_max = n, eta_min = min_lr)` |
//! | `exponential` | `gamma^e` | `ExponentialLR(gamma)` |
//! | `step` | `gamma^floor(e / step_size)` | `StepLR(step_size, gamma)` |
//! | `noam` | `model_size^-0.5 min((e+1)^-0.5, (e+1) warmup_steps^-1.5)` | `LambdaLR` |
//!
//! with `m = min_lr / lr` and `n = steps - warmup_steps`. `noam` has its own warm-up
//! (`warmup_steps` is Noam's, with no linear phase before it) and `lr` is Noam's `factor`.
//! Burn's schedulers compute these values (built over the factor, initial value 1); they
//! agree with PyTorch's closed forms, which `tests/fixtures/schedules.json` checks (written by
//! `scripts/make_schedule_fixtures.py`).

use super::hooks::LrSchedule;
use crate::check::FieldError;
use burn::optim::lr_scheduler::LrSchedulerConfig;
use burn::optim::lr_scheduler::cosine::CosineAnnealingLrSchedulerConfig;
use burn::optim::lr_scheduler::exponential::ExponentialLrSchedulerConfig;
use burn::optim::lr_scheduler::linear::LinearLrSchedulerConfig;
use burn::optim::lr_scheduler::module_lr_scheduler::ModuleLrScheduler;
use burn::optim::lr_scheduler::noam::NoamLrSchedulerConfig;
use burn::optim::lr_scheduler::sequential::SequentialLrSchedulerConfig;
use burn::optim::lr_scheduler::step::StepLrSchedulerConfig;
use serde::{Deserialize, Serialize};

/// The shape of the main schedule (after any warm-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    /// The configured learning rate (after any warm-up).
    #[default]
    Constant,
    /// Linear decay from `lr` to `min_lr` over the steps after the warm-up.
    Linear,
    /// Cosine annealing from `lr` to `min_lr` over the steps after the warm-up.
    Cosine,
    /// Multiplied by `gamma` every step.
    Exponential,
    /// Multiplied by `gamma` every `step_size` steps.
    Step,
    /// The Transformer's schedule (Vaswani et al. 2017): warm-up, then inverse square root.
    Noam,
}

/// `training.lr_schedule`: `{ kind = "cosine", warmup_steps = 500, min_lr = 1e-5 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LrScheduleSpec {
    /// The main schedule.
    pub kind: ScheduleKind,
    /// Steps of linear warm-up before the main schedule (Noam's own warm-up for `noam`); 0: none.
    #[serde(skip_serializing_if = "is_zero")]
    pub warmup_steps: usize,
    /// The warm-up's first factor on `lr` (PyTorch's `LinearLR` `start_factor`, in (0, 1]);
    /// 0.001 when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_start: Option<f64>,
    /// The learning rate `linear` and `cosine` decay to (absolute, at most `lr`); 0 when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_lr: Option<f64>,
    /// The decay factor of `exponential` (per step) and `step` (per `step_size` steps; 0.1
    /// when absent), in (0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gamma: Option<f64>,
    /// Steps between decays of `step`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_size: Option<usize>,
    /// Noam's model width `d_model` (512 when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_size: Option<usize>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The default first warm-up factor.
const WARMUP_START: f64 = 1e-3;

impl LrScheduleSpec {
    /// Checks the keys for the kind and against `lr` and `steps`; the error names the key
    /// relative to `[training]` (`lr_schedule.min_lr`).
    pub fn validate(&self, lr: f64, steps: usize) -> Result<(), FieldError> {
        use ScheduleKind::*;
        let key = |k: &str| format!("lr_schedule.{k}");
        let only = |k: &str, kinds: &str| FieldError::new(key(k), format!("applies to kind = {kinds} only"));
        if self.min_lr.is_some() && !matches!(self.kind, Linear | Cosine) {
            return Err(only("min_lr", "\"linear\" or \"cosine\""));
        }
        if self.gamma.is_some() && !matches!(self.kind, Exponential | Step) {
            return Err(only("gamma", "\"exponential\" or \"step\""));
        }
        if self.step_size.is_some() && self.kind != Step {
            return Err(only("step_size", "\"step\""));
        }
        if self.model_size.is_some() && self.kind != Noam {
            return Err(only("model_size", "\"noam\""));
        }
        if self.warmup_start.is_some() && (self.kind == Noam || self.warmup_steps == 0) {
            return Err(only("warmup_start", "other than \"noam\", with warmup_steps >= 1"));
        }
        self.check_values(lr, steps)?;
        self.build(lr, steps).map(|_| ()).map_err(|e| FieldError::new("lr_schedule", e))
    }

    /// The ranges of the values given.
    fn check_values(&self, lr: f64, steps: usize) -> Result<(), FieldError> {
        let key = |k: &str| format!("lr_schedule.{k}");
        if let Some(m) = self.min_lr
            && !(m.is_finite() && (0.0..=lr).contains(&m))
        {
            return Err(FieldError::new(key("min_lr"), format!("must be in [0, lr = {lr}], got {m}")));
        }
        if let Some(s) = self.warmup_start
            && !(s > 0.0 && s <= 1.0)
        {
            return Err(FieldError::new(key("warmup_start"), format!("must be in (0, 1], got {s}")));
        }
        if let Some(g) = self.gamma
            && !(g > 0.0 && g <= 1.0)
        {
            return Err(FieldError::new(key("gamma"), format!("must be in (0, 1], got {g}")));
        }
        match self.kind {
            ScheduleKind::Exponential if self.gamma.is_none() => {
                Err(FieldError::new(key("gamma"), "is required for kind = \"exponential\" (e.g. gamma = 0.999)"))
            }
            ScheduleKind::Step if self.step_size.is_none_or(|s| s == 0) => {
                Err(FieldError::new(key("step_size"), "must be given and at least 1 for kind = \"step\""))
            }
            ScheduleKind::Noam if self.warmup_steps == 0 || self.model_size == Some(0) => Err(FieldError::new(
                key(if self.warmup_steps == 0 { "warmup_steps" } else { "model_size" }),
                "must be at least 1 for kind = \"noam\"",
            )),
            kind if kind != ScheduleKind::Noam && self.warmup_steps >= steps => Err(FieldError::new(
                key("warmup_steps"),
                format!("must be less than training.steps = {steps}, got {}", self.warmup_steps),
            )),
            _ => Ok(()),
        }
    }

    /// The main schedule over `n` steps, as a Burn scheduler configuration over the factor.
    fn main(&self, lr: f64, n: usize) -> LrSchedulerConfig {
        let floor = self.min_lr.unwrap_or(0.0) / lr;
        match self.kind {
            ScheduleKind::Constant => LrSchedulerConfig::Constant(1.0),
            ScheduleKind::Linear => LinearLrSchedulerConfig::new(1.0, floor, n).into(),
            ScheduleKind::Cosine => CosineAnnealingLrSchedulerConfig::new(1.0, n).with_min_lr(floor).into(),
            ScheduleKind::Exponential => ExponentialLrSchedulerConfig::new(1.0, self.gamma.unwrap_or(1.0)).into(),
            ScheduleKind::Step => StepLrSchedulerConfig::new(1.0, self.step_size.unwrap_or(1))
                .with_gamma(self.gamma.unwrap_or(0.1))
                .into(),
            ScheduleKind::Noam => NoamLrSchedulerConfig::new(1.0)
                .with_warmup_steps(self.warmup_steps)
                .with_model_size(self.model_size.unwrap_or(512))
                .into(),
        }
    }

    /// Burn's scheduler of the factor for a run of `steps` steps at learning rate `lr`: the
    /// warm-up and the main schedule in sequence (Burn's `SequentialLrScheduler`), or the main
    /// schedule alone. Errors are Burn's messages.
    pub fn build(&self, lr: f64, steps: usize) -> Result<ModuleLrScheduler, String> {
        let warmup = if self.kind == ScheduleKind::Noam { 0 } else { self.warmup_steps };
        let main = self.main(lr, steps.saturating_sub(warmup).max(1));
        let config = if warmup == 0 {
            main
        } else {
            let start = self.warmup_start.unwrap_or(WARMUP_START);
            let warm = LinearLrSchedulerConfig::new(start, 1.0, warmup).into();
            SequentialLrSchedulerConfig::new(vec![warm, main], vec![warmup]).into()
        };
        match config {
            LrSchedulerConfig::Constant(_) => Ok(ModuleLrScheduler::new(1.0)),
            LrSchedulerConfig::Linear(c) => c.init(),
            LrSchedulerConfig::Cosine(c) => c.init(),
            LrSchedulerConfig::Exponential(c) => c.init(),
            LrSchedulerConfig::Step(c) => c.init(),
            LrSchedulerConfig::Noam(c) => c.init(),
            LrSchedulerConfig::Sequential(c) => c.init(),
            LrSchedulerConfig::Composed(c) => c.init(),
        }
    }
}

/// A schedule run by Burn's scheduler: [`LrSchedule::scale`] is the scheduled factor at each
/// step, the steps asked for in order 1, 2, ... (as the loop does).
pub struct BurnSchedule {
    scheduler: ModuleLrScheduler,
    /// The last step served and its factor.
    last: (usize, f64),
}

impl BurnSchedule {
    /// The schedule of `spec` for `steps` steps at learning rate `lr` (Burn's error when its
    /// values are out of range; [`LrScheduleSpec::validate`] reports those first).
    pub fn new(spec: &LrScheduleSpec, lr: f64, steps: usize) -> Result<Self, String> {
        Ok(BurnSchedule { scheduler: spec.build(lr, steps)?, last: (0, 1.0) })
    }
}

impl LrSchedule for BurnSchedule {
    /// Advances Burn's scheduler to `step`; asking for the same step again returns the same
    /// factor.
    fn scale(&mut self, step: usize) -> f64 {
        while self.last.0 < step {
            self.last = (self.last.0 + 1, self.scheduler.step().base());
        }
        self.last.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> serde_json::Value {
        // tests/fixtures/schedules.json is written by scripts/make_schedule_fixtures.py (PyTorch).
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schedules.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    #[test]
    fn every_step_s_learning_rate_matches_pytorch() {
        let fixture = fixture();
        for case in fixture["schedules"].as_array().unwrap() {
            let mut spec = case["spec"].as_object().unwrap().clone();
            let lr = spec.remove("lr").and_then(|v| v.as_f64()).unwrap_or(0.01);
            let steps = spec.remove("steps").and_then(|v| v.as_u64()).unwrap_or(30) as usize;
            let spec: LrScheduleSpec = serde_json::from_value(spec.into()).unwrap();
            spec.validate(lr, steps).unwrap();
            let mut schedule = BurnSchedule::new(&spec, lr, steps).unwrap();
            let expected = case["lrs"].as_array().unwrap();
            assert_eq!(expected.len(), steps);
            for (t, want) in (1..=steps).zip(expected) {
                let (got, want) = (lr * schedule.scale(t), want.as_f64().unwrap());
                assert!((got - want).abs() <= 1e-6 * want.abs(), "{spec:?} step {t}: {got} vs PyTorch's {want}");
            }
            // Asking for a step again gives the same factor.
            assert_eq!(schedule.scale(steps), schedule.scale(steps));
        }
    }

    #[test]
    fn keys_that_do_not_fit_the_kind_or_the_run_are_rejected() {
        let cosine = LrScheduleSpec { kind: ScheduleKind::Cosine, ..Default::default() };
        let check = |s: LrScheduleSpec| s.validate(0.01, 100).unwrap_err();
        let e = check(LrScheduleSpec { gamma: Some(0.5), ..cosine.clone() });
        assert_eq!(
            (e.key.as_str(), e.message.as_str()),
            ("lr_schedule.gamma", "applies to kind = \"exponential\" or \"step\" only")
        );
        let e = check(LrScheduleSpec { min_lr: Some(0.1), ..cosine.clone() });
        assert_eq!((e.key.as_str(), e.message.as_str()), ("lr_schedule.min_lr", "must be in [0, lr = 0.01], got 0.1"));
        let e = check(LrScheduleSpec { warmup_steps: 100, ..cosine.clone() });
        assert_eq!(e.message, "must be less than training.steps = 100, got 100");
        let e = check(LrScheduleSpec { kind: ScheduleKind::Exponential, ..Default::default() });
        assert_eq!(e.key, "lr_schedule.gamma");
        let e = check(LrScheduleSpec { kind: ScheduleKind::Step, ..Default::default() });
        assert_eq!(e.key, "lr_schedule.step_size");
        let e = check(LrScheduleSpec { kind: ScheduleKind::Noam, ..Default::default() });
        assert_eq!(e.key, "lr_schedule.warmup_steps");
        let e = check(LrScheduleSpec { warmup_start: Some(0.0), warmup_steps: 5, ..cosine.clone() });
        assert_eq!(e.key, "lr_schedule.warmup_start");
        assert!(LrScheduleSpec { warmup_steps: 99, min_lr: Some(0.01), ..cosine }.validate(0.01, 100).is_ok());
    }
}
