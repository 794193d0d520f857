//! Datasets: loading shipped data into memory and batching it onto a device.

pub mod batches;
pub mod digits;
pub mod digits_mnist1d;
pub mod longrange;
pub mod mixture;
pub mod mnist1d;
pub mod normal;
pub mod spec;
pub mod table;
pub mod xor_modal;

pub use spec::{
    DatasetSpec, DigitsMnist1dOptions, DigitsOptions, LongrangeOptions, MixtureOptions, Mnist1dOptions, TableOptions,
    Tokenizer, XorModalOptions,
};

use crate::error::{Error, Result, UserError};
use burn::tensor::{Device, Int, Tensor, TensorData};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The shape of a dataset's examples, which models are built for.
///
/// The top-level fields describe the first (usually only) modality, so single-modality
/// families read them unchanged; a multimodal dataset also lists all its modalities.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataInfo {
    /// Time steps (sequence length; image rows).
    pub seq_len: usize,
    /// Channels per time step (1 for a signal; image columns).
    pub channels: usize,
    /// Number of classes.
    pub num_classes: usize,
    /// `[height, width]` when examples are images (rows are time steps, columns channels).
    pub image: Option<[usize; 2]>,
    /// Vocabulary size when inputs are token ids (stored as floats in channel 0; id 0 is padding).
    pub vocab: Option<usize>,
    /// Multimodal datasets: every modality in order (the first is the one the fields above
    /// describe); empty for single-modality datasets.
    pub modalities: Vec<Modality>,
}

/// One input modality of a multimodal dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modality {
    /// Its name in experiment files (`image`, `signal`).
    pub name: String,
    /// Its example shape (with the dataset's class count and no `modalities`), which an
    /// encoder for it is built from.
    pub info: DataInfo,
}

impl DataInfo {
    /// Values per example once flattened.
    pub fn features(&self) -> usize {
        self.seq_len * self.channels
    }

    /// Whether examples have more than one modality.
    pub fn is_multimodal(&self) -> bool {
        self.modalities.len() > 1
    }

    /// The modality names, comma-separated (for messages).
    pub fn modality_names(&self) -> String {
        self.modalities.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The `[seq_len, channels]` of every modality (just the one for single-modality datasets).
    pub fn shapes(&self) -> Vec<[usize; 2]> {
        if self.modalities.is_empty() {
            vec![[self.seq_len, self.channels]]
        } else {
            self.modalities.iter().map(|m| [m.info.seq_len, m.info.channels]).collect()
        }
    }
}

/// One split held in host memory: `n` examples of `seq_len * channels` floats.
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// Row-major `[n, seq_len, channels]` (the first modality).
    pub x: Vec<f32>,
    /// Class labels in `0..num_classes`.
    pub y: Vec<i64>,
    /// Multimodal datasets: the further modalities' examples (row-major, the same rows as
    /// `x` and `y`), in [`DataInfo::modalities`] order after the first.
    pub more: Vec<Vec<f32>>,
}

impl Split {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// Whether the split is empty.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }

    /// A single-modality split.
    pub fn new(x: Vec<f32>, y: Vec<i64>) -> Self {
        Split { x, y, more: Vec::new() }
    }
}

/// A dataset in host memory.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Shapes and class count.
    pub info: DataInfo,
    /// The training split.
    pub train: Split,
    /// The test split.
    pub test: Split,
}

impl DatasetSpec {
    /// Loads the dataset (verifying shipped files' checksums; generating synthetic data;
    /// reading the user's file).
    pub fn load(&self) -> Result<Dataset> {
        match self {
            DatasetSpec::Mnist1d(opts) => mnist1d::load(opts),
            DatasetSpec::Digits(opts) => digits::load(opts),
            DatasetSpec::Longrange(opts) => longrange::load(opts),
            DatasetSpec::Table(opts) => table::load(opts),
            DatasetSpec::DigitsMnist1d(opts) => digits_mnist1d::load(opts),
            DatasetSpec::XorModal(opts) => xor_modal::load(opts),
            DatasetSpec::Ring(opts) => mixture::load(mixture::Mixture::Ring, opts),
            DatasetSpec::Grid(opts) => mixture::load(mixture::Mixture::Grid, opts),
        }
    }

