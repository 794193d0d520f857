//! `burnlab eval TRIAL_DIR`: the family's metrics for a saved model on a split of its dataset
//! (or of a compatible one), measured as the trial measured its own.

use super::{SavedModel, Weights};
use crate::backend::Backend;
use crate::data::{Dataset, DatasetSpec, Split};
use crate::error::{Result, UserError};
use crate::models::saved::SavedEval;
use crate::train::Metrics;
use serde::Serialize;
use std::path::Path;

/// The split `eval` measures (`--split`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SplitChoice {
    /// The test split.
    Test,
    /// The validation split (the dataset's own, or carved by `dataset.validation`).
    Valid,
    /// The training split (without the validation rows).
    Train,
}

impl SplitChoice {
    /// Its name, the prefix of its metrics (`test.accuracy`).
    pub fn name(self) -> &'static str {
        match self {
            SplitChoice::Test => "test",
            SplitChoice::Valid => "valid",
            SplitChoice::Train => "train",
        }
    }

    /// The split of `data` it names.
    ///
    /// # Errors
    /// `valid` of a dataset without a validation split.
    fn of(self, data: &Dataset) -> Result<&Split> {
        match self {
            SplitChoice::Test => Ok(&data.test),
            SplitChoice::Train => Ok(&data.train),
            SplitChoice::Valid => data.valid.as_ref().ok_or_else(|| {
                UserError::new("this dataset has no validation split")
                    .at("--split valid")
                    .help("carve one with --set dataset.validation=0.1")
                    .into()
            }),
        }
    }
}

/// What `eval` measured.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// The trial id.
    pub trial: String,
    /// The model's label.
    pub label: String,
    /// The weights evaluated (`final`, `best`).
    pub weights: String,
    /// The dataset as resolved (with the `--set` overrides).
    pub dataset: DatasetSpec,
    /// The split measured.
    pub split: String,
    /// Its number of examples.
    pub examples: usize,
    /// The metrics, `split.name` (as the trial's `metrics.csv` names them).
    pub metrics: Metrics,
}

/// Evaluates the saved model of the trial directory `dir` (weights `weights`, by default the
/// ones its test metrics were measured on) on `split` of its dataset with `sets` applied, on
/// the trial's backend with the trial's thread count.
///
/// # Errors
/// User errors (exit code 2) for a missing or unreadable saved model (naming the file), bad
/// or incompatible dataset settings, a missing split, or a family that saves no model; the
/// dataset's loading errors.
pub fn eval(dir: &Path, sets: &[String], split: SplitChoice, weights: Option<Weights>) -> Result<Evaluation> {
    let saved = SavedModel::open(dir)?;
    let path = saved.weights(weights)?;
    let spec = saved.dataset(sets)?;
    let device = saved.device()?;
    let data = spec.load()?;
    let rows = split.of(&data)?;
    let trained = &saved.card.input;
    let family = &saved.card.model.spec;
    let (seed, split_name) = (saved.card.seed, split.name());
    let on = SavedEval { weights: &path, trained, data: &data, split: rows, split_name, seed, device: &device };
    let metrics = Backend::run_on_cpu_pool(saved.card.threads, || family.evaluate_saved(&on))?;
    let weights = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Evaluation {
        trial: saved.card.trial.clone(),
        label: saved.card.model.label.clone(),
        weights,
        dataset: spec,
        split: split.name().to_string(),
        examples: rows.len(),
        metrics,
    })
}

impl Evaluation {
    /// The text `eval` prints: a header line, then one `name value` line per metric, each
    /// value in full (`{}`: the shortest text that reads back as the same `f64`).
    pub fn text(&self) -> String {
        let mut out = format!(
            "trial {} ({}), {} weights, dataset {}, {} split ({} examples)\n",
            self.trial,
            self.label,
            self.weights,
            self.dataset.source().name(),
            self.split,
            self.examples
        );
        let width = self.metrics.keys().map(String::len).max().unwrap_or(0);
        for (name, value) in &self.metrics {
            out.push_str(&format!("{name:width$}  {value}\n"));
        }
        out
    }
}
