//! Frechet distance between generated and real examples, on the features of a classifier
//! burnlab trains on the same data.
//!
//! The feature network is the `mlp` family with 2 hidden layers of 64 units (residual, ReLU),
//! trained for [`FEATURE_STEPS`] Adam steps (lr 1e-3, batch 100, seeded reshuffles) through the
//! classifier step and the training loop, on the dataset's training split from the fixed seed [`FEATURE_SEED`], so every trial on a dataset
//! uses the same network. The features are its last hidden layer (64 values per example).
//! The distance is FID's: `|μr - μg|² + tr(Σr + Σg - 2 (Σr^½ Σg Σr^½)^½)` between the Gaussians
//! fitted (mean, covariance with `n - 1`) to the features of the training split and of the
//! generator's samples; the matrix square roots come from nalgebra's symmetric
//! eigendecomposition (negative eigenvalues from rounding are clamped to 0).

use crate::data::normal::Gaussian;
use crate::data::{DataInfo, DeviceSplit};
use crate::models::Family;
use crate::models::classifier::ClassifierStep;
use crate::models::mlp::{Mlp, MlpSpec};
use crate::train::{self, Hooks, NullObserver, TrainingSpec, seeds};
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use nalgebra::{DMatrix, SymmetricEigen};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Training steps of the feature network.
pub const FEATURE_STEPS: usize = 1000;
/// The seed of the feature network (its initialisation and batches).
pub const FEATURE_SEED: u64 = seeds::FEATURE_NETWORK;
/// Width of the feature network's hidden layers (the feature dimension).
pub const FEATURE_WIDTH: usize = 64;

/// The square root of a symmetric positive semi-definite matrix.
fn sqrtm_psd(m: &DMatrix<f64>) -> DMatrix<f64> {
    let sym = (m + m.transpose()) * 0.5;
    let eig = SymmetricEigen::new(sym);
    let roots = eig.eigenvalues.map(|l| l.max(0.0).sqrt());
    &eig.eigenvectors * DMatrix::from_diagonal(&roots) * eig.eigenvectors.transpose()
}

/// The Frechet distance between two Gaussians.
pub fn frechet_distance(a: &Gaussian, b: &Gaussian) -> f64 {
    let d = &a.mean - &b.mean;
    let ra = sqrtm_psd(&a.cov);
    let cross = sqrtm_psd(&(&ra * &b.cov * &ra));
    d.dot(&d) + a.cov.trace() + b.cov.trace() - 2.0 * cross.trace()
}

/// The trained feature network and the real examples' feature statistics.
pub struct FrechetScorer {
    net: Mlp,
    real: Gaussian,
}

impl FrechetScorer {
    /// Trains the feature network on the training split `train` of a dataset shaped `info` (on
    /// the autodiff `device`, which it reseeds with [`FEATURE_SEED`]) and fits its features.
    pub fn new(train: &DeviceSplit, info: &DataInfo, device: &Device) -> FrechetScorer {
        device.seed(FEATURE_SEED);
        let spec = MlpSpec { hidden: FEATURE_WIDTH, depth: 2, residual: true };
        let net = spec.init(info, device);
        let cfg = feature_training();
        let rng = ChaCha8Rng::seed_from_u64(FEATURE_SEED);
        let mut step = ClassifierStep::new(net, train.clone(), None, &cfg, rng, device);
        train::run_loop(&mut step, &cfg, &mut Hooks::default(), &mut NullObserver);
        let net = step.into_model();
        let net = net.valid();
        let real = Gaussian::fit(&features(&net, train.all_x().without_autodiff()), FEATURE_WIDTH);
        FrechetScorer { net, real }
    }

    /// The Frechet distance of examples `[n, seq_len, channels]` from the training split.
    pub fn score(&self, x: Tensor<3>) -> f64 {
        self.score_against(&self.real, x)
    }

    /// The Gaussian fitted to the features of real examples `x` `[n, seq_len, channels]` (a
    /// validation or test split), to score against with [`FrechetScorer::score_against`].
    pub fn real_of(&self, x: Tensor<3>) -> Gaussian {
        Gaussian::fit(&features(&self.net, x), FEATURE_WIDTH)
    }

    /// The Frechet distance of examples `x` from the real examples whose features `real` fits.
    pub fn score_against(&self, real: &Gaussian, x: Tensor<3>) -> f64 {
        frechet_distance(real, &Gaussian::fit(&features(&self.net, x), FEATURE_WIDTH))
    }

    /// The feature network's test accuracy on `data` (a check that the features are useful).
    #[cfg(test)]
    fn accuracy(&self, data: &crate::data::Dataset, device: &Device) -> f64 {
        let test = DeviceSplit::new(&data.test, &data.info, device);
        crate::models::classifier::evaluate(&self.net, &test, "test")["test.accuracy"]
    }
}

