//! The Slurm executor and `burnlab status`, through the real binary.
//!
//! Without a cluster: the array script written by `--dry-run` is run by hand with
//! `SLURM_ARRAY_TASK_ID` set, and `sbatch`/`squeue` are replaced by small fake scripts on
//! `PATH`. Against a real single-node Slurm cluster: `scripts/test-slurm`, run by
//! `a_real_slurm_cluster_gives_the_local_tables` only when `BURNLAB_SLURM_TESTS=1`.

mod common;
mod search_common;

use common::*;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Four trials: linear and a small MLP, two seeds.
const FOUR: &str = r#"
name = "four"
seeds = [0, 1]

[dataset]
name = "mnist1d"

[training]
lr = 1e-2
batch_size = 50
steps = 20
eval_every = 10
log_every = 5

[[models]]
family = "linear"

[[models]]
family = "mlp"
hidden = 16
"#;

/// Runs `burnlab ARGS` in the scratch dir with `path_prefix` (fake Slurm commands) first on PATH.
fn burnlab_with(s: &Scratch, path_prefix: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = s.command(args);
    if let Some(p) = path_prefix {
        cmd.env("PATH", format!("{}:{}", p.display(), std::env::var("PATH").unwrap_or_default()));
    }
    cmd.output().unwrap()
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "exit {:?}: {}", o.status.code(), stderr(o));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn indices(v: &Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|i| i.as_u64().unwrap()).collect()
}

/// The plan indices listed in an array script's `INDICES=( ... )`.
fn script_indices(script: &str) -> Vec<usize> {
    let list = script.split("INDICES=(").nth(1).unwrap().split(')').next().unwrap();
    list.split_whitespace().map(|w| w.parse().unwrap()).collect()
}

/// Runs an array script as Slurm would run array task `task`.
fn run_task(script: &Path, task: Option<usize>) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(script).env_remove("SLURM_ARRAY_TASK_ID");
    if let Some(t) = task {
        cmd.env("SLURM_ARRAY_TASK_ID", t.to_string()).env("SLURM_ARRAY_JOB_ID", "7");
    }
    cmd.output().unwrap()
}

fn status_json(s: &Scratch, fake: Option<&Path>, dir: &str) -> Value {
    json(&burnlab_with(s, fake, &["status", dir, "--json"]))
}

