//! The `command` family: trials that run the user's own program (tests/command/train.py, a
//! stand-in speaking the protocol of docs/command-protocol.md with Python's standard library).

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// The stand-in program.
fn program() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/command/train.py").display().to_string()
}

/// An experiment running the program with the model keys `model` (TOML lines), on MNIST-1D
/// (with a validation split), 20 steps.
fn experiment(model: &str, more: &str) -> String {
    format!(
        r#"name = "cmd"
seeds = [0]

[dataset]
name = "mnist1d"

[training]
lr = 0.01
steps = 20
eval_every = 10
log_every = 5
{more}
[[models]]
family = "command"
command = ["python3", "{}"]
{model}
"#,
        program()
    )
}

fn dir(s: &Scratch) -> PathBuf {
    s.results().join("cmd")
}

fn seen(trial: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(trial.join("seen.json")).unwrap()).unwrap()
}

fn wait_until(timeout: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a runner this test started.
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, sig) }, 0);
}

/// Starts `burnlab run` without waiting.
fn spawn(s: &Scratch, file: &Path) -> Child {
    let results = s.results();
    let mut cmd =
        s.command(&["run", file.to_str().unwrap(), "--results", results.to_str().unwrap(), "--quiet", "--jobs", "2"]);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap()
}

#[test]
fn metrics_and_swept_free_keys_reach_every_output() {
    let s = Scratch::new();
    let model = "hidden = 4\nmode = \"ok\"\nenv = { EXTRA = \"x y\" }\nlabel = \"mine\"";
    let sweep = "\n[sweep.params]\n\"model.hidden\" = [4, 16]\n";
    let file = s.file("e.toml", &(experiment(model, "") + sweep));
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trials = trial_dirs(&s.results(), "cmd");
    assert_eq!(trials.len(), 2);
    for t in &trials {
        let sum = summary(t);
        assert_eq!(sum["status"], "completed", "{sum}");
        let hidden = sum["swept"]["model.hidden"].as_i64().unwrap();
        let seen = seen(t);
        // Swept free-form keys reach the program; the reserved keys are there too.
        assert_eq!(seen["config"]["model"]["hidden"], hidden);
        assert_eq!(seen["config"]["model"]["mode"], "ok");
        assert_eq!(seen["config"]["model"]["grace_s"], 10.0);
        assert_eq!(seen["config"]["training"]["steps"], 20);
        assert_eq!(seen["config"]["training"]["optimizer"], "adam");
        assert_eq!(seen["config"]["dataset"]["name"], "mnist1d");
        assert_eq!(seen["config"]["data"], Value::Null);
        let id = t.file_name().unwrap().to_str().unwrap();
        assert_eq!(seen["config"]["trial_id"], id);
        // The configuration's path is appended as the last argument; the environment.
        let config = t.join("config.json").canonicalize().unwrap();
        assert_eq!(seen["argv"].as_array().unwrap().last().unwrap(), config.to_str().unwrap());
        let env = &seen["env"];
        assert_eq!(env["BURNLAB_TRIAL_ID"], id);
        assert_eq!(env["BURNLAB_SEED"], "0");
        assert_eq!(env["EXTRA"], "x y");
        assert_eq!(env["PYTHONUNBUFFERED"], "1");
        assert_eq!(env["OMP_NUM_THREADS"], env["BURNLAB_THREADS"]);
        assert_eq!(env["BURNLAB_LOCK_FD"], Value::Null);
        assert_eq!(env["BURNLAB_DATA"], Value::Null);
        // The metrics: metrics.csv, summary.json, stderr.log.
        let acc = 0.5 + 0.01 * hidden as f64;
        assert_eq!(csv_metric(t, "train", "loss").len(), 4);
        let valid = csv_metric(t, "valid", "accuracy");
        assert_eq!(valid.iter().map(|r| r.0).collect::<Vec<_>>(), [10, 20]);
        assert!((valid[1].1 - (acc + 0.02)).abs() < 1e-9, "{valid:?}");
        assert_eq!(csv_metric(t, "test", "accuracy"), [(20, acc)]);
        assert!((sum["final_metrics"]["test.accuracy"].as_f64().unwrap() - acc).abs() < 1e-9, "{sum}");
        assert!((sum["final_metrics"]["train.loss"].as_f64().unwrap() - 0.05).abs() < 1e-9, "{sum}");
        assert_eq!(sum["steps"], 20);
        assert_eq!(sum["num_params"], hidden * 10);
        assert_eq!(sum["selected_step"], 20);
        assert!(std::fs::read_to_string(t.join("stderr.log")).unwrap().ends_with("done\n"));
        // TensorBoard: the trial's run holds the scalars.
        let runs = std::fs::read_dir(dir(&s).join("runs")).unwrap().count();
        assert_eq!(runs, 2);
    }
    let table = std::fs::read_to_string(dir(&s).join("table.md")).unwrap();
    assert!(table.contains("mine") && table.contains("0.66") && table.contains("0.54"), "{table}");
}

