//! The Slurm executor: a sweep's unfinished trials as one Slurm job array; an adaptive sweep
//! (a `tpe` search, or any pruner) is run by [`driver`] instead, one job per trial.
//!
//! `burnlab run FILE --executor slurm` plans the sweep like a local run, writes
//! `slurm/array.sbatch` with one array task per unfinished trial and submits it with
//! `sbatch`. Array task `k` runs `burnlab trial DIR INDICES[k]`, the command the local runner
//! runs, so a trial's files are the same whoever ran it. The plan indices are listed inside
//! the script: Slurm keeps its own copy of a submitted script, so a later submission (which
//! rewrites `array.sbatch`) never changes what a queued task runs, and array task ids stay
//! `0..n` whatever the plan indices (Slurm's `MaxArraySize` bounds task ids, not counts).

pub mod driver;

use super::{Prepared, prepare_with};
use crate::error::{Error, Result, UserError};
use crate::fsutil::{write_atomic, write_json_atomic};
pub use crate::results::paths::{jobs_path, log_path, logs_dir, script_path, slurm_dir};
use crate::spec::Experiment;
use crate::sweep::SearchStrategy;
use crate::train::checkpoint::KeepCheckpoints;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// Options of `burnlab run --executor slurm`.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// The parent of `<experiment name>/`.
    pub results_root: PathBuf,
    /// Resubmit finished trials too.
    pub force: bool,
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` limit per trial (any Slurm time format).
    pub time: Option<String>,
    /// `--cpus-per-task`, also the trial's `RAYON_NUM_THREADS`.
    pub cpus_per_trial: usize,
    /// GPUs per trial (`--gres=gpu:N`), none when 0.
    pub gpus_per_trial: usize,
    /// The array's `%M` throttle: at most this many trials at once.
    pub max_parallel: Option<usize>,
    /// Extra `#SBATCH` options, verbatim.
    pub sbatch_args: Vec<String>,
    /// Write the script without submitting it.
    pub dry_run: bool,
    /// `--keep-checkpoints`: what stays in a trial's `checkpoint/` once it finishes.
    pub keep_checkpoints: KeepCheckpoints,
}

impl SlurmOptions {
    /// Options with Slurm's defaults: one CPU, no GPU, no throttle.
    pub fn new(results_root: impl Into<PathBuf>) -> Self {
        SlurmOptions {
            results_root: results_root.into(),
            force: false,
            keep_checkpoints: KeepCheckpoints::Last,
            partition: None,
            time: None,
            cpus_per_trial: 1,
            gpus_per_trial: 0,
            max_parallel: None,
            sbatch_args: Vec::new(),
            dry_run: false,
        }
    }

    /// Rejects values that cannot go into an `#SBATCH` line.
    pub fn validate(&self) -> Result<(), UserError> {
        if self.cpus_per_trial == 0 {
            return Err(UserError::new("--cpus-per-trial must be at least 1"));
        }
        if self.max_parallel == Some(0) {
            return Err(UserError::new("--max-parallel must be at least 1"));
        }
        let word = |flag: &str, v: &str| {
            if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
                Err(UserError::new(format!("{flag} must be one word without spaces, got {v:?}")))
            } else {
                Ok(())
            }
        };
        if let Some(p) = &self.partition {
            word("--partition", p)?;
        }
        if let Some(t) = &self.time {
            word("--time", t)?;
            if !t.chars().all(|c| c.is_ascii_digit() || c == ':' || c == '-') {
                return Err(UserError::new(format!(
                    "--time must be a Slurm time such as 90, 1:30:00 or 2-00:00:00, got {t:?}"
                )));
            }
        }
        for a in &self.sbatch_args {
            if !a.starts_with('-') || a.chars().any(|c| c.is_control()) {
                return Err(UserError::new(format!(
                    "--sbatch-arg takes one sbatch option such as --mem=4G, got {a:?}"
                ))
                .help("write it with `=`: --sbatch-arg=--mem=4G"));
            }
            if let Some(owned) = owned_option(a) {
                return Err(UserError::new(format!(
                    "--sbatch-arg {a:?}: burnlab sets {owned} itself (array tasks map to trials, logs go to slurm/logs/)"
                )));
            }
        }
        Ok(())
    }
}

