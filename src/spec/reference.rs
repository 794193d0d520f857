//! The `[reference]` section: a paper's published numbers, to be reproduced row by row.

use super::dist::Distribution;
use super::sweep::SweepSpec;
use super::{KeyPath, Locator, value};
use crate::error::{UserError, did_you_mean};
use crate::models::ModelVariant;
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
    /// The paper's sample standard deviation over its `n` runs (the ± of "0.94 ± 0.01"): with
    /// `n`, the verdict is Welch's test of the two means instead of the tolerance check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// The number of runs the paper's value is the mean of (with `std`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
}

impl ReferenceSpec {
    /// Checks values, tolerances, labels and each row's `where`: its keys must be swept, a
    /// `model.KEY` must be a parameter of the row's variant, and each value must be one the
    /// sweep can give (compared as numbers: `0` matches `0.0`), so that every row matches
    /// some trial. `base` is the section's path (`reference`).
    pub fn validate(
        &self,
        models: &[ModelVariant],
        sweep: Option<&SweepSpec>,
        base: &KeyPath,
        loc: &Locator<'_>,
    ) -> Result<(), UserError> {
        let fail = |path: KeyPath, key_of: bool, message: String| {
            UserError::new(format!("`{path}` {message}")).at(loc.locate(&path, key_of))
        };
        if !(self.tolerance.is_finite() && self.tolerance >= 0.0) {
            return Err(fail(base.key("tolerance"), false, format!("must be >= 0, got {}", self.tolerance)));
        }
        let labels: Vec<&str> = models.iter().map(|m| m.label.as_str()).collect();
        for (i, r) in self.rows.iter().enumerate() {
            let row = base.key("rows").index(i);
            let Some(variant) = models.iter().find(|m| m.label == r.label) else {
                let mut e = fail(
                    row.key("label"),
                    false,
                    format!("names no model variant: `{}` (variants: {})", r.label, labels.join(", ")),
                );
                if let Some(s) = did_you_mean(&r.label, labels.iter().copied()) {
                    e = e.help(format!("did you mean `{s}`?"));
                }
                return Err(e);
            };
            if !r.value.is_finite() {
                return Err(fail(row.key("value"), false, "must be a finite number".into()));
            }
            if r.tolerance.is_some_and(|t| !(t.is_finite() && t >= 0.0)) {
                return Err(fail(row.key("tolerance"), false, "must be >= 0".into()));
            }
            match (r.std, r.n) {
                (Some(s), _) if !(s.is_finite() && s >= 0.0) => {
                    return Err(fail(row.key("std"), false, format!("must be a number >= 0, got {s}")));
                }
                (_, Some(n)) if n < 2 => {
                    return Err(fail(
                        row.key("n"),
                        false,
                        format!("must be at least 2 (runs behind the published mean), got {n}"),
                    ));
                }
                (Some(_), None) => {
                    return Err(fail(row.key("std"), true, "needs `n`, the number of runs it is over".into()));
                }
                (None, Some(_)) => {
                    return Err(fail(row.key("n"), true, "needs `std`, the published standard deviation".into()));
                }
                _ => {}
            }
            for (k, v) in &r.filter {
                check_where(variant, sweep, k, v).map_err(|(key_of, message, help)| {
                    let path = row.key("where").key(k);
                    let mut e =
                        UserError::new(format!("`{}` {message}", where_name(&row, k))).at(loc.locate(&path, key_of));
                    e.help = help;
                    e
                })?;
            }
        }
        Ok(())
    }

    /// The row that applies to a group: its label, and each `where` value the same as the
    /// group's swept value (numbers compared as numbers).
    pub fn row_for(&self, label: &str, swept: &BTreeMap<String, toml::Value>) -> Option<&ReferenceRow> {
        self.rows
            .iter()
            .find(|r| r.label == label && r.filter.iter().all(|(k, v)| swept.get(k).is_some_and(|s| value::same(s, v))))
    }

    /// The tolerance of a row.
    pub fn tolerance_of(&self, row: &ReferenceRow) -> f64 {
        row.tolerance.unwrap_or(self.tolerance)
    }
}

/// `reference.rows[0].where."training.lr"`: a `where` key, quoted when dotted.
fn where_name(row: &KeyPath, key: &str) -> String {
    if key.contains('.') { format!("{row}.where.\"{key}\"") } else { format!("{row}.where.{key}") }
}

