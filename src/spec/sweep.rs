//! The `[sweep]` section: grid values or random-search distributions over dotted keys, as
//! written ([`RawSweep`]) and validated ([`SweepSpec`]). The search strategies that turn it
//! into trials live in the top-level `sweep` module.

use super::dist::Distribution;
use super::limits::MAX_TRIALS;
use super::{KeyPath, Locator, deserialize_at};
use crate::error::{UserError, did_you_mean};
use rand::SeedableRng;
use serde::Deserialize;
use std::collections::HashSet;

/// Grid or random search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SweepKind {
    /// Every combination of the listed values.
    #[default]
    Grid,
    /// `trials` draws from the given distributions.
    Random,
    /// `trials` proposals, one at a time, by the tree-structured Parzen estimator from the
    /// results so far (`sweep::tpe`).
    Tpe,
}

/// The `[sweep]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSweep {
    /// Grid or random.
    #[serde(default)]
    pub kind: SweepKind,
    /// Number of random draws.
    pub trials: Option<usize>,
    /// Seed of the random draws.
    #[serde(default)]
    pub seed: u64,
    /// Dotted key → list of values (grid) or distribution (random, tpe).
    #[serde(default)]
    pub params: toml::Table,
    /// Which running trials stop early (`spec/pruner.rs`), read by [`super::pruner::RawPruner`].
    pub pruner: Option<toml::Value>,
    /// tpe: no new trial starts after this wall-clock time (`"90m"`, `"2h"`, or seconds).
    pub timeout: Option<toml::Value>,
}

/// A validated sweep.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepSpec {
    /// Cartesian product, keys in sorted order.
    Grid(Vec<(String, Vec<toml::Value>)>),
    /// Random search.
    Random {
        /// Number of draws.
        trials: usize,
        /// Seed of the draws.
        seed: u64,
        /// Key → distribution, keys in sorted order.
        params: Vec<(String, Distribution)>,
    },
    /// Adaptive search: `trials` proposals, each from the results so far (`kind = "tpe"`).
    Adaptive {
        /// The proposal budget.
        trials: usize,
        /// The sampler's seed.
        seed: u64,
        /// Key → distribution, keys in sorted order.
        params: Vec<(String, Distribution)>,
        /// The wall-clock budget in seconds: no new trial starts after it.
        timeout_s: Option<u64>,
    },
}

impl SweepSpec {
    /// The swept keys, in order.
    pub fn keys(&self) -> Vec<String> {
        match self {
            SweepSpec::Grid(g) => g.iter().map(|(k, _)| k.clone()).collect(),
            SweepSpec::Random { params, .. } | SweepSpec::Adaptive { params, .. } => {
                params.iter().map(|(k, _)| k.clone()).collect()
            }
        }
    }
}

/// The sections a sweep key may address.
const SWEEP_ROOTS: [&str; 5] = ["training", "dataset", "model", "backend", "device"];

pub(crate) fn param_path(key: &str) -> KeyPath {
    KeyPath::dotted("sweep.params").key(key)
}

/// The values a grid key lists more than once (each once, in order of first repeat).
fn repeated_values(values: &[toml::Value]) -> Vec<&toml::Value> {
    let mut seen = HashSet::new();
    let mut repeated: Vec<&toml::Value> = Vec::new();
    for v in values {
        if !seen.insert(point_key(std::slice::from_ref(v))) && !repeated.contains(&v) {
            repeated.push(v);
        }
    }
    repeated
}

/// A hashable key for a sweep point (TOML values are not `Hash`); equal points give equal keys.
pub(crate) fn point_key<T: std::fmt::Debug>(point: &[T]) -> String {
    format!("{point:?}")
}