#[test]
fn tensorboard_reads_the_programs_scalars_and_custom_metrics() {
    let s = Scratch::new();
    let model = "mode = \"ok\"\nmetrics = [\"train.loss\", \"valid.accuracy\", \"valid.loss\", \"test.accuracy\", \"test.loss\", \"valid.f1\"]";
    let file =
        s.file("e.toml", &experiment(model, "\n[report]\nmetric = \"test.accuracy\"\ncolumns = [\"valid.f1\"]\n"));
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trial = trial_dirs(&s.results(), "cmd").pop().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/read_events.py");
    let out = std::process::Command::new(tensorboard_python()).arg(script).arg(dir(&s)).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let runs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (_, run) = runs["runs"].as_object().unwrap().iter().find(|(k, _)| k.starts_with("runs/")).unwrap();
    for (split, metric) in [("train", "loss"), ("valid", "accuracy"), ("test", "accuracy")] {
        let points: Vec<(u64, f64)> = run["scalars"][format!("{split}/{metric}")]
            .as_array()
            .unwrap_or_else(|| panic!("{split}/{metric} missing: {run}"))
            .iter()
            .map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap()))
            .collect();
        let csv = csv_metric(&trial, split, metric);
        assert_eq!(points.len(), csv.len(), "{split}/{metric}");
        for ((s1, a), (s2, b)) in points.iter().zip(&csv) {
            assert!(s1 == s2 && (a - b).abs() < 1e-6, "{split}/{metric}: {points:?} vs {csv:?}");
        }
    }
}

#[test]
fn placeholders_data_and_workdir() {
    let s = Scratch::new();
    std::fs::create_dir(s.path().join("work")).unwrap();
    std::fs::copy(program(), s.path().join("work/prog.py")).unwrap();
    let text = experiment("mode = \"ok\"\ndata = \"npy\"\nworkdir = \"work\"", "").replace(
        &format!("[\"python3\", \"{}\"]", program()),
        "[\"./prog.py\", \"--seed={seed}\", \"{trial_id}\", \"{data_dir}\", \"{config}\"]",
    );
    let file = s.file("e.toml", &text);
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = trial_dirs(&s.results(), "cmd").pop().unwrap();
    let seen = seen(&t);
    let id = t.file_name().unwrap().to_str().unwrap();
    let data = seen["config"]["data"]["dir"].as_str().unwrap().to_string();
    let argv: Vec<&str> = seen["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    assert_eq!(argv.len(), 5, "{{config}} given: nothing appended: {argv:?}");
    assert_eq!(&argv[1..4], ["--seed=0", id, data.as_str()]);
    assert_eq!(
        Path::new(&seen["cwd"].as_str().unwrap()).canonicalize().unwrap(),
        s.path().join("work").canonicalize().unwrap()
    );
    assert_eq!(seen["env"]["BURNLAB_DATA"], data.as_str());
    let d = &seen["config"]["data"];
    assert_eq!((d["task"].as_str(), d["num_classes"].as_u64()), (Some("classification"), Some(10)));
    assert_eq!(d["shape"], serde_json::json!([40, 1]));
    assert_eq!(d["splits"], serde_json::json!(["train", "valid", "test"]));
    // The files: NumPy headers and sizes (MNIST-1D's 4000 training rows, 3601 + 399 after the stratified 10% validation carve).
    let npy = |name: &str| std::fs::read(Path::new(&data).join(name)).unwrap();
    let header = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(128)]).to_string();
    let x = npy("train_x.npy");
    assert!(header(&x).contains("'descr': '<f4'") && header(&x).contains("'shape': (3601, 40, 1,"), "{}", header(&x));
    let y = npy("valid_y.npy");
    assert!(header(&y).contains("'descr': '<i8'") && header(&y).contains("'shape': (399,"), "{}", header(&y));
    let test = npy("test_x.npy");
    assert_eq!((test.len() - 1000 * 40 * 4) % 64, 0, "a header, then the 1000 test examples");
    assert!(Path::new(&data).starts_with(dir(&s).join("data").canonicalize().unwrap()));
}

