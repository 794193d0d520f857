//! burnlab's experiments and trials as TensorBoard data.
//!
//! The results directory `results/<name>/` is the log directory: its root run holds the
//! HParams experiment definition and the comparison table (`table.md`, tag [`TABLE_TAG`]);
//! each trial's run `runs/<label>_<swept values>_seed=<seed>_<id>` ([`run_name`]) holds its
//! scalars, images and histograms, its HParams session (start: the swept values, model label
//! and seed; end: the status) and its resolved `config.toml` (tag [`CONFIG_TAG`]). A run's
//! name is what TensorBoard's Time Series and Scalars tabs show, so it says which trial a
//! curve is and ends with the trial's stable id (its folder `trials/<id>/`).
//!
//! TensorBoard shows every number hyperparameter with five significant digits (`0.0000`), so
//! integer hyperparameters, the seed and swept keys whose values are all integers, are
//! written as strings (`"0"`, `"16"`) with the discrete set of their values as domain.

use crate::error::{Error, Result};
use crate::results::paths;
use crate::spec::Experiment;
use crate::sweep::{Distribution, Plan, SweepSpec, Trial};
use crate::tensorboard::hparams::{self, Domain, ExperimentDef, HParamDef, HValue, MetricDef, SessionStatus};
use crate::tensorboard::{EVENT_FILE_PREFIX, EventWriter, now, text};
use crate::train::FitStatus;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

/// Text tag of a trial's resolved configuration.
pub const CONFIG_TAG: &str = "config";
/// Text tag of the experiment's comparison table.
pub const TABLE_TAG: &str = "table";
/// HParams name of the model variant's label.
pub const MODEL_HPARAM: &str = "model";
/// HParams name of the trial's seed.
pub const SEED_HPARAM: &str = "seed";
/// The HParams metric of a sweep with a pruner: 1 for a pruned trial, 0 for one that
/// completed or diverged, so that the HParams table can filter pruned trials (their session
/// status is unknown, a completed trial's a success).
pub const PRUNED_TAG: &str = "trial/pruned";
/// The most characters of a run name before its trial id.
pub const MAX_RUN_NAME: usize = 80;

/// The scalar tag of a trainer metric: `test.accuracy` → `test/accuracy`.
pub fn metric_tag(metric: &str) -> String {
    metric.replacen('.', "/", 1)
}

/// The folder name of a trial's run: its name ([`Trial::name`]: label, swept values, seed)
/// made safe for a file name (no `/`, no spaces, at most [`MAX_RUN_NAME`] characters), then
/// `_` and its id: `mlp_lr=0.01_seed=0_093be68de436`.
pub fn run_name(trial: &Trial) -> String {
    let name = trial.name().replace(", ", ",");
    let mut safe = String::new();
    for c in name.chars().filter(|c| !matches!(c, '[' | ']' | '"' | '\'')) {
        safe.push(match c {
            c if c.is_alphanumeric() || "._=,+-".contains(c) => c,
            c if c.is_whitespace() => '_',
            _ => '-',
        });
    }
    let safe: String = safe.trim_start_matches(['.', '_', '-']).chars().take(MAX_RUN_NAME).collect();
    let safe = safe.trim_end_matches(['_', '-']);
    if safe.is_empty() { trial.id.clone() } else { format!("{safe}_{}", trial.id) }
}

/// The folder of a trial's run in the results directory `results`.
pub fn run_dir(results: &Path, trial: &Trial) -> PathBuf {
    paths::runs(results).join(run_name(trial))
}

/// Removes every run of the trial `id` under `runs` (its earlier runs, whatever their names).
fn remove_runs_of(runs: &Path, id: &str) -> io::Result<()> {
    let entries = match std::fs::read_dir(runs) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let suffix = format!("_{id}");
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if (name == id || name.ends_with(&suffix)) && entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        }
    }
    Ok(())
}

