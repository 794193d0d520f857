//! Command-line interface.

use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::results::TrialStatus;
use crate::runner::{self, RunOptions};
use crate::spec::Experiment;
use crate::sweep;
use crate::train::checkpoint::KeepCheckpoints;
use crate::trained::{self, Weights, eval::SplitChoice};
use clap::{Parser, Subcommand};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Declarative deep-learning experiments on Burn: sweeps, seeds, tables, TensorBoard.
#[derive(Debug, Parser)]
#[command(name = "burnlab", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Arguments shared by commands that read an experiment file.
#[derive(Debug, clap::Args)]
pub struct FileArgs {
    /// The experiment file (TOML).
    pub file: PathBuf,
    /// Override a key, validated like the file: --set training.steps=50 --set backend=ndarray
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

/// Where `burnlab run` executes trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Executor {
    /// Parallel worker processes on this machine.
    Local,
    /// One Slurm job array, submitted with `sbatch`.
    Slurm,
}

/// Options of `run --executor slurm`.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Slurm executor (--executor slurm)")]
pub struct SlurmArgs {
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per trial (Slurm format: 90, 1:30:00, 2-00:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per trial, also its thread count [default: 1].
    #[arg(long, value_name = "N")]
    pub cpus_per_trial: Option<usize>,
    /// GPUs per trial (--gres=gpu:N) [default: 0].
    #[arg(long, value_name = "N")]
    pub gpus_per_trial: Option<usize>,
    /// At most M trials at once (the array's %M throttle; an adaptive sweep's slots).
    #[arg(long, value_name = "M")]
    pub max_parallel: Option<usize>,
    /// An extra sbatch option, repeatable: --sbatch-arg=--mem=4G
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_args: Vec<String>,
    /// Write slurm/array.sbatch without submitting it.
    #[arg(long)]
    pub dry_run: bool,
}

impl SlurmArgs {
    /// The first Slurm option given, for the error when the executor is local.
    fn first_given(&self) -> Option<&'static str> {
        [
            (self.partition.is_some(), "--partition"),
            (self.time.is_some(), "--time"),
            (self.cpus_per_trial.is_some(), "--cpus-per-trial"),
            (self.gpus_per_trial.is_some(), "--gpus-per-trial"),
            (self.max_parallel.is_some(), "--max-parallel"),
            (!self.sbatch_args.is_empty(), "--sbatch-arg"),
            (self.dry_run, "--dry-run"),
        ]
        .into_iter()
        .find_map(|(given, flag)| given.then_some(flag))
    }

