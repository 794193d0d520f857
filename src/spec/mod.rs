//! Experiment files: TOML text → validated, typed [`Experiment`].
//!
//! Parsing runs in two stages. [`raw`] deserialises the document (with `--set` overrides
//! applied) into plain data, rejecting unknown keys and wrong types; `Experiment::from_raw`
//! then checks ranges and cross-references and builds the typed plan. Every error names the
//! file, line and column (or the `--set` at fault), the key, what was expected, and a
//! suggestion for near-miss names.

pub mod claims;
pub mod dist;
pub mod limits;
pub mod overrides;
pub mod pruner;
pub mod raw;
pub mod recipe;
pub mod reference;
pub mod report;
pub mod source;
pub mod sweep;
pub mod value;

pub use claims::ClaimSpec;
pub use overrides::Override;
pub use recipe::Recipe;
pub use reference::{ReferenceRow, ReferenceSpec};
pub use report::{Direction, ReportSpec, Select};
pub use source::{KeyPath, Source};

pub use crate::check::FieldError;

use crate::backend::{Backend, DeviceSel};
use crate::data::DatasetSpec;
use crate::error::UserError;
use crate::models::ModelVariant;
use crate::train::TrainingSpec;
use std::collections::BTreeMap;
use std::path::Path;
pub use sweep::{RawSweep, SweepKind, SweepSpec};

/// A validated experiment: everything needed to expand and run its trials.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The experiment's name (its results folder).
    pub name: String,
    /// Free text.
    pub description: String,
    /// The file it came from.
    pub source: Source,
    /// The `--set` overrides applied.
    pub overrides: Vec<Override>,
    /// The document as run (file plus overrides).
    pub document: toml::Table,
    /// Backend and device.
    pub backend: Backend,
    /// The dataset.
    pub dataset: DatasetSpec,
    /// Training settings.
    pub training: TrainingSpec,
    /// Model variants (at least one).
    pub models: Vec<ModelVariant>,
    /// The training settings and dataset of the variants that have their own
    /// (`training = { ... }`, `dataset = { ... }` in `[[models]]`), by label; the others use
    /// [`Experiment::training`] and [`Experiment::dataset`] ([`Experiment::recipe`]).
    pub recipes: BTreeMap<String, Recipe>,
    /// Seeds (at least one).
    pub seeds: Vec<u64>,
    /// The sweep over dotted keys, if any.
    pub sweep: Option<SweepSpec>,
    /// `[sweep] pruner`: which running trials stop early, if any.
    pub pruner: Option<pruner::PrunerSpec>,
    /// How results are summarised.
    pub report: ReportSpec,
    /// Published numbers to reproduce.
    pub reference: Option<ReferenceSpec>,
    /// Orderings the report checks and marks as held or not held.
    pub claims: Vec<ClaimSpec>,
    /// The memory a trial may use (machine memory or `BURNLAB_MEMORY_LIMIT`).
    pub memory_limit: limits::MemoryLimit,
    /// Things that are allowed but probably not meant (duplicate sweep values), for stderr.
    pub warnings: Vec<String>,
}

/// Locates errors: in the file, or in a `--set` override.
#[derive(Debug)]
pub struct Locator<'a> {
    /// The file.
    pub source: &'a Source,
    /// The overrides applied on top of it.
    pub overrides: &'a [Override],
}

impl Locator<'_> {
    /// The location of `path`: the `--set` that wrote it, else its place in the file.
    pub fn locate(&self, path: &KeyPath, key_of: bool) -> String {
        if let Some(o) = self
            .overrides
            .iter()
            .rev()
            .find(|o| path.starts_with(&o.path) || o.path.starts_with(path) && !path.is_empty())
        {
            return format!("--set {}", o.raw);
        }
        self.source.locate(path, key_of).unwrap_or_else(|| self.source.path.display().to_string())
    }

    /// A user error for a serde failure at `path` (within `base`).
    pub fn serde_error(&self, base: &KeyPath, err: serde_path_to_error::Error<toml::de::Error>) -> UserError {
        let mut path = base.clone();
        path.0.extend(KeyPath::from_serde(err.path()).0);
        let (message, help, unknown_key) = source::explain(err.inner().message());
        let key_of = unknown_key.is_some();
        if let Some(k) = unknown_key
            && path.0.last() != Some(&source::Seg::Key(k.clone()))
        {
            path = path.key(&k);
        }
        let what = if path.is_empty() { message } else { format!("`{path}`: {message}") };
        let mut e = UserError::new(what).at(self.locate(&path, key_of));
        e.help = help;
        e
    }

    /// A user error for a [`limits::LimitError`]: `section` is the path of the section at
    /// fault (the model variant's for [`limits::Section::Model`]).
    pub fn limit_error(&self, section: &KeyPath, err: limits::LimitError) -> UserError {
        let path = err.key.as_deref().map_or(section.clone(), |k| k.split('.').fold(section.clone(), |p, k| p.key(k)));
        let mut e = UserError::new(format!("`{path}` {}", err.message)).at(self.locate(&path, false));
        e.help = err.help;
        e
    }

    /// A user error for a [`FieldError`] in the section at `section` (a dotted key such as
    /// `encoders.image.hidden` names a nested key).
    pub fn field_error(&self, section: &KeyPath, err: FieldError) -> UserError {
        let path = err.key.split('.').fold(section.clone(), |p, k| p.key(k));
        UserError::new(format!("`{path}` {}", err.message)).at(self.locate(&path, false))
    }
}

