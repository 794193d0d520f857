//! `blobs`: a test-only synthetic dataset, written as a user's crate would write one: its
//! options implement [`DatasetSource`], and one `with_dataset` line registers it
//! (tests/plugin/main.rs).
//!
//! Two classes of `length`-step signals of one channel: class 0 around -1, class 1 around +1,
//! with uniform noise in [-1, 1) on every step (ChaCha8 seeded with `seed`; stream 0 for the
//! training split, 1 for the test split, 2 for the validation split of `n_valid` examples,
//! which a dataset of its own has: none by default).

use burnlab::plugin::{DataInfo, Dataset, DatasetSource, FieldError, Split};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Options of the `blobs` dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobsOptions {
    /// Seed of the generator.
    pub seed: u64,
    /// Time steps per example.
    pub length: usize,
    /// Training examples.
    pub n_train: usize,
    /// Test examples.
    pub n_test: usize,
    /// Validation examples (0: no validation split).
    #[serde(skip_serializing_if = "is_zero")]
    pub n_valid: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Default for BlobsOptions {
    fn default() -> Self {
        BlobsOptions { seed: 0, length: 8, n_train: 200, n_test: 100, n_valid: 0 }
    }
}

impl BlobsOptions {
    fn split(&self, stream: u64, n: usize) -> Split {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        rng.set_stream(stream);
        let y: Vec<i64> = (0..n).map(|i| (i % 2) as i64).collect();
        let x = y
            .iter()
            .flat_map(|&c| (0..self.length).map(move |_| c))
            .map(|c| (2 * c - 1) as f32 + rng.random_range(-1.0f32..1.0))
            .collect();
        Split::new(x, y)
    }
}

impl DatasetSource for BlobsOptions {
    fn name(&self) -> &'static str {
        "blobs"
    }
    fn summary(&self) -> &'static str {
        "test plugin: two noisy constant signals (-1, +1), 2 classes"
    }
    fn validate(&self) -> Result<(), FieldError> {
        for (key, n) in [("length", self.length), ("n_train", self.n_train), ("n_test", self.n_test)] {
            burnlab::plugin::at_least_one(key, n)?;
        }
        Ok(())
    }
    fn info(&self) -> DataInfo {
        DataInfo { seq_len: self.length, channels: 1, num_classes: 2, ..Default::default() }
    }
    fn train_examples(&self) -> Option<usize> {
        Some(self.n_train)
    }
    fn own_validation(&self) -> bool {
        self.n_valid > 0
    }
    fn load(&self) -> burnlab::plugin::Result<Dataset> {
        let data = Dataset::new(self.info(), self.split(0, self.n_train), self.split(1, self.n_test));
        Ok(if self.n_valid > 0 { data.with_valid(self.split(2, self.n_valid)) } else { data })
    }
}
