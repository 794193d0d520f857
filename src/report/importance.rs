//! Hyperparameter importance: the share of the primary metric's variance over the completed
//! trials that each swept key (and the model variant) explains on its own, a first-order
//! functional ANOVA (Hutter, Hoos & Leyton-Brown 2014, "An Efficient Approach for Assessing
//! Hyperparameter Importance") computed on the observed trials instead of on a random-forest
//! surrogate as Optuna's default `FanovaImportanceEvaluator` does: for a full grid, which is
//! what most sweeps are, the marginal means are the grid's own and the decomposition is exact.
//! Keys drawn from continuous distributions (random search) are binned into quartiles of
//! their values. The shares do not sum to 1: the rest is interactions and seed noise.

use super::page::scored;
use crate::results::TrialSummary;
use crate::sweep::Plan;
use std::collections::BTreeMap;

/// How importance is computed, for the report.
pub const METHOD: &str = "Share of the variance of the primary metric over the completed trials explained by each \
    swept key on its own (first-order functional ANOVA on the observed trials, Hutter et al. 2014; Optuna's \
    default evaluator fits a random forest first, unnecessary on a grid; continuous keys binned into quartiles). \
    The rest is interactions and seed noise.";

/// The level of `x` among `all` (its quartile for keys with more than 8 distinct numbers).
fn level(x: &toml::Value, numbers: &[f64]) -> String {
    match crate::spec::value::as_number(x) {
        Some(v) if numbers.len() > 8 => {
            let q = numbers.iter().filter(|&&n| n < v).count() * 4 / numbers.len();
            format!("q{q}")
        }
        _ => crate::sweep::value_text(x),
    }
}

/// The share of variance of `values` explained by the grouping `levels` (same order).
fn explained(levels: &[String], values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let total: f64 = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    if total <= 0.0 {
        return 0.0;
    }
    let mut by: BTreeMap<&str, (f64, usize)> = BTreeMap::new();
    for (l, v) in levels.iter().zip(values) {
        let e = by.entry(l.as_str()).or_default();
        e.0 += v;
        e.1 += 1;
    }
    let between: f64 = by.values().map(|(s, k)| *k as f64 * (s / *k as f64 - mean).powi(2)).sum::<f64>() / n;
    (between / total).clamp(0.0, 1.0)
}

/// `(key, share)` for the variant (when there are several) and every swept key that takes
/// two values or more, largest first; empty with fewer than 4 scored trials.
pub fn importance(plan: &Plan, summaries: &[Option<TrialSummary>]) -> Vec<(String, f64)> {
    let trials = scored(plan, summaries);
    if trials.len() < 4 {
        return Vec::new();
    }
    let values: Vec<f64> = trials.iter().map(|t| t.2).collect();
    let mut out = Vec::new();
    let labels: Vec<String> = trials.iter().map(|t| t.0.label.clone()).collect();
    if labels.iter().any(|l| *l != labels[0]) {
        out.push(("variant".to_string(), explained(&labels, &values)));
    }
    for k in &plan.swept_keys {
        let mut numbers: Vec<f64> =
            trials.iter().filter_map(|t| t.0.swept.get(k).and_then(crate::spec::value::as_number)).collect();
        numbers.sort_by(f64::total_cmp);
        numbers.dedup();
        let levels: Vec<String> =
            trials.iter().map(|t| t.0.swept.get(k).map(|x| level(x, &numbers)).unwrap_or_default()).collect();
        if levels.iter().any(|l| *l != levels[0]) {
            out.push((k.clone(), explained(&levels, &values)));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

#[cfg(test)]
mod tests {
    use super::explained;

    #[test]
    fn a_key_that_decides_the_metric_explains_all_of_it() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(explained(&l(&["a", "a", "b", "b"]), &[1.0, 1.0, 3.0, 3.0]), 1.0);
        assert_eq!(explained(&l(&["a", "b", "a", "b"]), &[1.0, 1.0, 3.0, 3.0]), 0.0);
        // Half the variance between levels: means 1.5 and 2.5 around 2, spread 0.5 within.
        let half = explained(&l(&["a", "a", "b", "b"]), &[1.0, 2.0, 2.0, 3.0]);
        assert!((half - 0.5).abs() < 1e-12, "{half}");
    }
}