/// The sbatch option burnlab writes itself that `arg` would override, if any.
fn owned_option(arg: &str) -> Option<&'static str> {
    const OWNED: [(&str, char); 3] = [("--array", 'a'), ("--output", 'o'), ("--error", 'e')];
    let name = arg.split('=').next().unwrap_or(arg);
    OWNED.iter().find_map(|&(long, short)| {
        let short_form = !arg.starts_with("--") && arg.chars().nth(1) == Some(short);
        (name == long || short_form).then_some(long)
    })
}

/// One `sbatch` submission, as recorded in `slurm/jobs.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Slurm's job id of the array.
    pub job_id: String,
    /// Unix time of the submission.
    pub submitted_at: u64,
    /// Array task `k` runs plan index `indices[k]`.
    pub indices: Vec<usize>,
    /// CPUs per trial.
    pub cpus_per_trial: usize,
    /// GPUs per trial.
    pub gpus_per_trial: usize,
    /// The `%M` throttle.
    pub max_parallel: Option<usize>,
}

impl JobRecord {
    /// The array task that ran plan index `index` in this job.
    pub fn task_of(&self, index: usize) -> Option<usize> {
        self.indices.iter().position(|&i| i == index)
    }
}

/// Reads `slurm/jobs.json` (no file: no jobs).
pub fn read_jobs(results: &Path) -> Result<Vec<JobRecord>> {
    let path = jobs_path(results);
    if !path.exists() {
        return Ok(Vec::new());
    }
    crate::fsutil::read_json(&path)
}

/// What `squeue` says about one array task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueState {
    /// Waiting to start (PENDING, REQUEUED, held, ...).
    Queued,
    /// Started (RUNNING, CONFIGURING, COMPLETING, SUSPENDED, ...).
    Running,
}

impl QueueState {
    /// Classifies a Slurm job state name (`%T` of `squeue`).
    pub fn from_slurm(state: &str) -> QueueState {
        match state {
            "RUNNING" | "CONFIGURING" | "COMPLETING" | "SUSPENDED" | "STAGE_OUT" | "SIGNALING" | "STOPPED"
            | "RESIZING" => QueueState::Running,
            _ => QueueState::Queued,
        }
    }
}

/// One array task of a recorded job still known to `squeue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedTask {
    /// The array's job id.
    pub job_id: String,
    /// The array task id.
    pub task: usize,
    /// The plan index the task runs.
    pub index: usize,
    /// Queued or running.
    pub state: QueueState,
}

/// The Slurm queue's view of the recorded jobs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Queue {
    /// Whether `squeue` answered (false without Slurm, or when it failed).
    pub available: bool,
    /// Why `squeue` gave no answer.
    pub error: Option<String>,
    /// The recorded jobs' tasks still in the queue, by plan index.
    pub tasks: BTreeMap<usize, QueuedTask>,
}

