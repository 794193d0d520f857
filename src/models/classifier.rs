//! The classifier step: cross-entropy training of any [`Classifier`] through the loop skeleton
//! ([`crate::train::run_loop`]), and its evaluation (test loss and accuracy).

use super::{Classifier, Inputs};
use crate::data::batches::Batches;
use crate::data::{Dataset, DeviceSplit};
use crate::train::{
    self, FitOutcome, Hooks, Metrics, Observer, StepLosses, TrainStep, TrainingSpec, build_optimizer, seeds,
};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The metrics the classifier trainer records.
pub const METRICS: &[&str] = &["test.accuracy", "test.loss", "train.loss"];

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

/// Loss and accuracy of `model` (in validation mode) on `split`, named `{split_name}.loss` and
/// `{split_name}.accuracy` (`split_name`: `valid` or `test`).
pub fn evaluate<M: Classifier>(model: &M, split: &DeviceSplit, split_name: &str) -> BTreeMap<String, f64> {
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
        (format!("{split_name}.loss"), loss_sum / split.len as f64),
        (format!("{split_name}.accuracy"), correct as f64 / split.len as f64),
    ])
}

/// One classifier under training: the model, its optimizer (from `[training]`), its batches of
/// the training split and the split it is evaluated on.
pub struct ClassifierStep<M: Classifier> {
    /// Always `Some` between steps (the optimizer takes the model by value).
    model: Option<M>,
    optim: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    lr: f64,
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
        let (lr, device) = (cfg.lr, device.clone());
        ClassifierStep { model: Some(model), optim, loss_fn, lr, train, test, batches, device, num_params }
    }

    /// The model, as trained so far.
    pub fn into_model(self) -> M {
        self.model.expect("the model is held between steps")
    }

    fn model(&self) -> &M {
        self.model.as_ref().expect("the model is held between steps")
    }
}

impl<M: Classifier> TrainStep for ClassifierStep<M> {
    fn num_params(&self) -> usize {
        self.num_params
    }

    fn step(&mut self, _step: usize, lr_scale: f64) -> StepLosses {
        let (modalities, y) = self.batches.next(&self.train, &self.device);
        let logits = self.model().forward(&Inputs { modalities });
        let loss = self.loss_fn.forward(logits, y);
        let value = f64::from(loss.clone().into_scalar::<f32>());
        if value.is_finite() {
            let grads = GradientsParams::from_grads(loss.backward(), self.model());
            let model = self.model.take().expect("the model is held between steps");
            self.model = Some(self.optim.step(self.lr * lr_scale, model, grads));
        }
        StepLosses::new(value)
    }

    fn evaluate(&mut self, _step: usize, _obs: &mut dyn Observer) -> Metrics {
        self.test.as_ref().map(|test| evaluate(self.model(), test, "test")).unwrap_or_default()
    }

    fn weights(&self) -> Option<Vec<(String, Vec<f32>)>> {
        Some(train::weights_of(self.model()))
    }
}
