//! The local runner: plans a sweep, runs unfinished trials in parallel worker processes with
//! progress bars, and rebuilds the tables.

mod lock;
pub mod slurm;
pub mod status;
pub mod summary;
pub mod worker;

pub use lock::ResultsLock;
pub use summary::{TrialStatus, TrialSummary};

use crate::error::{Error, Result};
use crate::fsutil::{write_atomic, write_json_atomic};
use crate::spec::Experiment;
use crate::sweep::{self, Plan};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// Where things live in a results directory.
pub mod paths {
    use std::path::{Path, PathBuf};

    /// `plan.json`: every trial and its resolved config.
    pub fn plan(results: &Path) -> PathBuf {
        results.join("plan.json")
    }
    /// `trials/<id>/`.
    pub fn trial_dir(results: &Path, id: &str) -> PathBuf {
        results.join("trials").join(id)
    }
    /// `experiment.toml`: the file as run.
    pub fn experiment(results: &Path) -> PathBuf {
        results.join("experiment.toml")
    }
}

/// A progress message from a worker to the runner, one JSON object per stdout line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Progress {
    /// Mean training loss after `step` steps.
    Loss {
        /// Steps done.
        step: usize,
        /// Mean loss.
        value: f64,
    },
    /// Evaluation metrics after `step` steps.
    Eval {
        /// Steps done.
        step: usize,
        /// Metric values.
        metrics: BTreeMap<String, f64>,
    },
}

impl Progress {
    /// Prints the message on stdout for the parent.
    pub fn emit(&self) {
        if let Ok(line) = serde_json::to_string(self) {
            println!("{line}");
        }
    }
}

/// Options of `burnlab run`.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The parent of `<experiment name>/`.
    pub results_root: PathBuf,
    /// Parallel trials; `None` picks one per core for CPU backends.
    pub jobs: Option<usize>,
    /// Rerun finished trials too.
    pub force: bool,
    /// No progress bars.
    pub quiet: bool,
    /// `--gpus`: CUDA device indices, one trial at a time on each (empty: no pinning).
    pub gpus: Vec<usize>,
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// The experiment's results directory.
    pub results_dir: PathBuf,
    /// Trials in the plan.
    pub planned: usize,
    /// Trials skipped because they had finished before.
    pub skipped: usize,
    /// Count per final status of the trials run now.
    pub ran: BTreeMap<String, usize>,
    /// Whether Ctrl-C stopped the run.
    pub interrupted: bool,
    /// The tables written.
    pub tables: Vec<PathBuf>,
}

/// Set by Ctrl-C: stop launching trials and let running ones stop.
pub fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let _ = ctrlc::set_handler(move || f.store(true, Ordering::SeqCst));
        flag
    })
    .clone()
}

/// A results directory ready for a run: plan written, lock held, unfinished trials found.
#[derive(Debug)]
pub struct Prepared {
    /// `results/<name>/`.
    pub dir: PathBuf,
    /// The expanded trials.
    pub plan: Plan,
    /// Indices of the trials to run (unfinished, or all with `force`).
    pub pending: Vec<usize>,
    /// The lock on `dir`, held while this value lives.
    pub lock: ResultsLock,
}

