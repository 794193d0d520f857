//! The classifier step: cross-entropy training of any [`Classifier`] through the loop skeleton
//! ([`crate::train::run_loop`]), or mean-squared-error training on a regression dataset
//! ([`Task::Regression`]: one output), and its evaluation (loss, accuracy, top-5 accuracy and
//! macro-F1; mse, mae and r2 for regression; [`super::scores`]).

use super::scores::{Confusion, RegressionScores, in_top_k};
use super::{Classifier, Inputs};
use crate::data::batches::Batches;
use crate::data::{DataInfo, Dataset, DeviceSplit, Labels, Task};
use crate::tensorboard::image::Channels;
use crate::train::{
    self, FitOutcome, Hooks, Metrics, Observer, StepLosses, TrainStep, TrainingSpec, build_optimizer, seeds,
};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig, MseLoss, Reduction};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The metrics the classifier trainer records.
pub const METRICS: &[&str] = &[
    "test.accuracy",
    "test.loss",
    "test.top5_accuracy",
    "test.macro_f1",
    "test.mse",
    "test.mae",
    "test.r2",
    "train.loss",
];

/// The names of the metrics an evaluation of a split records, as `{split}.{name}`: `loss`
/// always (cross-entropy, or the mse for regression); `accuracy`, `macro_f1` and
/// `top5_accuracy` (with more than [`TOP_K`] classes) for classification; `mse`, `mae` and
/// `r2` for regression. [`METRICS`] lists them for `test` (and `train.loss`).
pub const SPLIT_METRICS: &[&str] = &["accuracy", "loss", "top5_accuracy", "macro_f1", "mse", "mae", "r2"];

/// The `k` of the top-k accuracy (`{split}.top5_accuracy`), recorded when a dataset has more
/// than `k` classes: the fraction of examples whose class has fewer than `k` logits strictly
/// above its own.
pub const TOP_K: usize = 5;

/// Whether a classifier trained on a dataset of `info` records `metric` (`split.name`): the
/// classification names are not recorded on a regression dataset, nor its names on a
/// classification one, nor `top5_accuracy` with [`TOP_K`] classes or fewer. Names of other
/// trainers are not judged (true).
pub fn records(metric: &str, info: &DataInfo) -> bool {
    let classes = info.task == Task::Classification;
    match metric.split_once('.').map_or(metric, |(_, name)| name) {
        "accuracy" | "macro_f1" => classes,
        "top5_accuracy" => classes && info.num_classes > TOP_K,
        "mse" | "mae" | "r2" => !classes,
        _ => true,
    }
}

/// Trains `model` on `data` and evaluates it on the test split every `eval_every` steps.
///
/// Batches come from the trial's [`seeds::CLASSIFIER_BATCHES`] stream of `seed`; `device` must
/// be an autodiff device; evaluation runs on `model.valid()`.
pub fn fit<M: Classifier>(
    model: M,
    data: &Dataset,
    cfg: &TrainingSpec,
    device: &Device,
    seed: u64,
    obs: &mut dyn Observer,
) -> FitOutcome {
    let train = DeviceSplit::new(&data.train, &data.info, device);
    let test = DeviceSplit::new(&data.test, &data.info, device);
    let batches = seeds::stream(seed, seeds::CLASSIFIER_BATCHES);
    let mut step = ClassifierStep::new(model, train, Some(test), cfg, batches, device);
    train::run_loop(&mut step, cfg, &mut Hooks::default(), obs)
}

/// The metrics of `model` (in validation mode) on `split`, named `{split_name}.{name}`
/// (`split_name`: `valid` or `test`; names in [`SPLIT_METRICS`]).
pub fn evaluate<M: Classifier>(model: &M, split: &DeviceSplit, split_name: &str) -> Metrics {
    evaluate_detailed(model, split, split_name).0
}