#[test]
fn a_failing_program_is_a_failed_trial_quoting_its_stderr() {
    let s = Scratch::new();
    let file = s.file("e.toml", &experiment("mode = \"fail\"", ""));
    let out = s.run(&file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let t = trial_dirs(&s.results(), "cmd").pop().unwrap();
    let sum = summary(&t);
    assert_eq!(sum["status"], "failed");
    let error = sum["error"].as_str().unwrap();
    assert!(error.contains("exited with status 3"), "{error}");
    assert!(error.contains("traceback line 24") && error.contains("traceback line 5"), "{error}");
    assert!(!error.contains("traceback line 4\n"), "only the last 20 lines: {error}");
    let log = std::fs::read_to_string(t.join("stderr.log")).unwrap();
    assert!(log.contains("traceback line 0\n") && log.contains("starting fail"), "{log}");
    let status = s.burnlab(&["status", dir(&s).to_str().unwrap()]);
    let text = stdout(&status);
    assert!(text.contains("exited with status 3") && text.contains("\n      | traceback line 24"), "{text}");
}

#[test]
fn a_malformed_line_fails_the_trial_naming_the_line() {
    let s = Scratch::new();
    let file = s.file("e.toml", &experiment("mode = \"malformed\"\ngrace_s = 0.5", ""));
    let start = Instant::now();
    let out = s.run(&file, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(start.elapsed() < Duration::from_secs(30), "the program was stopped");
    let sum = summary(&trial_dirs(&s.results(), "cmd").pop().unwrap());
    let error = sum["error"].as_str().unwrap();
    assert!(error.contains("malformed line 3") && error.contains("loss: 0.5") && error.contains("train.py"), "{error}");
}

#[test]
fn a_nan_is_a_divergence() {
    let s = Scratch::new();
    let file = s.file("e.toml", &experiment("mode = \"nan\"", ""));
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sum = summary(&trial_dirs(&s.results(), "cmd").pop().unwrap());
    assert_eq!((sum["status"].as_str(), sum["diverged_at"].as_u64()), (Some("diverged"), Some(2)), "{sum}");
}

#[test]
fn ctrl_c_stops_the_program_and_the_next_run_completes_it() {
    let s = Scratch::new();
    let text = experiment("mode = \"hang\"", "").replace("seeds = [0]", "seeds = [0, 1]");
    let file = s.file("e.toml", &text.replace("[[models]]", "[[models]]\nlabel = \"quick\"\nfamily = \"command\"\ncommand = [\"python3\", \"PROG\"]\nmode = \"ok\"\n\n[[models]]").replace("PROG", &program()));
    let runner = spawn(&s, &file);
    let trials = dir(&s).join("trials");
    let hung = || {
        std::fs::read_dir(&trials)
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().join("seen.json").exists() && !e.path().join("summary.json").exists())
                    .count()
            })
            .unwrap_or(0)
    };
    wait_until(Duration::from_secs(60), "the hanging programs report", || {
        hung() == 2 && trial_dirs(&s.results(), "cmd").iter().filter(|t| t.join("summary.json").exists()).count() == 2
    });
    signal(runner.id(), libc::SIGINT);
    let out = runner.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    let mut completed = Vec::new();
    for t in trial_dirs(&s.results(), "cmd") {
        let sum = summary(&t);
        if sum["label"] == "quick" {
            assert_eq!(sum["status"], "completed");
            completed.push((t.clone(), std::fs::metadata(t.join("summary.json")).unwrap().modified().unwrap()));
        } else {
            assert_eq!(sum["status"], "interrupted", "{sum}");
            assert!(t.join("sigterm").exists(), "the program got SIGTERM");
        }
    }
    // Released, the rerun completes the interrupted trials and leaves the completed ones.
    std::fs::write(s.path().join("release"), "").unwrap();
    let out = s.run(&file, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["skipped"].as_u64(), v["ran"]["completed"].as_u64()), (Some(2), Some(2)), "{v}");
    for (t, modified) in completed {
        assert_eq!(std::fs::metadata(t.join("summary.json")).unwrap().modified().unwrap(), modified);
    }
    assert!(trial_dirs(&s.results(), "cmd").iter().all(|t| summary(t)["status"] == "completed"));
}

