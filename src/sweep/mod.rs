//! Sweeps: an experiment expanded into trials (models × grid or random draws × seeds).
//!
//! Each trial's configuration is the experiment's base configuration with the swept values
//! written into its TOML document and validated again, so a bad sweep value gets the same
//! checks (and the same kind of message) as a bad value in the file. A trial's id is a hash
//! of its resolved configuration, seed included.

pub mod grid;
mod id;
pub mod log;
pub mod pruner;
pub mod random;
pub mod sampler;
pub mod search;
pub mod strategy;
pub mod tpe;

pub use crate::spec::dist::Distribution;
pub use crate::spec::sweep::{RawSweep, SweepKind, SweepSpec};
pub use id::trial_id;
pub use log::SearchEvent;
pub use strategy::{Ask, Decision, Finished, Outcome, SearchStrategy};

use crate::backend::{BackendKind, DeviceSel};
use crate::data::DatasetSpec;
use crate::error::{UserError, did_you_mean};
use crate::models::ModelVariant;
use crate::spec::limits::{self, MAX_TRIALS};
use crate::spec::sweep::{param_path, point_key};
use crate::spec::{Experiment, KeyPath, Locator};
use crate::train::{Selection, TrainingSpec};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// The fully resolved configuration of one trial; its hash is the trial id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrialConfig {
    /// Backend.
    pub backend: BackendKind,
    /// Device.
    pub device: DeviceSel,
    /// Dataset and options.
    pub dataset: DatasetSpec,
    /// Training settings.
    pub training: TrainingSpec,
    /// The model variant.
    pub model: ModelVariant,
    /// The seed (initialisation, batches, dropout).
    pub seed: u64,
    /// `[report] select = "best"`: the selection metric and direction, which choose the
    /// weights the test split is evaluated on. Absent (and not serialised, so ids of trials
    /// without it are unchanged) for `select = "final"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub select_best: Option<Selection>,
}

impl TrialConfig {
    /// The backend choice.
    pub fn backend(&self) -> crate::backend::Backend {
        crate::backend::Backend { kind: self.backend, device: self.device }
    }
}

/// One planned trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// Position in the plan (`burnlab trial DIR INDEX`).
    pub index: usize,
    /// Stable id: a hash of the resolved config.
    pub id: String,
    /// The variant's label.
    pub label: String,
    /// The swept keys and the values this trial takes (empty without a sweep).
    pub swept: BTreeMap<String, toml::Value>,
    /// The resolved configuration.
    pub config: TrialConfig,
}

impl Trial {
    /// The variant and swept setting: `mlp lr=0.01`.
    pub fn setting_name(&self) -> String {
        let mut s = self.label.clone();
        for (k, v) in &self.swept {
            s.push_str(&format!(" {}={}", k.rsplit('.').next().unwrap_or(k), value_text(v)));
        }
        s
    }

    /// A short human-readable name: label, swept values, seed.
    pub fn name(&self) -> String {
        format!("{} seed={}", self.setting_name(), self.config.seed)
    }
}

/// A swept value as shown in names and tables (strings without quotes, numbers in one
/// canonical form whatever their spelling: see [`crate::spec::value`]).
pub fn value_text(v: &toml::Value) -> String {
    crate::spec::value::text(v)
}

/// All trials of an experiment, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// The experiment's name.
    pub experiment: String,
    /// The swept keys (table columns).
    pub swept_keys: Vec<String>,
    /// How tables rank and show results.
    pub report: crate::spec::ReportSpec,
    /// Published numbers to compare with.
    #[serde(default)]
    pub reference: Option<crate::spec::ReferenceSpec>,
    /// The trials.
    pub trials: Vec<Trial>,
}

