//! `summary.json`: the record of one trial's outcome.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialStatus {
    /// Trained for every step.
    Completed,
    /// The loss became NaN or infinite (a result: not rerun).
    Diverged,
    /// An error or crash (rerun on resume).
    Failed,
    /// Stopped by Ctrl-C (rerun on resume).
    Interrupted,
}

impl TrialStatus {
    /// Whether the trial has a final result and is skipped on resume.
    pub fn is_final(self) -> bool {
        matches!(self, TrialStatus::Completed | TrialStatus::Diverged)
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            TrialStatus::Completed => "completed",
            TrialStatus::Diverged => "diverged",
            TrialStatus::Failed => "failed",
            TrialStatus::Interrupted => "interrupted",
        }
    }
}

/// Everything recorded about a finished (or failed) trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialSummary {
    /// Trial id.
    pub id: String,
    /// Index in the plan.
    pub index: usize,
    /// Experiment name.
    pub experiment: String,
    /// Model variant label.
    pub label: String,
    /// Model family.
    pub family: String,
    /// Swept keys and this trial's values.
    pub swept: BTreeMap<String, toml::Value>,
    /// Seed.
    pub seed: u64,
    /// Outcome.
    pub status: TrialStatus,
    /// Steps completed.
    pub steps: usize,
    /// Steps planned.
    pub steps_planned: usize,
    /// The step at which the loss became NaN/inf.
    pub diverged_at: Option<usize>,
    /// The last evaluation's metrics.
    pub final_metrics: BTreeMap<String, f64>,
    /// Trainable parameters.
    pub num_params: usize,
    /// Wall time of the whole trial, set-up included.
    pub wall_time_s: f64,
    /// Training steps per second (evaluation included).
    pub steps_per_second: f64,
    /// Backend (and device).
    pub backend: String,
    /// Threads the trial's CPU backend used.
    pub threads: usize,
    /// burnlab version.
    pub burnlab_version: String,
    /// Git commit of the burnlab checkout, when available.
    pub git_commit: Option<String>,
    /// Host name.
    pub host: String,
    /// Unix time the trial started.
    pub started_at: u64,
    /// The error, for failed trials.
    pub error: Option<String>,
}

impl TrialSummary {
    /// A summary of `trial` with `status` and nothing measured yet.
    pub fn blank(experiment: &str, trial: &crate::sweep::Trial, status: TrialStatus) -> Self {
        TrialSummary {
            id: trial.id.clone(),
            index: trial.index,
            experiment: experiment.to_string(),
            label: trial.label.clone(),
            family: trial.config.model.spec.family().to_string(),
            swept: trial.swept.clone(),
            seed: trial.config.seed,
            status,
            steps: 0,
            steps_planned: trial.config.training.steps,
            diverged_at: None,
            final_metrics: BTreeMap::new(),
            num_params: 0,
            wall_time_s: 0.0,
            steps_per_second: 0.0,
            backend: trial.config.backend().to_string(),
            threads: 0,
            burnlab_version: crate::VERSION.to_string(),
            git_commit: None,
            host: String::new(),
            started_at: 0,
            error: None,
        }
    }

    /// Reads `summary.json` from a trial directory, if present and valid.
    pub fn read(trial_dir: &Path) -> Option<TrialSummary> {
        crate::fsutil::read_json(&trial_dir.join("summary.json")).ok()
    }
}
