//! `ring` and `grid`: the 2D Gaussian mixtures of the PacGAN and VEEGAN mode-collapse
//! benchmarks, generated in Rust.
//!
//! - `ring`: 8 Gaussians with means `(cos 2πk/8, sin 2πk/8)` (a circle of radius 1), std 0.01.
//! - `grid`: 25 Gaussians with means `{-4, -2, 0, 2, 4}²`, std 0.05.
//!
//! Each point picks a mode uniformly and adds isotropic Gaussian noise. Points are stored as
//! one time step of 2 channels (`[n, 1, 2]`); the label is the mode's index, so the dataset
//! also works as a 2D classification task. Generation is deterministic: ChaCha8 seeded with
//! `seed`, stream 0 for the training split and stream 1 for the test split.

use super::{DataInfo, Dataset, Split};
use crate::check::FieldError;
use crate::error::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Options of the `ring` and `grid` mixtures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MixtureOptions {
    /// Number of training points (PacGAN: 100,000).
    pub n_train: usize,
    /// Number of test points.
    pub n_test: usize,
    /// Seed of the generator (ChaCha8).
    pub seed: u64,
}

impl Default for MixtureOptions {
    fn default() -> Self {
        MixtureOptions { n_train: 100_000, n_test: 2_500, seed: 0 }
    }
}

/// Most points generated per split.
pub const MAX_POINTS: usize = 10_000_000;

/// Which mixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mixture {
    /// 8 modes on the unit circle, std 0.01.
    Ring,
    /// 25 modes on a 5×5 grid of spacing 2, std 0.05.
    Grid,
}

/// The modes of a mixture: centres and the common standard deviation, which the mode-coverage
/// metrics need.
#[derive(Debug, Clone, PartialEq)]
pub struct Modes {
    /// Mode centres `(x, y)`.
    pub centres: Vec<[f64; 2]>,
    /// The standard deviation of every mode (isotropic).
    pub std: f64,
}

impl Mixture {
    /// The mixture's modes.
    pub fn modes(self) -> Modes {
        match self {
            Mixture::Ring => Modes {
                centres: (0..8)
                    .map(|k| {
                        let a = 2.0 * std::f64::consts::PI * k as f64 / 8.0;
                        [a.cos(), a.sin()]
                    })
                    .collect(),
                std: 0.01,
            },
            Mixture::Grid => {
                let coords = [-4.0, -2.0, 0.0, 2.0, 4.0];
                Modes { centres: coords.iter().flat_map(|&x| coords.iter().map(move |&y| [x, y])).collect(), std: 0.05 }
            }
        }
    }

    /// The example shape: one step of 2 channels; one class per mode.
    pub fn info(self) -> DataInfo {
        DataInfo { seq_len: 1, channels: 2, num_classes: self.modes().centres.len(), ..Default::default() }
    }
}

/// Checks the option ranges.
pub fn validate(opts: &MixtureOptions) -> std::result::Result<(), FieldError> {
    for (key, n) in [("n_train", opts.n_train), ("n_test", opts.n_test)] {
        if n == 0 || n > MAX_POINTS {
            return Err(FieldError::new(key, format!("must be between 1 and {MAX_POINTS}, got {n}")));
        }
    }
    Ok(())
}

/// Generates both splits.
pub fn load(mixture: Mixture, opts: &MixtureOptions) -> Result<Dataset> {
    validate(opts).map_err(super::option_error)?;
    let modes = mixture.modes();
    let train = generate(&modes, opts.seed, 0, opts.n_train);
    let test = generate(&modes, opts.seed, 1, opts.n_test);
    Ok(Dataset::new(mixture.info(), train, test).with_modes(Some(modes)))
}

/// Draws `n` points from stream `stream` of ChaCha8 seeded with `seed`.
fn generate(modes: &Modes, seed: u64, stream: u64, n: usize) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let mut x = Vec::with_capacity(2 * n);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let k = rng.random_range(0..modes.centres.len());
        let [a, b] = super::normal::pair(&mut rng);
        x.push((modes.centres[k][0] + modes.std * a) as f32);
        x.push((modes.centres[k][1] + modes.std * b) as f32);
        y.push(k as i64);
    }
    Split::new(x, y)
}


/// The `ring` dataset: 8 Gaussians on the unit circle, std 0.01 (PacGAN, VEEGAN).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Ring(pub MixtureOptions);

/// The default `validation` of `ring` and `grid`: none. They serve the GAN trainer only,
/// which never evaluates a validation split (its metrics compare samples with the known
/// mixture), and the published mode counts trained on the whole training split.
pub const MIXTURE_VALIDATION: f64 = 0.0;

