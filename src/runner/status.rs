//! `burnlab status DIR`: where every trial of a results directory stands.
//!
//! The trial files say which trials finished and how; for a sweep submitted to Slurm,
//! `squeue` says which of the others are queued or running. A local run is seen through its
//! lock: while `burnlab run` holds it, a started trial without a summary is running.

use super::slurm::{self, JobRecord, Queue, QueueState, query_queue};
use crate::error::Result;
use crate::results::{TrialStatus, TrialSummary, paths};
use crate::train::checkpoint::CheckpointDir;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Lines of a log shown for each failed trial.
pub const LOG_TAIL_LINES: usize = 10;

/// Where a trial stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialState {
    /// Finished every step.
    Completed,
    /// Finished with a NaN/infinite loss.
    Diverged,
    /// Started and not finished (a Slurm task running, or a local run in progress).
    Running,
    /// Ended with an error, or ended without writing a summary.
    Failed,
    /// Stopped by Ctrl-C or a signal.
    Interrupted,
    /// Not started (queued in Slurm, or not submitted).
    Pending,
    /// Stopped early by the sweep's search strategy (counted and shown only when present).
    Pruned,
}

impl TrialState {
    /// Every state, in the order counts are shown.
    pub const ALL: [TrialState; 6] = [
        TrialState::Completed,
        TrialState::Diverged,
        TrialState::Running,
        TrialState::Failed,
        TrialState::Interrupted,
        TrialState::Pending,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            TrialState::Completed => "completed",
            TrialState::Diverged => "diverged",
            TrialState::Running => "running",
            TrialState::Failed => "failed",
            TrialState::Interrupted => "interrupted",
            TrialState::Pending => "pending",
            TrialState::Pruned => "pruned",
        }
    }

    /// The states shown for `counts`: [`TrialState::ALL`], with pruned after diverged when a
    /// trial was pruned.
    pub fn shown(counts: &BTreeMap<&'static str, usize>) -> Vec<TrialState> {
        let mut states = TrialState::ALL.to_vec();
        if counts.get(TrialState::Pruned.name()).is_some_and(|&n| n > 0) {
            states.insert(2, TrialState::Pruned);
        }
        states
    }
}

/// One trial's state, with what explains a failure.
#[derive(Debug, Clone, Serialize)]
pub struct TrialReport {
    /// Index in the plan.
    pub index: usize,
    /// Trial id.
    pub id: String,
    /// Label, swept values and seed.
    pub name: String,
    /// Where it stands.
    pub state: TrialState,
    /// The Slurm array task (`JOB_TASK`) queued or running it.
    pub slurm_task: Option<String>,
    /// The error recorded in the summary, or why there is none.
    pub error: Option<String>,
    /// The log the last lines come from.
    pub log: Option<PathBuf>,
    /// The last lines of that log (failed and interrupted trials only).
    pub log_tail: Vec<String>,
    /// Bytes its `checkpoint/` takes (0: none).
    pub checkpoint_bytes: u64,
    /// The step of its latest checkpoint, which an unfinished trial resumes from.
    pub checkpoint_step: Option<usize>,
}

/// Where a results directory stands.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The results directory.
    pub results_dir: PathBuf,
    /// The experiment's name.
    pub experiment: String,
    /// Trials in the plan.
    pub total: usize,
    /// Trials per state (every state of [`TrialState::ALL`]; `pruned` only when a trial was).
    pub counts: BTreeMap<&'static str, usize>,
    /// No trial is running or pending.
    pub finished: bool,
    /// Whether a local `burnlab run` holds the results directory.
    pub local_run_active: bool,
    /// The Slurm jobs submitted for this directory (`slurm/jobs.json`).
    pub slurm_jobs: Vec<String>,
    /// `squeue`'s view of those jobs.
    pub queue: Queue,
    /// Every trial, in plan order.
    pub trials: Vec<TrialReport>,
    /// Bytes the trials' checkpoints take together.
    pub checkpoint_bytes: u64,
}

