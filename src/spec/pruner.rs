//! `[sweep] pruner = { kind = "asha", ... }`: which running trials stop early, as written
//! ([`RawPruner`]) and validated ([`PrunerSpec`]). The pruners themselves live in the
//! top-level `sweep` module (`sweep/pruner.rs`).

use super::{KeyPath, Locator, deserialize_at};
use crate::data::DatasetSpec;
use crate::error::UserError;
use crate::models::ModelVariant;
use crate::train::Mode;
use serde::{Deserialize, Serialize};

/// The pruning rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrunerKind {
    /// Asynchronous successive halving (Li et al. 2020; Optuna's `SuccessiveHalvingPruner`).
    Asha,
    /// Hyperband: successive halving in several brackets (Li et al. 2018; Optuna's
    /// `HyperbandPruner`).
    Hyperband,
    /// Stop a trial whose best value so far is worse than the median of completed trials at
    /// the same step (Optuna's `MedianPruner`).
    Median,
}

impl PrunerKind {
    /// The name as written in `kind`.
    pub fn name(self) -> &'static str {
        match self {
            PrunerKind::Asha => "asha",
            PrunerKind::Hyperband => "hyperband",
            PrunerKind::Median => "median",
        }
    }
}

/// The `pruner` table as written: every key of every kind, checked against `kind` in
/// [`RawPruner::into_typed`].
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPruner {
    /// `asha`, `hyperband` or `median`.
    pub kind: PrunerKind,
    /// The metric judged, `split.name`; the validation counterpart of `[report] metric` when
    /// absent.
    pub metric: Option<String>,
    /// `min` or `max`; from the metric's name when absent (as `early_stopping.mode`).
    pub mode: Option<Mode>,
    /// asha, hyperband: the first rung, in training steps.
    pub min_steps: Option<usize>,
    /// asha, hyperband: the rungs' growth factor (at least 2; default 3).
    pub reduction_factor: Option<usize>,
    /// asha: rungs start at `min_steps * reduction_factor^min_early_stopping_rate` (default 0).
    pub min_early_stopping_rate: Option<usize>,
    /// median: completed trials needed before anything is pruned (default 5).
    pub n_startup_trials: Option<usize>,
    /// median: steps before which a trial is never pruned (default 0).
    pub n_warmup_steps: Option<usize>,
    /// median: steps between pruning checks after the warm-up (default 1: every evaluation).
    pub interval: Option<usize>,
}

/// A validated pruner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrunerSpec {
    /// The rule.
    pub kind: PrunerKind,
    /// The metric judged (`valid.accuracy`), recorded at every evaluation during training.
    pub metric: String,
    /// Whether larger values of `metric` are better.
    pub maximize: bool,
    /// asha, hyperband: the first rung, in steps (median: 0).
    pub min_steps: usize,
    /// hyperband: the last rung, in steps (`training.steps`).
    pub max_steps: usize,
    /// asha, hyperband: rungs grow by this factor.
    pub reduction_factor: usize,
    /// asha: the rung offset.
    pub min_early_stopping_rate: usize,
    /// median: completed trials before any pruning.
    pub n_startup_trials: usize,
    /// median: the warm-up, in steps.
    pub n_warmup_steps: usize,
    /// median: steps between checks.
    pub interval: usize,
}

fn path(key: &str) -> KeyPath {
    KeyPath::dotted("sweep.pruner").key(key)
}

/// What the pruner needs to know of the experiment to check its metric.
pub struct PrunerContext<'a> {
    /// The model variants (each must record the metric).
    pub models: &'a [ModelVariant],
    /// The dataset (whether it has a validation split).
    pub dataset: &'a DatasetSpec,
    /// `[report] metric`, the default's source.
    pub report_metric: &'a str,
    /// `training.steps`: hyperband's last rung.
    pub steps: usize,
}

impl RawPruner {
    /// Reads the `pruner` value at `sweep.pruner`.
    ///
    /// # Errors
    /// Unknown keys or kinds (with a did-you-mean), wrong types, located in the file.
    pub fn read(value: toml::Value, loc: &Locator<'_>) -> Result<Self, UserError> {
        deserialize_at(value, &KeyPath::dotted("sweep.pruner"), loc)
    }

