//! `training.early_stopping`: stop a trial when its monitored metric has not improved for
//! `patience` evaluations (as PyTorch Lightning's and Keras's `EarlyStopping`).

use super::Metrics;
use super::hooks::{Decision, EvalHook};
use crate::check::FieldError;
use serde::{Deserialize, Serialize};

/// Which direction is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Lower is better (losses, distances).
    Min,
    /// Higher is better (accuracies).
    Max,
}

/// `training.early_stopping = { metric = "valid.loss", patience = 5, min_delta = 0.0 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStoppingSpec {
    /// The metric watched, by `split.name` (one the family records).
    pub metric: String,
    /// Evaluations without improvement after which the run stops (at least 1).
    pub patience: usize,
    /// The least change that counts as an improvement (>= 0; 0 when absent).
    #[serde(default, skip_serializing_if = "crate::check::is_zero")]
    pub min_delta: f64,
    /// `min` or `max`; when absent, `min` for a metric whose name ends in `loss` or is a
    /// distance or error (`fd`, `kl`, `mode_distance`, `mse`, `mae`), `max` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
}

impl EarlyStoppingSpec {
    /// Checks that the watched metric's split is the one evaluated during training: `valid.*`
    /// when the run has a validation split (`has_validation`), else `test.*` (the test split
    /// is evaluated only once, after training, when there is a validation split).
    ///
    /// # Errors
    /// `early_stopping.metric`, naming the split to watch instead.
    pub fn check_split(&self, has_validation: bool) -> Result<(), FieldError> {
        let split = self.metric.split_once('.').map_or("", |(s, _)| s);
        let why = match split {
            "test" if has_validation => {
                "watches the test split, which is evaluated once, after training, when there is a \
                 validation split: watch its `valid.` counterpart"
            }
            "valid" if !has_validation => {
                "watches the validation split, but there is none (`dataset.validation = 0`): set \
                 `dataset.validation` or watch a `test.` metric"
            }
            _ => return Ok(()),
        };
        Err(FieldError::new("early_stopping.metric", why))
    }

    /// Checks `patience` and `min_delta` (the metric's name is checked against the families
    /// where the experiment is validated); keys are relative to `[training]`.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.patience == 0 {
            return Err(FieldError::new("early_stopping.patience", "must be at least 1"));
        }
        if !(self.min_delta.is_finite() && self.min_delta >= 0.0) {
            return Err(FieldError::new("early_stopping.min_delta", format!("must be >= 0, got {}", self.min_delta)));
        }
        Ok(())
    }

    /// The direction: `mode`, else from the metric's name.
    pub fn mode(&self) -> Mode {
        self.mode.unwrap_or_else(|| mode_of(&self.metric))
    }
}

/// The better direction of a metric, from its name: [`Mode::Min`] for a name ending in `loss`
/// or a distance or error (`fd`, `kl`, `mode_distance`, `mse`, `mae`), else [`Mode::Max`].
pub fn mode_of(metric: &str) -> Mode {
    let name = metric.rsplit('.').next().unwrap_or_default();
    let lower = name.ends_with("loss") || ["fd", "kl", "mode_distance", "mse", "mae"].contains(&name);
    if lower { Mode::Min } else { Mode::Max }
}

/// The early-stopping hook: improvement means better than the best value so far by more than
/// `min_delta`; after `patience` evaluations in a row without one, [`Decision::Stop`]. The
/// first evaluation that records the metric sets the best value; evaluations without it
/// change nothing.
pub struct EarlyStopping {
    metric: String,
    patience: usize,
    min_delta: f64,
    mode: Mode,
    best: Option<f64>,
    waited: usize,
}

impl EarlyStopping {
    /// The hook for `spec`.
    pub fn new(spec: &EarlyStoppingSpec) -> Self {
        EarlyStopping {
            metric: spec.metric.clone(),
            patience: spec.patience,
            min_delta: spec.min_delta,
            mode: spec.mode(),
            best: None,
            waited: 0,
        }
    }

