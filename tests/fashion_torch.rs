//! The PyTorch column of the Fashion-MNIST experiment: `scripts/fashion_torch.py` (the three
//! rows' reference trainings), `scripts/reference-fashion-mnist` (every row and seed, two at a
//! time) and `scripts/seed_table.py` (their table: mean, sample std, Student-t interval), on the
//! committed 300/100-image sample with a few steps.
//!
//! The training tests need a python with torch and numpy: the venv of
//! `scripts/setup-torch-venv` (`$BURNLAB_TORCH_VENV`, default `~/.cache/burnlab/torch-2.9.0`),
//! which `scripts/test` creates (torch 2.11.0) and exports; without one they print why and pass
//! without running. The table tests need only `python3`.

mod common;

use common::{Scratch, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn checkout() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The torch venv's python, if it imports torch and numpy; else why not.
fn torch_python() -> Result<PathBuf, String> {
    common::torch_venv().map(|venv| venv.join("bin/python3"))
}

macro_rules! torch_or_skip {
    () => {
        match torch_python() {
            Ok(p) => p,
            Err(why) => {
                eprintln!("skipped: {why}");
                return;
            }
        }
    };
}

/// `python scripts/fashion_torch.py ARGS` in the checkout.
fn fashion_torch(python: &Path, args: &[&str]) -> Output {
    Command::new(python).arg("scripts/fashion_torch.py").args(args).current_dir(checkout()).output().unwrap()
}

/// `scripts/reference-fashion-mnist ARGS` in the checkout, with the venv of `python`.
fn reference(python: &Path, args: &[&str]) -> Output {
    let venv = python.parent().and_then(Path::parent).expect("a venv's bin/python3");
    Command::new("scripts/reference-fashion-mnist")
        .args(args)
        .env("BURNLAB_TORCH_VENV", venv)
        .current_dir(checkout())
        .output()
        .unwrap()
}

/// The one JSON line of a successful `--json` training.
fn record(out: &Output) -> Value {
    assert!(out.status.success(), "fashion_torch.py failed:\n{}", stderr(out));
    let text = stdout(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON line expected:\n{text}");
    serde_json::from_str(lines[0]).unwrap()
}

#[test]
fn each_row_trains_on_the_sample_learns_and_reports_its_record() {
    let python = torch_or_skip!();
    // name, parameters (PyTorch's count; the architecture table of the script), steps.
    for (model, params, steps) in [("cnn3", 70474, 5), ("mlp", 79510, 40), ("logreg", 7850, 40)] {
        let r =
            record(&fashion_torch(&python, &["--model", model, "--steps", &steps.to_string(), "--sample", "--json"]));
        assert_eq!(r["model"], model);
        assert_eq!(r["param_count"], params, "{model}");
        assert_eq!((r["train_images"].as_u64(), r["test_images"].as_u64()), (Some(300), Some(100)));
        assert_eq!(r["steps"], steps);
        assert_eq!(r["threads"], 1);
        let (acc, loss) = (r["test_acc"].as_f64().unwrap(), r["test_loss"].as_f64().unwrap());
        assert!((0.0..=1.0).contains(&acc) && loss.is_finite() && loss > 0.0, "{r}");
        let (secs, per_step) = (r["seconds"].as_f64().unwrap(), r["seconds_per_step"].as_f64().unwrap());
        assert!((per_step * steps as f64 - secs).abs() < 1e-9 * secs.max(1.0), "{r}");
        let batch = r["batch"].as_f64().unwrap();
        assert!((r["images_per_second"].as_f64().unwrap() - batch / per_step).abs() < 1e-6 * batch / per_step);
        if model != "cnn3" {
            // 40 Adam steps on 300 standardised images: far above chance (0.1) on the 100 test images.
            assert!(acc > 0.5, "{r}");
        }
    }
}

#[test]
fn a_seed_gives_the_same_numbers_and_another_seed_others() {
    let python = torch_or_skip!();
    let run = |seed: &str, extra: &[&str]| {
        let mut args =
            vec!["--model", "cnn3", "--steps", "4", "--eval-every", "2", "--sample", "--json", "--seed", seed];
        args.extend_from_slice(extra);
        record(&fashion_torch(&python, &args))
    };
    let (a, b, c) = (run("3", &[]), run("3", &[]), run("4", &[]));
    assert_eq!(a["evals"], b["evals"], "same seed, other numbers");
    assert_ne!(a["evals"], c["evals"], "another seed, the same numbers");
    assert_eq!(a["evals"].as_array().unwrap().len(), 2, "evaluations after steps 2 and 4: {}", a["evals"]);
    // Batch norm's place changes the model: the same seed trains to other numbers.
    let before = run("3", &["--bn-before-relu"]);
    assert_eq!(before["bn_before_relu"], true);
    assert_ne!(a["evals"], before["evals"]);
}

#[test]
fn a_file_that_does_not_match_its_digest_is_refused() {
    let python = torch_or_skip!();
    let s = Scratch::new();
    let sample = checkout().join("datasets/fashion-mnist-sample");
    for f in std::fs::read_dir(&sample).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, s.path().join(f.file_name().unwrap())).unwrap();
    }
    let labels = s.path().join("t10k-labels-idx1-ubyte.gz");
    let mut bytes = std::fs::read(&labels).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&labels, bytes).unwrap();
    let (dir, sums) = (s.path().to_str().unwrap(), s.path().join("SHA256SUMS"));
    let out = fashion_torch(
        &python,
        &["--model", "logreg", "--steps", "1", "--data-dir", dir, "--sums", sums.to_str().unwrap()],
    );
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("t10k-labels-idx1-ubyte.gz: SHA-256") && err.contains("expected 86e95c7e"), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn standardising_is_per_pixel_with_the_training_split_population_std() {
    let python = torch_or_skip!();
    // sklearn's StandardScaler: mean and std (ddof 0) of the training rows; a constant column
    // is only centred; the test rows use the training statistics.
    let code = "import sys, numpy as np; sys.path.insert(0, 'scripts'); import fashion_torch as f\n\
        tr = np.array([[0.0, 1.0, 0.5], [2.0, 1.0, 0.5], [4.0, 1.0, 0.5]], np.float32)\n\
        te = np.array([[1.0, 3.0, 0.5]], np.float32)\n\
        a, b = f.standardise(tr, te)\n\
        s = np.sqrt(8.0 / 3.0)\n\
        assert np.allclose(a[:, 0], [-2 / s, 0, 2 / s]) and (a[:, 1:] == 0).all(), a\n\
        assert np.allclose(b, [[-1 / s, 2.0, 0.0]]) and a.dtype == np.float32, b\n";
    let out = Command::new(&python).args(["-c", code]).current_dir(checkout()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_reference_script_trains_every_row_and_seed_and_tabulates_them() {
    let python = torch_or_skip!();
    let s = Scratch::new();
    let jsonl = s.path().join("fm/pytorch.jsonl");
    #[rustfmt::skip]
    let args = ["--sample", "--seeds", "0 1", "--steps-cnn", "3", "--steps", "3",
                "--logreg-args", "--lr 0.01", "--out", jsonl.to_str().unwrap()];
    let out = reference(&python, &args);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> =
        std::fs::read_to_string(&jsonl).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut runs: Vec<(String, u64)> =
        rows.iter().map(|r| (r["model"].as_str().unwrap().to_string(), r["seed"].as_u64().unwrap())).collect();
    runs.sort();
    let want: Vec<(String, u64)> =
        ["cnn3", "logreg", "mlp"].iter().flat_map(|m| [(m.to_string(), 0), (m.to_string(), 1)]).collect();
    assert_eq!(runs, want);
    assert!(rows.iter().all(|r| r["steps"] == 3 && r["threads"] == 1));
    assert!(rows.iter().filter(|r| r["model"] == "logreg").all(|r| r["lr"] == 0.01));
    let table = stdout(&out);
    let lines: Vec<&str> = table.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(lines.len(), 4, "{table}");
    for (line, m) in lines[1..].iter().zip(["cnn3", "mlp", "logreg"]) {
        assert!(line.starts_with(&format!("| {m} | 2 | ")), "{table}");
    }
    assert!(table.contains("6 trainings"), "{table}");
}

#[test]
fn the_reference_script_refuses_an_unknown_row() {
    let out = Command::new("scripts/reference-fashion-mnist")
        .args(["--models", "cnn3 resnet"])
        .current_dir(checkout())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown row 'resnet' (expected cnn3, mlp or logreg)"), "{}", stderr(&out));
}

#[test]
fn a_failed_training_writes_no_results() {
    let python = torch_or_skip!();
    let s = Scratch::new();
    let jsonl = s.path().join("pytorch.jsonl");
    #[rustfmt::skip]
    let args = ["--sample", "--models", "logreg", "--seeds", "0", "--steps", "2",
                "--logreg-args", "--momentum 0.9", "--out", jsonl.to_str().unwrap()];
    let out = reference(&python, &args);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("--momentum needs --optimizer sgd") && err.contains("a training failed"), "{err}");
    assert_eq!(std::fs::read_dir(s.path()).unwrap().count(), 0, "nothing written");
}

/// `python3 scripts/seed_table.py FILE ARGS`.
fn seed_table(file: &Path, args: &[&str]) -> Output {
    Command::new("python3").arg("scripts/seed_table.py").arg(file).args(args).current_dir(checkout()).output().unwrap()
}

#[test]
fn the_table_intervals_match_scipy() {
    // tests/fixtures/stats.json: scipy.stats.t.interval(0.95, n - 1, mean, sem) of groups of
    // 2 to 5 values (scripts/make_stats_fixtures.py).
    let fixtures: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(checkout().join("tests/fixtures/stats.json")).unwrap()).unwrap();
    let s = Scratch::new();
    let mut lines = String::new();
    for (i, g) in fixtures.iter().enumerate() {
        for v in g["a"].as_array().unwrap() {
            lines += &format!("{{\"model\": \"g{i}\", \"test_acc\": {v}, \"test_loss\": 1.0, \"seconds\": 2.0}}\n");
        }
    }
    let file = s.file("rows.jsonl", &lines);
    let out = seed_table(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    for (i, g) in fixtures.iter().enumerate() {
        let (n, mean, std) =
            (g["a"].as_array().unwrap().len(), g["mean_a"].as_f64().unwrap(), g["std_a"].as_f64().unwrap());
        let ci: Vec<f64> = g["ci95_a"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let row = format!("| g{i} | {n} | {mean:.4} ± {std:.4} | [{:.4}, {:.4}] | 1.0000 | 2.0 |", ci[0], ci[1]);
        assert!(table.lines().any(|l| l == row), "missing {row} in\n{table}");
    }
}

#[test]
fn the_t_quantile_is_exact_beyond_the_fixtures() {
    // t(0.975, df) to 1e-12 for df 1..1000 (mpmath, 30 digits: the root of the regularised
    // incomplete beta function; the printed tables agree to their 3 decimals).
    let code = "import sys; sys.path.insert(0, 'scripts'); import seed_table as s\n\
        ref = {1: 12.706204736174705, 2: 4.302652729749464, 3: 3.1824463052837095, 4: 2.7764451051977943,\n\
               5: 2.5705818356363155, 9: 2.2621571627982053, 19: 2.0930240544083096, 29: 2.0452296421327043,\n\
               100: 1.9839715185235522, 1000: 1.9623390808264085}\n\
        bad = {df: s.t_quantile(0.975, df) for df, v in ref.items() if abs(s.t_quantile(0.975, df) - v) > 1e-12}\n\
        assert not bad, bad\n";
    let out = Command::new("python3").args(["-c", code]).current_dir(checkout()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_bad_line_in_the_table_input_is_named() {
    let s = Scratch::new();
    let file =
        s.file("rows.jsonl", "{\"model\": \"a\", \"test_acc\": 0.5, \"test_loss\": 1, \"seconds\": 1}\nnot json\n");
    let out = seed_table(&file, &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("rows.jsonl:2: not a JSON line"), "{}", stderr(&out));
}

/// An experiment whose one `command` variant only reports a metric, with the sample exported
/// as `.npy` files (the splits a built-in family trains and tests on).
const EXPORT: &str = r#"name = "x"
seeds = [0]
[dataset]
name = "fashion-mnist"
sample = true
validation = 0
[training]
steps = 1
[[models]]
family = "command"
command = ["sh", "-c", "echo '{\"step\": 1, \"split\": \"test\", \"metric\": \"accuracy\", \"value\": 0.5}'"]
metrics = ["test.accuracy"]
data = "npy"
"#;

#[test]
fn the_script_reads_the_pixels_and_labels_burnlab_trains_on() {
    let python = torch_or_skip!();
    let s = Scratch::new();
    let out = s.run(&s.file("x.toml", EXPORT), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let data = std::fs::read_dir(s.results().join("x/data")).unwrap().next().unwrap().unwrap().path();
    // Bit for bit: the same images in [0, 1] (pixel / 255 in float32) and labels, in file order.
    let code = "import sys, numpy as np; sys.path.insert(0, 'scripts'); import fashion_torch as f\n\
        sums = f.read_sums(f.SAMPLE_DIR + '/SHA256SUMS')\n\
        for split, n in [('train', 300), ('test', 100)]:\n    \
            x, y = f.load_split(f.SAMPLE_DIR, sums, split)\n    \
            bx, by = np.load(f'{sys.argv[1]}/{split}_x.npy'), np.load(f'{sys.argv[1]}/{split}_y.npy')\n    \
            assert x.shape == (n, 28, 28) and bx.shape == (n, 28, 28), (x.shape, bx.shape)\n    \
            assert x.dtype == bx.dtype == np.float32 and (x == bx).all(), split\n    \
            assert (y == by).all() and len(set(y.tolist())) == 10, split\n";
    let out =
        Command::new(&python).args(["-c", code, data.to_str().unwrap()]).current_dir(checkout()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_scikit_learn_rows_stop_on_a_training_loss_plateau_by_burnlabs_rule() {
    let python = torch_or_skip!();
    // burnlab's early_stopping (src/train/early.rs): the best moves only on an improvement
    // beyond the tolerance, so slow steady progress eventually counts as one (scikit-learn
    // would have stopped at the fourth value, its best following every lower loss).
    let code = "import sys; sys.path.insert(0, 'scripts'); from fashion_torch import Plateau\n\
        p = Plateau(3, 1e-4)\n\
        print([p.stop(v) for v in [1.0, 0.99995, 0.9999, 0.99985, 0.9998, 0.99978, 0.99977]])\n";
    let out = Command::new(&python).args(["-c", code]).current_dir(checkout()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), "[False, False, False, False, False, False, True]");
    // A training stops at an evaluation and reports where, out of how many steps at most.
    #[rustfmt::skip]
    let args = ["--model", "logreg", "--sample", "--steps", "400", "--eval-every", "20",
                "--stop-patience", "2", "--stop-tol", "0.5", "--json"];
    let r = record(&fashion_torch(&python, &args));
    let steps = r["steps"].as_u64().unwrap();
    assert!(steps < 400 && steps.is_multiple_of(20) && steps >= 60, "{r}");
    assert_eq!(r["max_steps"], 400);
    let evals = r["evals"].as_array().unwrap();
    assert_eq!(evals.last().unwrap()["step"].as_u64(), Some(steps));
    let bad = fashion_torch(&python, &["--model", "mlp", "--sample", "--stop-patience", "2"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--stop-patience needs --eval-every"), "{}", stderr(&bad));
}

#[test]
fn each_training_of_the_reference_is_one_line_of_arguments() {
    // Without --sample and without step overrides the cnn3 line has no extra arguments; a
    // trailing blank there once made xargs join it to the next line (the cnn3 trainings ran as
    // mlp ones).
    let out = Command::new("scripts/reference-fashion-mnist")
        .args(["--models", "cnn3 mlp", "--seeds", "0 1", "--dry-run"])
        .current_dir(checkout())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    for (line, (model, seed)) in lines.iter().zip([("cnn3", 0), ("mlp", 0), ("cnn3", 1), ("mlp", 1)]) {
        assert!(line.starts_with(&format!("--model {model} --seed {seed}")), "{text}");
        assert_eq!(line.matches("--model").count(), 1, "{text}");
        assert_eq!(*line, line.trim_end(), "no trailing blank: {text}");
    }
    assert!(lines[1].contains("--stop-patience 3 --stop-tol 1e-4 --weight-decay 5e-7"), "{text}");
}
