//! A trial longer than its Slurm time limit, on the real single-node cluster of
//! `scripts/slurm-cluster` (as root; only with `BURNLAB_SLURM_TESTS=1`): warned by SIGUSR1
//! before the limit (`#SBATCH --signal=B:USR1@30`), it stops after its next checkpoint and
//! requeues its own array task, which resumes from the checkpoint; the trial ends with the
//! numbers of the same trial run locally. About 2-3 minutes (a trial of about 90 s, a 1-minute
//! limit; Slurm checks time limits every 30 s).

mod common;
mod resume_common;
mod slurm_common;

use common::{Scratch, stderr, trial_dirs};
use std::path::Path;
use std::time::{Duration, Instant};

/// About 90 s of training on one thread (idle machine), checkpointed every 200 steps (about
/// 1.5 s).
fn long() -> String {
    let models = "[[models]]\nfamily = \"attention\"\nd_model = 16\nff = 32\nheads = 2\nlayers = 1\n";
    resume_common::mnist1d("q", "flex", "steps = 12000\neval_every = 200\nlog_every = 100", models)
}

/// The status in a trial's `summary.json`, if it has one.
fn status(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("summary.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["status"].as_str().map(str::to_string)
}

#[test]
fn a_trial_past_its_time_limit_is_requeued_and_resumes_with_the_local_numbers() {
    let Some(_cluster) = slurm_common::up() else { return };
    let s = Scratch::new();
    let file = s.file("q.toml", &long());
    let f = file.to_str().unwrap();
    let submit = ["run", f, "--results", "slurm", "--executor", "slurm", "--time", "1"];
    let sub = s.burnlab(&[&submit[..], &["--sbatch-arg=--signal=B:USR1@30", "--json"]].concat());
    assert!(sub.status.success(), "{}", stderr(&sub));
    // The same trial locally, on one thread like the Slurm task, meanwhile.
    let local =
        s.command(&["run", f, "--results", "local", "--quiet", "--jobs", "1"]).env("RAYON_NUM_THREADS", "1").output();
    let local = local.unwrap();
    assert!(local.status.success(), "{}", stderr(&local));
    let dir = &trial_dirs(&s.path().join("slurm"), "q")[0];
    let deadline = Instant::now() + Duration::from_secs(600);
    while status(dir).as_deref() != Some("completed") {
        assert!(Instant::now() < deadline, "the trial did not complete in 10 minutes");
        std::thread::sleep(Duration::from_secs(2));
    }
    let logs = s.path().join("slurm/q/slurm/logs");
    let log: String =
        std::fs::read_dir(&logs).unwrap().map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap()).collect();
    assert!(log.contains("time limit near; checkpointed at step"), "never requeued:\n{log}");
    let local_dir = &trial_dirs(&s.path().join("local"), "q")[0];
    let read = |d: &Path| std::fs::read_to_string(d.join("metrics.csv")).unwrap();
    assert!(read(dir) == read(local_dir), "metrics.csv differs from the local run's");
    let (a, b) = (common::summary(dir), common::summary(local_dir));
    assert_eq!(a["final_metrics"], b["final_metrics"]);
}
