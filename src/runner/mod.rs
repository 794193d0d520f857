//! The local runner: plans a sweep, runs unfinished trials in parallel worker processes with
//! progress bars, and rebuilds the tables.

pub mod decision;
mod drive;
mod lock;
pub mod search_log;
pub mod slurm;
pub mod status;
pub mod tensorboard;
pub mod worker;

pub use lock::ResultsLock;

use crate::error::{Error, Result};
use crate::fsutil::{write_atomic, write_json_atomic};
use crate::results::summary::json_float;
use crate::results::{TrialStatus, TrialSummary, paths};
use crate::spec::Experiment;
use crate::sweep::{self, Decision, Finished, Plan, SearchStrategy, Trial};
use crate::train::checkpoint::{CheckpointDir, KeepCheckpoints};
use drive::SearchLoop;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// A progress message from a worker to the runner, one JSON object per stdout line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
pub enum Progress {
    /// Mean training loss after `step` steps.
    Loss {
        /// Steps done.
        step: usize,
        /// Mean loss (NaN or infinite when the trial diverged: written as text).
        #[serde(with = "json_float")]
        value: f64,
    },
    /// Evaluation metrics after `step` steps (the validation split's, else the test split's).
    Eval {
        /// Steps done.
        step: usize,
        /// Metric values.
        #[serde(with = "json_float::map")]
        metrics: BTreeMap<String, f64>,
    },
    /// The test split's metrics of the one evaluation after the loop (runs with a validation
    /// split); search strategies do not see them.
    Test {
        /// The step the run ended at.
        step: usize,
        /// Metric values (`test.*`).
        #[serde(with = "json_float::map")]
        metrics: BTreeMap<String, f64>,
    },
}

impl Progress {
    /// Prints the message on stdout for the parent. A parent that has gone (a closed pipe) is
    /// not an error of the trial: the line is dropped, and the trial stops by the signal its
    /// runner's end sends (see `die_with_runner`).
    pub fn emit(&self) {
        if let Ok(line) = serde_json::to_string(self) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}").and_then(|_| out.flush());
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
    /// `--keep-checkpoints`: what stays in a trial's `checkpoint/` once it finishes.
    pub keep_checkpoints: KeepCheckpoints,
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
    /// The text of `table.md` (not in the JSON summary: the file is listed in `tables`).
    #[serde(skip)]
    pub table_md: String,
}

/// Stop signals (SIGINT, SIGTERM, SIGHUP) received since [`stop_flag`] installed its handler.
static SIGNALS: AtomicUsize = AtomicUsize::new(0);

/// Set by Ctrl-C (SIGINT), SIGTERM or SIGHUP: stop launching trials and let running ones stop
/// (a worker then records its trial as interrupted). A runner given a second such signal kills
/// the workers that have not stopped yet.
pub fn stop_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let _ = ctrlc::set_handler(move || {
            SIGNALS.fetch_add(1, Ordering::SeqCst);
            f.store(true, Ordering::SeqCst);
        });
        flag
    })
    .clone()
}

/// A results directory ready for a run: plan written, lock held, unfinished trials found.
pub struct Prepared {
    /// `results/<name>/`.
    pub dir: PathBuf,
    /// The search strategy, holding the trials planned so far.
    pub strategy: Box<dyn SearchStrategy>,
    /// Indices of the planned trials to run (unfinished, or all with `force`).
    pub pending: Vec<usize>,
    /// The trials with a final result from earlier runs (none with `force`): the strategy
    /// is told about them so that a resumed sweep runs every trial once.
    pub history: Vec<Finished>,
    /// The lock on `dir`, held while this value lives.
    pub lock: ResultsLock,
}

impl Prepared {
    /// The trials planned so far (a fixed strategy's whole plan).
    pub fn plan(&self) -> &Plan {
        self.strategy.plan()
    }
}

