//! The data behind `report.html`: learning curves, parallel coordinates, Pareto fronts, the
//! trials and their states, sample grids. Plain values (serialised to JSON into the page);
//! the figures' SVG versions ([`super::figures`]) draw the same values.

use super::curves::{Curve, curves};
use crate::error::Result;
use crate::results::{MetricsLog, TrialStatus, TrialSummary, paths};
use crate::spec::Direction;
use crate::sweep::Plan;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::Path;

/// At most this many learning-curve charts (metrics) per report.
pub const MAX_CURVES: usize = 8;

/// One metric's learning curves: per variant setting, `(step, mean, std)` over seeds.
#[derive(Debug, Clone, Serialize)]
pub struct Curves {
    /// `split.name`.
    pub metric: String,
    /// One per variant setting.
    pub series: Vec<Series>,
}

/// One variant setting's curve.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    /// The setting's name (`mlp lr=0.01`).
    pub name: String,
    /// `[step, mean, std]`.
    pub points: Vec<(f64, f64, f64)>,
}

/// Every metric with an evaluation at two steps or more in some completed trial's
/// `metrics.csv`, as `split.name`: training first, then validation, then test.
pub fn curve_metrics(dir: &Path, plan: &Plan, summaries: &[Option<TrialSummary>]) -> Vec<String> {
    let mut seen: BTreeSet<(usize, String)> = BTreeSet::new();
    for (t, s) in plan.trials.iter().zip(summaries) {
        if s.as_ref().is_none_or(|s| s.status != TrialStatus::Completed) {
            continue;
        }
        let log = MetricsLog::read(&paths::trial_dir(dir, &t.id));
        let names: BTreeSet<(String, String)> = log.rows.iter().map(|r| (r.split.clone(), r.metric.clone())).collect();
        for (split, metric) in names {
            let name = format!("{split}.{metric}");
            let order = match split.as_str() {
                "train" => 0,
                "valid" => 1,
                _ => 2,
            };
            if log.curve(&name).len() >= 2 {
                seen.insert((order, name));
            }
        }
        if seen.len() >= MAX_CURVES {
            break;
        }
    }
    seen.into_iter().map(|(_, m)| m).take(MAX_CURVES).collect()
}

/// The learning curves of every metric of [`curve_metrics`].
pub fn all_curves(dir: &Path, plan: &Plan, summaries: &[Option<TrialSummary>]) -> Vec<Curves> {
    curve_metrics(dir, plan, summaries)
        .into_iter()
        .filter_map(|metric| {
            let series: Vec<Curve> = curves(dir, plan, summaries, &metric)?;
            let series = series.into_iter().map(|(name, points)| Series { name, points }).collect();
            Some(Curves { metric, series })
        })
        .collect()
}

/// A parallel-coordinates axis.
#[derive(Debug, Clone, Serialize)]
pub struct Axis {
    /// The key (`variant`, a swept key, the primary metric).
    pub name: String,
    /// `value` or `category`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The categories of a `category` axis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Vec<String>>,
}

/// Parallel coordinates: one line per completed trial through the variant, every swept key
/// and the primary metric.
#[derive(Debug, Clone, Serialize)]
pub struct Parallel {
    /// The axes, the primary metric last.
    pub axes: Vec<Axis>,
    /// One line per trial: a number for a value axis, the text for a category axis.
    pub lines: Vec<Vec<serde_json::Value>>,
    /// The primary metric's range (colour scale).
    pub min: f64,
    /// See `min`.
    pub max: f64,
}

/// The completed trials with a finite primary metric.
pub fn scored<'a>(
    plan: &'a Plan,
    summaries: &'a [Option<TrialSummary>],
) -> Vec<(&'a crate::sweep::Trial, &'a TrialSummary, f64)> {
    plan.trials
        .iter()
        .zip(summaries)
        .filter_map(|(t, s)| {
            let s = s.as_ref().filter(|s| s.status == TrialStatus::Completed)?;
            let v = s.final_metrics.get(&plan.report.metric).copied().filter(|v| v.is_finite())?;
            Some((t, s, v))
        })
        .collect()
}

