//! burnlab: declarative deep-learning experiments on Burn.
//!
//! burnlab is a command-line tool (`burnlab run experiments/NAME.toml`); as a library it is
//! that tool plus the model families and datasets of the crate that links it. That crate's
//! API is [`plugin`]: the traits a family or a dataset implements, the registry that adds
//! them, and `main_with`, the CLI. A complete example: `examples/custom-family/` in the
//! repository.
//!
//! The other modules are public for burnlab's own binary and tests only, and hidden from
//! these docs: an experiment file (`spec`) is parsed and validated into a typed
//! `spec::Experiment`, expanded into trials (`sweep`), executed in parallel worker
//! processes (`runner`) that train one model each (`train`, `models`, `data`) and log
//! to TensorBoard (`tensorboard`), and summarised into comparison tables (`report`); the
//! layout and the records of a results directory belong to `results` (docs/architecture.md).

#[doc(hidden)]
pub mod backend;
#[doc(hidden)]
pub mod check;
#[doc(hidden)]
pub mod cli;
#[doc(hidden)]
pub mod data;
#[doc(hidden)]
pub mod error;
#[doc(hidden)]
pub mod fsutil;
#[doc(hidden)]
pub mod models;
#[doc(hidden)]
pub mod open;
pub mod plugin;
#[doc(hidden)]
pub mod registry;
#[doc(hidden)]
pub mod report;
#[doc(hidden)]
pub mod results;
#[doc(hidden)]
pub mod runner;
#[doc(hidden)]
pub mod spec;
#[doc(hidden)]
pub mod sweep;
#[doc(hidden)]
pub mod tensorboard;
#[doc(hidden)]
pub mod train;
#[doc(hidden)]
pub mod trained;

/// The burnlab version recorded in every trial summary.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
