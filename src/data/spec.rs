//! The `[dataset]` section: any registered dataset, with its options and its validation
//! fraction ([`DatasetSpec`]).

use super::Dataset;
use super::source::DatasetSource;
use crate::check::FieldError;
use crate::error::{Result, UserError};
use crate::open::{Entries, Global, Kind, Open, Upcast};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

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
pub fn install_datasets(entries: Entries<Datasets>) -> std::result::Result<(), String> {
    DATASETS.install(entries)
}

/// A dataset named in an experiment file (`[dataset] name = "..."` plus its options), with
/// the fraction of its training split carved out as a validation split (`validation`): any
/// registered dataset behind [`DatasetSource`] (`Deref`).
///
/// Serialises as `name` first, then the options in struct order, then `validation` unless it
/// is 0 (so that trial ids without a validation split are those from before the key existed).
/// Deserialising reads an absent `validation` as 0: this is the resolved form (plan.json, a
/// sweep's trial configs); an experiment file's absent key means the dataset's default
/// ([`DatasetSpec::resolve`], called by the experiment loader).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DatasetSpec {
    #[serde(flatten)]
    source: Open<Datasets>,
    #[serde(skip_serializing_if = "crate::check::is_zero")]
    validation: f64,
}

impl DatasetSpec {
    /// A dataset value without a validation split (`validation = 0`).
    pub fn new<T: Upcast<dyn DatasetSource>>(value: T) -> Self {
        DatasetSpec { source: Open::new(value), validation: 0.0 }
    }

    /// `source` with `validation` as given, else the dataset's default
    /// ([`DatasetSource::default_validation`]). The value is checked by [`DatasetSpec::validate`].
    pub fn resolve(source: Open<Datasets>, validation: Option<f64>) -> Self {
        let validation = validation.unwrap_or_else(|| source.default_validation());
        DatasetSpec { source, validation }
    }

    /// The same dataset with the fraction `validation` carved out (checked by
    /// [`DatasetSpec::validate`]).
    pub fn with_validation(self, validation: f64) -> Self {
        DatasetSpec { validation, ..self }
    }

    /// The fraction of the training split carved out as the validation split (0: none).
    pub fn validation(&self) -> f64 {
        self.validation
    }

    /// Whether trials have a validation split: a carved one (`validation > 0`) or the dataset's
    /// own ([`DatasetSource::own_validation`]). Trainers then evaluate `valid.*` during training.
    pub fn has_validation(&self) -> bool {
        self.validation > 0.0 || self.source.own_validation()
    }

    /// The dataset and its options, without `validation`.
    pub fn source(&self) -> &Open<Datasets> {
        &self.source
    }

    /// The dataset's options as their concrete type, if they are a `T`.
    pub fn downcast_ref<T: 'static>(&self) -> Option<&T> {
        self.source.downcast_ref()
    }

    /// Checks the options ([`DatasetSource::validate`]), then `validation`: in [0, 1), and 0
    /// for a dataset with its own validation split ([`DatasetSource::own_validation`]).
    ///
    /// # Errors
    /// The offending key (inside `[dataset]`) and why.
    pub fn validate(&self) -> std::result::Result<(), FieldError> {
        self.source.validate()?;
        let v = self.validation;
        if !(v.is_finite() && (0.0..1.0).contains(&v)) {
            return Err(FieldError::new(
                "validation",
                format!(
                    "must be at least 0 and below 1 (the fraction of the training split held out; 0 = none), got {v}"
                ),
            ));
        }
        if v > 0.0 && self.source.own_validation() {
            return Err(FieldError::new(
                "validation",
                format!(
                    "is {v}, but this `{}` dataset has its own validation split (a `table`: its `split` column, \
                     whose \"valid\" rows are the validation split); remove `validation` or set it to 0",
                    self.source.name()
                ),
            ));
        }
        Ok(())
    }

    /// Examples in the training split once the validation split is carved out (the stratified
    /// count can differ by a row per class), where the options alone say.
    pub fn train_examples(&self) -> Option<usize> {
        let n = self.source.train_examples()?;
        Some(n - super::validation::held_out(n, self.validation))
    }

    /// Loads the dataset ([`DatasetSource::load`]) and carves `validation` of its training
    /// split out as the validation split ([`super::validation::carve`]: stratified by class,
    /// seeded by [`DatasetSource::split_seed`]); with `validation = 0` the dataset is returned
    /// as loaded.
    ///
    /// # Errors
    /// Those of [`DatasetSource::load`]; a nonzero `validation` for a dataset that loaded its
    /// own validation split; a carve that leaves no validation row.
    pub fn load(&self) -> Result<Dataset> {
        let data = self.source.load()?;
        if self.validation == 0.0 {
            return Ok(data);
        }
        let seed = self.source.split_seed();
        super::validation::carve(data, self.validation, seed)
            .map_err(|e| UserError::new(format!("`dataset.validation` {e}")).into())
    }

    /// The `[dataset]` table a sweep writes for a dataset given by name
    /// (`"dataset" = ["mnist1d", "digits"]`): `name`, and `validation` as the experiment file
    /// gave it (`given`), else that dataset's default when not 0.
    pub fn table_named(name: &str, given: Option<&toml::Value>) -> toml::Table {
        let mut table = toml::Table::from_iter([("name".to_string(), toml::Value::String(name.to_string()))]);
        let default = datasets().default_of(name).map(|d| d.default_validation()).filter(|v| *v != 0.0);
        match (given, default) {
            (Some(v), _) => table.insert("validation".into(), v.clone()),
            (None, Some(v)) => table.insert("validation".into(), toml::Value::Float(v)),
            (None, None) => None,
        };
        table
    }
}

