//! Issue 14, items 1, 2 and 10 (the lock message), through the real binary: a runner stopped
//! by any signal leaves no worker behind and no trial `failed`; a directory stays locked while
//! a worker of a run lives; a NaN or infinite evaluation is a divergence that reads back; the
//! refusal of a locked directory always names a live pid.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Linear classifiers on MNIST-1D, long enough to be stopped mid-training and short enough
/// (about a second each on one core) to be finished by a rerun.
const LONG: &str = r#"
name = "long"
seeds = [0, 1]
[dataset]
name = "mnist1d"
[training]
steps = 3000
eval_every = 100
log_every = 100
[[models]]
family = "linear"
"#;

/// The pids of live processes whose command line holds `burnlab trial` and `results_dir`.
fn workers_of(results_dir: &Path) -> Vec<u32> {
    let dir = results_dir.to_str().unwrap();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        // A zombie's command line reads empty: only live processes match.
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> = cmdline.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect();
        if args.iter().any(|a| a == "trial") && args.iter().any(|a| a == dir) {
            pids.push(pid);
        }
    }
    pids
}

/// Polls `done` every 20 ms; panics with `what` after `timeout`.
fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a pid this test started (or found as its runner's worker).
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, sig) }, 0, "kill({pid}, {sig})");
}

/// A scratch directory with `LONG` and an absolute results path (so that the workers'
/// command lines name this test's directory and no other test's).
struct Sweep {
    s: Scratch,
    file: PathBuf,
}

impl Sweep {
    fn new(text: &str) -> Self {
        let s = Scratch::new();
        let file = s.file("long.toml", text);
        Sweep { s, file }
    }

    fn dir(&self) -> PathBuf {
        self.s.results().join("long")
    }

    /// `burnlab run FILE --results ABSOLUTE --quiet EXTRA...`, not yet started.
    fn command(&self, extra: &[&str]) -> std::process::Command {
        let results = self.s.results();
        let mut cmd = self.s.command(&["run", self.file.to_str().unwrap(), "--results", results.to_str().unwrap()]);
        cmd.arg("--quiet").args(extra);
        cmd
    }

    /// Starts the run without waiting.
    fn spawn(&self, extra: &[&str]) -> Child {
        self.command(extra).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
    }

    /// Runs it with `--json` to its end.
    fn run(&self, extra: &[&str]) -> std::process::Output {
        self.command(extra).arg("--json").output().unwrap()
    }

    /// Waits until `n` trials have written an evaluation (their workers are training).
    fn wait_training(&self, n: usize) {
        let trials = self.dir().join("trials");
        wait_until(Duration::from_secs(60), &format!("{n} trials train"), || {
            std::fs::read_dir(&trials)
                .map(|d| d.flatten().filter(|e| e.path().join("metrics.csv").exists()).count() >= n)
                .unwrap_or(false)
        });
    }

    /// The statuses of the trials that have a summary, and how many trials have none.
    fn statuses(&self) -> (Vec<String>, usize) {
        let mut with = Vec::new();
        let mut without = 0;
        for d in trial_dirs(&self.s.results(), "long") {
            match std::fs::read_to_string(d.join("summary.json")) {
                Ok(text) => {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    with.push(v["status"].as_str().unwrap().to_string());
                }
                Err(_) => without += 1,
            }
        }
        (with, without)
    }

    /// No worker log ends in (or holds) NUL bytes.
    fn logs_are_clean(&self) {
        for d in trial_dirs(&self.s.results(), "long") {
            let log = std::fs::read(d.join("worker.log")).unwrap_or_default();
            assert!(!log.contains(&0), "{}: NUL bytes in worker.log: {:?}", d.display(), String::from_utf8_lossy(&log));
        }
    }

    /// A rerun finishes every trial.
    fn rerun_completes(&self) {
        let out = self.run(&[]);
        assert!(out.status.success(), "{}", stderr(&out));
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["planned"], 2, "{v}");
        let (statuses, without) = self.statuses();
        assert_eq!((statuses, without), (vec!["completed".to_string(); 2], 0));
        assert!(workers_of(&self.dir()).is_empty());
    }
}

#[test]
fn a_runner_killed_with_sigkill_leaves_no_worker_and_no_failed_trial() {
    let sw = Sweep::new(LONG);
    let mut runner = sw.spawn(&["--jobs", "2"]);
    sw.wait_training(2);
    let workers = workers_of(&sw.dir());
    assert_eq!(workers.len(), 2, "two workers train: {workers:?}");
    signal(runner.id(), libc::SIGKILL);
    runner.wait().unwrap();
    // The workers get SIGTERM from the kernel when their runner dies and stop at their next step.
    wait_until(Duration::from_secs(10), "the orphaned workers exit", || workers_of(&sw.dir()).is_empty());
    let (statuses, without) = sw.statuses();
    assert!(statuses.iter().all(|s| s == "interrupted"), "stopped trials are interrupted, never failed: {statuses:?}");
    assert_eq!(statuses.len() + without, 2);
    sw.logs_are_clean();
    sw.rerun_completes();
}