/// [`evaluate`], and the confusion matrix of a classifier's predictions (rows true classes);
/// `None` for regression.
pub fn evaluate_detailed<M: Classifier>(
    model: &M,
    split: &DeviceSplit,
    split_name: &str,
) -> (Metrics, Option<Confusion>) {
    const CHUNK: usize = 1000;
    let model = model.valid();
    let mut eval = Evaluation::new(split);
    let mut start = 0;
    while start < split.len {
        let end = (start + CHUNK).min(split.len);
        let (modalities, labels) = split.slice_batch(start, end);
        let modalities = modalities.into_iter().map(|x| x.without_autodiff()).collect();
        let outputs = model.forward(&Inputs { modalities });
        match labels {
            Labels::Classes(y) => eval.add_classes(outputs, y.without_autodiff()),
            Labels::Targets(t) => eval.add_targets(outputs, t.without_autodiff()),
        }
        start = end;
    }
    eval.finish(split_name)
}

/// What an evaluation accumulates over the chunks of a split.
struct Evaluation {
    len: usize,
    loss_fn: CrossEntropyLoss,
    loss_sum: f64,
    correct: i64,
    top_k: Option<usize>,
    confusion: Confusion,
    predicted: Vec<f64>,
    targets: Vec<f64>,
}

impl Evaluation {
    fn new(split: &DeviceSplit) -> Self {
        let loss_fn = CrossEntropyLossConfig::new().init(&split.y.device());
        let num_classes = split.num_classes;
        Evaluation {
            len: split.len,
            loss_fn,
            loss_sum: 0.0,
            correct: 0,
            top_k: (num_classes > TOP_K).then_some(0),
            confusion: Confusion::new(if split.target.is_some() { 0 } else { num_classes }),
            predicted: Vec::new(),
            targets: Vec::new(),
        }
    }

    /// A chunk of `[n, classes]` logits and `[n]` labels.
    fn add_classes(&mut self, logits: Tensor<2>, y: Tensor<1, burn::tensor::Int>) {
        let n = y.dims()[0] as f64;
        let loss = self.loss_fn.forward(logits.clone(), y.clone());
        self.loss_sum += f64::from(loss.into_scalar::<f32>()) * n;
        let predicted = logits.clone().argmax(1).squeeze_dim::<1>(1);
        self.correct += predicted.clone().equal(y.clone()).int().sum().into_scalar::<i64>();
        let (predicted, y) = (host_ints(predicted), host_ints(y));
        self.confusion.add(&y, &predicted);
        if let Some(hits) = &mut self.top_k {
            let width = self.confusion.num_classes();
            let scores = host_floats(logits.reshape([-1]));
            *hits += scores.chunks(width).zip(&y).filter(|(row, c)| in_top_k(row, **c as usize, TOP_K)).count();
        }
    }

    /// A chunk of `[n, 1]` outputs and `[n]` targets.
    fn add_targets(&mut self, outputs: Tensor<2>, targets: Tensor<1>) {
        self.predicted.extend(host_floats(outputs.reshape([-1])).into_iter().map(f64::from));
        self.targets.extend(host_floats(targets).into_iter().map(f64::from));
    }

    fn finish(self, split_name: &str) -> (Metrics, Option<Confusion>) {
        let name = |m: &str| format!("{split_name}.{m}");
        if !self.targets.is_empty() {
            let s = RegressionScores::new(&self.predicted, &self.targets);
            let metrics = [("loss", s.mse), ("mse", s.mse), ("mae", s.mae), ("r2", s.r2)];
            return (metrics.into_iter().map(|(m, v)| (name(m), v)).collect(), None);
        }
        let n = self.len as f64;
        let mut metrics = BTreeMap::from([
            (name("loss"), self.loss_sum / n),
            (name("accuracy"), self.correct as f64 / n),
            (name("macro_f1"), self.confusion.macro_f1()),
        ]);
        if let Some(hits) = self.top_k {
            metrics.insert(name("top5_accuracy"), hits as f64 / n);
        }
        (metrics, Some(self.confusion))
    }
}

fn host_ints(t: Tensor<1, burn::tensor::Int>) -> Vec<i64> {
    t.into_data().convert::<i64>().try_to_vec::<i64>().expect("int tensor data")
}

fn host_floats(t: Tensor<1>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().expect("float tensor data")
}