/// The event file of a trial resumed from its checkpoint at `step`: a new file in its run
/// folder holding the events of the earlier attempts' files up to `step` (the HParams session
/// start included, their session ends and file headers left out, each event once), after
/// which the earlier files are removed. TensorBoard thus shows each point once, as for an
/// uninterrupted run: the points an attempt recorded after its last checkpoint are dropped
/// and recorded again by the resumed run. Without earlier files, as [`trial_events`].
///
/// # Errors
/// An I/O error naming the file or folder.
pub fn resume_events(results: &Path, plan: &Plan, trial: &Trial, step: usize) -> Result<EventWriter> {
    let dir = run_dir(results, trial);
    let mut old: Vec<PathBuf> =
        std::fs::read_dir(&dir).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default();
    old.retain(|p| {
        p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(crate::tensorboard::EVENT_FILE_PREFIX))
    });
    old.sort();
    if old.is_empty() {
        return trial_events(results, plan, trial);
    }
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for path in &old {
        for (bytes, event) in crate::tensorboard::read_events(path).map_err(|e| Error::io(path, e))? {
            let session_end =
                event.get_summary().get_value().iter().any(|v| v.get_tag() == hparams::SESSION_END_INFO_TAG);
            let keep = !event.has_file_version() && !session_end && event.get_step() <= step as i64;
            if keep && seen.insert(bytes.clone()) {
                kept.push(bytes);
            }
        }
    }
    let mut w = EventWriter::create(&dir).map_err(|e| Error::io(&dir, e))?;
    for bytes in &kept {
        w.raw_event(bytes).map_err(|e| Error::io(w.path(), e))?;
    }
    w.flush().map_err(|e| Error::io(w.path(), e))?;
    for path in old.iter().filter(|p| p.as_path() != w.path()) {
        std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
    }
    Ok(w)
}

/// Starts a trial's event file in its run folder ([`run_dir`]), after removing any earlier
/// run of the same trial, and writes its HParams session start and configuration.
pub fn trial_events(results: &Path, plan: &Plan, trial: &Trial) -> Result<EventWriter> {
    let runs = paths::runs(results);
    remove_runs_of(&runs, &trial.id).map_err(|e| Error::io(&runs, e))?;
    let dir = run_dir(results, trial);
    let mut w = EventWriter::create(&dir).map_err(|e| Error::io(&dir, e))?;
    write_trial_start(&mut w, trial, &integer_keys(plan)).map_err(|e| Error::io(w.path(), e))?;
    Ok(w)
}

fn distinct(values: impl IntoIterator<Item = HValue>) -> Vec<HValue> {
    // Linear in the number of values (a grid may hold 100,000): `HValue` holds floats, so the
    // seen set keys on its exact debug text (`{:?}` of an `f64` round-trips).
    let mut seen = std::collections::HashSet::new();
    values.into_iter().filter(|v| seen.insert(format!("{v:?}"))).collect()
}

fn domain(d: &Distribution) -> Domain {
    match d {
        Distribution::Uniform([lo, hi]) | Distribution::LogUniform([lo, hi]) => Domain::Interval { min: *lo, max: *hi },
        Distribution::IntRange([lo, hi]) | Distribution::IntLogUniform([lo, hi]) => {
            Domain::Interval { min: *lo as f64, max: *hi as f64 }
        }
        Distribution::Choice(values) => Domain::Discrete(distinct(values.iter().map(HValue::from_toml))),
    }
}

/// The swept keys whose value is an integer in every trial of the plan: TensorBoard shows
/// them as strings (see the module documentation).
pub fn integer_keys(plan: &Plan) -> BTreeSet<String> {
    let keys = plan.trials.iter().flat_map(|t| t.swept.keys()).collect::<BTreeSet<_>>();
    keys.into_iter()
        .filter(|k| plan.trials.iter().all(|t| matches!(t.swept.get(*k), Some(toml::Value::Integer(_)))))
        .cloned()
        .collect()
}

/// The discrete domain of integers, sorted, as strings.
fn integer_domain(values: impl IntoIterator<Item = i128>) -> Domain {
    let sorted: BTreeSet<i128> = values.into_iter().collect();
    Domain::Discrete(sorted.into_iter().map(|i| HValue::Text(i.to_string())).collect())
}

