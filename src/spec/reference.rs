//! The `[reference]` section: a paper's published numbers, to be reproduced row by row.

use super::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Published results for the primary metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceSpec {
    /// The citation.
    pub source: String,
    /// Where the numbers come from (paper, repository README).
    #[serde(default)]
    pub url: Option<String>,
    /// Default tolerance added to each side of the confidence interval.
    #[serde(default)]
    pub tolerance: f64,
    /// One published value per model variant (optionally per swept setting).
    pub rows: Vec<ReferenceRow>,
}

/// One published value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceRow {
    /// The model variant's label.
    pub label: String,
    /// Restricts the row to trials with these swept values (`{ "training.lr" = 0.01 }`).
    #[serde(default, rename = "where")]
    pub filter: BTreeMap<String, toml::Value>,
    /// The published value of the primary metric.
    pub value: f64,
    /// Overrides the section's tolerance.
    #[serde(default)]
    pub tolerance: Option<f64>,
}

impl ReferenceSpec {
    /// Checks values, tolerances, labels and swept keys.
    pub fn validate(&self, labels: &[&str], swept: &[String]) -> Result<(), FieldError> {
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(FieldError::new("tolerance", format!("must be >= 0, got {}", self.tolerance)));
        }
        for (i, r) in self.rows.iter().enumerate() {
            let key = |k: &str| format!("rows[{i}].{k}");
            if !labels.contains(&r.label.as_str()) {
                let mut m = format!("names no model variant: `{}` (variants: {})", r.label, labels.join(", "));
                if let Some(s) = crate::error::did_you_mean(&r.label, labels.iter().copied()) {
                    m.push_str(&format!("; did you mean `{s}`?"));
                }
                return Err(FieldError::new(key("label"), m));
            }
            if !r.value.is_finite() {
                return Err(FieldError::new(key("value"), "must be a finite number"));
            }
            if r.tolerance.is_some_and(|t| !(t.is_finite() && t >= 0.0)) {
                return Err(FieldError::new(key("tolerance"), "must be >= 0"));
            }
            if let Some(k) = r.filter.keys().find(|k| !swept.contains(k)) {
                return Err(FieldError::new(
                    key("where"),
                    format!("`{k}` is not a swept key (swept: {})", swept.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// The row that applies to a group (label and swept values), if any.
    pub fn row_for(&self, label: &str, swept: &BTreeMap<String, String>) -> Option<&ReferenceRow> {
        self.rows.iter().find(|r| {
            r.label == label
                && r.filter.iter().all(|(k, v)| {
                    let want = match v {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    swept.get(k) == Some(&want)
                })
        })
    }

    /// The tolerance of a row.
    pub fn tolerance_of(&self, row: &ReferenceRow) -> f64 {
        row.tolerance.unwrap_or(self.tolerance)
    }
}
