//! Training: a custom Burn loop (forward, `loss.backward()`, `GradientsParams::from_grads`,
//! `optim.step`) with periodic evaluation, divergence detection and cooperative stopping.

pub mod adversarial;
mod optim;
mod spec;

pub use optim::build_optimizer;
pub use spec::{Batching, OptimizerKind, TrainingSpec};

use crate::data::{Dataset, DeviceSplit};
use crate::models::{Classifier, Inputs};
use crate::tensorboard::image::Channels;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::collections::BTreeMap;
use std::time::Instant;

/// The metrics the classifier trainer records.
pub const CLASSIFIER_METRICS: &[&str] = &["test.accuracy", "test.loss", "train.loss"];

/// Metrics the trainers record, as `split.name`: the classifier trainer's, then those of the GAN
/// trainer ([`adversarial::METRICS`]) it does not share.
pub fn metrics() -> Vec<&'static str> {
    let mut all = CLASSIFIER_METRICS.to_vec();
    all.extend(adversarial::METRICS.iter().filter(|m| !CLASSIFIER_METRICS.contains(m)));
    all
}

/// Whether an evaluation's metrics hold a NaN or infinite value: a divergence at that step,
/// like a non-finite training loss (every trainer stops there and keeps the last finite
/// evaluation as its final metrics).
pub fn diverged(metrics: &BTreeMap<String, f64>) -> bool {
    metrics.values().any(|v| !v.is_finite())
}

/// Receives progress from the training loop.
pub trait Observer {
    /// Mean training loss over the last `log_every` steps, after `step` steps.
    fn on_train_loss(&mut self, step: usize, loss: f64);
    /// Evaluation metrics after `step` steps.
    fn on_eval(&mut self, step: usize, metrics: &BTreeMap<String, f64>);
    /// Whether the loop should stop now (Ctrl-C).
    fn should_stop(&self) -> bool;
    /// The model's parameters by path (`fc.weight`), every `histogram_every` evaluations.
    fn on_weights(&mut self, _step: usize, _weights: &[(String, Vec<f32>)]) {}
    /// An image at `step` (a GAN's samples): `height × width` pixels of `channels`, row-major.
    fn on_image(&mut self, _step: usize, _tag: &str, _pixels: &[u8], _size: [usize; 2], _channels: Channels) {}
    /// A file for the trial directory (a GAN's `samples.csv`), replacing any earlier one.
    fn on_file(&mut self, _name: &str, _bytes: &[u8]) {}
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

/// How a training run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FitStatus {
    /// All steps ran.
    Completed,
    /// The loss, or a metric of the evaluation, became NaN or infinite at this step.
    Diverged(usize),
    /// Stopped from outside after this many steps.
    Interrupted(usize),
}

/// The result of a training run.
#[derive(Debug, Clone)]
pub struct FitOutcome {
    /// How it ended.
    pub status: FitStatus,
    /// Steps completed.
    pub steps: usize,
    /// The last evaluation's metrics.
    pub final_metrics: BTreeMap<String, f64>,
    /// Seconds spent in the loop (evaluation included).
    pub seconds: f64,
    /// Trainable parameters.
    pub num_params: usize,
}

/// Trains `model` on `data` and evaluates it on the test split every `eval_every` steps.
///
/// `device` must be an autodiff device; evaluation runs on `model.valid()`.
pub fn fit<M: Classifier>(
    mut model: M,
    data: &Dataset,
    cfg: &TrainingSpec,
    device: &Device,
    seed: u64,
    obs: &mut dyn Observer,
) -> FitOutcome {
    let num_params = model.num_params();
    let start = Instant::now();
    let train = DeviceSplit::new(&data.train, &data.info, device);
    let test = DeviceSplit::new(&data.test, &data.info, device);
    let mut batches = Batches::new(cfg, train.len, seed);
    let mut optim = build_optimizer(cfg);
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    let mut final_metrics = BTreeMap::new();
    let (mut window_sum, mut window_n) = (0.0, 0usize);
    let (mut eval_sum, mut eval_n) = (0.0, 0usize);
    let mut status = FitStatus::Completed;
    let mut done = 0;
    let mut evals = 0;
    for step in 1..=cfg.steps {
        if obs.should_stop() {
            status = FitStatus::Interrupted(done);
            break;
        }
        let (modalities, y) = batches.next(&train, device);
        let logits = model.forward(&Inputs { modalities });
        let loss = loss_fn.forward(logits, y);
        let value = f64::from(loss.clone().into_scalar::<f32>());
        if !value.is_finite() {
            status = FitStatus::Diverged(step);
            obs.on_train_loss(step, value);
            break;
        }
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        model = optim.step(cfg.lr, model, grads);
        done = step;
        window_sum += value;
        window_n += 1;
        eval_sum += value;
        eval_n += 1;
        if step % cfg.log_every == 0 {
            obs.on_train_loss(step, window_sum / window_n as f64);
            (window_sum, window_n) = (0.0, 0);
        }
        if step % cfg.eval_every == 0 || step == cfg.steps {
            let mut metrics = evaluate(&model, &test);
            metrics.insert("train.loss".into(), eval_sum / eval_n.max(1) as f64);
            (eval_sum, eval_n) = (0.0, 0);
            obs.on_eval(step, &metrics);
            if diverged(&metrics) {
                status = FitStatus::Diverged(step);
                break;
            }
            final_metrics = metrics;
            evals += 1;
            if cfg.histogram_every > 0 && evals % cfg.histogram_every == 0 {
                let mut weights = WeightCollector::default();
                model.visit(&mut weights);
                obs.on_weights(step, &weights.weights);
            }
        }
    }
    FitOutcome { status, steps: done, final_metrics, seconds: start.elapsed().as_secs_f64(), num_params }
}

