//! Training batches: seeded epochs of row indices, and the batchers the trainers draw from.
//!
//! Every trainer that shuffles (the classifier step, the GAN's real examples, the Frechet
//! feature network) draws its rows from [`Epochs`]; the random generator comes from the trial's
//! seed streams (`train::seeds`).

use super::{DeviceSplit, Labels};
use burn::tensor::{Device, Tensor};
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How training batches are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Batching {
    /// A fresh seeded permutation of the training set each epoch.
    #[default]
    Shuffle,
    /// Consecutive slices `x[(step * batch) % n ..][..batch]`, as the MNIST-1D reference does.
    Sequential,
}

/// Batches of row indices in seeded epochs: each epoch is a fresh shuffle of `0..n`. A batch
/// that does not fit in the rest of an epoch starts the next one (the rest is skipped), except
/// when the batch is larger than `n`: then batches run on across epochs.
pub struct Epochs {
    n: usize,
    batch: usize,
    order: Vec<usize>,
    pos: usize,
    rng: ChaCha8Rng,
}

impl Epochs {
    /// Batches of `batch` indices into `0..n`, shuffled by `rng`.
    pub fn new(n: usize, batch: usize, rng: ChaCha8Rng) -> Self {
        Epochs { n, batch, order: Vec::new(), pos: 0, rng }
    }

    /// The next batch's indices (`batch` of them, each in `0..n`).
    pub fn next_batch(&mut self) -> Vec<usize> {
        if self.batch <= self.n && self.pos + self.batch > self.order.len() {
            self.reshuffle();
        }
        let mut idx = Vec::with_capacity(self.batch);
        while idx.len() < self.batch {
            if self.pos == self.order.len() {
                self.reshuffle();
            }
            let take = (self.batch - idx.len()).min(self.order.len() - self.pos);
            idx.extend_from_slice(&self.order[self.pos..self.pos + take]);
            self.pos += take;
        }
        idx
    }

    /// Where the epochs stand (for a checkpoint): the epoch's order, the position in it and
    /// the generator's word position.
    pub fn state(&self) -> BatchState {
        BatchState {
            step: 0,
            order: self.order.clone(),
            pos: self.pos,
            word_pos: self.rng.get_word_pos().to_string(),
            draws: 0,
        }
    }

    /// Continues from `state` ([`Epochs::state`] of epochs built like these).
    ///
    /// # Errors
    /// A state that does not fit `0..n`, as text.
    pub fn restore(&mut self, state: &BatchState) -> Result<(), String> {
        let word_pos: u128 = state.word_pos.parse().map_err(|_| format!("bad word position {}", state.word_pos))?;
        if state.pos > state.order.len() || state.order.iter().any(|&i| i >= self.n) {
            return Err(format!("a batch state that does not fit {} examples", self.n));
        }
        (self.order, self.pos) = (state.order.clone(), state.pos);
        self.rng.set_word_pos(word_pos);
        Ok(())
    }

    fn reshuffle(&mut self) {
        self.order = (0..self.n).collect();
        self.order.shuffle(&mut self.rng);
        self.pos = 0;
    }
}

/// Where a batcher stands, for a checkpoint: the sequential step, the current epoch's order,
/// the position in it and the shuffling generator's word position (ChaCha8's
/// `get_word_pos`, as decimal text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchState {
    /// Batches drawn (sequential batching).
    pub step: usize,
    /// The current epoch's row order.
    pub order: Vec<usize>,
    /// The position in it.
    pub pos: usize,
    /// The generator's word position.
    pub word_pos: String,
    /// Augmented batches drawn ([`Batches`] of a split with an augmentation); absent (0) in
    /// checkpoints written before it existed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub draws: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Labelled batches of every modality: seeded reshuffles per epoch ([`Epochs`]), or sequential
/// slices. A batch is at most the split's size.
pub struct Batches {
    mode: Batching,
    batch: usize,
    n: usize,
    step: usize,
    epochs: Epochs,
    /// Seeds the augmentation (`data::augment`): from the shuffling generator's seed, so from
    /// the trial's seed.
    augment_seed: u64,
    /// Augmented batches drawn so far.
    draws: u64,
}