/// The HParams experiment definition of `exp`, planned as `plan`: the model label, the seed
/// and every swept key, and the trainer's metrics. Integer keys (the seed, [`integer_keys`])
/// have the discrete set of their planned values, as strings; other grid values and
/// random-search choices are discrete domains, float distributions intervals.
pub fn experiment_def(exp: &Experiment, plan: &Plan) -> ExperimentDef {
    let info = exp.dataset.info();
    let mut defs = vec![
        HParamDef {
            name: MODEL_HPARAM.into(),
            domain: Domain::Discrete(distinct(exp.models.iter().map(|m| HValue::Text(m.label.clone())))),
        },
        HParamDef { name: SEED_HPARAM.into(), domain: integer_domain(exp.seeds.iter().map(|&s| s.into())) },
    ];
    let integers = integer_keys(plan);
    let swept: Vec<(&String, Domain)> = match &exp.sweep {
        None => Vec::new(),
        Some(SweepSpec::Grid(grid)) => grid
            .iter()
            .map(|(key, values)| (key, Domain::Discrete(distinct(values.iter().map(HValue::from_toml)))))
            .collect(),
        Some(SweepSpec::Random { params, .. } | SweepSpec::Adaptive { params, .. }) => {
            params.iter().map(|(key, d)| (key, domain(d))).collect()
        }
    };
    defs.extend(swept.into_iter().map(|(key, d)| HParamDef {
        name: key.clone(),
        domain: if integers.contains(key) {
            integer_domain(
                plan.trials.iter().filter_map(|t| t.swept.get(key).and_then(toml::Value::as_integer).map(i128::from)),
            )
        } else {
            d
        },
    }));
    let valid = has_validation(plan);
    // The registry's order first, then metrics only a variant names (a `command` family's).
    let mut names = crate::models::metrics();
    names.extend(exp.models.iter().flat_map(|v| v.spec.metrics()));
    let mut metrics: Vec<MetricDef> = Vec::new();
    for m in names {
        let recorded = exp.models.iter().any(|v| v.spec.metrics().contains(&m));
        let tag = metric_tag(&m);
        if recorded
            && (valid || !m.starts_with("valid."))
            && crate::models::classifier::records(&m, &info)
            && !metrics.iter().any(|d| d.tag == tag)
        {
            metrics.push(MetricDef { tag, training: m.starts_with("train.") });
        }
    }
    if exp.pruner.is_some() {
        metrics.push(MetricDef { tag: PRUNED_TAG.into(), training: false });
    }
    ExperimentDef {
        name: exp.name.clone(),
        description: exp.description.clone(),
        time_created_secs: now(),
        hparams: defs,
        metrics,
    }
}

/// Whether the experiment's trials evaluate a validation split (a positive
/// `dataset.validation`), so that the HParams experiment lists the `valid.*` metrics.
fn has_validation(plan: &Plan) -> bool {
    plan.trials.iter().any(|t| t.config.dataset.has_validation())
}

/// A trial's HParams values: its swept values, model label and seed; the seed and the
/// `integers` keys as strings.
pub fn trial_hparams(trial: &Trial, integers: &BTreeSet<String>) -> BTreeMap<String, HValue> {
    let value = |k: &String, v: &toml::Value| match v {
        toml::Value::Integer(i) if integers.contains(k) => HValue::Text(i.to_string()),
        other => HValue::from_toml(other),
    };
    let mut hp: BTreeMap<String, HValue> = trial.swept.iter().map(|(k, v)| (k.clone(), value(k, v))).collect();
    hp.insert(MODEL_HPARAM.into(), HValue::Text(trial.label.clone()));
    hp.insert(SEED_HPARAM.into(), HValue::Text(trial.config.seed.to_string()));
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
        s.push_str(&format!(" {k}={}", crate::sweep::value_text(v)));
    }
    s.push_str(&format!(" seed={}", trial.config.seed));
    s
}

/// The HParams status of a finished training run: completed is a success, a diverged loss
/// a failure, an interrupted run unknown (it is rerun on resume), and so is a `pruned` one
/// (its [`PRUNED_TAG`] metric is 1), also when it reached its last step before the stop.
pub fn session_status(status: &FitStatus, pruned: bool) -> SessionStatus {
    match status {
        _ if pruned => SessionStatus::Unknown,
        FitStatus::Completed | FitStatus::Stopped(_) => SessionStatus::Success,
        FitStatus::Diverged(_) => SessionStatus::Failure,
        FitStatus::Interrupted(_) => SessionStatus::Unknown,
    }
}

/// Writes the experiment-level event file in the results directory `dir`: replaces the root
/// event files of earlier runs (they hold only what this one rewrites) with one holding the
/// HParams experiment definition of `exp` planned as `plan`, flushed. Returns the writer for
/// [`write_table`].
pub fn write_experiment(dir: &Path, exp: &Experiment, plan: &Plan) -> io::Result<EventWriter> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(EVENT_FILE_PREFIX) && entry.file_type()?.is_file() {
            std::fs::remove_file(entry.path())?;
        }
    }
    let mut w = EventWriter::create(dir)?;
    w.summary(hparams::experiment_summary(&experiment_def(exp, plan)), 0)?;
    w.flush()?;
    Ok(w)
}

/// Writes the comparison table (the text of `table.md`, as `report::build` rendered it) as
/// the text summary [`TABLE_TAG`], flushed.
pub fn write_table(w: &mut EventWriter, table: &str) -> io::Result<()> {
    w.text(TABLE_TAG, table, 0)?;
    w.flush()
}