    /// Checks the keys against `kind` and the metric against the experiment.
    ///
    /// # Errors
    /// A key that does not apply to `kind`, a value out of range, a metric a model does not
    /// record or that is not evaluated during training; each located at its key.
    pub fn into_typed(self, cx: &PrunerContext<'_>, loc: &Locator<'_>) -> Result<PrunerSpec, UserError> {
        let at = |key: &str, msg: String| UserError::new(msg).at(loc.locate(&path(key), true));
        let given = [
            ("min_steps", self.min_steps.is_some(), "asha, hyperband"),
            ("reduction_factor", self.reduction_factor.is_some(), "asha, hyperband"),
            ("min_early_stopping_rate", self.min_early_stopping_rate.is_some(), "asha"),
            ("n_startup_trials", self.n_startup_trials.is_some(), "median"),
            ("n_warmup_steps", self.n_warmup_steps.is_some(), "median"),
            ("interval", self.interval.is_some(), "median"),
        ];
        for (key, set, kinds) in given {
            if set && !kinds.split(", ").any(|k| k == self.kind.name()) {
                return Err(at(
                    key,
                    format!("`sweep.pruner.{key}` applies to kind = {kinds} only, not {}", self.kind.name()),
                ));
            }
        }
        let halving = self.kind != PrunerKind::Median;
        let min_steps = match self.min_steps {
            Some(0) => return Err(at("min_steps", "`sweep.pruner.min_steps` must be at least 1".into())),
            Some(n) => n,
            None if self.kind == PrunerKind::Asha => {
                return Err(UserError::new("an asha pruner needs `min_steps` (the first rung, in training steps)")
                    .at(loc.locate(&KeyPath::dotted("sweep.pruner"), false))
                    .help("e.g. pruner = { kind = \"asha\", min_steps = 100, reduction_factor = 3 }"));
            }
            None => usize::from(halving),
        };
        if halving && min_steps > cx.steps {
            return Err(at(
                "min_steps",
                format!(
                    "`sweep.pruner.min_steps` is {min_steps}, more than `training.steps` ({}): no rung is reached",
                    cx.steps
                ),
            ));
        }
        let reduction_factor = self.reduction_factor.unwrap_or(3);
        if reduction_factor < 2 {
            return Err(at(
                "reduction_factor",
                format!("`sweep.pruner.reduction_factor` must be at least 2, got {reduction_factor}"),
            ));
        }
        if self.interval == Some(0) {
            return Err(at("interval", "`sweep.pruner.interval` must be at least 1".into()));
        }
        let metric = self.checked_metric(cx, loc)?;
        let maximize = self.mode.unwrap_or_else(|| crate::train::mode_of(&metric)) == Mode::Max;
        Ok(PrunerSpec {
            kind: self.kind,
            metric,
            maximize,
            min_steps: if halving { min_steps } else { 0 },
            max_steps: cx.steps,
            reduction_factor,
            min_early_stopping_rate: self.min_early_stopping_rate.unwrap_or(0),
            n_startup_trials: self.n_startup_trials.unwrap_or(5),
            n_warmup_steps: self.n_warmup_steps.unwrap_or(0),
            interval: self.interval.unwrap_or(1),
        })
    }

    /// The metric: given or the default, recorded by every model, on the split evaluated
    /// during training.
    fn checked_metric(&self, cx: &PrunerContext<'_>, loc: &Locator<'_>) -> Result<String, UserError> {
        let has_valid = cx.dataset.has_validation();
        let metric = match &self.metric {
            Some(m) => m.clone(),
            None => crate::train::valid_counterpart(cx.report_metric)
                .filter(|_| has_valid)
                .unwrap_or_else(|| cx.report_metric.to_string()),
        };
        let at = |msg: String| {
            let p = if self.metric.is_some() { path("metric") } else { KeyPath::dotted("sweep.pruner") };
            UserError::new(msg).at(loc.locate(&p, false))
        };
        for m in cx.models {
            let recorded = m.spec.metrics();
            if !recorded.contains(&metric) {
                let mut e = at(format!("pruner metric `{metric}` is not a metric `{}` records", m.spec.name()));
                if let Some(s) = crate::error::did_you_mean(&metric, recorded.iter().map(String::as_str)) {
                    e = e.help(format!("did you mean `{s}`?"));
                }
                return Err(e);
            }
        }
        let split = metric.split_once('.').map_or("", |(s, _)| s);
        let evaluated = if has_valid { "valid" } else { "test" };
        if split != evaluated {
            return Err(at(format!(
                "pruner metric `{metric}` is not evaluated during training: trials are judged on the `{evaluated}.` split{}",
                if has_valid { " (the test split is evaluated once, after training)" } else { " (`dataset.validation = 0`)" }
            ))
            .help(format!("judge `{evaluated}.{}`", metric.split_once('.').map_or(metric.as_str(), |(_, n)| n))));
        }
        Ok(metric)
    }
}
