//! End-to-end tests of `burnlab run` / `plan` / `report` on the real binary.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::Path;

fn plan_ids(s: &Scratch, file: &Path) -> Vec<String> {
    let out = s.burnlab(&["plan", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["trials"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
}

fn metrics_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("metrics.csv")).unwrap()
}

#[test]
fn a_tiny_sweep_writes_every_planned_trial_and_table() {
    let s = Scratch::new();
    let file = s.file("tiny.toml", TINY);
    let ids = plan_ids(&s, &file);
    assert_eq!(ids.len(), 8, "2 models x 2 lr x 2 seeds");
    assert_eq!(ids, plan_ids(&s, &file), "ids are stable");

    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let exp = s.results().join("tiny");
    let dirs = trial_dirs(&s.results(), "tiny");
    let mut found: Vec<String> = dirs.iter().map(|d| d.file_name().unwrap().to_string_lossy().into_owned()).collect();
    let mut expected = ids.clone();
    found.sort();
    expected.sort();
    assert_eq!(found, expected);

    for d in &dirs {
        let sum = summary(d);
        assert_eq!(sum["status"], "completed", "{sum}");
        assert_eq!(sum["steps"], 30);
        let acc = sum["final_metrics"]["test.accuracy"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&acc));
        let cfg: toml::Table = std::fs::read_to_string(d.join("config.toml")).unwrap().parse().unwrap();
        assert_eq!(cfg["dataset"]["name"].as_str(), Some("mnist1d"));
        let metrics = metrics_of(d);
        let mut lines = metrics.lines();
        assert_eq!(lines.next(), Some("step,split,metric,value"));
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
        // train loss every 5 steps; validation loss, accuracy, top-5 accuracy and macro-F1
        // every 10 steps (mnist1d holds out 10% by default); the test split once, at the end.
        assert_eq!(rows.iter().filter(|r| r[1] == "train").count(), 6);
        assert_eq!(rows.iter().filter(|r| r[1] == "valid").count(), 12);
        for metric in ["loss", "accuracy", "top5_accuracy", "macro_f1"] {
            assert_eq!(rows.iter().filter(|r| r[1] == "valid" && r[2] == metric).count(), 3, "{metric}");
            let test: Vec<&str> = rows.iter().filter(|r| r[1] == "test" && r[2] == metric).map(|r| r[0]).collect();
            assert_eq!(test, ["30"], "{metric}");
        }
        assert_eq!(rows.iter().filter(|r| r[1] == "test").count(), 4);
        assert!(
            std::fs::read_dir(run_dir_of(d)).unwrap().any(|e| e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("events.out.tfevents."))
        );
    }
    // Trained models beat chance (10%) after 30 steps at lr 1e-2.
    let mlp_best = dirs
        .iter()
        .map(|d| summary(d))
        .filter(|s| s["label"] == "mlp")
        .map(|s| s["final_metrics"]["test.accuracy"].as_f64().unwrap())
        .fold(0.0, f64::max);
    assert!(mlp_best > 0.2, "mlp accuracy {mlp_best}");

    let table = std::fs::read_to_string(exp.join("table.md")).unwrap();
    assert_eq!(
        table.lines().filter(|l| l.starts_with("| linear") || l.starts_with("| mlp") || l.starts_with("| **")).count(),
        4,
        "{table}"
    );
    assert!(table.contains("**"), "best row marked: {table}");
    let csv = std::fs::read_to_string(exp.join("table.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let summary_csv = std::fs::read_to_string(exp.join("summary.csv")).unwrap();
    assert_eq!(summary_csv.lines().count(), 9);
    assert!(summary_csv.lines().next().unwrap().contains("training.lr"));
    // The parquet file holds the same rows.
    let pq = std::fs::File::open(exp.join("summary.parquet")).unwrap();
    use polars::prelude::*;
    let df = ParquetReader::new(pq).finish().unwrap();
    assert_eq!(df.height(), 8);
    assert!(df.column("test.accuracy").is_ok());
    assert!(exp.join("experiment.toml").is_file());
}

#[test]
fn event_files_are_read_back_by_tensorboard() {
    let s = Scratch::new();
    let file = s.file(
        "tiny.toml",
        &TINY
            .replace("seeds = [0, 1]", "seeds = [0]")
            .replace("\"training.lr\" = [1e-2, 3e-3]", "\"training.lr\" = [1e-2]")
            .replace("log_every = 5", "log_every = 5\nhistogram_every = 2"),
    );
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let py = tensorboard_python();
    let reader = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/read_events.py");
    let logdir = s.results().join("tiny");
    let out = std::process::Command::new(py).arg(reader).arg(&logdir).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let runs: Vec<(&String, &serde_json::Value)> =
        v["runs"].as_object().unwrap().iter().filter(|(run, _)| run.starts_with("runs/")).collect();
    assert_eq!(runs.len(), 2, "one TensorBoard run per trial: {runs:?}");
    for (run, data) in runs {
        let scalars = data["scalars"].as_object().unwrap();
        let steps = |tag: &str| -> Vec<i64> {
            scalars[tag].as_array().unwrap().iter().map(|p| p[0].as_i64().unwrap()).collect()
        };
        assert_eq!(steps("train/loss"), vec![5, 10, 15, 20, 25, 30]);
        assert_eq!(steps("valid/accuracy"), vec![10, 20, 30]);
        assert_eq!(steps("valid/loss"), vec![10, 20, 30]);
        assert_eq!(steps("test/accuracy"), vec![30], "the test split once, at the end");
        assert_eq!(steps("test/loss"), vec![30]);
        // Weight histograms every second evaluation.
        let histograms = data["histograms"].as_object().unwrap();
        assert!(!histograms.is_empty() && histograms.keys().all(|k| k.starts_with("weights/")), "{histograms:?}");
        assert!(
            histograms.values().all(|steps| steps.as_array().unwrap() == &vec![serde_json::json!(20)]),
            "{histograms:?}"
        );
        // The values match metrics.csv of the trial whose id ends the run's name.
        let dir = logdir.join("trials").join(run.rsplit('_').next().unwrap());
        let csv = metrics_of(&dir);
        let last_acc: f64 =
            csv.lines().rfind(|l| l.contains(",test,accuracy,")).unwrap().rsplit(',').next().unwrap().parse().unwrap();
        let tb_acc = scalars["test/accuracy"].as_array().unwrap().last().unwrap()[1].as_f64().unwrap();
        assert!((last_acc - tb_acc).abs() < 1e-6, "{last_acc} vs {tb_acc}");
    }
}

#[test]
fn reruns_skip_finished_trials_force_reruns_and_half_written_trials_rerun() {
    let s = Scratch::new();
    let file = s.file("tiny.toml", &TINY.replace("seeds = [0, 1]", "seeds = [0]"));
    assert!(s.run(&file, &[]).status.success());
    let dirs = trial_dirs(&s.results(), "tiny");
    assert_eq!(dirs.len(), 4);
    let mtimes = |d: &Path| std::fs::metadata(d.join("summary.json")).unwrap().modified().unwrap();
    let before: Vec<_> = dirs.iter().map(|d| mtimes(d)).collect();

    let out = s.run(&file, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"], 4);
    assert_eq!(v["ran"].as_object().unwrap().len(), 0);
    let after: Vec<_> = dirs.iter().map(|d| mtimes(d)).collect();
    assert_eq!(before, after, "no trial was rewritten");

    // A half-written trial: summary missing, stray partial files left behind.
    std::fs::remove_file(dirs[1].join("summary.json")).unwrap();
    std::fs::write(dirs[1].join("events.out.tfevents.0.stale.0.0"), b"partial").unwrap();
    // An interrupted trial is rerun as well.
    let mut interrupted = summary(&dirs[2]);
    interrupted["status"] = "interrupted".into();
    std::fs::write(dirs[2].join("summary.json"), interrupted.to_string()).unwrap();
    let out = s.run(&file, &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"], 2, "{v}");
    assert_eq!(v["ran"]["completed"], 2);
    assert!(!dirs[1].join("events.out.tfevents.0.stale.0.0").exists(), "a rerun starts from a clean directory");
    assert_eq!(summary(&dirs[1])["status"], "completed");
    assert_eq!(mtimes(&dirs[0]), before[0]);

    let out = s.run(&file, &["--json", "--force"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"], 0);
    assert_eq!(v["ran"]["completed"], 4);
}

#[test]
fn same_seed_gives_identical_metrics_and_other_seeds_differ() {
    let s = Scratch::new();
    let text = TINY
        .replace("seeds = [0, 1]", "seeds = [7]")
        .replace("\"training.lr\" = [1e-2, 3e-3]", "\"training.lr\" = [1e-2]");
    let a = s.file("a.toml", &text);
    let b = s.file("b.toml", &text.replace("name = \"tiny\"", "name = \"tiny2\""));
    assert!(s.run(&a, &[]).status.success());
    assert!(s.run(&b, &["--jobs", "1"]).status.success());
    let da = trial_dirs(&s.results(), "tiny");
    let db = trial_dirs(&s.results(), "tiny2");
    assert_eq!(da.len(), 2);
    for (x, y) in da.iter().zip(&db) {
        assert_eq!(x.file_name(), y.file_name(), "same config, same id");
        assert_eq!(metrics_of(x), metrics_of(y), "same seed, same numbers");
    }
    let c =
        s.file("c.toml", &text.replace("seeds = [7]", "seeds = [8]").replace("name = \"tiny\"", "name = \"tiny3\""));
    assert!(s.run(&c, &[]).status.success());
    let dc = trial_dirs(&s.results(), "tiny3");
    let loss = |d: &Path| -> BTreeMap<String, String> {
        metrics_of(d)
            .lines()
            .skip(1)
            .map(|l| (l.rsplit_once(',').unwrap().0.to_string(), l.rsplit_once(',').unwrap().1.to_string()))
            .collect()
    };
    assert_ne!(loss(&da[0]), loss(&dc[0]), "another seed changes the numbers");
}

#[test]
fn a_diverging_trial_is_recorded_and_the_sweep_goes_on() {
    let s = Scratch::new();
    let file = s.file(
        "div.toml",
        r#"
name = "div"
[dataset]
name = "mnist1d"
[training]
optimizer = "sgd"
steps = 40
eval_every = 20
[[models]]
family = "mlp"
hidden = 32
[sweep.params]
"training.lr" = [1e-2, 1e12]
"#,
    );
    let out = s.run(&file, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ran"]["diverged"], 1, "{v}");
    assert_eq!(v["ran"]["completed"], 1, "{v}");
    let diverged: Vec<_> =
        trial_dirs(&s.results(), "div").iter().map(|d| summary(d)).filter(|s| s["status"] == "diverged").collect();
    assert!(diverged[0]["diverged_at"].as_u64().unwrap() >= 1);
    let table = std::fs::read_to_string(s.results().join("div/table.md")).unwrap();
    assert!(table.contains("1 diverged"), "{table}");
    // A diverged trial is a result: a rerun does not repeat it.
    let out = s.run(&file, &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"], 2);
}

#[test]
fn a_second_run_on_a_held_results_directory_is_refused() {
    let s = Scratch::new();
    let file = s.file("tiny.toml", TINY);
    let dir = s.results().join("tiny");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(".lock")).unwrap();
    lock.try_lock().unwrap();
    let out = s.run(&file, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("another burnlab run"), "{}", stderr(&out));
    assert!(!dir.join("trials").exists());
    drop(lock);
    // Once released (as when its holder dies), the run proceeds.
    let out = s.run(&file, &["--set", "training.steps=10", "--set", "training.eval_every=5"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn report_rebuilds_the_tables_and_list_shows_the_registry() {
    let s = Scratch::new();
    let file = s.file("tiny.toml", &TINY.replace("seeds = [0, 1]", "seeds = [0]"));
    assert!(s.run(&file, &[]).status.success());
    let exp = s.results().join("tiny");
    let table = std::fs::read_to_string(exp.join("table.md")).unwrap();
    std::fs::remove_file(exp.join("table.md")).unwrap();
    std::fs::remove_file(exp.join("summary.parquet")).unwrap();
    let out = s.burnlab(&["report", exp.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(exp.join("table.md")).unwrap(), table);
    assert!(exp.join("summary.parquet").is_file());

    let out = s.burnlab(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mlp = v["families"].as_array().unwrap().iter().find(|f| f["name"] == "mlp").unwrap();
    assert_eq!(mlp["defaults"]["hidden"], 100);
    assert!(v["datasets"].as_array().unwrap().iter().any(|d| d["name"] == "mnist1d"));
    assert!(v["backends"].as_array().unwrap().iter().any(|b| b["name"] == "flex" && b["available"] == true));
}

#[test]
fn ctrl_c_keeps_finished_trials_marks_running_ones_interrupted_and_resume_finishes() {
    use std::os::unix::process::CommandExt;
    let s = Scratch::new();
    let file = s.file(
        "long.toml",
        r#"
name = "long"
seeds = [0, 1, 2]
[dataset]
name = "mnist1d"
[training]
steps = 40000
eval_every = 10000
[[models]]
family = "linear"
"#,
    );
    let mut child = s
        .command(&["run", file.to_str().unwrap(), "--results", "results", "--quiet", "--jobs", "1"])
        .process_group(0)
        .spawn()
        .unwrap();
    // Wait until the first trial has written its first evaluation, then press "Ctrl-C"
    // (SIGINT to the whole process group, as a terminal does).
    let trials = s.results().join("long/trials");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_dir(&trials)
        .map(|d| d.flatten().any(|e| e.path().join("metrics.csv").exists()))
        .unwrap_or(false)
    {
        assert!(std::time::Instant::now() < deadline, "no trial started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), libc::SIGINT);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let statuses: Vec<String> =
        trial_dirs(&s.results(), "long").iter().map(|d| summary(d)["status"].as_str().unwrap().to_string()).collect();
    assert!(statuses.contains(&"interrupted".to_string()), "{statuses:?}");
    assert!(statuses.len() < 3, "no new trial starts after Ctrl-C: {statuses:?}");
    let out = s.run(&file, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["planned"], 3);
    for d in trial_dirs(&s.results(), "long") {
        assert_eq!(summary(&d)["status"], "completed");
    }
}