/// Test loss and accuracy of `model` (in validation mode) on `split`.
pub fn evaluate<M: Classifier>(model: &M, split: &DeviceSplit) -> BTreeMap<String, f64> {
    const CHUNK: usize = 1000;
    let model = model.valid();
    let loss_fn = CrossEntropyLossConfig::new().init(&split.y.device());
    let (mut loss_sum, mut correct) = (0.0f64, 0i64);
    let mut start = 0;
    while start < split.len {
        let end = (start + CHUNK).min(split.len);
        let (modalities, y) = split.slice_all(start, end);
        let modalities = modalities.into_iter().map(|x| x.without_autodiff()).collect();
        let y = y.without_autodiff();
        let logits = model.forward(&Inputs { modalities });
        let n = (end - start) as f64;
        let loss = loss_fn.forward(logits.clone(), y.clone());
        loss_sum += f64::from(loss.into_scalar::<f32>()) * n;
        correct += logits.argmax(1).squeeze_dim::<1>(1).equal(y).int().sum().into_scalar::<i64>();
        start = end;
    }
    BTreeMap::from([
        ("test.loss".to_string(), loss_sum / split.len as f64),
        ("test.accuracy".to_string(), correct as f64 / split.len as f64),
    ])
}

/// Batches of row indices in seeded epochs: each epoch is a fresh shuffle of `0..n`. A batch
/// that does not fit in the rest of an epoch starts the next one (the rest is skipped), except
/// when the batch is larger than `n`: then batches run on across epochs. Used by every trainer
/// that shuffles (the classifier loop, the GAN's real batches, the Frechet feature network).
pub(crate) struct Epochs {
    n: usize,
    batch: usize,
    order: Vec<usize>,
    pos: usize,
    rng: rand_chacha::ChaCha8Rng,
}

impl Epochs {
    /// Batches of `batch` indices into `0..n`, shuffled by `rng`.
    pub(crate) fn new(n: usize, batch: usize, rng: rand_chacha::ChaCha8Rng) -> Self {
        Epochs { n, batch, order: Vec::new(), pos: 0, rng }
    }

    /// The next batch's indices.
    pub(crate) fn next_batch(&mut self) -> Vec<usize> {
        if self.batch <= self.n && self.pos + self.batch > self.order.len() {
            self.reshuffle();
        }
        let mut idx = Vec::with_capacity(self.batch);
        while idx.len() < self.batch {
            if self.pos == self.order.len() {
                self.reshuffle();
            }
            let take = (self.batch - idx.len()).min(self.order.len() - self.pos);
            idx.extend_from_slice(&self.order[self.pos..self.pos + take]);
            self.pos += take;
        }
        idx
    }

    fn reshuffle(&mut self) {
        self.order = (0..self.n).collect();
        self.order.shuffle(&mut self.rng);
        self.pos = 0;
    }
}

/// Draws training batches: seeded reshuffles per epoch, or sequential slices.
struct Batches {
    mode: Batching,
    batch: usize,
    n: usize,
    step: usize,
    epochs: Epochs,
}

impl Batches {
    fn new(cfg: &TrainingSpec, n: usize, seed: u64) -> Self {
        let rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x6261_7463_6865_7321);
        let batch = cfg.batch_size.min(n);
        Batches { mode: cfg.batching, batch, n, step: 0, epochs: Epochs::new(n, batch, rng) }
    }

    /// The next batch: the same rows of every modality, and their labels.
    fn next(&mut self, split: &DeviceSplit, device: &Device) -> (Vec<Tensor<3>>, Tensor<1, Int>) {
        match self.mode {
            Batching::Sequential => {
                // x[(step * batch) % n ..][..batch], wrapping as the MNIST-1D reference does.
                let start = (self.step * self.batch) % self.n;
                self.step += 1;
                let end = (start + self.batch).min(self.n);
                split.slice_all(start, end)
            }
            Batching::Shuffle => split.select_all(&self.epochs.next_batch(), device),
        }
    }
}
