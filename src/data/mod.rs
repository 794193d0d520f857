//! Datasets: loading shipped data into memory and batching it onto a device.

pub mod augment;
pub mod batches;
pub mod compact;
pub mod folder;
pub mod idx;
pub mod normal;
pub mod normalize;
pub mod npy;
pub mod pixels;
pub mod source;
pub mod spec;
pub mod validation;

/// Declares each dataset's module and registers its types, in display order: adding a dataset
/// is its file plus one line here.
macro_rules! datasets {
    ($($module:ident: $($ty:ident),+;)*) => {
        $(pub mod $module;)*

        /// The built-in datasets, in display order (`burnlab list`).
        pub fn builtin_datasets() -> Entries<Datasets> {
            Entries::default()$($(.with::<$module::$ty>())+)*
        }
    };
}

datasets! {
    mnist1d: Mnist1dOptions;
    digits: DigitsOptions;
    longrange: LongrangeOptions;
    digits_mnist1d: DigitsMnist1dOptions;
    xor_modal: XorModalOptions;
    mixture: Ring, Grid;
    table: TableOptions;
    fashion_mnist: FashionMnistOptions;
    images: ImagesOptions;
}

pub use digits::DigitsOptions;
pub use digits_mnist1d::DigitsMnist1dOptions;
pub use fashion_mnist::FashionMnistOptions;
pub use images::{ImageFormat, ImagesOptions};
pub use longrange::LongrangeOptions;
pub use mixture::{MixtureOptions, Modes};
pub use mnist1d::Mnist1dOptions;
pub use source::DatasetSource;
pub use spec::{DatasetSpec, Datasets, datasets, install_datasets};
pub use table::{TableOptions, Tokenizer};
pub use xor_modal::XorModalOptions;

use crate::error::{Error, Result, UserError};
use crate::open::Entries;
use burn::tensor::{Device, Int, Tensor, TensorData};
use compact::BytePixels;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

/// The shape of a dataset's examples, which models are built for.
///
/// The top-level fields describe the first (usually only) modality, so single-modality
/// families read them unchanged; a multimodal dataset also lists all its modalities.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DataInfo {
    /// Time steps (sequence length; image rows).
    pub seq_len: usize,
    /// Channels per time step (1 for a signal; image columns).
    pub channels: usize,
    /// Number of classes (1 for regression: the model's output width).
    pub num_classes: usize,
    /// Classification (the default) or regression.
    pub task: Task,
    /// `[height, width]` when examples are images (rows are time steps, columns channels).
    pub image: Option<[usize; 2]>,
    /// Channels per pixel of an image dataset read by `data::pixels` (1 grey, 3 RGB; 0 where
    /// not set, meaning 1): examples are then `[channels · height, width]`, channel-major, and
    /// `data::pixels::image_batch` gives 2-D models `[batch, channels, height, width]`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub image_channels: usize,
    /// Vocabulary size when inputs are token ids (stored as floats in channel 0; id 0 is padding).
    pub vocab: Option<usize>,
    /// Multimodal datasets: every modality in order (the first is the one the fields above
    /// describe); empty for single-modality datasets.
    pub modalities: Vec<Modality>,
}

/// One input modality of a multimodal dataset.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Modality {
    /// Its name in experiment files (`image`, `signal`).
    pub name: String,
    /// Its example shape (with the dataset's class count and no `modalities`), which an
    /// encoder for it is built from.
    pub info: DataInfo,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
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

