//! What a `command` program receives: its configuration JSON, its arguments and environment.

use super::CommandSpec;
use super::export::Exported;
use crate::models::TrialPlace;
use crate::train::{Selection, TrainingSpec};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The configuration file a program reads, in the trial directory.
pub const CONFIG_JSON: &str = "config.json";

/// The configuration JSON (docs/command-protocol.md).
#[derive(Serialize)]
pub struct Config<'a> {
    /// The trial id.
    pub trial_id: &'a str,
    /// The trial's seed.
    pub seed: u64,
    /// The trial directory (absolute), where the program may write its own files.
    pub trial_dir: &'a Path,
    /// The experiment's name.
    pub experiment: &'a str,
    /// The model table: the free-form keys and the reserved ones.
    pub model: &'a CommandSpec,
    /// The resolved `[training]`, with its defaults.
    pub training: &'a TrainingSpec,
    /// The resolved `[dataset]`.
    pub dataset: &'a crate::data::DatasetSpec,
    /// `[report] select = "best"`: the metric the test split's weights are chosen by.
    pub select_best: Option<&'a Selection>,
    /// The exported data (`data = "npy"`), else `None`.
    pub data: Option<&'a Exported>,
}

/// A path made absolute against the current directory.
pub fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The values of the argument placeholders, in [`super::PLACEHOLDERS`] order.
pub struct Substitutions {
    values: [String; 5],
}

impl Substitutions {
    /// The values for a trial.
    pub fn new(config: &Path, place: &TrialPlace<'_>, seed: u64, data_dir: Option<&Path>) -> Self {
        let path = |p: &Path| p.display().to_string();
        Substitutions {
            values: [
                path(config),
                path(&absolute(place.dir)),
                seed.to_string(),
                place.id.to_string(),
                data_dir.map(path).unwrap_or_default(),
            ],
        }
    }

    /// `arg` with every placeholder replaced.
    pub fn apply(&self, arg: &str) -> String {
        let mut out = arg.to_string();
        for (p, v) in super::PLACEHOLDERS.iter().zip(&self.values) {
            out = out.replace(p, v);
        }
        out
    }
}

/// The program's arguments: `command` with the placeholders replaced, and the configuration
/// file's path appended when no argument names `{config}`.
pub fn arguments(spec: &CommandSpec, subs: &Substitutions, config: &Path) -> Vec<String> {
    let mut args: Vec<String> = spec.command.iter().map(|a| subs.apply(a)).collect();
    if !spec.command.iter().any(|a| a.contains("{config}")) {
        args.push(config.display().to_string());
    }
    args
}

/// The command to start: the program (relative to `workdir` when it contains a `/`), its
/// arguments, its working directory and environment; standard output and error piped, no
/// standard input.
pub fn command(spec: &CommandSpec, args: &[String], env: &[(&str, String)], threads: usize) -> Command {
    let workdir = absolute(Path::new(spec.workdir.as_deref().unwrap_or(".")));
    let program = if args[0].contains('/') { workdir.join(&args[0]) } else { PathBuf::from(&args[0]) };
    let mut cmd = Command::new(program);
    cmd.args(&args[1..]).current_dir(&workdir).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    // Not the worker's results lock (that descriptor is closed on exec anyway).
    cmd.env_remove(crate::models::command::LOCK_FD_ENV);
    for key in ["OMP_NUM_THREADS", "MKL_NUM_THREADS"] {
        if std::env::var_os(key).is_none() && !spec.env.contains_key(key) {
            cmd.env(key, threads.to_string());
        }
    }
    cmd.envs(&spec.env);
    cmd.env("BURNLAB_THREADS", threads.to_string()).env("PYTHONUNBUFFERED", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}
