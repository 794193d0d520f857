//! `longrange`: a synthetic "match two far-apart marked symbols" task, generated in Rust.
//!
//! Each example is a sequence of `length` symbols drawn uniformly from an alphabet of `vocab`
//! symbols. Two positions are marked: `p` in the first quarter of the sequence and `q` in the
//! last quarter, so they are always at least `length / 2` steps apart. The label is 1 when the
//! symbols at `p` and `q` are equal and 0 otherwise (each with probability 1/2); every other
//! position is distractor noise. No single position carries information about the label: the
//! marked symbol at `p` is uniform whatever the label, and the symbol at `q` is drawn given it.
//! A model must find the two markers wherever they are and compare what they mark, which
//! attention does in one step and a recurrent network only by carrying the first symbol
//! through at least `length / 2` noisy steps.
//!
//! Encoding: one-hot channels. Step `t` has `vocab + 1` channels: channel `s` is 1 for the
//! symbol `s` at `t`, and the last channel is 1 at the two marked positions. One-hot inputs
//! (rather than one channel holding a symbol id) let every family read the symbols as
//! categories without an embedding layer and without a spurious order between symbol ids,
//! so the comparison between families measures long-range reasoning, not input decoding.
//!
//! Generation is deterministic: ChaCha8 seeded with `seed`, stream 0 for the training split
//! and stream 1 for the test split, so changing `n_train` leaves the test set unchanged.

use super::{DataInfo, Dataset, DatasetSource, Split};
use crate::check::FieldError;
use crate::error::Result;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Options of the `longrange` dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LongrangeOptions {
    /// Seed of the generator (ChaCha8).
    pub seed: u64,
    /// Sequence length (8..=65536).
    pub length: usize,
    /// Number of training examples.
    pub n_train: usize,
    /// Number of test examples.
    pub n_test: usize,
    /// Alphabet size (2..=256); each step has `vocab + 1` one-hot channels.
    pub vocab: usize,
}

impl Default for LongrangeOptions {
    fn default() -> Self {
        LongrangeOptions { seed: 0, length: 64, n_train: 4000, n_test: 1000, vocab: 8 }
    }
}

/// Number of classes (match / no match).
pub const CLASSES: usize = 2;
/// Shortest allowed sequence (each quarter then holds at least two positions).
pub const MIN_LENGTH: usize = 8;
/// Largest allowed sequence length.
pub const MAX_LENGTH: usize = 65_536;
/// Largest allowed alphabet.
pub const MAX_VOCAB: usize = 256;
/// Most floats generated in total (1 GiB of f32).
pub const MAX_VALUES: usize = 1 << 28;

/// Generates `n` examples from the ChaCha8 stream `stream` of `opts.seed`.
pub fn generate(opts: &LongrangeOptions, stream: u64, n: usize) -> Split {
    let (len, vocab) = (opts.length, opts.vocab);
    let channels = vocab + 1;
    let quarter = len / 4;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    rng.set_stream(stream);
    let mut x = vec![0f32; n * len * channels];
    let mut y = Vec::with_capacity(n);
    let mut symbols = vec![0usize; len];
    for example in x.chunks_exact_mut(len * channels) {
        for s in symbols.iter_mut() {
            *s = rng.random_range(0..vocab);
        }
        let p = rng.random_range(0..quarter);
        let q = rng.random_range(len - quarter..len);
        let matched = rng.random_bool(0.5);
        symbols[q] = if matched { symbols[p] } else { (symbols[p] + rng.random_range(1..vocab)) % vocab };
        for (t, step) in example.chunks_exact_mut(channels).enumerate() {
            step[symbols[t]] = 1.0;
        }
        example[p * channels + vocab] = 1.0;
        example[q * channels + vocab] = 1.0;
        y.push(i64::from(matched));
    }
    Split::new(x, y)
}

