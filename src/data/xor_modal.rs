//! `xor-modal`: a synthetic two-modality dataset whose label needs both modalities.
//!
//! Each modality (`a`, `b`) is `length` steps of one channel: a fixed random ±1 pattern (one
//! per modality, drawn from `seed`) times `+1` or `-1` for the modality's hidden bit, plus
//! Gaussian noise of standard deviation `noise`. The label is `bit_a XOR bit_b`, so either
//! modality alone predicts it at chance (50%), while both together determine it.

use super::longrange::MAX_VALUES;
use super::{DataInfo, Dataset, DatasetSource, Modality, Split, normal};
use crate::check::FieldError;
use crate::error::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Options of the `xor-modal` dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct XorModalOptions {
    /// Seed of the generator (ChaCha8).
    pub seed: u64,
    /// Time steps of each modality (one channel).
    pub length: usize,
    /// Number of training examples.
    pub n_train: usize,
    /// Number of test examples.
    pub n_test: usize,
    /// Standard deviation of the Gaussian noise around each modality's ±1 pattern.
    pub noise: f64,
}

impl Default for XorModalOptions {
    fn default() -> Self {
        XorModalOptions { seed: 0, length: 16, n_train: 2000, n_test: 1000, noise: 1.0 }
    }
}

/// Two classes: the bits differ (1) or agree (0).
pub const CLASSES: usize = 2;

/// The example shape: modalities `a` and `b`, each `length` steps of one channel.
pub fn info(opts: &XorModalOptions) -> DataInfo {
    let one = DataInfo { seq_len: opts.length, channels: 1, num_classes: CLASSES, ..Default::default() };
    let modalities = ["a", "b"].into_iter().map(|name| Modality { name: name.into(), info: one.clone() }).collect();
    DataInfo { modalities, ..one }
}

/// The two modalities' ±1 patterns, from the seed's first stream.
fn patterns(opts: &XorModalOptions) -> Vec<Vec<f32>> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    (0..2).map(|_| (0..opts.length).map(|_| if rng.random_bool(0.5) { 1.0 } else { -1.0 }).collect()).collect()
}

/// `n` examples from the ChaCha8 stream `stream` of `opts.seed`.
fn generate(opts: &XorModalOptions, patterns: &[Vec<f32>], stream: u64, n: usize) -> Split {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    rng.set_stream(stream);
    let mut modalities: [Vec<f32>; 2] = std::array::from_fn(|_| Vec::with_capacity(n * opts.length));
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let bits = [rng.random_bool(0.5), rng.random_bool(0.5)];
        for ((x, pattern), bit) in modalities.iter_mut().zip(patterns).zip(bits) {
            let sign = if bit { 1.0 } else { -1.0 };
            x.extend(pattern.iter().map(|p| sign * p + (opts.noise * normal::sample(&mut rng)) as f32));
        }
        y.push(i64::from(bits[0] ^ bits[1]));
    }
    let [a, b] = modalities;
    Split { more: vec![b], ..Split::new(a, y) }
}

impl DatasetSource for XorModalOptions {
    fn name(&self) -> &'static str {
        "xor-modal"
    }
    fn summary(&self) -> &'static str {
        "synthetic multimodal: modalities `a` and `b` each carry a noisy bit; label = a XOR b (each alone at chance)"
    }
    /// Checks option ranges.
    fn validate(&self) -> std::result::Result<(), FieldError> {
        for (key, v) in [("length", self.length), ("n_train", self.n_train), ("n_test", self.n_test)] {
            if v == 0 {
                return Err(FieldError::new(key, "must be at least 1"));
            }
        }
        if !(self.noise.is_finite() && self.noise >= 0.0) {
            return Err(FieldError::new("noise", format!("must be a finite number >= 0, got {}", self.noise)));
        }
        let values = self.n_train.saturating_add(self.n_test).saturating_mul(self.length).saturating_mul(2);
        if values > MAX_VALUES {
            let msg = format!("with n_test and length gives {values} input values, more than the limit of {MAX_VALUES}");
            return Err(FieldError::new("n_train", msg));
        }
        Ok(())
    }
    fn info(&self) -> DataInfo {
        info(self)
    }
    fn train_examples(&self) -> Option<usize> {
        Some(self.n_train)
    }
    fn split_seed(&self) -> u64 {
        self.seed
    }
    /// Generates both splits.
    fn load(&self) -> Result<Dataset> {
        self.validate().map_err(super::option_error)?;
        let patterns = patterns(self);
        let train = generate(self, &patterns, 1, self.n_train);
        let test = generate(self, &patterns, 2, self.n_test);
        Ok(Dataset::new(info(self), train, test))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bit a modality carries, read by correlating with its pattern.
    fn bits(x: &[f32], pattern: &[f32]) -> Vec<bool> {
        x.chunks_exact(pattern.len()).map(|r| r.iter().zip(pattern).map(|(a, b)| a * b).sum::<f32>() > 0.0).collect()
    }

    #[test]
    fn label_is_the_xor_of_the_bits_and_each_bit_alone_is_uninformative() {
        let opts = XorModalOptions { noise: 0.5, ..Default::default() };
        let d = DatasetSource::load(&opts).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (2000, 1000));
        assert_eq!(d.info.modality_names(), "a, b");
        assert_eq!(d.info.shapes(), vec![[16, 1], [16, 1]]);
        let patterns = patterns(&opts);
        for split in [&d.train, &d.test] {
            let (a, b) = (bits(&split.x, &patterns[0]), bits(&split.more[0], &patterns[1]));
            let n = split.len() as f64;
            let xor = a.iter().zip(&b).zip(&split.y).filter(|((a, b), y)| i64::from(**a ^ **b) == **y).count();
            assert!(xor as f64 / n > 0.99, "both bits decode the label");
            for bits in [&a, &b] {
                let agree = bits.iter().zip(&split.y).filter(|(b, y)| i64::from(**b) == **y).count() as f64 / n;
                assert!((agree - 0.5).abs() < 0.05, "one bit alone agrees with the label {agree}");
            }
        }
        assert_eq!(DatasetSource::load(&opts).unwrap().test.x, d.test.x, "deterministic");
        assert_ne!(d.train.x[..16], d.test.x[..16]);
    }

    #[test]
    fn options_are_checked() {
        assert_eq!(DatasetSource::validate(&XorModalOptions { length: 0, ..Default::default() }).unwrap_err().key, "length");
        assert_eq!(DatasetSource::validate(&XorModalOptions { noise: f64::NAN, ..Default::default() }).unwrap_err().key, "noise");
    }
}
