//! The `[dataset]` section: which dataset, with its options.

use crate::check::FieldError;
use serde::{Deserialize, Serialize};

/// A dataset named in an experiment file (`[dataset] name = "..."`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum DatasetSpec {
    /// MNIST-1D (Greydanus 2020): 4000 train / 1000 test signals of length 40, 10 classes.
    Mnist1d(Mnist1dOptions),
    /// scikit-learn's digits: 1437 train / 360 test 8×8 images, 10 classes.
    Digits(DigitsOptions),
    /// Synthetic: do two far-apart marked symbols match? (see `data::longrange`).
    Longrange(LongrangeOptions),
    /// The user's own CSV or Parquet file (see `data::table`).
    Table(TableOptions),
    /// Multimodal: a degraded digits image and an MNIST-1D signal of the same class
    /// (see `data::digits_mnist1d`).
    #[serde(rename = "digits-mnist1d")]
    DigitsMnist1d(DigitsMnist1dOptions),
    /// Synthetic multimodal: label = the XOR of one noisy bit per modality (see `data::xor_modal`).
    #[serde(rename = "xor-modal")]
    XorModal(XorModalOptions),
    /// 8 Gaussians on the unit circle, std 0.01 (PacGAN, VEEGAN; see `data::mixture`).
    Ring(MixtureOptions),
    /// 25 Gaussians on the grid {-4, -2, 0, 2, 4}², std 0.05 (PacGAN, VEEGAN).
    Grid(MixtureOptions),
}

/// Options of the `mnist1d` dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Mnist1dOptions {
    /// Apply one fixed random permutation to the 40 positions (train and test alike).
    pub shuffle_seq: bool,
}

/// Options of the `digits` dataset (none: the shipped split is fixed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct DigitsOptions {}

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

/// Options of the `digits-mnist1d` dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DigitsMnist1dOptions {
    /// Seed of the pairing (which signal goes with which image) and of the image noise.
    pub seed: u64,
    /// Standard deviation of the Gaussian noise added to every pixel (pixels are in [0, 1]).
    pub image_noise: f64,
    /// Keep only the leading principal components of the images (fitted on the training
    /// images); 0 keeps all 64.
    pub image_components: usize,
}

impl Default for DigitsMnist1dOptions {
    fn default() -> Self {
        DigitsMnist1dOptions { seed: 0, image_noise: 0.5, image_components: 4 }
    }
}

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

/// How the `table` dataset splits a text column into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// One token per Unicode character.
    #[default]
    Chars,
    /// Whitespace-separated words.
    Words,
}

/// Options of the `table` dataset: `path` and `label` are required, and exactly one of
/// `features`, `sequence` or `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableOptions {
    /// A `.csv`, `.tsv` or `.parquet` file; relative to the current working directory.
    pub path: String,
    /// The label column (strings, integers, booleans or integral floats).
    pub label: String,
    /// Numeric feature columns: one time step with a channel per feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// One column of number lists (or, in a CSV, strings of numbers): steps of one channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    /// One string column, tokenized into ids (channel 0; 0 = padding, 1 = unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `text` only: `chars` (default) or `words`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<Tokenizer>,
    /// `sequence`/`text`: pad or cut every example to this many steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
    /// `text` only: keep at most this many (most frequent) training tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_vocab: Option<usize>,
    /// `features`/`sequence`: standardise with training-split statistics (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standardize: Option<bool>,
    /// A column whose values are `train` or `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// Without `split`: the fraction of rows in the test split (default 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_fraction: Option<f64>,
    /// Without `split`: the seed of the shuffle that picks the test rows.
    #[serde(default)]
    pub split_seed: u64,
    /// CSV/TSV: the field separator, one character (default `,`; a tab for `.tsv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// CSV/TSV: numbers are written with a decimal comma (`5,52`); needs a `separator`
    /// other than `,`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal_comma: Option<bool>,
}

impl Default for TableOptions {
    /// Placeholder `path` and `label` (both required in a file), as `burnlab list` shows them.
    fn default() -> Self {
        TableOptions {
            path: "data.csv".into(),
            label: "label".into(),
            features: None,
            sequence: None,
            text: None,
            tokenizer: None,
            max_len: None,
            max_vocab: None,
            standardize: None,
            split: None,
            test_fraction: None,
            split_seed: 0,
            separator: None,
            decimal_comma: None,
        }
    }
}

impl DatasetSpec {
    /// The dataset's name in experiment files.
    pub fn name(&self) -> &'static str {
        match self {
            DatasetSpec::Mnist1d(_) => "mnist1d",
            DatasetSpec::Digits(_) => "digits",
            DatasetSpec::Longrange(_) => "longrange",
            DatasetSpec::Table(_) => "table",
            DatasetSpec::DigitsMnist1d(_) => "digits-mnist1d",
            DatasetSpec::XorModal(_) => "xor-modal",
            DatasetSpec::Ring(_) => "ring",
            DatasetSpec::Grid(_) => "grid",
        }
    }

    /// Examples in the training split where the options alone say (every built-in dataset);
    /// `None` for `table`, whose split is known only once its file is read.
    pub fn train_examples(&self) -> Option<usize> {
        match self {
            DatasetSpec::Mnist1d(_) => Some(4000),
            DatasetSpec::Digits(_) | DatasetSpec::DigitsMnist1d(_) => Some(1437),
            DatasetSpec::Longrange(o) => Some(o.n_train),
            DatasetSpec::XorModal(o) => Some(o.n_train),
            DatasetSpec::Ring(o) | DatasetSpec::Grid(o) => Some(o.n_train),
            DatasetSpec::Table(_) => None,
        }
    }

    /// Checks option ranges; for `table`, reads the file and checks its columns.
    pub fn validate(&self) -> Result<(), FieldError> {
        match self {
            DatasetSpec::Mnist1d(_) | DatasetSpec::Digits(_) => Ok(()),
            DatasetSpec::Longrange(o) => super::longrange::validate(o),
            DatasetSpec::Table(o) => super::table::validate(o),
            DatasetSpec::DigitsMnist1d(o) => super::digits_mnist1d::validate(o),
            DatasetSpec::XorModal(o) => super::xor_modal::validate(o),
            DatasetSpec::Ring(o) | DatasetSpec::Grid(o) => super::mixture::validate(o),
        }
    }
}