/// The parallel coordinates (`None` without a scored trial).
pub fn parallel(plan: &Plan, summaries: &[Option<TrialSummary>]) -> Option<Parallel> {
    let trials = scored(plan, summaries);
    let (min, max) = trials.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), t| (a.min(t.2), b.max(t.2)));
    if trials.is_empty() {
        return None;
    }
    let mut labels: Vec<String> = Vec::new();
    for (t, _, _) in &trials {
        if !labels.contains(&t.label) {
            labels.push(t.label.clone());
        }
    }
    let mut axes = vec![Axis { name: "variant".into(), kind: "category", data: Some(labels) }];
    let mut numeric = Vec::new();
    for k in &plan.swept_keys {
        let values: Vec<Option<&toml::Value>> = trials.iter().map(|(t, _, _)| t.swept.get(k)).collect();
        let is_num = values.iter().flatten().all(|v| crate::spec::value::as_number(v).is_some());
        numeric.push(is_num);
        let data = (!is_num).then(|| {
            let mut d: Vec<String> = Vec::new();
            for v in values.iter().map(|v| v.map(crate::sweep::value_text).unwrap_or_default()) {
                if !d.contains(&v) {
                    d.push(v);
                }
            }
            d
        });
        axes.push(Axis { name: k.clone(), kind: if is_num { "value" } else { "category" }, data });
    }
    axes.push(Axis { name: plan.report.metric.clone(), kind: "value", data: None });
    let lines = trials
        .iter()
        .map(|(t, _, v)| {
            let mut line = vec![serde_json::json!(t.label)];
            for (k, is_num) in plan.swept_keys.iter().zip(&numeric) {
                let x = t.swept.get(k);
                line.push(match (x, is_num) {
                    (Some(x), true) => serde_json::json!(crate::spec::value::as_number(x)),
                    (x, _) => serde_json::json!(x.map(crate::sweep::value_text).unwrap_or_default()),
                });
            }
            line.push(serde_json::json!(v));
            line
        })
        .collect();
    Some(Parallel { axes, lines, min, max })
}

/// A Pareto chart: the primary metric against a cost, per variant, and the front.
#[derive(Debug, Clone, Serialize)]
pub struct Pareto {
    /// The cost: `num_params` or `wall_time_s`.
    pub x: String,
    /// Whether the cost axis is logarithmic (costs spanning more than a factor of 100).
    pub log: bool,
    /// Step shape of the front line for ECharts (`end`: the front rises at each point).
    pub step: &'static str,
    /// Per variant: `[cost, metric, trial name]`.
    pub variants: Vec<ParetoVariant>,
    /// The fronts, one per dataset (results on different datasets are not comparable; one
    /// front, named "", without a dataset sweep): `(dataset, points)`, the points being the
    /// trials no other trial of the dataset beats on both the cost (lower) and the metric.
    pub fronts: Vec<(String, Vec<(f64, f64)>)>,
}

/// One variant's trials on a Pareto chart.
#[derive(Debug, Clone, Serialize)]
pub struct ParetoVariant {
    /// The variant's label.
    pub name: String,
    /// `(cost, metric, trial name)`.
    pub points: Vec<(f64, f64, String)>,
}

/// The non-dominated points of `(cost, value)`: lower cost and better value (larger when
/// `maximize`), sorted by cost.
pub fn pareto_front(points: &[(f64, f64)], maximize: bool) -> Vec<(f64, f64)> {
    let mut sorted: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
    let better = |a: f64, b: f64| if maximize { a > b } else { a < b };
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0).then(if maximize { b.1.total_cmp(&a.1) } else { a.1.total_cmp(&b.1) }));
    let mut front: Vec<(f64, f64)> = Vec::new();
    for p in sorted {
        if front.last().is_none_or(|last| better(p.1, last.1)) {
            front.push(p);
        }
    }
    front
}

/// A trial's cost on a Pareto chart.
type Cost = fn(&TrialSummary) -> f64;

