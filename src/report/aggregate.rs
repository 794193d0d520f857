//! Aggregates over datasets: where a sweep varies the dataset, each variant's interquartile
//! mean (IQM) of the primary metric over the runs of every dataset, with a stratified
//! bootstrap 95% interval (Agarwal et al. 2021; see [`super::stats::bootstrap`]). The scores
//! are not normalised per dataset: the IQM is meaningful for metrics on a common scale
//! (accuracies, which is what the shipped dataset sweeps report).

use super::stats::bootstrap::{RESAMPLES, SEED, stratified_iqm};
use super::{Group, is_dataset_key, partitions};
use crate::sweep::Plan;

/// One variant's aggregate over datasets.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The variant and its swept values other than the dataset.
    pub name: String,
    /// The IQM of the runs of every dataset.
    pub iqm: f64,
    /// The stratified-bootstrap 95% interval.
    pub ci: Option<(f64, f64)>,
    /// Tasks (datasets; in a comparison, experiment and dataset) with runs.
    pub tasks: usize,
    /// Runs in all.
    pub runs: usize,
}

/// The aggregates, one per variant and non-dataset setting, in table order; empty unless the
/// sweep varies the dataset.
pub fn aggregates(plan: &Plan, groups: &[Group]) -> Vec<Aggregate> {
    if partitions(plan, groups).len() < 2 {
        return Vec::new();
    }
    let name = |g: &Group| {
        let mut s = g.label.clone();
        for (k, v) in plan.swept_keys.iter().zip(&g.swept) {
            if !is_dataset_key(k) && !v.is_empty() {
                s.push_str(&format!(" {}={v}", k.rsplit('.').next().unwrap_or(k)));
            }
        }
        s
    };
    let mut by_name: Vec<(String, Vec<Vec<f64>>)> = Vec::new();
    for g in groups {
        let n = name(g);
        match by_name.iter_mut().find(|(m, _)| *m == n) {
            Some((_, tasks)) => tasks.push(g.primary.clone()),
            None => by_name.push((n, vec![g.primary.clone()])),
        }
    }
    by_name
        .into_iter()
        .filter_map(|(name, tasks)| {
            let (iqm, ci) = stratified_iqm(&tasks, RESAMPLES, SEED)?;
            let tasks_with_runs = tasks.iter().filter(|t| !t.is_empty()).count();
            Some(Aggregate { name, iqm, ci, tasks: tasks_with_runs, runs: tasks.iter().map(Vec::len).sum() })
        })
        .collect()
}

/// The aggregates as Markdown lines (empty without).
pub fn markdown(plan: &Plan, aggs: &[Aggregate]) -> String {
    if aggs.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "\nAcross datasets: interquartile mean of `{}` over every run of every task (dataset; in a comparison, \
         experiment and dataset), 95% stratified bootstrap CI ({RESAMPLES} resamples, runs resampled within each \
         task; Agarwal et al. 2021):\n\n",
        plan.report.metric
    );
    for a in aggs {
        let ci = a.ci.map_or("–".into(), |c| format!("[{:.4}, {:.4}]", c.0, c.1));
        out.push_str(&format!(
            "- {}: IQM {:.4}, {ci} ({} tasks, {} runs)\n",
            super::markdown::escape(&a.name),
            a.iqm,
            a.tasks,
            a.runs
        ));
    }
    out
}