    /// The example shape and class count. Cheap for shipped and synthetic datasets; `table`
    /// reads its file once per process (and [`DatasetSpec::validate`] reports its errors).
    pub fn info(&self) -> DataInfo {
        match self {
            DatasetSpec::Mnist1d(_) => mnist1d::info(),
            DatasetSpec::Digits(_) => digits::info(),
            DatasetSpec::Longrange(opts) => longrange::info(opts),
            DatasetSpec::Table(opts) => table::info(opts),
            DatasetSpec::DigitsMnist1d(_) => digits_mnist1d::info(),
            DatasetSpec::XorModal(opts) => xor_modal::info(opts),
            DatasetSpec::Ring(_) => mixture::Mixture::Ring.info(),
            DatasetSpec::Grid(_) => mixture::Mixture::Grid.info(),
        }
    }

    /// The mixture's modes (centres and std) for `ring` and `grid`, else `None`.
    pub fn modes(&self) -> Option<mixture::Modes> {
        match self {
            DatasetSpec::Ring(_) => Some(mixture::Mixture::Ring.modes()),
            DatasetSpec::Grid(_) => Some(mixture::Mixture::Grid.modes()),
            _ => None,
        }
    }
}

/// A split uploaded to a device, ready for batching.
#[derive(Debug, Clone)]
pub struct DeviceSplit {
    /// `[n, seq_len, channels]` (the first modality).
    pub x: Tensor<3>,
    /// Multimodal datasets: the further modalities, each `[n, seq_len, channels]`.
    pub more: Vec<Tensor<3>>,
    /// `[n]` labels.
    pub y: Tensor<1, Int>,
    /// Number of examples.
    pub len: usize,
}

impl DeviceSplit {
    /// Uploads a host split.
    pub fn new(split: &Split, info: &DataInfo, device: &Device) -> Self {
        let n = split.len();
        let shapes = info.shapes();
        let upload = |values: &Vec<f32>, [t, c]: [usize; 2]| {
            Tensor::from_data(TensorData::new(values.clone(), [n, t, c]), device)
        };
        let x = upload(&split.x, shapes[0]);
        let more = split.more.iter().zip(&shapes[1..]).map(|(v, &s)| upload(v, s)).collect();
        let y = Tensor::from_data(TensorData::new(split.y.clone(), [n]), device);
        DeviceSplit { x, more, y, len: n }
    }

    /// The rows at `indices` (the first modality).
    pub fn select(&self, indices: &[usize], device: &Device) -> (Tensor<3>, Tensor<1, Int>) {
        let (mut inputs, y) = self.select_all(indices, device);
        (inputs.swap_remove(0), y)
    }

    /// Rows `start..end` of every modality, in dataset order.
    pub fn slice_all(&self, start: usize, end: usize) -> (Vec<Tensor<3>>, Tensor<1, Int>) {
        let inputs = self.modalities().map(|m| m.clone().slice(start..end)).collect();
        (inputs, self.y.clone().slice(start..end))
    }

    /// The same rows, `indices`, of every modality, in dataset order.
    pub fn select_all(&self, indices: &[usize], device: &Device) -> (Vec<Tensor<3>>, Tensor<1, Int>) {
        let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
        let idx = Tensor::<1, Int>::from_data(TensorData::new(idx, [indices.len()]), device);
        let inputs = self.modalities().map(|m| m.clone().select(0, idx.clone())).collect();
        (inputs, self.y.clone().select(0, idx))
    }

    fn modalities(&self) -> impl Iterator<Item = &Tensor<3>> {
        std::iter::once(&self.x).chain(&self.more)
    }
}

/// The user error for an invalid dataset option (a [`FieldError`](crate::check::FieldError) from a
/// loader's `validate`).
pub(crate) fn option_error(e: crate::check::FieldError) -> UserError {
    UserError::new(format!("`dataset.{}` {}", e.key, e.message))
}

/// The folder holding shipped datasets: `$BURNLAB_DATASETS`, else the checkout's `datasets/`,
/// else `./datasets`.
pub fn datasets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("BURNLAB_DATASETS") {
        return PathBuf::from(dir);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets");
    if built.is_dir() { built } else { PathBuf::from("datasets") }
}

