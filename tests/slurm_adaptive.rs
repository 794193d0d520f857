//! An adaptive sweep (tpe + asha) through `--executor slurm` on the real single-node cluster
//! of `scripts/slurm-cluster` (as root; only with `BURNLAB_SLURM_TESTS=1`): the driver
//! submits one job per trial, decides at each rung from the trials' `evals.jsonl`, and the
//! workers stop at the step of a prune. With one slot its search log and table equal a local
//! `--jobs 1` run's; a driver killed mid-sweep and rerun re-attaches to its jobs and runs and
//! decides every trial once. About 2 minutes.

mod common;
mod search_common;
mod slurm_common;

use common::{Scratch, stderr, summary, trial_dirs};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// A tpe + asha search of tiny MLPs: rungs at 20, 40, 80, 160 steps of 200.
fn search(name: &str, trials: usize) -> String {
    search_common::tpe_asha(name, trials, 5, (200, 20))
}

fn events(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("search.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// Checks the log and the trials of a finished sweep in `dir`: every proposal once, every
/// trial completed or pruned and finished once, every (trial, step) decided once, a trial
/// pruned exactly when a decision pruned it, at a rung, and submitted to Slurm once.
fn check_sweep(dir: &Path, name: &str, proposals: usize) {
    let ev = events(dir);
    let numbers: Vec<u64> = of_kind(&ev, "proposal").iter().map(|p| p["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (0..proposals as u64).collect::<Vec<_>>(), "each proposal once");
    let finished: Vec<&str> = of_kind(&ev, "finished").iter().map(|e| e["trial"].as_str().unwrap()).collect();
    assert_eq!(finished.iter().collect::<BTreeSet<_>>().len(), finished.len(), "a trial finished twice");
    let reports: Vec<(String, u64)> = of_kind(&ev, "report")
        .iter()
        .map(|e| (e["trial"].as_str().unwrap().to_string(), e["step"].as_u64().unwrap()))
        .collect();
    assert_eq!(reports.iter().collect::<BTreeSet<_>>().len(), reports.len(), "a step decided twice");
    let prunes: BTreeSet<(String, u64)> = of_kind(&ev, "report")
        .iter()
        .filter(|e| e["decision"] == "prune")
        .map(|e| (e["trial"].as_str().unwrap().to_string(), e["step"].as_u64().unwrap()))
        .collect();
    let results = dir.parent().unwrap();
    let dirs = trial_dirs(results, name);
    assert_eq!(dirs.len(), proposals);
    let mut pruned = BTreeSet::new();
    for d in &dirs {
        let s = summary(d);
        let (id, status, steps) =
            (s["id"].as_str().unwrap(), s["status"].as_str().unwrap(), s["steps"].as_u64().unwrap());
        assert!(finished.contains(&id), "{id} finished in the log");
        match status {
            "completed" => assert_eq!(steps, 200, "{id}"),
            // A driven worker waits for the decision: it stops at the rung's step exactly.
            "pruned" => {
                assert!([20, 40, 80, 160].contains(&steps), "{id} pruned at step {steps}");
                pruned.insert((id.to_string(), steps));
            }
            other => panic!("{id}: {other}"),
        }
    }
    assert_eq!(pruned, prunes, "pruned trials and prune decisions");
    let jobs: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("slurm/jobs.json")).unwrap()).unwrap();
    let submitted: Vec<u64> =
        jobs.iter().flat_map(|j| j["indices"].as_array().unwrap().clone()).map(|i| i.as_u64().unwrap()).collect();
    assert_eq!(
        submitted.iter().collect::<BTreeSet<_>>().len(),
        submitted.len(),
        "a trial submitted twice: {submitted:?}"
    );
}

#[test]
fn a_tpe_asha_sweep_on_slurm_with_one_slot_equals_the_local_jobs_1_run() {
    let Some(_cluster) = slurm_common::up() else { return };
    let s = Scratch::new();
    let file = s.file("a.toml", &search("a", 6));
    let f = file.to_str().unwrap();
    // Two threads per trial in both: the local runner gives its one worker every core.
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).to_string();
    let slurm = s.burnlab(&[
        "run",
        f,
        "--results",
        "slurm",
        "--executor",
        "slurm",
        "--jobs",
        "1",
        "--cpus-per-trial",
        &threads,
        "--quiet",
    ]);
    assert!(slurm.status.success(), "{}", stderr(&slurm));
    let local = s.burnlab(&["run", f, "--results", "local", "--jobs", "1", "--quiet"]);
    assert!(local.status.success(), "{}", stderr(&local));
    let (a, b) = (s.path().join("slurm/a"), s.path().join("local/a"));
    check_sweep(&a, "a", 6);
    assert!(of_kind(&events(&a), "report").iter().any(|e| e["decision"] == "prune"), "asha pruned a trial");
    let read = |d: &Path, f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    assert_eq!(read(&a, "search.jsonl"), read(&b, "search.jsonl"), "the same proposals, decisions and outcomes");
    assert_eq!(read(&a, "table.md"), read(&b, "table.md"));
    assert!(read(&a, "table.md").contains("pruned"));
    // Trial by trial: the same status, steps and metrics (local workers wait for decisions too).
    for d in trial_dirs(&s.path().join("slurm"), "a") {
        let local = b.join("trials").join(d.file_name().unwrap());
        let (x, y) = (summary(&d), summary(&local));
        assert_eq!((&x["status"], &x["steps"], &x["final_metrics"]), (&y["status"], &y["steps"], &y["final_metrics"]));
        assert_eq!(read(&d, "metrics.csv"), read(&local, "metrics.csv"), "{}", d.display());
    }
    // Every trial ran as its own Slurm job, and a second run has nothing left to do.
    let again = s.burnlab(&["run", f, "--results", "slurm", "--executor", "slurm", "--jobs", "1", "--json"]);
    let v: Value = serde_json::from_slice(&again.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&again)));
    assert_eq!((v["skipped"].as_u64(), v["ran"].as_object().map(|m| m.len())), (Some(6), Some(0)), "{v}");
}

#[test]
fn a_killed_driver_reruns_reattaches_and_runs_and_decides_every_trial_once() {
    let Some(_cluster) = slurm_common::up() else { return };
    let s = Scratch::new();
    let file = s.file("k.toml", &search("k", 6));
    let f = file.to_str().unwrap();
    let args = ["run", f, "--results", "r", "--executor", "slurm", "--jobs", "2", "--quiet"];
    let dir = s.path().join("r/k");
    // Kill the driver twice: once its first trials are in Slurm, once a decision is taken.
    for wait_for in ["proposal", "report"] {
        let mut child = s.command(&args).spawn().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        while !dir.join("search.jsonl").exists() || of_kind(&events(&dir), wait_for).len() < 2 {
            assert!(Instant::now() < deadline, "no {wait_for} in 2 minutes");
            assert!(child.try_wait().unwrap().is_none(), "the driver ended before it was killed");
            std::thread::sleep(Duration::from_millis(100));
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let out = s.burnlab(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    check_sweep(&dir, "k", 6);
}