impl Batches {
    /// Batches of `batch_size` (at most `n`) rows of a split of `n` examples, drawn as `mode`
    /// says; `rng` shuffles (`Batching::Shuffle`).
    pub fn new(mode: Batching, batch_size: usize, n: usize, rng: ChaCha8Rng) -> Self {
        let batch = batch_size.min(n);
        let seed = rng.get_seed();
        let augment_seed = u64::from_le_bytes([seed[0], seed[1], seed[2], seed[3], seed[4], seed[5], seed[6], seed[7]]);
        Batches { mode, batch, n, step: 0, epochs: Epochs::new(n, batch, rng), augment_seed, draws: 0 }
    }

    /// The next batch of `split` on `device`: the same rows of every modality
    /// (`[batch, seq_len, channels]` each), and their labels `[batch]` (classes, or targets
    /// for regression). A split with an augmentation has its (first modality's) batch
    /// augmented, seeded by (trial seed, draw number).
    pub fn next(&mut self, split: &DeviceSplit, device: &Device) -> (Vec<Tensor<3>>, Labels) {
        let (mut inputs, labels) = self.select(split, device);
        if let Some(augment) = &split.augment {
            inputs[0] = augment.apply(inputs[0].clone(), self.augment_seed, self.draws);
            self.draws += 1;
        }
        (inputs, labels)
    }

    fn select(&mut self, split: &DeviceSplit, device: &Device) -> (Vec<Tensor<3>>, Labels) {
        match self.mode {
            Batching::Sequential => {
                // x[(step * batch) % n ..][..batch], wrapping as the MNIST-1D reference does.
                let start = (self.step * self.batch) % self.n;
                self.step += 1;
                let end = (start + self.batch).min(self.n);
                split.slice_batch(start, end)
            }
            Batching::Shuffle => split.select_batch(&self.epochs.next_batch(), device),
        }
    }

    /// Where the batches stand ([`BatchState`]).
    pub fn state(&self) -> BatchState {
        BatchState { step: self.step, draws: self.draws, ..self.epochs.state() }
    }

    /// Continues from `state`.
    ///
    /// # Errors
    /// As [`Epochs::restore`].
    pub fn restore(&mut self, state: &BatchState) -> Result<(), String> {
        (self.step, self.draws) = (state.step, state.draws);
        self.epochs.restore(state)
    }
}

/// Unlabelled batches of the first modality from seeded epochs ([`Epochs`]): the GAN's real
/// examples. A batch larger than the split runs on across epochs.
pub struct InputBatches {
    split: DeviceSplit,
    epochs: Epochs,
}

impl InputBatches {
    /// Batches of `batch` rows of `split`, shuffled by `rng`.
    pub fn new(split: DeviceSplit, batch: usize, rng: ChaCha8Rng) -> Self {
        let epochs = Epochs::new(split.len, batch, rng);
        InputBatches { split, epochs }
    }

    /// The next batch `[batch, seq_len, channels]` on `device`.
    pub fn next(&mut self, device: &Device) -> Tensor<3> {
        self.split.select(&self.epochs.next_batch(), device).0
    }

    /// The epochs' state ([`Epochs::state`]).
    pub fn state(&self) -> BatchState {
        self.epochs.state()
    }