/// Writes a trial's HParams session start (the `integers` keys as strings) and its resolved
/// configuration (text [`CONFIG_TAG`], as a TOML code block), flushed.
pub fn write_trial_start(w: &mut EventWriter, trial: &Trial, integers: &BTreeSet<String>) -> io::Result<()> {
    let hp = trial_hparams(trial, integers);
    w.summary(hparams::session_start_summary(&hp, &group_name(trial), now()), 0)?;
    let config = toml::to_string(&trial.config).map_err(io::Error::other)?;
    w.text(CONFIG_TAG, &text::code_block("toml", &config), 0)?;
    w.flush()
}

/// Writes a trial's HParams session end with `status` at `step`, flushed; with `pruned`
/// (a sweep with a pruner), first the scalar [`PRUNED_TAG`]: 1 for a pruned trial, else 0.
pub fn write_trial_end(
    w: &mut EventWriter,
    status: SessionStatus,
    step: usize,
    pruned: Option<bool>,
) -> io::Result<()> {
    if let Some(p) = pruned {
        w.scalar(PRUNED_TAG, if p { 1.0 } else { 0.0 }, step)?;
    }
    w.summary(hparams::session_end_summary(status, now()), step)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_map_to_domains() {
        assert_eq!(domain(&Distribution::LogUniform([1e-4, 1e-1])), Domain::Interval { min: 1e-4, max: 1e-1 });
        assert_eq!(domain(&Distribution::IntRange([0, 1000])), Domain::Interval { min: 0.0, max: 1000.0 });
        assert_eq!(
            domain(&Distribution::Choice(vec!["a".into(), "b".into(), "a".into()])),
            Domain::Discrete(vec![HValue::Text("a".into()), HValue::Text("b".into())])
        );
        assert_eq!(
            integer_domain([10, 2, 10, -1, u64::MAX.into()]),
            Domain::Discrete(
                ["-1", "2", "10", "18446744073709551615"].iter().map(|s| HValue::Text(s.to_string())).collect()
            )
        );
    }

    /// The one-trial plan of a minimal experiment.
    fn plan() -> Plan {
        let text = "name = \"t\"\n[dataset]\nname = \"mnist1d\"\n[[models]]\nfamily = \"linear\"\n";
        let exp = Experiment::from_source(crate::spec::Source::from_text("t.toml", text), vec![]).unwrap();
        crate::sweep::expand(&exp).unwrap()
    }

    fn trial(label: &str, swept: &[(&str, toml::Value)], seed: u64, id: &str) -> Trial {
        let mut t = plan().trials.remove(0);
        t.id = id.into();
        t.label = label.into();
        t.swept = swept.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        t.config.seed = seed;
        t
    }

    #[test]
    fn run_names_are_readable_safe_and_end_with_the_id() {
        let t = trial("mlp", &[("training.lr", 0.01.into()), ("model.hidden", 16.into())], 1, "093be68de436");
        assert_eq!(run_name(&t), "mlp_hidden=16_lr=0.01_seed=1_093be68de436");
        let t = trial("a/b|c d", &[("model.channels", toml::Value::Array(vec![8.into(), 16.into()]))], 0, "abc");
        assert_eq!(run_name(&t), "a-b-c_d_channels=8,16_seed=0_abc");
        let t = trial("../x", &[], 0, "abc");
        assert_eq!(run_name(&t), "x_seed=0_abc");
        let t = trial(&"w".repeat(500), &[], 0, "abc");
        assert_eq!(run_name(&t), format!("{}_abc", "w".repeat(MAX_RUN_NAME)));
        let t = trial("混合", &[("training.optimizer", "adam".into())], 2, "abc");
        assert_eq!(run_name(&t), "混合_optimizer=adam_seed=2_abc");
    }

    #[test]
    fn integer_keys_and_seeds_are_strings() {
        let trials = vec![
            trial("m", &[("model.hidden", 16.into()), ("training.weight_decay", 0.into())], 0, "a"),
            trial("m", &[("model.hidden", 32.into()), ("training.weight_decay", 0.5.into())], 1, "b"),
        ];
        let plan = Plan { trials, ..plan() };
        let ints = integer_keys(&plan);
        assert_eq!(ints, BTreeSet::from(["model.hidden".to_string()]), "a key with a float is not an integer key");
        let hp = trial_hparams(&plan.trials[0], &ints);
        assert_eq!(hp["model.hidden"], HValue::Text("16".into()));
        assert_eq!(hp["training.weight_decay"], HValue::Number(0.0));
        assert_eq!(hp["seed"], HValue::Text("0".into()));
    }

    #[test]
    fn metric_tags_use_slashes() {
        assert_eq!(metric_tag("test.accuracy"), "test/accuracy");
    }
}