/// Checks the number of trials before the plan is built: sweep points × models × seeds, at
/// most [`MAX_TRIALS`] (checked multiplication).
fn check_plan_size(exp: &Experiment, loc: &Locator<'_>) -> Result<(), UserError> {
    let (points, what) = match &exp.sweep {
        None => (Some(1), "1 setting".to_string()),
        Some(SweepSpec::Grid(grid)) => {
            let sizes: Vec<String> = grid.iter().map(|(_, v)| v.len().to_string()).collect();
            let n = grid.iter().try_fold(1usize, |n, (_, v)| n.checked_mul(v.len()));
            (n, format!("grid {} points", sizes.join(" x ")))
        }
        Some(SweepSpec::Random { trials, .. }) => (Some(*trials), format!("{trials} random draws")),
        Some(SweepSpec::Adaptive { trials, .. }) => (Some(*trials), format!("{trials} proposals")),
    };
    let total = points.and_then(|p| p.checked_mul(exp.models.len())).and_then(|n| n.checked_mul(exp.seeds.len()));
    match total {
        Some(n) if n <= MAX_TRIALS => Ok(()),
        _ => {
            let count = total.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string());
            Err(UserError::new(format!(
                "the plan has {count} trials ({what} x {} models x {} seeds), more than burnlab plans (at most {MAX_TRIALS})",
                exp.models.len(),
                exp.seeds.len()
            ))
            .at(loc.locate(&KeyPath::dotted("sweep.params"), false))
            .help("sweep fewer values (or fewer seeds), or split the sweep into several experiments"))
        }
    }
}

/// A sweep point: each swept key with the value it takes.
pub type Point = Vec<(String, toml::Value)>;

/// The sweep's points, in plan order (grid: the product in sorted key order; random: the
/// seeded draws; adaptive: the first proposal, the only one known before results come in).
fn points(sweep: Option<&SweepSpec>) -> Vec<Point> {
    match sweep {
        None => vec![Vec::new()],
        Some(SweepSpec::Grid(grid)) => grid::points(grid),
        Some(SweepSpec::Random { trials, seed, params }) => random::points(*trials, *seed, params),
        Some(SweepSpec::Adaptive { seed, params, .. }) => {
            use sampler::Sampler;
            vec![tpe::Tpe::new(*seed).sample(0, params, &[])]
        }
    }
}

/// The search strategy of `exp`'s `[sweep]`: [`grid::Grid`] (also for an experiment without a
/// sweep) or [`random::Random`], each holding its whole plan.
///
/// # Errors
/// The first invalid trial, as [`expand`].
pub fn strategy(exp: &Experiment) -> Result<Box<dyn SearchStrategy>, UserError> {
    Ok(match (&exp.sweep, &exp.pruner) {
        (Some(SweepSpec::Adaptive { seed, .. }), _) => {
            Box::new(search::Search::adaptive(exp, Box::new(tpe::Tpe::new(*seed))))
        }
        (Some(SweepSpec::Random { .. }), Some(_)) => Box::new(search::Search::fixed("random", expand(exp)?, exp)),
        (_, Some(_)) => Box::new(search::Search::fixed("grid", expand(exp)?, exp)),
        (Some(SweepSpec::Random { .. }), None) => Box::new(random::Random::new(exp)?),
        (None | Some(SweepSpec::Grid(_)), None) => Box::new(grid::Grid::new(exp)?),
    })
}

/// The trials of one sweep point: one per model variant and seed, in that order, each with
/// its label, the keys of `point` that apply to the variant, and its resolved configuration.
///
/// # Errors
/// The first invalid trial, as [`expand`].
pub fn point_trials(
    exp: &Experiment,
    point: &[(String, toml::Value)],
) -> Result<Vec<(String, Point, TrialConfig)>, UserError> {
    let loc = exp.locator();
    let mut out = Vec::new();
    for variant in &exp.models {
        let params = variant.spec.param_names();
        let applies = |k: &str| k.strip_prefix("model.").is_none_or(|p| params.iter().any(|n| n == p));
        let point: Point = point.iter().filter(|(k, _)| applies(k)).cloned().collect();
        for &seed in &exp.seeds {
            out.push((variant.label.clone(), point.clone(), resolve(exp, variant, &point, seed, &loc)?));
        }
    }
    Ok(out)
}

