//! Trained models: `burnlab eval`, `predict` and `best`, over the saved model of a finished
//! trial (`trials/<id>/model/`, written by the worker through `results::model`).
//!
//! A saved model is opened from its `model.json` alone ([`SavedModel::open`]): the family and
//! its parameters rebuild the model, the dataset spec (with `--set dataset.KEY=VALUE`
//! overrides, [`SavedModel::dataset`]) rebuilds its data, and the backend and thread count are
//! those of the trial, so that `eval` measures exactly what the trial measured.

pub mod best;
pub mod eval;
pub mod predict;

use crate::data::{DataInfo, DatasetSpec};
use crate::error::{Error, Result, UserError};
use crate::results::model::{self, ModelCard};
use crate::results::{TrialStatus, TrialSummary, paths};
use crate::spec::Override;
use std::path::{Path, PathBuf};

/// Which saved weights to use (`--weights`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Weights {
    /// The weights at the end of training.
    Final,
    /// The weights of the best evaluation (trials with `[report] select = "best"`).
    Best,
}

impl Weights {
    /// Its file stem in `model/` (`final`, `best`).
    pub fn name(self) -> &'static str {
        match self {
            Weights::Final => model::FINAL,
            Weights::Best => model::BEST,
        }
    }
}

/// A trial's saved model, opened from its `model.json`.
#[derive(Debug, Clone)]
pub struct SavedModel {
    /// The trial directory (`results/NAME/trials/<id>`).
    pub dir: PathBuf,
    /// Its `model.json`.
    pub card: ModelCard,
}

impl SavedModel {
    /// Reads `dir/model/model.json`.
    ///
    /// # Errors
    /// A user error naming the file when it is missing or unreadable ([`model::read_card`]).
    pub fn open(dir: &Path) -> Result<SavedModel> {
        match model::read_card(dir) {
            Ok(card) => Ok(SavedModel { dir: dir.to_path_buf(), card }),
            Err(e) if !model::model_dir(dir).exists() => Err(why_no_model(dir).map_or(e, Error::from)),
            Err(e) => Err(e),
        }
    }

    /// The weights file to load: `which`, else those the trial's test metrics were measured
    /// on (`best` with `select = "best"`, else `final`).
    ///
    /// # Errors
    /// A user error naming the file when it is absent (`best` of a trial that selected
    /// `final`, or a deleted file).
    pub fn weights(&self, which: Option<Weights>) -> Result<PathBuf> {
        let name = which.map_or(self.card.tested.as_str(), |w| w.name());
        let path = model::weights_path(&self.dir, name);
        if !path.is_file() {
            let saved = self.card.weights.join(", ");
            return Err(UserError::new(format!("no `{name}` weights (this model saved: {saved})"))
                .at(path.display().to_string())
                .into());
        }
        Ok(path)
    }

    /// The dataset the model was trained on, with `sets` (`dataset.KEY=VALUE`) applied, checked
    /// and compatible with the model (same input shapes, classes and task). Setting
    /// `dataset.name` to another dataset starts from that dataset's defaults (and its default
    /// `validation` unless set too).
    ///
    /// # Errors
    /// A user error naming the `--set`: a key outside `dataset.`, an unknown option, a bad
    /// value, or a dataset whose examples the model cannot read.
    pub fn dataset(&self, sets: &[String]) -> Result<DatasetSpec> {
        let trained = &self.card.dataset;
        let mut table = toml::Table::try_from(trained).map_err(anyhow::Error::from)?;
        let overrides = sets.iter().map(|s| dataset_override(s)).collect::<std::result::Result<Vec<_>, _>>()?;
        let renamed = overrides.iter().find(|o| o.path.0.len() == 2 && o.path.to_string() == "dataset.name");
        if let Some(o) = renamed.filter(|o| o.value.as_str() != Some(trained.source().name())) {
            table = toml::Table::from_iter([("name".to_string(), o.value.clone())]);
        }
        let mut doc = toml::Table::from_iter([("dataset".to_string(), toml::Value::Table(table))]);
        for o in &overrides {
            o.apply(&mut doc)?;
        }
        let at = || sets.iter().map(|s| format!("--set {s}")).collect::<Vec<_>>().join(" ");
        let table = doc.remove("dataset").unwrap_or_else(|| toml::Value::Table(Default::default()));
        let given_validation = table.get("validation").is_some();
        let mut spec: DatasetSpec = table
            .try_into()
            .map_err(|e: toml::de::Error| UserError::new(format!("`dataset`: {}", e.message().trim())).at(at()))?;
        if renamed.is_some() && !given_validation {
            let default = spec.source().default_validation();
            spec = spec.with_validation(default);
        }
        spec.validate().map_err(|e| UserError::new(format!("`dataset.{}` {}", e.key, e.message)).at(at()))?;
        check_compatible(&self.card.input, &spec)?;
        Ok(spec)
    }

