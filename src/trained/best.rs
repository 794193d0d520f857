//! `burnlab best RESULTS_DIR [--export DIR]`: the trial whose model represents the best row of
//! the table, and a copy of its model and configuration.
//!
//! The row is the report's (`report::rank`): the best group by the mean, over seeds, of the
//! primary metric's validation counterpart (`valid.accuracy` for `test.accuracy`) when every
//! group recorded it, else of the primary metric; one per dataset when the sweep varies the
//! dataset. Within the row, the trial is the **median seed**: the completed trials with a
//! saved model, ordered from best to worst by that same ranking value, and the one at
//! position `(n - 1) / 2` (of two middle trials, the better; ties keep plan order). The median
//! seed, not the luckiest, is the model the row's mean describes.

use crate::error::{Error, Result, UserError};
use crate::report;
use crate::results::model::{self, MODEL_DIR};
use crate::results::{TrialStatus, TrialSummary, paths};
use crate::spec::Direction;
use crate::sweep::Plan;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The trial `best` chose for one best row.
#[derive(Debug, Clone, Serialize)]
pub struct Choice {
    /// The row's model label.
    pub label: String,
    /// The row's swept values (`key = value`).
    pub swept: Vec<String>,
    /// The chosen trial's id.
    pub trial: String,
    /// Its seed.
    pub seed: u64,
    /// Its trial directory.
    pub dir: PathBuf,
    /// The metric the row and the trial were chosen on.
    pub ranked_on: String,
    /// The trial's value of it.
    pub value: f64,
    /// The row's trials with a saved model (the median of which was chosen).
    pub candidates: usize,
    /// The trial's reported test metrics.
    pub test_metrics: crate::train::Metrics,
    /// Where `--export` copied it.
    pub exported: Option<PathBuf>,
}

/// What `best` found.
#[derive(Debug, Clone, Serialize)]
pub struct Best {
    /// The experiment's name.
    pub experiment: String,
    /// How the trial was chosen (the rule above, in one sentence).
    pub rule: String,
    /// One choice per best row (several when the sweep varies the dataset).
    pub choices: Vec<Choice>,
}

/// Names the trial of each best row of the results directory `dir` (see the module docs) and,
/// with `export`, copies its `model/`, `config.toml` and `summary.json` into `export` (into
/// `export/<trial id>/` when there are several rows), which `eval` and `predict` then accept
/// as a trial directory.
///
/// # Errors
/// Not a results directory; no completed trial with a saved model; I/O errors copying.
pub fn best(dir: &Path, export: Option<&Path>) -> Result<Best> {
    let (plan, summaries) = report::load(dir)?;
    let mut groups = report::groups(&plan, &summaries);
    report::rank(&plan, &mut groups);
    let on_valid = report::ranks_on_valid(&groups);
    let ranked_on = match plan.report.validation_metric() {
        Some(valid) if on_valid => valid,
        _ => plan.report.metric.clone(),
    };
    let mut choices = Vec::new();
    for g in groups.iter().filter(|g| g.best) {
        let members: Vec<usize> = (0..plan.trials.len())
            .filter(|&i| {
                plan.trials[i].label == g.label && report::swept_values(&plan, &plan.trials[i].swept) == g.swept
            })
            .collect();
        if let Some(choice) = median_trial(dir, &plan, &summaries, &members, &ranked_on) {
            choices.push(Choice { swept: swept_text(&plan, &g.swept), ..choice });
        }
    }
    if choices.is_empty() {
        return Err(UserError::new("no completed trial with a saved model (trials/<id>/model/)")
            .at(dir.display().to_string())
            .help("run the experiment first; trials of the `command` family save no model")
            .into());
    }
    if let Some(export) = export {
        let several = choices.len() > 1;
        for c in &mut choices {
            let to = if several { export.join(&c.trial) } else { export.to_path_buf() };
            copy_trial(&c.dir, &to)?;
            c.exported = Some(to);
        }
    }
    let rule = format!(
        "the best row by the mean of `{ranked_on}` over seeds (as table.md); within it the median seed by `{ranked_on}`"
    );
    Ok(Best { experiment: plan.experiment.clone(), rule, choices })
}

fn swept_text(plan: &Plan, values: &[String]) -> Vec<String> {
    plan.swept_keys.iter().zip(values).filter(|(_, v)| !v.is_empty()).map(|(k, v)| format!("{k} = {v}")).collect()
}

/// The median trial (see the module docs) of `members` (plan indices) by `metric`.
fn median_trial(
    dir: &Path,
    plan: &Plan,
    summaries: &[Option<TrialSummary>],
    members: &[usize],
    metric: &str,
) -> Option<Choice> {
    let mut ranked: Vec<(usize, f64, &TrialSummary)> = members
        .iter()
        .filter_map(|&i| summaries[i].as_ref().map(|s| (i, s)))
        .filter(|(_, s)| s.status == TrialStatus::Completed)
        .filter(|(i, _)| model::model_dir(&paths::trial_dir(dir, &plan.trials[*i].id)).join(model::CARD_FILE).is_file())
        .filter_map(|(i, s)| s.final_metrics.get(metric).filter(|v| v.is_finite()).map(|v| (i, *v, s)))
        .collect();
    let max = plan.report.direction() == Direction::Max;
    ranked.sort_by(|a, b| if max { b.1.total_cmp(&a.1) } else { a.1.total_cmp(&b.1) });
    let (i, value, summary) = *ranked.get(ranked.len().checked_sub(1)? / 2)?;
    let trial = &plan.trials[i];
    Some(Choice {
        label: trial.label.clone(),
        swept: Vec::new(),
        trial: trial.id.clone(),
        seed: trial.config.seed,
        dir: paths::trial_dir(dir, &trial.id),
        ranked_on: metric.to_string(),
        value,
        candidates: ranked.len(),
        test_metrics: model::test_metrics(&summary.final_metrics),
        exported: None,
    })
}

/// Copies `from/model/*`, `from/config.toml` and `from/summary.json` into `to`.
fn copy_trial(from: &Path, to: &Path) -> Result<()> {
    let model_to = to.join(MODEL_DIR);
    std::fs::create_dir_all(&model_to).map_err(|e| Error::io(&model_to, e))?;
    let model_from = from.join(MODEL_DIR);
    let entries = std::fs::read_dir(&model_from).map_err(|e| Error::io(&model_from, e))?;
    let mut files: Vec<(PathBuf, PathBuf)> = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&model_from, e))?;
        files.push((entry.path(), model_to.join(entry.file_name())));
    }
    for name in [paths::CONFIG_FILE, paths::SUMMARY_FILE] {
        files.push((from.join(name), to.join(name)));
    }
    for (src, dst) in files {
        let bytes = std::fs::read(&src).map_err(|e| Error::io(&src, e))?;
        crate::fsutil::write_atomic(&dst, &bytes)?;
    }
    Ok(())
}

impl Best {
    /// The text `best` prints: the rule, then per row the trial, its value and its directory.
    pub fn text(&self) -> String {
        let mut out = format!("{}: {}\n", self.experiment, self.rule);
        for c in &self.choices {
            let swept = if c.swept.is_empty() { String::new() } else { format!(" ({})", c.swept.join(", ")) };
            out.push_str(&format!(
                "{}{swept}: trial {} (seed {}), {} = {} (median of {} seeds)\n  {}\n",
                c.label,
                c.trial,
                c.seed,
                c.ranked_on,
                c.value,
                c.candidates,
                c.dir.display()
            ));
            if let Some(to) = &c.exported {
                out.push_str(&format!("  exported to {}\n", to.display()));
            }
        }
        out
    }
}