/// The `[sweep]` section, typed: the sweep and its pruner.
///
/// # Errors
/// As [`RawSweep::into_typed`] and [`super::pruner::RawPruner::into_typed`].
pub fn typed(
    raw: Option<RawSweep>,
    cx: &super::pruner::PrunerContext<'_>,
    loc: &Locator<'_>,
    warnings: &mut Vec<String>,
) -> Result<(Option<SweepSpec>, Option<super::pruner::PrunerSpec>), UserError> {
    let Some(mut raw) = raw else { return Ok((None, None)) };
    let pruner = raw.pruner.take().map(|p| super::pruner::RawPruner::read(p, loc)).transpose()?;
    let sweep = raw.into_typed(loc, warnings)?;
    let pruner = pruner.map(|p| p.into_typed(cx, loc)).transpose()?;
    Ok((Some(sweep), pruner))
}

impl RawSweep {
    /// Checks keys and values and builds the typed sweep; repeated values (which give the
    /// same trial twice, so run once) are reported in `warnings`.
    pub fn into_typed(self, loc: &Locator<'_>, warnings: &mut Vec<String>) -> Result<SweepSpec, UserError> {
        if self.params.is_empty() {
            return Err(UserError::new("the sweep is empty: [sweep.params] lists no keys")
                .at(loc.locate(&KeyPath::dotted("sweep"), false))
                .help("add e.g. \"training.lr\" = [1e-3, 1e-2] under [sweep.params], or remove [sweep]"));
        }
        for key in self.params.keys() {
            let root = key.split('.').next().unwrap_or_default();
            // `dataset` alone swaps the whole dataset: `"dataset" = ["mnist1d", "digits"]`.
            let ok = SWEEP_ROOTS.contains(&root)
                && (key.contains('.') || matches!(root, "backend" | "device" | "dataset"))
                && !(key.contains('.') && matches!(root, "backend" | "device"));
            if !ok {
                let mut e = UserError::new(format!(
                    "sweep key `{key}` must be `training.KEY`, `dataset.KEY`, `dataset`, `model.KEY`, `backend` or `device`"
                ))
                .at(loc.locate(&param_path(key), true));
                if let Some(s) = did_you_mean(root, SWEEP_ROOTS) {
                    e = e.help(format!("did you mean `{}`?", key.replacen(root, s, 1)));
                }
                return Err(e);
            }
        }
        if self.timeout.is_some() && self.kind != SweepKind::Tpe {
            return Err(UserError::new("`sweep.timeout` applies to kind = \"tpe\" only")
                .at(loc.locate(&KeyPath::dotted("sweep.timeout"), true)));
        }
        match self.kind {
            SweepKind::Grid => {
                if self.trials.is_some() {
                    return Err(UserError::new("`sweep.trials` applies to kind = \"random\" only")
                        .at(loc.locate(&KeyPath::dotted("sweep.trials"), true)));
                }
                typed_grid(self.params, loc, warnings)
            }
            SweepKind::Random => {
                let trials = self.trials.filter(|&n| n > 0).ok_or_else(|| {
                    UserError::new("a random sweep needs `trials = N` (N >= 1)")
                        .at(loc.locate(&KeyPath::dotted("sweep"), false))
                })?;
                typed_random(self.params, trials, self.seed, loc, warnings)
            }
            SweepKind::Tpe => {
                let trials = self.trials.filter(|&n| n > 0).ok_or_else(|| {
                    UserError::new("a tpe sweep needs `trials = N` (N >= 1 proposals)")
                        .at(loc.locate(&KeyPath::dotted("sweep"), false))
                })?;
                let timeout_s = self.timeout.map(|t| timeout_seconds(&t, loc)).transpose()?;
                match typed_random(self.params, trials, self.seed, loc, &mut Vec::new())? {
                    SweepSpec::Random { trials, seed, params } => {
                        Ok(SweepSpec::Adaptive { trials, seed, params, timeout_s })
                    }
                    other => Ok(other),
                }
            }
        }
    }
}

