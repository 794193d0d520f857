//! The adversarial step of the `gan` family, run by the training loop skeleton
//! ([`crate::train::run_loop`]).
//!
//! Each step makes `d_steps` discriminator updates (fresh real and generated batches each) and
//! one generator update, with separate Adam optimizers, learning rates and betas from the
//! [`GanSpec`]. A batch holds `batch_size` inputs of D, each `pack` examples, so G draws
//! `batch_size * pack` samples per update. `[training]` supplies `steps`, `batch_size`,
//! `eval_every`, `log_every`, `lr_schedule` (one factor on both learning rates),
//! `clip_grad` (applied to G's and D's gradients, each network's on its own) and
//! `early_stopping`; its optimizer settings do not apply, and `accumulate > 1` is rejected
//! at validation (`FamilySpec::check_training`).
//!
//! Every evaluation draws `eval_samples` samples from one fixed noise batch (drawn once from
//! the trial seed, so samples are comparable across steps) with G in evaluation mode (batch
//! norm's running statistics), and reports them through the [`Observer`]: metrics (on 2D
//! mixtures, the mode-coverage metrics of [`super::metrics`]), an image (a scatter plot
//! or a grid of image samples) and `samples.csv`. Off the 2D mixtures it also reports the
//! Frechet distance of the samples from the training split ([`super::frechet`]).
//!
//! With a validation split the metrics are named `valid.*` during training and the Frechet
//! distance is from the validation split; after the loop the test split is evaluated once
//! (`test.*`, the distance from the test split) on the selected generator, with no artefacts.
//! Without one, today's protocol: `test.*` metrics, the distance from the training split.

use super::frechet::FrechetScorer;
use super::{Discriminator, GanLoss, GanSpec, Generator, metrics, plot};
use crate::data::batches::InputBatches;
use crate::data::mixture::Modes;
use crate::data::{Dataset, DeviceSplit};
use crate::tensorboard::image::{Channels, grid, to_u8};
use crate::data::normal::Gaussian;
use crate::models::TrainCtx;
use crate::models::saved::{self, SavedEval};
use crate::train::{
    self, ClipGradSpec, FitOutcome, FitStatus, Hooks, Metrics, Observer, StepLosses, TrainStep, TrainingSpec,
    checkpoint, seeds,
};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{relu, softplus};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use std::collections::BTreeMap;

/// The metrics this trainer records (mode metrics on 2D mixtures, `test.fd` elsewhere; the
/// `valid.*` ones with a validation split).
pub const METRICS: &[&str] = &[
    "test.modes",
    "test.high_quality",
    "test.kl",
    "test.mode_distance",
    "test.fd",
    "train.loss",
    "train.d_loss",
    "valid.modes",
    "valid.high_quality",
    "valid.kl",
    "valid.mode_distance",
    "valid.fd",
];

/// Trains a GAN on the training split of `ctx.data` with `ctx.training`; `modes` enables the
/// mode-coverage metrics; `ctx.select_best` chooses the generator the test split evaluates
/// (with a validation split).
///
/// Real batches come from the trial's [`seeds::GAN_REAL_BATCHES`] stream of `ctx.seed`, the
/// evaluation noise from [`seeds::GAN_EVAL_NOISE`]. `ctx.device` must be an autodiff device.
///
/// A run that completed or was stopped hands its weights to [`Observer::on_model`]: G's as
/// `final` (and the best evaluation's G as `best` when selecting the best;
/// [`crate::models::saved::emit_weights`]) and D's as `discriminator`.
pub fn fit_gan(spec: &GanSpec, ctx: TrainCtx<'_>, modes: Option<&Modes>, obs: &mut dyn Observer) -> FitOutcome {
    let (data, cfg) = (ctx.data, ctx.training);
    let mut step = AdversarialStep::new(spec, data, modes, cfg, ctx.device, ctx.seed);
    let mut hooks = Hooks { select_best: ctx.select_best.cloned(), ..Hooks::from_training(cfg) };
    let outcome = train::run_loop(&mut step, cfg, &mut hooks, obs);
    if matches!(outcome.status, FitStatus::Completed | FitStatus::Stopped(_)) {
        let best = ctx.select_best.map(|_| step.best_g.as_ref().unwrap_or_else(|| step.g()));
        saved::emit_weights(obs, step.g(), best);
        if let Some(bytes) = saved::record_bytes(step.d()) {
            obs.on_model(DISCRIMINATOR, &bytes);
        }
    }
    outcome
}

