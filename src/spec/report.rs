//! The `[report]` section: which metric ranks variants, which columns tables show, and which
//! evaluation of a trial is reported (`select`).

use super::FieldError;
use crate::train::Selection;
use serde::{Deserialize, Serialize};

/// Whether larger or smaller values of the primary metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Larger is better (accuracy).
    Max,
    /// Smaller is better (loss).
    Min,
}

/// Which weights a trial's test split is evaluated on (`[report] select`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Select {
    /// The last weights (the default).
    #[default]
    Final,
    /// The weights of the evaluation with the best validation value of the primary metric
    /// (with `validation = 0`, the best test value: selection on the test split).
    Best,
}

impl Select {
    /// Whether this is the default, [`Select::Final`] (not serialised: plans and ids of files
    /// without the key are unchanged).
    pub fn is_final(&self) -> bool {
        *self == Select::Final
    }
}

/// The `[report]` section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportSpec {
    /// The primary metric, as `split.name` (`test.accuracy`).
    pub metric: String,
    /// Better direction; defaults to `min` for losses, `mse` and `mae`, and `max` otherwise.
    pub direction: Option<Direction>,
    /// Further metrics to show in tables.
    pub columns: Vec<String>,
    /// Which evaluation each trial reports, and whose weights its test split is evaluated on.
    #[serde(skip_serializing_if = "Select::is_final")]
    pub select: Select,
}

impl Default for ReportSpec {
    fn default() -> Self {
        Self {
            metric: "test.accuracy".into(),
            direction: None,
            columns: vec!["test.loss".into(), "train.loss".into()],
            select: Select::Final,
        }
    }
}

impl ReportSpec {
    /// The effective direction.
    pub fn direction(&self) -> Direction {
        let min = ["loss", ".mse", ".mae"].iter().any(|end| self.metric.ends_with(end));
        self.direction.unwrap_or(if min { Direction::Min } else { Direction::Max })
    }

    /// What the trainer selects by with `select = "best"` (`None` with `final`): the primary
    /// metric and its direction.
    pub fn selection(&self) -> Option<Selection> {
        (self.select == Select::Best)
            .then(|| Selection { metric: self.metric.clone(), maximize: self.direction() == Direction::Max })
    }

    /// The metric tables rank by: the validation counterpart of the primary metric
    /// (`valid.accuracy` for `test.accuracy`), or `None` when it has none (`train.loss`).
    pub fn validation_metric(&self) -> Option<String> {
        crate::train::valid_counterpart(&self.metric)
    }

    /// The primary metric followed by the extra columns, without repeats.
    pub fn metrics(&self) -> Vec<String> {
        let mut out = vec![self.metric.clone()];
        for c in &self.columns {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }

    /// Checks metric names against `known`, those the trainers record (`split.name`).
    pub fn validate(&self, known: &[String]) -> Result<(), FieldError> {
        for (key, m) in std::iter::once(("metric", &self.metric)).chain(self.columns.iter().map(|c| ("columns", c))) {
            if !known.contains(m) {
                let mut msg = format!("names unknown metric `{m}`, expected one of: {}", known.join(", "));
                if let Some(s) = crate::error::did_you_mean(m, known.iter().map(String::as_str)) {
                    msg.push_str(&format!(" (did you mean `{s}`?)"));
                }
                return Err(FieldError::new(key, msg));
            }
        }
        Ok(())
    }

    /// Checks that a classifier on a dataset of `info` records the metrics named (the
    /// classification metrics on a regression dataset, and the other way round, are refused).
    pub fn validate_task(&self, info: &crate::data::DataInfo) -> Result<(), FieldError> {
        use crate::models::classifier::records;
        for (key, m) in std::iter::once(("metric", &self.metric)).chain(self.columns.iter().map(|c| ("columns", c))) {
            if !records(m, info) {
                let expected = match info.task {
                    crate::data::Task::Regression => "on a regression dataset use mse, mae, r2 or loss".to_string(),
                    crate::data::Task::Classification => format!(
                        "on a classification dataset of {} classes use accuracy, loss, macro_f1{}",
                        info.num_classes,
                        if info.num_classes > crate::models::classifier::TOP_K { " or top5_accuracy" } else { "" }
                    ),
                };
                return Err(FieldError::new(key, format!("names metric `{m}`, which is not recorded: {expected}")));
            }
        }
        Ok(())
    }
}
