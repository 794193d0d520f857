//! Stage one: the experiment document as plain data, with unknown keys and wrong types rejected.

use super::recipe::OwnKeys;
use super::sweep::RawSweep;
use super::{KeyPath, Locator, ReportSpec, deserialize_at};
use crate::backend::{BackendKind, DeviceSel};
use crate::data::DatasetSpec;
use crate::error::UserError;
use crate::models::{ModelSpec, ModelVariant};
use crate::train::TrainingSpec;
use serde::Deserialize;

/// The top level of an experiment file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    /// Experiment name: the results folder.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Backend name.
    #[serde(default)]
    pub backend: BackendKind,
    /// Device (LibTorch only).
    #[serde(default)]
    pub device: Option<DeviceSel>,
    /// The dataset and its options.
    pub dataset: RawDataset,
    /// Training settings.
    #[serde(default)]
    pub training: TrainingSpec,
    /// Model variants, checked per family in stage two.
    #[serde(default)]
    pub models: Vec<toml::Table>,
    /// Seeds.
    #[serde(default = "default_seeds")]
    pub seeds: Vec<u64>,
    /// The sweep.
    #[serde(default)]
    pub sweep: Option<RawSweep>,
    /// Reporting.
    #[serde(default)]
    pub report: ReportSpec,
    /// Published numbers to reproduce.
    #[serde(default)]
    pub reference: Option<super::ReferenceSpec>,
    /// Orderings the report checks (`[[claims]]`).
    #[serde(default)]
    pub claims: Vec<super::ClaimSpec>,
}

fn default_seeds() -> Vec<u64> {
    vec![0]
}

/// The `[dataset]` table, kept raw so that its errors point inside it.
#[derive(Debug, Deserialize)]
#[serde(transparent)]
pub struct RawDataset(pub toml::Table);

impl RawDataset {
    /// Deserialises the dataset spec and checks its options; an absent `validation` is the
    /// dataset's default.
    pub fn into_typed(self, loc: &Locator<'_>) -> Result<DatasetSpec, UserError> {
        self.into_typed_at(&KeyPath::dotted("dataset"), loc)
    }

    /// As [`RawDataset::into_typed`], for a dataset table at `path` (a model variant's own
    /// `dataset = { ... }`).
    pub fn into_typed_at(self, path: &KeyPath, loc: &Locator<'_>) -> Result<DatasetSpec, UserError> {
        let path = path.clone();
        if !self.0.contains_key("name") {
            return Err(UserError::new("`dataset` needs a `name`")
                .at(loc.locate(&path, false))
                .help(format!("available datasets: {}", crate::data::datasets().names().join(", "))));
        }
        let mut table = self.0;
        // `validation` is common to every dataset: read here, not by the dataset's options.
        let given = match table.remove("validation") {
            None => None,
            Some(v) => Some(crate::data::spec::validation_value(&v).map_err(|m| {
                UserError::new(format!("`{}`: {m}", path.key("validation")))
                    .at(loc.locate(&path.key("validation"), false))
            })?),
        };
        let default = |name: &str| crate::data::datasets().default_of(name);
        let source = deserialize_tagged(table, "name", default, &path, loc).map_err(validation_hint)?;
        let spec = DatasetSpec::resolve(source, given);
        spec.validate().map_err(|e| loc.field_error(&path, e))?;
        Ok(spec)
    }
}

/// Adds "did you mean `validation`?" to an unknown `[dataset]` key close to it (the dataset's
/// own options, which the message lists, do not include it).
fn validation_hint(mut e: UserError) -> UserError {
    let unknown = e.message.split("unknown key `").nth(1).and_then(|rest| rest.split('`').next());
    if e.help.is_none() && unknown.is_some_and(|k| crate::error::did_you_mean(k, ["validation"]).is_some()) {
        e.help = Some("did you mean `validation`?".into());
    }
    e
}

/// Builds a [`ModelVariant`] from one `[[models]]` table at `path`, with the variant's own
/// `training` and `dataset` keys ([`OwnKeys`]) taken out.
pub fn model_variant(
    mut table: toml::Table,
    path: &KeyPath,
    loc: &Locator<'_>,
) -> Result<(ModelVariant, OwnKeys), UserError> {
    let own = OwnKeys::take(&mut table, path, loc)?;
    let label = match table.remove("label") {
        None => None,
        Some(toml::Value::String(s)) if !s.is_empty() => Some(s),
        Some(other) => {
            return Err(UserError::new(format!(
                "`{}`: expected a non-empty string, found {}",
                path.key("label"),
                other.type_str()
            ))
            .at(loc.locate(&path.key("label"), false)));
        }
    };
    if !table.contains_key("family") {
        let families = crate::models::families().names();
        return Err(UserError::new(format!("`{path}` needs a `family`"))
            .at(loc.locate(path, false))
            .help(format!("available families: {}", families.join(", "))));
    }
    // A fusion model's encoder tables are read one by one first, so that their errors name
    // their own keys (serde loses the path inside the tagged `ModelSpec`, read through a buffer).
    if table.get("family").and_then(toml::Value::as_str) == Some("fusion")
        && let Some(toml::Value::Table(encoders)) = table.get("encoders")
    {
        for (name, encoder) in encoders {
            let at = path.key("encoders").key(name);
            deserialize_at::<crate::models::fusion::EncoderSpec>(encoder.clone(), &at, loc)?;
        }
    }
    let default = |name: &str| crate::models::families().default_of(name);
    let spec: ModelSpec = deserialize_tagged(table, "family", default, path, loc)?;
    Ok((ModelVariant { label: label.unwrap_or_else(|| spec.name().to_string()), spec }, own))
}

/// Deserialises an internally tagged enum (`family = "mlp"`, `name = "longrange"`) from
/// `table` at `path`, locating a bad value at its own key.
///
/// serde reads a tagged enum through a buffer that loses the path inside it, so its type errors
/// would name only the table. When that happens, each key is tried alone on the tag's default
/// (`default(tag)`): the first that fails is the one at fault, reported at its value.
pub fn deserialize_tagged<T: serde::de::DeserializeOwned + serde::Serialize>(
    table: toml::Table,
    tag: &str,
    default: impl Fn(&str) -> Option<T>,
    path: &KeyPath,
    loc: &Locator<'_>,
) -> Result<T, UserError> {
    let whole = deserialize_at::<T>(toml::Value::Table(table.clone()), path, loc);
    let Err(err) = whole else { return whole };
    let base = table.get(tag).and_then(toml::Value::as_str).and_then(default);
    let Some(Ok(base)) = base.map(|b| toml::Table::try_from(&b)) else { return Err(err) };
    for (key, value) in table.iter().filter(|(k, _)| k.as_str() != tag) {
        let mut one = base.clone();
        one.insert(key.clone(), value.clone());
        deserialize_at::<T>(toml::Value::Table(one), &path.key(key), loc)?;
    }
    Err(err)
}