/// The name of D's saved weights in a trial's `model/` (`discriminator.bpk`).
pub const DISCRIMINATOR: &str = "discriminator";

/// The metrics of the saved generator `saved.weights` on `saved.split`, measured as the
/// trainer measured its own (`burnlab eval`): the same fixed evaluation noise (from the trial
/// seed), the Frechet feature network trained anew on the training split (from its fixed
/// seed, so the same network), the mode metrics on a 2D mixture. The Frechet distance is from
/// the measured split, except for the training split and for `test` on a dataset without a
/// validation split, where it is from the training split (what the trainer reports as `test.fd`
/// then). `saved.device` is reseeded.
///
/// # Errors
/// The weights cannot be loaded into this generator (a user error naming the file).
pub fn evaluate_saved(spec: &GanSpec, saved: &SavedEval<'_>) -> crate::error::Result<Metrics> {
    let (data, device) = (saved.data, saved.device);
    let g = saved::load_weights(spec.generator(saved.trained, device), saved.weights)?;
    let modes = data.modes.as_ref();
    let train = DeviceSplit::new(&data.train, &data.info, device);
    let frechet = frechet_scorer(&train, data, modes, device, saved.seed);
    let noise = eval_noise(spec.eval_samples, spec.z_dim, saved.seed, device);
    let eval = Evaluator { data, modes, noise, frechet };
    let from_train = saved.split_name == "train" || (saved.split_name == "test" && data.valid.is_none());
    let real = eval.frechet.as_ref().filter(|_| !from_train).map(|f| f.real_of(real_x(saved.split, data, device)));
    Ok(evaluate(&g, &eval, saved.split_name, real.as_ref(), 0, &mut train::NullObserver))
}

/// What an evaluation of G needs besides G: the data (its shape, for the samples' image), the
/// mixture's modes, the fixed evaluation noise and the Frechet scorer.
struct Evaluator<'a> {
    data: &'a Dataset,
    modes: Option<&'a Modes>,
    noise: Tensor<2>,
    frechet: Option<FrechetScorer>,
}

/// A GAN under training: G and D with their optimizers, the real batches, the fixed
/// evaluation noise and what its evaluation needs.
struct AdversarialStep<'a> {
    spec: &'a GanSpec,
    data: &'a Dataset,
    device: Device,
    /// Always `Some` between steps (the optimizers take the networks by value).
    g: Option<Generator>,
    d: Option<Discriminator>,
    g_opt: ModuleOptimizer,
    d_opt: ModuleOptimizer,
    real: InputBatches,
    /// Generated examples per update: `batch_size * pack`.
    n: usize,
    eval: Evaluator<'a>,
    /// `training.clip_grad`, applied to G's and to D's gradients.
    clip: Option<ClipGradSpec>,
    /// With a validation split: its features' Gaussian for the Frechet distance.
    valid_real: Option<Gaussian>,
    /// The generator [`TrainStep::keep_best`] kept.
    best_g: Option<Generator>,
    num_params: usize,
}

impl<'a> AdversarialStep<'a> {
    /// Sets up the run: the Frechet scorer first (off the 2D mixtures), then G and D from the
    /// device's generator, the real batches and the evaluation noise.
    fn new(
        spec: &'a GanSpec,
        data: &'a Dataset,
        modes: Option<&'a Modes>,
        cfg: &TrainingSpec,
        device: &Device,
        seed: u64,
    ) -> Self {
        let train = DeviceSplit::new(&data.train, &data.info, device);
        let frechet = frechet_scorer(&train, data, modes, device, seed);
        let g = spec.generator(&data.info, device);
        let d = spec.discriminator(&data.info, device);
        let num_params = g.num_params() + d.num_params();
        let n = cfg.batch_size * spec.pack;
        let real = InputBatches::new(train, n, seeds::stream(seed, seeds::GAN_REAL_BATCHES));
        let (g_opt, d_opt) = optimizers(spec);
        let noise = eval_noise(spec.eval_samples, spec.z_dim, seed, device);
        let valid_real = frechet.as_ref().zip(data.valid.as_ref()).map(|(f, v)| f.real_of(real_x(v, data, device)));
        let (g, d, device, clip) = (Some(g), Some(d), device.clone(), cfg.clip_grad.clone());
        let (best_g, eval) = (None, Evaluator { data, modes, noise, frechet });
        AdversarialStep { spec, data, device, g, d, g_opt, d_opt, real, n, eval, valid_real, best_g, clip, num_params }
    }