/// Expands an experiment into its trials. Each trial's configuration is resolved and checked
/// in parallel; the plan, and the first error in plan order, are the same as in sequence.
pub fn expand(exp: &Experiment) -> Result<Plan, UserError> {
    use rayon::prelude::*;
    let loc = exp.locator();
    check_plan_size(exp, &loc)?;
    let points = points(exp.sweep.as_ref());
    let swept_keys: Vec<String> = exp.sweep.as_ref().map(SweepSpec::keys).unwrap_or_default();
    check_model_keys(exp, &swept_keys, &loc)?;

    let mut trials: Vec<Trial> = Vec::new();
    let mut ids: BTreeMap<String, usize> = BTreeMap::new();
    for variant in &exp.models {
        let params = variant.spec.param_names();
        let applies = |k: &str| k.strip_prefix("model.").is_none_or(|p| params.iter().any(|n| n == p));
        let mut seen_points = HashSet::new();
        let mut jobs: Vec<(Point, u64)> = Vec::new();
        for point in &points {
            let point: Point = point.iter().filter(|(k, _)| applies(k)).cloned().collect();
            // Keys that do not apply to this variant would repeat its trials, and so would a
            // repeated value (reported as a warning when the sweep was read): keep each point once.
            if seen_points.insert(point_key(&point)) {
                jobs.extend(exp.seeds.iter().map(|&seed| (point.clone(), seed)));
            }
        }
        let resolved: Vec<Result<TrialConfig, UserError>> =
            jobs.par_iter().map(|(point, seed)| resolve(exp, variant, point, *seed, &loc)).collect();
        let ids_of: Vec<String> = resolved.par_iter().map(|r| r.as_ref().map(trial_id).unwrap_or_default()).collect();
        for (((point, _), config), id) in jobs.into_iter().zip(resolved).zip(ids_of) {
            let config = config?;
            if let Some(&other) = ids.get(&id) {
                return Err(UserError::new(format!(
                    "trials {other} and {} have the same configuration ({}): the sweep lists a value twice",
                    trials.len(),
                    trials[other].name()
                ))
                .at(loc.locate(&KeyPath::dotted("sweep.params"), false)));
            }
            ids.insert(id.clone(), trials.len());
            let swept = point.into_iter().collect();
            trials.push(Trial { index: trials.len(), id, label: variant.label.clone(), swept, config });
        }
    }
    Ok(Plan {
        experiment: exp.name.clone(),
        swept_keys,
        report: exp.report.clone(),
        reference: exp.reference.clone(),
        trials,
    })
}

fn check_model_keys(exp: &Experiment, keys: &[String], loc: &Locator<'_>) -> Result<(), UserError> {
    let all: Vec<String> = exp.models.iter().flat_map(|m| m.spec.param_names()).collect();
    for key in keys {
        if let Some(p) = key.strip_prefix("model.")
            && !all.iter().any(|n| n == p)
        {
            let mut e = UserError::new(format!("sweep key `{key}`: no [[models]] variant has a parameter `{p}`"))
                .at(loc.locate(&param_path(key), true));
            if let Some(s) = did_you_mean(p, all.iter().map(String::as_str)) {
                e = e.help(format!("did you mean `model.{s}`?"));
            }
            return Err(e);
        }
    }
    Ok(())
}

/// The help for a real number given where an integer is expected (a `log_uniform` draw on
/// `model.hidden`, say).
fn integer_help(message: &str) -> Option<String> {
    let integer = ["expected usize", "expected u64", "expected u32", "expected i64", "expected a non-negative integer"];
    (message.contains("floating point") && integer.iter().any(|t| message.contains(t))).then(|| {
        "this key takes integers: draw them with { int_range = [LOW, HIGH] } or, on a log scale, \
         { int_log_uniform = [LOW, HIGH] }"
            .to_string()
    })
}

