//! One trial in one process: `burnlab trial RESULTS_DIR INDEX`.
//!
//! The local runner and Slurm array tasks both run trials this way, so a trial's files are
//! the same whoever ran it. Each trial has its own process because Burn's random seed is
//! process-wide: parallel trials in one process would interleave their random draws.

use super::Progress;
use super::decision;
use super::tensorboard as tb;
use crate::error::{Error, Result, UserError};
use crate::fsutil::write_atomic;
use crate::results::model::ModelCard;
use crate::results::paths::METRICS_FILE;
use crate::results::{MetricsLog, TrialStatus, TrialSummary, paths};
use crate::sweep::{Plan, Trial};
use crate::tensorboard::EventWriter;
use crate::tensorboard::image::{self, Channels};
use crate::train::checkpoint::{CHECKPOINT_DIR, Cadence, CheckpointDir, KeepCheckpoints, Saved, TrialCheckpoints};
use crate::train::{Checkpointer, FitOutcome, FitStatus, Observer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The name of the log file the runner captures a worker's stderr into.
pub const WORKER_LOG: &str = paths::WORKER_LOG;

/// Runs trial `index` of the plan in `results`, writing its directory; returns its summary.
///
/// `progress` prints JSON progress lines on stdout for the parent runner.
/// A trial with a checkpoint in its `checkpoint/` resumes from it
/// ([`crate::train::checkpoint`]); when the trial ends with a final status, `keep` says which
/// checkpoints stay. With `decisions` the trial takes pruning decisions from its directory
/// ([`super::decision`]) and records itself as `pruned` when one stopped it.
pub fn run_trial(
    results: &Path,
    index: usize,
    (progress, stop): (bool, Arc<AtomicBool>),
    keep: KeepCheckpoints,
    decisions: bool,
) -> Result<TrialSummary> {
    super::lock::keep_inherited_lock();
    // Read as before the results module: a missing plan is an I/O error here (exit code 1).
    let plan: Plan = crate::fsutil::read_json(&paths::plan(results))?;
    let trial = plan.trials.get(index).cloned().ok_or_else(|| {
        Error::from(UserError::new(format!(
            "trial index {index} is out of range: the plan has {} trials",
            plan.trials.len()
        )))
    })?;
    let dir = paths::trial_dir(results, &trial.id);
    prepare_dir(&dir)?;
    let config_toml = toml::to_string(&trial.config).map_err(anyhow::Error::from)?;
    write_atomic(&dir.join(paths::CONFIG_FILE), config_toml.as_bytes())?;

    let started = Instant::now();
    let started_at = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let threads = std::env::var("RAYON_NUM_THREADS").ok().and_then(|s| s.parse().ok()).unwrap_or_else(default_threads);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train_trial(&plan, &trial, (results, &dir), threads, (progress, keep, decisions), &stop)
    }))
    .unwrap_or_else(|panic| {
        let msg = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into());
        Err(anyhow::anyhow!("panicked: {msg}").into())
    });
    let wall = started.elapsed().as_secs_f64();
    let mut summary = TrialSummary {
        wall_time_s: wall,
        threads,
        git_commit: git_commit(),
        host: crate::fsutil::hostname().unwrap_or_default(),
        started_at,
        ..TrialSummary::blank(&plan.experiment, &trial, TrialStatus::Failed)
    };
    match outcome {
        Ok((fit, pruned)) => {
            summary.status = match fit.status {
                // A decision stopped it: pruned, also when the run reached its end first.
                FitStatus::Completed | FitStatus::Stopped(_) | FitStatus::Interrupted(_) if pruned => {
                    TrialStatus::Pruned
                }
                // A stop decided at an evaluation (early stopping) is a final result too.
                FitStatus::Completed => TrialStatus::Completed,
                FitStatus::Stopped(step) => {
                    summary.stopped_at = Some(step);
                    TrialStatus::Completed
                }
                FitStatus::Diverged(step) => {
                    summary.diverged_at = Some(step);
                    TrialStatus::Diverged
                }
                FitStatus::Interrupted(_) => TrialStatus::Interrupted,
            };
            summary.steps = fit.steps;
            summary.final_metrics = fit.final_metrics;
            summary.selected_step = fit.selected_step;
            summary.num_params = fit.num_params;
            summary.steps_per_second = if fit.seconds > 0.0 { fit.steps as f64 / fit.seconds } else { 0.0 };
        }
        Err(e) => summary.error = Some(e.to_string()),
    }
    summary.settle_non_finite();
    summary.write(&dir)?;
    Ok(summary)
}

