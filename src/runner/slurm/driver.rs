//! The Slurm driver of an adaptive sweep (a `tpe` search, or any sweep with a pruner):
//! `burnlab run FILE --executor slurm` stays in the foreground and runs the local runner's
//! search loop ([`SearchLoop`]), but starts each trial as a one-task Slurm job array
//! (`slurm/array.sbatch` with one index, recorded in `slurm/jobs.json`), learns its
//! evaluations from `trials/<id>/evals.jsonl` on the shared results directory, and delivers
//! each decision as `trials/<id>/decision.json`, which the worker (`trial --decisions`)
//! waits for at each evaluation. A killed driver is rerun with the same command: the search
//! log is replayed, trials still queued or running are re-attached (not resubmitted), and
//! decisions already taken are delivered again, not taken again. docs/search.md has the design.

use super::{JobRecord, ScriptSpec, SlurmOptions, jobs_path, logs_dir, query_queue, read_jobs, script_path};
use crate::error::{Error, Result, UserError};
use crate::fsutil::{write_atomic, write_json_atomic};
use crate::results::{TrialStatus, TrialSummary, paths};
use crate::runner::decision::{self, DecisionFile};
use crate::runner::drive::{SearchLoop, settle_pruned};
use crate::runner::{Prepared, RunOutcome, outcome_line, prepare, stop_flag, tensorboard};
use crate::spec::Experiment;
use crate::sweep::{Decision, SearchStrategy, Trial};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Trials queued or running at once when neither `--jobs` nor `--max-parallel` is given.
pub const DEFAULT_SLOTS: usize = 4;
/// How often the driver reads the trials' files and the queue.
const POLL: Duration = Duration::from_millis(250);

/// Whether `exp` needs the driver: its search strategy chooses trials as results come in, or
/// its pruner stops them (a job array runs a fixed plan to the end).
///
/// # Errors
/// An invalid sweep.
pub fn needs_driver(exp: &Experiment) -> Result<bool> {
    Ok(exp.pruner.is_some() || !crate::sweep::strategy(exp)?.is_fixed())
}

/// A trial the driver started (or re-attached), until its job leaves the queue.
struct Submitted {
    job_id: String,
    /// The last evaluation step handed to the strategy.
    seen: Option<usize>,
    /// Whether a decision stopped it.
    pruned: bool,
}

/// Runs the adaptive sweep of `exp` on Slurm from this process; `jobs` (or
/// `--max-parallel`, else [`DEFAULT_SLOTS`]) bounds the trials queued or running at once.
/// Ctrl-C stops the driver, not the jobs: a rerun re-attaches to them.
///
/// # Errors
/// Invalid options (`--dry-run`: there is no whole script to write), a locked results
/// directory, `sbatch` failing, or an I/O error naming the file.
pub fn drive(exp: &Experiment, opts: &SlurmOptions, jobs: Option<usize>, quiet: bool) -> Result<RunOutcome> {
    opts.validate()?;
    if opts.dry_run {
        return Err(UserError::new(
            "--dry-run: an adaptive sweep (a tpe search or a pruner) submits its trials as it goes",
        )
        .help("run it without --dry-run; `burnlab plan` shows a fixed sweep's trials")
        .into());
    }
    let slots = match (jobs, opts.max_parallel) {
        (Some(0), _) => return Err(UserError::new("--jobs must be at least 1").into()),
        (Some(j), Some(m)) if j != m => {
            return Err(UserError::new(format!("--jobs {j} and --max-parallel {m} both bound the trials at once"))
                .help("give one of them")
                .into());
        }
        (j, m) => j.or(m).unwrap_or(DEFAULT_SLOTS),
    };
    let Prepared { dir, mut strategy, pending, history, lock: _lock } = prepare(exp, &opts.results_root, opts.force)?;
    let dir = std::path::absolute(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut root_events = tensorboard::write_experiment(&dir, exp, strategy.plan()).map_err(|e| Error::io(&dir, e))?;
    let skipped = history.len();
    let mut d = Driver::new(&dir, opts, strategy.as_ref(), history, quiet, pending.len())?;
    d.run(strategy.as_mut(), slots, exp.pruner.is_some())?;
    let built = crate::report::build(&dir)?;
    tensorboard::write_table(&mut root_events, &built.table_md).map_err(|e| Error::io(root_events.path(), e))?;
    Ok(RunOutcome {
        results_dir: dir.clone(),
        planned: strategy.plan().trials.len(),
        skipped,
        ran: d.search.counts,
        interrupted: stop_flag().load(Ordering::SeqCst),
        tables: built.files,
        table_md: built.table_md,
    })
}

/// The driver's state: the search loop, the trials in Slurm, the recorded jobs.
struct Driver<'a> {
    search: SearchLoop<'a>,
    opts: &'a SlurmOptions,
    running: BTreeMap<usize, Submitted>,
    /// `slurm/jobs.json`, this driver's submissions appended.
    jobs: Vec<JobRecord>,
    /// Unfinished trials queued or running in jobs of earlier runs: re-attached, not resubmitted.
    attach: BTreeMap<usize, String>,
    bar: ProgressBar,
}

