//! `command`: each trial runs the user's own training program, in any language.
//!
//! The program route of docs/command-protocol.md: burnlab writes the trial's configuration
//! as JSON ([`launch`]), exports the dataset as NumPy files when asked ([`export`]), starts the
//! program in its own process group ([`process`]), reads the metrics it prints as JSON lines
//! on standard output ([`protocol`]) and feeds them to the trial's observer ([`session`]), as
//! a built-in trainer would: `metrics.csv`, TensorBoard, progress lines and the tables see no
//! difference. The program applies the `[training]` settings itself; the recipes burnlab could
//! not check it applies are refused ([`CommandSpec`]'s `check_training`).

pub mod export;
pub mod launch;
pub mod process;
pub mod protocol;
pub mod session;

use super::{FamilySpec, Footprint, TrainCtx};
use crate::check::FieldError;
use crate::data::DataInfo;
use crate::train::{FitOutcome, Observer, TrainingSpec};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The metrics a `command` variant reports when it does not list its own.
pub const DEFAULT_METRICS: [&str; 5] = ["train.loss", "valid.loss", "valid.accuracy", "test.loss", "test.accuracy"];

/// The splits a metric may name (`split.name`).
pub const SPLITS: [&str; 3] = ["train", "valid", "test"];

/// The placeholders replaced in the program's arguments.
pub const PLACEHOLDERS: [&str; 5] = ["{config}", "{trial_dir}", "{seed}", "{trial_id}", "{data_dir}"];

/// The environment variable through which a worker inherits the results lock
/// (`runner::lock::LOCK_FD_ENV`), removed from the program's environment.
pub const LOCK_FD_ENV: &str = "BURNLAB_LOCK_FD";

/// Whether (and how) burnlab hands the trial's dataset to the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataExport {
    /// Nothing: the program reads its data itself.
    #[default]
    None,
    /// The splits as NumPy `.npy` files in a directory shared by the trials ([`export`]).
    Npy,
}

/// Parameters of the `command` family: the reserved keys, typed, and every other key of the
/// model table, free-form, passed to the program under `model` (and sweepable as `model.KEY`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommandSpec {
    /// The program and its arguments (no shell); `command[0]` is found on `PATH`, or relative
    /// to `workdir` when it contains a `/`. Required.
    pub command: Vec<String>,
    /// The program's working directory, relative to the directory burnlab runs in; `None`: that
    /// directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
    /// The metrics the program reports (`split.name`); `[report] metric` may name only these.
    pub metrics: Vec<String>,
    /// Whether burnlab exports the dataset for the program.
    pub data: DataExport,
    /// Seconds between SIGTERM and SIGKILL when burnlab stops the program.
    pub grace_s: f64,
    /// Every other key: the program's own hyperparameters.
    #[serde(flatten)]
    pub params: BTreeMap<String, toml::Value>,
}

impl Default for CommandSpec {
    fn default() -> Self {
        CommandSpec {
            command: Vec::new(),
            workdir: None,
            env: BTreeMap::new(),
            metrics: DEFAULT_METRICS.iter().map(|m| m.to_string()).collect(),
            data: DataExport::None,
            grace_s: 10.0,
            params: BTreeMap::new(),
        }
    }
}

/// Checks one `split.name` metric of the `metrics` list.
fn check_metric(metric: &str) -> Result<(), FieldError> {
    let ok = metric.split_once('.').is_some_and(|(split, name)| {
        SPLITS.contains(&split)
            && !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    });
    if ok {
        return Ok(());
    }
    Err(FieldError::new(
        "metrics",
        format!(
            "lists `{metric}`: expected `split.name`, the split one of train, valid, test and the name \
             lower-case letters, digits and `_` (e.g. `valid.accuracy`)"
        ),
    ))
}

impl CommandSpec {
    /// Checks the reserved keys.
    fn check_keys(&self) -> Result<(), FieldError> {
        if self.command.is_empty() || self.command[0].is_empty() {
            return Err(FieldError::new(
                "command",
                "is missing or empty: give the program and its arguments as a list of strings, \
                 e.g. command = [\"python3\", \"train.py\"]",
            ));
        }
        if self.data == DataExport::None && self.command.iter().any(|a| a.contains("{data_dir}")) {
            return Err(FieldError::new("command", "uses `{data_dir}`, which needs data = \"npy\""));
        }
        if !(self.grace_s.is_finite() && self.grace_s >= 0.0) {
            return Err(FieldError::new("grace_s", format!("must be a number of seconds >= 0, got {}", self.grace_s)));
        }
        if self.metrics.is_empty() {
            return Err(FieldError::new("metrics", "is empty: list the metrics the program reports"));
        }
        for (i, m) in self.metrics.iter().enumerate() {
            check_metric(m)?;
            if self.metrics[..i].contains(m) {
                return Err(FieldError::new("metrics", format!("lists `{m}` twice")));
            }
        }
        if let Some(key) = self.env.keys().find(|k| k.is_empty() || k.contains('=') || k.contains('\0')) {
            return Err(FieldError::new("env", format!("has the variable name {key:?}, which is not valid")));
        }
        Ok(())
    }
}