/// Empties a trial directory (a rerun starts clean) except the runner's log of this worker and
/// its checkpoints (a rerun resumes from them; a GAN's sample images of the evaluations before
/// the checkpoint are then in its TensorBoard events only).
fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        if entry.file_name() == WORKER_LOG || entry.file_name() == CHECKPOINT_DIR {
            continue;
        }
        let p = entry.path();
        let r = if p.is_dir() { std::fs::remove_dir_all(&p) } else { std::fs::remove_file(&p) };
        r.map_err(|e| Error::io(&p, e))?;
    }
    Ok(())
}

fn train_trial(
    plan: &Plan,
    trial: &Trial,
    (results, dir): (&Path, &Path),
    threads: usize,
    (progress, keep, decisions): (bool, KeepCheckpoints, bool),
    stop: &Arc<AtomicBool>,
) -> Result<(FitOutcome, bool)> {
    let cfg = &trial.config;
    let device = cfg.backend().training_device()?;
    crate::train::seeds::reseed_device(&device, cfg.seed);
    let data = cfg.dataset.load()?;
    let store = CheckpointDir::of_trial(dir);
    let resume = store.latest()?;
    let mut obs = TrialObserver::start(plan, trial, (results, dir), progress, stop, resume.as_ref())?;
    let cadence = Cadence::of(&cfg.training);
    let checkpoints = TrialCheckpoints::new(store.clone(), cadence, keep, (device.clone(), cfg.seed), resume);
    obs.checkpointer = Some(Box::new(checkpoints));
    obs.decisions = decisions;
    let outcome = crate::backend::Backend::run_on_cpu_pool(threads, || {
        let select_best = cfg.select_best.as_ref();
        let ctx = crate::models::TrainCtx {
            data: &data,
            training: &cfg.training,
            device: &device,
            seed: cfg.seed,
            select_best,
            trial: Some(crate::models::TrialPlace {
                id: &trial.id,
                experiment: &plan.experiment,
                results,
                dir,
                dataset: &cfg.dataset,
                threads,
            }),
        };
        cfg.model.spec.train(ctx, &mut obs)
    });
    let outcome = match (outcome, obs.error.take()) {
        (Ok(outcome), None) => outcome,
        (Err(e), _) | (Ok(_), Some(e)) => return Err(e),
    };
    // Pruned: by a decision seen at an evaluation, or by the local runner's SIGINT after it
    // wrote the decision; a trial that diverged stays diverged (the runners keep it so too).
    let diverged = matches!(outcome.status, FitStatus::Diverged(_));
    let pruned = decisions && !diverged && (obs.pruned || decision::read(dir).is_some_and(|d| d.stop));
    // TensorBoard: the HParams session end with the trial's status; in a sweep with a pruner,
    // `trial/pruned` (1 or 0) for a trial that ended with a final status.
    let finished = pruned || !matches!(outcome.status, FitStatus::Interrupted(_));
    let pruned_metric = (decisions && finished).then_some(pruned);
    tb::write_trial_end(&mut obs.events, tb::session_status(&outcome.status, pruned), outcome.steps, pruned_metric)
        .map_err(|e| Error::io(obs.events.path(), e))?;
    obs.write_metrics()?;
    obs.events.flush().map_err(|e| Error::io(obs.events.path(), e))?;
    if matches!(outcome.status, FitStatus::Completed | FitStatus::Stopped(_)) && !obs.weights.is_empty() {
        let names = obs.weights.iter().map(|(name, _)| name.clone()).collect();
        let card = ModelCard::new(plan, trial, &data.info, &outcome, threads, names);
        crate::results::model::write_model(dir, &card, &obs.weights)?;
    }
    if !matches!(outcome.status, FitStatus::Interrupted(_)) {
        store.finish(keep, outcome.selected_step)?;
    }
    Ok((outcome, pruned))
}