    fn options(self, results_root: PathBuf, force: bool) -> runner::slurm::SlurmOptions {
        runner::slurm::SlurmOptions {
            results_root,
            force,
            partition: self.partition,
            time: self.time,
            cpus_per_trial: self.cpus_per_trial.unwrap_or(1),
            gpus_per_trial: self.gpus_per_trial.unwrap_or(0),
            max_parallel: self.max_parallel,
            sbatch_args: self.sbatch_args,
            dry_run: self.dry_run,
            keep_checkpoints: KeepCheckpoints::Last,
        }
    }
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an experiment's unfinished trials and write its tables.
    Run {
        #[command(flatten)]
        file: FileArgs,
        /// Folder holding `<experiment name>/`.
        #[arg(long, default_value = "results")]
        results: PathBuf,
        /// Trials run in parallel (default: one per core on CPU backends); with --executor slurm,
        /// an adaptive sweep's trials queued or running at once (default 4).
        #[arg(long)]
        jobs: Option<usize>,
        /// One trial at a time on each listed CUDA device (LibTorch), e.g. --gpus 0,1; indices
        /// count the devices in CUDA_VISIBLE_DEVICES when it is set.
        #[arg(long, value_delimiter = ',', value_name = "I,J,...", conflicts_with = "jobs")]
        gpus: Vec<usize>,
        /// Rerun finished trials too (from step 0: their checkpoints are removed).
        #[arg(long)]
        force: bool,
        /// What stays in a trial's checkpoint/ once it finishes: the last checkpoint, the one
        /// of the selected (best) evaluation, all, or none.
        #[arg(long, value_enum, default_value_t = KeepCheckpoints::Last)]
        keep_checkpoints: KeepCheckpoints,
        /// No progress output.
        #[arg(long, short)]
        quiet: bool,
        /// Print a JSON summary on stdout.
        #[arg(long)]
        json: bool,
        /// Where trials run: worker processes here, or a Slurm job array.
        #[arg(long, value_enum, default_value_t = Executor::Local)]
        executor: Executor,
        #[command(flatten)]
        slurm: SlurmArgs,
    },
    /// Where the trials of a results directory stand: finished, running, failed, pending.
    Status {
        /// `results/<experiment name>`.
        dir: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the expanded trials without training.
    Plan {
        #[command(flatten)]
        file: FileArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check an experiment file and report the number of trials.
    Validate {
        #[command(flatten)]
        file: FileArgs,
    },
    /// Rebuild the tables of a results directory from its stored trial results.
    Report {
        /// `results/<experiment name>`.
        dir: PathBuf,
    },
    /// One table and report across results directories (same statistics as `report`).
    Compare {
        /// Two results directories or more (`results/mnist1d results/architectures`).
        #[arg(required = true, num_args = 2..)]
        dirs: Vec<PathBuf>,
        /// The metric to compare (default: the first directory's primary metric).
        #[arg(long)]
        metric: Option<String>,
        /// Where to write table.md, table.csv, report.html and figures/ (default:
        /// `compare-NAME1-NAME2...` beside the first directory).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// List model families, datasets and backends with their parameters and defaults.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A finished trial's saved model: its metrics on a split of its dataset or of a compatible one.
    Eval {
        /// The trial directory (`results/NAME/trials/<id>`).
        trial_dir: PathBuf,
        /// Change a dataset option: --set dataset.validation=0.2, --set dataset.name=NAME
        #[arg(long = "set", value_name = "dataset.KEY=VALUE")]
        sets: Vec<String>,
        /// The split to measure.
        #[arg(long, value_enum, default_value_t = SplitChoice::Test)]
        split: SplitChoice,
        /// The weights [default: those the trial's test metrics were measured on].
        #[arg(long, value_enum)]
        weights: Option<Weights>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A finished trial's saved model on new inputs: the predicted class and class probabilities per row.
    Predict {
        /// The trial directory (`results/NAME/trials/<id>`).
        trial_dir: PathBuf,
        /// The inputs: a .csv, .tsv or .parquet table, or a .npy array [n, time steps, channels].
        #[arg(long)]
        input: PathBuf,
        /// The CSV file to write.
        #[arg(long)]
        output: PathBuf,
        /// The weights [default: those the trial's test metrics were measured on].
        #[arg(long, value_enum)]
        weights: Option<Weights>,
    },
    /// Name the best trial of a results directory by the report's rule; copy its model with --export.
    Best {
        /// `results/<experiment name>`.
        dir: PathBuf,
        /// Copy the trial's model/ and configuration into this folder.
        #[arg(long, value_name = "DIR")]
        export: Option<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one trial of a planned results directory (used by `run` and by Slurm array tasks).
    #[command(hide = true)]
    Trial {
        /// `results/<experiment name>`.
        dir: PathBuf,
        /// The trial's index in `plan.json`.
        index: usize,
        /// Print JSON progress lines on stdout.
        #[arg(long)]
        progress: bool,
        /// What stays in the trial's checkpoint/ once it finishes.
        #[arg(long, value_enum, default_value_t = KeepCheckpoints::Last)]
        keep_checkpoints: KeepCheckpoints,
        /// A Slurm task: on SIGUSR1 (the time-limit warning) stop after the next checkpoint
        /// and requeue this task, which resumes from it.
        #[arg(long)]
        requeue: bool,
        /// A sweep with a pruner: report each evaluation in the trial directory and wait for
        /// the runner's decision there (docs/search.md).
        #[arg(long)]
        decisions: bool,
    },
}

/// Runs the parsed command; returns the process exit code (0 success, 1 a failed trial,
/// 130 interrupted; errors are returned and mapped by [`Error::exit_code`]).
pub fn execute(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run { file, results, jobs, gpus, force, keep_checkpoints, quiet, json, executor, slurm } => {
            let exp = load(&file)?;
            match executor {
                Executor::Slurm => {
                    run_slurm(&exp, slurm, (results, keep_checkpoints), force, (jobs, &gpus), (json, quiet))
                }
                Executor::Local => run_local(
                    &exp,
                    &slurm,
                    RunOptions { results_root: results, jobs, force, quiet: quiet || json, gpus, keep_checkpoints },
                    json,
                    quiet,
                ),
            }
        }
        Command::Plan { file, json } => plan(&file, json),
        Command::Validate { file } => validate(&file),
        Command::Report { dir } => report(&dir),
        Command::Compare { dirs, metric, output } => compare(&dirs, metric.as_deref(), output),
        Command::Status { dir, json } => status(&dir, json),
        Command::List { json } => list(json).map(|_| 0),
        Command::Trial { dir, index, progress, keep_checkpoints, requeue, decisions } => {
            trial(&dir, index, progress, (keep_checkpoints, requeue, decisions))
        }
        Command::Eval { trial_dir, sets, split, weights, json } => {
            let evaluation = trained::eval::eval(&trial_dir, &sets, split, weights)?;
            print_either(&evaluation, json, || evaluation.text())
        }
        Command::Predict { trial_dir, input, output, weights } => {
            let written = trained::predict::predict(&trial_dir, &input, &output, weights)?;
            eprintln!("{written}");
            Ok(0)
        }
        Command::Best { dir, export, json } => {
            let best = trained::best::best(&dir, export.as_deref())?;
            print_either(&best, json, || best.text())
        }
    }
}

/// Prints `value` as pretty JSON, or `text()`.
fn print_either<T: serde::Serialize>(value: &T, json: bool, text: impl FnOnce() -> String) -> Result<i32> {
    if json {
        println!("{}", serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?);
    } else {
        print!("{}", text());
    }
    Ok(0)
}

/// `run --executor slurm`: submits the unfinished trials as one job array, or, for an adaptive
/// sweep or one with a pruner, drives the search from here with one Slurm job per trial.
fn run_slurm(
    exp: &Experiment,
    slurm: SlurmArgs,
    (results, keep): (PathBuf, KeepCheckpoints),
    force: bool,
    (jobs, gpus): (Option<usize>, &[usize]),
    (json, quiet): (bool, bool),
) -> Result<i32> {
    let opts = runner::slurm::SlurmOptions { keep_checkpoints: keep, ..slurm.options(results, force) };
    if runner::slurm::driver::needs_driver(exp)? {
        // An adaptive sweep or one with a pruner: the driver submits trials as slots free.
        no_local_options(None, gpus)?;
        let outcome = runner::slurm::driver::drive(exp, &opts, jobs, quiet || json)?;
        print_outcome(&outcome, json, quiet)?;
        return Ok(if outcome.interrupted { 130 } else { i32::from(outcome.ran.contains_key("failed")) });
    }
    no_local_options(jobs, gpus)?;
    let sub = runner::slurm::submit(exp, &opts)?;
    runner::slurm::print_submission(&sub, json, quiet)?;
    Ok(0)
}

/// `run` (local executor): runs the unfinished trials here; exit code 130 when interrupted,
/// 1 when a trial failed.
fn run_local(exp: &Experiment, slurm: &SlurmArgs, opts: RunOptions, json: bool, quiet: bool) -> Result<i32> {
    if let Some(flag) = slurm.first_given() {
        return Err(crate::error::UserError::new(format!("{flag} is an option of the Slurm executor"))
            .help("add --executor slurm")
            .into());
    }
    if opts.jobs == Some(0) {
        return Err(crate::error::UserError::new("--jobs must be at least 1").into());
    }
    let outcome = runner::run(exp, &opts)?;
    print_outcome(&outcome, json, quiet)?;
    Ok(if outcome.interrupted { 130 } else { i32::from(outcome.ran.contains_key("failed")) })
}

/// `plan`: prints the expanded trials.
fn plan(file: &FileArgs, json: bool) -> Result<i32> {
    let exp = load(file)?;
    print_plan(&sweep::expand(&exp)?, json)?;
    Ok(0)
}

/// `validate`: checks the file and counts its trials.
fn validate(file: &FileArgs) -> Result<i32> {
    let exp = load(file)?;
    let plan = sweep::expand(&exp)?;
    println!("{}: ok, experiment `{}` with {} trials", file.file.display(), exp.name, plan.trials.len());
    Ok(0)
}

/// `report`: rebuilds the tables and prints the files written.
fn report(dir: &Path) -> Result<i32> {
    for p in crate::report::build(dir)?.files {
        println!("{}", p.display());
    }
    Ok(0)
}

/// `compare`: the table across directories, printed, and the files written.
fn compare(dirs: &[PathBuf], metric: Option<&str>, output: Option<PathBuf>) -> Result<i32> {
    let output = output.unwrap_or_else(|| {
        let names: Vec<String> =
            dirs.iter().map(|d| d.file_name().map_or("x".into(), |n| n.to_string_lossy().into_owned())).collect();
        let parent = dirs[0].parent().unwrap_or(Path::new("."));
        parent.join(format!("compare-{}", names.join("-")))
    });
    let built = crate::report::compare::compare(dirs, metric, &output)?;
    println!("{}", built.table_md);
    for p in built.files {
        println!("{}", p.display());
    }
    Ok(0)
}

/// `status`: where every trial stands, as text or JSON.
fn status(dir: &Path, json: bool) -> Result<i32> {
    let status = runner::status::collect(dir)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status).map_err(anyhow::Error::from)?);
    } else {
        print!("{}", runner::status::render(&status));
    }
    Ok(0)
}

/// `trial` (hidden): runs one trial in this process; exit code 1 when it failed, 130 when
/// interrupted.
fn trial(
    dir: &Path,
    index: usize,
    progress: bool,
    (keep, requeue, decisions): (KeepCheckpoints, bool, bool),
) -> Result<i32> {
    if requeue {
        runner::worker::watch_time_limit();
    }
    let summary = runner::worker::run_trial(dir, index, (progress, runner::stop_flag()), keep, decisions)?;
    if let Some(e) = &summary.error {
        eprintln!("trial {} failed: {e}", summary.id);
    }
    if requeue && summary.status == TrialStatus::Interrupted && runner::worker::time_limit_warned() {
        let task = runner::slurm::requeue_this_task()?;
        eprintln!(
            "trial {}: time limit near; checkpointed at step {} and requeued task {task}",
            summary.id, summary.steps
        );
    }
    Ok(match summary.status {
        TrialStatus::Failed => 1,
        TrialStatus::Interrupted => 130,
        _ => 0,
    })
}

/// Prints the trials of `plan`, as JSON or as a table.
fn print_plan(plan: &sweep::Plan, json: bool) -> Result<()> {
    if json {
        let trials: Vec<_> = plan
            .trials
            .iter()
            .map(|t| json!({"index": t.index, "id": t.id, "label": t.label, "family": t.config.model.spec.name(), "swept": t.swept, "seed": t.config.seed}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"experiment": plan.experiment, "trials": trials}))
                .map_err(anyhow::Error::from)?
        );
    } else {
        println!("{:>5}  {:<12}  trial", "index", "id");
        for t in &plan.trials {
            println!("{:>5}  {:<12}  {}", t.index, t.id, t.name());
        }
        println!("{} trials", plan.trials.len());
    }
    Ok(())
}