/// `[training]` keys a program may ignore silently, refused rather than trusted.
fn refused_recipe(training: &TrainingSpec) -> Option<&'static str> {
    if training.lr_schedule.is_some() {
        Some("lr_schedule")
    } else if training.clip_grad.is_some() {
        Some("clip_grad")
    } else if training.accumulate > 1 {
        Some("accumulate")
    } else if training.early_stopping.is_some() {
        Some("early_stopping")
    } else {
        None
    }
}

impl FamilySpec for CommandSpec {
    fn name(&self) -> &'static str {
        "command"
    }
    fn summary(&self) -> &'static str {
        "your own training program (any language): config as JSON, metrics as JSON lines on stdout"
    }
    /// Any dataset: the program reads what it wants (`data = "npy"` exports one modality).
    fn multimodal(&self) -> bool {
        true
    }
    fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        self.check_keys()?;
        if self.data == DataExport::Npy && data.is_multimodal() {
            return Err(FieldError::new(
                "data",
                format!(
                    "is \"npy\", but this dataset has the modalities {}: exporting several is not \
                     supported; use data = \"none\" and read the data in the program",
                    data.modality_names()
                ),
            ));
        }
        Ok(())
    }
    /// The free-form keys are the program's: burnlab bounds none of them.
    fn bounded_sizes(&self) -> bool {
        false
    }
    /// Nothing burnlab allocates: the program's memory is its own.
    fn footprint(&self, _data: &DataInfo) -> Footprint {
        Footprint::default()
    }
    /// Unknown before the program reports it (`{"params": N}`).
    fn num_params(&self, _data: &DataInfo, _device: &Device) -> usize {
        0
    }
    fn metrics(&self) -> Vec<String> {
        self.metrics.clone()
    }
    /// Refuses `lr_schedule`, `clip_grad`, `accumulate > 1` and `early_stopping`: burnlab
    /// cannot check that a program applies them.
    fn check_training(&self, training: &TrainingSpec) -> Result<(), FieldError> {
        let Some(key) = refused_recipe(training) else { return Ok(()) };
        Err(FieldError::new(
            key,
            format!(
                "is not supported by the `command` family: burnlab cannot check that your program applies \
                 it; put your own key in the model table instead (e.g. `{key}_kind = \"...\"`, passed to \
                 the program under `model` and sweepable as `model.{key}_kind`)"
            ),
        ))
    }
    /// Runs the program once ([`session::run`]).
    fn train(&self, ctx: TrainCtx<'_>, obs: &mut dyn Observer) -> crate::error::Result<FitOutcome> {
        session::run(self, ctx, obs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml_text: &str) -> CommandSpec {
        toml::from_str(toml_text).unwrap()
    }

    #[test]
    fn free_keys_are_kept_beside_the_reserved_ones() {
        let s = spec("command = [\"python3\", \"t.py\"]\nhidden = 32\nopt = { name = \"sgd\" }\ndata = \"npy\"\n");
        assert_eq!(s.command, ["python3", "t.py"]);
        assert_eq!(s.data, DataExport::Npy);
        assert_eq!(s.params["hidden"].as_integer(), Some(32));
        assert!(s.params["opt"].is_table());
        assert_eq!(s.metrics, DEFAULT_METRICS);
        let back: CommandSpec = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }

    #[test]
    fn bad_reserved_keys_name_the_key() {
        let info = DataInfo::default();
        let key = |t: &str| spec(t).validate(&info).unwrap_err().key;
        assert_eq!(key("hidden = 3"), "command");
        assert_eq!(key("command = [\"x\"]\ngrace_s = -1"), "grace_s");
        assert_eq!(key("command = [\"x\"]\nmetrics = [\"dev.loss\"]"), "metrics");
        assert_eq!(key("command = [\"x\"]\nmetrics = [\"valid.Loss\"]"), "metrics");
        assert_eq!(key("command = [\"x\"]\nmetrics = []"), "metrics");
        assert_eq!(key("command = [\"x\", \"{data_dir}\"]"), "command");
        assert!(spec("command = [\"x\"]\nmetrics = [\"valid.f1_macro\"]").validate(&info).is_ok());
        assert!(toml::from_str::<CommandSpec>("command = \"python3 t.py\"").is_err());
        let data = toml::from_str::<CommandSpec>("command = [\"x\"]\ndata = \"npz\"").unwrap_err().to_string();
        assert!(data.contains("unknown variant `npz`"), "{data}");
    }

    #[test]
    fn unverifiable_recipes_are_refused() {
        let s = spec("command = [\"x\"]");
        assert!(s.check_training(&TrainingSpec::default()).is_ok());
        let t = TrainingSpec { accumulate: 2, ..Default::default() };
        let e = s.check_training(&t).unwrap_err();
        assert_eq!(e.key, "accumulate");
        assert!(e.message.contains("model table"), "{}", e.message);
    }
}