/// Asks `squeue` which tasks of `jobs` are still queued or running.
///
/// Without recorded jobs nothing is asked (a local run); without `squeue` the answer is
/// "unavailable", not an error, so `status` still works from the trial files.
pub fn query_queue(jobs: &[JobRecord]) -> Queue {
    if jobs.is_empty() {
        return Queue::default();
    }
    let ids: Vec<&str> = jobs.iter().map(|j| j.job_id.as_str()).collect();
    let out = Command::new("squeue").args(["-h", "-r", "-o", "%F %K %T", "-j", &ids.join(",")]).output();
    let out = match out {
        Ok(o) => o,
        Err(e) => {
            return Queue { available: false, error: Some(format!("squeue: {e}")), tasks: BTreeMap::new() };
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A single job id that slurmctld has already forgotten is an error, not an empty answer.
    if !out.status.success() && !stderr.contains("Invalid job id") {
        let msg = stderr.lines().last().unwrap_or("failed").trim().to_string();
        return Queue { available: false, error: Some(format!("squeue: {msg}")), tasks: BTreeMap::new() };
    }
    Queue { available: true, error: None, tasks: parse_squeue(&String::from_utf8_lossy(&out.stdout), jobs) }
}

/// Maps `squeue -h -r -o "%F %K %T"` lines to plan indices through the recorded jobs.
pub fn parse_squeue(text: &str, jobs: &[JobRecord]) -> BTreeMap<usize, QueuedTask> {
    let mut tasks: BTreeMap<usize, QueuedTask> = BTreeMap::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(job), Some(task), Some(state)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let Some(record) = jobs.iter().find(|j| j.job_id == job) else {
            continue;
        };
        let Ok(task) = task.parse::<usize>() else {
            continue;
        };
        let Some(&index) = record.indices.get(task) else {
            continue;
        };
        let state = QueueState::from_slurm(state);
        let t = QueuedTask { job_id: job.to_string(), task, index, state };
        // A running task wins over a queued one for the same trial.
        match tasks.get(&index) {
            Some(old) if old.state == QueueState::Running => {}
            _ => {
                tasks.insert(index, t);
            }
        }
    }
    tasks
}

/// What `run --executor slurm` did.
#[derive(Debug, Clone, Serialize)]
pub struct Submission {
    /// The experiment's results directory.
    pub results_dir: PathBuf,
    /// Trials in the plan.
    pub planned: usize,
    /// Trials with a final result (completed or diverged), not resubmitted.
    pub finished: usize,
    /// Unfinished trials still queued or running in an earlier job, not resubmitted.
    pub in_queue: Vec<usize>,
    /// The plan indices submitted now, in array-task order.
    pub indices: Vec<usize>,
    /// The script written (none when there was nothing to submit).
    pub script: Option<PathBuf>,
    /// The `--array` value.
    pub array: Option<String>,
    /// Slurm's job id (none for a dry run or when nothing was submitted).
    pub job_id: Option<String>,
    /// Whether the script was only written.
    pub dry_run: bool,
    /// The tables written from the results so far.
    pub tables: Vec<PathBuf>,
}

/// What goes into `array.sbatch`.
#[derive(Debug, Clone)]
pub struct ScriptSpec<'a> {
    /// The experiment's name (the job name).
    pub experiment: &'a str,
    /// The results directory, absolute.
    pub results_dir: &'a Path,
    /// The burnlab executable, absolute.
    pub exe: &'a Path,
    /// Array task `k` runs plan index `indices[k]`.
    pub indices: &'a [usize],
    /// `BURNLAB_DATASETS` to export, when the submitter set it.
    pub datasets: Option<&'a Path>,
    /// The trial takes its pruning decisions from the driver (`trial --decisions`).
    pub driven: bool,
    /// The options.
    pub opts: &'a SlurmOptions,
}

/// The `--array` value for `n` tasks with an optional throttle.
pub fn array_spec(n: usize, max_parallel: Option<usize>) -> String {
    let range = if n <= 1 { "0".to_string() } else { format!("0-{}", n - 1) };
    match max_parallel {
        Some(m) => format!("{range}%{m}"),
        None => range,
    }
}

/// Quotes `s` for bash (single quotes).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Quotes a value of an `#SBATCH` line when it holds spaces (sbatch reads double quotes there).
fn sbatch_value(s: &str) -> String {
    if s.chars().any(|c| c.is_whitespace() || c == '"') {
        format!("\"{}\"", s.replace('"', "\\\""))
    } else {
        s.to_string()
    }
}