/// Reads the state of every trial in `dir`, asking `squeue` about recorded Slurm jobs.
pub fn collect(dir: &Path) -> Result<Status> {
    let plan = crate::results::read_plan(dir)?;
    let jobs = slurm::read_jobs(dir)?;
    // The queue first: a task that left the queue before this call wrote its summary already.
    let queue = query_queue(&jobs);
    let local_run_active = local_run_active(dir);
    let mut trials = Vec::with_capacity(plan.trials.len());
    for trial in &plan.trials {
        let tdir = paths::trial_dir(dir, &trial.id);
        let queued = queue.tasks.get(&trial.index);
        let (summary, mut error) = match TrialSummary::read(&tdir) {
            Ok(s) => (s, None),
            Err(e) => (None, Some(e.to_string())),
        };
        let state = match (queued, &summary) {
            (Some(q), _) => match q.state {
                QueueState::Running => TrialState::Running,
                QueueState::Queued => TrialState::Pending,
            },
            (None, Some(s)) => {
                let (state, summary_error) = summary_state(s);
                error = summary_error;
                state
            }
            // An unreadable summary.json (the error names it).
            (None, None) if error.is_some() => TrialState::Failed,
            (None, None) if !tdir.join("config.toml").is_file() => TrialState::Pending,
            // Started, no summary, not in the queue: running only if someone may still run it.
            (None, None) if local_run_active || (!jobs.is_empty() && !queue.available) => TrialState::Running,
            (None, None) => {
                error = Some("the trial ended without writing summary.json (killed, out of time or memory?)".into());
                TrialState::Failed
            }
        };
        let (log, log_tail) = failure_log(dir, &tdir, trial.index, &jobs, state);
        let store = CheckpointDir::of_trial(&tdir);
        let (checkpoint_bytes, checkpoint_step) = (store.size(), store.latest_step());
        trials.push(TrialReport {
            index: trial.index,
            id: trial.id.clone(),
            name: trial.name(),
            state,
            slurm_task: queued.map(|q| format!("{}_{}", q.job_id, q.task)),
            error,
            log,
            log_tail,
            checkpoint_bytes,
            checkpoint_step,
        });
    }
    let mut counts: BTreeMap<&'static str, usize> = TrialState::ALL.iter().map(|s| (s.name(), 0)).collect();
    for t in &trials {
        *counts.entry(t.state.name()).or_default() += 1;
    }
    let finished = counts["running"] == 0 && counts["pending"] == 0;
    Ok(Status {
        results_dir: dir.to_path_buf(),
        experiment: plan.experiment,
        total: plan.trials.len(),
        counts,
        finished,
        local_run_active,
        slurm_jobs: jobs.iter().map(|j| j.job_id.clone()).collect(),
        queue,
        checkpoint_bytes: trials.iter().map(|t| t.checkpoint_bytes).sum(),
        trials,
    })
}

/// The state and error a trial's summary records (a default error for an interrupted trial).
fn summary_state(s: &TrialSummary) -> (TrialState, Option<String>) {
    let mut error = s.error.clone();
    if s.status == TrialStatus::Interrupted && error.is_none() {
        error = Some("stopped by a signal (Ctrl-C, SIGTERM or SIGHUP, its runner ending, or Slurm a minute before the time limit)".into());
    }
    let state = match s.status {
        TrialStatus::Completed => TrialState::Completed,
        TrialStatus::Diverged => TrialState::Diverged,
        TrialStatus::Failed => TrialState::Failed,
        TrialStatus::Interrupted => TrialState::Interrupted,
        TrialStatus::Pruned => TrialState::Pruned,
    };
    (state, error)
}

/// The latest log of a failed or interrupted trial and its last lines (none for other states).
fn failure_log(
    dir: &Path,
    tdir: &Path,
    index: usize,
    jobs: &[JobRecord],
    state: TrialState,
) -> (Option<PathBuf>, Vec<String>) {
    if !matches!(state, TrialState::Failed | TrialState::Interrupted) {
        return (None, Vec::new());
    }
    match latest_log(dir, tdir, index, jobs) {
        Some(p) => {
            let tail = tail_lines(&p, LOG_TAIL_LINES);
            (Some(p), tail)
        }
        None => (None, Vec::new()),
    }
}

/// Whether a `burnlab run`, or a worker of one still stopping, holds the directory's lock (checked with a shared lock that
/// leaves the lock file untouched).
fn local_run_active(dir: &Path) -> bool {
    let Ok(file) = std::fs::File::open(paths::lock(dir)) else {
        return false;
    };
    matches!(file.try_lock_shared(), Err(std::fs::TryLockError::WouldBlock))
}