/// One split held in host memory: `n` examples of `seq_len * channels` floats (or bytes).
#[derive(Debug, Clone, Default)]
pub struct Split {
    /// Row-major `[n, seq_len, channels]` (the first modality); empty when the examples are
    /// kept as bytes ([`Split::pixels`]).
    pub x: Vec<f32>,
    /// Image datasets of `uint8` pixels: the first modality's examples as bytes, with the map
    /// to their floats (`data::compact`), in place of `x`; `None` for float examples.
    pub pixels: Option<BytePixels>,
    /// Class labels in `0..num_classes`.
    pub y: Vec<i64>,
    /// Multimodal datasets: the further modalities' examples (row-major, the same rows as
    /// `x` and `y`), in [`DataInfo::modalities`] order after the first.
    pub more: Vec<Vec<f32>>,
    /// Regression datasets ([`Task::Regression`]): the target of each row; empty for
    /// classification (where `y` holds the labels).
    pub target: Vec<f32>,
    /// Image datasets: the augmentation of training batches drawn from this split
    /// (`[dataset] augment`, `data::augment`); empty (the default) for none.
    pub augment: Vec<augment::Augment>,
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
        Split { x, pixels: None, y, more: Vec::new(), target: Vec::new(), augment: Vec::new() }
    }

    /// The first modality's examples as floats, `[n, seq_len, channels]` row-major: `x`, or
    /// the bytes converted (a copy of the whole split; batches convert only their rows).
    pub fn features(&self) -> Cow<'_, [f32]> {
        match &self.pixels {
            Some(p) => Cow::Owned(p.to_f32()),
            None => Cow::Borrowed(&self.x),
        }
    }

    /// The rows at `indices`, in that order, of every modality (and of `target`).
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn rows(&self, indices: &[usize]) -> Split {
        let n = self.len();
        let take = |values: &Vec<f32>| {
            if n == 0 {
                return Vec::new();
            }
            let width = values.len() / n;
            indices.iter().flat_map(|&i| values[i * width..(i + 1) * width].iter().copied()).collect()
        };
        Split {
            x: take(&self.x),
            pixels: self.pixels.as_ref().map(|p| p.rows(indices)),
            y: indices.iter().map(|&i| self.y[i]).collect(),
            more: self.more.iter().map(take).collect(),
            target: if self.target.is_empty() { Vec::new() } else { indices.iter().map(|&i| self.target[i]).collect() },
            augment: self.augment.clone(),
        }
    }
}

/// What a dataset's examples are labelled with (`task = "classification" | "regression"` in
/// the `table` dataset's options).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    /// A class in `0..num_classes` per example ([`Split::y`]).
    #[default]
    Classification,
    /// A real number per example ([`Split::target`]); models output one value
    /// (`num_classes` is 1).
    Regression,
}

/// A dataset in host memory.
///
/// Build one with [`Dataset::new`] (and [`Dataset::with_valid`], [`Dataset::with_modes`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Dataset {
    /// Shapes and class count.
    pub info: DataInfo,
    /// The training split.
    pub train: Split,
    /// The validation split: the dataset's own, or carved out of the training split
    /// (`dataset.validation`); `None` when there is none (selection is then on test).
    pub valid: Option<Split>,
    /// The test split.
    pub test: Split,
    /// The mixture's modes when the data is drawn from a known mixture (`ring`, `grid`), for
    /// the GAN's mode-coverage metrics; `None` otherwise.
    pub modes: Option<Modes>,
}

impl Dataset {
    /// A dataset of a training and a test split (no validation split, no modes).
    pub fn new(info: DataInfo, train: Split, test: Split) -> Self {
        Dataset { info, train, valid: None, test, modes: None }
    }

    /// With its own validation split.
    pub fn with_valid(self, valid: Split) -> Self {
        Dataset { valid: Some(valid), ..self }
    }

    /// With the modes of the mixture it is drawn from.
    pub fn with_modes(self, modes: Option<Modes>) -> Self {
        Dataset { modes, ..self }
    }
}

/// A split on a device, ready for batching.
#[derive(Debug, Clone)]
pub struct DeviceSplit {
    /// The first modality's examples (`[n, seq_len, channels]`): floats on the device, or
    /// bytes kept on the host until a batch is built ([`Inputs`]).
    pub x: Inputs,
    /// Multimodal datasets: the further modalities, each `[n, seq_len, channels]`.
    pub more: Vec<Tensor<3>>,
    /// `[n]` labels (zeros for regression).
    pub y: Tensor<1, Int>,
    /// Regression datasets ([`Task::Regression`]): the `[n]` targets; `None` for classification.
    pub target: Option<Tensor<1>>,
    /// The dataset's class count ([`DataInfo::num_classes`]).
    pub num_classes: usize,
    /// Number of examples.
    pub len: usize,
    /// The augmentation of training batches drawn from it ([`batches::Batches`]); `None` for
    /// none.
    pub augment: Option<augment::Augmentation>,
}

