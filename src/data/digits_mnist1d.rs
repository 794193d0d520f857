//! `digits-mnist1d`: a two-modality dataset in the manner of AV-MNIST (Vielzeuf et al. 2018).
//!
//! Each example pairs an 8×8 scikit-learn digits image (modality `image`) with an MNIST-1D
//! signal of the same class (modality `signal`, 40 steps of one channel). Images come from the
//! shipped digits splits (1437 train / 360 test, one example each); each is paired with a signal
//! of its class drawn without replacement from the same split of the shipped MNIST-1D data, in
//! an order fixed by `seed`. The train and test pools of both sources are disjoint, so no image
//! or signal appears in both splits.
//!
//! The image is degraded so that it alone does not solve the task: optionally projected onto
//! its leading `image_components` principal components (fitted on the training images, as
//! AV-MNIST removes 75% of the energy of its images), then Gaussian noise of standard deviation
//! `image_noise` is added to every pixel.

use super::{
    DataInfo, Dataset, DatasetSource, DigitsOptions, Mnist1dOptions, Modality, Split, digits, mnist1d, normal,
};
use crate::check::FieldError;
use crate::error::Result;
use nalgebra::{DMatrix, SymmetricEigen};
use normal::Gaussian;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Options of the `digits-mnist1d` dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigitsMnist1dOptions {
    /// Seed of the pairing (which signal goes with which image) and of the image noise.
    pub seed: u64,
    /// Standard deviation of the Gaussian noise added to every pixel (pixels are in [0, 1]).
    pub image_noise: f64,
    /// Keep only the leading principal components of the images (fitted on the training
    /// images); 0 keeps all 64.
    pub image_components: usize,
}

impl Default for DigitsMnist1dOptions {
    fn default() -> Self {
        DigitsMnist1dOptions { seed: 0, image_noise: 0.5, image_components: 4 }
    }
}

/// Pixels per image.
const PIXELS: usize = digits::SIDE * digits::SIDE;

/// The example shape: the `image` modality (first) and the `signal` modality.
pub fn info() -> DataInfo {
    let image = digits::info();
    let signal = mnist1d::info();
    let modalities =
        vec![Modality { name: "image".into(), info: image.clone() }, Modality { name: "signal".into(), info: signal }];
    DataInfo { modalities, ..image }
}

/// Pairs every image with an unused signal of its class, in an order fixed by `(seed, stream)`.
fn pair(images: Split, signals: &Split, seed: u64, stream: u64) -> Result<Split> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let mut pools: Vec<Vec<usize>> = vec![Vec::new(); digits::CLASSES];
    for (i, &y) in signals.y.iter().enumerate() {
        pools[y as usize].push(i);
    }
    for pool in &mut pools {
        pool.shuffle(&mut rng);
    }
    let mut signal = Vec::with_capacity(images.len() * mnist1d::LEN);
    for &y in &images.y {
        let i =
            pools[y as usize].pop().ok_or_else(|| anyhow::anyhow!("digits-mnist1d: too few signals of class {y}"))?;
        signal.extend_from_slice(&signals.x[i * mnist1d::LEN..(i + 1) * mnist1d::LEN]);
    }
    Ok(Split { more: vec![signal], ..images })
}