impl DatasetSource for LongrangeOptions {
    fn name(&self) -> &'static str {
        "longrange"
    }
    fn summary(&self) -> &'static str {
        "synthetic: do two far-apart marked symbols match? one-hot steps (vocab + 1 channels), 2 classes"
    }
    /// Checks the option ranges.
    fn validate(&self) -> std::result::Result<(), FieldError> {
        if !(MIN_LENGTH..=MAX_LENGTH).contains(&self.length) {
            return Err(FieldError::new(
                "length",
                format!("must be between {MIN_LENGTH} and {MAX_LENGTH}, got {}", self.length),
            ));
        }
        if !(2..=MAX_VOCAB).contains(&self.vocab) {
            return Err(FieldError::new("vocab", format!("must be between 2 and {MAX_VOCAB}, got {}", self.vocab)));
        }
        for (key, n) in [("n_train", self.n_train), ("n_test", self.n_test)] {
            if n == 0 {
                return Err(FieldError::new(key, "must be at least 1, got 0"));
            }
        }
        let values = (self.n_train.saturating_add(self.n_test)).saturating_mul(self.length).saturating_mul(self.vocab + 1);
        if values > MAX_VALUES {
            return Err(FieldError::new(
                "n_train",
                format!(
                    "with n_test, length and vocab gives {values} input values, more than the limit of {MAX_VALUES} (1 GiB)"
                ),
            ));
        }
        Ok(())
    }
    /// The example shape: `length` steps of `vocab + 1` one-hot channels, 2 classes.
    fn info(&self) -> DataInfo {
        DataInfo { seq_len: self.length, channels: self.vocab + 1, num_classes: CLASSES, ..Default::default() }
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
        let train = generate(self, 0, self.n_train);
        let test = generate(self, 1, self.n_test);
        Ok(Dataset::new(self.info(), train, test))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(seed: u64, length: usize, vocab: usize, n: usize) -> LongrangeOptions {
        LongrangeOptions { seed, length, vocab, n_train: n, n_test: n / 4 }
    }

    /// The marked positions and the symbol at each step of example `i`.
    fn decode(s: &Split, i: usize, len: usize, vocab: usize) -> (Vec<usize>, Vec<usize>) {
        let c = vocab + 1;
        let ex = &s.x[i * len * c..(i + 1) * len * c];
        let marks = (0..len).filter(|t| ex[t * c + vocab] == 1.0).collect();
        let syms = (0..len)
            .map(|t| {
                let step = &ex[t * c..t * c + vocab];
                assert_eq!(step.iter().sum::<f32>(), 1.0, "one symbol per step");
                step.iter().position(|&v| v == 1.0).unwrap()
            })
            .collect();
        (marks, syms)
    }

    #[test]
    fn same_seed_gives_identical_data_and_other_seeds_differ() {
        let a = DatasetSource::load(&opts(3, 32, 5, 200)).unwrap();
        let b = DatasetSource::load(&opts(3, 32, 5, 200)).unwrap();
        assert_eq!((a.train.x.clone(), a.train.y.clone()), (b.train.x.clone(), b.train.y.clone()));
        assert_eq!((a.test.x.clone(), a.test.y.clone()), (b.test.x.clone(), b.test.y.clone()));
        let c = DatasetSource::load(&opts(4, 32, 5, 200)).unwrap();
        assert_ne!(a.train.x, c.train.x);
        assert_ne!(a.test.x, c.test.x);
        assert_ne!(a.train.x[..a.test.x.len()], a.test.x[..], "train and test come from different streams");
        let more = DatasetSource::load(&LongrangeOptions { n_train: 300, ..opts(3, 32, 5, 200) }).unwrap();
        assert_eq!(more.test.x, a.test.x, "the test split does not depend on n_train");
        assert_eq!(a.info, DataInfo { seq_len: 32, channels: 6, num_classes: 2, ..Default::default() });
        assert_eq!(a.train.x.len(), 200 * 32 * 6);
    }

    #[test]
    fn the_label_says_whether_the_two_far_apart_marked_symbols_match() {
        let (len, vocab) = (20, 3);
        let d = DatasetSource::load(&opts(0, len, vocab, 500)).unwrap();
        for i in 0..d.train.len() {
            let (marks, syms) = decode(&d.train, i, len, vocab);
            assert_eq!(marks.len(), 2, "example {i}");
            let (p, q) = (marks[0], marks[1]);
            assert!(p < len / 4 && q >= len - len / 4, "markers at {p} and {q}");
            assert!(q - p >= len / 2);
            assert_eq!(d.train.y[i], i64::from(syms[p] == syms[q]), "example {i}");
        }
    }

    #[test]
    fn labels_are_balanced_and_no_single_position_predicts_them() {
        let (len, vocab, n) = (16, 4, 20_000);
        let s = generate(&opts(1, len, vocab, n), 0, n);
        let positives = s.y.iter().filter(|&&y| y == 1).count() as f64 / n as f64;
        assert!((positives - 0.5).abs() < 0.02, "fraction of label 1: {positives}");
        let c = vocab + 1;
        // P(label = 1 | channel ch at step t is on) for every step and channel: all near 1/2.
        let mut worst = 0f64;
        for t in 0..len {
            for ch in 0..c {
                let (mut on, mut pos) = (0usize, 0usize);
                for i in 0..n {
                    if s.x[(i * len + t) * c + ch] == 1.0 {
                        on += 1;
                        pos += s.y[i] as usize;
                    }
                }
                if ch == vocab && (len / 4..len - len / 4).contains(&t) {
                    assert_eq!(on, 0, "no marker in the middle half");
                    continue;
                }
                assert!(on >= 3000, "step {t} channel {ch} on {on} times");
                worst = worst.max((pos as f64 / on as f64 - 0.5).abs());
            }
        }
        assert!(worst < 0.04, "a single position predicts the label: |P(y=1|x) - 0.5| = {worst}");
    }

    #[test]
    fn bad_options_are_refused() {
        assert_eq!(DatasetSource::validate(&LongrangeOptions::default()), Ok(()));
        let bad = |o: LongrangeOptions| DatasetSource::validate(&o).unwrap_err().key;
        assert_eq!(bad(LongrangeOptions { length: 4, ..Default::default() }), "length");
        assert_eq!(bad(LongrangeOptions { vocab: 1, ..Default::default() }), "vocab");
        assert_eq!(bad(LongrangeOptions { n_test: 0, ..Default::default() }), "n_test");
        assert_eq!(bad(LongrangeOptions { n_train: 1 << 30, ..Default::default() }), "n_train");
    }
}
