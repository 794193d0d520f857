//! TensorBoard beyond scalars, checked by TensorBoard itself: PyPI's `tensorboard` reads the
//! event files (tests/py/inspect_events.py) and a real `tensorboard` server started here
//! answers its HTTP API with the scalars and the HParams experiment of every trial.

mod common;
mod search_common;

use burnlab::tensorboard::EventWriter;
use burnlab::tensorboard::image::{Channels, grid};
use common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Decodes every run under `logdir` with tests/py/inspect_events.py.
fn inspect(logdir: &Path) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/inspect_events.py");
    let out = Command::new(tensorboard_python()).arg(script).arg(logdir).output().unwrap();
    assert!(out.status.success(), "inspect_events.py failed: {}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["runs"].clone()
}

fn id_of(dir: &Path) -> String {
    dir.file_name().unwrap().to_string_lossy().into_owned()
}

/// The TensorBoard run name of the trial in `dir`: `runs/<readable name>_<id>`.
fn run_of(dir: &Path) -> String {
    format!("runs/{}", run_dir_of(dir).file_name().unwrap().to_string_lossy())
}

fn close(a: f64, b: f64) -> bool {
    // Scalars are stored as f32.
    (a - b).abs() <= 1e-6 * (1.0 + b.abs())
}

/// The values TensorBoard should show for a trial: swept values, model label, seed. Integers
/// (the seed, and here every swept integer) are strings, so that TensorBoard shows them as
/// written; other numbers are doubles.
fn expected_hparams(sum: &Value) -> Value {
    let value = |v: &Value| match (v.as_i64(), v.as_f64()) {
        (Some(i), _) => json!(i.to_string()),
        (None, Some(x)) => json!(x),
        _ => v.clone(),
    };
    let mut hp: serde_json::Map<String, Value> =
        sum["swept"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), value(v))).collect();
    hp.insert("model".into(), sum["label"].clone());
    hp.insert("seed".into(), json!(sum["seed"].as_u64().unwrap().to_string()));
    Value::Object(hp)
}