    /// The trial's training device (its backend), on which evaluation repeats its sums.
    ///
    /// # Errors
    /// The backend is not available in this build or on this machine.
    pub fn device(&self) -> Result<burn::tensor::Device> {
        Ok(self.card.backend().training_device()?)
    }
}

/// Why the trial directory `dir` has no `model/`, when its `config.toml` says: a family that
/// saves none, or a trial that did not finish.
fn why_no_model(dir: &Path) -> Option<UserError> {
    let config: toml::Table = std::fs::read_to_string(dir.join(paths::CONFIG_FILE)).ok()?.parse().ok()?;
    let family = config.get("model")?.get("family")?.as_str()?;
    let at = model::model_dir(dir).display().to_string();
    if !crate::models::families().default_of(family)?.saves_model() {
        return Some(
            UserError::new(format!(
                "the `{family}` family saves no model: `burnlab eval` and `predict` read the models that \
                 burnlab's own trainers save (classifiers, `gan`)"
            ))
            .at(at),
        );
    }
    let status = match TrialSummary::read(dir).ok().flatten() {
        Some(s) if s.status == TrialStatus::Completed => return None,
        Some(s) => format!("{:?}", s.status).to_lowercase(),
        None => "not finished".to_string(),
    };
    Some(
        UserError::new(format!("no saved model: this trial is {status}"))
            .at(at)
            .help("only trials that completed (or were stopped by early stopping) save their model"),
    )
}

/// Parses one `--set` of `eval`, which may set `dataset.KEY` only.
fn dataset_override(raw: &str) -> std::result::Result<Override, UserError> {
    let o = Override::parse(raw)?;
    if o.path.0.len() < 2 || !o.path.to_string().starts_with("dataset.") {
        return Err(UserError::new("only dataset options can be set here: dataset.KEY=VALUE")
            .at(format!("--set {raw}"))
            .help("e.g. --set dataset.validation=0.2, --set dataset.name=mnist1d"));
    }
    Ok(o)
}

/// Checks that a model trained on examples shaped `trained` reads the examples of `spec`.
fn check_compatible(trained: &DataInfo, spec: &DatasetSpec) -> std::result::Result<(), UserError> {
    let now = spec.info();
    let describe = |i: &DataInfo| {
        let shapes: Vec<String> = i.shapes().iter().map(|[t, c]| format!("[{t}, {c}]")).collect();
        format!(
            "examples of shape {} (time steps, channels), {} outputs, {:?}",
            shapes.join(" + "),
            i.num_classes,
            i.task
        )
    };
    let same = now.shapes() == trained.shapes()
        && now.num_classes == trained.num_classes
        && now.task == trained.task
        && now.vocab.unwrap_or(0) <= trained.vocab.unwrap_or(0);
    if same {
        return Ok(());
    }
    Err(UserError::new(format!(
        "the dataset `{}` is not compatible with this model: it has {}, but the model was trained on {}",
        spec.source().name(),
        describe(&now),
        describe(trained)
    ))
    .help("choose a dataset whose examples have the same shape and classes"))
}