/// The newest log of a trial: the local runner's `worker.log`, or the Slurm log of the last
/// job that ran it.
fn latest_log(dir: &Path, tdir: &Path, index: usize, jobs: &[JobRecord]) -> Option<PathBuf> {
    let mut candidates = vec![tdir.join(paths::WORKER_LOG)];
    if let Some((job, task)) = jobs.iter().rev().find_map(|j| j.task_of(index).map(|t| (j, t))) {
        candidates.push(slurm::log_path(dir, &job.job_id, task));
    }
    candidates
        .into_iter()
        .filter_map(|p| std::fs::metadata(&p).and_then(|m| m.modified()).ok().map(|t| (t, p)))
        .max_by_key(|(t, _)| *t)
        .map(|(_, p)| p)
}

/// The last `n` non-empty lines of a file (nothing if it cannot be read).
pub fn tail_lines(path: &Path, n: usize) -> Vec<String> {
    let Ok(bytes) = std::fs::read(path) else {
        return Vec::new();
    };
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| l.to_string()).collect()
}

/// The status as text for a terminal.
pub fn render(s: &Status) -> String {
    let counts: Vec<String> =
        TrialState::shown(&s.counts).iter().map(|st| format!("{} {}", s.counts[st.name()], st.name())).collect();
    let mut out = format!("{}: {} trials: {}\n", s.experiment, s.total, counts.join(", "));
    if !s.slurm_jobs.is_empty() {
        let queue = if s.queue.available {
            let running = s.queue.tasks.values().filter(|t| t.state == QueueState::Running).count();
            format!("{running} running, {} queued", s.queue.tasks.len() - running)
        } else {
            format!(
                "unknown ({}); running/pending are read from the trial files",
                s.queue.error.as_deref().unwrap_or("squeue failed")
            )
        };
        out.push_str(&format!("slurm jobs: {} (in the queue: {queue})\n", s.slurm_jobs.join(", ")));
    }
    if s.local_run_active {
        out.push_str("a local `burnlab run` is using this directory\n");
    }
    let with = s.trials.iter().filter(|t| t.checkpoint_bytes > 0).count();
    if with > 0 {
        let mib = s.checkpoint_bytes as f64 / (1024.0 * 1024.0);
        out.push_str(&format!("checkpoints: {mib:.1} MiB in {with} trial(s)\n"));
    }
    for t in s.trials.iter().filter(|t| matches!(t.state, TrialState::Failed | TrialState::Interrupted)) {
        out.push_str(&format!("\n{} {} (index {}) {}\n", t.state.name(), t.id, t.index, t.name));
        if let Some(e) = &t.error {
            // A multi-line error (a `command` program's quoted standard error) stays indented.
            out.push_str(&format!("  error: {}\n", e.trim_end().replace('\n', "\n    ")));
        }
        if let Some(step) = t.checkpoint_step {
            out.push_str(&format!("  resumes from its checkpoint at step {step} on the next run\n"));
        }
        if let Some(log) = &t.log {
            out.push_str(&format!("  last lines of {}:\n", log.display()));
            for l in &t.log_tail {
                out.push_str(&format!("    {l}\n"));
            }
        }
    }
    if s.finished {
        out.push_str(&format!("\nfinished; tables: burnlab report {}\n", s.results_dir.display()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruned_is_shown_after_diverged_only_when_a_trial_was_pruned() {
        let mut counts: BTreeMap<&'static str, usize> = TrialState::ALL.iter().map(|s| (s.name(), 0)).collect();
        assert_eq!(TrialState::shown(&counts), TrialState::ALL.to_vec());
        counts.insert("pruned", 2);
        let shown = TrialState::shown(&counts);
        assert_eq!(&shown[..3], &[TrialState::Completed, TrialState::Diverged, TrialState::Pruned]);
        assert_eq!(shown.len(), 7);
    }

    #[test]
    fn tail_keeps_the_last_non_empty_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("log");
        std::fs::write(&p, "a\nb\n\nc\nd\n\n").unwrap();
        assert_eq!(tail_lines(&p, 3), vec!["b", "c", "d"]);
        assert_eq!(tail_lines(&p, 10), vec!["a", "b", "c", "d"]);
        assert!(tail_lines(&dir.path().join("missing"), 3).is_empty());
    }
}
