//! Saved weights of a trained model: its record as bytes at the end of training
//! ([`record_bytes`]), loaded back into a freshly built model ([`load_weights`]), and a
//! classifier's outputs on new inputs ([`predict`]). The files and `model.json` belong to
//! `results::model`; `burnlab eval` and `predict` (src/trained/) drive these through
//! [`super::FamilySpec::evaluate_saved`] (given a [`SavedEval`]) and
//! [`super::FamilySpec::predict_saved`].

use super::{Classifier, Inputs};
use crate::data::{DataInfo, Dataset, DeviceSplit, Split, Task};
use crate::error::{Result, UserError};
use crate::train::Observer;
use burn::module::Module;
use burn::tensor::Device;
use burn::tensor::activation::softmax;
use std::path::Path;

/// What `burnlab eval` measures a saved model on ([`super::FamilySpec::evaluate_saved`]).
pub struct SavedEval<'a> {
    /// The weights: a record file (`*.bpk`) of a trial's `model/`.
    pub weights: &'a Path,
    /// The shape of the examples the model was built for (`model.json`'s `input`).
    pub trained: &'a DataInfo,
    /// The dataset loaded for the evaluation (with the `--set` overrides): all its splits,
    /// for a family whose metrics need more than the measured one (the GAN's Frechet feature
    /// network trains on the training split).
    pub data: &'a Dataset,
    /// The split measured (one of `data`'s).
    pub split: &'a Split,
    /// Its name, the prefix of the metrics the family returns (`test`, `valid`, `train`), as
    /// the trial's `metrics.csv` names them.
    pub split_name: &'a str,
    /// The trial's seed (`model.json`'s `seed`): the GAN draws its fixed evaluation noise
    /// from it, as its trainer did.
    pub seed: u64,
    /// The trial's training device (its backend, autodiff).
    pub device: &'a Device,
}

/// The record of `model` (in validation mode) as burnpack bytes, what `Module::save_file`
/// writes; `None` if Burn cannot serialise it.
pub fn record_bytes<M: Module>(model: &M) -> Option<Vec<u8>> {
    crate::train::checkpoint::module_bytes(&model.valid()).ok()
}

/// Hands `final` (and, when `best` is `Some`, `best`) to [`Observer::on_model`].
pub fn emit_weights<M: Module>(obs: &mut dyn Observer, last: &M, best: Option<&M>) {
    for (name, model) in [("final", Some(last)), ("best", best)] {
        if let Some(bytes) = model.and_then(record_bytes) {
            obs.on_model(name, &bytes);
        }
    }
}

/// `model` with the weights of the record file `path` (a `*.bpk` of a trial's `model/`).
///
/// # Errors
/// A user error naming the file: unreadable, not a record, or a record of another model
/// (missing or misshapen parameters).
pub fn load_weights<M: Module>(model: M, path: &Path) -> Result<M> {
    model.try_load_file(path).map_err(|e| {
        UserError::new(format!("cannot load the saved weights: {e}")).at(path.display().to_string()).into()
    })
}

/// The outputs of `model` (in validation mode) for every row of `split`, in chunks of 1000:
/// for classification the class probabilities (softmax of the logits), `[n][classes]`; for
/// regression the one predicted value, `[n][1]`.
pub fn predict<M: Classifier>(model: &M, split: &DeviceSplit, task: Task) -> Vec<Vec<f32>> {
    const CHUNK: usize = 1000;
    let model = model.valid();
    let mut rows = Vec::with_capacity(split.len);
    let mut start = 0;
    while start < split.len {
        let end = (start + CHUNK).min(split.len);
        let (modalities, _) = split.slice_batch(start, end);
        let modalities = modalities.into_iter().map(|x| x.without_autodiff()).collect();
        let mut outputs = model.forward(&Inputs { modalities });
        if task == Task::Classification {
            outputs = softmax(outputs, 1);
        }
        let width = outputs.dims()[1];
        let values = outputs.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
        rows.extend(values.chunks(width).map(<[f32]>::to_vec));
        start = end;
    }
    rows
}