/// The first modality of a [`DeviceSplit`].
#[derive(Debug, Clone)]
pub enum Inputs {
    /// `[n, seq_len, channels]` floats on the device.
    Floats(Tensor<3>),
    /// `uint8` images as bytes (`data::compact`): each batch's rows are converted on the host
    /// and uploaded as `[batch, seq_len, channels]` floats to `device`.
    Bytes {
        /// The examples.
        pixels: BytePixels,
        /// `[seq_len, channels]` of an example.
        shape: [usize; 2],
        /// Where batches go.
        device: Device,
    },
}

impl Inputs {
    /// Rows `start..end`.
    fn slice(&self, start: usize, end: usize) -> Tensor<3> {
        match self {
            Inputs::Floats(x) => x.clone().slice(start..end),
            Inputs::Bytes { pixels, shape: [t, c], device } => {
                Tensor::from_data(TensorData::new(pixels.floats(start..end), [end - start, *t, *c]), device)
            }
        }
    }

    /// The rows at `indices` (`idx` on the device).
    fn select(&self, indices: &[usize], idx: &Tensor<1, Int>) -> Tensor<3> {
        match self {
            Inputs::Floats(x) => x.clone().select(0, idx.clone()),
            Inputs::Bytes { pixels, shape: [t, c], device } => Tensor::from_data(
                TensorData::new(pixels.floats(indices.iter().copied()), [indices.len(), *t, *c]),
                device,
            ),
        }
    }
}

/// What a batch (or a slice of a split) is labelled with on a device.
#[derive(Debug, Clone)]
pub enum Labels {
    /// `[n]` class ids (classification).
    Classes(Tensor<1, Int>),
    /// `[n]` real targets (regression).
    Targets(Tensor<1>),
}

impl DeviceSplit {
    /// Uploads a host split; one kept as bytes ([`Split::pixels`]) stays bytes.
    pub fn new(split: &Split, info: &DataInfo, device: &Device) -> Self {
        let n = split.len();
        let shapes = info.shapes();
        let upload = |values: &Vec<f32>, [t, c]: [usize; 2]| {
            Tensor::from_data(TensorData::new(values.clone(), [n, t, c]), device)
        };
        let x = match &split.pixels {
            Some(pixels) => Inputs::Bytes { pixels: pixels.clone(), shape: shapes[0], device: device.clone() },
            None => Inputs::Floats(upload(&split.x, shapes[0])),
        };
        let more = split.more.iter().zip(&shapes[1..]).map(|(v, &s)| upload(v, s)).collect();
        let y = Tensor::from_data(TensorData::new(split.y.clone(), [n]), device);
        let target = (info.task == Task::Regression)
            .then(|| Tensor::from_data(TensorData::new(split.target.clone(), [n]), device));
        let augment = match (split.augment.is_empty(), info.image) {
            (false, Some([h, w])) => {
                Some(augment::Augmentation { steps: split.augment.clone(), shape: [info.image_channels.max(1), h, w] })
            }
            _ => None,
        };
        DeviceSplit { x, more, y, target, num_classes: info.num_classes, len: n, augment }
    }

    /// Rows `start..end` of every modality and their labels: the targets for regression,
    /// else the classes.
    pub fn slice_batch(&self, start: usize, end: usize) -> (Vec<Tensor<3>>, Labels) {
        let (inputs, y) = self.slice_all(start, end);
        match &self.target {
            Some(t) => (inputs, Labels::Targets(t.clone().slice(start..end))),
            None => (inputs, Labels::Classes(y)),
        }
    }

    /// The rows at `indices` of every modality and their labels (as [`DeviceSplit::slice_batch`]).
    pub fn select_batch(&self, indices: &[usize], device: &Device) -> (Vec<Tensor<3>>, Labels) {
        let (inputs, y) = self.select_all(indices, device);
        match &self.target {
            Some(t) => (inputs, Labels::Targets(t.clone().select(0, index_tensor(indices, device)))),
            None => (inputs, Labels::Classes(y)),
        }
    }