/// Plans `exp` with the search strategy of its `[sweep]` and prepares its results directory
/// ([`prepare_with`]).
///
/// # Errors
/// An invalid sweep (before anything is written), a directory locked by another run, or an
/// I/O error naming the file.
pub fn prepare(exp: &Experiment, results_root: &Path, force: bool) -> Result<Prepared> {
    prepare_with(sweep::strategy(exp)?, exp, results_root, force)
}

/// Takes the results directory's lock, writes `experiment.toml` and the `strategy`'s
/// `plan.json`, and finds the trials without a final result.
///
/// # Errors
/// As [`prepare`].
pub fn prepare_with(
    mut strategy: Box<dyn SearchStrategy>,
    exp: &Experiment,
    results_root: &Path,
    force: bool,
) -> Result<Prepared> {
    let dir = results_root.join(&exp.name);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let lock = ResultsLock::acquire(&dir)?;
    // The search log: a new search with --force, else the earlier runs' proposals and
    // decisions replayed (an adaptive strategy's plan is rebuilt from it).
    if force {
        search_log::remove(&dir)?;
    } else {
        strategy.replay(&search_log::read(&dir)?)?;
    }
    write_atomic(&paths::experiment(&dir), exp.text_as_run().as_bytes())?;
    write_json_atomic(&paths::plan(&dir), strategy.plan())?;
    // An unreadable summary is no result: the trial runs again and rewrites it.
    let finished = |t: &sweep::Trial| {
        TrialSummary::read(&paths::trial_dir(&dir, &t.id)).ok().flatten().filter(|s| !force && s.status.is_final())
    };
    let (mut pending, mut history) = (Vec::new(), Vec::new());
    for t in &strategy.plan().trials {
        // --force starts every trial from step 0: without its checkpoints.
        if force {
            CheckpointDir::of_trial(&paths::trial_dir(&dir, &t.id)).remove()?;
        }
        match finished(t) {
            Some(s) => history.push(s.finished()),
            None => pending.push(t.index),
        }
    }
    Ok(Prepared { dir, strategy, pending, history, lock })
}

/// Fails when unfinished trials of `dir` are still queued or running in a Slurm job of an
/// earlier `--executor slurm` submission: they must not run twice at once.
fn check_not_queued(dir: &Path, pending: &[usize]) -> Result<()> {
    let queue = slurm::query_queue(&slurm::read_jobs(dir)?);
    let queued: Vec<&slurm::QueuedTask> = pending.iter().filter_map(|i| queue.tasks.get(i)).collect();
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
    Ok(())
}

/// How the pending trials of `plan` spread over this machine: GPUs (issue 7) are checked to
/// be visible to LibTorch before any trial starts; with --gpus one trial per listed GPU, else
/// one per core on CPU backends and one at a time on CUDA.
fn pool_for<'a>(
    plan: &Plan,
    pending: &[usize],
    opts: &'a RunOptions,
    open_ended: Option<crate::backend::Backend>,
) -> Result<Pool<'a>> {
    let cores = worker::default_threads();
    // An adaptive strategy's trials are not planned yet: they run on the experiment's backend.
    let mut backends: Vec<crate::backend::Backend> = open_ended.into_iter().collect();
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
    let most = if open_ended.is_some() { usize::MAX } else { pending.len().max(1) };
    let jobs = opts.jobs.unwrap_or(default_jobs).clamp(1, most);
    let threads = if on_cpu { (cores / jobs).max(1) } else { 1 };
    Ok(Pool { jobs, threads, gpus: &opts.gpus, quiet: opts.quiet, keep: opts.keep_checkpoints, pruner: false })
}

