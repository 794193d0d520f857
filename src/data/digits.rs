//! scikit-learn's `digits` (UCI Optical Recognition of Handwritten Digits), shipped in
//! `datasets/digits/`: 1437 train / 360 test grey-level 8×8 images, 10 classes.
//!
//! Each image is stored as 8 time steps (its rows, top first) of 8 channels (the pixels of
//! that row), with pixels scaled from 0..16 to [0, 1].

use super::{DataInfo, Dataset, Split, datasets_dir, read_verified};
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Options of the `digits` dataset (none: the shipped split is fixed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DigitsOptions {}

/// Image side in pixels.
pub const SIDE: usize = 8;
/// Number of classes.
pub const CLASSES: usize = 10;
/// The largest stored pixel value (pixels are divided by it).
pub const SCALE: f32 = 16.0;

/// SHA-256 of each shipped file (see `datasets/digits/SHA256SUMS`).
const FILES: [(&str, &str); 4] = [
    ("x_train.u8", "5760f944f9d4583320655eb3932bdbb8a1d7ecccece1d5e8ac73699a93fdf434"),
    ("y_train.u8", "33fe81a53fa12d9cd119c74adab9b6b08a7d070ee62e736390c5cf89f00886b1"),
    ("x_test.u8", "3cc232bd25364446c8646cd9434a26e35ea92e20045d395b2fdd2232a75c9b8f"),
    ("y_test.u8", "70ee2850bb25b543ca4112717fd4396c3fb90bcb54d8015bd3f9c7c900966072"),
];

/// The example shape: 8 rows (time steps) of 8 pixels (channels), an 8×8 image, 10 classes.
pub fn info() -> DataInfo {
    DataInfo { seq_len: SIDE, channels: SIDE, num_classes: CLASSES, image: Some([SIDE, SIDE]), ..Default::default() }
}

impl super::DatasetSource for DigitsOptions {
    fn name(&self) -> &'static str {
        "digits"
    }
    fn summary(&self) -> &'static str {
        "scikit-learn digits: 1437/360 8x8 images (8 rows of 8 pixels), 10 classes"
    }
    fn info(&self) -> DataInfo {
        info()
    }
    fn train_examples(&self) -> Option<usize> {
        Some(1437)
    }
    /// Loads the shipped files, verifying their checksums.
    fn load(&self) -> Result<Dataset> {
        let dir = datasets_dir().join("digits");
        let read = |i: usize| read_verified(&dir.join(FILES[i].0), FILES[i].1);
        let pixels = |b: Vec<u8>| b.into_iter().map(|p| f32::from(p) / SCALE).collect::<Vec<_>>();
        let labels = |b: Vec<u8>| b.into_iter().map(i64::from).collect::<Vec<_>>();
        let train = Split::new(pixels(read(0)?), labels(read(1)?));
        let test = Split::new(pixels(read(2)?), labels(read(3)?));
        Ok(Dataset::new(info(), train, test))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetSource;

    #[test]
    fn loads_the_shipped_files_with_known_values() {
        let d = DigitsOptions::default().load().unwrap();
        assert_eq!((d.train.len(), d.test.len()), (1437, 360));
        assert_eq!(d.train.x.len(), 1437 * 64);
        assert_eq!(d.test.x.len(), 360 * 64);
        let row0: Vec<f32> = [0., 0., 8., 16., 16., 12., 0., 0.].iter().map(|p| p / 16.0).collect();
        assert_eq!(&d.train.x[..8], &row0[..]);
        assert_eq!(&d.train.y[..10], &[3, 9, 1, 3, 1, 9, 4, 4, 2, 8]);
        assert_eq!(&d.test.y[..10], &[7, 6, 3, 7, 7, 3, 2, 8, 9, 3]);
        assert!(d.train.x.iter().chain(&d.test.x).all(|&p| (0.0..=1.0).contains(&p)));
        assert!(d.train.x.contains(&1.0), "the brightest pixel scales to 1");
        let mut counts = [0usize; CLASSES];
        for &y in &d.test.y {
            counts[y as usize] += 1;
        }
        assert_eq!(counts, [36, 36, 35, 37, 36, 37, 36, 36, 35, 36]);
    }
}
