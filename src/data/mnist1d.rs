//! MNIST-1D (Greydanus 2020, "Scaling down deep learning"), shipped in `datasets/mnist1d/`.

use super::{DataInfo, Dataset, Split, datasets_dir, f32_le, read_verified};
use crate::error::Result;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// Options of the `mnist1d` dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Mnist1dOptions {
    /// Apply one fixed random permutation to the 40 positions (train and test alike).
    pub shuffle_seq: bool,
}

/// Signal length.
pub const LEN: usize = 40;
/// Number of classes.
pub const CLASSES: usize = 10;
/// The seed of the fixed position permutation used by `shuffle_seq = true`.
pub const SHUFFLE_SEQ_SEED: u64 = 0;

/// SHA-256 of each shipped file (see `datasets/mnist1d/SHA256SUMS`).
const FILES: [(&str, &str); 4] = [
    ("x_train.f32", "d53506bddd12d3b72c7153b1ae7f34807724b1dd078a7273809bf9d0792319f6"),
    ("y_train.u8", "6e13c7aab5f831266ec59efd193e310c511faefd71cfc5d39427c20337df4dc6"),
    ("x_test.f32", "30addc43827c82aafa5db8bc97cea63349ca687e87db2f201cc4f5415d9a4ebd"),
    ("y_test.u8", "9486539f99fcca7dc5923aba4d0cb5b7963f8e8e1f74398ca33a64ccb3b5b654"),
];

/// The example shape: 40 time steps of one channel, 10 classes.
pub fn info() -> DataInfo {
    DataInfo { seq_len: LEN, channels: 1, num_classes: CLASSES, ..Default::default() }
}

/// Loads the shipped files, verifying their checksums.
pub fn load(opts: &Mnist1dOptions) -> Result<Dataset> {
    let dir = datasets_dir().join("mnist1d");
    let read = |i: usize| read_verified(&dir.join(FILES[i].0), FILES[i].1);
    let labels = |b: Vec<u8>| b.into_iter().map(i64::from).collect::<Vec<_>>();
    let mut train = Split::new(f32_le(&read(0)?), labels(read(1)?));
    let mut test = Split::new(f32_le(&read(2)?), labels(read(3)?));
    if opts.shuffle_seq {
        let perm = position_permutation();
        permute_positions(&mut train, &perm);
        permute_positions(&mut test, &perm);
    }
    Ok(Dataset::new(info(), train, test))
}

/// The fixed permutation of the 40 positions used by `shuffle_seq`.
pub fn position_permutation() -> Vec<usize> {
    let mut perm: Vec<usize> = (0..LEN).collect();
    perm.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(SHUFFLE_SEQ_SEED));
    perm
}

fn permute_positions(split: &mut Split, perm: &[usize]) {
    for row in split.x.chunks_exact_mut(LEN) {
        let orig = row.to_vec();
        for (dst, &src) in row.iter_mut().zip(perm) {
            *dst = orig[src];
        }
    }
}

impl super::DatasetSource for Mnist1dOptions {
    fn name(&self) -> &'static str {
        "mnist1d"
    }
    fn summary(&self) -> &'static str {
        "MNIST-1D (Greydanus 2020): 4000/1000 signals of length 40, 10 classes"
    }
    fn info(&self) -> DataInfo {
        info()
    }
    fn train_examples(&self) -> Option<usize> {
        Some(4000)
    }
    fn load(&self) -> Result<Dataset> {
        load(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_shipped_files_with_known_values() {
        let d = load(&Mnist1dOptions::default()).unwrap();
        assert_eq!(d.train.len(), 4000);
        assert_eq!(d.test.len(), 1000);
        assert_eq!(d.train.x.len(), 4000 * LEN);
        let bits = [0xbea9fca6u32, 0xbef19e3c, 0xbf4758b1, 0xbf813f30, 0xbf61e1dc];
        let expected: Vec<f32> = bits.iter().map(|b| f32::from_bits(*b)).collect();
        assert_eq!(&d.train.x[..5], &expected[..]);
        assert_eq!(&d.train.y[..10], &[2, 6, 4, 5, 6, 6, 6, 0, 3, 1]);
        assert_eq!(&d.test.y[..10], &[2, 6, 3, 9, 4, 3, 1, 9, 5, 2]);
    }

    #[test]
    fn shuffle_seq_permutes_positions_identically_in_both_splits() {
        let plain = load(&Mnist1dOptions::default()).unwrap();
        let shuffled = load(&Mnist1dOptions { shuffle_seq: true }).unwrap();
        let perm = position_permutation();
        assert_ne!(perm, (0..LEN).collect::<Vec<_>>());
        for (split_p, split_s) in [(&plain.train, &shuffled.train), (&plain.test, &shuffled.test)] {
            for row in [0, 17] {
                for (j, &src) in perm.iter().enumerate() {
                    assert_eq!(split_s.x[row * LEN + j], split_p.x[row * LEN + src]);
                }
            }
            assert_eq!(split_p.y, split_s.y);
        }
    }

    #[test]
    fn a_corrupted_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        std::fs::write(&p, b"abc").unwrap();
        let e = read_verified(&p, FILES[0].1).unwrap_err();
        assert!(e.to_string().contains("checksum mismatch"), "{e}");
    }
}
