//! burnlab: declarative deep-learning experiments on Burn.
//!
//! An experiment file ([`spec`]) is parsed and validated into a typed [`spec::Experiment`],
//! expanded into trials ([`sweep`]), executed in parallel worker processes ([`runner`]) that
//! train one model each ([`train`], [`models`], [`data`]) and log to TensorBoard
//! ([`tensorboard`]), and summarised into comparison tables ([`report`]). The layout and the
//! records of a results directory belong to [`results`].
//!
//! Model families and datasets are open: each is one type behind one trait
//! ([`models::FamilySpec`], [`data::DatasetSource`]), listed once in a registry
//! ([`registry::Registry`], built on the generic tagged specs of [`open`]); a program adds its
//! own with `burnlab::cli::main_with(Registry::builtin().with_family::<T>())`.

pub mod backend;
pub mod check;
pub mod cli;
pub mod data;
pub mod error;
pub mod fsutil;
pub mod models;
pub mod open;
pub mod registry;
pub mod report;
pub mod results;
pub mod runner;
pub mod spec;
pub mod sweep;
pub mod tensorboard;
pub mod train;

/// The burnlab version recorded in every trial summary.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
