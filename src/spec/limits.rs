//! Bounds on sizes, so that a file that validates can run: every size is capped, the plan's
//! trial count is checked before it is built, and each trial's memory is estimated against the
//! machine's memory.
//!
//! - Every integer option of a model or dataset (widths, depths, channels, kernels, padding,
//!   sample counts; not seeds) is at most [`MAX_SIZE`].
//! - `training.steps` is at most [`MAX_STEPS`]; `training.batch_size` is at most the training
//!   split's size where that is known from the options (all built-in datasets; a `table`
//!   file's split is only known once read), so no batch is silently smaller than its config says.
//! - A plan has at most [`MAX_TRIALS`] trials (grid points or random draws × models × seeds).
//! - A trial's estimated memory (weights, gradients and two optimizer moments per parameter,
//!   activations and their gradients for one batch, the dataset, the GAN's evaluation samples)
//!   must fit the machine's memory (`MemTotal` in `/proc/meminfo`) or `BURNLAB_MEMORY_LIMIT`.

use crate::data::{DataInfo, DatasetSpec};
use crate::error::UserError;
use crate::models::ModelSpec;
use crate::train::TrainingSpec;
use std::sync::OnceLock;

/// The largest value of any size option of a model or dataset (2^24).
pub const MAX_SIZE: u64 = 1 << 24;
/// The most optimizer steps a trial may take.
pub const MAX_STEPS: usize = 100_000_000;
/// The most trials one experiment may plan.
pub const MAX_TRIALS: usize = 100_000;
/// The environment variable that sets the memory a trial may use (`64G`, `512M`, bytes).
pub const MEMORY_ENV: &str = "BURNLAB_MEMORY_LIMIT";

/// The memory one trial may use, and where that number came from.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryLimit {
    /// Bytes.
    pub bytes: f64,
    /// `this machine's memory` or `BURNLAB_MEMORY_LIMIT=...`.
    pub source: String,
}

impl MemoryLimit {
    /// The limit from `BURNLAB_MEMORY_LIMIT`, else the machine's total memory.
    pub fn from_env() -> Result<MemoryLimit, UserError> {
        match std::env::var(MEMORY_ENV) {
            Ok(text) => match parse_bytes(&text) {
                Some(bytes) => Ok(MemoryLimit { bytes, source: format!("{MEMORY_ENV}={text}") }),
                None => Err(UserError::new(format!(
                    "{MEMORY_ENV} must be a size such as 64G, 512M or a number of bytes, got {text:?}"
                ))
                .at(MEMORY_ENV)),
            },
            Err(_) => Ok(MemoryLimit { bytes: machine_memory(), source: "this machine's memory".into() }),
        }
    }
}

/// Parses `64G`, `64GiB`, `512m`, `1.5T` or a byte count (binary units).
pub fn parse_bytes(text: &str) -> Option<f64> {
    let t = text.trim().to_ascii_lowercase();
    let t = t.strip_suffix("ib").or_else(|| t.strip_suffix('b')).unwrap_or(&t);
    let (num, shift) = match t.char_indices().last()? {
        (i, 'k') => (&t[..i], 10),
        (i, 'm') => (&t[..i], 20),
        (i, 'g') => (&t[..i], 30),
        (i, 't') => (&t[..i], 40),
        _ => (t, 0),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n.is_finite() && n > 0.0).then(|| n * 2f64.powi(shift))
}

/// The machine's total memory in bytes (`/proc/meminfo`, else `sysconf`), read once.
pub fn machine_memory() -> f64 {
    static MEMORY: OnceLock<f64> = OnceLock::new();
    *MEMORY.get_or_init(|| {
        let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("MemTotal:"))?;
            let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024.0)
        });
        meminfo.unwrap_or_else(|| {
            // SAFETY: sysconf has no preconditions; it returns -1 for an unknown name.
            let (pages, size) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
            if pages > 0 && size > 0 { pages as f64 * size as f64 } else { f64::INFINITY }
        })
    })
}

/// Bytes as `25.6 GiB`.
pub fn human_bytes(bytes: f64) -> String {
    const UNITS: [&str; 6] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{v:.0} bytes") } else { format!("{v:.1} {}", UNITS[unit]) }
}

