//! A pruning decision delivered through the trial directory, and the evaluations a worker
//! reports there: how a driver that does not own the worker's process (the Slurm driver,
//! docs/search.md) learns a running trial's evaluations and tells it to stop.
//!
//! - `trials/<id>/evals.jsonl`: one [`Progress::Eval`] line per evaluation, appended and
//!   fsynced by a worker run with `trial --decisions` (a reader uses complete lines only);
//! - `trials/<id>/decision.json`: `{"step": S, "stop": B}`, the runner's or the driver's
//!   answer for every evaluation up to step `S`, written atomically once the decision is in
//!   `search.jsonl`.
//!
//! In a sweep with a pruner every worker (local or on Slurm) waits at each evaluation until
//! the decision covers its step ([`wait_for`]), so a pruned trial ends at the step it was
//! pruned at whoever runs it and however loaded the machine, and knows it was pruned. The
//! local runner learns evaluations from the worker's progress lines, the Slurm driver from
//! `evals.jsonl`.

use super::Progress;
use crate::error::{Error, Result};
use crate::fsutil::write_json_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The decision file in a trial directory.
pub const DECISION_FILE: &str = "decision.json";
/// The evaluations file in a trial directory (driven workers only).
pub const EVALS_FILE: &str = "evals.jsonl";
/// How long a driven worker waits for a decision before it goes on without one (a driver
/// that is gone; a resumed driver decides the step later, and the trial stops at its next
/// evaluation). `BURNLAB_DECISION_WAIT_S` overrides it.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(600);

/// The driver's answer for the evaluations of one trial up to `step`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionFile {
    /// The last evaluation step decided.
    pub step: usize,
    /// Whether the trial is pruned (at the step of the decision that pruned it, or before).
    pub stop: bool,
}

/// The decision file of trial directory `tdir`.
pub fn path(tdir: &Path) -> PathBuf {
    tdir.join(DECISION_FILE)
}

/// Writes `decision` into `tdir` atomically.
///
/// # Errors
/// An I/O error naming the file.
pub fn write(tdir: &Path, decision: DecisionFile) -> Result<()> {
    write_json_atomic(&path(tdir), &decision)
}

/// The decision in `tdir`, if any (an unreadable file is none: it is written atomically, so
/// it is only ever missing or whole).
pub fn read(tdir: &Path) -> Option<DecisionFile> {
    let text = std::fs::read_to_string(path(tdir)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Waits until the decision in `tdir` covers `step`, for at most `wait` and while `give_up`
/// says no (a worker told to stop), polling every 2 ms at first, then less often (up to every
/// 100 ms); returns whether it says stop (false when none came).
pub fn wait_for(tdir: &Path, step: usize, wait: Duration, give_up: &dyn Fn() -> bool) -> bool {
    let deadline = Instant::now() + wait;
    let mut poll = Duration::from_millis(2);
    loop {
        match read(tdir) {
            Some(d) if d.stop || d.step >= step => return d.stop,
            _ if Instant::now() >= deadline || give_up() => return false,
            _ => std::thread::sleep(poll),
        }
        poll = (poll * 2).min(Duration::from_millis(100));
    }
}

/// How long a driven worker waits for a decision: `BURNLAB_DECISION_WAIT_S`, else
/// [`DEFAULT_WAIT`].
pub fn wait_limit() -> Duration {
    std::env::var("BURNLAB_DECISION_WAIT_S")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(DEFAULT_WAIT, Duration::from_secs_f64)
}

/// Appends an evaluation to `tdir`'s `evals.jsonl` and fsyncs it.
///
/// # Errors
/// An I/O error naming the file.
pub fn append_eval(tdir: &Path, step: usize, metrics: &BTreeMap<String, f64>) -> Result<()> {
    let p = tdir.join(EVALS_FILE);
    let mut line =
        serde_json::to_string(&Progress::Eval { step, metrics: metrics.clone() }).map_err(anyhow::Error::from)?;
    line.push('\n');
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&p).map_err(|e| Error::io(&p, e))?;
    f.write_all(line.as_bytes()).and_then(|_| f.sync_data()).map_err(|e| Error::io(&p, e))
}

/// The evaluations in `tdir`'s `evals.jsonl` after step `after` (all with `None`), in order;
/// a last line cut short is left for the next read.
pub fn read_evals(tdir: &Path, after: Option<usize>) -> Vec<(usize, BTreeMap<String, f64>)> {
    let Ok(text) = std::fs::read_to_string(tdir.join(EVALS_FILE)) else { return Vec::new() };
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    text[..complete]
        .lines()
        .filter_map(|l| match serde_json::from_str::<Progress>(l) {
            Ok(Progress::Eval { step, metrics }) if after.is_none_or(|a| step > a) => Some((step, metrics)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_covers_its_step_and_the_ones_before() {
        let dir = tempfile::tempdir().unwrap();
        let quick = |step| wait_for(dir.path(), step, Duration::from_millis(30), &|| false);
        assert_eq!(read(dir.path()), None);
        assert!(!quick(20), "no decision: go on once the wait is over");
        write(dir.path(), DecisionFile { step: 20, stop: false }).unwrap();
        assert!(!quick(20));
        assert!(!quick(10));
        write(dir.path(), DecisionFile { step: 40, stop: true }).unwrap();
        assert!(quick(60), "a stop holds for every later step");
        assert_eq!(read(dir.path()), Some(DecisionFile { step: 40, stop: true }));
    }

    #[test]
    fn a_waiting_worker_sees_a_decision_written_later() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            write(&d, DecisionFile { step: 20, stop: true }).unwrap();
        });
        assert!(wait_for(dir.path(), 20, Duration::from_secs(10), &|| false));
        writer.join().unwrap();
        // A worker told to stop waits no longer.
        let other = tempfile::tempdir().unwrap();
        assert!(!wait_for(other.path(), 20, Duration::from_secs(600), &|| true));
    }

    #[test]
    fn evaluations_are_read_back_after_a_step_and_a_cut_line_waits() {
        let dir = tempfile::tempdir().unwrap();
        let m = |v: f64| BTreeMap::from([("valid.accuracy".to_string(), v)]);
        append_eval(dir.path(), 20, &m(0.25)).unwrap();
        append_eval(dir.path(), 40, &m(f64::NAN)).unwrap();
        let all = read_evals(dir.path(), None);
        assert_eq!(all.iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![20, 40]);
        assert_eq!(all[0].1["valid.accuracy"], 0.25);
        assert!(all[1].1["valid.accuracy"].is_nan());
        assert_eq!(read_evals(dir.path(), Some(20)).len(), 1);
        let mut f = std::fs::OpenOptions::new().append(true).open(dir.path().join(EVALS_FILE)).unwrap();
        f.write_all(b"{\"event\":\"eval\",\"step\":60,").unwrap();
        assert_eq!(read_evals(dir.path(), Some(20)).len(), 1, "a line cut short is not read");
    }
}
