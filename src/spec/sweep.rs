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
    /// Dotted key → list of values (grid) or distribution (random).
    #[serde(default)]
    pub params: toml::Table,
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
        }
    }
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