    fn g(&self) -> &Generator {
        self.g.as_ref().expect("G is held between steps")
    }

    fn d(&self) -> &Discriminator {
        self.d.as_ref().expect("D is held between steps")
    }

    /// `d_steps` updates of D (fresh real and generated batches each); D's last loss, or the
    /// first non-finite one (D is not updated then).
    fn train_d(&mut self, lr: f64) -> f64 {
        let (spec, n, device) = (self.spec, self.n, self.device.clone());
        let mut d_value = 0.0;
        for _ in 0..spec.d_steps {
            let x = self.real.next(&device);
            let fake = self.g().forward(noise_batch(n, spec.z_dim, &device)).detach();
            let loss = d_loss(spec, self.d(), x, fake, &device);
            d_value = f64::from(loss.clone().into_scalar::<f32>());
            if !d_value.is_finite() {
                break;
            }
            let mut grads = GradientsParams::from_grads(loss.backward(), self.d());
            if let Some(clip) = &self.clip {
                clip.clip(self.d(), &mut grads);
            }
            let d = self.d.take().expect("D is held between steps");
            self.d = Some(self.d_opt.step(lr, d, grads));
        }
        d_value
    }

    /// One update of G; its loss (G is not updated when it is not finite).
    fn train_g(&mut self, lr: f64) -> f64 {
        let fake = self.g().forward(noise_batch(self.n, self.spec.z_dim, &self.device));
        // D's weights are fixed here: record no gradients for them, only through D to G.
        let loss = g_loss(self.spec.loss, self.d().clone().no_grad().forward(fake));
        let value = f64::from(loss.clone().into_scalar::<f32>());
        if value.is_finite() {
            let mut grads = GradientsParams::from_grads(loss.backward(), self.g());
            if let Some(clip) = &self.clip {
                clip.clip(self.g(), &mut grads);
            }
            let g = self.g.take().expect("G is held between steps");
            self.g = Some(self.g_opt.step(lr, g, grads));
        }
        value
    }
}