/// `timeout`: seconds as an integer, or a number with a unit (`"90s"`, `"30m"`, `"2h"`, `"1d"`).
fn timeout_seconds(value: &toml::Value, loc: &Locator<'_>) -> Result<u64, UserError> {
    let parsed = match value {
        toml::Value::Integer(n) if *n > 0 => Some(*n as u64),
        toml::Value::String(s) => {
            let s = s.trim();
            let unit = s.chars().next_back().filter(char::is_ascii_alphabetic);
            let number = unit.map_or(s, |_| &s[..s.len() - 1]).trim();
            let scale = match unit {
                None | Some('s') => Some(1.0),
                Some('m') => Some(60.0),
                Some('h') => Some(3600.0),
                Some('d') => Some(86400.0),
                _ => None,
            };
            scale
                .zip(number.parse::<f64>().ok())
                .map(|(k, x)| x * k)
                .filter(|x| x.is_finite() && *x >= 1.0)
                .map(|x| x as u64)
        }
        _ => None,
    };
    parsed.ok_or_else(|| {
        UserError::new(format!("`sweep.timeout` must be a positive duration, got {value}"))
            .at(loc.locate(&KeyPath::dotted("sweep.timeout"), false))
            .help("write e.g. timeout = \"90m\", \"2h\", \"1d\" or a number of seconds")
    })
}

/// A grid: each key's non-empty list of values, repeated values reported in `warnings`.
fn typed_grid(params: toml::Table, loc: &Locator<'_>, warnings: &mut Vec<String>) -> Result<SweepSpec, UserError> {
    let mut grid = Vec::new();
    for (key, value) in params {
        match value {
            toml::Value::Array(values) if !values.is_empty() => {
                let repeated = repeated_values(&values);
                if !repeated.is_empty() {
                    let list: Vec<String> = repeated.iter().map(|v| v.to_string()).collect();
                    warnings.push(format!(
                        "{}: grid sweep key `{key}` lists {} more than once; each value runs once",
                        loc.locate(&param_path(&key), false),
                        list.join(", ")
                    ));
                }
                grid.push((key, values))
            }
            other => {
                let found = match &other {
                    toml::Value::Array(_) => "an empty list".to_string(),
                    v => format!("a {}", v.type_str()),
                };
                return Err(UserError::new(format!(
                    "grid sweep key `{key}` needs a non-empty list of values, found {found}"
                ))
                .at(loc.locate(&param_path(&key), false)));
            }
        }
    }
    Ok(SweepSpec::Grid(grid))
}

/// A random search of `trials` (at most [`MAX_TRIALS`]) draws; repeated draws are reported
/// in `warnings`.
fn typed_random(
    table: toml::Table,
    trials: usize,
    seed: u64,
    loc: &Locator<'_>,
    warnings: &mut Vec<String>,
) -> Result<SweepSpec, UserError> {
    if trials > MAX_TRIALS {
        return Err(UserError::new(format!(
            "`sweep.trials` is {trials}, more than burnlab plans (at most {MAX_TRIALS} trials)"
        ))
        .at(loc.locate(&KeyPath::dotted("sweep.trials"), false)));
    }
    let mut params = Vec::new();
    for (key, value) in table {
        let path = param_path(&key);
        let d = match value {
            toml::Value::Array(values) if !values.is_empty() => Distribution::Choice(values),
            v => deserialize_at::<Distribution>(v, &path, loc)?,
        };
        d.validate().map_err(|m| UserError::new(format!("sweep key `{key}`: {m}")).at(loc.locate(&path, false)))?;
        params.push((key, d));
    }
    let distinct: HashSet<String> = draw(trials, seed, &params).iter().map(|p| point_key(p)).collect();
    if distinct.len() < trials {
        warnings.push(format!(
            "{}: the random sweep draws {trials} trials but only {} are distinct; {} repeated draws run once",
            loc.locate(&KeyPath::dotted("sweep.trials"), false),
            distinct.len(),
            trials - distinct.len()
        ));
    }
    Ok(SweepSpec::Random { trials, seed, params })
}

/// The seeded random draws of a random sweep, in order.
pub fn draw(trials: usize, seed: u64, params: &[(String, Distribution)]) -> Vec<Vec<(String, toml::Value)>> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    (0..trials).map(|_| params.iter().map(|(k, d)| (k.clone(), d.sample(&mut rng))).collect()).collect()
}
