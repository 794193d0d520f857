//! The search log's events: `results/NAME/search.jsonl`, one JSON object per line.
//!
//! An adaptive search (or a sweep with a pruner) records every proposal, every pruning
//! decision and every outcome it learnt, in the order it took them; the runner appends them
//! (fsynced) before acting, and a resumed run replays them
//! ([`super::SearchStrategy::replay`]). Values are the metric as recorded (not negated).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One line of `search.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase", deny_unknown_fields)]
pub enum SearchEvent {
    /// The sampler's proposal `number` (0-based): the point, and the trials it runs as (one
    /// per model variant and seed; `error` when the point gave no valid trial).
    Proposal {
        /// Proposal number.
        number: usize,
        /// Each swept key and the value proposed.
        point: BTreeMap<String, toml::Value>,
        /// The ids of the trials it runs as (proposals repeating an earlier point list
        /// the earlier trials and run nothing new).
        trials: Vec<String>,
        /// Why the point gave no trial.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// A pruning decision at an evaluation of a running trial.
    Report {
        /// Trial id.
        trial: String,
        /// Training steps done.
        step: usize,
        /// The pruner's metric (`valid.accuracy`).
        metric: String,
        /// Its value (`null`: NaN).
        value: Option<f64>,
        /// The rung decided at (successive halving), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rung: Option<usize>,
        /// `continue` or `prune`.
        decision: String,
        /// The values the decision compared with (the rung's values so far, the trial's own
        /// included; for the median rule, the completed trials' values at this step).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        basis: Vec<f64>,
    },
    /// A trial ended, as the search learnt it (the order samplers see trials in).
    Finished {
        /// Trial id.
        trial: String,
        /// `completed`, `diverged`, `pruned` or `failed`.
        outcome: String,
        /// The objective (the validation counterpart of `[report] metric`) at its last
        /// evaluation, if recorded.
        value: Option<f64>,
        /// Steps it ran.
        step: usize,
    },
}

/// The decision word of a report event.
pub fn decision_word(prune: bool) -> &'static str {
    if prune { "prune" } else { "continue" }
}