    /// Continues from `state`.
    ///
    /// # Errors
    /// As [`Epochs::restore`].
    pub fn restore(&mut self, state: &BatchState) -> Result<(), String> {
        self.epochs.restore(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::MixtureOptions;
    use crate::data::mixture::{Mixture, load};
    use rand::SeedableRng;

    #[test]
    fn input_batches_cover_each_epoch_and_cross_its_end() {
        let data = load(Mixture::Ring, &MixtureOptions { n_train: 5, n_test: 1, seed: 0 }).unwrap();
        let device = Device::flex();
        let split = DeviceSplit::new(&data.train, &data.info, &device);
        let rows = |t: Tensor<3>| -> Vec<(u32, u32)> {
            t.to_data().try_to_vec::<f32>().unwrap().chunks(2).map(|p| (p[0].to_bits(), p[1].to_bits())).collect()
        };
        let count =
            |seen: &[(u32, u32)], p: &[f32]| seen.iter().filter(|&&q| q == (p[0].to_bits(), p[1].to_bits())).count();
        let rng = || ChaCha8Rng::seed_from_u64(0);
        // A batch that fits: 4 distinct points of one epoch each time.
        let mut small = InputBatches::new(split.clone(), 4, rng());
        for _ in 0..3 {
            let seen = rows(small.next(&device));
            assert!(data.train.x.chunks(2).all(|p| count(&seen, p) <= 1));
            assert_eq!(seen.len(), 4);
        }
        // A larger batch cycles: 5 batches of 7 = 7 epochs of the 5 points, each point 7 times.
        let mut big = InputBatches::new(split, 7, rng());
        let seen: Vec<(u32, u32)> = (0..5).flat_map(|_| rows(big.next(&device))).collect();
        assert_eq!(seen.len(), 35);
        assert!(data.train.x.chunks(2).all(|p| count(&seen, p) == 7));
    }

    #[test]
    fn restored_epochs_draw_what_the_original_draws_next() {
        let mut a = Epochs::new(7, 3, ChaCha8Rng::seed_from_u64(5));
        for _ in 0..4 {
            a.next_batch();
        }
        let mut b = Epochs::new(7, 3, ChaCha8Rng::seed_from_u64(5));
        b.restore(&a.state()).unwrap();
        for _ in 0..6 {
            assert_eq!(a.next_batch(), b.next_batch());
        }
    }

    #[test]
    fn epochs_skip_the_rest_that_a_batch_does_not_fit() {
        let mut e = Epochs::new(5, 2, ChaCha8Rng::seed_from_u64(0));
        let (a, b, c) = (e.next_batch(), e.next_batch(), e.next_batch());
        let mut first: Vec<usize> = a.iter().chain(&b).copied().collect();
        first.sort();
        first.dedup();
        assert_eq!(first.len(), 4, "one epoch: 4 distinct rows");
        assert_eq!(c.len(), 2);
        assert_ne!(c[0], c[1], "the third batch starts a new epoch");
    }

    #[test]
    fn sequential_batches_wrap_like_the_reference() {
        let data = load(Mixture::Ring, &MixtureOptions { n_train: 5, n_test: 1, seed: 0 }).unwrap();
        let device = Device::flex();
        let split = DeviceSplit::new(&data.train, &data.info, &device);
        let mut b = Batches::new(Batching::Sequential, 2, 5, ChaCha8Rng::seed_from_u64(0));
        let lens: Vec<usize> = (0..4).map(|_| b.next(&split, &device).0[0].dims()[0]).collect();
        // Starts 0, 2, 4 (the slice is cut at the end), then (3 * 2) % 5 = 1.
        assert_eq!(lens, [2, 2, 1, 2]);
    }

    #[test]
    fn augmented_batches_resume_where_they_stopped() {
        use crate::data::augment::{Augment, Augmentation};
        use crate::data::{DataInfo, Split};
        let info = DataInfo { seq_len: 2, channels: 3, num_classes: 2, image: Some([2, 3]), ..Default::default() };
        let x: Vec<f32> = (0..10 * 6).map(|v| v as f32).collect();
        let split = Split {
            augment: vec![Augment::Crop { padding: 1 }, Augment::Flip { p: 0.5 }],
            ..Split::new(x, vec![0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
        };
        let device = Device::flex();
        let d = DeviceSplit::new(&split, &info, &device);
        assert_eq!(d.augment, Some(Augmentation { steps: split.augment.clone(), shape: [1, 2, 3] }));
        let values = |b: (Vec<Tensor<3>>, Labels)| b.0[0].to_data().try_to_vec::<f32>().unwrap();
        let new = || Batches::new(Batching::Shuffle, 4, 10, ChaCha8Rng::seed_from_u64(3));
        let mut a = new();
        for _ in 0..3 {
            a.next(&d, &device);
        }
        let mut b = new();
        b.restore(&a.state()).unwrap();
        assert_eq!(a.state().draws, 3);
        for _ in 0..3 {
            assert_eq!(values(a.next(&d, &device)), values(b.next(&d, &device)));
        }
        let plain = DeviceSplit { augment: None, ..d.clone() };
        let (mut c, mut e) = (new(), new());
        assert_ne!(values(c.next(&d, &device)), values(e.next(&plain, &device)), "the same rows, augmented");
    }
}
