//! What a model family is: one type carrying all its behaviour behind [`FamilySpec`].
//!
//! A classifier family implements the generic [`Family`] (its parameters build a Burn module
//! implementing [`Classifier`]) and gets [`FamilySpec`], with the classifier trainer, from a
//! blanket impl. A family with another kind of trainer (the GAN) implements [`FamilySpec`]
//! itself. Either way the family is registered by one line in `families!` (src/models/mod.rs)
//! or, from a user's crate, with `Registry::with_family` (src/registry.rs).

use super::{Classifier, Footprint};
use crate::check::FieldError;
use crate::data::{DataInfo, Dataset, DatasetSpec, DeviceSplit, Split};
use crate::error::Result as TrialResult;
use crate::open::{Erased, Upcast};
use crate::train::{FitOutcome, Metrics, Observer, Selection, TrainingSpec};
use burn::module::Module;
use burn::tensor::Device;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

/// A classifier family's typed parameters, which build its module.
///
/// The parameters are a serde struct (`#[serde(default, deny_unknown_fields)]`) whose
/// `Default` is the family's defaults, as `burnlab list` shows them.
pub trait Family: Serialize + DeserializeOwned + Default + Clone + PartialEq + Debug + Send + Sync + 'static {
    /// The family's name in experiment files (`family = "mlp"`).
    const NAME: &'static str;
    /// One line saying what it is (`burnlab list`).
    const SUMMARY: &'static str;
    /// Whether it reads every modality of a multimodal dataset (`fusion`); other families
    /// refuse such datasets rather than silently use the first modality.
    const MULTIMODAL: bool = false;
    /// Parameters left out of a trial's configuration at their default
    /// (`#[serde(skip_serializing_if)]`, so that adding them kept existing trial ids), which
    /// sweeps may still name (`"model.dropout" = [0.0, 0.2]`).
    const OPTIONAL_PARAMS: &'static [&'static str] = &[];
    /// The Burn module this family builds.
    type Model: Classifier;
    /// Checks parameter ranges and fit with the dataset.
    ///
    /// # Errors
    /// The offending parameter (its key relative to the model table) and why.
    fn validate(&self, data: &DataInfo) -> Result<(), FieldError>;
    /// Builds a freshly initialised model for the dataset on `device`.
    fn init(&self, data: &DataInfo, device: &Device) -> Self::Model;
    /// Estimates the model's size for the dataset, without building it (after `validate`).
    fn footprint(&self, data: &DataInfo) -> Footprint;
}

/// What a trainer needs besides the model: the data, the settings, the device and the seed.
#[derive(Clone, Copy)]
pub struct TrainCtx<'a> {
    /// The loaded dataset (with the mixture's modes for `ring` and `grid`).
    pub data: &'a Dataset,
    /// `[training]`.
    pub training: &'a TrainingSpec,
    /// An autodiff training device, already seeded with `seed`.
    pub device: &'a Device,
    /// The trial's seed (batch order, dropout, noise).
    pub seed: u64,
    /// `Some`: test the weights of the best evaluation by this selection (`[report] select =
    /// "best"`); `None`: the last weights.
    pub select_best: Option<&'a Selection>,
    /// Where the trial runs (its id and directory); `None` outside a worker (benchmarks, unit
    /// tests). Built-in trainers ignore it; the `command` family needs it.
    pub trial: Option<TrialPlace<'a>>,
}

/// The trial a trainer runs, as the worker knows it (plain data, set by `runner::worker`).
#[derive(Clone, Copy, Debug)]
pub struct TrialPlace<'a> {
    /// The trial id (12 hex digits).
    pub id: &'a str,
    /// The experiment's `name`.
    pub experiment: &'a str,
    /// The results directory (`results/NAME`).
    pub results: &'a Path,
    /// The trial's directory (`results/NAME/trials/<id>`), emptied before the trial starts
    /// (but for its `checkpoint/`, which it resumes from).
    pub dir: &'a Path,
    /// The resolved `[dataset]` (`ctx.data` is what it loaded).
    pub dataset: &'a DatasetSpec,
    /// The worker's share of the CPU cores.
    pub threads: usize,
}