fn hparam_infos(experiment: &Value) -> BTreeMap<String, Value> {
    experiment["hparam_infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["name"].as_str().unwrap().to_string(), i.clone()))
        .collect()
}

#[test]
fn tensorboard_reads_the_hparams_text_and_scalars_of_a_sweep() {
    let s = Scratch::new();
    let file = s.file("tiny.toml", TINY);
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let exp = s.results().join("tiny");
    let runs = inspect(&exp);
    let dirs = trial_dirs(&s.results(), "tiny");
    assert_eq!(runs.as_object().unwrap().len(), 1 + dirs.len(), "the root run and one run per trial: {runs}");

    // The root run: the experiment definition and the comparison table.
    let root = &runs["."];
    let e = &root["hparams"]["_hparams_/experiment"];
    assert_eq!((e["version"].as_i64(), e["data"].as_str()), (Some(0), Some("experiment")), "{e}");
    let e = &e["message"];
    assert_eq!(e["name"], "tiny");
    let infos = hparam_infos(e);
    assert_eq!(infos.keys().collect::<Vec<_>>(), ["model", "seed", "training.lr"]);
    assert_eq!(infos["training.lr"]["type"], "DATA_TYPE_FLOAT64");
    assert_eq!(infos["training.lr"]["domain_discrete"], json!([0.01, 0.003]));
    assert_eq!(infos["model"]["type"], "DATA_TYPE_STRING");
    assert_eq!(infos["model"]["domain_discrete"], json!(["linear", "mlp"]));
    assert_eq!(infos["seed"]["type"], "DATA_TYPE_STRING");
    assert_eq!(infos["seed"]["domain_discrete"], json!(["0", "1"]));
    let metrics: Vec<(&str, &str)> = e["metric_infos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["name"]["tag"].as_str().unwrap(), m["dataset_type"].as_str().unwrap()))
        .collect();
    assert_eq!(
        metrics,
        [
            ("test/accuracy", "DATASET_VALIDATION"),
            ("test/loss", "DATASET_VALIDATION"),
            ("test/top5_accuracy", "DATASET_VALIDATION"),
            ("test/macro_f1", "DATASET_VALIDATION"),
            ("train/loss", "DATASET_TRAINING"),
            ("valid/accuracy", "DATASET_VALIDATION"),
            ("valid/loss", "DATASET_VALIDATION"),
            ("valid/top5_accuracy", "DATASET_VALIDATION"),
            ("valid/macro_f1", "DATASET_VALIDATION")
        ]
    );
    let table = std::fs::read_to_string(exp.join("table.md")).unwrap();
    assert_eq!(root["text"]["table"], json!([[0, table]]));
    assert_eq!(root["scalars"], json!({}), "no scalars at the root");

    // Each trial: session start and end, config text, scalars.
    let mut groups = BTreeSet::new();
    for d in &dirs {
        let run = &runs[run_of(d)];
        let sum = summary(d);
        let start = &run["hparams"]["_hparams_/session_start_info"];
        assert_eq!(start["data"], "session_start_info", "{start}");
        assert_eq!(start["message"]["hparams"], expected_hparams(&sum));
        let group = start["message"]["group_name"].as_str().unwrap();
        assert_eq!(
            group,
            format!(
                "{} training.lr={} seed={}",
                sum["label"].as_str().unwrap(),
                sum["swept"]["training.lr"],
                sum["seed"]
            )
        );
        groups.insert(group.to_string());
        let end = &run["hparams"]["_hparams_/session_end_info"]["message"];
        assert_eq!(end["status"], "STATUS_SUCCESS", "{end}");
        assert!(end["end_time_secs"].as_f64().unwrap() >= start["message"]["start_time_secs"].as_f64().unwrap());

        let config = std::fs::read_to_string(d.join("config.toml")).unwrap();
        assert_eq!(run["text"]["config"], json!([[0, format!("```toml\n{config}```\n")]]));

        let points = |tag: &str| -> Vec<(u64, f64)> {
            let series = run["scalars"][tag].as_array().unwrap().iter();
            series.map(|p| (p[0].as_u64().unwrap(), p[1].as_f64().unwrap())).collect()
        };
        // The validation split at every evaluation; the test split once, at the end.
        let (acc, csv) = (points("valid/accuracy"), csv_metric(d, "valid", "accuracy"));
        assert_eq!(acc.iter().map(|p| p.0).collect::<Vec<_>>(), [10, 20, 30]);
        assert!(acc.iter().zip(&csv).all(|(a, c)| a.0 == c.0 && close(a.1, c.1)), "{acc:?} vs {csv:?}");
        assert!(close(acc[2].1, sum["final_metrics"]["valid.accuracy"].as_f64().unwrap()));
        let test = points("test/accuracy");
        assert_eq!(test.iter().map(|p| p.0).collect::<Vec<_>>(), [30]);
        assert!(close(test[0].1, sum["final_metrics"]["test.accuracy"].as_f64().unwrap()));
        assert_eq!(run["scalars"]["train/loss"].as_array().unwrap().len(), 6);
        // The confusion heat map of the last evaluation: 10 classes, 16-pixel cells.
        let img = &run["images"]["confusion/test"];
        assert_eq!(img.as_array().map(Vec::len), Some(1), "one image");
        let img = &img[0];
        assert_eq!((img["step"].as_u64(), img["mode"].as_str()), (Some(30), Some("L")));
        assert_eq!((img["png_width"].as_u64(), img["png_height"].as_u64()), (Some(160), Some(160)));
    }
    assert_eq!(groups.len(), dirs.len(), "every trial is its own group");

    // A resumed run replaces the root event file instead of adding a second definition.
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = inspect(&exp);
    assert_eq!(runs["."]["event_files"], 1);
    assert_eq!(runs["."]["hparams"]["_hparams_/experiment"]["message"]["name"], "tiny");
    assert_eq!(runs["."]["text"]["table"].as_array().unwrap().len(), 1);
}

#[test]
fn random_search_floats_are_intervals_and_a_diverged_trial_is_a_failure() {
    let s = Scratch::new();
    let file = s.file(
        "rand.toml",
        r#"
name = "rand"
[dataset]
name = "mnist1d"
[training]
steps = 10
eval_every = 10
[[models]]
family = "mlp"
hidden = 8
[sweep]
kind = "random"
trials = 3
[sweep.params]
"training.lr" = { log_uniform = [1e-3, 1e-1] }
"model.hidden" = { int_range = [4, 6] }
"#,
    );
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = inspect(&s.results().join("rand"));
    let infos = hparam_infos(&runs["."]["hparams"]["_hparams_/experiment"]["message"]);
    assert_eq!(infos["training.lr"]["type"], "DATA_TYPE_FLOAT64");
    assert_eq!(infos["training.lr"]["domain_interval"], json!({"min_value": 1e-3, "max_value": 1e-1}));
    let dirs = trial_dirs(&s.results(), "rand");
    assert_eq!(dirs.len(), 3);
    // An integer range: the planned values, as strings, in numeric order.
    let hidden: BTreeSet<i64> = dirs.iter().map(|d| summary(d)["swept"]["model.hidden"].as_i64().unwrap()).collect();
    assert!(hidden.iter().all(|h| (4..=6).contains(h)), "{hidden:?}");
    let hidden: Vec<String> = hidden.iter().map(|h| h.to_string()).collect();
    assert_eq!(infos["model.hidden"]["type"], "DATA_TYPE_STRING");
    assert_eq!(infos["model.hidden"]["domain_discrete"], json!(hidden));
    for d in &dirs {
        let hp = &runs[run_of(d)]["hparams"]["_hparams_/session_start_info"]["message"]["hparams"];
        assert_eq!(hp, &expected_hparams(&summary(d)));
        let lr = hp["training.lr"].as_f64().unwrap();
        assert!((1e-3..1e-1).contains(&lr), "{lr}");
    }

    // SGD at lr 1e12 diverges: its session ends as a failure, the other as a success.
    let file = s.file(
        "div.toml",
        r#"
name = "div"
[dataset]
name = "mnist1d"
[training]
optimizer = "sgd"
steps = 20
eval_every = 10
[[models]]
family = "mlp"
hidden = 16
[sweep.params]
"training.lr" = [1e-2, 1e12]
"#,
    );
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = inspect(&s.results().join("div"));
    let mut statuses: Vec<(String, String)> = trial_dirs(&s.results(), "div")
        .iter()
        .map(|d| {
            let end = &runs[run_of(d)]["hparams"]["_hparams_/session_end_info"]["message"];
            (summary(d)["status"].as_str().unwrap().to_string(), end["status"].as_str().unwrap().to_string())
        })
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [
            ("completed".to_string(), "STATUS_SUCCESS".to_string()),
            ("diverged".to_string(), "STATUS_FAILURE".to_string())
        ]
    );
}

/// Two hidden sizes and two seeds of an MLP whose label has characters a folder name cannot.
const NAMED: &str = r#"
name = "named"
seeds = [0, 1]
[dataset]
name = "mnist1d"
[training]
steps = 4
eval_every = 4
log_every = 2
[[models]]
label = "mlp|wide/x"
family = "mlp"
[sweep.params]
"model.hidden" = [8, 16]
"#;

/// The runs of a log directory other than the root, with their event file counts.
fn trial_runs(runs: &Value) -> BTreeMap<String, u64> {
    runs.as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.as_str() != ".")
        .map(|(name, run)| (name.clone(), run["event_files"].as_u64().unwrap()))
        .collect()
}

