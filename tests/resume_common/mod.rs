//! What the resume tests share (`tests/resume.rs`, and `tests/libtorch_resume.rs` on
//! LibTorch CPU): the experiments, the kill loop and the comparison with an uninterrupted run.
//! The including test crate declares `mod common;` first.

#![allow(dead_code)]

use super::common::{Scratch, stderr, summary, trial_dirs};
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// An experiment with one seed on MNIST-1D: `[training]` at lr 1e-2 and batch 50, then the
/// `training` keys; then `rest` (the models, `[report]`).
pub fn mnist1d(name: &str, backend: &str, training: &str, rest: &str) -> String {
    let head = format!("name = \"{name}\"\nbackend = \"{backend}\"\nseeds = [0]\n\n[dataset]\nname = \"mnist1d\"\n\n");
    format!("{head}[training]\nlr = 1e-2\nbatch_size = 50\n{training}\n\n{rest}")
}

/// Attention (dropout 0.1: device randoms in every step) and a small MLP on MNIST-1D, with a
/// learning-rate schedule, early stopping and `select = "best"`, on `backend`; checkpoints at
/// every evaluation (an explicit `checkpoint_every`: the default interval's throttle would
/// skip most of the small MLP's, and the kills must find checkpoints mid-run).
pub fn recipe(backend: &str) -> String {
    let training = "steps = 200\neval_every = 20\nlog_every = 10\ncheckpoint_every = 20\n\
        lr_schedule = { kind = \"cosine\", warmup_steps = 30 }\n\
        early_stopping = { metric = \"valid.loss\", patience = 6 }";
    let models = "[[models]]\nfamily = \"attention\"\nd_model = 16\nff = 32\nheads = 2\nlayers = 1\n\n\
        [[models]]\nfamily = \"mlp\"\nhidden = 32\n\n[report]\nmetric = \"test.accuracy\"\nselect = \"best\"\n";
    mnist1d("r", backend, training, models)
}

/// A small GAN on the ring mixture (batch norm in G: running statistics in the checkpoint;
/// noise from the device at every step), checkpointed at every evaluation; `BACKEND` is
/// replaced.
pub const GAN: &str = r#"name = "r"
backend = "BACKEND"
seeds = [0]

[dataset]
name = "ring"

[training]
batch_size = 32
steps = 480
eval_every = 20
log_every = 10
checkpoint_every = 20

[[models]]
family = "gan"
g_width = 64
d_width = 64
eval_samples = 500

[report]
metric = "test.modes"
select = "best"
"#;

/// Timing fields of `summary.json`, which differ between any two runs (and the thread count,
/// which depends on how many trials the run that finished a trial ran at once).
pub const TIMING: &[&str] = &["wall_time_s", "steps_per_second", "started_at", "threads"];

/// Every trial's `metrics.csv` and `summary.json` (timing fields left out), by trial id.
pub fn outcome(results: &Path) -> BTreeMap<String, (String, serde_json::Value)> {
    trial_dirs(results, "r")
        .into_iter()
        .map(|d| {
            let mut s = summary(&d);
            for k in TIMING {
                s.as_object_mut().unwrap().remove(*k);
            }
            let csv = std::fs::read_to_string(d.join("metrics.csv")).unwrap();
            (d.file_name().unwrap().to_string_lossy().into_owned(), (csv, s))
        })
        .collect()
}