#[test]
fn dry_run_writes_one_array_task_per_unfinished_trial() {
    let s = Scratch::new();
    let file = s.file("four.toml", FOUR);
    let f = file.to_str().unwrap();
    let out = burnlab_with(
        &s,
        None,
        &[
            "run",
            f,
            "--results",
            "results",
            "--executor",
            "slurm",
            "--dry-run",
            "--max-parallel",
            "2",
            "--cpus-per-trial",
            "3",
            "--partition",
            "debug",
            "--time",
            "0:10:00",
            "--sbatch-arg=--mem=1G",
            "--sbatch-arg",
            "--qos=low",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let exp = s.results().join("four");
    let script_path = PathBuf::from(stdout(&out).trim());
    assert_eq!(script_path, std::path::absolute(exp.join("slurm/array.sbatch")).unwrap());
    let script = std::fs::read_to_string(&script_path).unwrap();
    let abs_exp = std::path::absolute(&exp).unwrap();
    for line in [
        "#SBATCH --array=0-3%2".to_string(),
        "#SBATCH --cpus-per-task=3".into(),
        "#SBATCH --partition=debug".into(),
        "#SBATCH --time=0:10:00".into(),
        "#SBATCH --mem=1G".into(),
        "#SBATCH --qos=low".into(),
        format!("#SBATCH --output={}/slurm/logs/%A_%a.out", abs_exp.display()),
        "export RAYON_NUM_THREADS=3".into(),
        format!("exec '{}' trial '{}' \"$INDEX\" --requeue", env!("CARGO_BIN_EXE_burnlab"), abs_exp.display()),
    ] {
        assert!(script.lines().any(|l| l == line), "missing {line:?} in\n{script}");
    }
    assert_eq!(script_indices(&script), vec![0, 1, 2, 3]);
    assert!(exp.join("slurm/logs").is_dir(), "sbatch needs the log folder to exist");
    assert!(!exp.join("slurm/jobs.json").exists(), "a dry run submits nothing");
    assert!(exp.join("plan.json").is_file());

    // Array task 1 runs plan index 1, writing the same trial directory a local run would.
    let t = run_task(&script_path, Some(1));
    assert!(t.status.success(), "{}", stderr(&t));
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(exp.join("plan.json")).unwrap()).unwrap();
    let id1 = plan["trials"][1]["id"].as_str().unwrap();
    let sum = summary(&exp.join("trials").join(id1));
    assert_eq!(
        (sum["index"].as_u64(), sum["status"].as_str(), sum["threads"].as_u64()),
        (Some(1), Some("completed"), Some(3))
    );

    // The next script leaves the finished trial out: array task 1 is now plan index 2.
    let out = burnlab_with(&s, None, &["run", f, "--results", "results", "--executor", "slurm", "--dry-run", "--json"]);
    let sub = json(&out);
    assert_eq!(indices(&sub["indices"]), vec![0, 2, 3]);
    assert_eq!(
        (sub["finished"].as_u64(), sub["array"].as_str(), sub["job_id"].as_null()),
        (Some(1), Some("0-2"), Some(()))
    );
    let script = std::fs::read_to_string(&script_path).unwrap();
    assert_eq!(script_indices(&script), vec![0, 2, 3]);
    assert!(script.contains("#SBATCH --cpus-per-task=1\n"), "defaults: one CPU\n{script}");
    let t = run_task(&script_path, Some(1));
    assert!(t.status.success(), "{}", stderr(&t));
    let id2 = plan["trials"][2]["id"].as_str().unwrap();
    assert_eq!(summary(&exp.join("trials").join(id2))["index"].as_u64(), Some(2));

    // A task id past the array, or no task id at all, is an error, not a wrong trial.
    let t = run_task(&script_path, Some(3));
    assert!(!t.status.success());
    assert!(stderr(&t).contains("array task 3 has no trial: the array has 3 tasks"), "{}", stderr(&t));
    let t = run_task(&script_path, None);
    assert!(!t.status.success());
    assert!(stderr(&t).contains("submit this script with sbatch"), "{}", stderr(&t));

    let st = status_json(&s, None, "results/four");
    assert_eq!(st["counts"]["completed"].as_u64(), Some(2));
    assert_eq!(st["counts"]["pending"].as_u64(), Some(2));
    assert_eq!(st["finished"], false);
}

#[test]
fn bad_executor_options_are_user_errors() {
    let s = Scratch::new();
    let file = s.file("four.toml", FOUR);
    let f = file.to_str().unwrap();
    for (args, msg) in [
        (vec!["--partition", "gpu"], "--partition is an option of the Slurm executor"),
        (vec!["--executor", "slurm", "--jobs", "2"], "--jobs is an option of the local executor"),
        (vec!["--executor", "slurm", "--time", "1 hour"], "--time must be one word"),
        (vec!["--executor", "slurm", "--cpus-per-trial", "0"], "--cpus-per-trial must be at least 1"),
        (vec!["--executor", "slurm", "--sbatch-arg", "mem=1G"], "--sbatch-arg takes one sbatch option"),
    ] {
        let mut a = vec!["run", f, "--results", "results", "--dry-run"];
        a.extend(args.iter());
        let out = burnlab_with(&s, None, &a);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(msg), "{a:?}: {}", stderr(&out));
    }
    assert!(!s.results().join("four/slurm/array.sbatch").exists());
    let out = burnlab_with(&s, None, &["status", "results"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no plan.json"), "{}", stderr(&out));
}

#[test]
fn an_adaptive_sweeps_driver_options_are_user_errors_before_anything_is_written() {
    let s = Scratch::new();
    let file = s.file("a.toml", &search_common::tpe_asha("a", 3, 0, (16, 4)));
    let f = file.to_str().unwrap();
    for (args, msg) in [
        (vec!["--jobs", "0"], "--jobs must be at least 1"),
        (vec!["--jobs", "2", "--max-parallel", "3"], "--jobs 2 and --max-parallel 3 both bound"),
        (vec!["--gpus", "0"], "--gpus is an option of the local executor"),
        (vec!["--cpus-per-trial", "0"], "--cpus-per-trial must be at least 1"),
        (vec!["--dry-run"], "submits its trials as it goes"),
    ] {
        let mut a = vec!["run", f, "--results", "results", "--executor", "slurm"];
        a.extend(args.iter());
        let out = burnlab_with(&s, None, &a);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(msg), "{a:?}: {}", stderr(&out));
    }
    assert!(!s.results().exists(), "nothing written");
}

/// Fake `sbatch` (prints the id in `next_id`, logs its arguments) and `squeue` (prints
/// `queue.txt`, or fails with `squeue_error`'s text when that file exists).
fn fake_slurm(dir: &Path) -> PathBuf {
    let bin = dir.join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let d = bin.display();
    let scripts = [
        ("sbatch", format!("#!/bin/sh\necho \"$@\" >> '{d}/sbatch.log'\necho \"$(cat '{d}/next_id');fakecluster\"\n")),
        (
            "squeue",
            format!(
                "#!/bin/sh\necho \"$@\" >> '{d}/squeue.log'\nif [ -e '{d}/squeue_error' ]; then cat '{d}/squeue_error' >&2; exit 1; fi\ncat '{d}/queue.txt' 2>/dev/null\nexit 0\n"
            ),
        ),
    ];
    for (name, text) in scripts {
        let p = bin.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn submissions_are_recorded_and_resubmit_only_what_is_neither_finished_nor_queued() {
    let s = Scratch::new();
    let file = s.file("four.toml", FOUR);
    let f = file.to_str().unwrap();
    let bin = fake_slurm(s.path());
    let exp = s.results().join("four");
    let slurm_run = |extra: &[&str]| {
        let mut a = vec!["run", f, "--results", "results", "--executor", "slurm"];
        a.extend_from_slice(extra);
        burnlab_with(&s, Some(&bin), &a)
    };

    std::fs::write(bin.join("next_id"), "101").unwrap();
    let out = slurm_run(&["--max-parallel", "2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "101", "the job id alone on stdout");
    let script = std::path::absolute(exp.join("slurm/array.sbatch")).unwrap();
    assert_eq!(std::fs::read_to_string(bin.join("sbatch.log")).unwrap(), format!("--parsable {}\n", script.display()));
    let jobs: Value = serde_json::from_str(&std::fs::read_to_string(exp.join("slurm/jobs.json")).unwrap()).unwrap();
    assert_eq!(jobs.as_array().unwrap().len(), 1);
    assert_eq!((jobs[0]["job_id"].as_str(), jobs[0]["max_parallel"].as_u64()), (Some("101"), Some(2)));
    assert_eq!(indices(&jobs[0]["indices"]), vec![0, 1, 2, 3]);

    // squeue: task 0 runs (its trial has started), task 1 waits; 2 and 3 left the queue unstarted.
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(exp.join("plan.json")).unwrap()).unwrap();
    let id = |i: usize| plan["trials"][i]["id"].as_str().unwrap().to_string();
    let t0 = exp.join("trials").join(id(0));
    std::fs::create_dir_all(&t0).unwrap();
    std::fs::write(t0.join("config.toml"), "").unwrap();
    std::fs::write(bin.join("queue.txt"), "101 0 RUNNING\n101 1 PENDING\n").unwrap();
    let st = status_json(&s, Some(&bin), "results/four");
    assert_eq!(st["counts"]["running"].as_u64(), Some(1));
    assert_eq!(st["counts"]["pending"].as_u64(), Some(3));
    assert_eq!(st["trials"][0]["slurm_task"].as_str(), Some("101_0"));
    assert_eq!(st["trials"][1]["slurm_task"].as_str(), Some("101_1"));
    assert!(std::fs::read_to_string(bin.join("squeue.log")).unwrap().contains("-j 101"));

    // A second submission leaves out the queued tasks.
    std::fs::write(bin.join("next_id"), "102").unwrap();
    let sub = json(&slurm_run(&["--json"]));
    assert_eq!(indices(&sub["indices"]), vec![2, 3]);
    assert_eq!(indices(&sub["in_queue"]), vec![0, 1]);
    assert_eq!(sub["job_id"].as_str(), Some("102"));
    let jobs: Value = serde_json::from_str(&std::fs::read_to_string(exp.join("slurm/jobs.json")).unwrap()).unwrap();
    assert_eq!(
        jobs.as_array().unwrap().iter().map(|j| j["job_id"].as_str().unwrap()).collect::<Vec<_>>(),
        vec!["101", "102"]
    );

    // Task 0 left the queue without a summary (killed): failed, with its Slurm log's last lines.
    std::fs::write(bin.join("queue.txt"), "102 0 RUNNING\n102 1 RUNNING\n101 1 PENDING\n").unwrap();
    let log = exp.join("slurm/logs/101_0.out");
    std::fs::write(&log, "burnlab: array task 101_0 runs trial index 0\nslurmstepd: error: *** JOB 101 CANCELLED DUE TO TIME LIMIT ***\n")
        .unwrap();
    let st = status_json(&s, Some(&bin), "results/four");
    assert_eq!(st["counts"]["failed"].as_u64(), Some(1));
    assert_eq!(st["counts"]["running"].as_u64(), Some(2));
    assert_eq!(st["trials"][2]["slurm_task"].as_str(), Some("102_0"));
    assert_eq!(st["trials"][0]["state"].as_str(), Some("failed"));
    assert!(st["trials"][0]["log_tail"][1].as_str().unwrap().contains("TIME LIMIT"), "{st}");
    let text = stdout(&burnlab_with(&s, Some(&bin), &["status", "results/four"]));
    assert!(
        text.starts_with("four: 4 trials: 0 completed, 0 diverged, 2 running, 1 failed, 0 interrupted, 1 pending\n"),
        "{text}"
    );
    assert!(text.contains("slurm jobs: 101, 102 (in the queue: 2 running, 1 queued)"), "{text}");
    assert!(text.contains("CANCELLED DUE TO TIME LIMIT"), "{text}");

    // Without an answer from squeue, status still reads the files and says so.
    std::fs::write(bin.join("squeue_error"), "slurm_load_jobs error: Unable to contact slurm controller\n").unwrap();
    let st = status_json(&s, Some(&bin), "results/four");
    assert_eq!(st["queue"]["available"], false);
    assert!(st["queue"]["error"].as_str().unwrap().contains("Unable to contact"), "{st}");
    assert_eq!(st["counts"]["running"].as_u64(), Some(1), "a started trial may still run");
    std::fs::remove_file(bin.join("squeue_error")).unwrap();

    // Once every trial has finished (here: locally), nothing is submitted.
    std::fs::write(bin.join("queue.txt"), "").unwrap();
    let out = burnlab_with(&s, None, &["run", f, "--results", "results", "--quiet"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let before = std::fs::read_to_string(bin.join("sbatch.log")).unwrap();
    let out = slurm_run(&[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("4 trials planned, 4 finished: nothing to submit"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert_eq!(std::fs::read_to_string(bin.join("sbatch.log")).unwrap(), before, "sbatch not called");
    let st = status_json(&s, Some(&bin), "results/four");
    assert_eq!((st["counts"]["completed"].as_u64(), st["finished"].as_bool()), (Some(4), Some(true)));
}

#[test]
fn status_of_a_local_run_shows_failures_with_their_log() {
    let s = Scratch::new();
    let file = s.file("four.toml", FOUR);
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let exp = s.results().join("four");
    let dirs = trial_dirs(&s.results(), "four");
    // One trial failed with a worker log, one was never started.
    let failed = &dirs[0];
    let mut sum = summary(failed);
    sum["status"] = "failed".into();
    sum["error"] = "boom: out of memory".into();
    std::fs::write(failed.join("summary.json"), serde_json::to_string(&sum).unwrap()).unwrap();
    let log: String = (1..=15).map(|i| format!("log line {i}\n")).collect();
    std::fs::write(failed.join("worker.log"), log).unwrap();
    std::fs::remove_dir_all(&dirs[1]).unwrap();

    let out = burnlab_with(&s, None, &["status", "results/four"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("four: 4 trials: 2 completed, 0 diverged, 0 running, 1 failed, 0 interrupted, 1 pending\n"),
        "{text}"
    );
    assert!(!text.contains("slurm jobs"), "{text}");
    assert!(text.contains("  error: boom: out of memory\n"), "{text}");
    assert!(
        text.contains("    log line 15\n") && text.contains("    log line 6\n") && !text.contains("log line 5\n"),
        "last 10 lines: {text}"
    );

    let st = status_json(&s, None, "results/four");
    assert_eq!(st["total"].as_u64(), Some(4));
    assert_eq!(st["local_run_active"], false);
    assert_eq!(st["queue"]["available"], false);
    let failed_id = failed.file_name().unwrap().to_str().unwrap();
    let t = st["trials"].as_array().unwrap().iter().find(|t| t["id"] == failed_id).unwrap();
    assert_eq!(t["log_tail"].as_array().unwrap().len(), 10);
    assert!(exp.join("table.csv").is_file());
}

#[test]
fn a_real_slurm_cluster_gives_the_local_tables() {
    if std::env::var("BURNLAB_SLURM_TESTS").as_deref() != Ok("1") {
        eprintln!(
            "skipped: set BURNLAB_SLURM_TESTS=1 to run scripts/test-slurm (as root: installs and starts a single-node Slurm cluster)"
        );
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/test-slurm");
    let out = Command::new("bash").arg(&script).env("BURNLAB_BIN", env!("CARGO_BIN_EXE_burnlab")).output().unwrap();
    assert!(out.status.success(), "scripts/test-slurm failed:\n{}\n{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains("test-slurm: ok"), "{}", stderr(&out));
}
