//! Checks the experiment's `[[claims]]` ("cnn > mlp") against the groups and marks each as
//! held or not held.
//!
//! The test: for each dataset (each value of a swept `dataset`, or the claim's `dataset`), each
//! label stands for its best row (chosen as the table's best row is: on the validation metric
//! when recorded), and each pair (left, right) gets a one-sided Welch's t-test of the primary
//! metric in the claimed direction. The p-values of all the claim's pairs are
//! Holm–Bonferroni-adjusted; the claim holds when every adjusted p-value is below its `alpha`
//! (0.05 by default). A pair with fewer than two values on a side leaves the claim undecided.

use super::stats::{holm::holm, welch_greater_p};
use super::{Group, best_of, partitions, ranks_on_valid};
use crate::spec::ClaimSpec;
use crate::sweep::Plan;
use std::path::Path;

/// One compared pair of a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct PairResult {
    /// The row claimed better (its setting name).
    pub left: String,
    /// The row it is compared with.
    pub right: String,
    /// The dataset (empty when the sweep does not vary it).
    pub dataset: String,
    /// Mean of `left` minus mean of `right`.
    pub difference: f64,
    /// One-sided Welch p-value in the claimed direction.
    pub p: Option<f64>,
    /// `p`, Holm-adjusted over the claim's pairs.
    pub p_holm: Option<f64>,
}

/// A checked claim.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimResult {
    /// The claim as written, with its dataset when it names one.
    pub text: String,
    /// `Some(true)`: held; `Some(false)`: not held; `None`: undecided (too few values, or a
    /// label without results).
    pub held: Option<bool>,
    /// The significance level.
    pub alpha: f64,
    /// Every pair compared.
    pub pairs: Vec<PairResult>,
}

impl ClaimResult {
    /// "held", "not held" or "undecided".
    pub fn verdict(&self) -> &'static str {
        match self.held {
            Some(true) => "held",
            Some(false) => "not held",
            None => "undecided",
        }
    }
}

/// The test, in words, for headers.
pub const TEST: &str =
    "one-sided Welch's t-test per pair of best rows, Holm–Bonferroni-adjusted over the claim's pairs";

/// The `[[claims]]` of the experiment file as run (`experiment.toml` of the results directory);
/// none when it has none or cannot be read (reported on stderr).
pub fn read(dir: &Path) -> Vec<ClaimSpec> {
    #[derive(serde::Deserialize)]
    struct Claims {
        #[serde(default)]
        claims: Vec<ClaimSpec>,
    }
    let path = crate::results::paths::experiment(dir);
    let Ok(text) = std::fs::read_to_string(&path) else { return Vec::new() };
    match toml::from_str::<Claims>(&text) {
        Ok(c) => c.claims,
        Err(e) => {
            eprintln!("warning: {}: [[claims]] not read: {e}", path.display());
            Vec::new()
        }
    }
}

/// Checks every claim against the ranked groups.
pub fn check(plan: &Plan, groups: &[Group], claims: &[ClaimSpec]) -> Vec<ClaimResult> {
    claims.iter().map(|c| check_one(plan, groups, c)).collect()
}

fn check_one(plan: &Plan, groups: &[Group], claim: &ClaimSpec) -> ClaimResult {
    let alpha = claim.alpha();
    let text = match &claim.dataset {
        Some(d) => format!("{} on {d}", claim.claim),
        None => claim.claim.clone(),
    };
    let Ok(order) = claim.ordering() else { return ClaimResult { text, held: None, alpha, pairs: Vec::new() } };
    let on_valid = ranks_on_valid(groups);
    let mut pairs = Vec::new();
    let mut complete = true;
    for (key, members) in partitions(plan, groups) {
        let dataset = key.join(", ");
        if claim.dataset.as_ref().is_some_and(|d| !key.is_empty() && *d != dataset) {
            continue;
        }
        let pick = |label: &str| {
            let of: Vec<usize> = members.iter().copied().filter(|&i| groups[i].label == label).collect();
            best_of(plan, groups, &of, on_valid)
        };
        for l in &order.left {
            for r in &order.right {
                let (Some(a), Some(b)) = (pick(l), pick(r)) else {
                    complete = false;
                    continue;
                };
                let (ga, gb) = (&groups[a], &groups[b]);
                let p = if order.larger {
                    welch_greater_p(&ga.primary, &gb.primary)
                } else {
                    welch_greater_p(&gb.primary, &ga.primary)
                };
                let mean = |g: &Group| g.metrics[0].map_or(f64::NAN, |s| s.mean);
                pairs.push(PairResult {
                    left: setting(plan, ga),
                    right: setting(plan, gb),
                    dataset: dataset.clone(),
                    difference: mean(ga) - mean(gb),
                    p,
                    p_holm: None,
                });
            }
        }
    }
    let adjusted = holm(&pairs.iter().map(|p| p.p).collect::<Vec<_>>());
    for (pair, a) in pairs.iter_mut().zip(adjusted) {
        pair.p_holm = a;
    }
    let decided = complete && !pairs.is_empty() && pairs.iter().all(|p| p.p_holm.is_some());
    let held = decided.then(|| pairs.iter().all(|p| p.p_holm.is_some_and(|q| q < alpha)));
    ClaimResult { text, held, alpha, pairs }
}

/// A row's name in claims: its label and its swept values other than the dataset.
fn setting(plan: &Plan, g: &Group) -> String {
    let mut s = g.label.clone();
    for (k, v) in plan.swept_keys.iter().zip(&g.swept) {
        if !super::is_dataset_key(k) && !v.is_empty() {
            s.push_str(&format!(" {}={v}", k.rsplit('.').next().unwrap_or(k)));
        }
    }
    s
}

/// The claims as Markdown lines (empty without claims).
pub fn markdown(results: &[ClaimResult]) -> String {
    if results.is_empty() {
        return String::new();
    }
    let mut out = format!("\nClaims ({TEST}):\n\n");
    for c in results {
        let pairs: Vec<String> = c
            .pairs
            .iter()
            .map(|p| {
                let on = if p.dataset.is_empty() { String::new() } else { format!(" on {}", p.dataset) };
                let q = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.3}"));
                format!("{} vs {}{on}: {:+.4}, p = {} (Holm {})", p.left, p.right, p.difference, q(p.p), q(p.p_holm))
            })
            .collect();
        out.push_str(&format!(
            "- **{}** (α = {}): `{}`: {}\n",
            c.verdict(),
            c.alpha,
            c.text,
            super::markdown::escape(&pairs.join("; "))
        ));
    }
    out
}