/// Deserialises `value` as `T`, reporting errors at their location under `base`.
pub fn deserialize_at<T: serde::de::DeserializeOwned>(
    value: toml::Value,
    base: &KeyPath,
    locator: &Locator<'_>,
) -> Result<T, UserError> {
    serde_path_to_error::deserialize(value).map_err(|e| locator.serde_error(base, e))
}

/// The `[[models]]` tables, each checked against the limits, validated for the dataset it
/// trains on, and labelled distinctly; with the recipes of the variants that have their own
/// `training` or `dataset` keys ([`recipe`]).
fn typed_models(
    tables: Vec<toml::Table>,
    base: &Recipe,
    raw_dataset: &toml::Table,
    memory_limit: &limits::MemoryLimit,
    loc: &Locator<'_>,
) -> Result<(Vec<ModelVariant>, BTreeMap<String, Recipe>), UserError> {
    let root = KeyPath::default();
    if tables.is_empty() {
        return Err(UserError::new("no model variants: add at least one [[models]] table with a `family`")
            .at(loc.locate(&root.key("models"), false)));
    }
    let (mut models, mut recipes) = (Vec::new(), BTreeMap::new());
    for (i, table) in tables.into_iter().enumerate() {
        let path = root.key("models").index(i);
        let (variant, own) = raw::model_variant(table, &path, loc)?;
        let own_keys = !own.is_empty();
        let recipe = own.recipe(&base.training, (raw_dataset, &base.dataset), &path, loc)?;
        // Errors in a variant's own keys point at them, else at the file's sections.
        let section = |name: &str| {
            let at = path.key(name);
            if own_keys && loc.source.locate(&at, false).is_some() { at } else { root.key(name) }
        };
        check_variant(&variant, &recipe, memory_limit, &path, &section, loc)?;
        if let Some(j) = models.iter().position(|m: &ModelVariant| m.label == variant.label) {
            return Err(UserError::new(format!("models[{j}] and models[{i}] are both labelled `{}`", variant.label))
                .at(loc.locate(&path, false))
                .help("give each [[models]] entry a distinct `label`"));
        }
        if own_keys {
            recipes.insert(variant.label.clone(), recipe);
        }
        models.push(variant);
    }
    Ok((models, recipes))
}

/// Checks one variant against the limits and the dataset and training it runs with;
/// `section("training")` is where errors in those settings are located.
fn check_variant(
    variant: &ModelVariant,
    recipe: &Recipe,
    memory_limit: &limits::MemoryLimit,
    path: &KeyPath,
    section: &dyn Fn(&str) -> KeyPath,
    loc: &Locator<'_>,
) -> Result<(), UserError> {
    let (dataset, training) = (&recipe.dataset, &recipe.training);
    let limit_at = |e: limits::LimitError| match e.section {
        limits::Section::Training => loc.limit_error(&section("training"), e),
        limits::Section::Dataset => loc.limit_error(&section("dataset"), e),
        limits::Section::Model => loc.limit_error(path, e),
    };
    limits::check_sizes_first(dataset, training, &variant.spec).map_err(limit_at)?;
    let info = dataset.info();
    variant.spec.validate(&info).map_err(|e| loc.field_error(path, e))?;
    variant.spec.check_training(training).map_err(|e| loc.field_error(&section("training"), e))?;
    check_watched_metric(training, variant, loc)?;
    if let Some(watch) = &training.early_stopping {
        let has_validation = dataset.has_validation();
        watch.check_split(has_validation).map_err(|e| loc.field_error(&section("training"), e))?;
    }
    limits::check_memory(dataset, &info, training, &variant.spec, memory_limit).map_err(limit_at)
}

