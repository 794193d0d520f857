//! The adversarial training loop of the `gan` family.
//!
//! Each step makes `d_steps` discriminator updates (fresh real and generated batches each) and
//! one generator update, with separate Adam optimizers, learning rates and betas from the
//! [`GanSpec`]. A batch holds `batch_size` inputs of D, each `pack` examples, so G draws
//! `batch_size * pack` samples per update. `[training]` supplies `steps`, `batch_size`,
//! `eval_every` and `log_every`; its optimizer settings do not apply.
//!
//! Every evaluation draws `eval_samples` samples from one fixed noise batch (drawn once from
//! the trial seed, so samples are comparable across steps) with G in evaluation mode (batch
//! norm's running statistics), and reports them through the [`Observer`]: metrics (on 2D
//! mixtures, the mode-coverage metrics of [`crate::gan::metrics`]), an image (a scatter plot
//! or a grid of image samples) and `samples.csv`. Off the 2D mixtures it also reports the
//! Frechet distance of the samples from the training split ([`crate::gan::frechet`]).

use super::{Epochs, FitOutcome, FitStatus, Observer, TrainingSpec};
use crate::data::mixture::Modes;
use crate::data::{Dataset, DeviceSplit};
use crate::gan::frechet::FrechetScorer;
use crate::gan::{metrics, plot};
use crate::models::gan::{Discriminator, GanLoss, GanSpec, Generator};
use crate::tensorboard::image::{Channels, grid, to_u8};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::{relu, softplus};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::Instant;

/// The metrics this trainer records (mode metrics on 2D mixtures, `test.fd` elsewhere).
pub const METRICS: &[&str] =
    &["test.modes", "test.high_quality", "test.kl", "test.mode_distance", "test.fd", "train.loss", "train.d_loss"];

/// Trains a GAN on the training split of `data`; `modes` enables the mode-coverage metrics.
///
/// `device` must be an autodiff device.
pub fn fit_gan(
    spec: &GanSpec,
    data: &Dataset,
    modes: Option<&Modes>,
    cfg: &TrainingSpec,
    device: &Device,
    seed: u64,
    obs: &mut dyn Observer,
) -> FitOutcome {
    let start = Instant::now();
    let train = DeviceSplit::new(&data.train, &data.info, device);
    let frechet = frechet_scorer(&train, data, modes, device, seed);
    let mut g = spec.generator(&data.info, device);
    let mut d = spec.discriminator(&data.info, device);
    let num_params = g.num_params() + d.num_params();
    let n = cfg.batch_size * spec.pack;
    let mut real = RealBatches::new(train, n, seed);
    let (mut g_opt, mut d_opt) = optimizers(spec);
    let noise = eval_noise(spec.eval_samples, spec.z_dim, seed, device);
    let mut final_metrics = BTreeMap::new();
    let mut tally = LossTally::default();
    let mut status = FitStatus::Completed;
    let mut done = 0;
    for step in 1..=cfg.steps {
        if obs.should_stop() {
            status = FitStatus::Interrupted(done);
            break;
        }
        let mut d_value = 0.0;
        for _ in 0..spec.d_steps {
            let x = real.next(device);
            let fake = g.forward(noise_batch(n, spec.z_dim, device)).detach();
            let loss = d_loss(spec, &d, x, fake, device);
            d_value = f64::from(loss.clone().into_scalar::<f32>());
            if !d_value.is_finite() {
                break;
            }
            let grads = GradientsParams::from_grads(loss.backward(), &d);
            d = d_opt.step(spec.d_lr, d, grads);
        }
        let g_value = if d_value.is_finite() {
            let fake = g.forward(noise_batch(n, spec.z_dim, device));
            // D's weights are fixed here: record no gradients for them, only through D to G.
            let loss = g_loss(spec.loss, d.clone().no_grad().forward(fake));
            let value = f64::from(loss.clone().into_scalar::<f32>());
            if value.is_finite() {
                let grads = GradientsParams::from_grads(loss.backward(), &g);
                g = g_opt.step(spec.g_lr, g, grads);
            }
            value
        } else {
            f64::NAN
        };
        if !(d_value.is_finite() && g_value.is_finite()) {
            status = FitStatus::Diverged(step);
            // G's loss is NaN whenever D's diverged (G's step is skipped then).
            obs.on_train_loss(step, g_value);
            break;
        }
        done = step;
        tally.add(g_value, d_value);
        if step % cfg.log_every == 0 {
            obs.on_train_loss(step, tally.take_window());
        }
        if step % cfg.eval_every == 0 || step == cfg.steps {
            let mut m = evaluate(&g, &noise, data, modes, frechet.as_ref(), step, obs);
            tally.take_eval(&mut m);
            obs.on_eval(step, &m);
            if super::diverged(&m) {
                status = FitStatus::Diverged(step);
                break;
            }
            final_metrics = m;
        }
    }
    FitOutcome { status, steps: done, final_metrics, seconds: start.elapsed().as_secs_f64(), num_params }
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
        device.seed(seed);
        scorer
    })
}

