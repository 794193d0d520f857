//! The `[training]` section: optimizer, learning rate and its schedule, batches, steps,
//! evaluation, gradient clipping and accumulation, early stopping.

use super::clip::ClipGradSpec;
use super::early::EarlyStoppingSpec;
use super::schedule::LrScheduleSpec;
use crate::check::FieldError;
pub use crate::data::batches::Batching;
use serde::{Deserialize, Serialize};

/// Which optimizer to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Adam (Kingma & Ba), PyTorch's defaults.
    #[default]
    Adam,
    /// AdamW: Adam with decoupled weight decay.
    Adamw,
    /// Stochastic gradient descent with optional momentum.
    Sgd,
}

/// The `[training]` section of an experiment file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingSpec {
    /// The optimizer.
    pub optimizer: OptimizerKind,
    /// The learning rate.
    pub lr: f64,
    /// Examples per training step.
    pub batch_size: usize,
    /// Number of optimizer steps (with `accumulate = k`, each of `k` batches).
    pub steps: usize,
    /// Evaluate every this many steps (and at the end): on the validation split when there is one, else on the test split.
    pub eval_every: usize,
    /// Weight decay (L2 for adam and sgd, decoupled for adamw).
    pub weight_decay: f64,
    /// Momentum (sgd only).
    pub momentum: f64,
    /// Adam's beta1.
    pub beta1: f64,
    /// Adam's beta2.
    pub beta2: f64,
    /// Adam's epsilon.
    pub eps: f64,
    /// How batches are drawn.
    pub batching: Batching,
    /// Log the training loss every this many steps.
    pub log_every: usize,
    /// Write weight histograms to TensorBoard every this many evaluations (0: never).
    pub histogram_every: usize,
    /// The learning-rate schedule (a factor on `lr`); constant when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr_schedule: Option<LrScheduleSpec>,
    /// Gradient clipping (global norm or value) before each optimizer step; none when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clip_grad: Option<ClipGradSpec>,
    /// Batches whose gradients one optimizer step averages (each of `batch_size` examples).
    #[serde(skip_serializing_if = "is_one")]
    pub accumulate: usize,
    /// Stop the trial when a metric stops improving; never when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub early_stopping: Option<EarlyStoppingSpec>,
    /// Save a checkpoint every this many steps (0: never); every `eval_every` steps when
    /// absent. Left out of the serialised config when absent, so trial ids stay as they were.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint_every: Option<usize>,
}

/// Fields at their defaults are left out of the serialised config, so that trial ids of
/// files that do not use them stay as they were.
fn is_one(n: &usize) -> bool {
    *n == 1
}

impl Default for TrainingSpec {
    fn default() -> Self {
        Self {
            optimizer: OptimizerKind::Adam,
            lr: 1e-3,
            batch_size: 100,
            steps: 1000,
            eval_every: 100,
            weight_decay: 0.0,
            momentum: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            batching: Batching::Shuffle,
            log_every: 10,
            histogram_every: 0,
            lr_schedule: None,
            clip_grad: None,
            accumulate: 1,
            early_stopping: None,
            checkpoint_every: None,
        }
    }
}

impl TrainingSpec {
    /// Steps between checkpoint boundaries (where the device is reseeded and a checkpoint may
    /// be written): `checkpoint_every`, else `eval_every`; `checkpoint_every = 0` writes none
    /// but keeps `eval_every`'s boundaries, so turning checkpoints off changes no number.
    pub fn checkpoint_interval(&self) -> usize {
        match self.checkpoint_every {
            Some(n) if n > 0 => n,
            _ => self.eval_every,
        }
    }

    /// Checks ranges; the error names the key at fault.
    pub fn validate(&self) -> Result<(), FieldError> {
        FieldError::positive("lr", self.lr)?;
        FieldError::positive("eps", self.eps)?;
        for (key, v) in [
            ("batch_size", self.batch_size),
            ("steps", self.steps),
            ("eval_every", self.eval_every),
            ("log_every", self.log_every),
            ("accumulate", self.accumulate),
        ] {
            if v == 0 {
                return Err(FieldError::new(key, "must be at least 1"));
            }
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return Err(FieldError::new("weight_decay", format!("must be >= 0, got {}", self.weight_decay)));
        }
        for (key, v) in [("momentum", self.momentum), ("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(FieldError::new(key, format!("must be in [0, 1), got {v}")));
            }
        }
        if self.momentum != 0.0 && self.optimizer != OptimizerKind::Sgd {
            return Err(FieldError::new("momentum", "applies to optimizer = \"sgd\" only"));
        }
        self.validate_recipe()
    }

    /// Checks `lr_schedule`, `clip_grad` and `early_stopping` (the metric's name is checked
    /// against the families where the experiment is validated, `spec`).
    fn validate_recipe(&self) -> Result<(), FieldError> {
        if let Some(s) = &self.lr_schedule {
            s.validate(self.lr, self.steps)?;
        }
        if let Some(c) = &self.clip_grad {
            c.validate()?;
        }
        if let Some(e) = &self.early_stopping {
            e.validate()?;
        }
        Ok(())
    }
}