    fn improves(&self, value: f64, best: f64) -> bool {
        match self.mode {
            Mode::Min => value < best - self.min_delta,
            Mode::Max => value > best + self.min_delta,
        }
    }
}

impl EvalHook for EarlyStopping {
    fn on_eval(&mut self, _step: usize, metrics: &Metrics) -> Decision {
        let Some(&value) = metrics.get(&self.metric) else { return Decision::Continue };
        match self.best {
            Some(best) if !self.improves(value, best) => self.waited += 1,
            _ => (self.best, self.waited) = (Some(value), 0),
        }
        if self.waited >= self.patience { Decision::Stop } else { Decision::Continue }
    }

    /// `[best value (NaN: none yet), evaluations waited]`.
    fn state(&self) -> Vec<f64> {
        vec![self.best.unwrap_or(f64::NAN), self.waited as f64]
    }

    fn restore(&mut self, state: &[f64]) {
        if let [best, waited] = state {
            self.best = (!best.is_nan()).then_some(*best);
            self.waited = *waited as usize;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(spec: &EarlyStoppingSpec, values: &[f64]) -> Option<usize> {
        let mut hook = EarlyStopping::new(spec);
        values.iter().enumerate().find_map(|(i, &v)| {
            let m = Metrics::from([(spec.metric.clone(), v)]);
            (hook.on_eval(i + 1, &m) == Decision::Stop).then_some(i + 1)
        })
    }

    fn spec(metric: &str, patience: usize, min_delta: f64) -> EarlyStoppingSpec {
        EarlyStoppingSpec { metric: metric.into(), patience, min_delta, mode: None }
    }

    #[test]
    fn stops_after_patience_evaluations_without_improvement_not_before() {
        // Best 0.5 at evaluation 2; 3, 4, 5 do not improve: patience 3 stops at 5, 4 never.
        let losses = [1.0, 0.5, 0.6, 0.5, 0.7, 0.4];
        assert_eq!(run(&spec("test.loss", 3, 0.0), &losses), Some(5));
        assert_eq!(run(&spec("test.loss", 4, 0.0), &losses), None);
        assert_eq!(run(&spec("test.loss", 1, 0.0), &losses), Some(3));
        // An improvement (0.8 at 5) resets the count: four misses after it stop at 9.
        assert_eq!(run(&spec("test.loss", 4, 0.0), &[1.0, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8]), Some(9));
    }

    #[test]
    fn min_delta_and_direction() {
        // Improvements of 0.05 do not count with min_delta = 0.1 (loss: lower is better).
        assert_eq!(run(&spec("test.loss", 2, 0.1), &[1.0, 0.95, 0.9, 0.85]), Some(3));
        assert_eq!(run(&spec("test.loss", 2, 0.0), &[1.0, 0.95, 0.9, 0.85]), None);
        // Accuracy: higher is better, so a falling accuracy stops the run.
        assert_eq!(spec("test.accuracy", 1, 0.0).mode(), Mode::Max);
        assert_eq!(run(&spec("test.accuracy", 2, 0.0), &[0.5, 0.6, 0.55, 0.6]), Some(4));
        assert_eq!(run(&spec("test.accuracy", 2, 0.0), &[0.5, 0.6, 0.55, 0.61]), None);
        let explicit = EarlyStoppingSpec { mode: Some(Mode::Max), ..spec("test.loss", 1, 0.0) };
        assert_eq!(run(&explicit, &[1.0, 0.5]), Some(2));
        assert_eq!(spec("test.fd", 1, 0.0).mode(), Mode::Min);
        assert_eq!(spec("train.d_loss", 1, 0.0).mode(), Mode::Min);
    }

    #[test]
    fn rejects_zero_patience_and_negative_delta() {
        assert_eq!(spec("test.loss", 0, 0.0).validate().unwrap_err().key, "early_stopping.patience");
        assert_eq!(spec("test.loss", 1, -0.1).validate().unwrap_err().key, "early_stopping.min_delta");
    }
}
