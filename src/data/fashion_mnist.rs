//! `fashion-mnist`: Fashion-MNIST (Xiao, Rasul and Vollgraf 2017, arXiv:1708.07747; MIT
//! licence): 60,000 training and 10,000 test grey 28×28 images of Zalando articles, 10
//! classes.
//!
//! Read from the four IDX gz files Debian's package `dataset-fashion-mnist` installs under
//! `/usr/share/datasets/fashion-mnist/` (`datasets/fashion-mnist/install` installs it), or
//! from `path`; `sample = true` reads the committed 300 / 100 image sample in
//! `datasets/fashion-mnist-sample/` instead (tests). Every file's SHA-256 is checked against
//! `SHA256SUMS` (the same digests, as constants here) before it is used. Images are 28 steps
//! (rows) of 28 channels (pixels), scaled to [0, 1] (`data::pixels`).

use super::idx::{IdxArray, parse_idx};
use super::augment::Augment;
use super::pixels::{ImageSet, Normalize, Pixels, image_info, splits};
use super::{DataInfo, Dataset, datasets_dir};
use crate::check::FieldError;
use flate2::read::GzDecoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};

/// Options of the `fashion-mnist` dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FashionMnistOptions {
    /// The folder holding the four IDX gz files (default [`DEFAULT_DIR`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Read the committed sample (`datasets/fashion-mnist-sample/`: 300 training and 100
    /// test images, the first 30 / 10 of each class) instead.
    #[serde(skip_serializing_if = "crate::check::is_false")]
    pub sample: bool,
    /// Standardise with the training split's statistics: `true` or `"channel"` per channel,
    /// `"pixel"` per pixel position (`data::pixels::Normalize`).
    #[serde(skip_serializing_if = "Normalize::is_off")]
    pub normalize: Normalize,
    /// Augmentation of training batches, in order (`data::augment`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub augment: Vec<Augment>,
}