/// Plans `exp`, runs its unfinished trials locally and writes the tables.
///
/// # Errors
/// As [`prepare`]; trials still queued in Slurm; a backend that is not available; an I/O
/// error naming the file. A failed trial is not an error (it is counted in the outcome).
pub fn run(exp: &Experiment, opts: &RunOptions) -> Result<RunOutcome> {
    let Prepared { ref dir, mut strategy, ref pending, history, mut lock } =
        prepare(exp, &opts.results_root, opts.force)?;
    check_not_queued(dir, pending)?;
    let open_ended = (!strategy.is_fixed()).then_some(exp.backend);
    let pool = Pool { pruner: exp.pruner.is_some(), ..pool_for(strategy.plan(), pending, opts, open_ended)? };
    let skipped = history.len();
    // TensorBoard: the HParams experiment definition in the results root (runner/tensorboard.rs).
    let mut root_events = tensorboard::write_experiment(dir, exp, strategy.plan()).map_err(|e| Error::io(dir, e))?;
    let stop = stop_flag();
    let ran = execute(dir, strategy.as_mut(), history, pending.len(), &pool, &stop, &mut lock)?;
    let built = crate::report::build(dir)?;
    // TensorBoard: table.md as a text summary in the results root.
    tensorboard::write_table(&mut root_events, &built.table_md).map_err(|e| Error::io(root_events.path(), e))?;
    let planned = strategy.plan().trials.len();
    Ok(RunOutcome {
        results_dir: dir.clone(),
        planned,
        skipped,
        ran,
        interrupted: stop.load(Ordering::SeqCst),
        tables: built.files,
        table_md: built.table_md,
    })
}

enum Msg {
    Line(usize, String),
    Closed(usize),
}

struct Running {
    child: Child,
    bar: ProgressBar,
    /// The trial's readable name (label, swept values, seed).
    name: String,
    stdout_open: bool,
    /// The `--gpus` entry this trial is pinned to.
    gpu: Option<usize>,
    /// Whether the search strategy stopped it ([`Decision::Stop`]).
    pruned: bool,
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
    /// What stays in a finished trial's `checkpoint/`.
    keep: KeepCheckpoints,
    /// Whether the sweep has a pruner: workers then wait for its decisions (`--decisions`).
    pruner: bool,
}

/// What starting and finishing workers needs: where, which binary, and the progress display
/// (one bar per running trial above the sweep's bar).
struct Launcher<'a> {
    dir: &'a Path,
    /// The experiment's name (for the summary of a worker that wrote none).
    experiment: String,
    /// The metric a running trial's bar shows after each evaluation (`[report] metric`).
    metric: String,
    exe: PathBuf,
    threads: usize,
    quiet: bool,
    keep: KeepCheckpoints,
    pruner: bool,
    multi: MultiProgress,
    overall: ProgressBar,
    trial_style: ProgressStyle,
    tx: mpsc::Sender<Msg>,
}