impl TrainStep for AdversarialStep<'_> {
    fn num_params(&self) -> usize {
        self.num_params
    }

    /// D's updates, then G's; the loss is G's (NaN when D's diverged: G's update is skipped
    /// then), with D's as `train.d_loss`.
    fn step(&mut self, _step: usize, lr_scale: f64) -> StepLosses {
        let d_value = self.train_d(self.spec.d_lr * lr_scale);
        let g_value = if d_value.is_finite() { self.train_g(self.spec.g_lr * lr_scale) } else { f64::NAN };
        StepLosses { loss: g_value, extra: vec![("train.d_loss", d_value)] }
    }

    fn evaluate(&mut self, step: usize, obs: &mut dyn Observer) -> Metrics {
        let split = if self.data.valid.is_some() { "valid" } else { "test" };
        evaluate(self.g(), &self.eval, split, self.valid_real.as_ref(), step, obs)
    }

    /// Keeps G: the `best` weights saved, and the test split's G with a validation split.
    ///
    /// With a validation split the copy is a clone, whose batch-norm running statistics stay
    /// shared with the training G (Burn's `RunningState`), so the test metrics, and `best.bpk`
    /// written at the end, use the final statistics, as they always have. Without one, the
    /// reported test metrics are this evaluation's, so the copy is a snapshot (`valid()`: its
    /// own statistics as they are now), which `best.bpk` then reproduces exactly.
    fn keep_best(&mut self) {
        self.best_g = Some(if self.data.valid.is_some() { self.g().clone() } else { self.g().valid() });
    }

    /// With a validation split: the test metrics of the selected G, the Frechet distance from
    /// the test split; its samples and image are not written again (they are the selected
    /// evaluation's: the evaluation noise is fixed).
    fn test(&mut self, best: bool, _obs: &mut dyn Observer) -> Metrics {
        if self.data.valid.is_none() {
            return Metrics::new();
        }
        let real = self.eval.frechet.as_ref().map(|f| f.real_of(real_x(&self.data.test, self.data, &self.device)));
        let g = if best { self.best_g.as_ref().unwrap_or_else(|| self.g()) } else { self.g() };
        evaluate(g, &self.eval, "test", real.as_ref(), 0, &mut train::NullObserver)
    }

    /// `g.bpk`, `d.bpk`, `g_optim.bpk`, `d_optim.bpk`, `real.json` (the real batches) and,
    /// with a kept best generator, `best_g.bpk`.
    fn checkpoint(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        let mut files = vec![
            ("g.bpk".to_string(), checkpoint::module_bytes(self.g())?),
            ("d.bpk".to_string(), checkpoint::module_bytes(self.d())?),
            ("g_optim.bpk".to_string(), checkpoint::optim_bytes(&self.g_opt)?),
            ("d_optim.bpk".to_string(), checkpoint::optim_bytes(&self.d_opt)?),
            ("real.json".to_string(), checkpoint::json_bytes(&self.real.state())?),
        ];
        if let Some(best) = &self.best_g {
            files.push(("best_g.bpk".to_string(), checkpoint::module_bytes(best)?));
        }
        Ok(files)
    }

    fn restore(&mut self, files: &checkpoint::Files) -> Result<(), String> {
        let g = self.g.take().expect("G is held between steps");
        self.g = Some(checkpoint::load_module(g, checkpoint::file(files, "g.bpk")?)?);
        let d = self.d.take().expect("D is held between steps");
        self.d = Some(checkpoint::load_module(d, checkpoint::file(files, "d.bpk")?)?);
        checkpoint::load_optim(&mut self.g_opt, checkpoint::file(files, "g_optim.bpk")?)?;
        checkpoint::load_optim(&mut self.d_opt, checkpoint::file(files, "d_optim.bpk")?)?;
        self.real.restore(&checkpoint::json_file(files, "real.json")?)?;
        if let Some(best) = files.get("best_g.bpk") {
            // As kept (`keep_best`): sharing G's running statistics with a validation split,
            // a snapshot of its own without.
            let into = if self.data.valid.is_some() { self.g().clone() } else { self.g().valid() };
            self.best_g = Some(checkpoint::load_module(into, best)?);
        }
        Ok(())
    }
}

/// The examples of `split` on `device`, without autodiff (for their feature statistics).
fn real_x(split: &crate::data::Split, data: &Dataset, device: &Device) -> Tensor<3> {
    DeviceSplit::new(split, &data.info, device).all_x().without_autodiff()
}

/// Off the 2D mixtures: a Frechet scorer on a feature network trained first (from its own
/// seed); the device is then reseeded so that G and D start as they would without it.
fn frechet_scorer(
    train: &DeviceSplit,
    data: &Dataset,
    modes: Option<&Modes>,
    device: &Device,
    seed: u64,
) -> Option<FrechetScorer> {
    (modes.is_none() && data.info.num_classes >= 2).then(|| {
        let scorer = FrechetScorer::new(train, &data.info, device);
        seeds::reseed_device(device, seed);
        scorer
    })
}

/// The Adam optimizers of G and D, with the betas of `spec`.
fn optimizers(spec: &GanSpec) -> (ModuleOptimizer, ModuleOptimizer) {
    let adam = |b1: f64, b2: f64| AdamConfig::new().with_beta_1(b1 as f32).with_beta_2(b2 as f32).init();
    (adam(spec.g_beta1, spec.g_beta2), adam(spec.d_beta1, spec.d_beta2))
}

/// D's loss on real examples `x` and generated examples `fake` (both `[n, seq, channels]`).
fn d_loss(spec: &GanSpec, d: &Discriminator, x: Tensor<3>, fake: Tensor<3>, device: &Device) -> Tensor<1> {
    match spec.loss {
        GanLoss::NonSaturating => softplus(-d.forward(x), 1.0).mean() + softplus(d.forward(fake), 1.0).mean(),
        GanLoss::Hinge => relu(-d.forward(x) + 1.0).mean() + relu(d.forward(fake) + 1.0).mean(),
        GanLoss::WganGp => {
            let wasserstein = d.forward(fake.clone()).mean() - d.forward(x.clone()).mean();
            // Validation allows wgan_gp with the maxout D only, whose input gradient is explicit.
            let Discriminator::Mlp(maxout) = d else { return wasserstein };
            let (xr, xf) = (maxout.packed(x), maxout.packed(fake));
            let [b, _] = xr.dims();
            let eps = Tensor::<2>::random([b, 1], Distribution::Uniform(0.0, 1.0), device);
            let mix = xr * eps.clone() + xf * (-eps + 1.0);
            let grad = maxout.input_gradient(mix.detach());
            let norm = (grad.clone() * grad).sum_dim(1).add_scalar(1e-12).sqrt();
            let gp = (norm - 1.0).powi_scalar(2).mean();
            wasserstein + gp * spec.gp_weight
        }
    }
}