impl<'a> Driver<'a> {
    fn new(
        dir: &'a Path,
        opts: &'a SlurmOptions,
        strategy: &dyn SearchStrategy,
        history: Vec<crate::sweep::Finished>,
        quiet: bool,
        pending: usize,
    ) -> Result<Self> {
        let jobs = read_jobs(dir)?;
        let queue = query_queue(&jobs);
        if let Some(e) = queue.error.as_ref().filter(|_| !jobs.is_empty()) {
            return Err(UserError::new(format!("cannot tell which earlier trials are still in Slurm: {e}"))
                .help("run this where squeue works (the login node); no trial was started twice")
                .into());
        }
        cancel_orphans(&script_path(dir), &jobs);
        let attach = queue.tasks.values().map(|t| (t.index, t.job_id.clone())).collect();
        let target = if quiet { ProgressDrawTarget::hidden() } else { ProgressDrawTarget::stderr() };
        let bar = ProgressBar::with_draw_target(Some(pending as u64), target);
        bar.set_style(
            ProgressStyle::with_template("{prefix:>8} [{bar:30}] {pos}/{len} trials {msg} ({elapsed})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix("slurm");
        let search = SearchLoop::new(dir, strategy, history);
        Ok(Driver { search, opts, running: BTreeMap::new(), jobs, attach, bar })
    }

    /// The loop: fill the slots, read evaluations, deliver decisions, reap ended jobs.
    fn run(&mut self, strategy: &mut dyn SearchStrategy, slots: usize, pruner: bool) -> Result<()> {
        let stop = stop_flag();
        loop {
            while self.running.len() < slots && !self.search.exhausted && !stop.load(Ordering::SeqCst) {
                let planned = self.search.planned;
                let Some(index) = self.search.next(strategy)? else { break };
                self.bar.inc_length(self.search.planned.saturating_sub(planned) as u64);
                self.start(&strategy.plan().trials[index], pruner)?;
            }
            if self.running.is_empty() {
                break;
            }
            if stop.load(Ordering::SeqCst) {
                let ids: Vec<&str> = self.running.values().map(|s| s.job_id.as_str()).collect();
                self.bar.println(format!(
                    "stopping the driver; Slurm jobs {} keep running: rerun this command to re-attach, or scancel them",
                    ids.join(",")
                ));
                break;
            }
            std::thread::sleep(POLL);
            self.read_evaluations(strategy)?;
            self.reap(strategy)?;
            self.bar.set_message(format!("{} in Slurm", self.running.len()));
        }
        self.bar.finish_and_clear();
        Ok(())
    }

    /// Starts `trial`: re-attaches to its job of an earlier run, else submits it.
    fn start(&mut self, trial: &Trial, pruner: bool) -> Result<()> {
        let job_id = match self.attach.remove(&trial.index) {
            Some(job) => {
                // Killed between recording and releasing it, the last driver left it held.
                let _ = release(&job);
                job
            }
            None => self.submit(trial, pruner)?,
        };
        self.running.insert(trial.index, Submitted { job_id, seen: None, pruned: false });
        Ok(())
    }

    /// Submits `trial` as a one-task job array, held until it is recorded in `jobs.json`: a
    /// driver killed in between leaves a held job that never runs (the next driver cancels
    /// it), not a trial run twice.
    fn submit(&mut self, trial: &Trial, pruner: bool) -> Result<String> {
        let dir = self.search.dir;
        let exe = std::env::current_exe().map_err(|e| Error::io("current executable", e))?;
        let datasets = match std::env::var_os("BURNLAB_DATASETS") {
            Some(d) => Some(std::path::absolute(&d).map_err(|e| Error::io(&d, e))?),
            None => None,
        };
        let plan_name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let indices = [trial.index];
        let text = super::render_script(&ScriptSpec {
            experiment: &plan_name,
            results_dir: dir,
            exe: &exe,
            indices: &indices,
            datasets: datasets.as_deref(),
            driven: pruner,
            opts: &SlurmOptions { max_parallel: None, ..self.opts.clone() },
        });
        let logs = logs_dir(dir);
        std::fs::create_dir_all(&logs).map_err(|e| Error::io(&logs, e))?;
        let script = script_path(dir);
        write_atomic(&script, text.as_bytes())?;
        let job_id = super::sbatch(&script, &["--hold"])?;
        self.jobs.push(JobRecord {
            job_id: job_id.clone(),
            submitted_at: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
            indices: indices.to_vec(),
            cpus_per_trial: self.opts.cpus_per_trial,
            gpus_per_trial: self.opts.gpus_per_trial,
            max_parallel: None,
        });
        write_json_atomic(&jobs_path(dir), &self.jobs)?;
        release(&job_id)?;
        Ok(job_id)
    }

    /// Hands the running trials' new evaluations to the strategy, in order, and writes the
    /// decisions into the trials' directories once they are in `search.jsonl`. A decision file
    /// that does not say what was decided (a worker's new attempt emptied its directory, or
    /// the driver was killed before writing it) is written again.
    fn read_evaluations(&mut self, strategy: &mut dyn SearchStrategy) -> Result<()> {
        let indices: Vec<usize> = self.running.keys().copied().collect();
        for index in indices {
            let tdir = paths::trial_dir(self.search.dir, &strategy.plan().trials[index].id);
            let evals = decision::read_evals(&tdir, None);
            let Some(last) = evals.last().map(|(step, _)| *step) else { continue };
            let (seen, pruned) = (self.running[&index].seen, self.running[&index].pruned);
            // After a stop, what the trial evaluates is not the search's: only the answer stays.
            let new = evals.into_iter().filter(|(step, _)| !pruned && seen.is_none_or(|s| *step > s));
            for (step, metrics) in new {
                let stop = self.search.evaluated(strategy, index, step, &metrics)? == Decision::Stop;
                let r = self.running.get_mut(&index).expect("running trial");
                (r.seen, r.pruned) = (Some(step), stop);
                if stop {
                    break;
                }
            }
            let r = &self.running[&index];
            let answer = DecisionFile { step: r.seen.unwrap_or(last), stop: r.pruned };
            if decision::read(&tdir) != Some(answer) {
                decision::write(&tdir, answer)?;
            }
        }
        Ok(())
    }

    /// Records the trials whose jobs have left the queue.
    fn reap(&mut self, strategy: &mut dyn SearchStrategy) -> Result<()> {
        let queue = query_queue(&self.jobs);
        if !queue.available {
            return Ok(()); // squeue did not answer: ask again at the next poll
        }
        let ended: Vec<usize> = self.running.keys().copied().filter(|i| !queue.tasks.contains_key(i)).collect();
        for index in ended {
            // Evaluations written just before the end are decided first, as locally.
            self.read_evaluations(strategy)?;
            let r = self.running.remove(&index).expect("running trial");
            let trial = &strategy.plan().trials[index];
            let tdir = paths::trial_dir(self.search.dir, &trial.id);
            let mut summary = match TrialSummary::read(&tdir) {
                Ok(Some(s)) => s,
                Ok(None) | Err(_) => self.lost(trial, &r.job_id)?,
            };
            settle_pruned(&tdir, &mut summary, r.pruned)?;
            self.bar.inc(1);
            self.bar.println(outcome_line(trial, &summary));
            self.search.ended(strategy, &summary)?;
        }
        Ok(())
    }

    /// The summary of a trial whose job left the queue without a readable one: failed.
    fn lost(&self, trial: &Trial, job_id: &str) -> Result<TrialSummary> {
        let log: PathBuf = logs_dir(self.search.dir).join(format!("{job_id}_0.out"));
        let experiment = self.search.dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let summary = TrialSummary {
            error: Some(format!("Slurm job {job_id} ended without a summary; see {}", log.display())),
            ..TrialSummary::blank(&experiment, trial, TrialStatus::Failed)
        };
        summary.write(&paths::trial_dir(self.search.dir, &trial.id))?;
        Ok(summary)
    }
}

/// Lets the held job `job_id` run (`scontrol release`).
///
/// # Errors
/// `scontrol` missing or failing (its message).
fn release(job_id: &str) -> Result<()> {
    let out = Command::new("scontrol").args(["release", job_id]).output().map_err(|e| Error::io("scontrol", e))?;
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
        return Err(anyhow::anyhow!("scontrol release {job_id} failed: {why}").into());
    }
    Ok(())
}

/// Cancels the pending jobs of `script` that `jobs.json` does not list: submitted (held) by a
/// driver killed before it recorded them. Best effort: without `squeue` nothing is done.
fn cancel_orphans(script: &Path, jobs: &[JobRecord]) {
    let Ok(out) = Command::new("squeue").args(["-h", "-t", "PD", "-o", "%A|%o"]).output() else { return };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some((id, command)) = line.split_once('|') else { continue };
        if Path::new(command.trim()) == script && !jobs.iter().any(|j| j.job_id == id.trim()) {
            let _ = Command::new("scancel").arg(id.trim()).output();
        }
    }
}
