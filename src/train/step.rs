//! What a trainer implements: one optimisation step, and an evaluation.

use super::{Metrics, Observer};

/// The losses of one optimisation step.
///
/// `loss` is the one logged (`train/loss`) and averaged into the evaluation's `train.loss`;
/// `extra` holds further losses by metric name (the GAN's `train.d_loss`), averaged over the
/// steps since the last evaluation into that metric. A NaN or infinite value in either is a
/// divergence at that step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepLosses {
    /// The training loss.
    pub loss: f64,
    /// Further losses, `(metric name, value)`.
    pub extra: Vec<(&'static str, f64)>,
}

impl StepLosses {
    /// A step with one loss.
    pub fn new(loss: f64) -> Self {
        StepLosses { loss, extra: Vec::new() }
    }

    /// Whether every loss is finite.
    pub fn is_finite(&self) -> bool {
        self.loss.is_finite() && self.extra.iter().all(|(_, v)| v.is_finite())
    }
}

/// One trainer's step (burn-train's `TrainStep` and `ValidStep` in one): what the loop
/// skeleton ([`super::run_loop`]) drives.
pub trait TrainStep {
    /// Trainable parameters (for the [`super::FitOutcome`]).
    fn num_params(&self) -> usize;

    /// Makes optimisation step `step` (1-based) with every learning rate multiplied by
    /// `lr_scale` (the schedule's factor, 1 without one) and returns its losses. A step whose
    /// loss is not finite must leave its model unchanged (the loop stops there).
    fn step(&mut self, step: usize, lr_scale: f64) -> StepLosses;

    /// Evaluates the model after `step` steps: the metrics by `split.name` (the loop adds the
    /// training losses), on the validation split (`valid.*`) when the dataset has one, else on
    /// the test split (`test.*`). Artefacts of the evaluation (a GAN's sample images and
    /// `samples.csv`) go to `obs` here, before the loop reports the metrics.
    fn evaluate(&mut self, step: usize, obs: &mut dyn Observer) -> Metrics;

    /// Keeps a copy of the current weights as the best so far (the loop calls it after each
    /// evaluation that improves the selection metric, with [`super::Hooks::select_best`]). A
    /// step without a separate test split need keep nothing; nothing by default.
    fn keep_best(&mut self) {}

    /// Evaluates the test split once, after the loop: on the weights of the last
    /// [`TrainStep::keep_best`] when `best` (the current ones if none was kept), else on the
    /// current ones. Empty (the default) when the test split is not separate from the one
    /// [`TrainStep::evaluate`] uses: then the selected evaluation's `test.*` metrics are the
    /// test metrics.
    fn test(&mut self, _best: bool, _obs: &mut dyn Observer) -> Metrics {
        Metrics::new()
    }

    /// The parameters by dotted path, for weight histograms ([`super::weights_of`]); `None`
    /// (the default) writes none.
    fn weights(&self) -> Option<Vec<(String, Vec<f32>)>> {
        None
    }

    /// The state a checkpoint holds, as named files (model and optimizer records, batcher
    /// state, kept best weights: everything [`TrainStep::restore`] needs to continue exactly).
    /// Empty by default: the step does not support checkpoints, and the loop saves none.
    ///
    /// # Errors
    /// A record that could not be written, as text.
    fn checkpoint(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        Ok(Vec::new())
    }

    /// Takes back the state of a [`TrainStep::checkpoint`] (`files` holds every file of the
    /// checkpoint, by name).
    ///
    /// # Errors
    /// A missing or unreadable file, as text; the default refuses (no checkpoint support).
    fn restore(&mut self, _files: &super::checkpoint::Files) -> Result<(), String> {
        Err("this trainer cannot resume from a checkpoint".into())
    }
}