/// Plans `exp` (failing before anything is written if the sweep is invalid), takes the
/// results directory's lock, writes `experiment.toml` and `plan.json`, and finds the trials
/// without a final result.
pub fn prepare(exp: &Experiment, results_root: &Path, force: bool) -> Result<Prepared> {
    let plan = sweep::expand(exp)?;
    let dir = results_root.join(&exp.name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let lock = ResultsLock::acquire(&dir)?;
    write_atomic(&paths::experiment(&dir), exp.text_as_run().as_bytes())?;
    write_json_atomic(&paths::plan(&dir), &plan)?;
    let pending = plan
        .trials
        .iter()
        .filter(|t| force || !TrialSummary::read(&paths::trial_dir(&dir, &t.id)).is_some_and(|s| s.status.is_final()))
        .map(|t| t.index)
        .collect();
    Ok(Prepared { dir, plan, pending, lock })
}

/// Plans `exp`, runs its unfinished trials locally and writes the tables.
pub fn run(exp: &Experiment, opts: &RunOptions) -> Result<RunOutcome> {
    let prepared = prepare(exp, &opts.results_root, opts.force)?;
    let Prepared { dir, plan, pending, lock: _lock } = &prepared;
    // Trials of an earlier `--executor slurm` submission that are still queued or running must not
    // run twice at once.
    let queue = status::query_queue(&slurm::read_jobs(dir)?);
    let queued: Vec<&status::QueuedTask> = pending.iter().filter_map(|i| queue.tasks.get(i)).collect();
    if let Some(first) = queued.first() {
        return Err(crate::error::UserError::new(format!(
            "{} unfinished trial(s) of this results directory are queued or running in Slurm job {}",
            queued.len(),
            first.job_id
        ))
        .at(dir.display().to_string())
        .help(format!("wait for them (`burnlab status {}`) or cancel them with scancel", dir.display()))
        .into());
    }
    let cores = worker::default_threads();
    // GPUs (issue 7): check that LibTorch sees every CUDA device the pending trials need before
    // starting any; with --gpus one trial per listed GPU, else CUDA sweeps run one at a time.
    let mut backends = Vec::new();
    for b in pending.iter().map(|&i| plan.trials[i].config.backend()) {
        if !backends.contains(&b) {
            backends.push(b);
        }
    }
    for b in &backends {
        b.check_available(&opts.gpus)?;
    }
    let on_cpu = backends.iter().all(|b| b.uses_cpu_threads());
    let default_jobs = if !opts.gpus.is_empty() {
        opts.gpus.len()
    } else if on_cpu {
        cores
    } else {
        1
    };
    let jobs = opts.jobs.unwrap_or(default_jobs).clamp(1, pending.len().max(1));
    // TensorBoard: the HParams experiment definition in the results root (src/tensorboard/experiment.rs).
    let mut root_events =
        crate::tensorboard::experiment::write_experiment(dir, exp, plan).map_err(|e| Error::io(dir, e))?;
    let threads = if on_cpu { (cores / jobs).max(1) } else { 1 };
    let stop = stop_flag();
    let pool = Pool { jobs, threads, gpus: &opts.gpus, quiet: opts.quiet };
    let ran = execute(dir, plan, pending, &pool, &stop)?;
    let tables = crate::report::build(dir)?;
    // TensorBoard: table.md as a text summary in the results root.
    crate::tensorboard::experiment::write_table(&mut root_events, dir).map_err(|e| Error::io(root_events.path(), e))?;
    Ok(RunOutcome {
        results_dir: dir.clone(),
        planned: plan.trials.len(),
        skipped: plan.trials.len() - pending.len(),
        ran,
        interrupted: stop.load(Ordering::SeqCst),
        tables,
    })
}

enum Msg {
    Line(usize, String),
    Closed(usize),
}

struct Running {
    child: Child,
    bar: ProgressBar,
    stdout_open: bool,
    /// The `--gpus` entry this trial is pinned to.
    gpu: Option<usize>,
}

/// How the local runner spreads trials over the machine.
struct Pool<'a> {
    /// Trials at a time.
    jobs: usize,
    /// CPU threads per worker (`RAYON_NUM_THREADS`).
    threads: usize,
    /// `--gpus`: one trial at a time on each.
    gpus: &'a [usize],
    /// No progress output.
    quiet: bool,
}