/// Records metrics to `metrics.csv` and TensorBoard, and reports progress to the parent.
struct TrialObserver {
    dir: PathBuf,
    metrics: MetricsLog,
    events: EventWriter,
    progress: bool,
    stop: Arc<AtomicBool>,
    error: Option<Error>,
    /// The trained weights the trainer handed over (`final`, `best`), saved in `model/` if
    /// the run completed.
    weights: Vec<(String, Vec<u8>)>,
    /// The trial's checkpointer, until the training loop takes it.
    checkpointer: Option<Box<dyn Checkpointer + Send>>,
    /// Whether pruning decisions come through the trial directory (a sweep with a pruner).
    decisions: bool,
    /// Whether a decision stopped the trial.
    pruned: bool,
}

impl TrialObserver {
    /// The observer of a trial starting afresh, or resuming from `resume`: then its metrics
    /// so far come from the checkpoint (`metrics.csv` is rewritten from them) and its event
    /// file holds the earlier attempts' events up to the checkpoint ([`tb::resume_events`]).
    /// TensorBoard: the trial's run `runs/<readable name>_<id>/`, started with the HParams
    /// session start (swept values, model, seed) and the resolved config as text
    /// (runner/tensorboard.rs).
    fn start(
        plan: &Plan,
        trial: &Trial,
        (results, dir): (&Path, &Path),
        progress: bool,
        stop: &Arc<AtomicBool>,
        resume: Option<&Saved>,
    ) -> Result<Self> {
        let (events, metrics) = match resume {
            Some(saved) => {
                let csv = saved.files.get(METRICS_FILE).map(|b| String::from_utf8_lossy(b).into_owned());
                (tb::resume_events(results, plan, trial, saved.step)?, MetricsLog::parse(&csv.unwrap_or_default()))
            }
            None => (tb::trial_events(results, plan, trial)?, MetricsLog::new()),
        };
        metrics.write(dir)?;
        let (dir, stop, error, checkpointer) = (dir.to_path_buf(), stop.clone(), None, None);
        Ok(TrialObserver {
            dir,
            metrics,
            events,
            progress,
            stop,
            error,
            checkpointer,
            weights: Vec::new(),
            decisions: false,
            pruned: false,
        })
    }

    fn record(&mut self, step: usize, split: &str, metric: &str, value: f64) {
        self.metrics.push(step, split, metric, value);
        if self.error.is_none()
            && let Err(e) = self.events.scalar(&format!("{split}/{metric}"), value as f32, step)
        {
            self.error = Some(Error::io(self.events.path(), e));
        }
    }

    /// With `decisions`: reports the evaluation at `step` in `evals.jsonl`, then waits for
    /// its pruning decision ([`decision::wait_for`]; a stop signal ends the wait).
    fn take_decision(&mut self, step: usize, metrics: &BTreeMap<String, f64>) {
        if !self.decisions {
            return;
        }
        if let Err(e) = decision::append_eval(&self.dir, step, metrics) {
            self.error.get_or_insert(e);
            return;
        }
        let stop = self.stop.clone();
        self.pruned |= decision::wait_for(&self.dir, step, decision::wait_limit(), &|| stop.load(Ordering::Relaxed));
    }

    fn write_metrics(&self) -> Result<()> {
        self.metrics.write(&self.dir)
    }

    /// Records every value of an evaluation under its own split (`valid.accuracy`: split
    /// `valid`, metric `accuracy`; a name without a split is a test metric) except the
    /// training loss, logged on its own; then writes `metrics.csv` and flushes the events.
    fn record_all(&mut self, step: usize, metrics: &BTreeMap<String, f64>) {
        for (name, value) in metrics {
            let (split, metric) = name.split_once('.').unwrap_or(("test", name));
            if !(split == "train" && metric == "loss") {
                self.record(step, split, metric, *value);
            }
        }
        if let Err(e) =
            self.write_metrics().and_then(|_| self.events.flush().map_err(|e| Error::io(self.events.path(), e)))
        {
            self.error.get_or_insert(e);
        }
    }
}