/// A model family as the rest of burnlab sees it (object-safe): one registered type per family.
pub trait FamilySpec: Erased {
    /// The family's name in experiment files.
    fn name(&self) -> &'static str;
    /// One line saying what it is.
    fn summary(&self) -> &'static str;
    /// Whether it reads multimodal datasets (see [`Family::MULTIMODAL`]).
    fn multimodal(&self) -> bool {
        false
    }
    /// Parameters absent from the serialised defaults that sweeps may name (see
    /// [`Family::OPTIONAL_PARAMS`]).
    fn optional_params(&self) -> &'static [&'static str] {
        &[]
    }
    /// Checks the parameters against the dataset (after the multimodal check that
    /// [`super::ModelSpec::validate`] makes for every family).
    ///
    /// # Errors
    /// The offending parameter (its key relative to the model table) and why.
    fn validate(&self, data: &DataInfo) -> Result<(), FieldError>;
    /// The estimated size of the model on the dataset (see [`Footprint`]); call after `validate`.
    fn footprint(&self, data: &DataInfo) -> Footprint;
    /// The number of trainable parameters for this dataset (builds the model on `device`).
    fn num_params(&self, data: &DataInfo, device: &Device) -> usize;
    /// Whether burnlab builds the model from these parameters, so that their integers are
    /// sizes it bounds (at most 2^24, `spec/limits.rs`); `false` for parameters passed through
    /// to a program (the `command` family's free-form keys).
    fn bounded_sizes(&self) -> bool {
        true
    }
    /// Examples the trainer generates and holds for its evaluation, for the memory estimate.
    fn eval_examples(&self) -> usize {
        0
    }
    /// The metrics its trainer records, as `split.name` (each once).
    fn metrics(&self) -> Vec<String>;
    /// Checks the `[training]` keys against what its trainer supports (the error's key is
    /// relative to `[training]`); the classifier trainer supports them all.
    fn check_training(&self, _training: &TrainingSpec) -> Result<(), FieldError> {
        Ok(())
    }
    /// Trains a fresh model on `ctx.data`, reporting to `obs`.
    ///
    /// # Errors
    /// A run that failed (the trial is recorded as `failed` with the error's text); built-in
    /// trainers never fail (a diverged or interrupted run is an outcome).
    fn train(&self, ctx: TrainCtx<'_>, obs: &mut dyn Observer) -> TrialResult<FitOutcome>;
    /// Whether its finished trials save their model (`trials/<id>/model/`, read by
    /// [`FamilySpec::evaluate_saved`] and [`FamilySpec::predict_saved`]): every [`Family`]
    /// and `gan`; `false` by default (`command`).
    fn saves_model(&self) -> bool {
        false
    }
    /// The metrics (named `{split_name}.{name}`, as its trainer records them) of the saved
    /// weights `saved.weights` (a record file of a trial's `model/`, `results::model`) on
    /// `saved.split` of `saved.data`, the model built for `saved.trained` on `saved.device`
    /// (`burnlab eval`).
    ///
    /// # Errors
    /// A user error: the weights cannot be loaded into the model (naming the file), or the
    /// family saves no model (the default: `command`).
    fn evaluate_saved(&self, _saved: &super::saved::SavedEval<'_>) -> TrialResult<Metrics> {
        Err(no_saved_classifier(self.name()))
    }
    /// Why `burnlab predict` has nothing to give for its saved model (`None`: it predicts,
    /// the default): a family whose model makes no per-row outputs says what to use instead.
    fn why_no_predictions(&self) -> Option<String> {
        None
    }
    /// The outputs of the saved weights `weights` for each row of `inputs` (shaped `data`;
    /// labels ignored): the class probabilities, `[n][classes]`, or the one predicted value of
    /// a regression, `[n][1]` (`burnlab predict`).
    ///
    /// # Errors
    /// As [`FamilySpec::evaluate_saved`].
    fn predict_saved(
        &self,
        _weights: &Path,
        _data: &DataInfo,
        _inputs: &Split,
        _device: &Device,
    ) -> TrialResult<Vec<Vec<f32>>> {
        Err(no_saved_classifier(self.name()))
    }
}

/// The error of `eval` and `predict` for a family without a classifier head.
fn no_saved_classifier(family: &str) -> crate::error::Error {
    crate::error::UserError::new(format!(
        "the `{family}` family saves no model: `burnlab eval` works with the families trained by burnlab \
         (`burnlab list`: every family but `command`), `predict` with those trained by the classifier trainer"
    ))
    .into()
}

impl<F: Family> FamilySpec for F {
    fn name(&self) -> &'static str {
        F::NAME
    }
    fn summary(&self) -> &'static str {
        F::SUMMARY
    }
    fn multimodal(&self) -> bool {
        F::MULTIMODAL
    }
    fn optional_params(&self) -> &'static [&'static str] {
        F::OPTIONAL_PARAMS
    }
    fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        Family::validate(self, data)
    }
    fn footprint(&self, data: &DataInfo) -> Footprint {
        Family::footprint(self, data)
    }
    fn num_params(&self, data: &DataInfo, device: &Device) -> usize {
        self.init(data, device).num_params()
    }
    fn metrics(&self) -> Vec<String> {
        super::classifier::METRICS.iter().map(|m| m.to_string()).collect()
    }
    /// The classifier trainer ([`super::classifier::fit`]).
    fn train(&self, ctx: TrainCtx<'_>, obs: &mut dyn Observer) -> TrialResult<FitOutcome> {
        let model = self.init(&ctx.data.info, ctx.device);
        Ok(super::classifier::fit(model, ctx.data, ctx.training, ctx.device, ctx.seed, ctx.select_best, obs))
    }
    fn saves_model(&self) -> bool {
        true
    }
    fn evaluate_saved(&self, s: &super::saved::SavedEval<'_>) -> TrialResult<Metrics> {
        let model = super::saved::load_weights(self.init(s.trained, s.device), s.weights)?;
        Ok(super::classifier::evaluate(&model, &DeviceSplit::new(s.split, s.trained, s.device), s.split_name))
    }
    fn predict_saved(
        &self,
        weights: &Path,
        data: &DataInfo,
        inputs: &Split,
        device: &Device,
    ) -> TrialResult<Vec<Vec<f32>>> {
        let model = super::saved::load_weights(self.init(data, device), weights)?;
        Ok(super::saved::predict(&model, &DeviceSplit::new(inputs, data, device), data.task))
    }
}

impl<T: FamilySpec> Upcast<dyn FamilySpec> for T {
    fn upcast(self) -> Arc<dyn FamilySpec> {
        Arc::new(self)
    }
}
