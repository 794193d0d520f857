//! The `[dataset]` section: any registered dataset, with its options ([`DatasetSpec`]).

use super::source::DatasetSource;
use crate::open::{Entries, Global, Kind, Open};

/// The datasets (a [`Kind`] of open spec): tag `name`, trait [`DatasetSource`].
pub struct Datasets;

static DATASETS: Global<Datasets> = Global::new();

impl Kind for Datasets {
    type Obj = dyn DatasetSource;
    const TAG: &'static str = "name";
    fn name(obj: &dyn DatasetSource) -> &'static str {
        obj.name()
    }
    fn summary(obj: &dyn DatasetSource) -> &'static str {
        obj.summary()
    }
    fn entries() -> &'static Entries<Datasets> {
        DATASETS.get(super::builtin_datasets)
    }
}

/// The process's dataset registry: the built-in datasets, or those installed before first
/// use (`Registry::install`, src/registry.rs).
pub fn datasets() -> &'static Entries<Datasets> {
    Datasets::entries()
}

/// Installs the dataset registry of this process (before anything reads it).
///
/// # Errors
/// If the registry was already read or installed.
pub fn install_datasets(entries: Entries<Datasets>) -> Result<(), String> {
    DATASETS.install(entries)
}

/// A dataset named in an experiment file (`[dataset] name = "..."` plus its options): any
/// registered dataset behind [`DatasetSource`] (`Deref`). Serialises as `name` first, then the
/// options in struct order.
pub type DatasetSpec = Open<Datasets>;