/// Checks that `training.early_stopping.metric` is one `variant`'s family records.
fn check_watched_metric(training: &TrainingSpec, variant: &ModelVariant, loc: &Locator<'_>) -> Result<(), UserError> {
    let Some(watch) = &training.early_stopping else { return Ok(()) };
    let known = variant.spec.metrics();
    if known.contains(&watch.metric) {
        return Ok(());
    }
    let path = KeyPath::dotted("training.early_stopping.metric");
    let mut e = UserError::new(format!(
        "`training.early_stopping.metric` is `{}`, which family `{}` does not record; it records {}",
        watch.metric,
        variant.spec.name(),
        known.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
    ))
    .at(loc.locate(&path, false));
    if let Some(s) = crate::error::did_you_mean(&watch.metric, known.iter().map(String::as_str)) {
        e = e.help(format!("did you mean `{s}`?"));
    }
    Err(e)
}

/// The metrics the variants record, each once, in order.
fn variant_metrics(models: &[ModelVariant]) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for m in models.iter().flat_map(|m| m.spec.metrics()) {
        if !all.contains(&m) {
            all.push(m);
        }
    }
    all
}

/// Checks that some variant records `[report] metric` (a `command` variant records only the
/// `metrics` it lists).
fn check_primary_recorded(report: &ReportSpec, models: &[ModelVariant], loc: &Locator<'_>) -> Result<(), UserError> {
    if models.iter().any(|m| m.spec.metrics().contains(&report.metric)) {
        return Ok(());
    }
    let recorded = variant_metrics(models);
    Err(UserError::new(format!(
        "`report.metric` is `{}`, which no [[models]] variant records; they record {}",
        report.metric,
        recorded.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
    ))
    .at(loc.locate(&KeyPath::dotted("report.metric"), false))
    .help("set [report] metric to one of them"))
}

/// Checks that `name` can be a results folder's name.
fn check_name(name: &str, loc: &Locator<'_>) -> Result<(), UserError> {
    if name.is_empty()
        || name.len() > 100
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        || name.starts_with('.')
    {
        return Err(UserError::new(format!(
            "`name` must be a folder name of 1 to 100 letters, digits, '-', '_' and '.', got {:?}",
            if name.chars().count() > 60 {
                format!("{}...", name.chars().take(60).collect::<String>())
            } else {
                name.to_string()
            }
        ))
        .at(loc.locate(&KeyPath::default().key("name"), false)));
    }
    Ok(())
}

impl Experiment {
    /// Reads, parses and validates an experiment file with `--set` overrides.
    pub fn load(path: &Path, sets: &[String]) -> Result<Experiment, UserError> {
        let source = Source::read(path)?;
        let overrides = sets.iter().map(|s| Override::parse(s)).collect::<Result<Vec<_>, _>>()?;
        Self::from_source(source, overrides)
    }

    /// Parses and validates an experiment from its source text.
    ///
    /// A `--set` value that reads as a number or boolean (`name=1_1_1`, TOML for 111) where
    /// the key takes a string is taken as the text as typed.
    pub fn from_source(source: Source, mut overrides: Vec<Override>) -> Result<Experiment, UserError> {
        loop {
            match Self::from_source_once(&source, &overrides) {
                Err(e) => {
                    let wants_string =
                        e.message.contains("expected a string") || e.message.contains("expected a non-empty string");
                    let at = overrides
                        .iter()
                        .position(|o| e.location.as_deref() == Some(&format!("--set {}", o.raw)) && !o.value.is_str());
                    match at.filter(|_| wants_string) {
                        Some(i) => overrides[i].value = toml::Value::String(overrides[i].value_text().to_string()),
                        None => return Err(e),
                    }
                }
                ok => return ok,
            }
        }
    }

    fn from_source_once(source: &Source, overrides: &[Override]) -> Result<Experiment, UserError> {
        let mut document = source.parse()?;
        for o in overrides {
            o.apply(&mut document)?;
        }
        let locator = Locator { source, overrides };
        let raw: raw::RawExperiment =
            deserialize_at(toml::Value::Table(document.clone()), &KeyPath::default(), &locator)?;
        let exp = Self::from_raw(raw, &locator)?;
        Ok(Experiment { source: source.clone(), overrides: overrides.to_vec(), document, ..exp })
    }