/// Rejects the local executor's options given with `--executor slurm`.
fn no_local_options(jobs: Option<usize>, gpus: &[usize]) -> Result<()> {
    if jobs.is_some() {
        return Err(crate::error::UserError::new("--jobs is an option of the local executor")
            .help("with --executor slurm, --max-parallel limits the trials running at once")
            .into());
    }
    if !gpus.is_empty() {
        // --gpus pins local workers (issue 7); Slurm allocates GPUs itself.
        return Err(crate::error::UserError::new("--gpus is an option of the local executor")
            .help("with --executor slurm, --gpus-per-trial requests GPUs for each trial")
            .into());
    }
    Ok(())
}

/// Prints what a local run did. The run is recorded by then: a closed terminal or pipe (a
/// hung-up terminal, `| head`) loses the printout, not the exit code.
fn print_outcome(outcome: &runner::RunOutcome, json: bool, quiet: bool) -> Result<()> {
    use std::io::Write;
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    if json {
        let _ = writeln!(out, "{}", serde_json::to_string_pretty(outcome).map_err(anyhow::Error::from)?);
    } else if !quiet {
        let ran: Vec<String> = outcome.ran.iter().map(|(k, v)| format!("{v} {k}")).collect();
        let ran = if ran.is_empty() { "none".into() } else { ran.join(", ") };
        let _ = writeln!(err, "{} trials planned, {} already finished, ran: {ran}", outcome.planned, outcome.skipped);
        let _ = writeln!(out, "{}", outcome.table_md);
        let dir = outcome.results_dir.display();
        let _ = writeln!(err, "results: {dir}\ntensorboard --logdir {dir}");
    }
    Ok(())
}

