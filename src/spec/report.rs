//! The `[report]` section: which metric ranks variants, and which columns tables show.

use super::FieldError;
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
}

impl Default for ReportSpec {
    fn default() -> Self {
        Self { metric: "test.accuracy".into(), direction: None, columns: vec!["test.loss".into(), "train.loss".into()] }
    }
}

impl ReportSpec {
    /// The effective direction.
    pub fn direction(&self) -> Direction {
        let min = ["loss", ".mse", ".mae"].iter().any(|end| self.metric.ends_with(end));
        self.direction.unwrap_or(if min { Direction::Min } else { Direction::Max })
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

    /// Checks metric names against those the trainer records.
    pub fn validate(&self) -> Result<(), FieldError> {
        let known = crate::models::metrics();
        for (key, m) in std::iter::once(("metric", &self.metric)).chain(self.columns.iter().map(|c| ("columns", c))) {
            if !known.contains(&m.as_str()) {
                let mut msg = format!("names unknown metric `{m}`, expected one of: {}", known.join(", "));
                if let Some(s) = crate::error::did_you_mean(m, known.iter().copied()) {
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