#[test]
fn sigterm_and_sighup_stop_a_run_like_ctrl_c() {
    let sw = Sweep::new(LONG);
    for sig in [libc::SIGTERM, libc::SIGHUP] {
        let runner = sw.spawn(&["--jobs", "2"]);
        sw.wait_training(2);
        signal(runner.id(), sig);
        let out = runner.wait_with_output().unwrap();
        // Like Ctrl-C: the run ends itself, marks running trials interrupted and writes the tables.
        assert_eq!(out.status.code(), Some(130), "signal {sig}: {}", stderr(&out));
        assert!(workers_of(&sw.dir()).is_empty(), "signal {sig}: a worker outlived its runner");
        let (statuses, without) = sw.statuses();
        assert_eq!((statuses, without), (vec!["interrupted".to_string(); 2], 0), "signal {sig}");
        let table = std::fs::read_to_string(sw.dir().join("table.md")).unwrap();
        assert!(table.contains("2 missing"), "{table}");
        sw.logs_are_clean();
        // The next round starts from scratch.
        std::fs::remove_dir_all(sw.dir()).unwrap();
    }
    sw.rerun_completes();
}

#[test]
fn a_run_ended_by_timeout_stops_its_workers_and_records_them_interrupted() {
    let sw = Sweep::new(&LONG.replace("3000", "1000000"));
    let results = sw.s.results();
    let out = std::process::Command::new("timeout")
        .args(["-s", "TERM", "3", env!("CARGO_BIN_EXE_burnlab"), "run", sw.file.to_str().unwrap()])
        .args(["--results", results.to_str().unwrap(), "--quiet", "--jobs", "2"])
        .current_dir(sw.s.path())
        .env("BURNLAB_DATASETS", Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(124), "timed out: {}", stderr(&out));
    assert!(workers_of(&sw.dir()).is_empty(), "a worker outlived its runner");
    let (statuses, _) = sw.statuses();
    assert!(statuses.iter().all(|s| s == "interrupted"), "{statuses:?}");
    assert!(sw.dir().join("table.md").is_file(), "the runner wrote its tables before ending");
    sw.logs_are_clean();
}

#[test]
fn a_second_signal_kills_workers_that_do_not_stop() {
    let sw = Sweep::new(&LONG.replace("seeds = [0, 1]", "seeds = [0]").replace("3000", "1000000"));
    let runner = sw.spawn(&[]);
    sw.wait_training(1);
    let workers = workers_of(&sw.dir());
    assert_eq!(workers.len(), 1, "{workers:?}");
    // A worker that cannot stop by itself: frozen.
    signal(workers[0], libc::SIGSTOP);
    signal(runner.id(), libc::SIGTERM);
    std::thread::sleep(Duration::from_millis(500));
    signal(runner.id(), libc::SIGTERM);
    let out = runner.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(workers_of(&sw.dir()).is_empty(), "the frozen worker was killed");
    let tdir = trial_dirs(&sw.s.results(), "long").pop().unwrap();
    let sum = summary(&tdir);
    assert_eq!(sum["status"], "interrupted", "{sum}");
    assert!(sum["error"].as_str().unwrap().contains("SIGKILL"), "{sum}");
}

#[test]
fn a_directory_stays_locked_while_an_orphaned_worker_lives() {
    let sw = Sweep::new(&LONG.replace("seeds = [0, 1]", "seeds = [0]"));
    let mut runner = sw.spawn(&[]);
    sw.wait_training(1);
    let workers = workers_of(&sw.dir());
    assert_eq!(workers.len(), 1, "{workers:?}");
    let worker = workers[0];
    // Freeze the worker so that it outlives its runner for as long as this test needs: the
    // kernel's SIGTERM stays pending until it continues.
    signal(worker, libc::SIGSTOP);
    signal(runner.id(), libc::SIGKILL);
    runner.wait().unwrap();
    let tdir = trial_dirs(&sw.s.results(), "long").pop().unwrap();
    let log_before = std::fs::read(tdir.join("worker.log")).unwrap();
    let plan_before = std::fs::read(sw.dir().join("plan.json")).unwrap();

    let out = sw.run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("(pid {worker})")) && err.contains("still using this results directory"), "{err}");
    assert!(err.contains(&sw.dir().display().to_string()), "names the directory: {err}");
    // Refused before writing anything: the worker's files are untouched.
    assert_eq!(std::fs::read(tdir.join("worker.log")).unwrap(), log_before);
    assert_eq!(std::fs::read(sw.dir().join("plan.json")).unwrap(), plan_before);
    assert!(!tdir.join("summary.json").exists());

    signal(worker, libc::SIGCONT);
    wait_until(Duration::from_secs(10), "the worker exits", || workers_of(&sw.dir()).is_empty());
    // The worker recorded its own trial, as interrupted (resumable).
    assert_eq!(summary(&tdir)["status"], "interrupted");
    sw.logs_are_clean();
    let out = sw.run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(summary(&tdir)["status"], "completed");
}

/// The pid in "another burnlab run (pid N)" of a refusal message.
fn refused_pid(err: &str) -> Option<u32> {
    let rest = err.split("(pid ").nth(1)?;
    rest.split(')').next()?.parse().ok()
}

