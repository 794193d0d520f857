//! The results directory `results/<experiment name>/`: its layout and its records.
//!
//! This module is the one owner of what lies where (`plan.json`, `experiment.toml`,
//! `trials/<id>/{config.toml,summary.json,metrics.csv,worker.log,model/}`, `runs/`, `slurm/`) and of
//! the records read back from there ([`TrialSummary`], [`MetricsLog`], the saved model's [`model::ModelCard`]). The runner, the
//! worker and the Slurm executor write through it; `report` and `status` read through it, so
//! a reader never imports a writer.

pub mod metrics;
pub mod model;
pub mod summary;

pub use metrics::{MetricRow, MetricsLog};
pub use summary::{TrialStatus, TrialSummary};

use crate::error::{Result, UserError};
use crate::sweep::Plan;
use std::path::Path;

/// Where things live in a results directory (all paths relative to the directory given).
pub mod paths {
    use std::path::{Path, PathBuf};

    /// The file name of a trial's summary in its folder.
    pub const SUMMARY_FILE: &str = super::summary::SUMMARY_FILE;
    /// The file name of a trial's metrics in its folder.
    pub const METRICS_FILE: &str = super::metrics::METRICS_FILE;
    /// The log file the local runner captures a worker's stderr into, in the trial's folder.
    pub const WORKER_LOG: &str = "worker.log";
    /// The resolved configuration of a trial, in its folder.
    pub const CONFIG_FILE: &str = "config.toml";
    /// The folder of the results directory that holds the trials' TensorBoard runs.
    pub const RUNS_DIR: &str = "runs";

    /// `plan.json`: every trial and its resolved config.
    pub fn plan(results: &Path) -> PathBuf {
        results.join("plan.json")
    }
    /// `trials/<id>/`.
    pub fn trial_dir(results: &Path, id: &str) -> PathBuf {
        results.join("trials").join(id)
    }
    /// `experiment.toml`: the file as run.
    pub fn experiment(results: &Path) -> PathBuf {
        results.join("experiment.toml")
    }
    /// `runs/`: the trials' TensorBoard runs (the results directory is TensorBoard's log directory).
    pub fn runs(results: &Path) -> PathBuf {
        results.join(RUNS_DIR)
    }
    /// `.lock`: the lock file a local run holds.
    pub fn lock(results: &Path) -> PathBuf {
        results.join(".lock")
    }
    /// `slurm/` inside a results directory.
    pub fn slurm_dir(results: &Path) -> PathBuf {
        results.join("slurm")
    }
    /// `slurm/array.sbatch`: the script of the latest submission.
    pub fn script_path(results: &Path) -> PathBuf {
        slurm_dir(results).join("array.sbatch")
    }
    /// `slurm/jobs.json`: every submitted job and the plan indices of its array tasks.
    pub fn jobs_path(results: &Path) -> PathBuf {
        slurm_dir(results).join("jobs.json")
    }
    /// `slurm/logs/`: one stdout+stderr file per array task.
    pub fn logs_dir(results: &Path) -> PathBuf {
        slurm_dir(results).join("logs")
    }
    /// The log of array task `task` of job `job_id`.
    pub fn log_path(results: &Path, job_id: &str, task: usize) -> PathBuf {
        logs_dir(results).join(format!("{job_id}_{task}.out"))
    }
}

/// Reads `plan.json` of the results directory `dir`.
///
/// # Errors
/// "not a burnlab results directory (no plan.json)", located at `dir`, when there is no
/// plan; an I/O or JSON error naming the file when it cannot be read.
pub fn read_plan(dir: &Path) -> Result<Plan> {
    let path = paths::plan(dir);
    if !path.is_file() {
        return Err(UserError::new("not a burnlab results directory (no plan.json)")
            .at(dir.display().to_string())
            .into());
    }
    crate::fsutil::read_json(&path)
}

/// Reads the plan and every trial summary of `dir` (`None` where a trial has none, or an
/// unreadable one, which is reported on stderr with its path).
///
/// # Errors
/// As [`read_plan`].
pub fn read_summaries(dir: &Path) -> Result<(Plan, Vec<Option<TrialSummary>>)> {
    let plan = read_plan(dir)?;
    let summaries = plan.trials.iter().map(|t| TrialSummary::read_or_warn(&paths::trial_dir(dir, &t.id))).collect();
    Ok((plan, summaries))
}