/// Validates a resolved trial config and checks it against the limits; an error blames the
/// swept value of the key at fault (else the first swept value of its section).
fn check_resolved(
    exp: &Experiment,
    config: &TrialConfig,
    point: &[(String, toml::Value)],
    at_sweep: &dyn Fn(&str, String) -> UserError,
) -> Result<(), UserError> {
    // The base dataset was validated when the file was read (for `table`, by reading it).
    let dataset_swept = point.iter().any(|(k, _)| k.starts_with("dataset"));
    let field = |section: limits::Section, e: crate::check::FieldError| limits::LimitError {
        section,
        key: Some(e.key),
        message: e.message,
        help: None,
    };
    let (training, dataset, model) = (&config.training, &config.dataset, &config.model.spec);
    let resized = dataset_swept || point.iter().any(|(k, _)| k.starts_with("model"));
    limits::check_trial(dataset, training, model, &exp.memory_limit, resized, |info| {
        training.validate().map_err(|e| field(limits::Section::Training, e))?;
        if dataset_swept {
            dataset.validate().map_err(|e| field(limits::Section::Dataset, e))?;
        }
        model.validate(info).map_err(|e| field(limits::Section::Model, e))?;
        model.check_training(training).map_err(|e| field(limits::Section::Training, e))?;
        match &training.early_stopping {
            Some(w) if !model.metrics().contains(&w.metric) => Err(field(
                limits::Section::Training,
                crate::check::FieldError::new(
                    "early_stopping.metric",
                    format!("is not a metric `{}` records", model.name()),
                ),
            )),
            Some(w) => w.check_split(dataset.has_validation()).map_err(|e| field(limits::Section::Training, e)),
            None => Ok(()),
        }
    })
    .map_err(|e| {
        let section = match e.section {
            limits::Section::Training => "training",
            limits::Section::Dataset => "dataset",
            limits::Section::Model => "model",
        };
        let key = e.key.as_ref().map_or(section.to_string(), |k| format!("{section}.{k}"));
        // Blame the swept value of that key, else the first swept value of its section.
        let (k, v) = point
            .iter()
            .find(|(k, _)| *k == key)
            .or_else(|| point.iter().find(|(k, _)| k.starts_with(section)))
            .unwrap_or(&point[0]);
        let mut err = at_sweep(k, format!("sweep value {k} = {v}: `{key}` {}", e.message));
        err.help = e.help;
        err
    })
}

/// Builds and validates one trial's config: base config (the file's sections, or the
/// variant's own recipe), swept values written in, seed.
fn resolve(
    exp: &Experiment,
    variant: &ModelVariant,
    point: &[(String, toml::Value)],
    seed: u64,
    loc: &Locator<'_>,
) -> Result<TrialConfig, UserError> {
    let (training, dataset) = exp.recipe(&variant.label);
    let base = TrialConfig {
        backend: exp.backend.kind,
        device: exp.backend.device,
        dataset: dataset.clone(),
        training: training.clone(),
        model: variant.clone(),
        seed,
        select_best: exp.report.selection(),
    };
    if point.is_empty() {
        return Ok(base);
    }
    let mut doc = toml::Table::try_from(&base).expect("trial configs serialise to TOML");
    for (key, value) in point {
        // A dataset given by name stands for that dataset with default options (and the
        // file's `validation`, else its own default).
        let value = match (key.as_str(), value) {
            ("dataset", toml::Value::String(name)) => {
                let given = exp.document.get("dataset").and_then(|d| d.get("validation"));
                toml::Value::Table(DatasetSpec::table_named(name, given))
            }
            (_, v) => v.clone(),
        };
        let o = crate::spec::Override { raw: key.clone(), path: KeyPath::dotted(key), value };
        o.apply(&mut doc)?;
    }
    let at_sweep = |key: &str, message: String| UserError::new(message).at(loc.locate(&param_path(key), false));
    let blame = |path: &KeyPath| {
        point
            .iter()
            .find(|(k, _)| path.starts_with(&KeyPath::dotted(k)) || KeyPath::dotted(k).starts_with(path))
            .map(|(k, v)| (k.clone(), v.clone()))
    };
    let config: TrialConfig = serde_path_to_error::deserialize(toml::Value::Table(doc)).map_err(|e| {
        let path = KeyPath::from_serde(e.path());
        let (msg, help, _) = crate::spec::source::explain(e.inner().message());
        match blame(&path) {
            Some((k, v)) => {
                let mut err = at_sweep(&k, format!("sweep value {k} = {v}: {msg}"));
                err.help = help.or_else(|| integer_help(&msg));
                err
            }
            None => UserError::new(format!("`{path}`: {msg}")).at(loc.source.path.display().to_string()),
        }
    })?;
    check_resolved(exp, &config, point, &at_sweep)?;
    config
        .backend()
        .check()
        .map_err(|e| UserError { location: Some(loc.locate(&param_path("backend"), false)), ..e })?;
    Ok(config)
}