impl<'a> Launcher<'a> {
    fn new(dir: &'a Path, plan: &Plan, pool: &Pool<'_>, trials: usize, tx: mpsc::Sender<Msg>) -> Result<Self> {
        let multi = MultiProgress::with_draw_target(if pool.quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        });
        let overall = multi.add(ProgressBar::new(trials as u64));
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
        Ok(Launcher {
            dir,
            experiment: plan.experiment.clone(),
            metric: plan.report.metric.clone(),
            exe,
            threads: pool.threads,
            quiet: pool.quiet,
            keep: pool.keep,
            pruner: pool.pruner,
            multi,
            overall,
            trial_style,
            tx,
        })
    }

    /// Starts the worker of `trial`: its stderr into the trial's `worker.log`, its progress
    /// lines to the runner, bound to the runner's life and holding its lock.
    fn launch(&self, trial: &Trial, gpu: Option<usize>, lock: &ResultsLock) -> Result<Running> {
        let index = trial.index;
        let tdir = paths::trial_dir(self.dir, &trial.id);
        std::fs::create_dir_all(&tdir).map_err(|e| Error::io(&tdir, e))?;
        let log = open_log(&tdir.join(paths::WORKER_LOG))?;
        let mut cmd = Command::new(&self.exe);
        cmd.arg("trial").arg(self.dir).arg(index.to_string()).arg("--progress");
        cmd.arg("--keep-checkpoints").arg(self.keep.as_str());
        if self.pruner {
            cmd.arg("--decisions");
        }
        cmd.env("RAYON_NUM_THREADS", self.threads.to_string());
        // --gpus: the worker sees only its GPU.
        if let Some(g) = gpu {
            cmd.envs(crate::backend::cuda_pinning_env(g));
        }
        lock.share_with(&mut cmd);
        die_with_runner(&mut cmd);
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| Error::io(&self.exe, e))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(std::result::Result::ok) {
                if tx.send(Msg::Line(index, line)).is_err() {
                    return;
                }
            }
            let _ = tx.send(Msg::Closed(index));
        });
        let bar = self.multi.insert_before(&self.overall, ProgressBar::new(trial.config.training.steps as u64));
        bar.set_style(self.trial_style.clone());
        bar.set_prefix(trial.id[..8].to_string());
        bar.set_message(trial.name());
        Ok(Running { child, bar, name: trial.name(), stdout_open: true, gpu, pruned: false })
    }

    /// Shows a worker's progress message on its bar: the loss, or the report metric.
    fn progress(&self, r: &Running, p: &Progress) {
        match p {
            Progress::Loss { step, value } => {
                r.bar.set_position(*step as u64);
                r.bar.set_message(format!("{} loss {value:.4}", r.name));
            }
            Progress::Eval { step, metrics } | Progress::Test { step, metrics } => {
                r.bar.set_position(*step as u64);
                // During training the validation counterpart, when the trial records it.
                let valid = crate::train::valid_counterpart(&self.metric).filter(|v| metrics.contains_key(v));
                let metric = valid.as_ref().unwrap_or(&self.metric);
                let v = metrics.get(metric).copied().unwrap_or(f64::NAN);
                r.bar.set_message(format!("{} {metric} {v:.4}", r.name));
            }
        }
    }

    /// Says what a forwarded stop signal does.
    fn stopping(&self, forwarded: Option<libc::c_int>) {
        let text = match forwarded {
            Some(libc::SIGINT) => {
                "stopping: running trials record themselves as interrupted (a second Ctrl-C kills them)"
            }
            Some(_) => "stopping: running trials killed",
            None => return,
        };
        self.say(text);
    }

    /// Prints a line above the progress bars, unless quiet. A closed terminal (SIGHUP) must not
    /// stop the runner from recording the sweep: write errors are ignored.
    fn say(&self, line: &str) {
        if !self.quiet {
            self.multi.suspend(|| writeln!(std::io::stderr(), "{line}").ok());
        }
    }

    /// Reaps the exited worker of `trial` and returns its summary; records one for a worker
    /// that left no readable summary, and records a trial its strategy stopped as pruned.
    fn finish(&self, trial: &Trial, mut r: Running, stopping: bool) -> Result<TrialSummary> {
        let status = r.child.wait().map_err(|e| Error::io("worker process", e))?;
        let tdir = paths::trial_dir(self.dir, &trial.id);
        let mut summary = match TrialSummary::read(&tdir) {
            Ok(Some(s)) => s,
            Ok(None) => record_crash(self.dir, &self.experiment, trial, &status, stopping, None)?,
            Err(e) => record_crash(self.dir, &self.experiment, trial, &status, stopping, Some(&e))?,
        };
        drive::settle_pruned(&tdir, &mut summary, r.pruned)?;
        r.bar.finish_and_clear();
        self.multi.remove(&r.bar);
        self.overall.inc(1);
        self.say(&outcome_line(trial, &summary));
        Ok(summary)
    }
}

/// The line printed when a trial ends.
fn outcome_line(trial: &Trial, summary: &TrialSummary) -> String {
    match summary.status {
        TrialStatus::Completed => format!(
            "done     {} {}: {}",
            &trial.id,
            trial.name(),
            summary.final_metrics.iter().map(|(k, v)| format!("{k}={v:.4}")).collect::<Vec<_>>().join(" ")
        ),
        TrialStatus::Diverged => {
            format!("diverged {} {} at step {}", &trial.id, trial.name(), summary.diverged_at.unwrap_or(0))
        }
        TrialStatus::Pruned => format!("pruned   {} {} at step {}", &trial.id, trial.name(), summary.steps),
        s => format!("{:<8} {} {}: {}", s.name(), &trial.id, trial.name(), summary.error.clone().unwrap_or_default()),
    }
}

