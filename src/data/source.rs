//! What a dataset is: one type (its options, with defaults) carrying all its behaviour behind
//! [`DatasetSource`], registered by one line in `datasets!` (src/data/mod.rs) or, from a
//! user's crate, with `Registry::with_dataset` (src/registry.rs).

use super::mixture::Modes;
use super::{DataInfo, Dataset, Split};
use crate::check::FieldError;
use crate::error::Result;
use crate::open::{Erased, Upcast};
use std::path::Path;
use std::sync::Arc;

/// A dataset as the rest of burnlab sees it (object-safe): its options type, whose `Default`
/// is the defaults `burnlab list` shows, implements it.
pub trait DatasetSource: Erased {
    /// The dataset's name in experiment files (`[dataset] name = "..."`).
    fn name(&self) -> &'static str;
    /// One line saying what it is (`burnlab list`).
    fn summary(&self) -> &'static str;
    /// Checks option ranges (a `table` also reads its file and checks its columns).
    ///
    /// # Errors
    /// The offending option (its key inside `[dataset]`) and why.
    fn validate(&self) -> std::result::Result<(), FieldError> {
        Ok(())
    }
    /// The example shape and class count (every modality, for a multimodal dataset). Cheap for
    /// shipped and synthetic datasets; a `table` reads its file once per process.
    fn info(&self) -> DataInfo;
    /// Examples in the training split where the options alone say; `None` when only reading
    /// the data tells (a `table`), for the memory estimate.
    fn train_examples(&self) -> Option<usize>;
    /// Bytes each input value takes in memory, for the memory estimate: 4 (`f32`) unless the
    /// examples stay bytes until batched (`uint8` images, `data::compact`: 1).
    fn value_bytes(&self) -> usize {
        4
    }
    /// Loads both splits into memory (verifying shipped files' checksums; generating
    /// synthetic data; reading the user's file), each implementation setting
    /// [`Dataset::modes`] to what its [`DatasetSource::modes`] returns (a unit test checks this
    /// for every registered dataset).
    ///
    /// # Errors
    /// A missing or corrupt shipped file, an unreadable user file, invalid options.
    fn load(&self) -> Result<Dataset>;
    /// The mixture's modes (centres and std) for datasets drawn from a known mixture, which
    /// the GAN trainer's mode-coverage metrics need; `None` for other datasets.
    fn modes(&self) -> Option<Modes> {
        None
    }
    /// The `validation` of an experiment file whose `[dataset]` does not set it: the fraction
    /// of the training split carved out as the validation split (0: none). Default 0.1, and
    /// 0 for a dataset with its own validation split ([`DatasetSource::own_validation`]).
    fn default_validation(&self) -> f64 {
        if self.own_validation() { 0.0 } else { 0.1 }
    }
    /// Seeds the carve of the validation split (`src/data/validation.rs`), so that every trial
    /// sees the same split: a synthetic dataset's `seed` option, a `table`'s `split_seed`.
    /// Default 0.
    fn split_seed(&self) -> u64 {
        0
    }
    /// Whether the dataset decides its validation split itself (its `load` returns it with
    /// [`Dataset::with_valid`], or none): `validation` must then be 0 (`table` with a `split`
    /// column). Default `false`.
    fn own_validation(&self) -> bool {
        false
    }
    /// The class names in class-id order, where the dataset has them (a `table`'s label
    /// values); `None` (the default): classes are known by their ids. `burnlab predict` names
    /// its predicted classes with them.
    fn class_names(&self) -> Option<Vec<String>> {
        None
    }
    /// The examples of another file laid out like this dataset's own data (`path`: a table
    /// with the same input columns; labels not needed), prepared as [`DatasetSource::load`]
    /// prepares its own (statistics, length, vocabulary of its training rows): `burnlab
    /// predict`'s inputs. `None` (the default): the dataset reads no such files, and inputs are
    /// given in burnlab's layout (docs/models.md).
    ///
    /// # Errors
    /// (Inside the `Some`) an unreadable file, a missing column, a bad value; naming the file.
    fn prepare_inputs(&self, _path: &Path) -> Option<Result<Split>> {
        None
    }
}

impl<T: DatasetSource> Upcast<dyn DatasetSource> for T {
    fn upcast(self) -> Arc<dyn DatasetSource> {
        Arc::new(self)
    }
}