/// The Adam optimizers of G and D, with the betas of `spec`.
fn optimizers(spec: &GanSpec) -> (ModuleOptimizer, ModuleOptimizer) {
    let adam = |b1: f64, b2: f64| AdamConfig::new().with_beta_1(b1 as f32).with_beta_2(b2 as f32).init();
    (adam(spec.g_beta1, spec.g_beta2), adam(spec.d_beta1, spec.d_beta2))
}

/// Running sums of the losses: G's over the logging window, G's and D's since the last evaluation.
#[derive(Default)]
struct LossTally {
    window: f64,
    window_n: usize,
    g_sum: f64,
    d_sum: f64,
    since_eval: usize,
}

impl LossTally {
    /// Adds one step's losses of G and D.
    fn add(&mut self, g_value: f64, d_value: f64) {
        self.window += g_value;
        self.window_n += 1;
        self.g_sum += g_value;
        self.d_sum += d_value;
        self.since_eval += 1;
    }

    /// G's mean loss over the logging window, which starts anew.
    fn take_window(&mut self) -> f64 {
        let mean = self.window / self.window_n as f64;
        (self.window, self.window_n) = (0.0, 0);
        mean
    }

    /// Records G's and D's mean losses since the last evaluation in `m` (`train.loss`, `train.d_loss`) and starts anew.
    fn take_eval(&mut self, m: &mut BTreeMap<String, f64>) {
        m.insert("train.loss".into(), self.g_sum / self.since_eval.max(1) as f64);
        m.insert("train.d_loss".into(), self.d_sum / self.since_eval.max(1) as f64);
        (self.g_sum, self.d_sum, self.since_eval) = (0.0, 0.0, 0);
    }
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
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6576_616c_6e6f_6973);
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

