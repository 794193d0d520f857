//! The registries of model families and datasets, as one value a program can extend before
//! burnlab's CLI runs: `burnlab::cli::main_with(Registry::builtin().with_family::<MyNet>())`.
//!
//! The registries are process-wide (an experiment file, `plan.json` and a worker's trial all
//! name families and datasets by their registered names), so a program installs its registry
//! once, before anything reads it; [`crate::cli::main_with`] does.

use crate::data::{DatasetSource, Datasets};
use crate::models::{Families, FamilySpec};
use crate::open::{Entries, Upcast};
use serde::de::DeserializeOwned;

/// Every model family and dataset a program knows, in display order.
pub struct Registry {
    families: Entries<Families>,
    datasets: Entries<Datasets>,
}

impl Registry {
    /// burnlab's own families (`families!` in src/models/mod.rs) and datasets (`datasets!` in
    /// src/data/mod.rs).
    pub fn builtin() -> Self {
        Registry { families: crate::models::builtin_families(), datasets: crate::data::builtin_datasets() }
    }

    /// Adds the model family `T` (a [`crate::models::Family`] gets [`FamilySpec`] for free),
    /// named by its `name()`, with `T::default()` as its defaults.
    ///
    /// # Panics
    /// If a family of that name is already registered.
    pub fn with_family<T>(mut self) -> Self
    where
        T: FamilySpec + Upcast<dyn FamilySpec> + Default + DeserializeOwned,
    {
        self.families = self.families.with::<T>();
        self
    }

    /// Adds the dataset `T` (its options type), named by its `name()`, with `T::default()` as
    /// its default options.
    ///
    /// # Panics
    /// If a dataset of that name is already registered.
    pub fn with_dataset<T>(mut self) -> Self
    where
        T: DatasetSource + Upcast<dyn DatasetSource> + Default + DeserializeOwned,
    {
        self.datasets = self.datasets.with::<T>();
        self
    }

    /// Makes this the registry of the process.
    ///
    /// # Errors
    /// If the families or datasets were already read (or a registry installed): install first.
    pub fn install(self) -> Result<(), String> {
        crate::models::install_families(self.families)?;
        crate::data::install_datasets(self.datasets)
    }
}