#[test]
fn a_refused_run_always_names_a_live_pid() {
    let sw = Sweep::new(&LONG.replace("seeds = [0, 1]", "seeds = [0]").replace("3000", "1000000"));
    // Two runs started at once, several times: one trains, the other is refused with the
    // winner's pid however close together they take the lock.
    for round in 0..4 {
        let mut a = sw.spawn(&[]);
        let mut b = sw.spawn(&[]);
        let (loser, mut winner) = loop {
            if a.try_wait().unwrap().is_some() {
                break (a, b);
            }
            if b.try_wait().unwrap().is_some() {
                break (b, a);
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let out = loser.wait_with_output().unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "round {round}: {err}");
        assert_eq!(refused_pid(&err), Some(winner.id()), "round {round}: {err}");
        signal(winner.id(), libc::SIGTERM);
        winner.wait().unwrap();
        assert!(workers_of(&sw.dir()).is_empty());
    }
}

#[test]
fn a_non_finite_final_evaluation_is_a_divergence() {
    let s = Scratch::new();
    let file = s.file(
        "nan.toml",
        r#"
name = "nan"
[dataset]
name = "mnist1d"
[training]
optimizer = "sgd"
lr = 1e6
steps = 2
eval_every = 1
[[models]]
family = "mlp"
hidden = 32
"#,
    );
    let out = s.run(&file, &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ran"], serde_json::json!({"diverged": 1}), "{v}");
    let dir = trial_dirs(&s.results(), "nan").pop().unwrap();
    let sum = summary(&dir);
    let mut numbers =
        sum["final_metrics"].as_object().unwrap().values().chain([&sum["steps_per_second"], &sum["wall_time_s"]]);
    assert!(numbers.all(|v| !v.is_null()), "no number is written as null: {sum}");
    assert_eq!(sum["status"], "diverged", "{sum}");
    let at = sum["diverged_at"].as_u64().unwrap();
    assert!((1..=2).contains(&at), "{sum}");
    // Its metrics.csv records the non-finite value at the step it diverged.
    let metrics = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    assert!(
        metrics.lines().any(|l| l.starts_with(&format!("{at},")) && (l.ends_with("NaN") || l.ends_with("inf"))),
        "{metrics}"
    );
    let table = std::fs::read_to_string(s.results().join("nan/table.md")).unwrap();
    assert!(table.contains("1 diverged"), "{table}");
    // TensorBoard: the trial's HParams session ends as a failure, as any diverged trial's.
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/inspect_events.py");
    let out =
        std::process::Command::new(tensorboard_python()).arg(script).arg(s.results().join("nan")).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = format!("runs/{}", run_dir_of(&dir).file_name().unwrap().to_string_lossy());
    let end = &runs["runs"][&run]["hparams"]["_hparams_/session_end_info"]["message"];
    assert_eq!(end["status"], "STATUS_FAILURE", "{end}");
    let out = s.burnlab(&["status", "results/nan", "--json"]);
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(st["counts"]["diverged"], 1, "{st}");
    // A result: a rerun does not train it again.
    let out = s.run(&file, &["--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["skipped"].as_u64(), v["ran"].as_object().map(|m| m.len())), (Some(1), Some(0)), "{v}");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn summaries_with_null_or_garbage_are_read_back_or_named() {
    let s = Scratch::new();
    let file = s.file("tiny.toml", &TINY.replace("seeds = [0, 1]", "seeds = [0]").replace("3e-3", "2e-2"));
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dirs = trial_dirs(&s.results(), "tiny");
    // A summary as earlier versions wrote a NaN metric (null): read as a diverged trial.
    let mut old = summary(&dirs[0]);
    old["final_metrics"]["test.loss"] = Value::Null;
    std::fs::write(dirs[0].join("summary.json"), old.to_string()).unwrap();
    // A summary cut short: named with its path, counted as not run, rerun.
    let garbage = dirs[1].join("summary.json");
    std::fs::write(&garbage, "{\"id\": \"").unwrap();

    let out = s.burnlab(&["report", "results/tiny"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let named = garbage.strip_prefix(s.path()).unwrap().display().to_string();
    assert!(stderr(&out).contains(&format!("{named}: unreadable trial summary")), "{}", stderr(&out));
    let table = std::fs::read_to_string(s.results().join("tiny/table.md")).unwrap();
    assert!(table.contains("1 diverged") && table.contains("1 missing"), "{table}");

    let out = s.burnlab(&["status", "results/tiny", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let st: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((st["counts"]["diverged"].as_u64(), st["counts"]["failed"].as_u64()), (Some(1), Some(1)), "{st}");
    let failed = st["trials"].as_array().unwrap().iter().find(|t| t["state"] == "failed").unwrap();
    assert!(failed["error"].as_str().unwrap().contains(&named), "{failed}");

    let out = s.run(&file, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"], 3, "the diverged trial and the completed ones are kept: {v}");
    assert_eq!(v["ran"], serde_json::json!({"completed": 1}), "{v}");
    assert_eq!(summary(&dirs[1])["status"], "completed");
}