/// Which part of a trial's configuration a limit error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// `[training]`.
    Training,
    /// `[dataset]`.
    Dataset,
    /// The model variant.
    Model,
}

/// A size past what can run.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitError {
    /// The section at fault.
    pub section: Section,
    /// The key within it (dotted), or `None` for the model as a whole.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl LimitError {
    fn new(section: Section, key: impl Into<String>, message: String) -> LimitError {
        LimitError { section, key: Some(key.into()), message, help: None }
    }
}

/// Checks that every integer in `table` (a model's or dataset's options, seeds aside) is at
/// most [`MAX_SIZE`]; returns the dotted key and value of the first that is not.
fn oversized(prefix: &str, value: &toml::Value) -> Option<(String, i64)> {
    match value {
        toml::Value::Integer(n) if *n as i128 > MAX_SIZE as i128 => Some((prefix.to_string(), *n)),
        toml::Value::Array(items) => items.iter().find_map(|v| oversized(prefix, v)),
        toml::Value::Table(t) => t
            .iter()
            .filter(|(k, _)| !k.ends_with("seed"))
            .find_map(|(k, v)| oversized(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, v)),
        _ => None,
    }
}

fn check_sizes<T: serde::Serialize>(section: Section, spec: &T) -> Result<(), LimitError> {
    let table = toml::Value::try_from(spec).unwrap_or(toml::Value::Table(toml::Table::new()));
    match oversized("", &table) {
        Some((key, n)) => Err(LimitError::new(
            section,
            key,
            format!("is {n}, more than burnlab can run (sizes are at most {MAX_SIZE})"),
        )),
        None => Ok(()),
    }
}

/// Checks the sizes of the options of a dataset and a model (before their own validation,
/// whose arithmetic these bounds keep from overflowing) and of training.
pub fn check_sizes_first(dataset: &DatasetSpec, training: &TrainingSpec, model: &ModelSpec) -> Result<(), LimitError> {
    check_sizes(Section::Dataset, dataset)?;
    if model.bounded_sizes() {
        check_sizes(Section::Model, model)?;
    }
    check_training(dataset, training)
}

/// Checks `training.steps` and `training.batch_size`.
fn check_training(dataset: &DatasetSpec, training: &TrainingSpec) -> Result<(), LimitError> {
    if training.steps > MAX_STEPS {
        let msg = format!("is {}, more than burnlab runs in one trial (at most {MAX_STEPS})", training.steps);
        return Err(LimitError::new(Section::Training, "steps", msg));
    }
    if let Some(n) = dataset.train_examples()
        && training.batch_size > n
    {
        let all = dataset.source().train_examples().unwrap_or(n);
        let held = if all > n { format!(", {} more held out by `dataset.validation`", all - n) } else { String::new() };
        let msg = format!(
            "is {}, larger than the training split of `{}` ({n} examples{held})",
            training.batch_size,
            dataset.name()
        );
        let mut e = LimitError::new(Section::Training, "batch_size", msg);
        e.help = Some(format!("set batch_size to at most {n} (a batch is never silently cut to the split)"));
        return Err(e);
    }
    Ok(())
}

/// One trial's estimated memory, in bytes, by part.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Trainable parameters.
    pub params: f64,
    /// Weights, gradients and two optimizer moments.
    pub weights: f64,
    /// One batch's activations and their gradients.
    pub activations: f64,
    /// The training split (at its stored width: 1 byte per pixel of a `uint8` image set, else
    /// 4) and a GAN's evaluation samples.
    pub data: f64,
}

impl Estimate {
    /// The total in bytes.
    pub fn total(&self) -> f64 {
        self.weights + self.activations + self.data
    }
}

/// The estimated memory of one trial.
pub fn estimate(dataset: &DatasetSpec, info: &DataInfo, training: &TrainingSpec, model: &ModelSpec) -> Estimate {
    let fp = model.footprint(info);
    let values = |n: usize| n as f64 * info.features() as f64;
    // Generated evaluation examples and their features for the score.
    let eval = 2.0 * values(model.eval_examples());
    Estimate {
        params: fp.params,
        weights: 4.0 * 4.0 * fp.params,
        activations: 4.0 * 2.0 * training.batch_size as f64 * fp.activations,
        data: dataset.value_bytes() as f64 * dataset.train_examples().map_or(0.0, values) + 4.0 * eval,
    }
}

