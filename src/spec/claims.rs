//! `[[claims]]`: orderings the experiment is meant to show ("cnn > mlp"), which the report
//! checks with a test and marks as held or not held.

use super::sweep::SweepSpec;
use super::{KeyPath, Locator};
use crate::error::{UserError, did_you_mean};
use crate::models::ModelVariant;
use serde::{Deserialize, Serialize};

/// One `[[claims]]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimSpec {
    /// `"A > B"`: variant `A` has a larger mean of the primary metric than `B` (`<`: smaller).
    /// Either side may list several labels separated by commas (`"concat, sum > image only,
    /// signal only"`): every label on the left against every label on the right.
    pub claim: String,
    /// Only the rows of this dataset, when the sweep varies `dataset` (default: every dataset,
    /// each checked on its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// The significance level of the test (default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
}

/// A parsed claim: the labels on each side and whether the left side is larger.
#[derive(Debug, Clone, PartialEq)]
pub struct Ordering {
    /// Labels claimed larger (`>`) or smaller (`<`) than those on the right.
    pub left: Vec<String>,
    /// The other side.
    pub right: Vec<String>,
    /// `true` for `>`.
    pub larger: bool,
}

impl ClaimSpec {
    /// The claim's two sides.
    ///
    /// # Errors
    /// The message to show when the text is not `LABELS > LABELS` or `LABELS < LABELS`.
    pub fn ordering(&self) -> Result<Ordering, String> {
        let ops: Vec<(usize, char)> = self.claim.char_indices().filter(|(_, c)| *c == '>' || *c == '<').collect();
        let [(at, op)] = ops[..] else {
            return Err(format!(
                "must be `A > B` or `A < B` (one `>` or `<`; each side one or more labels separated by commas), got {:?}",
                self.claim
            ));
        };
        let side = |s: &str| s.split(',').map(|l| l.trim().to_string()).collect::<Vec<_>>();
        let (left, right) = (side(&self.claim[..at]), side(&self.claim[at + 1..]));
        if left.iter().chain(&right).any(String::is_empty) {
            return Err(format!("has an empty label in {:?}", self.claim));
        }
        Ok(Ordering { left, right, larger: op == '>' })
    }

    /// The significance level.
    pub fn alpha(&self) -> f64 {
        self.alpha.unwrap_or(0.05)
    }

    /// Checks the text, every label (a model variant's), `alpha` (in (0, 1)) and `dataset` (a
    /// value of the swept `dataset`, or the experiment's dataset). `base` is `claims[i]`.
    pub fn validate(
        &self,
        models: &[ModelVariant],
        sweep: Option<&SweepSpec>,
        dataset: &str,
        base: &KeyPath,
        loc: &Locator<'_>,
    ) -> Result<(), UserError> {
        let fail = |key: &str, message: String| {
            UserError::new(format!("`{}` {message}", base.key(key))).at(loc.locate(&base.key(key), false))
        };
        let ordering = self.ordering().map_err(|m| fail("claim", m))?;
        let labels: Vec<&str> = models.iter().map(|m| m.label.as_str()).collect();
        for l in ordering.left.iter().chain(&ordering.right) {
            if !labels.contains(&l.as_str()) {
                let mut e = fail("claim", format!("names no model variant: `{l}` (variants: {})", labels.join(", ")));
                if let Some(s) = did_you_mean(l, labels.iter().copied()) {
                    e = e.help(format!("did you mean `{s}`?"));
                }
                return Err(e);
            }
        }
        if let Some(a) = self.alpha
            && !(a > 0.0 && a < 1.0)
        {
            return Err(fail("alpha", format!("must be between 0 and 1 (exclusive), got {a}")));
        }
        let Some(d) = &self.dataset else { return Ok(()) };
        let swept: Option<Vec<String>> = match sweep {
            Some(SweepSpec::Grid(grid)) => grid
                .iter()
                .find(|(k, _)| k == "dataset" || k == "dataset.name")
                .map(|(_, v)| v.iter().map(super::value::text).collect()),
            _ => None,
        };
        let allowed = swept.unwrap_or_else(|| vec![dataset.to_string()]);
        if allowed.contains(d) {
            Ok(())
        } else {
            Err(fail(
                "dataset",
                format!("= {d:?} is not a dataset of this experiment (datasets: {})", allowed.join(", ")),
            ))
        }
    }
}
