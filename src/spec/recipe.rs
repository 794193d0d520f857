//! A model variant's own training settings and dataset options: `training = { ... }` and
//! `dataset = { ... }` inside a `[[models]]` table, each key replacing the file's `[training]`
//! or `[dataset]` value for that variant's trials only.
//!
//! Published tables often train each row with its own recipe (a CNN with SGD on raw pixels
//! beside a scikit-learn MLP with Adam on standardised pixels); this keeps such a table in one
//! experiment file. A variant without them uses the file's sections unchanged, and its trial
//! ids are those it had before the keys existed.

use super::pruner::{PrunerKind, PrunerSpec};
use super::raw::RawDataset;
use super::{KeyPath, Locator, deserialize_at};
use crate::data::DatasetSpec;
use crate::error::UserError;
use crate::train::TrainingSpec;

/// What one variant trains with: the file's `[training]` and `[dataset]` with the variant's
/// own keys written over them.
#[derive(Debug, Clone, PartialEq)]
pub struct Recipe {
    /// Training settings.
    pub training: TrainingSpec,
    /// The dataset and its options.
    pub dataset: DatasetSpec,
}

/// The `training` and `dataset` tables taken out of one `[[models]]` table (absent: `None`).
#[derive(Debug, Default)]
pub struct OwnKeys {
    /// `training = { ... }`.
    pub training: Option<toml::Table>,
    /// `dataset = { ... }`.
    pub dataset: Option<toml::Table>,
}

impl OwnKeys {
    /// Removes `training` and `dataset` from a `[[models]]` table at `path` (they are not the
    /// family's parameters).
    ///
    /// # Errors
    /// Either given as something other than a table.
    pub fn take(table: &mut toml::Table, path: &KeyPath, loc: &Locator<'_>) -> Result<OwnKeys, UserError> {
        let mut take = |key: &str| match table.remove(key) {
            None => Ok(None),
            Some(toml::Value::Table(t)) => Ok(Some(t)),
            Some(other) => Err(UserError::new(format!(
                "`{}`: expected a table of [{key}] keys, e.g. {key} = {{ ... }}, found {}",
                path.key(key),
                other.type_str()
            ))
            .at(loc.locate(&path.key(key), false))),
        };
        Ok(OwnKeys { training: take("training")?, dataset: take("dataset")? })
    }

    /// Whether the variant has keys of its own.
    pub fn is_empty(&self) -> bool {
        self.training.is_none() && self.dataset.is_none()
    }

    /// The variant's recipe: `training` over the file's typed `[training]`, `dataset` over the
    /// file's raw `[dataset]` table (a `name` of its own starts from that dataset's defaults
    /// instead). Errors are located at the variant's keys (`models[i].training.lr`).
    ///
    /// # Errors
    /// An unknown key or a bad value, as in the file's own sections.
    pub fn recipe(
        self,
        training: &TrainingSpec,
        dataset: (&toml::Table, &DatasetSpec),
        path: &KeyPath,
        loc: &Locator<'_>,
    ) -> Result<Recipe, UserError> {
        let training = match self.training {
            None => training.clone(),
            Some(own) => {
                let mut table = toml::Table::try_from(training).expect("training settings serialise to TOML");
                table.extend(own);
                let at = path.key("training");
                let typed: TrainingSpec = deserialize_at(toml::Value::Table(table), &at, loc)?;
                typed.validate().map_err(|e| loc.field_error(&at, e))?;
                typed
            }
        };
        let dataset = match self.dataset {
            None => dataset.1.clone(),
            Some(own) => {
                let mut table = if own.contains_key("name") { toml::Table::new() } else { dataset.0.clone() };
                table.extend(own);
                RawDataset(table).into_typed_at(&path.key("dataset"), loc)?
            }
        };
        Ok(Recipe { training, dataset })
    }
}

/// Checks the variants' own recipes against the sweep's pruner, which is set up from the
/// file's sections: hyperband's last rung is the file's `training.steps`, so a variant with
/// other `steps` cannot be pruned by it; a pruner watching a `valid.` metric needs every variant
/// to have a validation split. `labels` are the variants' labels in file order (for locations).
///
/// # Errors
/// The first variant at odds with the pruner, located at its own key.
pub fn check_pruner(
    pruner: &PrunerSpec,
    recipes: &std::collections::BTreeMap<String, Recipe>,
    base_steps: usize,
    labels: &[&str],
    loc: &Locator<'_>,
) -> Result<(), UserError> {
    for (i, label) in labels.iter().enumerate() {
        let Some(r) = recipes.get(*label) else { continue };
        let at = KeyPath::default().key("models").index(i);
        if pruner.kind == PrunerKind::Hyperband && r.training.steps != base_steps {
            let key = at.key("training").key("steps");
            return Err(UserError::new(format!(
                "`{key}` = {} differs from `training.steps` = {base_steps}, which a hyperband pruner's \
                 last rung is computed from",
                r.training.steps
            ))
            .at(loc.locate(&key, false))
            .help("give the variant the file's steps, or prune with asha or median"));
        }
        if pruner.metric.starts_with("valid.") && !r.dataset.has_validation() {
            let key = at.key("dataset");
            return Err(UserError::new(format!(
                "`{key}` has no validation split, but the pruner watches `{}`",
                pruner.metric
            ))
            .at(loc.locate(&key, false))
            .help("keep a validation split for every variant (`validation` > 0) or prune on another metric"));
        }
    }
    Ok(())
}