/// Checks a validated trial's estimated memory against `limit`.
pub fn check_memory(
    dataset: &DatasetSpec,
    info: &DataInfo,
    training: &TrainingSpec,
    model: &ModelSpec,
    limit: &MemoryLimit,
) -> Result<(), LimitError> {
    let e = estimate(dataset, info, training, model);
    let bytes = e.total();
    if bytes <= limit.bytes {
        return Ok(());
    }
    let message = format!(
        "needs about {} of memory to train ({:.3e} parameters: {} with gradients and optimizer state; \
         activations at batch_size {}: {}; data: {}), more than {} ({})",
        human_bytes(bytes),
        e.params,
        human_bytes(e.weights),
        training.batch_size,
        human_bytes(e.activations),
        human_bytes(e.data),
        human_bytes(limit.bytes),
        limit.source
    );
    let help = format!(
        "make the model or batch smaller; on a machine with more memory, set {MEMORY_ENV} (e.g. {MEMORY_ENV}={}G)",
        (bytes / 2f64.powi(30)).ceil().min(1e12) as u64 + 1
    );
    Err(LimitError { section: Section::Model, key: None, message, help: Some(help) })
}

/// Everything above, for one trial: sizes (of the dataset and model options only where
/// `resized`, as unchanged ones were checked before), then (after `validate_all`) memory.
pub fn check_trial(
    dataset: &DatasetSpec,
    training: &TrainingSpec,
    model: &ModelSpec,
    limit: &MemoryLimit,
    resized: bool,
    validate_all: impl FnOnce(&DataInfo) -> Result<(), LimitError>,
) -> Result<(), LimitError> {
    if resized {
        check_sizes_first(dataset, training, model)?;
    } else {
        check_training(dataset, training)?;
    }
    let info = dataset.info();
    validate_all(&info)?;
    check_memory(dataset, &info, training, model, limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::mlp::MlpSpec;

    #[test]
    fn parses_sizes_in_binary_units() {
        assert_eq!(parse_bytes("64G"), Some(64.0 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(parse_bytes("512MiB"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse_bytes("1000"), Some(1000.0));
        assert_eq!(parse_bytes("1.5t"), Some(1.5 * 2f64.powi(40)));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("-3G"), None);
        assert_eq!(human_bytes(25.6 * 2f64.powi(30)), "25.6 GiB");
    }

    #[test]
    fn finds_oversized_nested_integers_but_not_seeds() {
        let t: toml::Value = toml::from_str("a = 3\nseed = 99999999999\n[enc.x]\nw = [1, 99999999]\n").unwrap();
        assert_eq!(oversized("", &t), Some(("enc.x.w".into(), 99_999_999)));
    }

    #[test]
    fn a_wide_mlp_needs_more_than_a_small_limit() {
        let data = DatasetSpec::new(crate::data::Mnist1dOptions::default());
        let training = TrainingSpec::default();
        let model = ModelSpec::new(MlpSpec { hidden: 80_000, ..Default::default() });
        let limit = MemoryLimit { bytes: 16.0 * 2f64.powi(30), source: "test".into() };
        let e = check_memory(&data, &data.info(), &training, &model, &limit).unwrap_err();
        assert!(e.message.contains("6.404e9 parameters"), "{}", e.message);
        let small = ModelSpec::new(MlpSpec::default());
        assert!(check_memory(&data, &data.info(), &training, &small, &limit).is_ok());
    }

    #[test]
    fn byte_images_count_one_byte_per_pixel() {
        use crate::data::FashionMnistOptions;
        let (training, model) = (TrainingSpec::default(), ModelSpec::new(MlpSpec::default()));
        let full = DatasetSpec::new(FashionMnistOptions::default()).with_validation(0.0);
        let e = estimate(&full, &full.info(), &training, &model);
        assert_eq!(e.data, 60_000.0 * 28.0 * 28.0, "47 MB of pixels, not 188 MB of floats");
        let floats = DatasetSpec::new(crate::data::Mnist1dOptions::default()).with_validation(0.0);
        let n = floats.train_examples().unwrap() as f64;
        assert_eq!(estimate(&floats, &floats.info(), &training, &model).data, 4.0 * n * 40.0);
    }
}