/// Opens a trial's worker log for a new attempt: emptied, and in append mode, so that every
/// write lands at its end (a log emptied under a process still writing at an old offset would
/// get a hole of NUL bytes).
fn open_log(path: &Path) -> Result<std::fs::File> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(|e| Error::io(path, e))?;
    log.set_len(0).map_err(|e| Error::io(path, e))?;
    Ok(log)
}

/// Makes the worker started by `cmd` get SIGTERM when the runner ends, however it ends
/// (SIGKILL included): Linux's parent-death signal, on which the worker stops at its next step
/// and records its trial as interrupted. A worker whose runner is already gone when it starts
/// does not start. The signal follows the thread that spawned the worker, so workers are
/// spawned only from the runner's main thread.
fn die_with_runner(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let runner = std::process::id() as libc::pid_t;
    // SAFETY: runs in the forked child before exec and only makes the async-signal-safe
    // system calls prctl(2) and getppid(2); the errors built allocate nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != runner {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Sends `sig` to a worker.
fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) on a child pid we own and have not reaped; no memory is touched.
    unsafe {
        libc::kill(child.id() as libc::pid_t, sig);
    }
}

/// The local sweep in progress: the running workers and the search loop.
struct LocalSweep<'a> {
    launcher: Launcher<'a>,
    running: BTreeMap<usize, Running>,
    search: SearchLoop<'a>,
}

impl LocalSweep<'_> {
    /// The pids of the running workers.
    fn worker_pids(&self) -> Vec<u32> {
        self.running.values().map(|r| r.child.id()).collect()
    }

    /// Starts trials while a slot is free, asking the strategy for each, unless stopping.
    fn spawn_next(
        &mut self,
        strategy: &mut dyn SearchStrategy,
        pool: &Pool<'_>,
        stop: &AtomicBool,
        lock: &mut ResultsLock,
    ) -> Result<()> {
        let before = self.running.len();
        while self.running.len() < pool.jobs && !self.search.exhausted && !stop.load(Ordering::SeqCst) {
            let planned = self.search.planned;
            // The proposal is on disk, and a trial it added in plan.json, before it starts.
            let Some(index) = self.search.next(strategy)? else { break };
            self.launcher.overall.inc_length(self.search.planned.saturating_sub(planned) as u64);
            // --gpus: pin the worker to the first listed GPU no running trial holds.
            let gpu = pool.gpus.iter().copied().find(|g| self.running.values().all(|r| r.gpu != Some(*g)));
            let running = self.launcher.launch(&strategy.plan().trials[index], gpu, lock)?;
            self.running.insert(index, running);
        }
        if self.running.len() != before {
            lock.set_workers(self.worker_pids())?;
        }
        Ok(())
    }

    /// Handles a worker's message: progress on its bar, each evaluation to the strategy, and
    /// SIGINT to a trial the strategy stops (it records itself as interrupted, then pruned).
    fn on_message(&mut self, strategy: &mut dyn SearchStrategy, msg: Msg) -> Result<()> {
        match msg {
            Msg::Line(index, line) => {
                let Some(r) = self.running.get_mut(&index) else { return Ok(()) };
                let Ok(p) = serde_json::from_str::<Progress>(&line) else { return Ok(()) };
                self.launcher.progress(r, &p);
                if let Progress::Eval { step, metrics } = &p
                    && !r.pruned
                {
                    let stop = self.search.evaluated(strategy, index, *step, metrics)? == Decision::Stop;
                    // The decision is on disk before the worker, waiting at this evaluation
                    // (`--decisions`), reads it from its directory; a stop also gets SIGINT.
                    if stop || self.launcher.pruner {
                        let tdir = paths::trial_dir(self.launcher.dir, &strategy.plan().trials[index].id);
                        decision::write(&tdir, decision::DecisionFile { step: *step, stop })?;
                    }
                    if stop {
                        signal(&r.child, libc::SIGINT);
                        r.pruned = true;
                    }
                }
            }
            Msg::Closed(index) => {
                if let Some(r) = self.running.get_mut(&index) {
                    r.stdout_open = false;
                }
            }
        }
        Ok(())
    }

    /// Reaps the workers that have exited and closed their output, recording each outcome.
    fn reap(&mut self, strategy: &mut dyn SearchStrategy, stopping: bool, lock: &mut ResultsLock) -> Result<()> {
        let exited: Vec<usize> = self
            .running
            .iter_mut()
            .filter(|(_, r)| !r.stdout_open)
            .filter_map(|(&i, r)| r.child.try_wait().ok().flatten().map(|_| i))
            .collect();
        for &index in &exited {
            let r = self.running.remove(&index).expect("running trial");
            let summary = self.launcher.finish(&strategy.plan().trials[index], r, stopping)?;
            self.search.ended(strategy, &summary)?;
        }
        if !exited.is_empty() {
            lock.set_workers(self.worker_pids())?;
        }
        Ok(())
    }
}