/// Reads a `validation` value: a number (an integer such as `0` too).
///
/// # Errors
/// Another type, as `invalid type: string, expected ...`.
pub fn validation_value(value: &toml::Value) -> std::result::Result<f64, String> {
    match value {
        toml::Value::Float(f) => Ok(*f),
        toml::Value::Integer(i) => Ok(*i as f64),
        other => Err(format!(
            "invalid type: {}, expected a number (the fraction of the training split held out, in [0, 1))",
            other.type_str()
        )),
    }
}

impl std::ops::Deref for DatasetSpec {
    type Target = dyn DatasetSource;
    fn deref(&self) -> &dyn DatasetSource {
        &*self.source
    }
}

impl<'de> Deserialize<'de> for DatasetSpec {
    /// The table without `validation` is the dataset ([`Open`]); an absent `validation` is 0.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let mut value = toml::Value::deserialize(d)?;
        let given = value.as_table_mut().and_then(|t| t.remove("validation"));
        let validation = given.as_ref().map(validation_value).transpose().map_err(D::Error::custom)?;
        let source = Open::<Datasets>::deserialize(value).map_err(|e| D::Error::custom(e.message()))?;
        Ok(DatasetSpec { source, validation: validation.unwrap_or(0.0) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Mnist1dOptions;

    #[test]
    fn validation_is_serialised_after_the_options_unless_it_is_zero() {
        let plain = DatasetSpec::new(Mnist1dOptions::default());
        let json = serde_json::to_string(&plain).unwrap();
        assert_eq!(json, r#"{"name":"mnist1d","shuffle_seq":false}"#, "0 is left out: trial ids stay");
        assert_eq!(serde_json::from_str::<DatasetSpec>(&json).unwrap(), plain, "absent reads as 0");
        let carved = plain.clone().with_validation(0.2);
        let json = serde_json::to_string(&carved).unwrap();
        assert_eq!(json, r#"{"name":"mnist1d","shuffle_seq":false,"validation":0.2}"#);
        assert_eq!(serde_json::from_str::<DatasetSpec>(&json).unwrap(), carved);
        let toml_text = toml::to_string(&carved).unwrap();
        assert_eq!(toml::from_str::<DatasetSpec>(&toml_text).unwrap(), carved);
        assert_eq!(toml::from_str::<DatasetSpec>("name = \"mnist1d\"\nvalidation = 0\n").unwrap(), plain);
        let e = toml::from_str::<DatasetSpec>("name = \"mnist1d\"\nvalidation = \"x\"\n").unwrap_err();
        assert!(e.message().contains("invalid type: string, expected a number"), "{e}");
    }

    #[test]
    fn an_absent_validation_resolves_to_the_dataset_default() {
        let mnist = datasets().default_of("mnist1d").unwrap();
        assert_eq!(DatasetSpec::resolve(mnist.clone(), None).validation(), 0.1);
        assert_eq!(DatasetSpec::resolve(mnist, Some(0.3)).validation(), 0.3);
        assert_eq!(DatasetSpec::resolve(datasets().default_of("ring").unwrap(), None).validation(), 0.0);
        assert_eq!(DatasetSpec::table_named("ring", None), toml::from_str("name = \"ring\"").unwrap());
        assert_eq!(
            DatasetSpec::table_named("digits", None),
            toml::from_str("name = \"digits\"\nvalidation = 0.1").unwrap()
        );
        let zero = toml::Value::Integer(0);
        assert_eq!(
            DatasetSpec::table_named("digits", Some(&zero)),
            toml::from_str("name = \"digits\"\nvalidation = 0").unwrap()
        );
    }

    #[test]
    fn out_of_range_fractions_name_the_key() {
        for bad in [1.0, -0.1, f64::NAN, 1.5] {
            let e = DatasetSpec::new(Mnist1dOptions::default()).with_validation(bad).validate().unwrap_err();
            assert_eq!(e.key, "validation");
            assert!(e.message.starts_with("must be at least 0 and below 1"), "{}", e.message);
        }
        assert_eq!(DatasetSpec::new(Mnist1dOptions::default()).with_validation(0.1).train_examples(), Some(3600));
    }
}