/// Where Debian's `dataset-fashion-mnist` puts the files.
pub const DEFAULT_DIR: &str = "/usr/share/datasets/fashion-mnist";
/// The script that installs them.
pub const INSTALL: &str = "datasets/fashion-mnist/install";
/// Image side in pixels.
pub const SIDE: usize = 28;
/// The class names, in class-id order (the dataset's README).
pub const CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// The files (train images, train labels, test images, test labels) and their SHA-256
/// (`datasets/fashion-mnist/SHA256SUMS`).
const FULL: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte.gz", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
    ("train-labels-idx1-ubyte.gz", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
    ("t10k-images-idx3-ubyte.gz", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
    ("t10k-labels-idx1-ubyte.gz", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
];

/// The sample's files (`datasets/fashion-mnist-sample/SHA256SUMS`).
const SAMPLE: [(&str, &str); 4] = [
    ("train-images-idx3-ubyte.gz", "7762bff16f7fb14fabc393786d8c2bfb74600cd7c2888cefba98459de4975ebb"),
    ("train-labels-idx1-ubyte.gz", "f7dcd9b95d1cfb9483600d04343dad53e24123b7442842c081141471cc1eed23"),
    ("t10k-images-idx3-ubyte.gz", "271d370612a0de7203f937da721f58c73fa6a6fb89acd9cef400184e40bfc7c7"),
    ("t10k-labels-idx1-ubyte.gz", "86e95c7ea32f81cd122eb8b7a04f538417bc4f76c6604008bf7b14f4f6ddfff2"),
];

impl FashionMnistOptions {
    /// The folder read and its files' digests.
    fn files(&self) -> (PathBuf, &'static [(&'static str, &'static str); 4]) {
        if self.sample {
            (datasets_dir().join("fashion-mnist-sample"), &SAMPLE)
        } else {
            (PathBuf::from(self.path.as_deref().unwrap_or(DEFAULT_DIR)), &FULL)
        }
    }

    /// The key a problem with the files is blamed on.
    fn key(&self) -> &'static str {
        if self.sample { "sample" } else { "path" }
    }

    /// Reads and verifies the four files: `[train images, train labels, test images, test
    /// labels]` as IDX arrays.
    fn read(&self) -> Result<[IdxArray; 4], FieldError> {
        if self.sample && self.path.is_some() {
            return Err(FieldError::new("sample", "cannot be combined with `path` (the sample is the committed one)"));
        }
        let (dir, files) = self.files();
        let read = |i: usize| read_checked(&dir.join(files[i].0), files[i].1, self.sample);
        let arrays = [read(0), read(1), read(2), read(3)];
        let mut out = Vec::with_capacity(4);
        for a in arrays {
            out.push(a.map_err(|e| FieldError::new(self.key(), e))?);
        }
        out.try_into().map_err(|_| FieldError::new(self.key(), "four files expected"))
    }

    /// Both splits, checked.
    fn splits(&self) -> Result<(ImageSet, ImageSet), FieldError> {
        let [xa, ya, xb, yb] = self.read()?;
        let (dir, files) = self.files();
        let split = |x: IdxArray, y: IdxArray, i: usize| {
            let at = |e: String| FieldError::new(self.key(), e);
            let name = |j: usize| dir.join(files[j].0).display().to_string();
            if x.dims[1..] != [SIDE, SIDE] || y.dims.len() != 1 {
                return Err(at(format!("{}: dimensions {:?}; Fashion-MNIST images are [n, 28, 28]", name(i), x.dims)));
            }
            let labels = y.data.iter().map(|&l| i64::from(l)).collect();
            let set = ImageSet::new([1, SIDE, SIDE], Pixels::U8(x.data), labels)
                .map_err(|e| at(format!("{} and {}: {e}", name(i), name(i + 1))))?;
            match set.labels.iter().find(|&&l| l >= CLASSES.len() as i64) {
                Some(l) => Err(at(format!("{}: label {l}; Fashion-MNIST has 10 classes", name(i + 1)))),
                None => Ok(set),
            }
        };
        Ok((split(xa, ya, 0)?, split(xb, yb, 2)?))
    }
}

/// The outcome of `validate` for every option set checked in this process.
static CHECKED: LazyLock<Mutex<HashMap<String, Result<(), FieldError>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Files already verified in this process (path -> digest), so that `validate` and `load` read
/// and hash each file once.
static VERIFIED: LazyLock<Mutex<HashMap<PathBuf, String>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Reads one gz file, checks its SHA-256, and parses it.
fn read_checked(path: &Path, sha256: &str, sample: bool) -> Result<IdxArray, String> {
    let at = path.display();
    let bytes = std::fs::read(path).map_err(|e| {
        if sample {
            format!("{at}: cannot read the committed sample: {e} (run from the burnlab checkout or set BURNLAB_DATASETS)")
        } else {
            format!(
                "{at}: cannot read: {e}. Install Fashion-MNIST with `{INSTALL}` (Debian's dataset-fashion-mnist), \
                 or set `path` to a folder holding the four IDX gz files"
            )
        }
    })?;
    let known = VERIFIED.lock().unwrap_or_else(|e| e.into_inner()).get(path) == Some(&sha256.to_string());
    if !known {
        let hex: String = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        if hex != sha256 {
            let fix = if sample { "regenerate it with datasets/fashion-mnist-sample/generate.py" } else { INSTALL };
            return Err(format!("{at}: checksum mismatch (SHA-256 {hex}, expected {sha256}); see {fix}"));
        }
        VERIFIED.lock().unwrap_or_else(|e| e.into_inner()).insert(path.to_path_buf(), sha256.to_string());
    }
    let mut raw = Vec::new();
    GzDecoder::new(&bytes[..]).read_to_end(&mut raw).map_err(|e| format!("{at}: not a readable gzip file: {e}"))?;
    parse_idx(&raw).map_err(|e| format!("{at}: {e}"))
}

impl super::DatasetSource for FashionMnistOptions {
    fn name(&self) -> &'static str {
        "fashion-mnist"
    }
    fn summary(&self) -> &'static str {
        "Fashion-MNIST (Xiao et al. 2017): 60000/10000 28x28 grey images (28 rows of 28 pixels), 10 classes"
    }
    /// Reads the files, checks their digests and contents (once per process and options).
    fn validate(&self) -> Result<(), FieldError> {
        let key = serde_json::to_string(self).unwrap_or_default();
        if let Some(done) = CHECKED.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return done.clone();
        }
        let done = super::augment::validate(&self.augment).and_then(|_| self.splits().map(|_| ()));
        CHECKED.lock().unwrap_or_else(|e| e.into_inner()).insert(key, done.clone());
        done
    }
    fn info(&self) -> DataInfo {
        image_info([1, SIDE, SIDE], CLASSES.len())
    }
    fn train_examples(&self) -> Option<usize> {
        Some(if self.sample { 300 } else { 60_000 })
    }
    /// Pixels stay bytes until a batch is built (`data::compact`).
    fn value_bytes(&self) -> usize {
        1
    }
    fn class_names(&self) -> Option<Vec<String>> {
        Some(CLASSES.iter().map(|c| c.to_string()).collect())
    }
    fn load(&self) -> crate::error::Result<Dataset> {
        super::augment::validate(&self.augment).map_err(super::option_error)?;
        let (train, test) = self.splits().map_err(super::option_error)?;
        let (train, test) = splits(&train, &test, self.normalize, &self.augment);
        Ok(Dataset::new(self.info(), train, test))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::DatasetSource;

    #[test]
    fn the_digests_are_those_of_the_sha256sums_files() {
        for (dir, files) in [("fashion-mnist", &FULL), ("fashion-mnist-sample", &SAMPLE)] {
            let sums = std::fs::read_to_string(datasets_dir().join(dir).join("SHA256SUMS")).unwrap();
            for (name, hex) in files {
                assert!(sums.lines().any(|l| l == format!("{hex}  {name}")), "{dir}/SHA256SUMS: {name}");
            }
        }
    }

    #[test]
    fn the_sample_has_30_and_10_images_of_each_class() {
        let d = FashionMnistOptions { sample: true, ..Default::default() }.load().unwrap();
        assert_eq!((d.train.len(), d.test.len()), (300, 100));
        let x = d.train.features();
        assert_eq!((x.len(), d.train.pixels.as_ref().map(|p| p.bytes().len())), (300 * 28 * 28, Some(300 * 28 * 28)));
        for (split, per) in [(&d.train, 30), (&d.test, 10)] {
            let mut counts = [0; 10];
            split.y.iter().for_each(|&y| counts[y as usize] += 1);
            assert_eq!(counts, [per; 10]);
        }
        assert!(x.iter().all(|p| (0.0..=1.0).contains(p)) && x.contains(&1.0));
        // The first training image is the dataset's first, an ankle boot (read with Python's gzip).
        assert_eq!(&d.train.y[..10], &[9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
        assert_eq!(x[14 * 28 + 12], 237.0 / 255.0);
        let sum: f32 = x[..784].iter().map(|p| p * 255.0).sum();
        assert!((sum - 76247.0).abs() < 0.5, "{sum}");
    }
}