/// Writes a classifier's final confusion matrix on `split_name`: `confusion.csv` and
/// `per_class.csv` in the trial directory ([`Confusion::to_csv`],
/// [`Confusion::per_class_csv`]), and its row-normalised heat map as the TensorBoard image
/// `{split_name}/confusion` (grayscale, [`CONFUSION_CELL`] pixels a cell, at `step`).
pub fn emit_confusion(obs: &mut dyn Observer, step: usize, confusion: &Confusion, split_name: &str) {
    obs.on_file("confusion.csv", confusion.to_csv().as_bytes());
    obs.on_file("per_class.csv", confusion.per_class_csv().as_bytes());
    let cell = (CONFUSION_SIDE / confusion.num_classes().max(1)).clamp(1, 16);
    let (pixels, size) = confusion.heat_map(cell);
    obs.on_image(step, &format!("confusion/{split_name}"), &pixels, size, Channels::Gray);
}

/// The width in pixels up to which the confusion heat map's cells are scaled up.
pub const CONFUSION_SIDE: usize = 512;

/// One classifier under training: the model, its optimizer (from `[training]`), its batches of
/// the training split and the split it is evaluated on.
pub struct ClassifierStep<M: Classifier> {
    /// Always `Some` between steps (the optimizer takes the model by value).
    model: Option<M>,
    optim: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    lr: f64,
    /// The run's last step (`training.steps`): its evaluation writes the confusion matrix.
    last_step: usize,
    train: DeviceSplit,
    test: Option<DeviceSplit>,
    batches: Batches,
    device: Device,
    num_params: usize,
}

impl<M: Classifier> ClassifierStep<M> {
    /// A step training `model` on `train` with the optimizer, learning rate and batches of
    /// `cfg` (shuffled by `rng`), evaluated on `test` (no metrics of its own without one).
    /// `device` must be an autodiff device.
    pub fn new(
        model: M,
        train: DeviceSplit,
        test: Option<DeviceSplit>,
        cfg: &TrainingSpec,
        rng: ChaCha8Rng,
        device: &Device,
    ) -> Self {
        let num_params = model.num_params();
        let batches = Batches::new(cfg.batching, cfg.batch_size, train.len, rng);
        let optim = build_optimizer(cfg);
        let loss_fn = CrossEntropyLossConfig::new().init(device);
        let (lr, last_step, device) = (cfg.lr, cfg.steps, device.clone());
        ClassifierStep { model: Some(model), optim, loss_fn, lr, last_step, train, test, batches, device, num_params }
    }

    /// The model, as trained so far.
    pub fn into_model(self) -> M {
        self.model.expect("the model is held between steps")
    }

    fn model(&self) -> &M {
        self.model.as_ref().expect("the model is held between steps")
    }

    /// The training loss of a batch's `outputs` (`[batch, classes]`): cross-entropy against
    /// class labels, mean squared error against regression targets (one output).
    fn loss(&self, outputs: Tensor<2>, labels: Labels) -> Tensor<1> {
        match labels {
            Labels::Classes(y) => self.loss_fn.forward(outputs, y),
            Labels::Targets(t) => MseLoss::new().forward(outputs.reshape([-1]), t, Reduction::Mean),
        }
    }
}

impl<M: Classifier> TrainStep for ClassifierStep<M> {
    fn num_params(&self) -> usize {
        self.num_params
    }

    fn step(&mut self, _step: usize, lr_scale: f64) -> StepLosses {
        let (modalities, labels) = self.batches.next(&self.train, &self.device);
        let outputs = self.model().forward(&Inputs { modalities });
        let loss = self.loss(outputs, labels);
        let value = f64::from(loss.clone().into_scalar::<f32>());
        if value.is_finite() {
            let grads = GradientsParams::from_grads(loss.backward(), self.model());
            let model = self.model.take().expect("the model is held between steps");
            self.model = Some(self.optim.step(self.lr * lr_scale, model, grads));
        }
        StepLosses::new(value)
    }

    fn evaluate(&mut self, step: usize, obs: &mut dyn Observer) -> Metrics {
        let Some(test) = &self.test else { return Metrics::new() };
        let (metrics, confusion) = evaluate_detailed(self.model(), test, "test");
        if step == self.last_step
            && let Some(confusion) = &confusion
        {
            emit_confusion(obs, step, confusion, "test");
        }
        metrics
    }

    fn weights(&self) -> Option<Vec<(String, Vec<f32>)>> {
        Some(train::weights_of(self.model()))
    }
}