/// G's loss from D's logits on generated examples.
fn g_loss(loss: GanLoss, logits: Tensor<2>) -> Tensor<1> {
    match loss {
        GanLoss::NonSaturating => softplus(-logits, 1.0).mean(),
        GanLoss::Hinge | GanLoss::WganGp => -logits.mean(),
    }
}

/// Standard normal noise `[n, z_dim]` from the device's seeded generator.
fn noise_batch(n: usize, z_dim: usize, device: &Device) -> Tensor<2> {
    Tensor::random([n, z_dim], Distribution::Normal(0.0, 1.0), device)
}

/// The fixed evaluation noise `[n, z_dim]`, drawn once from the trial seed (ChaCha8).
fn eval_noise(n: usize, z_dim: usize, seed: u64, device: &Device) -> Tensor<2> {
    let mut rng = seeds::stream(seed, seeds::GAN_EVAL_NOISE);
    let mut v = Vec::with_capacity(n * z_dim + 1);
    while v.len() < n * z_dim {
        let [a, b] = crate::data::normal::pair(&mut rng);
        v.push(a as f32);
        v.push(b as f32);
    }
    v.truncate(n * z_dim);
    Tensor::from_data(TensorData::new(v, [n, z_dim]), device)
}

/// G's samples `[n, seq_len, channels]` on the evaluation noise, G in evaluation mode.
fn samples(g: &Generator, noise: &Tensor<2>) -> Tensor<3> {
    g.valid().forward(noise.clone().without_autodiff())
}

/// Host values of a tensor.
fn host(x: Tensor<3>) -> Vec<f32> {
    x.to_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
}