/// What went wrong with one `where` entry: whether it is the key (not the value) at fault,
/// the message and an optional hint.
type WhereError = (bool, String, Option<String>);

/// The values the sweep can give `key`: listed, an integer range, or a continuous draw.
enum Values<'a> {
    Listed(&'a [toml::Value]),
    Integers(i64, i64),
    Continuous(&'static str),
}

fn sweep_values<'a>(sweep: Option<&'a SweepSpec>, key: &str) -> Option<Values<'a>> {
    match sweep? {
        SweepSpec::Grid(grid) => grid.iter().find(|(k, _)| k == key).map(|(_, v)| Values::Listed(v)),
        SweepSpec::Random { params, .. } | SweepSpec::Adaptive { params, .. } => {
            params.iter().find(|(k, _)| k == key).map(|(_, d)| match d {
                Distribution::Choice(v) => Values::Listed(v),
                Distribution::IntRange([lo, hi]) | Distribution::IntLogUniform([lo, hi]) => Values::Integers(*lo, *hi),
                Distribution::Uniform(_) => Values::Continuous("uniform"),
                Distribution::LogUniform(_) => Values::Continuous("log_uniform"),
            })
        }
    }
}

fn swept_keys(sweep: Option<&SweepSpec>) -> Vec<&str> {
    match sweep {
        None => Vec::new(),
        Some(SweepSpec::Grid(g)) => g.iter().map(|(k, _)| k.as_str()).collect(),
        Some(SweepSpec::Random { params, .. } | SweepSpec::Adaptive { params, .. }) => {
            params.iter().map(|(k, _)| k.as_str()).collect()
        }
    }
}

/// Checks one `where` entry of a row for `variant` against the sweep.
fn check_where(
    variant: &ModelVariant,
    sweep: Option<&SweepSpec>,
    key: &str,
    v: &toml::Value,
) -> Result<(), WhereError> {
    let Some(values) = sweep_values(sweep, key) else {
        let keys = swept_keys(sweep);
        let swept = if keys.is_empty() {
            "the experiment sweeps nothing".into()
        } else {
            format!("swept: {}", keys.join(", "))
        };
        let help = did_you_mean(key, keys.iter().copied()).map(|s| format!("did you mean `{s}`?"));
        return Err((true, format!("names `{key}`, which is not a swept key ({swept})"), help));
    };
    if let Some(p) = key.strip_prefix("model.")
        && !variant.spec.param_names().iter().any(|n| n == p)
    {
        return Err((
            true,
            format!(
                "names `{key}`, but variant `{}` (family {}) has no parameter `{p}`, so no trial of it matches",
                variant.label,
                variant.spec.name()
            ),
            None,
        ));
    }
    // Strings quoted, so that `"0"` is not mistaken for the number 0.
    let shown = if v.is_str() { v.to_string() } else { value::text(v) };
    match values {
        Values::Listed(list) if !list.iter().any(|x| value::same(x, v)) => {
            let texts: Vec<String> = list.iter().map(value::text).collect();
            let help = nearest(v, list).map(|s| format!("did you mean {s}?"));
            Err((
                false,
                format!("= {shown} matches no trial: the sweep's values of `{key}` are {}", texts.join(", ")),
                help,
            ))
        }
        Values::Integers(lo, hi)
            if !value::as_number(v).is_some_and(|x| x.fract() == 0.0 && x >= lo as f64 && x <= hi as f64) =>
        {
            Err((false, format!("= {shown} matches no trial: `{key}` is drawn from the integers {lo} to {hi}"), None))
        }
        Values::Continuous(dist) => Err((
            false,
            format!("= {shown} cannot match a trial: `{key}` is drawn from a continuous {dist} distribution"),
            Some(format!("to key published values by `{key}`, sweep it over a list of values")),
        )),
        _ => Ok(()),
    }
}

/// The listed value nearest to `v`: by numeric distance for numbers, by spelling for text.
fn nearest(v: &toml::Value, list: &[toml::Value]) -> Option<String> {
    if let Some(x) = value::as_number(v) {
        return list
            .iter()
            .filter_map(|w| value::as_number(w).map(|y| (y, w)))
            .min_by(|a, b| (a.0 - x).abs().total_cmp(&(b.0 - x).abs()))
            .map(|(_, w)| value::text(w));
    }
    let texts: Vec<String> = list.iter().map(value::text).collect();
    did_you_mean(&value::text(v), texts.iter().map(String::as_str)).map(str::to_string)
}