/// Runs the sweep driven by `strategy` (`history`: the trials finished in earlier runs;
/// `pending`: the trials the sweep's bar counts); returns the count per final status of the
/// trials run.
fn execute(
    dir: &Path,
    strategy: &mut dyn SearchStrategy,
    history: Vec<Finished>,
    pending: usize,
    pool: &Pool<'_>,
    stop: &Arc<AtomicBool>,
    lock: &mut ResultsLock,
) -> Result<BTreeMap<String, usize>> {
    let (tx, rx) = mpsc::channel::<Msg>();
    let launcher = Launcher::new(dir, strategy.plan(), pool, pending, tx)?;
    let search = SearchLoop::new(dir, strategy, history);
    let mut sweep = LocalSweep { launcher, running: BTreeMap::new(), search };
    loop {
        sweep.spawn_next(strategy, pool, stop, lock)?;
        if sweep.running.is_empty() {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(msg) => sweep.on_message(strategy, msg)?,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => unreachable!("the launcher holds a sender"),
        }
        if stop.load(Ordering::SeqCst) {
            sweep.launcher.stopping(forward_stop(&sweep.running));
        }
        sweep.reap(strategy, stop.load(Ordering::SeqCst), lock)?;
    }
    sweep.launcher.overall.finish_and_clear();
    Ok(sweep.search.counts)
}

/// Passes a stop on to the workers: SIGINT at the first stop signal (for workers that did not
/// get the terminal's: `kill`, SIGTERM or SIGHUP of the runner), SIGKILL from the second on (for
/// workers that do not stop, stuck in a long evaluation or frozen; their trials are recorded as
/// interrupted). Returns the signal sent, if any.
fn forward_stop(running: &BTreeMap<usize, Running>) -> Option<libc::c_int> {
    static FORWARDED: AtomicUsize = AtomicUsize::new(0);
    let level = SIGNALS.load(Ordering::SeqCst).clamp(1, 2);
    if FORWARDED.fetch_max(level, Ordering::SeqCst) >= level {
        return None;
    }
    let sig = if level == 1 { libc::SIGINT } else { libc::SIGKILL };
    for r in running.values() {
        signal(&r.child, sig);
    }
    Some(sig)
}

