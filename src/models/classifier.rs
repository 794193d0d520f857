//! The classifier step: cross-entropy training of any [`Classifier`] through the loop skeleton
//! ([`crate::train::run_loop`]), and its evaluation (test loss and accuracy).

use super::{Classifier, Inputs};
use crate::data::batches::Batches;
use crate::data::{Dataset, DeviceSplit};
use crate::train::{
    self, ClipGradSpec, FitOutcome, Hooks, Metrics, Observer, StepLosses, TrainStep, TrainingSpec, build_optimizer,
    seeds,
};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The metrics the classifier trainer records.
pub const METRICS: &[&str] = &["test.accuracy", "test.loss", "train.loss"];

/// Trains `model` on `data` and evaluates it on the test split every `eval_every` steps, with
/// the hooks `[training]` asks for ([`Hooks::from_training`]: schedule, early stopping).
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
    train::run_loop(&mut step, cfg, &mut Hooks::from_training(cfg), obs)
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

/// One classifier under training: the model, its optimizer (from `[training]`, with its
/// gradient clipping and accumulation), its batches of the training split and the split it is
/// evaluated on.
pub struct ClassifierStep<M: Classifier> {
    /// Always `Some` between steps (the optimizer takes the model by value).
    model: Option<M>,
    optim: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    lr: f64,
    clip: Option<ClipGradSpec>,
    accumulate: usize,
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
        let (lr, clip, accumulate, device) = (cfg.lr, cfg.clip_grad.clone(), cfg.accumulate, device.clone());
        let model = Some(model);
        ClassifierStep { model, optim, loss_fn, lr, clip, accumulate, train, test, batches, device, num_params }
    }

    /// The model, as trained so far.
    pub fn into_model(self) -> M {
        self.model.expect("the model is held between steps")
    }

    fn model(&self) -> &M {
        self.model.as_ref().expect("the model is held between steps")
    }

    /// The next batch's loss (the mean over its examples) and its value.
    fn batch_loss(&mut self) -> (burn::tensor::Tensor<1>, f64) {
        let (modalities, y) = self.batches.next(&self.train, &self.device);
        let logits = self.model().forward(&Inputs { modalities });
        let loss = self.loss_fn.forward(logits, y);
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

    fn evaluate(&mut self, _step: usize, _obs: &mut dyn Observer) -> Metrics {
        self.test.as_ref().map(|test| evaluate(self.model(), test, "test")).unwrap_or_default()
    }

    fn weights(&self) -> Option<Vec<(String, Vec<f32>)>> {
        Some(train::weights_of(self.model()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataInfo, Split};
    use crate::models::Family;
    use crate::models::mlp::MlpSpec;
    use crate::train::{Batching, EarlyStoppingSpec, FitStatus, NullObserver, OptimizerKind};

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
        let out = fit(model, &data, &cfg, &device, 0, &mut NullObserver);
        assert_eq!((out.status, out.steps), (FitStatus::Stopped(6), 6));
    }
}