/// `burnlab run` of `file` into `results`, in a process group of its own.
pub fn start(s: &Scratch, file: &Path, results: &str) -> Child {
    s.command(&["run", file.to_str().unwrap(), "--results", results, "--quiet", "--jobs", "2"])
        .process_group(0)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs to the end, retrying while the workers of a killed run still hold the lock.
pub fn finish(s: &Scratch, file: &Path, results: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = start(s, file, results).wait_with_output().unwrap();
        if out.status.success() {
            return;
        }
        let err = stderr(&out);
        assert!(err.contains("another burnlab run") && Instant::now() < deadline, "{err}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

pub fn signal(pid: i32, sig: i32) {
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0, "kill({pid}, {sig})");
}

/// Waits (at most 120 s) until an unfinished trial of experiment `r` under `results` has a
/// checkpoint, so that a kill that follows can leave one to resume however slow the machine.
///
/// # Panics
/// When none appears in time.
pub fn wait_for_checkpoint(results: &Path) {
    let trials = results.join("r").join("trials");
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        // A checkpoint of an unfinished trial: one a kill now would leave to resume (a fast
        // trial's checkpoint is no use once the trial has finished).
        if trials.is_dir() && !checkpoints(results).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no checkpoint under {} after 120 s", trials.display());
}

/// The latest checkpoint of every unfinished trial (no `summary.json`): those a rerun resumes.
pub fn checkpoints(results: &Path) -> Vec<String> {
    trial_dirs(results, "r")
        .iter()
        .filter(|d| !d.join("summary.json").exists())
        .filter_map(|d| std::fs::read_to_string(d.join("checkpoint/LATEST")).ok())
        .map(|s| s.trim().to_string())
        .collect()
}

/// The uninterrupted run of `experiment` (its `BACKEND` replaced by `backend`), then a run
/// killed `kills` times (SIGKILL to the runner's process
/// group, once a trial has a checkpoint and a random 0-0.6 s later, or 0 to a quarter of the
/// uninterrupted run's time when shorter, each time) and finished; both must end the same.
pub fn killed_runs_end_as_uninterrupted(experiment: &str, backend: &str, kills: usize) {
    let s = Scratch::new();
    let file = s.file("r.toml", &experiment.replace("BACKEND", backend));
    let started = Instant::now();
    finish(&s, &file, "whole");
    // The kills come within a quarter of an uninterrupted run's time after the first
    // checkpoint (at most 0.6 s), so that a short run is still killed before it ends.
    let max_delay = (started.elapsed().as_millis() as u64 / 4).clamp(1, 600);
    let seed: u64 = rand::random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut seen = Vec::new();
    for _ in 0..kills {
        let mut child = start(&s, &file, "killed");
        // Not before a trial has a checkpoint (at once after the first kill): on a loaded
        // machine the first checkpoint can take longer than any fixed delay.
        wait_for_checkpoint(&s.path().join("killed"));
        std::thread::sleep(Duration::from_millis(rng.random_range(0..max_delay)));
        signal(-(child.id() as i32), libc::SIGKILL);
        child.wait().unwrap();
        seen.push(checkpoints(&s.path().join("killed")));
    }
    assert!(seen.iter().any(|c| !c.is_empty()), "no kill left a trial to resume (seed {seed}): {seen:?}");
    finish(&s, &file, "killed");
    let (whole, killed) = (outcome(&s.path().join("whole")), outcome(&s.path().join("killed")));
    assert_eq!(whole.len(), killed.len());
    for (id, (csv, sum)) in &whole {
        let (kcsv, ksum) = &killed[id];
        assert!(csv == kcsv, "trial {id} (kill seed {seed}, checkpoints {seen:?}): metrics.csv differs");
        assert_eq!(sum, ksum, "trial {id} (kill seed {seed}, checkpoints {seen:?})");
    }
    assert_no_duplicate_points(&s.path().join("killed/r/runs"), &s.path().join("whole/r/runs"));
}

/// Every run folder under `runs` holds each (tag, step) of a scalar once, and the same ones
/// as the uninterrupted run's under `whole`.
pub fn assert_no_duplicate_points(runs: &Path, whole: &Path) {
    let points = |runs: &Path| -> BTreeMap<String, Vec<(String, i64)>> {
        let mut all = BTreeMap::new();
        for run in std::fs::read_dir(runs).unwrap().map(|e| e.unwrap().path()) {
            let mut pts = Vec::new();
            let files: Vec<PathBuf> = std::fs::read_dir(&run).unwrap().map(|e| e.unwrap().path()).collect();
            for f in files {
                for (_, ev) in burnlab::tensorboard::read_events(&f).unwrap() {
                    for v in ev.get_summary().get_value() {
                        if v.has_simple_value() {
                            pts.push((v.get_tag().to_string(), ev.get_step()));
                        }
                    }
                }
            }
            pts.sort();
            all.insert(run.file_name().unwrap().to_string_lossy().into_owned(), pts);
        }
        all
    };
    let (got, want) = (points(runs), points(whole));
    for (run, pts) in &got {
        let mut unique = pts.clone();
        unique.dedup();
        assert_eq!(pts.len(), unique.len(), "{run}: a point recorded twice");
    }
    assert_eq!(got, want);
}
