//! A finished trial's saved model: `trials/<id>/model/` with its weights (`final.bpk`, and
//! `best.bpk` when the selection is `best`) and `model.json` ([`ModelCard`]), everything
//! needed to rebuild the model and its data without the plan.
//!
//! The worker writes it ([`write_model`]) at the end of a trial that completed or was stopped
//! by early stopping; `burnlab eval`, `predict` and `best` read it ([`read_card`],
//! [`weights_path`]). The weights are Burn's module record (`Module::into_record`, the
//! burnpack format that `Module::save_file` writes and `Module::load_file` reads), in full
//! precision.

use crate::backend::{BackendKind, DeviceSel};
use crate::data::{DataInfo, DatasetSpec};
use crate::error::{Error, Result, UserError};
use crate::fsutil::{write_atomic, write_json_atomic};
use crate::models::ModelVariant;
use crate::sweep::{Plan, Trial};
use crate::train::{FitOutcome, Metrics, Selection, TrainingSpec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The folder of a trial directory holding its saved model.
pub const MODEL_DIR: &str = "model";
/// The model's description in [`MODEL_DIR`].
pub const CARD_FILE: &str = "model.json";
/// The weights at the end of training (every saved model has them).
pub const FINAL: &str = "final";
/// The weights of the best evaluation (with `[report] select = "best"`).
pub const BEST: &str = "best";
/// The folder a model is assembled in before it is renamed to [`MODEL_DIR`].
const STAGING_DIR: &str = ".model-partial";

/// `model.json`: what a saved model is and how it was made (all resolved, as in `plan.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelCard {
    /// The burnlab version that trained it.
    pub burnlab_version: String,
    /// The experiment's `name`.
    pub experiment: String,
    /// The trial id (12 hex digits).
    pub trial: String,
    /// The trial's seed.
    pub seed: u64,
    /// The backend it was trained (and its test metrics measured) on.
    pub backend: BackendKind,
    /// The device selection it was trained on.
    pub device: DeviceSel,
    /// The CPU threads of the trial (evaluation uses as many, for identical sums).
    pub threads: usize,
    /// The model variant: label, family and parameters.
    pub model: ModelVariant,
    /// The dataset and its options, with its validation fraction.
    pub dataset: DatasetSpec,
    /// The shape of the examples the model was built for (time steps, channels, classes,
    /// task, image, vocabulary, modalities): what rebuilds it, whatever the dataset's files.
    pub input: DataInfo,
    /// `[training]`.
    pub training: TrainingSpec,
    /// `[report] select = "best"`: the selection metric; `None` for `select = "final"`.
    pub selection: Option<Selection>,
    /// The weights saved (file stems in the model folder: `final`, `best`).
    pub weights: Vec<String>,
    /// The weights the trial's test metrics were measured on (`best` or `final`).
    pub tested: String,
    /// The step of the tested weights (`None`: the last step).
    pub selected_step: Option<usize>,
    /// The test metrics the trial reported (`test.*`).
    pub test_metrics: Metrics,
    /// Trainable parameters.
    pub num_params: usize,
}

impl ModelCard {
    /// The card of `trial` of `plan` after `outcome`, with the weights `weights` saved.
    pub fn new(
        plan: &Plan,
        trial: &Trial,
        input: &DataInfo,
        outcome: &FitOutcome,
        threads: usize,
        weights: Vec<String>,
    ) -> Self {
        let cfg = &trial.config;
        let best = cfg.select_best.is_some() && weights.iter().any(|w| w == BEST);
        ModelCard {
            burnlab_version: crate::VERSION.to_string(),
            experiment: plan.experiment.clone(),
            trial: trial.id.clone(),
            seed: cfg.seed,
            backend: cfg.backend,
            device: cfg.device,
            threads,
            model: cfg.model.clone(),
            dataset: cfg.dataset.clone(),
            input: input.clone(),
            training: cfg.training.clone(),
            selection: cfg.select_best.clone(),
            weights,
            tested: if best { BEST } else { FINAL }.to_string(),
            selected_step: outcome.selected_step,
            test_metrics: test_metrics(&outcome.final_metrics),
            num_params: outcome.num_params,
        }
    }

    /// The backend it was trained on, as a [`crate::backend::Backend`].
    pub fn backend(&self) -> crate::backend::Backend {
        crate::backend::Backend { kind: self.backend, device: self.device }
    }
}

/// The `test.*` metrics of `metrics` (a trial's final metrics).
pub fn test_metrics(metrics: &Metrics) -> Metrics {
    metrics.iter().filter(|(k, _)| k.starts_with("test.")).map(|(k, v)| (k.clone(), *v)).collect()
}

/// `trial_dir/model/`.
pub fn model_dir(trial_dir: &Path) -> PathBuf {
    trial_dir.join(MODEL_DIR)
}

/// The file of the weights `name` (`final`, `best`) in `trial_dir/model/`.
pub fn weights_path(trial_dir: &Path, name: &str) -> PathBuf {
    model_dir(trial_dir).join(format!("{name}.bpk"))
}

/// Writes `trial_dir/model/`: each of `weights` (name, record bytes) as `NAME.bpk`, then
/// `card` as `model.json`. All of it is written into a temporary folder that is then renamed,
/// so that `model/` is either absent or complete.
///
/// # Errors
/// An I/O error naming the file or folder.
pub fn write_model(trial_dir: &Path, card: &ModelCard, weights: &[(String, Vec<u8>)]) -> Result<()> {
    let staging = trial_dir.join(STAGING_DIR);
    remove_dir(&staging)?;
    for (name, bytes) in weights {
        write_atomic(&staging.join(format!("{name}.bpk")), bytes)?;
    }
    write_json_atomic(&staging.join(CARD_FILE), card)?;
    let dir = model_dir(trial_dir);
    remove_dir(&dir)?;
    std::fs::rename(&staging, &dir).map_err(|e| Error::io(&dir, e))
}

fn remove_dir(dir: &Path) -> Result<()> {
    match std::fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(dir, e)),
        _ => Ok(()),
    }
}

/// Reads `trial_dir/model/model.json`.
///
/// # Errors
/// A user error naming the file: no saved model there (a trial that did not finish, or a
/// directory that is not a trial's), or a file that is not a model card.
pub fn read_card(trial_dir: &Path) -> Result<ModelCard> {
    let path = model_dir(trial_dir).join(CARD_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        UserError::new(format!("no saved model: {e}"))
            .at(path.display().to_string())
            .help("a trial directory (results/NAME/trials/<id>) of a finished trial holds model/model.json")
    })?;
    Ok(serde_json::from_str(&text)
        .map_err(|e| UserError::new(format!("not a readable model card: {e}")).at(path.display().to_string()))?)
}