#[test]
fn runs_are_named_by_label_swept_values_and_seed_and_integers_show_as_integers() {
    let s = Scratch::new();
    let file = s.file("named.toml", NAMED);
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let exp = s.results().join("named");
    let dirs = trial_dirs(&s.results(), "named");
    assert_eq!(dirs.len(), 4);
    // Each run: label (`|` and `/` replaced), swept value, seed, then the stable trial id.
    let expected: BTreeMap<String, u64> = dirs
        .iter()
        .map(|d| {
            let sum = summary(d);
            let name =
                format!("runs/mlp-wide-x_hidden={}_seed={}_{}", sum["swept"]["model.hidden"], sum["seed"], id_of(d));
            (name, 1)
        })
        .collect();
    let runs = inspect(&exp);
    assert_eq!(trial_runs(&runs), expected, "one run per trial, named readably: {runs}");
    assert!(!runs.as_object().unwrap().keys().any(|k| k.starts_with("trials/")), "no run under trials/");
    assert!(expected.keys().any(|k| k.starts_with("runs/mlp-wide-x_hidden=16_seed=1_")));

    // HParams: the seed and the integer key are discrete sets of integers, written as strings
    // (TensorBoard shows every number with 5 significant digits: 0.0000).
    let infos = hparam_infos(&runs["."]["hparams"]["_hparams_/experiment"]["message"]);
    assert_eq!(
        (&infos["seed"]["type"], &infos["seed"]["domain_discrete"]),
        (&json!("DATA_TYPE_STRING"), &json!(["0", "1"]))
    );
    assert_eq!(infos["model.hidden"]["type"], "DATA_TYPE_STRING");
    assert_eq!(infos["model.hidden"]["domain_discrete"], json!(["8", "16"]));
    for d in &dirs {
        let hp = &runs[run_of(d)]["hparams"]["_hparams_/session_start_info"]["message"]["hparams"];
        let sum = summary(d);
        assert_eq!(hp["seed"], json!(sum["seed"].to_string()), "{hp}");
        assert_eq!(hp["model.hidden"], json!(sum["swept"]["model.hidden"].to_string()), "{hp}");
        assert_eq!(hp, &expected_hparams(&sum));
    }

    // Rerunning every trial rewrites each run in place: no second run of a trial.
    let out = s.run(&file, &["--force"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(trial_runs(&inspect(&exp)), expected, "--force leaves one run per trial");

    // A run of the same trial under another name (an earlier naming) is replaced when the
    // trial reruns; the other trials' runs are kept as they are.
    let (first, second) = (&dirs[0], &dirs[1]);
    let old = exp.join("runs").join(format!("old-name_{}", id_of(first)));
    std::fs::rename(run_dir_of(first), &old).unwrap();
    std::fs::remove_file(first.join("summary.json")).unwrap();
    let kept = run_dir_of(second);
    let before = std::fs::read_dir(&kept).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!old.exists(), "the stale run of a rerun trial is removed");
    assert_eq!(trial_runs(&inspect(&exp)), expected);
    assert_eq!(std::fs::read_dir(&kept).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>(), before);
}

#[test]
fn images_histograms_and_text_from_the_writer_are_read_by_tensorboard() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = EventWriter::create(dir.path()).unwrap();
    // 2 rows × 3 columns, non-square so that swapped dimensions would show.
    let rgb: Vec<u8> = (0..18).map(|i| i * 10).collect();
    w.image_rgb("samples/rgb", &rgb, 2, 3, 7).unwrap();
    let (tiles, h, gw) = grid(&[10, 20, 30, 40, 50, 60, 70, 80], 2, 2, 2, Channels::Gray, 2, 1).unwrap();
    w.image_gray("samples/grid", &tiles, h, gw, 8).unwrap();
    w.histogram("weights/layer0", &[0.0, 0.1, 0.5, 0.95, 1.0, f32::NAN], 1).unwrap();
    w.histogram("weights/layer0", &[-2.0, 2.0], 2).unwrap();
    w.text("notes", "| a | b |\n|---|---|\n| 1 | 2 |\n", 3).unwrap();
    w.flush().unwrap();
    drop(w);

    let runs = inspect(dir.path());
    let run = &runs["."];
    let img = &run["images"]["samples/rgb"][0];
    assert_eq!(img["step"], 7);
    assert_eq!((img["width"].as_u64(), img["height"].as_u64()), (Some(3), Some(2)));
    assert_eq!((img["png_width"].as_u64(), img["png_height"].as_u64()), (Some(3), Some(2)));
    assert_eq!(img["mode"], "RGB");
    assert_eq!(img["pixels"], json!(rgb));
    let g = &run["images"]["samples/grid"][0];
    assert_eq!((g["png_width"].as_u64(), g["png_height"].as_u64(), g["mode"].as_str()), (Some(7), Some(4), Some("L")));
    #[rustfmt::skip]
    let expected = json!([
        0, 0, 0, 0, 0, 0, 0,
        0, 10, 20, 0, 50, 60, 0,
        0, 30, 40, 0, 70, 80, 0,
        0, 0, 0, 0, 0, 0, 0,
    ]);
    assert_eq!(g["pixels"], expected);

    let hs = run["histograms"]["weights/layer0"].as_array().unwrap();
    assert_eq!(hs.len(), 2);
    assert_eq!(
        (hs[0]["step"].as_u64(), hs[0]["num"].as_f64(), hs[0]["min"].as_f64(), hs[0]["max"].as_f64()),
        (Some(1), Some(5.0), Some(0.0), Some(1.0))
    );
    let counts: Vec<f64> = hs[0]["bucket"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap()).collect();
    assert_eq!(counts.len(), 30);
    assert_eq!(counts.iter().sum::<f64>(), 5.0);
    assert_eq!((counts[0], counts[3], counts[15], counts[28], counts[29]), (1.0, 1.0, 1.0, 1.0, 1.0));
    assert_eq!(hs[1]["bucket_limit"].as_array().unwrap().last().unwrap().as_f64(), Some(2.0));
    assert_eq!(run["text"]["notes"], json!([[3, "| a | b |\n|---|---|\n| 1 | 2 |\n"]]));
}