/// Seconds before its time limit that Slurm warns a task (SIGUSR1); `--sbatch-arg
/// =--signal=B:USR1@N` (a later `#SBATCH` line) changes it.
pub const TIME_LIMIT_WARNING_S: u32 = 60;

/// Requeues the Slurm task this process runs in (`scontrol requeue JOB_TASK`, from
/// `SLURM_ARRAY_JOB_ID` and `SLURM_ARRAY_TASK_ID`, else `SLURM_JOB_ID`): a trial warned of
/// its time limit, once it has checkpointed; the requeued task resumes from the checkpoint.
///
/// # Errors
/// Not in a Slurm job, or `scontrol` failing (its message).
pub fn requeue_this_task() -> Result<String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let id = match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
        (Some(job), Some(task)) => format!("{job}_{task}"),
        _ => var("SLURM_JOB_ID").ok_or_else(|| UserError::new("not in a Slurm job (no SLURM_JOB_ID)"))?,
    };
    let out = Command::new("scontrol").args(["requeue", &id]).output().map_err(|e| Error::io("scontrol", e))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(anyhow::anyhow!("scontrol requeue {id} failed: {why}").into());
    }
    Ok(id)
}

/// The text of `array.sbatch`.
pub fn render_script(spec: &ScriptSpec<'_>) -> String {
    let o = spec.opts;
    let n = spec.indices.len();
    let results = spec.results_dir.display().to_string();
    let log = logs_dir(spec.results_dir).join("%A_%a.out").display().to_string();
    let mut s = String::from("#!/bin/bash\n");
    s.push_str(&format!(
        "# Written by burnlab {} for experiment `{}`: {n} unfinished trials as one Slurm job array.\n",
        crate::VERSION,
        spec.experiment
    ));
    s.push_str("# Array task k runs plan index INDICES[k]. Every `burnlab run --executor slurm` rewrites this\n");
    s.push_str("# file; Slurm keeps its own copy of a submitted script, so queued tasks are not affected.\n");
    s.push_str(&format!("#SBATCH --job-name=burnlab-{}\n", spec.experiment));
    s.push_str(&format!("#SBATCH --array={}\n", array_spec(n, o.max_parallel)));
    s.push_str(&format!("#SBATCH --output={}\n", sbatch_value(&log)));
    // A requeued task (see --signal below) appends to its log: the earlier attempts stay.
    s.push_str("#SBATCH --open-mode=append\n");
    s.push_str("#SBATCH --ntasks=1\n");
    // SIGUSR1 to the trial (this shell `exec`s it) a minute before a time limit: it stops
    // after its next checkpoint, records itself as interrupted and requeues its own task,
    // which resumes from that checkpoint (`trial --requeue`; the task must be requeueable).
    s.push_str("#SBATCH --requeue\n");
    s.push_str(&format!("#SBATCH --signal=B:USR1@{TIME_LIMIT_WARNING_S}\n"));
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", o.cpus_per_trial));
    if o.gpus_per_trial > 0 {
        s.push_str(&format!("#SBATCH --gres=gpu:{}\n", o.gpus_per_trial));
    }
    if let Some(p) = &o.partition {
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &o.time {
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    for a in &o.sbatch_args {
        s.push_str(&format!("#SBATCH {a}\n"));
    }
    s.push_str("set -euo pipefail\n");
    s.push_str("INDICES=(");
    for (k, i) in spec.indices.iter().enumerate() {
        if k % 20 == 0 {
            s.push_str("\n ");
        }
        s.push_str(&format!(" {i}"));
    }
    s.push_str("\n)\n");
    s.push_str("TASK=\"${SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is a Slurm job array}\"\n");
    s.push_str("INDEX=\"${INDICES[$TASK]:?array task $TASK has no trial: the array has ${#INDICES[@]} tasks}\"\n");
    s.push_str(&format!("export RAYON_NUM_THREADS={}\n", o.cpus_per_trial));
    if let Some(d) = spec.datasets {
        s.push_str(&format!("export BURNLAB_DATASETS={}\n", shell_quote(&d.display().to_string())));
    }
    s.push_str(
        "echo \"burnlab: array task ${SLURM_ARRAY_JOB_ID:-?}_$TASK runs trial index $INDEX on $(hostname)\" >&2\n",
    );
    let mut keep = match o.keep_checkpoints {
        KeepCheckpoints::Last => String::new(),
        k => format!(" --keep-checkpoints {}", k.as_str()),
    };
    if spec.driven {
        keep.push_str(" --decisions");
    }
    s.push_str(&format!(
        "exec {} trial {} \"$INDEX\" --requeue{keep}\n",
        shell_quote(&spec.exe.display().to_string()),
        shell_quote(&results)
    ));
    s
}

/// Plans `exp`, writes `slurm/array.sbatch` for its unfinished trials (leaving out those
/// still queued or running in an earlier job) and submits it unless `dry_run`.
///
/// # Errors
/// Invalid options or sweep, a locked results directory, `sbatch` failing, or an I/O error.
pub fn submit(exp: &Experiment, opts: &SlurmOptions) -> Result<Submission> {
    opts.validate()?;
    submit_with(crate::sweep::strategy(exp)?, exp, opts)
}

/// [`submit`] with the search strategy given.
///
/// # Errors
/// As [`submit`]; a strategy that cannot list its whole plan up front (a job array is fixed
/// when it is submitted), before anything is written.
pub fn submit_with(strategy: Box<dyn SearchStrategy>, exp: &Experiment, opts: &SlurmOptions) -> Result<Submission> {
    if !strategy.is_fixed() {
        return Err(UserError::new(format!(
            "the `{}` search strategy chooses trials as results come in; a Slurm job array needs the whole plan up front",
            strategy.name()
        ))
        .help("`burnlab run --executor slurm` runs it through its driver (runner::slurm::driver), one job per trial")
        .into());
    }
    if let Some(p) = &exp.pruner {
        return Err(UserError::new(format!(
            "`[sweep] pruner` ({}) stops trials as results come in; a Slurm job array runs every trial to its end",
            p.kind.name()
        ))
        .help("`burnlab run --executor slurm` runs it through its driver (runner::slurm::driver), one job per trial")
        .into());
    }
    let prepared = prepare_with(strategy, exp, &opts.results_root, opts.force)?;
    let (plan, Prepared { dir, pending, .. }) = (prepared.plan(), &prepared);
    let dir = std::path::absolute(dir).map_err(|e| Error::io(dir, e))?;
    let jobs = read_jobs(&dir)?;
    let queue = query_queue(&jobs);
    let in_queue: Vec<usize> = pending.iter().copied().filter(|i| queue.tasks.contains_key(i)).collect();
    let indices: Vec<usize> = pending.iter().copied().filter(|i| !queue.tasks.contains_key(i)).collect();
    let finished = plan.trials.len() - pending.len();
    let mut sub = Submission {
        results_dir: dir.clone(),
        planned: plan.trials.len(),
        finished,
        in_queue,
        indices,
        script: None,
        array: None,
        job_id: None,
        dry_run: opts.dry_run,
        tables: Vec::new(),
    };
    if !sub.indices.is_empty() {
        let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
        let datasets = match std::env::var_os("BURNLAB_DATASETS") {
            Some(d) => Some(std::path::absolute(&d).map_err(|e| Error::io(&d, e))?),
            None => None,
        };
        let text = render_script(&ScriptSpec {
            experiment: &plan.experiment,
            results_dir: &dir,
            exe: &exe,
            indices: &sub.indices,
            datasets: datasets.as_deref(),
            driven: false,
            opts,
        });
        let logs = logs_dir(&dir);
        std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
        let script = script_path(&dir);
        write_atomic(&script, text.as_bytes())?;
        sub.array = Some(array_spec(sub.indices.len(), opts.max_parallel));
        sub.script = Some(script.clone());
        if !opts.dry_run {
            let job_id = sbatch(&script, &[])?;
            let mut jobs = jobs;
            jobs.push(JobRecord {
                job_id: job_id.clone(),
                submitted_at: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
                indices: sub.indices.clone(),
                cpus_per_trial: opts.cpus_per_trial,
                gpus_per_trial: opts.gpus_per_trial,
                max_parallel: opts.max_parallel,
            });
            write_json_atomic(&jobs_path(&dir), &jobs)?;
            sub.job_id = Some(job_id);
        }
    }
    sub.tables = crate::report::build(&dir)?.files;
    Ok(sub)
}

/// Prints what `submit` did: JSON with `json`; else the job id (or, for a dry run, the
/// script's path) on stdout and a description on stderr unless `quiet`.
pub fn print_submission(sub: &Submission, json: bool, quiet: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(sub).map_err(anyhow::Error::from)?);
        return Ok(());
    }
    let dir = sub.results_dir.display();
    let head = format!("{} trials planned, {} finished", sub.planned, sub.finished);
    let queued = if sub.in_queue.is_empty() {
        String::new()
    } else {
        format!(", {} still queued or running in earlier jobs (not resubmitted)", sub.in_queue.len())
    };
    let array = sub.array.as_deref().unwrap_or("");
    match (&sub.script, &sub.job_id) {
        (None, _) => {
            if !quiet {
                if sub.in_queue.is_empty() {
                    eprintln!("{head}: nothing to submit\ntables: {dir}/table.md");
                } else {
                    eprintln!("{head}{queued}: nothing to submit\nfollow them with: burnlab status {dir}");
                }
            }
        }
        (Some(script), Some(id)) => {
            println!("{id}");
            if !quiet {
                eprintln!("{head}{queued}; submitted {} as Slurm job {id} (array {array})", sub.indices.len());
                eprintln!(
                    "script: {}\nlogs:   {}/{id}_<task>.out",
                    script.display(),
                    logs_dir(&sub.results_dir).display()
                );
                eprintln!("follow: burnlab status {dir}\ntables: burnlab report {dir} (once finished)");
            }
        }
        (Some(script), None) => {
            println!("{}", script.display());
            if !quiet {
                eprintln!("{head}{queued}; dry run: wrote the script for {} trials (array {array})", sub.indices.len());
                eprintln!("submit it with: sbatch {}", script.display());
            }
        }
    }
    Ok(())
}

