//! The classifier step: cross-entropy training of any [`Classifier`] through the loop skeleton
//! ([`crate::train::run_loop`]), or mean-squared-error training on a regression dataset
//! ([`Task::Regression`]: one output), and its evaluation (loss, accuracy, top-5 accuracy and
//! macro-F1; mse, mae and r2 for regression; [`super::scores`]) on the validation split during
//! training and on the test split once at the end.

use super::scores::{Confusion, RegressionScores, in_top_k};
use super::{Classifier, Inputs};
use crate::data::batches::Batches;
use crate::data::{DataInfo, Dataset, DeviceSplit, Labels, Task};
use crate::tensorboard::image::Channels;
use crate::train::{
    self, ClipGradSpec, FitOutcome, FitStatus, Hooks, Metrics, Observer, Selection, StepLosses, TrainStep,
    TrainingSpec, build_optimizer, checkpoint, seeds,
};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig, MseLoss, Reduction};
use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
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
    "valid.accuracy",
    "valid.loss",
    "valid.top5_accuracy",
    "valid.macro_f1",
    "valid.mse",
    "valid.mae",
    "valid.r2",
];

/// The names of the metrics an evaluation of a split records, as `{split}.{name}`: `loss`
/// always (cross-entropy, or the mse for regression); `accuracy`, `macro_f1` and
/// `top5_accuracy` (with more than [`TOP_K`] classes) for classification; `mse`, `mae` and
/// `r2` for regression. [`METRICS`] lists them for `test` and `valid` (and `train.loss`).
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