/// The two Pareto charts: against the parameter count and against the training time.
pub fn paretos(plan: &Plan, summaries: &[Option<TrialSummary>]) -> Vec<Pareto> {
    let trials = scored(plan, summaries);
    if trials.is_empty() {
        return Vec::new();
    }
    let maximize = plan.report.direction() == Direction::Max;
    let costs: [(&str, Cost); 2] = [("num_params", |s| s.num_params as f64), ("wall_time_s", |s| s.wall_time_s)];
    costs
        .iter()
        .map(|(name, cost)| {
            let mut variants: Vec<ParetoVariant> = Vec::new();
            for (t, s, v) in &trials {
                let point = (cost(s), *v, t.name());
                match variants.iter_mut().find(|p| p.name == t.label) {
                    Some(p) => p.points.push(point),
                    None => variants.push(ParetoVariant { name: t.label.clone(), points: vec![point] }),
                }
            }
            let all: Vec<(f64, f64)> = trials.iter().map(|(_, s, v)| (cost(s), *v)).collect();
            let mut by_dataset: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
            for ((t, _, _), point) in trials.iter().zip(&all) {
                let key: Vec<String> = plan
                    .swept_keys
                    .iter()
                    .filter(|k| super::is_dataset_key(k))
                    .map(|k| t.swept.get(k).map(crate::sweep::value_text).unwrap_or_default())
                    .collect();
                let key = key.join(", ");
                match by_dataset.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, pts)) => pts.push(*point),
                    None => by_dataset.push((key, vec![*point])),
                }
            }
            let (lo, hi) = all.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| (a.min(p.0), b.max(p.0)));
            Pareto {
                x: name.to_string(),
                log: lo > 0.0 && hi / lo > 100.0,
                step: "end",
                variants,
                fronts: by_dataset.into_iter().map(|(k, pts)| (k, pareto_front(&pts, maximize))).collect(),
            }
        })
        .collect()
}

/// One trial's state, for the trials table.
#[derive(Debug, Clone, Serialize)]
pub struct TrialRow {
    /// The trial id.
    pub id: String,
    /// Variant, swept values, seed.
    pub name: String,
    /// `completed`, `diverged`, `failed`, `interrupted`, `pruned` or `pending` (no summary).
    pub status: String,
    /// Steps run.
    pub steps: Option<usize>,
    /// The step the trial diverged at.
    pub diverged_at: Option<usize>,
    /// The primary metric.
    pub value: Option<f64>,
    /// The error of a failed trial.
    pub error: Option<String>,
}

/// Every planned trial and its state.
pub fn trial_rows(plan: &Plan, summaries: &[Option<TrialSummary>]) -> Vec<TrialRow> {
    plan.trials
        .iter()
        .zip(summaries)
        .map(|(t, s)| TrialRow {
            id: t.id.clone(),
            name: t.name(),
            status: s.as_ref().map_or("pending", |s| s.status.name()).to_string(),
            steps: s.as_ref().map(|s| s.steps),
            diverged_at: s.as_ref().and_then(|s| s.diverged_at),
            value: s.as_ref().and_then(|s| s.final_metrics.get(&plan.report.metric).copied()),
            error: s.as_ref().and_then(|s| s.error.clone()),
        })
        .collect()
}

/// A sample image: its caption and PNG bytes.
pub type Sample = (String, Vec<u8>);

/// GAN sample grids: each variant setting's first completed trial's latest `samples.png`, and
/// the PNGs of the results directory's `samples/` folder (committed results keep them there).
///
/// # Errors
/// None in practice: an unreadable image is left out.
pub fn samples(dir: &Path, plan: &Plan, summaries: &[Option<TrialSummary>]) -> Result<Vec<Sample>> {
    let mut out: Vec<Sample> = Vec::new();
    let mut settings = BTreeSet::new();
    for (t, s) in plan.trials.iter().zip(summaries) {
        if s.as_ref().is_none_or(|s| s.status != TrialStatus::Completed) || !settings.insert(t.setting_name()) {
            continue;
        }
        if let Ok(png) = std::fs::read(paths::trial_dir(dir, &t.id).join("samples.png")) {
            out.push((t.name(), png));
        }
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("samples")) {
        let mut files: Vec<_> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "png")).collect();
        files.sort();
        for f in files {
            if let Ok(png) = std::fs::read(&f) {
                out.push((f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(), png));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::pareto_front;

    #[test]
    fn the_front_keeps_the_trials_nothing_beats_on_both_axes() {
        let pts = [(10.0, 0.5), (20.0, 0.7), (15.0, 0.4), (30.0, 0.65), (5.0, 0.2), (20.0, 0.6)];
        assert_eq!(pareto_front(&pts, true), vec![(5.0, 0.2), (10.0, 0.5), (20.0, 0.7)]);
        // Lower is better: the cheapest point is also the best here.
        assert_eq!(pareto_front(&pts, false), vec![(5.0, 0.2)]);
        assert!(pareto_front(&[(f64::NAN, 1.0)], true).is_empty());
    }
}