/// Submits `script` with `sbatch --parsable` and the `extra` options; returns the job id.
fn sbatch(script: &Path, extra: &[&str]) -> Result<String> {
    let out = Command::new("sbatch").arg("--parsable").args(extra).arg(script).output().map_err(|e| {
        Error::from(
            UserError::new(format!("cannot run sbatch: {e}"))
                .help("run this on a Slurm login node, or use --dry-run to write the script without submitting it"),
        )
    })?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(UserError::new(format!("sbatch failed ({}): {}", out.status, stderr.trim()))
            .at(script.display().to_string())
            .help("check --partition/--time/--sbatch-arg against the cluster (`sinfo`); arrays longer than the cluster's MaxArraySize must be split")
            .into());
    }
    parse_job_id(&stdout).ok_or_else(|| anyhow::anyhow!("sbatch printed no job id: {:?}", stdout.trim()).into())
}

/// The job id in `sbatch --parsable` output (`ID` or `ID;CLUSTER`).
pub fn parse_job_id(stdout: &str) -> Option<String> {
    let line = stdout.lines().map(str::trim).rfind(|l| !l.is_empty())?;
    let id = line.split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, indices: &[usize]) -> JobRecord {
        JobRecord { job_id: id.into(), indices: indices.to_vec(), ..JobRecord::default() }
    }

    /// A test-only adaptive strategy: grid search that does not promise its plan up front.
    struct Adaptive(crate::sweep::grid::Grid);

    impl SearchStrategy for Adaptive {
        fn name(&self) -> &'static str {
            "adaptive"
        }
        fn plan(&self) -> &crate::sweep::Plan {
            self.0.plan()
        }
        fn is_fixed(&self) -> bool {
            false
        }
        fn ask(&mut self, finished: &[crate::sweep::Finished]) -> crate::sweep::Ask {
            self.0.ask(finished)
        }
    }

    #[test]
    fn a_strategy_without_a_fixed_plan_is_refused_before_anything_is_written() {
        let text = "name = \"t\"\n[dataset]\nname = \"mnist1d\"\n[[models]]\nfamily = \"linear\"\n";
        let exp = Experiment::from_source(crate::spec::Source::from_text("t.toml", text), vec![]).unwrap();
        let root = tempfile::tempdir().unwrap();
        let mut opts = SlurmOptions::new(root.path());
        opts.dry_run = true;
        let adaptive = Box::new(Adaptive(crate::sweep::grid::Grid::new(&exp).unwrap()));
        let e = submit_with(adaptive, &exp, &opts).unwrap_err().to_string();
        assert!(e.contains("`adaptive` search strategy") && e.contains("whole plan up front"), "{e}");
        assert!(!root.path().join("t").exists());
        let sub = submit_with(crate::sweep::strategy(&exp).unwrap(), &exp, &opts).unwrap();
        assert_eq!(sub.indices, vec![0]);
    }

    #[test]
    fn squeue_lines_map_array_tasks_to_plan_indices() {
        let jobs = [job("12", &[3, 5, 9]), job("15", &[9])];
        let text = "12 0 RUNNING\n12 2 PENDING\n15 0 RUNNING\n99 0 RUNNING\n12 N/A PENDING\n12 7 PENDING\n";
        let tasks = parse_squeue(text, &jobs);
        assert_eq!(tasks.keys().copied().collect::<Vec<_>>(), vec![3, 9]);
        assert_eq!(tasks[&3], QueuedTask { job_id: "12".into(), task: 0, index: 3, state: QueueState::Running });
        // Trial 9 is queued in job 12 and running in job 15: running wins.
        assert_eq!(tasks[&9].job_id, "15");
        assert_eq!(tasks[&9].state, QueueState::Running);
    }

    #[test]
    fn slurm_states_split_into_queued_and_running() {
        assert_eq!(QueueState::from_slurm("PENDING"), QueueState::Queued);
        assert_eq!(QueueState::from_slurm("REQUEUE_HOLD"), QueueState::Queued);
        assert_eq!(QueueState::from_slurm("RUNNING"), QueueState::Running);
        assert_eq!(QueueState::from_slurm("COMPLETING"), QueueState::Running);
    }

    fn spec_of<'a>(indices: &'a [usize], opts: &'a SlurmOptions) -> ScriptSpec<'a> {
        ScriptSpec {
            experiment: "tiny",
            results_dir: Path::new("/shared/results/tiny"),
            exe: Path::new("/opt/burn lab/burnlab"),
            indices,
            datasets: None,
            driven: false,
            opts,
        }
    }

    fn script(indices: &[usize], opts: &SlurmOptions) -> String {
        render_script(&spec_of(indices, opts))
    }

    #[test]
    fn array_spec_counts_tasks_and_throttles() {
        assert_eq!(array_spec(1, None), "0");
        assert_eq!(array_spec(4, None), "0-3");
        assert_eq!(array_spec(4, Some(2)), "0-3%2");
    }

    #[test]
    fn script_maps_tasks_to_plan_indices_and_sets_resources() {
        let mut opts = SlurmOptions::new("results");
        opts.cpus_per_trial = 4;
        opts.gpus_per_trial = 1;
        opts.max_parallel = Some(3);
        opts.partition = Some("gpu".into());
        opts.time = Some("1:00:00".into());
        opts.sbatch_args = vec!["--mem=4G".into()];
        let s = script(&[3, 5, 9], &opts);
        assert!(s.starts_with("#!/bin/bash\n"));
        for line in [
            "#SBATCH --job-name=burnlab-tiny",
            "#SBATCH --array=0-2%3",
            "#SBATCH --output=/shared/results/tiny/slurm/logs/%A_%a.out",
            "#SBATCH --cpus-per-task=4",
            "#SBATCH --gres=gpu:1",
            "#SBATCH --partition=gpu",
            "#SBATCH --time=1:00:00",
            "#SBATCH --mem=4G",
            "#SBATCH --signal=B:USR1@60",
            "#SBATCH --requeue",
            "  3 5 9",
            "export RAYON_NUM_THREADS=4",
            "exec '/opt/burn lab/burnlab' trial '/shared/results/tiny' \"$INDEX\" --requeue",
        ] {
            assert!(s.lines().any(|l| l == line), "missing line {line:?} in\n{s}");
        }
        // Every #SBATCH line comes before the first command, or sbatch ignores it.
        let first_cmd = s.lines().position(|l| l == "set -euo pipefail").unwrap();
        assert!(s.lines().enumerate().all(|(i, l)| !l.starts_with("#SBATCH") || i < first_cmd));
    }

    #[test]
    fn a_driven_trial_waits_for_the_drivers_decisions() {
        let opts = SlurmOptions::new("results");
        let driven = render_script(&ScriptSpec { driven: true, ..spec_of(&[7], &opts) });
        assert!(driven.contains("#SBATCH --array=0\n"), "{driven}");
        assert!(
            driven
                .lines()
                .any(|l| l
                    == "exec '/opt/burn lab/burnlab' trial '/shared/results/tiny' \"$INDEX\" --requeue --decisions"),
            "{driven}"
        );
        assert!(!script(&[7], &opts).contains("--decisions"));
    }

    #[test]
    fn long_index_lists_wrap_and_defaults_leave_options_out() {
        let indices: Vec<usize> = (100..145).collect();
        let s = script(&indices, &SlurmOptions::new("results"));
        assert!(s.contains("#SBATCH --array=0-44\n"));
        assert!(!s.contains("--gres") && !s.contains("--partition") && !s.contains("--time"));
        let listed: Vec<usize> = s
            .split("INDICES=(")
            .nth(1)
            .unwrap()
            .split(')')
            .next()
            .unwrap()
            .split_whitespace()
            .map(|w| w.parse().unwrap())
            .collect();
        assert_eq!(listed, indices);
    }

    #[test]
    fn options_are_checked() {
        let mut o = SlurmOptions::new("r");
        assert!(o.validate().is_ok());
        o.time = Some("1 hour".into());
        assert!(o.validate().is_err());
        o.time = Some("2-00:00:00".into());
        assert!(o.validate().is_ok());
        o.sbatch_args = vec!["mem=4G".into()];
        assert!(o.validate().is_err());
        for owned in ["--array=0-3", "-a", "-a1", "--output=x", "-o", "--error=y"] {
            o.sbatch_args = vec![owned.into()];
            assert!(o.validate().is_err(), "{owned}");
        }
        for free in ["--account=x", "-A", "--exclusive", "--open-mode=append", "-N1"] {
            o.sbatch_args = vec![free.into()];
            assert!(o.validate().is_ok(), "{free}");
        }
        o.sbatch_args = vec!["--mem=4G".into()];
        o.max_parallel = Some(0);
        assert!(o.validate().is_err());
    }

    #[test]
    fn job_ids_parse_from_parsable_output() {
        assert_eq!(parse_job_id("1234\n").as_deref(), Some("1234"));
        assert_eq!(parse_job_id("77;cluster\n").as_deref(), Some("77"));
        assert_eq!(parse_job_id("Submitted batch job 5\n"), None);
        assert_eq!(parse_job_id(""), None);
    }

    #[test]
    fn shell_quoting_survives_single_quotes() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