/// Evaluates `g` with the noise, data and scorer of `at`: metrics named `{split}.*`, an image
/// and `samples.csv` through `obs`. The Frechet distance is from the real examples `real`
/// fits, else (`None`) from the training split.
fn evaluate(
    g: &Generator,
    at: &Evaluator<'_>,
    split: &str,
    real: Option<&Gaussian>,
    step: usize,
    obs: &mut dyn Observer,
) -> BTreeMap<String, f64> {
    let (data, modes) = (at.data, at.modes);
    let x = samples(g, &at.noise);
    let values = host(x.clone());
    let features = data.info.features();
    let mut out = BTreeMap::new();
    if let Some(f) = &at.frechet {
        let fd = match real {
            Some(r) => f.score_against(r, x),
            None => f.score(x),
        };
        out.insert(format!("{split}.fd"), fd);
    }
    obs.on_file("samples.csv", metrics::samples_csv(&values, features).as_bytes());
    if let Some(modes) = modes.filter(|_| features == 2) {
        let points: Vec<[f64; 2]> = values.chunks_exact(2).map(|p| [f64::from(p[0]), f64::from(p[1])]).collect();
        let m = metrics::mode_metrics(&points, modes);
        out.insert(format!("{split}.modes"), m.modes as f64);
        out.insert(format!("{split}.high_quality"), m.high_quality);
        out.insert(format!("{split}.kl"), m.kl);
        out.insert(format!("{split}.mode_distance"), m.mean_distance);
        let img = plot::scatter(&points, modes);
        obs.on_image(step, "samples", &img.pixels, [img.height, img.width], Channels::Rgb);
    } else if let Some([h, w]) = data.info.image {
        let count = (values.len() / features).min(64);
        let pixels = to_u8(&values[..count * features], 0.0, 1.0);
        if let Ok((grid, gh, gw)) = grid(&pixels, count, h, w, Channels::Gray, 8, 1) {
            obs.on_image(step, "samples", &grid, [gh, gw], Channels::Gray);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::MixtureOptions;
    use crate::data::mixture::{Mixture, load};

    fn ctx<'a>(data: &'a Dataset, cfg: &'a TrainingSpec, device: &'a Device) -> TrainCtx<'a> {
        TrainCtx { data, training: cfg, device, seed: 0, select_best: None, trial: None }
    }

    fn mean_distance(g: &Generator, noise: &Tensor<2>, modes: &Modes) -> f64 {
        let v = host(samples(g, noise));
        let points: Vec<[f64; 2]> = v.chunks_exact(2).map(|p| [f64::from(p[0]), f64::from(p[1])]).collect();
        metrics::mode_metrics(&points, modes).mean_distance
    }

    /// A short run on `ring` moves G's samples toward the modes.
    fn moves_toward_the_data(loss: GanLoss) {
        let data = load(Mixture::Ring, &MixtureOptions { n_train: 5000, n_test: 10, seed: 0 }).unwrap();
        let modes = Mixture::Ring.modes();
        let spec = GanSpec {
            loss,
            // WGAN-GP's critic is trained 5 times per G step, as in Gulrajani et al.
            d_steps: if loss == GanLoss::WganGp { 5 } else { 1 },
            g_width: 64,
            g_depth: 2,
            d_width: 64,
            d_depth: 2,
            maxout_pieces: 2,
            g_lr: 1e-3,
            d_lr: 1e-3,
            g_beta1: 0.5,
            d_beta1: 0.5,
            eval_samples: 500,
            ..Default::default()
        };
        // The Wasserstein critic moves G more slowly: give it more steps.
        let steps = if loss == GanLoss::WganGp { 800 } else { 300 };
        let cfg = TrainingSpec { batch_size: 64, steps, eval_every: steps, ..Default::default() };
        let device = Device::flex().autodiff();
        device.seed(1);
        let noise = eval_noise(500, 2, 0, &device);
        // fit_gan's G starts from the same weights: the device is seeded the same way.
        let before = mean_distance(&spec.generator(&data.info, &device), &noise, &modes);
        device.seed(1);
        let out = fit_gan(&spec, ctx(&data, &cfg, &device), Some(&modes), &mut train::NullObserver);
        assert_eq!((out.status, out.steps), (FitStatus::Completed, steps));
        assert!(out.final_metrics["train.d_loss"].is_finite());
        let after = out.final_metrics["test.mode_distance"];
        assert!(after < 0.5 * before, "{loss:?}: mean distance to the nearest mode {before} -> {after}");
    }

    /// Stops after `after` steps and records what it was given.
    struct StopAfter {
        after: usize,
        losses: Vec<usize>,
        files: Vec<String>,
        images: Vec<(String, [usize; 2])>,
    }

    impl Observer for StopAfter {
        fn on_train_loss(&mut self, step: usize, _: f64) {
            self.losses.push(step);
        }
        fn on_eval(&mut self, _: usize, _: &BTreeMap<String, f64>) {}
        fn should_stop(&self) -> bool {
            self.losses.len() >= self.after
        }
        fn on_image(&mut self, step: usize, tag: &str, pixels: &[u8], size: [usize; 2], channels: Channels) {
            assert_eq!(pixels.len(), size[0] * size[1] * channels.count());
            self.images.push((format!("{tag}@{step}"), size));
        }
        fn on_file(&mut self, name: &str, bytes: &[u8]) {
            self.files.push(format!("{name}:{}", bytes.iter().filter(|&&b| b == b'\n').count()));
        }
    }

    #[test]
    fn stops_when_asked_after_evaluating() {
        let data = load(Mixture::Grid, &MixtureOptions { n_train: 500, n_test: 10, seed: 0 }).unwrap();
        let modes = Mixture::Grid.modes();
        let spec = GanSpec { g_width: 8, g_depth: 1, d_width: 8, d_depth: 1, eval_samples: 30, ..Default::default() };
        let cfg = TrainingSpec { batch_size: 10, steps: 100, eval_every: 4, log_every: 2, ..Default::default() };
        let device = Device::flex().autodiff();
        let mut obs = StopAfter { after: 3, losses: Vec::new(), files: Vec::new(), images: Vec::new() };
        let out = fit_gan(&spec, ctx(&data, &cfg, &device), Some(&modes), &mut obs);
        assert_eq!((out.status, out.steps), (FitStatus::Interrupted(6), 6));
        assert_eq!(obs.losses, [2, 4, 6]);
        // One evaluation (step 4): 30 samples plus the header, and a scatter plot.
        assert_eq!(obs.files, ["samples.csv:31"]);
        assert_eq!(obs.images, [("samples@4".to_string(), [plot::SIDE, plot::SIDE])]);
        assert_eq!(out.final_metrics.len(), 6, "{:?}", out.final_metrics);
    }

    /// Records the metric names of every evaluation and test evaluation.
    #[derive(Default)]
    struct Names {
        evals: Vec<(usize, Vec<String>)>,
        tests: Vec<(usize, Metrics)>,
    }

    impl Observer for Names {
        fn on_train_loss(&mut self, _: usize, _: f64) {}
        fn on_eval(&mut self, step: usize, m: &Metrics) {
            self.evals.push((step, m.keys().cloned().collect()));
        }
        fn on_test(&mut self, step: usize, m: &Metrics) {
            self.tests.push((step, m.clone()));
        }
        fn should_stop(&self) -> bool {
            false
        }
    }

    #[test]
    fn with_a_validation_split_the_test_metrics_come_once_at_the_end() {
        let data = load(Mixture::Ring, &MixtureOptions { n_train: 200, n_test: 50, seed: 0 }).unwrap();
        let valid = data.test.clone();
        let data = data.with_valid(valid);
        let modes = Mixture::Ring.modes();
        let spec = GanSpec { g_width: 8, g_depth: 1, d_width: 8, d_depth: 1, eval_samples: 40, ..Default::default() };
        let cfg = TrainingSpec { batch_size: 10, steps: 6, eval_every: 3, ..Default::default() };
        let device = Device::flex().autodiff();
        let mut obs = Names::default();
        let out = fit_gan(&spec, ctx(&data, &cfg, &device), Some(&modes), &mut obs);
        assert_eq!((out.status, out.selected_step), (FitStatus::Completed, Some(6)));
        let valid = ["valid.high_quality", "valid.kl", "valid.mode_distance", "valid.modes"];
        let names = [&["train.d_loss", "train.loss"][..], &valid[..]].concat();
        assert_eq!(obs.evals, [(3, names.iter().map(|n| n.to_string()).collect()), (6, names.iter().map(|n| n.to_string()).collect())]);
        assert_eq!(obs.tests.len(), 1);
        let (step, test) = &obs.tests[0];
        assert_eq!(*step, 6);
        // The mode metrics do not depend on the split: the test ones of the last G are the
        // last validation ones.
        for v in valid {
            let t = v.replace("valid.", "test.");
            assert_eq!(test[&t], out.final_metrics[v], "{t}");
            assert_eq!(out.final_metrics[&t], test[&t]);
        }
    }

    #[test]
    fn an_exploding_run_is_reported_as_diverged() {
        let data = load(Mixture::Ring, &MixtureOptions { n_train: 500, n_test: 10, seed: 0 }).unwrap();
        let spec =
            GanSpec { g_width: 8, g_depth: 1, d_width: 8, d_depth: 1, g_lr: 1e30, d_lr: 1e30, ..Default::default() };
        let cfg = TrainingSpec { batch_size: 10, steps: 50, eval_every: 50, ..Default::default() };
        let device = Device::flex().autodiff();
        let mut obs = StopAfter { after: usize::MAX, losses: Vec::new(), files: Vec::new(), images: Vec::new() };
        let out = fit_gan(&spec, ctx(&data, &cfg, &device), Some(&Mixture::Ring.modes()), &mut obs);
        let FitStatus::Diverged(step) = out.status else { panic!("{:?}", out.status) };
        assert_eq!(out.steps, step - 1);
        assert!(obs.files.is_empty() && out.final_metrics.is_empty());
    }

    #[test]
    fn recorded_metrics_are_known_to_the_report() {
        // What each family's trainer records is what a report may name, each name once.
        let known = crate::models::metrics();
        for family in crate::models::families().iter() {
            for m in family.default_value().metrics() {
                assert!(known.contains(&m), "{}: {m}", family.name);
            }
        }
        let mut unique = known.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), known.len(), "{known:?}");
    }

    #[test]
    fn non_saturating_moves_toward_the_data() {
        moves_toward_the_data(GanLoss::NonSaturating);
    }

    #[test]
    fn hinge_moves_toward_the_data() {
        moves_toward_the_data(GanLoss::Hinge);
    }

    #[test]
    fn wgan_gp_moves_toward_the_data() {
        moves_toward_the_data(GanLoss::WganGp);
    }
}
