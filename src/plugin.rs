//! The plugin API: everything a crate needs to add its own model families and datasets to
//! burnlab's command-line tool, and nothing else.
//!
//! A plugin is a binary crate that depends on `burnlab` (and on the same `burn`, `=0.22.1`,
//! and `serde`), implements [`Family`] for its model's parameters (or [`DatasetSource`] for a
//! dataset's options), and whose `main` is burnlab's CLI with an extended [`Registry`]:
//!
//! ```rust,ignore
//! use burnlab::plugin::{Registry, main_with};
//!
//! fn main() {
//!     std::process::exit(main_with(Registry::builtin().with_family::<GatedMlpSpec>()));
//! }
//! ```
//!
//! The resulting program is `burnlab` with the new names: `list` shows them with their
//! defaults, experiment files use them (`family = "gated_mlp"`), their keys are validated and
//! swept like built-in ones, and `run` starts its trial workers with the program's own
//! executable (so they know the same names), locally and under Slurm. A complete example,
//! with an experiment file and its results: `examples/custom-family/` in burnlab's repository.
//!
//! # A classifier family: [`Family`]
//!
//! - The parameters type is the `[[models]]` table: a serde struct with
//!   `#[serde(default, deny_unknown_fields)]` (an unknown key is then an error at its
//!   `file:line:col`, with a did-you-mean) whose `Default` is the defaults `list` shows. It also
//!   derives `Clone`, `PartialEq` and `Debug`. Every field can be swept (`model.hidden`).
//! - [`Family::NAME`] is the `family = "..."` name (unique in the registry: [`Registry`]
//!   panics on a duplicate); [`Family::SUMMARY`] one line for `list`.
//! - [`Family::validate`] checks meaning after deserialisation: ranges and fit with the
//!   dataset's [`DataInfo`]. It returns a [`FieldError`] naming the key relative to the model
//!   table (`"hidden"`); burnlab adds the file, line and column and exits with code 2. Use
//!   [`at_least_one`], [`probability`] and [`FieldError::positive`] for the common ranges.
//!   Every integer parameter is also capped at 2^24 by burnlab.
//! - [`Family::init`] builds a freshly initialised Burn module on `device` (already seeded
//!   with the trial's seed: initialise with Burn's initialisers, not your own generator).
//! - [`Family::footprint`] estimates the parameters and per-example activations without
//!   building the model (`f64` counts; see [`Footprint`]): `validate` refuses a model or batch
//!   that would not fit in memory from it.
//! - The module implements [`Classifier`]: [`Inputs`] holds one `[batch, time, channels]`
//!   float tensor per modality ([`Inputs::x`]: the first); `forward` returns the logits
//!   `[batch, num_classes]` (`num_classes` = 1 for a regression `table`: the prediction).
//!   Images come as `[batch, rows, columns]` ([`DataInfo::image`]); token ids as floats in
//!   channel 0 ([`DataInfo::vocab`], id 0 is padding). Use [`Dropout`] for dropout: it is
//!   active on the autodiff (training) device only and seeded from the trial.
//!
//! The classifier trainer then does the rest: batches, optimizer, the `[training]` recipes,
//! evaluation of accuracy, loss, macro-F1 and top-5 accuracy (mse, mae and r2 for
//! regression), divergence, selection, TensorBoard, tables.
//!
//! # Another kind of trainer: [`FamilySpec`]
//!
//! A family that does not train a classifier implements the object-safe [`FamilySpec`]
//! directly (as burnlab's `gan` does): besides the above, `num_params`, `metrics` (every
//! `split.name` it records; `[report] metric` may name only these) and `train`, which gets a
//! [`TrainCtx`] and reports to an [`Observer`], usually by implementing [`TrainStep`] and
//! calling [`run_loop`] with [`Hooks::from_training`], and returns the [`FitOutcome`].
//!
//! # A dataset: [`DatasetSource`]
//!
//! The options type (serde, `#[serde(default, deny_unknown_fields)]`, `Default`) is the
//! `[dataset]` table; `name`, `summary`, `info` (cheap: the shape and class count, without
//! loading), `train_examples` and `load` are required. `load` returns a [`Dataset`] of
//! [`Split`]s (row-major `[n, time, channels]` floats, class ids in `0..num_classes`); its
//! errors ([`Error`]) fail the trial. `validate` returns a [`FieldError`] keyed inside
//! `[dataset]`. burnlab carves the validation split (`dataset.validation`, seeded by
//! [`DatasetSource::split_seed`]) unless [`DatasetSource::own_validation`] says `load` does.
//!
//! # Stability
//!
//! This module is the supported surface. burnlab's other modules are public only for its own
//! binary and tests, hidden from these docs, and may change without notice.

pub use crate::check::{FieldError, at_least_one, probability};
pub use crate::cli::main_with;
pub use crate::data::{DataInfo, Dataset, DatasetSource, Modality, Modes, Split, Task};
pub use crate::error::{Error, Result, UserError};
pub use crate::models::layers::Dropout;
pub use crate::models::{Classifier, Family, FamilySpec, Footprint, Inputs, TrainCtx};
pub use crate::registry::Registry;
/// What a [`TrainStep`] of your own needs to be resumable (`checkpoint` and `restore`): the
/// checkpoint's files ([`checkpoint::Files`]) and Burn record helpers for modules and optimizers.
pub use crate::train::checkpoint;
pub use crate::train::{
    FitOutcome, FitStatus, Hooks, Metrics, Observer, Selection, StepLosses, TrainStep, TrainingSpec, run_loop,
};