    fn from_raw(raw: raw::RawExperiment, loc: &Locator<'_>) -> Result<Experiment, UserError> {
        let root = KeyPath::default();
        check_name(&raw.name, loc)?;
        let backend = Backend { kind: raw.backend, device: raw.device.unwrap_or(DeviceSel::Cpu) };
        backend.check().map_err(|e| UserError { location: Some(loc.locate(&root.key("backend"), false)), ..e })?;

        let raw_dataset = raw.dataset.0.clone();
        let dataset = raw.dataset.into_typed(loc)?;
        let training = raw.training;
        training.validate().map_err(|e| loc.field_error(&root.key("training"), e))?;
        let memory_limit = limits::MemoryLimit::from_env()?;

        let base = Recipe { training, dataset };
        let (models, recipes) = typed_models(raw.models, &base, &raw_dataset, &memory_limit, loc)?;
        let Recipe { training, dataset } = base;

        if raw.seeds.is_empty() {
            return Err(UserError::new("`seeds` is empty: give at least one seed, e.g. seeds = [0]")
                .at(loc.locate(&root.key("seeds"), false)));
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &raw.seeds {
            if !seen.insert(s) {
                return Err(
                    UserError::new(format!("`seeds` lists {s} twice")).at(loc.locate(&root.key("seeds"), false))
                );
            }
        }
        let mut warnings = Vec::new();
        let cx = pruner::PrunerContext {
            models: &models,
            dataset: &dataset,
            report_metric: &raw.report.metric,
            steps: training.steps,
        };
        let (sweep, pruner) = sweep::typed(raw.sweep, &cx, loc, &mut warnings)?;
        if let Some(p) = &pruner {
            let labels: Vec<&str> = models.iter().map(|m| m.label.as_str()).collect();
            recipe::check_pruner(p, &recipes, training.steps, &labels, loc)?;
        }
        // Any family's metric (as before), and those a `command` variant lists.
        let (builtin, ours) = (crate::models::metrics(), variant_metrics(&models));
        let recorded: Vec<String> =
            builtin.iter().chain(ours.iter().filter(|m| !builtin.contains(m))).cloned().collect();
        raw.report.validate(&recorded).map_err(|e| loc.field_error(&root.key("report"), e))?;
        check_primary_recorded(&raw.report, &models, loc)?;
        if models.iter().any(|m| m.spec.metrics() == crate::models::classifier::METRICS) {
            raw.report.validate_task(&dataset.info()).map_err(|e| loc.field_error(&root.key("report"), e))?;
        }
        if let Some(r) = &raw.reference {
            r.validate(&models, sweep.as_ref(), &root.key("reference"), loc)?;
        }
        for (i, c) in raw.claims.iter().enumerate() {
            c.validate(&models, sweep.as_ref(), dataset.source().name(), &root.key("claims").index(i), loc)?;
        }

        Ok(Experiment {
            name: raw.name,
            description: raw.description,
            source: loc.source.clone(),
            overrides: Vec::new(),
            document: toml::Table::new(),
            backend,
            dataset,
            training,
            models,
            recipes,
            seeds: raw.seeds,
            sweep,
            pruner,
            report: raw.report,
            reference: raw.reference,
            claims: raw.claims,
            memory_limit,
            warnings,
        })
    }

    /// The training settings and dataset of the variant labelled `label`: its own where it
    /// has them, else the file's.
    pub fn recipe(&self, label: &str) -> (&TrainingSpec, &DatasetSpec) {
        match self.recipes.get(label) {
            Some(r) => (&r.training, &r.dataset),
            None => (&self.training, &self.dataset),
        }
    }

    /// The document as run, as TOML text (the file verbatim when there are no overrides).
    pub fn text_as_run(&self) -> String {
        if self.overrides.is_empty() {
            return self.source.text.clone();
        }
        let sets: Vec<String> = self.overrides.iter().map(|o| format!("#   --set {}", o.raw)).collect();
        format!(
            "# {} with overrides:\n{}\n{}",
            self.source.path.display(),
            sets.join("\n"),
            toml::to_string(&self.document).unwrap_or_default()
        )
    }

    /// The locator for errors found after loading (sweep expansion).
    pub fn locator(&self) -> Locator<'_> {
        Locator { source: &self.source, overrides: &self.overrides }
    }
}