/// How the feature network trains: [`FEATURE_STEPS`] steps of Adam with lr 1e-3 and Burn's
/// default epsilon (1e-5), batches of 100 from seeded reshuffles, one (empty) evaluation at the
/// end and no logging.
fn feature_training() -> TrainingSpec {
    TrainingSpec {
        lr: 1e-3,
        eps: 1e-5,
        batch_size: 100,
        steps: FEATURE_STEPS,
        eval_every: FEATURE_STEPS,
        log_every: FEATURE_STEPS,
        ..Default::default()
    }
}

/// The last hidden layer of `net` on `x`, as host values `[n * FEATURE_WIDTH]`.
fn features(net: &Mlp, x: Tensor<3>) -> Vec<f32> {
    net.features(x).to_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DVector;

    fn gaussian(mean: &[f64], cov_diag: &[f64]) -> Gaussian {
        Gaussian {
            mean: DVector::from_column_slice(mean),
            cov: DMatrix::from_diagonal(&DVector::from_column_slice(cov_diag)),
        }
    }

    #[test]
    fn known_distances() {
        let a = gaussian(&[0.0, 1.0], &[4.0, 1.0]);
        assert!(frechet_distance(&a, &a).abs() < 1e-9);
        // Mean shift only: |Δμ|² = 9 + 16.
        let b = gaussian(&[3.0, 5.0], &[4.0, 1.0]);
        assert!((frechet_distance(&a, &b) - 25.0).abs() < 1e-9);
        // Diagonal covariances: Σ (σa - σb)² = (2 - 1)² + (1 - 3)².
        let c = gaussian(&[0.0, 1.0], &[1.0, 9.0]);
        assert!((frechet_distance(&a, &c) - 5.0).abs() < 1e-9);
        // A rotated covariance: 2x2 with eigenvalues 4 and 1 against the identity:
        // tr(S) + 2 - 2 tr(S^½) = 5 + 2 - 2 (2 + 1) = 1.
        let (cs, sn) = (0.6f64, 0.8f64);
        let r = DMatrix::from_row_slice(2, 2, &[cs, -sn, sn, cs]);
        let s = &r * DMatrix::from_diagonal(&DVector::from_column_slice(&[4.0, 1.0])) * r.transpose();
        let d = Gaussian { mean: DVector::zeros(2), cov: s };
        let id = gaussian(&[0.0, 0.0], &[1.0, 1.0]);
        assert!((frechet_distance(&d, &id) - 1.0).abs() < 1e-9);
        assert!((frechet_distance(&id, &d) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn real_digits_are_near_and_noise_is_far() {
        let data = crate::data::DatasetSource::load(&crate::data::digits::DigitsOptions::default()).unwrap();
        let device = Device::flex().autodiff();
        let train = DeviceSplit::new(&data.train, &data.info, &device);
        let scorer = FrechetScorer::new(&train, &data.info, &device);
        let acc = scorer.accuracy(&data, &device);
        assert!(acc > 0.9, "feature network test accuracy {acc}");
        let test = DeviceSplit::new(&data.test, &data.info, &device).all_x().without_autodiff();
        let real = scorer.score(test.clone());
        let noise = scorer.score(test.random_like(burn::tensor::Distribution::Uniform(0.0, 1.0)));
        assert!(real > 0.0 && real * 10.0 < noise, "test split {real}, noise {noise}");
    }

    #[test]
    fn the_feature_network_trains_with_burns_default_adam() {
        // It was trained by `AdamConfig::new()` before it went through `[training]`'s
        // optimizer: the same betas and epsilon, as f32, and no weight decay.
        let cfg = feature_training();
        assert_eq!((cfg.beta1 as f32, cfg.beta2 as f32, cfg.eps as f32), (0.9f32, 0.999f32, 1e-5f32));
        assert_eq!((cfg.optimizer, cfg.weight_decay), (crate::train::OptimizerKind::Adam, 0.0));
    }

    #[test]
    fn fit_uses_the_unbiased_covariance() {
        let g = Gaussian::fit(&[1.0, 0.0, 3.0, 0.0, 5.0, 3.0], 2);
        assert_eq!(g.mean.as_slice(), &[3.0, 1.0]);
        // x: 1, 3, 5 (var 4); y: 0, 0, 3 (var 3); cov(x, y) = ((-2)(-1) + 0 + 2 * 2) / 2 = 3.
        assert_eq!(g.cov.as_slice(), &[4.0, 3.0, 3.0, 3.0]);
    }
}