#[test]
fn a_program_ignoring_sigterm_is_killed_after_the_grace_period() {
    let s = Scratch::new();
    let file = s.file("e.toml", &experiment("mode = \"stubborn\"\ngrace_s = 1", ""));
    let runner = spawn(&s, &file);
    let trials = dir(&s).join("trials");
    wait_until(Duration::from_secs(60), "the program reports", || {
        std::fs::read_dir(&trials).map(|d| d.flatten().any(|e| e.path().join("seen.json").exists())).unwrap_or(false)
    });
    let start = Instant::now();
    signal(runner.id(), libc::SIGINT);
    let out = runner.wait_with_output().unwrap();
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(20), "{took:?}");
    let t = trial_dirs(&s.results(), "cmd").pop().unwrap();
    assert!(t.join("sigterm").exists());
    assert_eq!(summary(&t)["status"], "interrupted");
}

#[test]
fn bad_keys_are_located_errors() {
    let s = Scratch::new();
    for (model, more, says) in [
        ("command = \"python3 train.py\"", "", "command"),
        ("grace_s = -1", "", "grace_s"),
        ("data = \"npz\"", "", "did you mean `npy`?"),
        ("metrics = [\"dev.loss\"]", "", "split.name"),
        ("mode = \"ok\"", "clip_grad = { norm = 1.0 }", "training.clip_grad"),
        ("mode = \"ok\"", "\n[report]\nmetric = \"valid.f1\"", "valid.f1"),
    ] {
        let text = experiment(model, more);
        let file = s.file("bad.toml", &text);
        let out = s.burnlab(&["validate", file.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{model}: {err}");
        assert!(err.contains(says) && err.contains("bad.toml:"), "{model} {more}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let text = experiment("mode = \"ok\"", "").replace("command = [\"python3\", ", "comand = [\"python3\", ");
    let out = s.burnlab(&["validate", s.file("bad.toml", &text).to_str().unwrap()]);
    assert!(stderr(&out).contains("`models[0].command` is missing"), "{}", stderr(&out));
    // A multimodal dataset cannot be exported; the program may read it itself.
    let text = experiment("data = \"npy\"", "").replace("name = \"mnist1d\"", "name = \"xor-modal\"");
    let out = s.burnlab(&["validate", s.file("bad.toml", &text).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`models[0].data` is \"npy\", but this dataset has the modalities"),
        "{}",
        stderr(&out)
    );
    let out = s.burnlab(&["validate", s.file("ok.toml", &text.replace("data = \"npy\"", "")).to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The primary metric must be one a variant records.
    let text = experiment("metrics = [\"valid.perplexity\", \"test.perplexity\"]", "");
    let out = s.burnlab(&["validate", s.file("bad.toml", &text).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`report.metric` is `test.accuracy`, which no [[models]] variant records"),
        "{}",
        stderr(&out)
    );
    // Free-form integers are the program's: burnlab does not bound them as sizes.
    let out = s.burnlab(&["validate", s.file("ok.toml", &experiment("max_tokens = 100000000", "")).to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A sweep over a key the variant does not have is refused, with a did-you-mean; keys
    // inside a free-form table are swept like any other.
    let sweep = "\n[sweep.params]\n\"model.hiden\" = [1, 2]\n";
    let out = s.burnlab(&["plan", s.file("bad.toml", &(experiment("hidden = 3", "") + sweep)).to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean `model.hidden`?"), "{}", stderr(&out));
    let sweep = "\n[sweep.params]\n\"model.opt.momentum\" = [0.9, 0.99]\n";
    let text = experiment("opt = { kind = \"sgd\", momentum = 0.5 }", "") + sweep;
    let out = s.burnlab(&["plan", s.file("ok.toml", &text).to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let momenta: Vec<&Value> =
        plan["trials"].as_array().unwrap().iter().map(|t| &t["swept"]["model.opt.momentum"]).collect();
    assert_eq!(momenta, [0.9, 0.99], "{plan}");
}