impl Observer for TrialObserver {
    fn on_train_loss(&mut self, step: usize, loss: f64) {
        self.record(step, "train", "loss", loss);
        if self.progress {
            Progress::Loss { step, value: loss }.emit();
        }
    }

    fn on_eval(&mut self, step: usize, metrics: &BTreeMap<String, f64>) {
        self.record_all(step, metrics);
        if self.progress {
            Progress::Eval { step, metrics: metrics.clone() }.emit();
        }
        self.take_decision(step, metrics);
    }

    fn on_test(&mut self, step: usize, metrics: &BTreeMap<String, f64>) {
        self.record_all(step, metrics);
        if self.progress {
            Progress::Test { step, metrics: metrics.clone() }.emit();
        }
    }

    fn on_weights(&mut self, step: usize, weights: &[(String, Vec<f32>)]) {
        for (name, values) in weights {
            if self.error.is_some() {
                return;
            }
            if let Err(e) = self.events.histogram(&format!("weights/{name}"), values, step) {
                self.error = Some(Error::io(self.events.path(), e));
            }
        }
    }

    fn on_image(&mut self, step: usize, tag: &str, pixels: &[u8], size: [usize; 2], channels: Channels) {
        if self.error.is_some() {
            return;
        }
        let [h, w] = size;
        // Encoded once: the same PNG goes into the event file and into the trial directory.
        let written = image::encode_png(pixels, h, w, channels)
            .and_then(|png| {
                self.events.summary(image::png_summary(tag, png.clone(), h, w, channels), step).map(|_| png)
            })
            .map_err(|e| Error::io(self.events.path(), e))
            .and_then(|png| {
                write_atomic(&self.dir.join(format!("{tag}-step{step:07}.png")), &png)?;
                write_atomic(&self.dir.join(format!("{tag}.png")), &png)
            });
        if let Err(e) = written {
            self.error = Some(e);
        }
    }

    fn on_file(&mut self, name: &str, bytes: &[u8]) {
        if self.error.is_none()
            && let Err(e) = write_atomic(&self.dir.join(name), bytes)
        {
            self.error = Some(e);
        }
    }

    fn on_model(&mut self, name: &str, bytes: &[u8]) {
        self.weights.retain(|(n, _)| n != name);
        self.weights.push((name.to_string(), bytes.to_vec()));
    }

    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.error.is_some() || self.pruned
    }

    fn stop_after_checkpoint(&self) -> bool {
        time_limit_warned()
    }

    fn checkpointer(&mut self) -> Option<Box<dyn Checkpointer>> {
        self.checkpointer.take().map(|c| c as Box<dyn Checkpointer>)
    }

    /// `metrics.csv` so far.
    fn checkpoint_files(&self) -> Vec<(String, Vec<u8>)> {
        vec![(METRICS_FILE.to_string(), self.metrics.to_csv().into_bytes())]
    }

    fn on_error(&mut self, error: Error) {
        self.error.get_or_insert(error);
    }
}

/// Set by SIGUSR1 once [`watch_time_limit`] installed its handler: Slurm's warning that the
/// task's time limit is near (`#SBATCH --signal=B:USR1@N`).
static TIME_LIMIT_WARNED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_time_limit_warning(_: libc::c_int) {
    TIME_LIMIT_WARNED.store(true, Ordering::SeqCst);
}

/// Makes SIGUSR1 (Slurm's time-limit warning) stop the trial right after its next checkpoint
/// (the loop's [`Observer::stop_after_checkpoint`]); the trial then records itself as
/// interrupted and the caller requeues its task.
pub fn watch_time_limit() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(libc::SIGUSR1, on_time_limit_warning as *const () as libc::sighandler_t);
    }
}

/// Whether SIGUSR1 arrived since [`watch_time_limit`].
pub fn time_limit_warned() -> bool {
    TIME_LIMIT_WARNED.load(Ordering::SeqCst)
}

/// Threads a CPU backend uses when not told.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string()).filter(|s| !s.is_empty())
}
