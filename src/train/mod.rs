//! Training: one loop skeleton ([`run_loop`]) that every trainer plugs a [`TrainStep`] into.
//!
//! As in burn-train, the step belongs to the model and the loop to the framework: a step makes
//! one optimisation step (forward, `loss.backward()`, `GradientsParams::from_grads`,
//! `optim.step`) and evaluates; the loop owns the step counter, cooperative stopping, the
//! training-loss log window, the evaluation cadence, divergence checks, weight histograms,
//! timing and the [`FitOutcome`], and calls the [`Hooks`] (learning-rate schedule, evaluation
//! decisions, checkpoints). The steps themselves live with their families (`models`): this
//! module knows no model.

pub mod checkpoint;
mod clip;
mod early;
mod hooks;
mod optim;
mod schedule;
pub mod seeds;
mod select;
mod skeleton;
mod spec;
mod step;

pub use clip::ClipGradSpec;
pub use early::{EarlyStopping, EarlyStoppingSpec, Mode, mode_of};
pub use hooks::{Checkpointer, ConstantLr, Decision, EvalHook, Hooks, KeepGoing, LrSchedule, NoCheckpoints};
pub use optim::build_optimizer;
pub use schedule::{BurnSchedule, LrScheduleSpec, ScheduleKind};
pub use select::{Selection, valid_counterpart};
pub use skeleton::run_loop;
pub use spec::{Batching, OptimizerKind, TrainingSpec};
pub use step::{StepLosses, TrainStep};

use crate::tensorboard::image::Channels;
use burn::tensor::Tensor;
use std::collections::BTreeMap;

/// An evaluation's metrics by `split.name` (`test.accuracy`, `train.loss`).
pub type Metrics = BTreeMap<String, f64>;

/// Whether an evaluation's metrics hold a NaN or infinite value: a divergence at that step,
/// like a non-finite training loss (the loop stops there and keeps the last finite
/// evaluation as its final metrics).
pub fn diverged(metrics: &Metrics) -> bool {
    metrics.values().any(|v| !v.is_finite())
}

/// Receives progress from the training loop.
pub trait Observer {
    /// Mean training loss over the last `log_every` steps, after `step` steps.
    fn on_train_loss(&mut self, step: usize, loss: f64);
    /// Evaluation metrics after `step` steps (the validation split's, `valid.*`, when the
    /// dataset has one, else the test split's, `test.*`; plus the training losses).
    fn on_eval(&mut self, step: usize, metrics: &BTreeMap<String, f64>);
    /// The test split's metrics (`test.*`) of the one evaluation after the loop, on the
    /// selected weights; `step` is the step the run ended at. Only runs with a separate
    /// validation split have one ([`TrainStep::test`]); nothing by default.
    fn on_test(&mut self, _step: usize, _metrics: &Metrics) {}
    /// Whether the loop should stop now (Ctrl-C).
    fn should_stop(&self) -> bool;
    /// Whether the loop should stop right after its next checkpoint (a Slurm time-limit
    /// warning: the task is then requeued and resumes from it); never by default.
    fn stop_after_checkpoint(&self) -> bool {
        false
    }
    /// The model's parameters by path (`fc.weight`), every `histogram_every` evaluations.
    fn on_weights(&mut self, _step: usize, _weights: &[(String, Vec<f32>)]) {}
    /// An image at `step` (a GAN's samples): `height × width` pixels of `channels`, row-major.
    fn on_image(&mut self, _step: usize, _tag: &str, _pixels: &[u8], _size: [usize; 2], _channels: Channels) {}
    /// A file for the trial directory (a GAN's `samples.csv`), replacing any earlier one.
    fn on_file(&mut self, _name: &str, _bytes: &[u8]) {}
    /// The trained weights `name` (`final`, `best`) as a Burn module record
    /// (`Module::into_record().into_bytes()`), handed over once when a run completed or was
    /// stopped by its [`EvalHook`]; the worker saves them in the trial's `model/`.
    fn on_model(&mut self, _name: &str, _bytes: &[u8]) {}
    /// The checkpointer of this run (a worker's: the trial's `checkpoint/`), taken once by
    /// [`run_loop`] at its start; `None` (the default): no checkpoints, no resume.
    fn checkpointer(&mut self) -> Option<Box<dyn Checkpointer>> {
        None
    }
    /// The observer's own files for a checkpoint (the worker's `metrics.csv` so far); none by
    /// default.
    fn checkpoint_files(&self) -> Vec<(String, Vec<u8>)> {
        Vec::new()
    }
    /// An error that ends the run (a checkpoint that could not be written or read back): the
    /// loop stops after reporting it. The default prints it on stderr.
    fn on_error(&mut self, error: crate::error::Error) {
        eprintln!("burnlab: {error}");
    }
}

/// An observer that records nothing and never stops a run (benchmarks, tests).
pub struct NullObserver;

impl Observer for NullObserver {
    fn on_train_loss(&mut self, _: usize, _: f64) {}
    fn on_eval(&mut self, _: usize, _: &BTreeMap<String, f64>) {}
    fn should_stop(&self) -> bool {
        false
    }
}

/// Collects every float parameter's values with its dotted path (`hidden.0.weight`).
#[derive(Default)]
struct WeightCollector {
    path: Vec<String>,
    weights: Vec<(String, Vec<f32>)>,
}

impl burn::module::ModuleVisitor for WeightCollector {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        if let Ok(values) = param.val().to_data().convert::<f32>().try_to_vec::<f32>() {
            self.weights.push((self.path.join("."), values));
        }
    }
}

/// Every float parameter of `module` with its dotted path (`hidden.0.weight`): what
/// [`Observer::on_weights`] receives.
pub fn weights_of<M: burn::module::Module>(module: &M) -> Vec<(String, Vec<f32>)> {
    let mut weights = WeightCollector::default();
    module.visit(&mut weights);
    weights.weights
}

/// How a training run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitStatus {
    /// All steps ran.
    Completed,
    /// The loss, or a metric of the evaluation, became NaN or infinite at this step.
    Diverged(usize),
    /// Stopped from outside after this many steps.
    Interrupted(usize),
    /// Stopped after this many steps by the evaluation hook ([`EvalHook`]: early stopping,
    /// pruning); that evaluation is the last one.
    Stopped(usize),
}

/// The result of a training run.
#[derive(Debug, Clone)]
pub struct FitOutcome {
    /// How it ended.
    pub status: FitStatus,
    /// Steps completed.
    pub steps: usize,
    /// The selected evaluation's metrics (the last one, or with [`Hooks::select_best`] the
    /// best one; of a diverged run, the last finite one), plus the test split's metrics of
    /// the evaluation after the loop when there was one ([`TrainStep::test`]).
    pub final_metrics: BTreeMap<String, f64>,
    /// The step of the selected evaluation (`None`: no finite evaluation).
    pub selected_step: Option<usize>,
    /// Seconds spent in the loop (evaluation included).
    pub seconds: f64,
    /// Trainable parameters.
    pub num_params: usize,
}