/// Writes the summary of a worker that exited without a readable one (a crash, a kill, or a
/// summary that cannot be parsed: `unreadable`).
fn record_crash(
    dir: &Path,
    experiment: &str,
    trial: &Trial,
    status: &std::process::ExitStatus,
    stopping: bool,
    unreadable: Option<&Error>,
) -> Result<TrialSummary> {
    let tdir = paths::trial_dir(dir, &trial.id);
    let log = std::fs::read_to_string(tdir.join(paths::WORKER_LOG)).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(5).collect::<Vec<_>>().into_iter().rev().collect();
    let status_now = if stopping { TrialStatus::Interrupted } else { TrialStatus::Failed };
    let what = match unreadable {
        Some(e) => format!("and an unreadable summary ({e})"),
        None => "without a summary".into(),
    };
    let summary = TrialSummary {
        error: Some(format!("worker exited with {status} {what}: {}", tail.join(" | "))),
        ..TrialSummary::blank(experiment, trial, status_now)
    };
    summary.write(&tdir)?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Ask;
    use std::collections::VecDeque;

    /// A test-only strategy: answers `ask` from a script (then `Done`), and stops a trial at
    /// its first evaluation at or after `stop_at` steps.
    struct Scripted {
        plan: Plan,
        answers: VecDeque<Ask>,
        asked: Vec<usize>,
        stop_at: usize,
        evals: Vec<(usize, usize)>,
    }

    impl SearchStrategy for Scripted {
        fn name(&self) -> &'static str {
            "scripted"
        }
        fn plan(&self) -> &Plan {
            &self.plan
        }
        fn is_fixed(&self) -> bool {
            false
        }
        fn ask(&mut self, finished: &[Finished]) -> Ask {
            self.asked.push(finished.len());
            self.answers.pop_front().unwrap_or(Ask::Done)
        }
        fn on_eval(&mut self, index: usize, step: usize, _: &BTreeMap<String, f64>) -> Decision {
            self.evals.push((index, step));
            if step >= self.stop_at { Decision::Stop } else { Decision::Continue }
        }
    }

    fn scripted(answers: &[Ask]) -> Scripted {
        let text = "name = \"t\"\nseeds = [0, 1, 2]\n[dataset]\nname = \"mnist1d\"\n[[models]]\nfamily = \"linear\"\n";
        let exp = Experiment::from_source(crate::spec::Source::from_text("t.toml", text), vec![]).unwrap();
        let plan = sweep::expand(&exp).unwrap();
        Scripted { plan, answers: answers.iter().copied().collect(), asked: Vec::new(), stop_at: 20, evals: Vec::new() }
    }

    /// A local sweep in `dir` whose workers are `exe`, with two slots.
    fn local<'a>(dir: &'a Path, plan: &Plan, exe: &str) -> (LocalSweep<'a>, Pool<'static>, mpsc::Receiver<Msg>) {
        let pool = Pool { jobs: 2, threads: 1, gpus: &[], quiet: true, keep: KeepCheckpoints::Last, pruner: false };
        let (tx, rx) = mpsc::channel();
        let mut launcher = Launcher::new(dir, plan, &pool, 3, tx).unwrap();
        launcher.exe = exe.into();
        let search = SearchLoop {
            dir,
            planned: plan.trials.len(),
            finished: Vec::new(),
            counts: BTreeMap::new(),
            exhausted: false,
        };
        let sweep = LocalSweep { launcher, running: BTreeMap::new(), search };
        (sweep, pool, rx)
    }

    #[test]
    fn the_runner_asks_for_work_while_a_slot_is_free_and_waits_or_ends_as_told() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = scripted(&[Ask::Start(2), Ask::Wait, Ask::Start(0)]);
        let (mut sweep, pool, _rx) = local(dir.path(), &s.plan.clone(), "true");
        let mut lock = ResultsLock::acquire(dir.path()).unwrap();
        let stop = AtomicBool::new(false);
        sweep.spawn_next(&mut s, &pool, &stop, &mut lock).unwrap();
        // Start(2) fills one slot; Wait leaves the other free until a trial finishes.
        assert_eq!(sweep.running.keys().copied().collect::<Vec<_>>(), vec![2]);
        assert_eq!(s.asked, vec![0, 0]);
        sweep.spawn_next(&mut s, &pool, &stop, &mut lock).unwrap();
        assert_eq!(sweep.running.keys().copied().collect::<Vec<_>>(), vec![0, 2]);
        assert!(!sweep.search.exhausted);
        // Both slots are taken: nothing is asked until one is free.
        sweep.spawn_next(&mut s, &pool, &stop, &mut lock).unwrap();
        assert_eq!(s.asked.len(), 3);
        sweep.running.remove(&0).unwrap().child.wait().unwrap();
        sweep.spawn_next(&mut s, &pool, &stop, &mut lock).unwrap();
        assert!(sweep.search.exhausted, "the script is over: Done");
        sweep.running.remove(&2).unwrap().child.wait().unwrap();
    }

    #[test]
    fn an_evaluation_goes_to_the_strategy_and_stop_interrupts_the_worker() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = scripted(&[]);
        let (mut sweep, _pool, _rx) = local(dir.path(), &s.plan.clone(), "true");
        // SIGINT back to its default action in the child: a test run started in the
        // background by a non-interactive shell inherits SIGINT ignored, and `sleep` would
        // then outlive the stop (a real worker installs its own handler).
        let sleeper = || Running {
            child: {
                use std::os::unix::process::CommandExt;
                let mut cmd = Command::new("sleep");
                cmd.arg("30");
                // SAFETY: only async-signal-safe signal(2) between fork and exec.
                unsafe {
                    cmd.pre_exec(|| {
                        libc::signal(libc::SIGINT, libc::SIG_DFL);
                        Ok(())
                    });
                }
                cmd.spawn().unwrap()
            },
            bar: ProgressBar::hidden(),
            name: "t".into(),
            stdout_open: true,
            gpu: None,
            pruned: false,
        };
        sweep.running.insert(1, sleeper());
        let eval = |step: usize| {
            let metrics = BTreeMap::from([("test.accuracy".to_string(), 0.5)]);
            Msg::Line(1, serde_json::to_string(&Progress::Eval { step, metrics }).unwrap())
        };
        sweep.on_message(&mut s, Msg::Line(1, "{\"event\":\"loss\",\"step\":5,\"value\":1.0}".into())).unwrap();
        sweep.on_message(&mut s, eval(10)).unwrap();
        assert!(!sweep.running[&1].pruned);
        sweep.on_message(&mut s, eval(20)).unwrap();
        assert_eq!(s.evals, vec![(1, 10), (1, 20)], "only evaluations reach the strategy");
        let mut r = sweep.running.remove(&1).unwrap();
        assert!(r.pruned);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(r.child.wait().unwrap().signal(), Some(libc::SIGINT));
    }

    #[test]
    fn a_stopped_worker_that_recorded_itself_interrupted_is_recorded_as_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let s = scripted(&[]);
        let (mut sweep, _pool, _rx) = local(dir.path(), &s.plan.clone(), "true");
        let trial = &s.plan.trials[1];
        let tdir = paths::trial_dir(dir.path(), &trial.id);
        std::fs::create_dir_all(&tdir).unwrap();
        TrialSummary { steps: 20, ..TrialSummary::blank("t", trial, TrialStatus::Interrupted) }.write(&tdir).unwrap();
        let r = Running {
            child: Command::new("true").spawn().unwrap(),
            bar: ProgressBar::hidden(),
            name: trial.name(),
            stdout_open: false,
            gpu: None,
            pruned: true,
        };
        let summary = sweep.launcher.finish(trial, r, false).unwrap();
        assert_eq!(summary.status, TrialStatus::Pruned);
        assert_eq!(TrialSummary::read(&tdir).unwrap().unwrap().status, TrialStatus::Pruned);
        assert_eq!(outcome_line(trial, &summary), format!("pruned   {} {} at step 20", trial.id, trial.name()));
        sweep.search.finished.push(summary.finished());
        assert_eq!(sweep.search.finished[0].outcome, sweep::Outcome::Pruned);
    }

    #[test]
    fn a_pruned_trial_is_final_and_told_to_the_strategy_as_pruned() {
        assert!(TrialStatus::Pruned.is_final());
        assert_eq!(TrialStatus::Pruned.outcome(), sweep::Outcome::Pruned);
        assert_eq!(TrialStatus::Interrupted.outcome(), sweep::Outcome::Failed);
    }
}
