//! The registries of model families and datasets, as one value a program can extend before
//! burnlab's CLI runs: `burnlab::cli::main_with(Registry::builtin().with_family::<MyNet>())`.
//!
//! The registries are process-wide (an experiment file, `plan.json` and a worker's trial all
//! name families and datasets by their registered names), so a program installs its registry
//! once, before anything reads it; `cli::main_with` does.

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

#[cfg(test)]
mod tests {
    use crate::open::{Entries, Kind};

    /// The rows of the markdown table under `header` in `doc`, by their first cell's name.
    fn table<'a>(doc: &'a str, header: &str) -> Vec<(&'a str, &'a str)> {
        let rows = doc.lines().skip_while(|l| *l != header).skip(2);
        rows.take_while(|l| l.starts_with("| `")).map(|l| (l.split('`').nth(1).unwrap(), l)).collect()
    }

    /// Checks that the docs table under `header` lists exactly the registered names, in
    /// registry order, and names every default parameter of each (in its row, in the row of a
    /// type it says it is "as", or in the section whose heading names it).
    fn check_docs_table<K: Kind>(entries: &Entries<K>, header: &str) {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/experiment-file.md")).unwrap();
        let rows = table(&doc, header);
        let names: Vec<&str> = rows.iter().map(|r| r.0).collect();
        assert_eq!(
            names,
            entries.names(),
            "docs/experiment-file.md, table `{header}`: rows out of step with the registry"
        );
        for (name, row) in &rows {
            let mut text = row.to_string();
            for (other, other_row) in &rows {
                if row.contains(&format!("as `{other}`")) {
                    text.push_str(other_row);
                }
            }
            let heading = format!("{} = \"{name}\")", K::TAG);
            if let Some(at) = doc.lines().position(|l| l.starts_with('#') && l.contains(&heading)) {
                let section = doc.lines().skip(at + 1).take_while(|l| !l.starts_with("## "));
                text.extend(section.map(|l| format!("{l}\n")));
            }
            let mut defaults = toml::Table::try_from(entries.default_of(name).unwrap()).unwrap();
            defaults.remove(K::TAG);
            for key in defaults.keys() {
                assert!(text.contains(&format!("`{key}")), "docs/experiment-file.md: `{name}` does not name `{key}`");
            }
        }
    }

    #[test]
    fn the_docs_tables_list_every_registered_family_and_dataset() {
        check_docs_table(&crate::models::builtin_families(), "| family | parameters (defaults) |");
        let header = "| dataset | what | options (defaults) | `validation` default |";
        check_docs_table(&crate::data::builtin_datasets(), header);
        // The last column starts with each dataset's default `validation` (with default options).
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/experiment-file.md")).unwrap();
        for (name, row) in table(&doc, header) {
            let last = row.trim_end_matches(" |").rsplit("| ").next().unwrap();
            let default = crate::data::datasets().default_of(name).unwrap().default_validation();
            assert_eq!(last.split([' ', ';']).next(), Some(default.to_string().as_str()), "`{name}`: {last}");
        }
    }
}