/// Adds Gaussian noise of standard deviation `std` to every value.
fn add_noise(x: &mut [f32], std: f64, seed: u64, stream: u64) {
    if std == 0.0 {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    for v in x {
        *v += (std * normal::sample(&mut rng)) as f32;
    }
}

/// The leading principal components of a set of images.
struct Pca {
    /// Per-pixel mean.
    mean: Vec<f64>,
    /// `[PIXELS, k]`: the leading eigenvectors of the covariance, one per column.
    basis: DMatrix<f64>,
}

impl Pca {
    /// Fits the `k` leading components of the row-major images `x`.
    fn fit(x: &[f32], k: usize) -> Pca {
        let Gaussian { mean, cov } = Gaussian::fit(x, PIXELS);
        let eig = SymmetricEigen::new(cov);
        let mut order: Vec<usize> = (0..PIXELS).collect();
        order.sort_by(|&a, &b| eig.eigenvalues[b].total_cmp(&eig.eigenvalues[a]));
        let basis = DMatrix::from_fn(PIXELS, k, |i, c| eig.eigenvectors[(i, order[c])]);
        Pca { mean: mean.iter().copied().collect(), basis }
    }

    /// Replaces each image by its projection onto the components (plus the mean).
    fn project(&self, x: &mut [f32]) {
        for row in x.chunks_exact_mut(PIXELS) {
            let centred = DMatrix::from_iterator(PIXELS, 1, row.iter().zip(&self.mean).map(|(&v, m)| f64::from(v) - m));
            let back = &self.basis * (self.basis.transpose() * centred);
            for ((v, b), m) in row.iter_mut().zip(back.iter()).zip(&self.mean) {
                *v = (b + m) as f32;
            }
        }
    }
}

impl DatasetSource for DigitsMnist1dOptions {
    fn name(&self) -> &'static str {
        "digits-mnist1d"
    }
    fn summary(&self) -> &'static str {
        "multimodal (AV-MNIST style): a degraded 8x8 digits `image` + an MNIST-1D `signal` of the same class; 1437/360"
    }
    /// Checks option ranges.
    fn validate(&self) -> std::result::Result<(), FieldError> {
        if !(self.image_noise.is_finite() && self.image_noise >= 0.0) {
            return Err(FieldError::new("image_noise", format!("must be a finite number >= 0, got {}", self.image_noise)));
        }
        if self.image_components > PIXELS {
            let msg =
                format!("must be at most {PIXELS} (the pixels of an image; 0 keeps all), got {}", self.image_components);
            return Err(FieldError::new("image_components", msg));
        }
        Ok(())
    }
    fn info(&self) -> DataInfo {
        info()
    }
    fn train_examples(&self) -> Option<usize> {
        Some(1437)
    }
    fn split_seed(&self) -> u64 {
        self.seed
    }
    /// Loads both shipped datasets, pairs them and degrades the images.
    fn load(&self) -> Result<Dataset> {
        self.validate().map_err(super::option_error)?;
        let images = DigitsOptions::default().load()?;
        let signals = mnist1d::load(&Mnist1dOptions::default())?;
        let mut train = pair(images.train, &signals.train, self.seed, 0)?;
        let mut test = pair(images.test, &signals.test, self.seed, 1)?;
        if self.image_components > 0 && self.image_components < PIXELS {
            let pca = Pca::fit(&train.x, self.image_components);
            pca.project(&mut train.x);
            pca.project(&mut test.x);
        }
        add_noise(&mut train.x, self.image_noise, self.seed, 2);
        add_noise(&mut test.x, self.image_noise, self.seed, 3);
        Ok(Dataset::new(info(), train, test))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn energy(x: &[f32], mean: &[f64]) -> f64 {
        x.chunks_exact(PIXELS).flat_map(|r| r.iter().zip(mean).map(|(&v, m)| (f64::from(v) - m).powi(2))).sum()
    }

    #[test]
    fn pairs_same_class_signals_without_sharing_between_splits() {
        let clean = DigitsMnist1dOptions { image_noise: 0.0, image_components: 0, ..Default::default() };
        let d = DatasetSource::load(&clean).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (1437, 360));
        assert_eq!(d.info.modality_names(), "image, signal");
        assert_eq!(d.info.shapes(), vec![[8, 8], [40, 1]]);
        let signals = mnist1d::load(&Mnist1dOptions::default()).unwrap();
        let images = DigitsOptions::default().load().unwrap();
        // Undegraded images are the shipped ones; every signal is a shipped signal of the same
        // class from the same split, used once.
        assert_eq!(d.train.x, images.train.x);
        for (split, source) in [(&d.train, &signals.train), (&d.test, &signals.test)] {
            let mut used = std::collections::BTreeSet::new();
            for (row, &y) in split.more[0].chunks_exact(mnist1d::LEN).zip(&split.y) {
                let i = source.x.chunks_exact(mnist1d::LEN).position(|s| s == row).expect("a shipped signal");
                assert_eq!(source.y[i], y);
                assert!(used.insert(i), "signal {i} used twice");
            }
        }
        // Another seed pairs differently; the same seed identically.
        let other = DatasetSource::load(&DigitsMnist1dOptions { seed: 1, ..clean.clone() }).unwrap();
        assert_ne!(other.train.more, d.train.more);
        assert_eq!(DatasetSource::load(&clean).unwrap().train.more, d.train.more);
    }

    #[test]
    fn pca_keeps_the_leading_components_and_noise_is_seeded() {
        let full = DatasetSource::load(&DigitsMnist1dOptions { image_noise: 0.0, image_components: 0, ..Default::default() }).unwrap();
        let mean: Vec<f64> = (0..PIXELS)
            .map(|j| full.train.x.iter().skip(j).step_by(PIXELS).map(|&v| f64::from(v)).sum::<f64>() / 1437.0)
            .collect();
        let total = energy(&full.train.x, &mean);
        let mut kept = Vec::new();
        for k in [1, 4, 16] {
            let d =
                DatasetSource::load(&DigitsMnist1dOptions { image_noise: 0.0, image_components: k, ..Default::default() }).unwrap();
            kept.push(energy(&d.train.x, &mean) / total);
        }
        // `load` skips the projection for all 64 components, so fit and project here.
        let mut all = full.train.x.clone();
        Pca::fit(&full.train.x, PIXELS).project(&mut all);
        kept.push(energy(&all, &mean) / total);
        // More components keep more energy; all 64 keep it all; 4 keep well under half.
        assert!(kept.windows(2).all(|w| w[0] < w[1]), "{kept:?}");
        assert!((kept[3] - 1.0).abs() < 1e-6 && kept[1] < 0.5 && kept[0] > 0.05, "{kept:?}");
        let noisy =
            DatasetSource::load(&DigitsMnist1dOptions { image_noise: 0.5, image_components: 0, ..Default::default() }).unwrap();
        let diff: Vec<f64> = noisy.train.x.iter().zip(&full.train.x).map(|(a, b)| f64::from(a - b)).collect();
        let std = (diff.iter().map(|d| d * d).sum::<f64>() / diff.len() as f64).sqrt();
        assert!((std - 0.5).abs() < 0.01, "noise std {std}");
        assert_eq!(noisy.train.more, full.train.more, "noise touches only the image");
    }

    #[test]
    fn options_are_checked() {
        let bad = DigitsMnist1dOptions { image_components: 65, ..Default::default() };
        assert_eq!(DatasetSource::validate(&bad).unwrap_err().key, "image_components");
        let bad = DigitsMnist1dOptions { image_noise: -1.0, ..Default::default() };
        assert_eq!(DatasetSource::validate(&bad).unwrap_err().key, "image_noise");
    }
}