    /// The rows at `indices` (the first modality).
    pub fn select(&self, indices: &[usize], device: &Device) -> (Tensor<3>, Tensor<1, Int>) {
        let (mut inputs, y) = self.select_all(indices, device);
        (inputs.swap_remove(0), y)
    }

    /// Rows `start..end` of every modality, in dataset order.
    pub fn slice_all(&self, start: usize, end: usize) -> (Vec<Tensor<3>>, Tensor<1, Int>) {
        let first = self.x.slice(start, end);
        let inputs = std::iter::once(first).chain(self.more.iter().map(|m| m.clone().slice(start..end))).collect();
        (inputs, self.y.clone().slice(start..end))
    }

    /// The same rows, `indices`, of every modality, in dataset order.
    pub fn select_all(&self, indices: &[usize], device: &Device) -> (Vec<Tensor<3>>, Tensor<1, Int>) {
        let idx = index_tensor(indices, device);
        let first = self.x.select(indices, &idx);
        let inputs = std::iter::once(first).chain(self.more.iter().map(|m| m.clone().select(0, idx.clone()))).collect();
        (inputs, self.y.clone().select(0, idx))
    }

    /// Every example of the first modality, `[n, seq_len, channels]` floats (bytes converted:
    /// the whole split as floats on the device).
    pub fn all_x(&self) -> Tensor<3> {
        self.x.slice(0, self.len)
    }
}

/// `indices` as an `[n]` int tensor on `device`.
fn index_tensor(indices: &[usize], device: &Device) -> Tensor<1, Int> {
    let idx: Vec<i64> = indices.iter().map(|&i| i as i64).collect();
    Tensor::<1, Int>::from_data(TensorData::new(idx, [indices.len()]), device)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dataset_written_is_registered() {
        let registered: Vec<&str> = datasets().iter().map(|e| e.type_name).collect();
        let written = crate::open::implementations("src/data", &["DatasetSource"]);
        assert!(written.len() >= 8, "found only {written:?}");
        for ty in &written {
            assert!(
                registered.iter().any(|r| r.rsplit("::").next() == Some(ty.as_str())),
                "`{ty}` implements `DatasetSource` but is not in `datasets!` (src/data/mod.rs)"
            );
        }
        assert_eq!(registered.len(), written.len(), "registered {registered:?}, written {written:?}");
    }

    #[test]
    fn loaded_datasets_carry_the_modes_their_source_declares() {
        let mut loaded = 0;
        for entry in datasets().iter() {
            let spec = entry.default_value();
            // `table`'s default names a placeholder file; every other default loads.
            let Ok(data) = spec.load() else { continue };
            assert_eq!(data.modes, spec.modes(), "{}", entry.name);
            loaded += 1;
        }
        assert!(loaded >= 7, "only {loaded} datasets loaded");
    }

    #[test]
    fn dataset_specs_serialise_like_the_internally_tagged_enum() {
        let ring = DatasetSpec::new(mixture::Ring(MixtureOptions { n_train: 5, ..Default::default() }));
        let json = serde_json::to_string(&ring).unwrap();
        assert_eq!(json, r#"{"name":"ring","n_train":5,"n_test":2500,"seed":0}"#);
        assert_eq!(serde_json::from_str::<DatasetSpec>(&json).unwrap(), ring);
        let grid: DatasetSpec = toml::from_str("name = \"grid\"\nseed = 3\n").unwrap();
        assert_eq!(grid.name(), "grid");
        assert!(grid.downcast_ref::<mixture::Grid>().is_some_and(|g| g.0.seed == 3));
        assert_ne!(grid, DatasetSpec::new(mixture::Ring(MixtureOptions { seed: 3, ..Default::default() })));
    }

    #[test]
    fn batches_take_the_same_rows_of_every_modality() {
        let info = xor_modal::info(&XorModalOptions { length: 2, ..Default::default() });
        // Row i holds i in modality a and 10 * i in modality b.
        let rows = |scale: f32| (0..4).flat_map(|i| [scale * i as f32; 2]).collect::<Vec<_>>();
        let split = Split { more: vec![rows(10.0)], ..Split::new(rows(1.0), vec![0, 1, 2, 3]) };
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