/// Trains `model` on `data`, evaluating it every `eval_every` steps on the validation split
/// when `data` has one (then on the test split once at the end, on the weights `select_best`
/// chooses: the best evaluation's, else the last), else on the test split, with the hooks
/// `[training]` asks for ([`Hooks::from_training`]: schedule, early stopping).
///
/// Batches come from the trial's [`seeds::CLASSIFIER_BATCHES`] stream of `seed`; `device` must
/// be an autodiff device; evaluation runs on `model.valid()`. A run that completed or was
/// stopped hands its weights to [`Observer::on_model`] (`final`, and `best` with
/// `select_best`; [`super::saved::emit_weights`]).
pub fn fit<M: Classifier>(
    model: M,
    data: &Dataset,
    cfg: &TrainingSpec,
    device: &Device,
    seed: u64,
    select_best: Option<&Selection>,
    obs: &mut dyn Observer,
) -> FitOutcome {
    let train = DeviceSplit::new(&data.train, &data.info, device);
    let test = DeviceSplit::new(&data.test, &data.info, device);
    let batches = seeds::stream(seed, seeds::CLASSIFIER_BATCHES);
    let mut step = ClassifierStep::new(model, train, Some(test), cfg, batches, device);
    if let Some(valid) = &data.valid {
        step = step.with_valid(DeviceSplit::new(valid, &data.info, device));
    }
    let mut hooks = Hooks { select_best: select_best.cloned(), ..Hooks::from_training(cfg) };
    let outcome = train::run_loop(&mut step, cfg, &mut hooks, obs);
    if matches!(outcome.status, FitStatus::Completed | FitStatus::Stopped(_)) {
        let best = select_best.map(|_| step.best.as_ref().unwrap_or_else(|| step.model()));
        super::saved::emit_weights(obs, step.model(), best);
    }
    outcome
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
/// `{split_name}/confusion` (grayscale, `CONFUSION_CELL` pixels a cell, at `step`).
pub fn emit_confusion(obs: &mut dyn Observer, step: usize, confusion: &Confusion, split_name: &str) {
    obs.on_file("confusion.csv", confusion.to_csv().as_bytes());
    obs.on_file("per_class.csv", confusion.per_class_csv().as_bytes());
    let cell = (CONFUSION_SIDE / confusion.num_classes().max(1)).clamp(1, 16);
    let (pixels, size) = confusion.heat_map(cell);
    obs.on_image(step, &format!("confusion/{split_name}"), &pixels, size, Channels::Gray);
}

/// The width in pixels up to which the confusion heat map's cells are scaled up.
pub const CONFUSION_SIDE: usize = 512;

/// One classifier under training: the model, its optimizer (from `[training]`, with its
/// gradient clipping and accumulation), its batches of the training split and the splits it is
/// evaluated on (validation during training when set with [`ClassifierStep::with_valid`], test).
pub struct ClassifierStep<M: Classifier> {
    /// Always `Some` between steps (the optimizer takes the model by value).
    model: Option<M>,
    optim: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    lr: f64,
    clip: Option<ClipGradSpec>,
    accumulate: usize,
    /// The step of the last evaluation (the confusion matrix's image is written at it).
    evaluated_at: usize,
    train: DeviceSplit,
    test: Option<DeviceSplit>,
    valid: Option<DeviceSplit>,
    /// The weights [`TrainStep::keep_best`] kept (with a validation and a test split only).
    best: Option<M>,
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
        let (lr, clip, accumulate, device) = (cfg.lr, cfg.clip_grad.clone(), cfg.accumulate, device.clone());
        let (model, valid, best, evaluated_at) = (Some(model), None, None, 0);
        ClassifierStep {
            model,
            optim,
            loss_fn,
            lr,
            clip,
            accumulate,
            train,
            test,
            valid,
            best,
            evaluated_at,
            batches,
            device,
            num_params,
        }
    }

    /// Evaluates on `valid` during training (`valid.*`), and on the test split only once, in
    /// [`TrainStep::test`].
    pub fn with_valid(mut self, valid: DeviceSplit) -> Self {
        self.valid = Some(valid);
        self
    }

    /// The model, as trained so far.
    pub fn into_model(self) -> M {
        self.model.expect("the model is held between steps")
    }

    fn model(&self) -> &M {
        self.model.as_ref().expect("the model is held between steps")
    }

    /// The next batch's loss (the mean over its examples) and its value.
    fn batch_loss(&mut self) -> (Tensor<1>, f64) {
        let (modalities, labels) = self.batches.next(&self.train, &self.device);
        let outputs = self.model().forward(&Inputs { modalities });
        let loss = self.loss(outputs, labels);
        let value = f64::from(loss.clone().into_scalar::<f32>());
        (loss, value)
    }

    /// Clips `grads` (`training.clip_grad`) and makes the optimizer step.
    fn update(&mut self, mut grads: GradientsParams, lr_scale: f64) {
        if let Some(clip) = &self.clip {
            clip.clip(self.model(), &mut grads);
        }
        let model = self.model.take().expect("the model is held between steps");
        self.model = Some(self.optim.step(self.lr * lr_scale, model, grads));
    }

    /// One optimizer step on the mean gradient of `accumulate` batches (each batch's loss
    /// divided by `accumulate` before `backward`, as in PyTorch); the loss is the batches'
    /// mean. A non-finite batch loss ends the step there, the model unchanged.
    fn accumulated_step(&mut self, lr_scale: f64) -> StepLosses {
        let k = self.accumulate;
        let mut acc = GradientsAccumulator::<M>::new();
        let mut sum = 0.0;
        for _ in 0..k {
            let (loss, value) = self.batch_loss();
            if !value.is_finite() {
                return StepLosses::new(value);
            }
            sum += value;
            let grads = GradientsParams::from_grads(loss.div_scalar(k as f64).backward(), self.model());
            acc.accumulate(self.model(), grads);
        }
        self.update(acc.grads(), lr_scale);
        StepLosses::new(sum / k as f64)
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
        if self.accumulate > 1 {
            return self.accumulated_step(lr_scale);
        }
        let (loss, value) = self.batch_loss();
        if value.is_finite() {
            let grads = GradientsParams::from_grads(loss.backward(), self.model());
            self.update(grads, lr_scale);
        }
        StepLosses::new(value)
    }

    fn evaluate(&mut self, step: usize, _obs: &mut dyn Observer) -> Metrics {
        self.evaluated_at = step;
        match (&self.valid, &self.test) {
            (Some(valid), _) => evaluate(self.model(), valid, "valid"),
            (None, Some(test)) => evaluate(self.model(), test, "test"),
            (None, None) => Metrics::new(),
        }
    }

    fn keep_best(&mut self) {
        if self.test.is_some() {
            // A snapshot (`valid`), not a clone: a clone shares module state such as batch
            // norm's running statistics (`RunningState`), which later steps would update.
            self.best = Some(self.model().valid());
        }
    }

    /// The test split on the selected weights: its metrics with a validation split (without
    /// one, the selected evaluation's `test.*` are the test metrics, and this returns none);
    /// either way the confusion matrix of that evaluation goes to `obs` ([`emit_confusion`]).
    fn test(&mut self, best: bool, obs: &mut dyn Observer) -> Metrics {
        let Some(test) = &self.test else { return Metrics::new() };
        let model = if best { self.best.as_ref().unwrap_or_else(|| self.model()) } else { self.model() };
        let (metrics, confusion) = evaluate_detailed(model, test, "test");
        if let Some(confusion) = &confusion {
            emit_confusion(obs, self.evaluated_at, confusion, "test");
        }
        if self.valid.is_some() { metrics } else { Metrics::new() }
    }

    fn weights(&self) -> Option<Vec<(String, Vec<f32>)>> {
        Some(train::weights_of(self.model()))
    }

    /// `model.bpk`, `optim.bpk`, `batches.json` and, with kept best weights, `best.bpk`.
    fn checkpoint(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        let mut files = vec![
            ("model.bpk".to_string(), checkpoint::module_bytes(self.model())?),
            ("optim.bpk".to_string(), checkpoint::optim_bytes(&self.optim)?),
            ("batches.json".to_string(), checkpoint::json_bytes(&self.batches.state())?),
        ];
        if let Some(best) = &self.best {
            files.push(("best.bpk".to_string(), checkpoint::module_bytes(best)?));
        }
        Ok(files)
    }

    fn restore(&mut self, files: &checkpoint::Files) -> Result<(), String> {
        let model = self.model.take().expect("the model is held between steps");
        self.model = Some(checkpoint::load_module(model, checkpoint::file(files, "model.bpk")?)?);
        checkpoint::load_optim(&mut self.optim, checkpoint::file(files, "optim.bpk")?)?;
        self.batches.restore(&checkpoint::json_file(files, "batches.json")?)?;
        if let Some(best) = files.get("best.bpk") {
            // Into a snapshot, as `keep_best` keeps: loading into a clone would write the
            // shared running statistics of the model just restored.
            self.best = Some(checkpoint::load_module(self.model().valid(), best)?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataInfo, Split};
    use crate::models::Family;
    use crate::models::linear::LinearSpec;
    use crate::models::mlp::MlpSpec;
    use crate::train::{Batching, EarlyStoppingSpec, NullObserver, OptimizerKind};

    /// 24 examples of 8 values in 3 classes (a fixed pattern; no randomness).
    fn data() -> Dataset {
        let info = DataInfo { seq_len: 8, channels: 1, num_classes: 3, ..Default::default() };
        let x = (0..24 * 8).map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) + (i / 8 % 3) as f32 * 0.3).collect();
        let y = (0..24).map(|i| (i % 3) as i64).collect();
        let split = Split::new(x, y);
        Dataset::new(info, split.clone(), split)
    }

    /// The MLP's weights after `steps` steps of `cfg` from the weights of `model`.
    fn trained(model: &super::super::mlp::Mlp, data: &Dataset, cfg: &TrainingSpec, device: &Device) -> Vec<f32> {
        let train = DeviceSplit::new(&data.train, &data.info, device);
        let mut step = ClassifierStep::new(model.clone(), train, None, cfg, seeds::stream(0, 0), device);
        for t in 1..=cfg.steps {
            assert!(step.step(t, 1.0).is_finite());
        }
        train::weights_of(&step.into_model()).into_iter().flat_map(|(_, w)| w).collect()
    }

    #[test]
    fn k_accumulated_batches_of_n_equal_one_batch_of_k_times_n() {
        let (data, device) = (data(), Device::flex().autodiff());
        let model = MlpSpec { hidden: 16, depth: 2, residual: false }.init(&data.info, &device);
        // Sequential batches: 3 batches of 4 cover the same rows as one batch of 12.
        for (optimizer, lr) in [(OptimizerKind::Sgd, 0.5), (OptimizerKind::Adam, 0.01)] {
            let base = TrainingSpec { optimizer, lr, steps: 2, batching: Batching::Sequential, ..Default::default() };
            let accumulated =
                trained(&model, &data, &TrainingSpec { batch_size: 4, accumulate: 3, ..base.clone() }, &device);
            let whole = trained(&model, &data, &TrainingSpec { batch_size: 12, ..base }, &device);
            let before: Vec<f32> = train::weights_of(&model).into_iter().flat_map(|(_, w)| w).collect();
            let moved = whole.iter().zip(&before).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(moved > 1e-3, "{optimizer:?}: the weights moved by {moved} only");
            for (a, w) in accumulated.iter().zip(&whole) {
                assert!((a - w).abs() <= 1e-5, "{optimizer:?}: {a} vs {w}");
            }
        }
    }

    #[test]
    fn early_stopping_ends_the_run_after_patience_evaluations() {
        let (data, device) = (data(), Device::flex().autodiff());
        let model = MlpSpec { hidden: 8, depth: 1, residual: false }.init(&data.info, &device);
        // No change counts as an improvement with min_delta = 100: the first evaluation (step
        // 2) sets the best value, the next two (4, 6) miss it, and patience 2 stops at 6.
        let watch = EarlyStoppingSpec { metric: "test.loss".into(), patience: 2, min_delta: 100.0, mode: None };
        let cfg =
            TrainingSpec { batch_size: 4, steps: 20, eval_every: 2, early_stopping: Some(watch), ..Default::default() };
        let out = fit(model, &data, &cfg, &device, 0, None, &mut NullObserver);
        assert_eq!((out.status, out.steps), (FitStatus::Stopped(6), 6));
    }

    /// Two classes of 4-step signals around -1 and +1 with a little deterministic jitter.
    fn split(n: usize, offset: usize) -> Split {
        let y: Vec<i64> = (0..n).map(|i| (i % 2) as i64).collect();
        let x = (0..n * 4).map(|j| (2 * y[j / 4] - 1) as f32 + (((j + offset) * 37 % 11) as f32 - 5.0) / 4.0).collect();
        Split::new(x, y)
    }

    fn info() -> DataInfo {
        DataInfo { seq_len: 4, channels: 1, num_classes: 2, ..Default::default() }
    }

    /// Records every evaluation and every test evaluation.
    #[derive(Default)]
    struct Seen {
        evals: Vec<(usize, Metrics)>,
        tests: Vec<(usize, Metrics)>,
    }

    impl Observer for Seen {
        fn on_train_loss(&mut self, _: usize, _: f64) {}
        fn on_eval(&mut self, step: usize, metrics: &Metrics) {
            self.evals.push((step, metrics.clone()));
        }
        fn on_test(&mut self, step: usize, metrics: &Metrics) {
            self.tests.push((step, metrics.clone()));
        }
        fn should_stop(&self) -> bool {
            false
        }
    }

    fn train(data: &Dataset, steps: usize, select: Option<&Selection>, obs: &mut dyn Observer) -> FitOutcome {
        let cfg = TrainingSpec { lr: 0.3, batch_size: 8, steps, eval_every: 5, log_every: 5, ..Default::default() };
        let device = Device::flex().autodiff();
        // Zero weights, not the device's seed: tests share the process-wide generator.
        let model = LinearSpec {}.init(&data.info, &device);
        let model = burn::module::Module::map(model, &mut Zeros);
        fit(model, data, &cfg, &device, 0, select, obs)
    }

    /// Sets every float parameter to zero (a deterministic start for a linear model).
    struct Zeros;

    impl burn::module::ModuleMapper for Zeros {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<burn::tensor::Tensor<D>>,
        ) -> burn::module::Param<burn::tensor::Tensor<D>> {
            param.map(|t| t.zeros_like().require_grad())
        }
    }

    /// Sets float parameters (and module state) to a fixed pattern of values in [0.2, 1.0):
    /// a deterministic start that is positive, as a running variance must be.
    struct Pattern(usize);

    impl burn::module::ModuleMapper for Pattern {
        fn map_float<const D: usize>(
            &mut self,
            param: burn::module::Param<burn::tensor::Tensor<D>>,
        ) -> burn::module::Param<burn::tensor::Tensor<D>> {
            let start = self.0;
            param.map(|t| {
                let shape = t.shape();
                let n = shape.num_elements();
                let values: Vec<f32> = (start..start + n).map(|i| 0.2 + (i * 37 % 97) as f32 / 121.0).collect();
                self.0 += n;
                Tensor::<D>::from_data(burn::tensor::TensorData::new(values, shape), &t.device()).require_grad()
            })
        }
    }

    #[test]
    fn select_best_tests_the_best_evaluations_batch_norm_statistics() {
        // As `select_best_tests_the_weights_of_the_best_evaluation`, with batch norm: the kept
        // weights are a snapshot, so later steps do not move their running statistics (a
        // clone would share them with the model in training).
        let mut valid = split(12, 2);
        valid.y.iter_mut().for_each(|y| *y = 1 - *y);
        let data = Dataset::new(info(), split(64, 0), split(40, 1)).with_valid(valid);
        let spec: crate::models::cnn::CnnSpec =
            toml::from_str("channels = [3]\nkernels = 3\nstrides = 1\nbatch_norm = true\n").unwrap();
        let run = |steps: usize, select: Option<&Selection>| {
            let cfg = TrainingSpec { lr: 0.1, batch_size: 8, steps, eval_every: 5, log_every: 5, ..Default::default() };
            let device = Device::flex().autodiff();
            let model = burn::module::Module::map(spec.init(&data.info, &device), &mut Pattern(0));
            fit(model, &data, &cfg, &device, 0, select, &mut Seen::default())
        };
        let select = Selection { metric: "test.loss".into(), maximize: false };
        let long = run(40, Some(&select));
        let best = long.selected_step.unwrap();
        assert!(best < 40, "the best evaluation is the last: nothing to check");
        let cut = run(best, None);
        for m in ["test.loss", "test.accuracy", "valid.loss"] {
            assert_eq!(long.final_metrics[m], cut.final_metrics[m], "{m}");
        }
    }

    #[test]
    fn no_test_value_is_computed_before_the_final_evaluation() {
        // A test split of NaN inputs: evaluating it during training would end the run as
        // diverged (a NaN metric). The run completes, and only the final evaluation has
        // test values (NaN).
        let mut test = split(20, 1);
        test.x.fill(f32::NAN);
        let data = Dataset::new(info(), split(64, 0), test).with_valid(split(20, 2));
        let mut seen = Seen::default();
        let out = train(&data, 20, None, &mut seen);
        assert_eq!((out.status, out.steps, out.selected_step), (FitStatus::Completed, 20, Some(20)));
        assert_eq!(seen.evals.iter().map(|e| e.0).collect::<Vec<_>>(), [5, 10, 15, 20]);
        for (step, m) in &seen.evals {
            let names: Vec<&str> = m.keys().map(String::as_str).collect();
            assert_eq!(names, ["train.loss", "valid.accuracy", "valid.loss", "valid.macro_f1"], "step {step}");
            assert!(m.values().all(|v| v.is_finite()), "step {step}: {m:?}");
        }
        assert_eq!(seen.tests.len(), 1);
        assert_eq!(seen.tests[0].0, 20);
        assert!(seen.tests[0].1["test.loss"].is_nan());
        assert!(out.final_metrics["test.loss"].is_nan() && out.final_metrics["valid.accuracy"].is_finite());
    }

    #[test]
    fn select_best_tests_the_weights_of_the_best_evaluation() {
        // The test metrics of a run selecting its best evaluation equal those of a run cut
        // at that step (the same draws up to it): the weights tested are the best one's.
        // Validation labels flipped: its loss grows as training goes on, so the first
        // evaluation is the best.
        let mut valid = split(12, 2);
        valid.y.iter_mut().for_each(|y| *y = 1 - *y);
        let data = Dataset::new(info(), split(64, 0), split(40, 1)).with_valid(valid);
        let select = Selection { metric: "test.loss".into(), maximize: false };
        let long = train(&data, 40, Some(&select), &mut Seen::default());
        let best = long.selected_step.unwrap();
        assert_eq!(best, 5);
        let cut = train(&data, best, None, &mut Seen::default());
        for m in ["test.loss", "test.accuracy", "valid.loss"] {
            assert_eq!(long.final_metrics[m], cut.final_metrics[m], "{m}");
        }
        let last = train(&data, 40, None, &mut Seen::default());
        assert_ne!(long.final_metrics["test.loss"], last.final_metrics["test.loss"]);
    }

    #[test]
    fn without_a_validation_split_training_evaluates_the_test_split_as_before() {
        let data = Dataset::new(info(), split(64, 0), split(20, 1));
        let mut seen = Seen::default();
        let out = train(&data, 10, None, &mut seen);
        assert!(seen.tests.is_empty());
        assert_eq!(out.final_metrics, seen.evals[1].1);
        assert!(out.final_metrics.contains_key("test.accuracy"));
    }
}
