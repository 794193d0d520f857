//! burnlab's experiments and trials as TensorBoard data.
//!
//! The results directory `results/<name>/` is the log directory: its root run holds the
//! HParams experiment definition and the comparison table (`table.md`, tag [`TABLE_TAG`]);
//! each trial's run `trials/<id>` holds its scalars, its HParams session (start: the swept
//! values, model label and seed; end: the status) and its resolved `config.toml` (tag
//! [`CONFIG_TAG`]).

use super::hparams::{self, Domain, ExperimentDef, HParamDef, HValue, MetricDef, SessionStatus};
use super::{EVENT_FILE_PREFIX, EventWriter, text};
use crate::spec::Experiment;
use crate::sweep::{Distribution, SweepSpec, Trial};
use crate::train::FitStatus;
use std::collections::BTreeMap;
use std::io;
use std::path::Path;

/// Text tag of a trial's resolved configuration.
pub const CONFIG_TAG: &str = "config";
/// Text tag of the experiment's comparison table.
pub const TABLE_TAG: &str = "table";
/// HParams name of the model variant's label.
pub const MODEL_HPARAM: &str = "model";
/// HParams name of the trial's seed.
pub const SEED_HPARAM: &str = "seed";

/// Integer ranges up to this many values are listed as discrete domains, wider ones as
/// intervals.
const MAX_DISCRETE_INTS: i64 = 64;

/// The scalar tag of a trainer metric: `test.accuracy` → `test/accuracy`.
pub fn metric_tag(metric: &str) -> String {
    metric.replacen('.', "/", 1)
}

fn distinct(values: impl IntoIterator<Item = HValue>) -> Vec<HValue> {
    let mut out: Vec<HValue> = Vec::new();
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

fn domain(d: &Distribution) -> Domain {
    match d {
        Distribution::Uniform([lo, hi]) | Distribution::LogUniform([lo, hi]) => Domain::Interval { min: *lo, max: *hi },
        Distribution::IntRange([lo, hi]) | Distribution::IntLogUniform([lo, hi])
            if hi.saturating_sub(*lo) < MAX_DISCRETE_INTS =>
        {
            Domain::Discrete((*lo..=*hi).map(|i| HValue::Number(i as f64)).collect())
        }
        Distribution::IntRange([lo, hi]) | Distribution::IntLogUniform([lo, hi]) => {
            Domain::Interval { min: *lo as f64, max: *hi as f64 }
        }
        Distribution::Choice(values) => Domain::Discrete(distinct(values.iter().map(HValue::from_toml))),
    }
}

/// The HParams experiment definition of `exp`: the model label, the seed and every swept key
/// (grid values or random-search choices as discrete domains, float distributions as
/// intervals), and the trainer's metrics.
pub fn experiment_def(exp: &Experiment) -> ExperimentDef {
    let mut defs = vec![
        HParamDef {
            name: MODEL_HPARAM.into(),
            domain: Domain::Discrete(distinct(exp.models.iter().map(|m| HValue::Text(m.label.clone())))),
        },
        HParamDef {
            name: SEED_HPARAM.into(),
            domain: Domain::Discrete(distinct(exp.seeds.iter().map(|&s| HValue::Number(s as f64)))),
        },
    ];
    match &exp.sweep {
        None => {}
        Some(SweepSpec::Grid(grid)) => defs.extend(grid.iter().map(|(key, values)| HParamDef {
            name: key.clone(),
            domain: Domain::Discrete(distinct(values.iter().map(HValue::from_toml))),
        })),
        Some(SweepSpec::Random { params, .. }) => {
            defs.extend(params.iter().map(|(key, d)| HParamDef { name: key.clone(), domain: domain(d) }))
        }
    }
    let metrics = crate::train::metrics()
        .into_iter()
        .filter(|m| exp.models.iter().any(|v| v.spec.metrics().contains(m)))
        .map(|m| MetricDef { tag: metric_tag(m), training: m.starts_with("train.") })
        .collect();
    ExperimentDef {
        name: exp.name.clone(),
        description: exp.description.clone(),
        time_created_secs: super::now(),
        hparams: defs,
        metrics,
    }
}

/// A trial's HParams values: its swept values, model label and seed.
pub fn trial_hparams(trial: &Trial) -> BTreeMap<String, HValue> {
    let mut hp: BTreeMap<String, HValue> = trial.swept.iter().map(|(k, v)| (k.clone(), HValue::from_toml(v))).collect();
    hp.insert(MODEL_HPARAM.into(), HValue::Text(trial.label.clone()));
    hp.insert(SEED_HPARAM.into(), HValue::Number(trial.config.seed as f64));
    hp
}

/// A trial's HParams group name: its model label, swept values (full keys) and seed, which
/// together identify it.
///
/// Every trial is its own group, so the dashboard lists each trial with its own values and
/// metrics. (Grouping the seeds of one setting would average their metrics, but the plugin
/// then shows the first session's seed for the whole group; `table.md` has the means.)
pub fn group_name(trial: &Trial) -> String {
    let mut s = trial.label.clone();
    for (k, v) in &trial.swept {
        s.push_str(&format!(" {k}={v}"));
    }
    s.push_str(&format!(" seed={}", trial.config.seed));
    s
}

/// The HParams status of a finished training run: completed is a success, a diverged loss
/// a failure, an interrupted run unknown (it is rerun on resume).
pub fn session_status(status: &FitStatus) -> SessionStatus {
    match status {
        FitStatus::Completed => SessionStatus::Success,
        FitStatus::Diverged(_) => SessionStatus::Failure,
        FitStatus::Interrupted(_) => SessionStatus::Unknown,
    }
}

/// Writes the experiment-level event file in the results directory `dir`: replaces the root
/// event files of earlier runs (they hold only what this one rewrites) with one holding the
/// HParams experiment definition, flushed. Returns the writer for [`write_table`].
pub fn write_experiment(dir: &Path, exp: &Experiment) -> io::Result<EventWriter> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(EVENT_FILE_PREFIX) && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    let mut w = EventWriter::create(dir)?;
    w.summary(hparams::experiment_summary(&experiment_def(exp)), 0)?;
    w.flush()?;
    Ok(w)
}