/// Evaluates G: metrics, an image and `samples.csv` through `obs`.
fn evaluate(
    g: &Generator,
    noise: &Tensor<2>,
    data: &Dataset,
    modes: Option<&Modes>,
    frechet: Option<&FrechetScorer>,
    step: usize,
    obs: &mut dyn Observer,
) -> BTreeMap<String, f64> {
    let x = samples(g, noise);
    let values = host(x.clone());
    let features = data.info.features();
    let mut out = BTreeMap::new();
    if let Some(f) = frechet {
        out.insert("test.fd".into(), f.score(x));
    }
    obs.on_file("samples.csv", metrics::samples_csv(&values, features).as_bytes());
    if let Some(modes) = modes.filter(|_| features == 2) {
        let points: Vec<[f64; 2]> = values.chunks_exact(2).map(|p| [f64::from(p[0]), f64::from(p[1])]).collect();
        let m = metrics::mode_metrics(&points, modes);
        out.insert("test.modes".into(), m.modes as f64);
        out.insert("test.high_quality".into(), m.high_quality);
        out.insert("test.kl".into(), m.kl);
        out.insert("test.mode_distance".into(), m.mean_distance);
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

/// The real examples, in batches of `batch` from seeded epochs ([`Epochs`]; a batch larger
/// than the split runs on across epochs).
struct RealBatches {
    split: DeviceSplit,
    epochs: Epochs,
}

impl RealBatches {
    fn new(split: DeviceSplit, batch: usize, seed: u64) -> Self {
        let epochs = Epochs::new(split.len, batch, ChaCha8Rng::seed_from_u64(seed ^ 0x7265_616c));
        RealBatches { split, epochs }
    }

    fn next(&mut self, device: &Device) -> Tensor<3> {
        self.split.select(&self.epochs.next_batch(), device).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::MixtureOptions;
    use crate::data::mixture::{Mixture, load};

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
        let out = fit_gan(&spec, &data, Some(&modes), &cfg, &device, 0, &mut crate::train::NullObserver);
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
        let out = fit_gan(&spec, &data, Some(&modes), &cfg, &device, 0, &mut obs);
        assert_eq!((out.status, out.steps), (FitStatus::Interrupted(6), 6));
        assert_eq!(obs.losses, [2, 4, 6]);
        // One evaluation (step 4): 30 samples plus the header, and a scatter plot.
        assert_eq!(obs.files, ["samples.csv:31"]);
        assert_eq!(obs.images, [("samples@4".to_string(), [plot::SIDE, plot::SIDE])]);
        assert_eq!(out.final_metrics.len(), 6, "{:?}", out.final_metrics);
    }

    #[test]
    fn real_batches_cover_each_epoch_and_cross_its_end() {
        let data = load(Mixture::Ring, &MixtureOptions { n_train: 5, n_test: 1, seed: 0 }).unwrap();
        let device = Device::flex();
        let split = DeviceSplit::new(&data.train, &data.info, &device);
        let rows = |t: Tensor<3>| -> Vec<(u32, u32)> {
            t.to_data().try_to_vec::<f32>().unwrap().chunks(2).map(|p| (p[0].to_bits(), p[1].to_bits())).collect()
        };
        let count =
            |seen: &[(u32, u32)], p: &[f32]| seen.iter().filter(|&&q| q == (p[0].to_bits(), p[1].to_bits())).count();
        // A batch that fits: 4 distinct points of one epoch each time.
        let mut small = RealBatches::new(split.clone(), 4, 0);
        for _ in 0..3 {
            let seen = rows(small.next(&device));
            assert!(data.train.x.chunks(2).all(|p| count(&seen, p) <= 1));
            assert_eq!(seen.len(), 4);
        }
        // A larger batch cycles: 5 batches of 7 = 7 epochs of the 5 points, each point 7 times.
        let mut big = RealBatches::new(split, 7, 0);
        let seen: Vec<(u32, u32)> = (0..5).flat_map(|_| rows(big.next(&device))).collect();
        assert_eq!(seen.len(), 35);
        assert!(data.train.x.chunks(2).all(|p| count(&seen, p) == 7));
    }

    #[test]
    fn an_exploding_run_is_reported_as_diverged() {
        let data = load(Mixture::Ring, &MixtureOptions { n_train: 500, n_test: 10, seed: 0 }).unwrap();
        let spec =
            GanSpec { g_width: 8, g_depth: 1, d_width: 8, d_depth: 1, g_lr: 1e30, d_lr: 1e30, ..Default::default() };
        let cfg = TrainingSpec { batch_size: 10, steps: 50, eval_every: 50, ..Default::default() };
        let device = Device::flex().autodiff();
        let mut obs = StopAfter { after: usize::MAX, losses: Vec::new(), files: Vec::new(), images: Vec::new() };
        let out = fit_gan(&spec, &data, Some(&Mixture::Ring.modes()), &cfg, &device, 0, &mut obs);
        let FitStatus::Diverged(step) = out.status else { panic!("{:?}", out.status) };
        assert_eq!(out.steps, step - 1);
        assert!(obs.files.is_empty() && out.final_metrics.is_empty());
    }

    #[test]
    fn recorded_metrics_are_known_to_the_report() {
        // What each family's trainer records is what a report may name, each name once.
        let known = crate::train::metrics();
        for family in crate::models::families().iter() {
            for m in family.default_value().metrics() {
                assert!(known.contains(m), "{}: {m}", family.name);
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