/// Loads the experiment file with its `--set` overrides and prints its warnings on stderr.
fn load(file: &FileArgs) -> Result<Experiment> {
    let exp = Experiment::load(&file.file, &file.sets)?;
    for w in &exp.warnings {
        eprintln!("warning: {w}");
    }
    Ok(exp)
}

fn defaults_table<T: serde::Serialize>(v: &T, tag: &str) -> toml::Table {
    let mut t = toml::Table::try_from(v).unwrap_or_default();
    t.remove(tag);
    t
}

fn list(json: bool) -> Result<()> {
    let families: Vec<_> = crate::models::families()
        .iter()
        .map(|f| (f.name, f.summary, defaults_table(&f.default_value(), "family")))
        .collect();
    let datasets: Vec<_> = crate::data::datasets()
        .iter()
        .map(|d| {
            (d.name, d.summary, defaults_table(&d.default_value(), "name"), d.default_value().default_validation())
        })
        .collect();
    if json {
        let fam: Vec<_> = families.iter().map(|(n, s, d)| json!({"name": n, "summary": s, "defaults": d})).collect();
        let ds: Vec<_> = datasets
            .iter()
            .map(|(n, s, d, v)| json!({"name": n, "summary": s, "defaults": d, "validation": v}))
            .collect();
        let be: Vec<_> = BackendKind::ALL
            .iter()
            .map(|b| json!({"name": b.name(), "summary": b.summary(), "available": b.compiled_in()}))
            .collect();
        let out = json!({"families": fam, "datasets": ds, "backends": be});
        println!("{}", serde_json::to_string_pretty(&out).map_err(anyhow::Error::from)?);
        return Ok(());
    }
    let fmt = |d: &toml::Table| {
        if d.is_empty() {
            "(no parameters)".to_string()
        } else {
            d.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
        }
    };
    println!("Model families ([[models]] family = \"...\"):");
    for (n, s, d) in &families {
        println!("  {n:<14} {s}\n                 defaults: {}", fmt(d));
    }
    println!("\nDatasets ([dataset] name = \"...\"):");
    for (n, s, d, v) in &datasets {
        println!("  {n:<14} {s}\n                 options: {}; validation = {v}", fmt(d));
    }
    println!("\nBackends (backend = \"...\"):");
    for b in BackendKind::ALL {
        let avail = if b.compiled_in() { "" } else { "  [not in this build: --features tch]" };
        println!("  {:<14} {}{avail}", b.name(), b.summary());
    }
    Ok(())
}

/// The `burnlab` command line with `registry`'s model families and datasets: parses the
/// arguments, runs the command and returns the process's exit code (errors are printed).
/// A program that adds its own families or datasets calls this from its `main`.
///
/// # Panics
/// If a registry was already installed or read in this process.
pub fn main_with(registry: crate::registry::Registry) -> i32 {
    registry.install().unwrap_or_else(|e| panic!("{e}"));
    match execute(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            report_error(&e);
            e.exit_code()
        }
    }
}

/// Prints an error the way users see it.
pub fn report_error(e: &Error) {
    eprintln!("error: {e}");
}