/// Reads a shipped file and checks its SHA-256 against the expected digest.
pub fn read_verified(path: &Path, sha256_hex: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| {
        Error::from(
            UserError::new(format!("cannot read dataset file: {e}"))
                .at(path.display().to_string())
                .help("run from the burnlab checkout or set BURNLAB_DATASETS to its datasets/ folder"),
        )
    })?;
    let digest = Sha256::digest(&bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    if hex != sha256_hex {
        return Err(anyhow::anyhow!(
            "{}: checksum mismatch (SHA-256 {hex}, expected {sha256_hex}); regenerate it with datasets/generate-all",
            path.display()
        )
        .into());
    }
    Ok(bytes)
}

/// Decodes little-endian f32 values.
pub fn f32_le(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// A dataset in the registry: what `burnlab list` shows.
pub struct DatasetEntry {
    /// The name in experiment files.
    pub name: &'static str,
    /// One line saying what it is.
    pub summary: &'static str,
    /// The dataset with default options.
    pub default: fn() -> DatasetSpec,
}

/// Every dataset, in display order.
pub const DATASETS: &[DatasetEntry] = &[
    DatasetEntry {
        name: "mnist1d",
        summary: "MNIST-1D (Greydanus 2020): 4000/1000 signals of length 40, 10 classes",
        default: || DatasetSpec::Mnist1d(Mnist1dOptions::default()),
    },
    DatasetEntry {
        name: "digits",
        summary: "scikit-learn digits: 1437/360 8x8 images (8 rows of 8 pixels), 10 classes",
        default: || DatasetSpec::Digits(DigitsOptions::default()),
    },
    DatasetEntry {
        name: "longrange",
        summary: "synthetic: do two far-apart marked symbols match? one-hot steps (vocab + 1 channels), 2 classes",
        default: || DatasetSpec::Longrange(LongrangeOptions::default()),
    },
    DatasetEntry {
        name: "digits-mnist1d",
        summary: "multimodal (AV-MNIST style): a degraded 8x8 digits `image` + an MNIST-1D `signal` of the same class; 1437/360",
        default: || DatasetSpec::DigitsMnist1d(DigitsMnist1dOptions::default()),
    },
    DatasetEntry {
        name: "xor-modal",
        summary: "synthetic multimodal: modalities `a` and `b` each carry a noisy bit; label = a XOR b (each alone at chance)",
        default: || DatasetSpec::XorModal(XorModalOptions::default()),
    },
    DatasetEntry {
        name: "ring",
        summary: "synthetic (PacGAN): 8 Gaussians on the unit circle, std 0.01; 2D points [n, 1, 2], label = mode",
        default: || DatasetSpec::Ring(MixtureOptions::default()),
    },
    DatasetEntry {
        name: "grid",
        summary: "synthetic (PacGAN): 25 Gaussians on {-4,-2,0,2,4}^2, std 0.05; 2D points [n, 1, 2], label = mode",
        default: || DatasetSpec::Grid(MixtureOptions::default()),
    },
    DatasetEntry {
        name: "table",
        summary: "your CSV/Parquet file: path, label, and features | sequence | text (+ tokenizer, max_len); split or test_fraction",
        default: || DatasetSpec::Table(TableOptions::default()),
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_take_the_same_rows_of_every_modality() {
        let info = xor_modal::info(&XorModalOptions { length: 2, ..Default::default() });
        // Row i holds i in modality a and 10 * i in modality b.
        let rows = |scale: f32| (0..4).flat_map(|i| [scale * i as f32; 2]).collect::<Vec<_>>();
        let split = Split { x: rows(1.0), y: vec![0, 1, 2, 3], more: vec![rows(10.0)] };
        let device = Device::flex();
        let d = DeviceSplit::new(&split, &info, &device);
        let first =
            |t: &Tensor<3>| t.clone().narrow(2, 0, 1).narrow(1, 0, 1).into_data().try_to_vec_as::<f32>().unwrap();
        let (x, y) = d.select_all(&[2, 0, 3], &device);
        assert_eq!((first(&x[0]), first(&x[1])), (vec![2.0, 0.0, 3.0], vec![20.0, 0.0, 30.0]));
        assert_eq!(y.into_data().try_to_vec_as::<i64>().unwrap(), vec![2, 0, 3]);
        let (x, _) = d.slice_all(1, 3);
        assert_eq!((first(&x[0]), first(&x[1])), (vec![1.0, 2.0], vec![10.0, 20.0]));
        assert_eq!(first(&d.select(&[3], &device).0), vec![3.0], "select reads the first modality");
    }
}
