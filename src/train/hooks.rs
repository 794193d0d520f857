//! The loop's hooks: a learning-rate schedule, a decision at each evaluation (early stopping,
//! pruning) and checkpoints. Each is an object with a no-op default. [`Hooks::from_training`]
//! builds the schedule (`training.lr_schedule`, over Burn's schedulers:
//! [`super::BurnSchedule`]) and early stopping (`training.early_stopping`:
//! [`super::EarlyStopping`]) from `[training]`; nothing saves checkpoints yet.

use super::{BurnSchedule, EarlyStopping, Metrics, TrainingSpec};

/// The learning rate at each step, relative to the configured one (PyTorch's `LambdaLR`): a
/// warm-up or decay schedule. The factor multiplies every learning rate of the step (G's and
/// D's alike for a GAN).
pub trait LrSchedule {
    /// The factor for optimisation step `step` (1-based); 1 by default.
    fn scale(&mut self, _step: usize) -> f64 {
        1.0
    }
}

/// No schedule: the configured learning rate at every step.
pub struct ConstantLr;

impl LrSchedule for ConstantLr {}

/// What to do after an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Train on.
    Continue,
    /// End the run here; this evaluation's metrics are the final ones.
    Stop,
}

/// Decides at each (finite) evaluation whether the run goes on: early stopping, pruning.
pub trait EvalHook {
    /// The decision after the evaluation at `step`, given its metrics; `Continue` by default.
    fn on_eval(&mut self, _step: usize, _metrics: &Metrics) -> Decision {
        Decision::Continue
    }
}

/// Never stops a run.
pub struct KeepGoing;

impl EvalHook for KeepGoing {}

/// Saves the training state after evaluations.
pub trait Checkpointer {
    /// Whether to save after the (finite) evaluation at `step`; never by default.
    fn due(&mut self, _step: usize, _metrics: &Metrics) -> bool {
        false
    }

    /// Receives the step's state ([`super::TrainStep::checkpoint`]) after `step` steps.
    fn save(&mut self, _step: usize, _state: &[(&'static str, Vec<u8>)]) {}
}

/// Saves nothing.
pub struct NoCheckpoints;

impl Checkpointer for NoCheckpoints {}

/// The hooks one run uses, and which evaluation it selects; [`Hooks::default`] is the no-op
/// set (constant learning rate, no stop, no checkpoints, the last evaluation),
/// [`Hooks::from_training`] the one `[training]` asks for.
pub struct Hooks {
    /// The learning-rate schedule.
    pub schedule: Box<dyn LrSchedule>,
    /// The decision at each evaluation.
    pub on_eval: Box<dyn EvalHook>,
    /// The checkpointer.
    pub checkpoint: Box<dyn Checkpointer>,
    /// `Some`: report the evaluation with the best value of the selection metric and evaluate
    /// the test split on its weights (`[report] select = "best"`); `None`: the last one.
    pub select_best: Option<super::Selection>,
}

impl Default for Hooks {
    fn default() -> Self {
        Hooks {
            schedule: Box::new(ConstantLr),
            on_eval: Box::new(KeepGoing),
            checkpoint: Box::new(NoCheckpoints),
            select_best: None,
        }
    }
}

impl Hooks {
    /// The hooks `[training]` asks for: its `lr_schedule` (else [`ConstantLr`]) and
    /// `early_stopping` (else [`KeepGoing`]); no checkpoints.
    ///
    /// # Panics
    /// If `cfg.lr_schedule` fails Burn's checks, which [`TrainingSpec::validate`] reports first.
    pub fn from_training(cfg: &TrainingSpec) -> Self {
        let mut hooks = Hooks::default();
        if let Some(spec) = &cfg.lr_schedule {
            let schedule = BurnSchedule::new(spec, cfg.lr, cfg.steps);
            hooks.schedule = Box::new(schedule.expect("training.lr_schedule is validated"));
        }
        if let Some(spec) = &cfg.early_stopping {
            hooks.on_eval = Box::new(EarlyStopping::new(spec));
        }
        hooks
    }
}