#[test]
fn an_unwritable_log_directory_is_a_clear_error_not_a_panic() {
    let s = Scratch::new();
    let file = s.file("tiny.toml", TINY);
    s.file("blocker", "not a directory");
    let out = s.burnlab(&["run", file.to_str().unwrap(), "--results", "blocker/results", "--quiet"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("blocker/results") && err.contains("Not a directory"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

// ---- a real TensorBoard server -------------------------------------------------------------

/// A `tensorboard` process (and its data server) in its own process group, killed on drop.
struct TensorBoard {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl TensorBoard {
    fn start(logdir: &Path, log: PathBuf) -> Self {
        // A port the OS says is free now; TensorBoard binds it a moment later.
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(tensorboard_python())
            .args(["-m", "tensorboard.main", "--logdir"])
            .arg(logdir)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            // TensorBoard records running servers under $TMPDIR/.tensorboard-info: keep that
            // in the test's scratch directory.
            .env("TMPDIR", log.parent().unwrap())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .expect("start tensorboard");
        TensorBoard { child, port, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends one HTTP/1.0 request; returns the status code and body.
    fn request(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            s,
            "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        let mut resp = Vec::new();
        s.read_to_end(&mut resp)?;
        let text = String::from_utf8_lossy(&resp).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let code = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
        Ok((code, body.to_string()))
    }

    /// The JSON answer to a request, or why there is none yet.
    fn json(&self, method: &str, path: &str, body: &str) -> Result<Value, String> {
        match self.request(method, path, body) {
            Ok((200, b)) => serde_json::from_str(&b).map_err(|e| format!("{path}: {e}: {b}")),
            Ok((code, b)) => Err(format!("{path}: HTTP {code}: {b}")),
            Err(e) => Err(format!("{path}: {e}")),
        }
    }

    /// Polls `f` every 250 ms until it returns `Ok`, failing after `timeout` or when the
    /// server exits.
    fn wait_for<T>(&mut self, timeout: Duration, mut f: impl FnMut(&Self) -> Result<T, String>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match f(self) {
                Ok(v) => return v,
                Err(e) => e,
            };
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("tensorboard exited with {status}: {}", self.log());
            }
            if Instant::now() > deadline {
                panic!("tensorboard did not answer within {timeout:?}: {last}\n--- log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for TensorBoard {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the process group this test created (its leader is our child).
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), libc::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ALL_STATUSES: &str = r#"["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]"#;

#[test]
fn a_tensorboard_server_serves_the_scalars_and_the_hparams_of_every_trial() {
    let s = Scratch::new();
    let file = s.file("tiny.toml", TINY);
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let exp = s.results().join("tiny");
    let dirs = trial_dirs(&s.results(), "tiny");
    let runs: BTreeSet<String> = std::iter::once(".".to_string()).chain(dirs.iter().map(|d| run_of(d))).collect();

    let mut tb = TensorBoard::start(&exp, s.path().join("tensorboard.log"));
    let timeout = Duration::from_secs(60);
    tb.wait_for(timeout, |tb| {
        let listed: BTreeSet<String> =
            serde_json::from_value(tb.json("GET", "/data/runs", "")?).map_err(|e| e.to_string())?;
        if listed == runs { Ok(()) } else { Err(format!("runs so far: {listed:?}")) }
    });

    // Scalars: every evaluation's validation accuracy, as in metrics.csv.
    for d in &dirs {
        let path = format!("/data/plugin/scalars/scalars?run={}&tag=valid/accuracy", run_of(d).replace('=', "%3D"));
        let points = tb.wait_for(timeout, |tb| tb.json("GET", &path, ""));
        let got: Vec<(u64, f64)> =
            points.as_array().unwrap().iter().map(|p| (p[1].as_u64().unwrap(), p[2].as_f64().unwrap())).collect();
        let want = csv_metric(d, "valid", "accuracy");
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        assert!(got.iter().zip(&want).all(|(g, w)| g.0 == w.0 && close(g.1, w.1)), "{got:?} vs {want:?}");
    }

    // The HParams experiment: the swept key, model and seed, and the metrics.
    let e = tb.wait_for(timeout, |tb| tb.json("POST", "/data/plugin/hparams/experiment", r#"{"experimentName": ""}"#));
    let names: Vec<&str> = e["hparamInfos"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["model", "seed", "training.lr"], "{e}");
    let metrics: Vec<&str> =
        e["metricInfos"].as_array().unwrap().iter().map(|m| m["name"]["tag"].as_str().unwrap()).collect();
    let expected = ["test/accuracy", "test/loss", "test/top5_accuracy", "test/macro_f1", "train/loss"];
    let valid = ["valid/accuracy", "valid/loss", "valid/top5_accuracy", "valid/macro_f1"];
    assert_eq!(metrics, [&expected[..], &valid[..]].concat(), "{e}");

    // Session groups: every trial, with its values, status and final metrics.
    let request =
        format!(r#"{{"experimentName": "", "allowedStatuses": {ALL_STATUSES}, "startIndex": 0, "sliceSize": 100}}"#);
    let groups = tb.wait_for(timeout, |tb| {
        let v = tb.json("POST", "/data/plugin/hparams/session_groups", &request)?;
        let complete = v["sessionGroups"].as_array().is_some_and(|gs| {
            gs.len() == dirs.len()
                && gs.iter().all(|g| g["sessions"][0]["metricValues"].as_array().is_some_and(|m| m.len() == 9))
        });
        if complete { Ok(v) } else { Err(format!("incomplete: {v}")) }
    });
    assert_eq!(groups["totalSize"], dirs.len());
    let by_run: BTreeMap<String, &Value> = groups["sessionGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            assert_eq!(g["sessions"].as_array().unwrap().len(), 1, "{g}");
            (g["sessions"][0]["name"].as_str().unwrap().to_string(), g)
        })
        .collect();
    assert_eq!(by_run.keys().cloned().collect::<BTreeSet<_>>(), &runs - &BTreeSet::from([".".to_string()]));
    for d in &dirs {
        let sum = summary(d);
        let g = by_run[&run_of(d)];
        assert_eq!(g["hparams"], expected_hparams(&sum), "{g}");
        let session = &g["sessions"][0];
        assert_eq!(session["status"], "STATUS_SUCCESS", "{g}");
        // Each metric's value is its last scalar, the last row of metrics.csv.
        for m in session["metricValues"].as_array().unwrap() {
            let tag = m["name"]["tag"].as_str().unwrap();
            let (split, metric) = tag.split_once('/').unwrap();
            let want = *csv_metric(d, split, metric).last().unwrap();
            assert!(close(m["value"].as_f64().unwrap(), want.1), "{tag}: {m} vs {want:?}");
            if tag.starts_with("test/") {
                let fin = sum["final_metrics"][tag.replacen('/', ".", 1)].as_f64().unwrap();
                assert!(close(m["value"].as_f64().unwrap(), fin), "{tag}: {m} vs {fin}");
            }
            assert_eq!(m["trainingStep"], 30, "{m}");
        }
    }

    // The comparison table, rendered from Markdown by the text plugin.
    let text = tb.wait_for(timeout, |tb| tb.json("GET", "/data/plugin/text/text?run=.&tag=table", ""));
    let html = text[0]["text"].as_str().unwrap();
    assert!(html.contains("<table>") && html.contains("<h1>tiny</h1>"), "{html}");
}

#[test]
fn pruned_trials_show_apart_in_the_hparams_table() {
    let s = Scratch::new();
    // The `--jobs 1` search of tests/search.rs, which prunes.
    let file = s.file("p.toml", &search_common::tpe_asha("p", 5, 3, (16, 4)));
    let out = s.run(&file, &["--jobs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let runs = inspect(&s.results().join("p"));
    // The experiment lists `trial/pruned` as a metric, so that the table can filter on it.
    let e = &runs["."]["hparams"]["_hparams_/experiment"]["message"];
    let tags: Vec<&str> =
        e["metric_infos"].as_array().unwrap().iter().map(|m| m["name"]["tag"].as_str().unwrap()).collect();
    assert!(tags.contains(&"trial/pruned"), "{tags:?}");
    let mut seen = BTreeSet::new();
    for d in trial_dirs(&s.results(), "p") {
        let (sum, run) = (summary(&d), &runs[run_of(&d)]);
        let status = sum["status"].as_str().unwrap().to_string();
        let end = &run["hparams"]["_hparams_/session_end_info"]["message"];
        let pruned = run["scalars"]["trial/pruned"].as_array().unwrap_or_else(|| panic!("{status}: {run}"));
        assert_eq!(pruned.len(), 1, "one value, at the end: {pruned:?}");
        let (step, value) = (pruned[0][0].as_u64().unwrap(), pruned[0][1].as_f64().unwrap());
        assert_eq!(step, sum["steps"].as_u64().unwrap());
        match status.as_str() {
            "pruned" => {
                assert_eq!(value, 1.0);
                // STATUS_UNKNOWN is the enum's zero: the decoded message leaves it out.
                assert!(end["status"].is_null() || end["status"] == "STATUS_UNKNOWN", "{end}");
                assert!(end["end_time_secs"].as_f64().is_some(), "the session ended: {end}");
                assert!(step < 16);
            }
            "completed" => {
                assert_eq!(value, 0.0);
                assert_eq!(end["status"], "STATUS_SUCCESS", "{end}");
            }
            other => panic!("unexpected status {other}"),
        }
        seen.insert(status);
    }
    assert_eq!(seen, BTreeSet::from(["completed".to_string(), "pruned".to_string()]));
}

#[test]
fn a_tensorboard_server_filters_pruned_trials_by_metric_and_by_status() {
    let s = Scratch::new();
    let file = s.file("p.toml", &search_common::tpe_asha("p", 5, 3, (16, 4)));
    let out = s.run(&file, &["--jobs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dirs = trial_dirs(&s.results(), "p");
    let of_status = |status: &str| -> BTreeSet<String> {
        dirs.iter().filter(|d| summary(d)["status"] == status).map(|d| run_of(d)).collect()
    };
    let (pruned, completed) = (of_status("pruned"), of_status("completed"));
    assert!(!pruned.is_empty() && !completed.is_empty() && pruned.len() + completed.len() == dirs.len());
    let mut tb = TensorBoard::start(&s.results().join("p"), s.path().join("tensorboard.log"));
    // The sessions TensorBoard's HParams table shows for a filter, once every trial is loaded.
    let mut shown = |filter: &str, statuses: &str| -> BTreeSet<String> {
        let all = format!(
            r#"{{"experimentName": "", "allowedStatuses": {ALL_STATUSES}, "startIndex": 0, "sliceSize": 100}}"#
        );
        tb.wait_for(Duration::from_secs(60), |tb| {
            let v = tb.json("POST", "/data/plugin/hparams/session_groups", &all)?;
            if v["totalSize"] == dirs.len() { Ok(()) } else { Err(format!("not all loaded: {v}")) }
        });
        let request = format!(
            r#"{{"experimentName": "", "allowedStatuses": {statuses}, "colParams": [{filter}], "startIndex": 0, "sliceSize": 100}}"#
        );
        let v = tb.json("POST", "/data/plugin/hparams/session_groups", &request).unwrap();
        let groups = v["sessionGroups"].as_array().cloned().unwrap_or_default();
        groups.iter().map(|g| g["sessions"][0]["name"].as_str().unwrap().to_string()).collect()
    };
    let by_metric = |lo: f64| {
        format!(r#"{{"metric": {{"tag": "trial/pruned"}}, "filterInterval": {{"minValue": {lo}, "maxValue": {lo}}}}}"#)
    };
    assert_eq!(shown(&by_metric(1.0), ALL_STATUSES), pruned, "trial/pruned = 1");
    assert_eq!(shown(&by_metric(0.0), ALL_STATUSES), completed, "trial/pruned = 0");
    let any = r#"{"metric": {"tag": "trial/pruned"}}"#;
    assert_eq!(shown(any, r#"["STATUS_SUCCESS"]"#), completed, "status Success");
    assert_eq!(shown(any, r#"["STATUS_UNKNOWN"]"#), pruned, "status Unknown");
}
