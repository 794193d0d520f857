//! The loop's hooks: a learning-rate schedule, a decision at each evaluation (early stopping,
//! pruning) and checkpoints. Each is an object with a no-op default. [`Hooks::from_training`]
//! builds the schedule (`training.lr_schedule`, over Burn's schedulers:
//! [`super::BurnSchedule`]) and early stopping (`training.early_stopping`:
//! [`super::EarlyStopping`]) from `[training]`; a worker's checkpointer comes from its
//! observer ([`super::Observer::checkpointer`]).

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

    /// The hook's state for a checkpoint (early stopping: its best value and wait); none by
    /// default.
    fn state(&self) -> Vec<f64> {
        Vec::new()
    }

    /// Takes back the [`EvalHook::state`] of a checkpoint.
    fn restore(&mut self, _state: &[f64]) {}
}

/// Never stops a run.
pub struct KeepGoing;

impl EvalHook for KeepGoing {}

/// Saves the training state at checkpoint boundaries and hands back the state to resume from
/// ([`super::checkpoint::TrialCheckpoints`] in a worker). The loop calls [`Checkpointer::due`]
/// after each step (after its evaluation); at a boundary of a run that goes on it asks
/// [`Checkpointer::wants`] whether to write this boundary, and if so takes the step's state
/// and [`Checkpointer::save`]s it; then, at every boundary, written or not, it reseeds the
/// device ([`Checkpointer::reseed`]), in every run, so that a run resumed from any boundary
/// draws the same device randoms as one that was never interrupted. Before the run ends (and
/// before a stop right after a checkpoint) it calls [`Checkpointer::flush`].
pub trait Checkpointer {
    /// Whether `step` is a checkpoint boundary; never by default.
    fn due(&self, _step: usize) -> bool {
        false
    }

    /// Whether to write the boundary `step` (a throttle may skip some); `stop_pending` says
    /// that the run is about to stop (a Slurm time-limit warning, Ctrl-C), when a checkpoint
    /// must be written. Always by default.
    ///
    /// # Errors
    /// The error of an earlier write that finished since (naming the file).
    fn wants(&mut self, _step: usize, _stop_pending: bool) -> crate::error::Result<bool> {
        Ok(true)
    }

    /// Writes (or starts writing) the checkpoint of `step`: `files` by name (the step's
    /// state, the loop's `loop.json`, the observer's files); `best` is the step of the best
    /// evaluation so far when selecting the best.
    ///
    /// # Errors
    /// An I/O error naming the file (of this write or of the previous one); the previous
    /// checkpoint must stay usable.
    fn save(
        &mut self,
        _step: usize,
        _best: Option<usize>,
        _files: super::checkpoint::Files,
    ) -> crate::error::Result<()> {
        Ok(())
    }

    /// Waits until every checkpoint saved is written (a no-op by default).
    ///
    /// # Errors
    /// The error of a write, naming the file.
    fn flush(&mut self) -> crate::error::Result<()> {
        Ok(())
    }

    /// Reseeds the device at the boundary `step` (from the trial seed and the step).
    fn reseed(&mut self, _step: usize) {}

    /// The checkpoint to resume from, once (`None`: start at step 1).
    fn resume(&mut self) -> Option<super::checkpoint::Saved> {
        None
    }
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