/// The `grid` dataset: 25 Gaussians on the grid {-4, -2, 0, 2, 4}², std 0.05 (PacGAN, VEEGAN).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Grid(pub MixtureOptions);

impl super::DatasetSource for Ring {
    fn name(&self) -> &'static str {
        "ring"
    }
    fn summary(&self) -> &'static str {
        "synthetic (PacGAN): 8 Gaussians on the unit circle, std 0.01; 2D points [n, 1, 2], label = mode"
    }
    fn default_validation(&self) -> f64 {
        MIXTURE_VALIDATION
    }
    fn validate(&self) -> std::result::Result<(), FieldError> {
        validate(&self.0)
    }
    fn info(&self) -> DataInfo {
        Mixture::Ring.info()
    }
    fn train_examples(&self) -> Option<usize> {
        Some(self.0.n_train)
    }
    fn load(&self) -> Result<Dataset> {
        load(Mixture::Ring, &self.0)
    }
    fn modes(&self) -> Option<Modes> {
        Some(Mixture::Ring.modes())
    }
    fn split_seed(&self) -> u64 {
        self.0.seed
    }
}

impl super::DatasetSource for Grid {
    fn name(&self) -> &'static str {
        "grid"
    }
    fn summary(&self) -> &'static str {
        "synthetic (PacGAN): 25 Gaussians on {-4,-2,0,2,4}^2, std 0.05; 2D points [n, 1, 2], label = mode"
    }
    fn validate(&self) -> std::result::Result<(), FieldError> {
        validate(&self.0)
    }
    fn info(&self) -> DataInfo {
        Mixture::Grid.info()
    }
    fn train_examples(&self) -> Option<usize> {
        Some(self.0.n_train)
    }
    fn load(&self) -> Result<Dataset> {
        load(Mixture::Grid, &self.0)
    }
    fn modes(&self) -> Option<Modes> {
        Some(Mixture::Grid.modes())
    }
    fn split_seed(&self) -> u64 {
        self.0.seed
    }
    fn default_validation(&self) -> f64 {
        MIXTURE_VALIDATION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_match_the_papers() {
        let ring = Mixture::Ring.modes();
        assert_eq!((ring.centres.len(), ring.std), (8, 0.01));
        for c in &ring.centres {
            assert!((c[0].hypot(c[1]) - 1.0).abs() < 1e-12);
        }
        assert!((ring.centres[1][0] - 0.5f64.sqrt()).abs() < 1e-12);
        let grid = Mixture::Grid.modes();
        assert_eq!((grid.centres.len(), grid.std), (25, 0.05));
        assert_eq!(grid.centres[0], [-4.0, -4.0]);
        assert_eq!(grid.centres[24], [4.0, 4.0]);
        assert_eq!(grid.centres[7], [-2.0, 0.0]);
    }

    #[test]
    fn points_lie_near_their_labelled_mode_and_are_deterministic() {
        let opts = MixtureOptions { n_train: 4000, n_test: 100, seed: 3 };
        let d = load(Mixture::Grid, &opts).unwrap();
        assert_eq!((d.train.len(), d.test.len(), d.train.x.len()), (4000, 100, 8000));
        let modes = Mixture::Grid.modes();
        let mut counts = [0usize; 25];
        let mut sq = 0.0;
        for (p, &k) in d.train.x.chunks(2).zip(&d.train.y) {
            let c = modes.centres[k as usize];
            let (dx, dy) = (f64::from(p[0]) - c[0], f64::from(p[1]) - c[1]);
            assert!(dx.hypot(dy) < 6.0 * modes.std);
            sq += dx * dx + dy * dy;
            counts[k as usize] += 1;
        }
        // E[dx² + dy²] = 2 std²: within 5% with 4000 points.
        let ratio = sq / 4000.0 / (2.0 * modes.std * modes.std);
        assert!((ratio - 1.0).abs() < 0.05, "{ratio}");
        assert!(counts.iter().all(|&c| (100..220).contains(&c)), "{counts:?}");
        assert_eq!(load(Mixture::Grid, &opts).unwrap().train.x, d.train.x);
        let other = load(Mixture::Grid, &MixtureOptions { seed: 4, ..opts.clone() }).unwrap();
        assert_ne!(other.train.x, d.train.x);
        // The test split does not depend on n_train.
        let more = load(Mixture::Grid, &MixtureOptions { n_train: 10, ..opts }).unwrap();
        assert_eq!(more.test.x, d.test.x);
    }

    #[test]
    fn sizes_are_checked() {
        assert_eq!(validate(&MixtureOptions { n_train: 0, ..Default::default() }).unwrap_err().key, "n_train");
        assert!(validate(&MixtureOptions::default()).is_ok());
    }
}
