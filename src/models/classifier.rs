//! The classifier step: cross-entropy training of any [`Classifier`] through the loop skeleton
//! ([`crate::train::run_loop`]), and its evaluation (loss and accuracy on the validation split
//! during training, on the test split once at the end).

use super::{Classifier, Inputs};
use crate::data::batches::Batches;
use crate::data::{Dataset, DeviceSplit};
use crate::train::{
    self, ClipGradSpec, FitOutcome, Hooks, Metrics, Observer, Selection, StepLosses, TrainStep, TrainingSpec,
    build_optimizer, seeds,
};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// The metrics the classifier trainer records.
pub const METRICS: &[&str] = &["test.accuracy", "test.loss", "train.loss", "valid.accuracy", "valid.loss"];

/// Trains `model` on `data`, evaluating it every `eval_every` steps on the validation split
/// when `data` has one (then on the test split once at the end, on the weights `select_best`
/// chooses: the best evaluation's, else the last), else on the test split, with the hooks
/// `[training]` asks for ([`Hooks::from_training`]: schedule, early stopping).
///
/// Batches come from the trial's [`seeds::CLASSIFIER_BATCHES`] stream of `seed`; `device` must
/// be an autodiff device; evaluation runs on `model.valid()`.
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
    train::run_loop(&mut step, cfg, &mut hooks, obs)
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
        let (model, valid, best) = (Some(model), None, None);
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
        match (&self.valid, &self.test) {
            (Some(valid), _) => evaluate(self.model(), valid, "valid"),
            (None, Some(test)) => evaluate(self.model(), test, "test"),
            (None, None) => Metrics::new(),
        }
    }

    fn keep_best(&mut self) {
        if self.valid.is_some() && self.test.is_some() {
            self.best = Some(self.model().clone());
        }
    }

    fn test(&mut self, best: bool, _obs: &mut dyn Observer) -> Metrics {
        let (Some(_), Some(test)) = (&self.valid, &self.test) else { return Metrics::new() };
        let model = if best { self.best.as_ref().unwrap_or_else(|| self.model()) } else { self.model() };
        evaluate(model, test, "test")
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
    use crate::models::linear::LinearSpec;
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
        device.seed(3);
        fit(LinearSpec {}.init(&data.info, &device), data, &cfg, &device, 0, select, obs)
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
            assert_eq!(names, ["train.loss", "valid.accuracy", "valid.loss"], "step {step}");
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