/// Writes the comparison table `dir/table.md` as the text summary [`TABLE_TAG`], flushed.
pub fn write_table(w: &mut EventWriter, dir: &Path) -> io::Result<()> {
    let table = std::fs::read_to_string(dir.join("table.md"))?;
    w.text(TABLE_TAG, &table, 0)?;
    w.flush()
}

/// Writes a trial's HParams session start and its resolved configuration (text
/// [`CONFIG_TAG`], as a TOML code block), flushed.
pub fn write_trial_start(w: &mut EventWriter, trial: &Trial) -> io::Result<()> {
    w.summary(hparams::session_start_summary(&trial_hparams(trial), &group_name(trial), super::now()), 0)?;
    let config = toml::to_string(&trial.config).map_err(io::Error::other)?;
    w.text(CONFIG_TAG, &text::code_block("toml", &config), 0)?;
    w.flush()
}

/// Writes a trial's HParams session end with `status` at `step`, flushed.
pub fn write_trial_end(w: &mut EventWriter, status: SessionStatus, step: usize) -> io::Result<()> {
    w.summary(hparams::session_end_summary(status, super::now()), step)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_map_to_domains() {
        assert_eq!(domain(&Distribution::LogUniform([1e-4, 1e-1])), Domain::Interval { min: 1e-4, max: 1e-1 });
        assert_eq!(
            domain(&Distribution::IntRange([2, 4])),
            Domain::Discrete(vec![HValue::Number(2.0), HValue::Number(3.0), HValue::Number(4.0)])
        );
        assert_eq!(domain(&Distribution::IntRange([0, 1000])), Domain::Interval { min: 0.0, max: 1000.0 });
        assert_eq!(
            domain(&Distribution::Choice(vec!["a".into(), "b".into(), "a".into()])),
            Domain::Discrete(vec![HValue::Text("a".into()), HValue::Text("b".into())])
        );
    }

    #[test]
    fn metric_tags_use_slashes() {
        assert_eq!(metric_tag("test.accuracy"), "test/accuracy");
    }
}
