//! Results directories without their per-trial folders (`trials/` is git-ignored, so a clone
//! of a repository with committed results has only `plan.json` and `summary.csv`): the trial
//! summaries are rebuilt from `summary.csv` (status, seed, steps, final metrics, parameters,
//! wall time), so that `report` and `compare` still give the tables, statistics and the page
//! (without learning curves, which need each trial's `metrics.csv`).

use crate::error::Result;
use crate::results::{TrialStatus, TrialSummary};
use crate::sweep::Plan;
use polars::prelude::*;
use std::path::Path;

/// The summaries from `summary.csv`, in plan order, when `dir` has no `trials/` folder and has
/// a `summary.csv`; `None` otherwise (the per-trial files are the source).
///
/// # Errors
/// An unreadable `summary.csv`.
pub fn summaries(dir: &Path, plan: &Plan) -> Result<Option<Vec<Option<TrialSummary>>>> {
    let csv = dir.join("summary.csv");
    if dir.join("trials").exists() || !csv.is_file() {
        return Ok(None);
    }
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(csv.clone()))
        .and_then(|r| r.finish())
        .map_err(|e| anyhow::anyhow!("{}: {e}", csv.display()))?;
    let text = |name: &str, i: usize| -> Option<String> {
        df.column(name).ok()?.get(i).ok().and_then(|v| match v {
            AnyValue::Null => None,
            AnyValue::String(s) => Some(s.to_string()),
            other => Some(other.to_string()),
        })
    };
    let number = |name: &str, i: usize| -> Option<f64> {
        df.column(name).ok()?.cast(&DataType::Float64).ok()?.f64().ok()?.get(i)
    };
    let metrics: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| c.contains('.') && !plan.swept_keys.contains(c))
        .collect();
    let mut out: Vec<Option<TrialSummary>> = vec![None; plan.trials.len()];
    for i in 0..df.height() {
        let Some(id) = text("id", i) else { continue };
        let Some(k) = plan.trials.iter().position(|t| t.id == id) else { continue };
        let t = &plan.trials[k];
        let status: Option<TrialStatus> = text("status", i).and_then(|s| serde_json::from_value(s.into()).ok());
        let Some(status) = status else { continue };
        let mut s = TrialSummary::blank(&plan.experiment, t, status);
        s.steps = number("steps", i).map_or(0, |v| v as usize);
        s.diverged_at = number("diverged_at", i).map(|v| v as usize);
        s.num_params = number("num_params", i).map_or(0, |v| v as usize);
        s.wall_time_s = number("wall_time_s", i).unwrap_or(0.0);
        s.steps_per_second = number("steps_per_second", i).unwrap_or(0.0);
        for m in &metrics {
            if let Some(v) = number(m, i) {
                s.final_metrics.insert(m.clone(), v);
            }
        }
        out[k] = Some(s);
    }
    Ok(Some(out))
}