fn execute(
    dir: &Path,
    plan: &Plan,
    pending: &[usize],
    pool: &Pool<'_>,
    stop: &Arc<AtomicBool>,
) -> Result<BTreeMap<String, usize>> {
    let Pool { jobs, threads, gpus, quiet } = *pool;
    let multi = MultiProgress::with_draw_target(if quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let overall = multi.add(ProgressBar::new(pending.len() as u64));
    overall.set_style(
        ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} trials {msg} ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    overall.set_prefix("sweep");
    let trial_style = ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} steps {msg}")
        .expect("valid template")
        .progress_chars("=> ");

    let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut queue: std::collections::VecDeque<usize> = pending.iter().copied().collect();
    let mut running: BTreeMap<usize, Running> = BTreeMap::new();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        while running.len() < jobs && !stop.load(Ordering::SeqCst) {
            let Some(index) = queue.pop_front() else { break };
            let trial = &plan.trials[index];
            let tdir = paths::trial_dir(dir, &trial.id);
            std::fs::create_dir_all(&tdir).map_err(|e| Error::io(&tdir, e))?;
            let log_path = tdir.join(worker::WORKER_LOG);
            let log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
            let mut cmd = Command::new(&exe);
            cmd.arg("trial").arg(dir).arg(index.to_string()).arg("--progress");
            cmd.env("RAYON_NUM_THREADS", threads.to_string());
            // --gpus: pin the worker to the first listed GPU no running trial holds.
            let gpu = gpus.iter().copied().find(|g| running.values().all(|r| r.gpu != Some(*g)));
            if let Some(g) = gpu {
                cmd.envs(crate::backend::cuda_pinning_env(g));
            }
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::from(log))
                .spawn()
                .map_err(|e| Error::io(&exe, e))?;
            let stdout = child.stdout.take().expect("piped stdout");
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
                    if tx.send(Msg::Line(index, line)).is_err() {
                        return;
                    }
                }
                let _ = tx.send(Msg::Closed(index));
            });
            let bar = multi.insert_before(&overall, ProgressBar::new(trial.config.training.steps as u64));
            bar.set_style(trial_style.clone());
            bar.set_prefix(trial.id[..8].to_string());
            bar.set_message(trial.name());
            running.insert(index, Running { child, bar, stdout_open: true, gpu });
        }
        if running.is_empty() {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Msg::Line(index, line)) => {
                if let (Some(r), Ok(p)) = (running.get(&index), serde_json::from_str::<Progress>(&line)) {
                    let name = plan.trials[index].name();
                    match p {
                        Progress::Loss { step, value } => {
                            r.bar.set_position(step as u64);
                            r.bar.set_message(format!("{name} loss {value:.4}"));
                        }
                        Progress::Eval { step, metrics } => {
                            r.bar.set_position(step as u64);
                            let acc = metrics.get("test.accuracy").copied().unwrap_or(f64::NAN);
                            r.bar.set_message(format!("{name} test acc {acc:.4}"));
                        }
                    }
                }
            }
            Ok(Msg::Closed(index)) => {
                if let Some(r) = running.get_mut(&index) {
                    r.stdout_open = false;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("the runner holds a sender"),
        }
        if stop.load(Ordering::SeqCst) {
            forward_interrupt(&running);
        }
        let finished: Vec<usize> = running
            .iter_mut()
            .filter(|(_, r)| !r.stdout_open)
            .filter_map(|(&i, r)| r.child.try_wait().ok().flatten().map(|_| i))
            .collect();
        for index in finished {
            let mut r = running.remove(&index).expect("running trial");
            let status = r.child.wait().map_err(|e| Error::io("worker process", e))?;
            let trial = &plan.trials[index];
            let tdir = paths::trial_dir(dir, &trial.id);
            let summary = match TrialSummary::read(&tdir) {
                Some(s) => s,
                None => record_crash(dir, plan, index, &status, stop.load(Ordering::SeqCst))?,
            };
            r.bar.finish_and_clear();
            multi.remove(&r.bar);
            overall.inc(1);
            let line = match summary.status {
                TrialStatus::Completed => format!(
                    "done     {} {}: {}",
                    &trial.id,
                    trial.name(),
                    summary.final_metrics.iter().map(|(k, v)| format!("{k}={v:.4}")).collect::<Vec<_>>().join(" ")
                ),
                TrialStatus::Diverged => {
                    format!("diverged {} {} at step {}", &trial.id, trial.name(), summary.diverged_at.unwrap_or(0))
                }
                s => format!(
                    "{:<8} {} {}: {}",
                    s.name(),
                    &trial.id,
                    trial.name(),
                    summary.error.clone().unwrap_or_default()
                ),
            };
            if !quiet {
                multi.suspend(|| eprintln!("{line}"));
            }
            *counts.entry(summary.status.name().to_string()).or_default() += 1;
        }
    }
    overall.finish_and_clear();
    Ok(counts)
}

/// Sends SIGINT to workers that may not have received the terminal's (e.g. `kill -INT`).
fn forward_interrupt(running: &BTreeMap<usize, Running>) {
    static SENT: AtomicBool = AtomicBool::new(false);
    if SENT.swap(true, Ordering::SeqCst) {
        return;
    }
    for r in running.values() {
        // SAFETY: kill(2) on a child pid we own; no memory is touched.
        unsafe {
            libc::kill(r.child.id() as libc::pid_t, libc::SIGINT);
        }
    }
}

/// Writes the summary of a worker that exited without one (a crash or a kill).
fn record_crash(
    dir: &Path,
    plan: &Plan,
    index: usize,
    status: &std::process::ExitStatus,
    stopping: bool,
) -> Result<TrialSummary> {
    let trial = &plan.trials[index];
    let tdir = paths::trial_dir(dir, &trial.id);
    let log = std::fs::read_to_string(tdir.join(worker::WORKER_LOG)).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
    let status_now = if stopping { TrialStatus::Interrupted } else { TrialStatus::Failed };
    let summary = TrialSummary {
        error: Some(format!("worker exited with {status} without a summary: {}", tail.join(" | "))),
        ..TrialSummary::blank(&plan.experiment, trial, status_now)
    };
    write_json_atomic(&tdir.join("summary.json"), &summary)?;
    Ok(summary)
}
