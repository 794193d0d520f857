//! Which evaluation a run reports, and on which weights the test split is evaluated: the
//! last, or the one with the best validation value of the primary metric (`[report] select`).

use super::Metrics;
use serde::{Deserialize, Serialize};

/// Select the evaluation with the best value of `metric` (its validation counterpart when the
/// evaluation has one, see [`Selection::value`]): `[report] select = "best"`, resolved into
/// the trial's configuration (and so its id) as plain data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    /// The primary metric as `split.name` (`test.accuracy`).
    pub metric: String,
    /// Whether larger values are better (accuracy) or smaller ones (loss).
    pub maximize: bool,
}

/// The validation counterpart of a test metric: `test.accuracy` → `valid.accuracy`; `None`
/// for metrics of other splits (`train.loss`).
pub fn valid_counterpart(metric: &str) -> Option<String> {
    metric.strip_prefix("test.").map(|name| format!("valid.{name}"))
}

impl Selection {
    /// The value an evaluation is judged by: the validation counterpart of the metric when
    /// `metrics` has it, else the metric itself (a dataset without a validation split: the
    /// selection is on the test split); `None` when neither was recorded.
    pub fn value(&self, metrics: &Metrics) -> Option<f64> {
        valid_counterpart(&self.metric).and_then(|v| metrics.get(&v)).or_else(|| metrics.get(&self.metric)).copied()
    }

    /// Whether `value` is strictly better than `than` (ties keep the earlier evaluation).
    pub fn better(&self, value: f64, than: f64) -> bool {
        if self.maximize { value > than } else { value < than }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_on_the_validation_counterpart_when_recorded() {
        let sel = Selection { metric: "test.accuracy".into(), maximize: true };
        let both = Metrics::from([("valid.accuracy".into(), 0.7), ("test.accuracy".into(), 0.9)]);
        assert_eq!(sel.value(&both), Some(0.7));
        assert_eq!(sel.value(&Metrics::from([("test.accuracy".into(), 0.9)])), Some(0.9));
        assert_eq!(sel.value(&Metrics::new()), None);
        assert!(sel.better(0.8, 0.7) && !sel.better(0.7, 0.7));
        let loss = Selection { metric: "train.loss".into(), maximize: false };
        assert_eq!(valid_counterpart(&loss.metric), None);
        assert!(loss.better(0.1, 0.2) && !loss.better(0.2, 0.2));
    }
}
