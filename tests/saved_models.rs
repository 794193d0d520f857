//! Saved models (issue 17): every finished classifier or GAN trial keeps `model/`, and
//! `burnlab eval`, `predict` and `best` use it in new processes.

mod common;

use common::{Scratch, prefixed, stderr, stdout, summary, trial_dirs};
use npyz::WriterBuilder;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// An mlp and a cnn on MNIST-1D with a validation split, `select` as given, `seeds` seeds.
fn experiment(name: &str, select: &str, seeds: &str) -> String {
    format!(
        r#"name = "{name}"
seeds = {seeds}

[dataset]
name = "mnist1d"
validation = 0.1

[training]
lr = 0.01
steps = 30
eval_every = 10

[report]
select = "{select}"

[[models]]
family = "mlp"
hidden = 8

[[models]]
family = "cnn"
channels = [4, 4, 4]
"#
    )
}

fn json(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", stderr(out));
    serde_json::from_str(&stdout(out)).unwrap()
}

fn test_metrics(v: &Value) -> Vec<(String, f64)> {
    prefixed(v, "test.")
}

fn arg(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `name` (with `--set` `extra`) and returns its trial directories with their summaries.
fn run_with(s: &Scratch, name: &str, select: &str, seeds: &str, extra: &[&str]) -> Vec<(PathBuf, Value)> {
    let file = s.file(&format!("{name}.toml"), &experiment(name, select, seeds));
    let out = s.run(&file, extra);
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", stderr(&out));
    trial_dirs(&s.results(), name).into_iter().map(|d| (d.clone(), summary(&d))).collect()
}

fn run(s: &Scratch, name: &str, select: &str, seeds: &str) -> Vec<(PathBuf, Value)> {
    run_with(s, name, select, seeds, &[])
}

#[test]
fn eval_in_a_new_process_gives_exactly_the_reported_test_metrics() {
    let s = Scratch::new();
    for select in ["final", "best"] {
        let trials = run(&s, select, select, "[0]");
        let mut evaluated = 0;
        for (dir, sum) in &trials {
            let model = dir.join("model");
            assert_eq!(sum["status"], "completed");
            assert!(model.join("final.bpk").is_file() && model.join("model.json").is_file());
            assert_eq!(model.join("best.bpk").is_file(), select == "best");
            let card: Value =
                serde_json::from_str(&std::fs::read_to_string(model.join("model.json")).unwrap()).unwrap();
            assert_eq!(card["tested"], if select == "best" { "best" } else { "final" });
            let eval = json(&s.burnlab(&["eval", arg(dir), "--json"]));
            let reported = test_metrics(&sum["final_metrics"]);
            assert!(reported.len() >= 3, "{reported:?}");
            assert_eq!(test_metrics(&eval["metrics"]), reported, "{select}: {}", dir.display());
            // The validation split: the selected evaluation's numbers.
            let valid = json(&s.burnlab(&["eval", arg(dir), "--split", "valid", "--json"]));
            let reported = prefixed(&sum["final_metrics"], "valid.");
            assert!(reported.len() >= 3, "{reported:?}");
            assert_eq!(prefixed(&valid["metrics"], "valid."), reported, "{select}: {}", dir.display());
            evaluated += 1;
        }
        assert_eq!(evaluated, 2, "{select}: the mlp and the cnn");
    }
    // Trials stopped by early stopping save theirs.
    let stop = "training.early_stopping={ metric = \"valid.loss\", patience = 1, min_delta = 100.0 }";
    for (dir, sum) in run_with(&s, "stopped", "final", "[0]", &["--set", stop]) {
        assert_eq!((sum["status"].as_str(), sum["stopped_at"].as_u64()), (Some("completed"), Some(20)));
        let eval = json(&s.burnlab(&["eval", arg(&dir), "--json"]));
        assert_eq!(test_metrics(&eval["metrics"]), test_metrics(&sum["final_metrics"]));
    }
    // Diverged trials save no model.
    for (dir, sum) in run_with(&s, "blowup", "best", "[0]", &["--set", "training.lr=1e30"]) {
        assert_eq!(sum["status"], "diverged");
        assert!(!dir.join("model").exists() && !dir.join(".model-partial").exists());
        let out = s.burnlab(&["eval", arg(&dir)]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("no saved model: this trial is diverged"), "{}", stderr(&out));
    }
}

/// A small GAN (select = "best") on the dataset of the `[dataset]` lines `dataset`.
fn gan(name: &str, dataset: &str, metric: &str) -> String {
    format!(
        "name = \"{name}\"\nseeds = [0]\n[dataset]\n{dataset}\n[training]\nsteps = 20\neval_every = 10\n\
         batch_size = 32\n[[models]]\nfamily = \"gan\"\nz_dim = 4\ng_width = 16\ng_depth = 1\nd_width = 16\n\
         d_depth = 1\nmaxout_pieces = 2\neval_samples = 300\n[report]\nmetric = \"{metric}\"\nselect = \"best\"\n"
    )
}

#[test]
fn a_gan_saves_its_generator_and_eval_gives_exactly_its_reported_test_metrics() {
    let s = Scratch::new();
    // MNIST-1D with a validation split: the Frechet distance from the test split, of the best
    // G; the ring without one: the mode metrics the trainer reports on test.
    let cases = [("fd", "name = \"mnist1d\"", "test.fd"), ("ring", "name = \"ring\"\nvalidation = 0", "test.modes")];
    for (name, dataset, metric) in cases {
        let file = s.file(&format!("{name}.toml"), &gan(name, dataset, metric));
        assert!(s.run(&file, &[]).status.success());
        let dir = &trial_dirs(&s.results(), name)[0];
        let sum = summary(dir);
        for f in ["final.bpk", "best.bpk", "discriminator.bpk", "model.json"] {
            assert!(dir.join("model").join(f).is_file(), "{name}: {f}");
        }
        let reported = test_metrics(&sum["final_metrics"]);
        assert!(reported.iter().any(|(k, _)| k == metric), "{reported:?}");
        let eval = json(&s.burnlab(&["eval", arg(dir), "--json"]));
        assert_eq!(eval["weights"], "best");
        assert_eq!(test_metrics(&eval["metrics"]), reported, "{name}");
        let out = s.burnlab(&["predict", arg(dir), "--input", "x.npy", "--output", "p.csv"]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("no per-row predictions") && stderr(&out).contains("burnlab eval"));
        let export = s.path().join(format!("{name}-best"));
        let best = json(&s.burnlab(&["best", &format!("results/{name}"), "--export", arg(&export), "--json"]));
        assert_eq!(best["choices"][0]["trial"].as_str(), dir.file_name().unwrap().to_str());
        assert_eq!(test_metrics(&json(&s.burnlab(&["eval", arg(&export), "--json"]))["metrics"]), reported);
    }
    // The validation split of the final G: the last evaluation's Frechet distance in
    // metrics.csv. (The best G's batch-norm statistics are the final ones, so its validation
    // numbers are not those of its evaluation; see docs/models.md.)
    let dir = &trial_dirs(&s.results(), "fd")[0];
    let valid = json(&s.burnlab(&["eval", arg(dir), "--split", "valid", "--weights", "final", "--json"]));
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let last = csv.lines().filter(|l| l.starts_with("20,valid,fd,")).map(|l| l.rsplit(',').next().unwrap());
    let last: Vec<f64> = last.map(|v| v.parse().unwrap()).collect();
    assert_eq!(vec![valid["metrics"]["valid.fd"].as_f64().unwrap()], last, "{csv}");
}

#[test]
fn other_dataset_settings_give_other_numbers_and_bad_ones_clear_errors() {
    let s = Scratch::new();
    let trials = run(&s, "e", "best", "[0]");
    let (dir, sum) = trials.iter().find(|(_, v)| v["label"] == "mlp").unwrap();
    let d = arg(dir);
    // Another compatible dataset (the positions permuted): other test numbers.
    let shuffled = json(&s.burnlab(&["eval", d, "--set", "dataset.shuffle_seq=true", "--json"]));
    assert_eq!(shuffled["dataset"]["shuffle_seq"], true);
    assert_ne!(test_metrics(&shuffled["metrics"]), test_metrics(&sum["final_metrics"]));
    // Another validation fraction: another validation split.
    let valid = |fraction: &str| {
        let set = format!("dataset.validation={fraction}");
        json(&s.burnlab(&["eval", d, "--set", &set, "--split", "valid", "--weights", "final", "--json"]))
    };
    let (a, b) = (valid("0.1"), valid("0.3"));
    assert!(a["examples"].as_u64().unwrap() < b["examples"].as_u64().unwrap());
    assert_ne!(a["metrics"]["valid.loss"], b["metrics"]["valid.loss"]);

    let fails = |args: &[&str], wanted: &[&str]| {
        let out = s.burnlab(args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        for w in wanted {
            assert!(err.contains(w), "{args:?}: missing {w:?} in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };
    fails(&["eval", d, "--set", "dataset.name=digits"], &["`digits` is not compatible", "[8, 8]", "[40, 1]"]);
    fails(&["eval", d, "--set", "dataset.shufle_seq=true"], &["--set dataset.shufle_seq=true", "unknown field"]);
    fails(&["eval", d, "--set", "training.lr=1"], &["only dataset options"]);
    fails(&["eval", d, "--set", "dataset.validation=0", "--split", "valid"], &["no validation split"]);
    let bpk = dir.join("model/best.bpk");
    std::fs::write(&bpk, b"not a record").unwrap();
    fails(&["eval", d], &["best.bpk", "cannot load the saved weights"]);
    std::fs::remove_dir_all(dir.join("model")).unwrap();
    fails(&["eval", d], &["model/model.json", "no saved model"]);
}

/// The MNIST-1D test split as shipped: 1000 rows of 40 values, and their labels.
fn mnist1d_test() -> (Vec<f32>, Vec<u8>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/mnist1d");
    let x = std::fs::read(dir.join("x_test.f32")).unwrap();
    let x = x.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (x, std::fs::read(dir.join("y_test.u8")).unwrap())
}

fn write_npy(path: &Path, shape: &[u64], values: &[f64]) {
    let mut out = Vec::new();
    let mut w = npyz::WriteOptions::new().default_dtype().shape(shape).writer(&mut out).begin_nd().unwrap();
    w.extend(values.iter().copied()).unwrap();
    w.finish().unwrap();
    std::fs::write(path, out).unwrap();
}

/// `(predicted, probabilities)` of each row of a predictions CSV.
fn predictions(path: &Path) -> Vec<(usize, Vec<f64>)> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("row,predicted,p_0,p_1,"));
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[1].parse().unwrap(), cells[2..].iter().map(|c| c.parse().unwrap()).collect())
        })
        .collect()
}

#[test]
fn predict_agrees_with_eval_and_names_the_expected_shape() {
    let s = Scratch::new();
    let trials = run(&s, "e", "final", "[0]");
    let (dir, sum) = trials.iter().find(|(_, v)| v["label"] == "cnn").unwrap();
    let (x, y) = mnist1d_test();
    let csv: String = std::iter::once((0..40).map(|i| format!("x{i}")).collect::<Vec<_>>().join(",") + "\n")
        .chain(x.chunks(40).map(|row| row.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",") + "\n"))
        .collect();
    let input = s.file("test.csv", &csv);
    let out = s.burnlab(&["predict", arg(dir), "--input", arg(&input), "--output", "p.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let from_csv = predictions(&s.path().join("p.csv"));
    assert_eq!(from_csv.len(), 1000);
    for (predicted, p) in &from_csv {
        assert_eq!(p.len(), 10);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-4, "{p:?}");
        let argmax = (0..10).fold(0, |b, c| if p[c] > p[b] { c } else { b });
        assert_eq!(*predicted, argmax);
    }
    let correct = from_csv.iter().zip(&y).filter(|((p, _), y)| *p == **y as usize).count();
    assert_eq!(correct as f64 / 1000.0, sum["final_metrics"]["test.accuracy"].as_f64().unwrap());

    // The same rows as .npy [n, 40, 1] (float64): the same predictions.
    let npy = s.path().join("test.npy");
    write_npy(&npy, &[1000, 40, 1], &x.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
    let out = s.burnlab(&["predict", arg(dir), "--input", arg(&npy), "--output", "q.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let from_npy = predictions(&s.path().join("q.csv"));
    assert!(from_npy.iter().zip(&from_csv).all(|(a, b)| a.0 == b.0));

    // A shape the model cannot read: an error naming the file and the expected shape.
    write_npy(&npy, &[3, 39], &[0.5; 117]);
    let out = s.burnlab(&["predict", arg(dir), "--input", arg(&npy), "--output", "r.csv"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("test.npy") && err.contains("39 values per row") && err.contains("[n, 40, 1]"), "{err}");
    assert!(!s.path().join("r.csv").exists());
}

#[test]
fn best_names_the_median_seed_of_the_best_row_and_exports_it() {
    let s = Scratch::new();
    let trials = run(&s, "e", "best", "[0, 1, 2]");
    let export = s.path().join("exported");
    let best = json(&s.burnlab(&["best", "results/e", "--export", arg(&export), "--json"]));
    let choice = &best["choices"][0];
    assert_eq!(best["choices"].as_array().unwrap().len(), 1);
    // The row is the best of table.md, and the trial the median of its seeds by valid.accuracy.
    let label = choice["label"].as_str().unwrap();
    assert_eq!(choice["ranked_on"], "valid.accuracy");
    let values = |label: &str| {
        let mut v: Vec<f64> = trials
            .iter()
            .filter(|(_, v)| v["label"] == label)
            .map(|(_, v)| v["final_metrics"]["valid.accuracy"].as_f64().unwrap())
            .collect();
        v.sort_by(f64::total_cmp);
        v
    };
    let mean = |label: &str| values(label).iter().sum::<f64>() / 3.0;
    let other = if label == "mlp" { "cnn" } else { "mlp" };
    assert!(mean(label) > mean(other), "{label} is the best row");
    let values = values(label);
    assert_eq!(choice["value"].as_f64().unwrap(), values[1]);
    assert_eq!(choice["candidates"], 3);
    // The export is a trial directory that eval reads.
    for f in ["model/model.json", "model/final.bpk", "model/best.bpk", "config.toml", "summary.json"] {
        assert!(export.join(f).is_file(), "{f}");
    }
    let eval = json(&s.burnlab(&["eval", arg(&export), "--json"]));
    assert_eq!(eval["trial"], choice["trial"]);
    assert_eq!(test_metrics(&eval["metrics"]), test_metrics(&choice["test_metrics"]));
    let text = stdout(&s.burnlab(&["best", "results/e"]));
    assert!(text.contains("median seed") && text.contains(choice["trial"].as_str().unwrap()), "{text}");
}

#[test]
fn predict_prepares_a_tables_columns_as_the_table_and_names_its_classes() {
    let s = Scratch::new();
    // Two features on very different scales (standardised by the table), string labels, a
    // split column; the file to predict holds the test rows' features in another order.
    let (mut table, mut test) = (String::from("a,b,kind,fold\n"), String::from("id,b,a\n"));
    for i in 0..240 {
        let (a, b) = ((i * 37 % 101) as f64 / 10.0, 100.0 + (i * 53 % 97) as f64 * 3.0);
        let kind = if a * 30.0 + b > 400.0 {
            "big, one"
        } else if a > 5.0 {
            "mid"
        } else {
            "small"
        };
        let fold = if i % 5 == 0 { "test" } else { "train" };
        table.push_str(&format!("{a},{b},\"{kind}\",{fold}\n"));
        if fold == "test" {
            test.push_str(&format!("{i},{b},{a}\n"));
        }
    }
    s.file("t.csv", &table);
    let input = s.file("new.csv", &test);
    let file = s.file(
        "t.toml",
        "name = \"t\"\nseeds = [0]\n[dataset]\nname = \"table\"\npath = \"t.csv\"\nlabel = \"kind\"\n\
         features = [\"a\", \"b\"]\nsplit = \"fold\"\n[training]\nlr = 0.05\nsteps = 60\neval_every = 20\n\
         [[models]]\nfamily = \"mlp\"\nhidden = 16\n",
    );
    assert!(s.run(&file, &[]).status.success());
    let dir = &trial_dirs(&s.results(), "t")[0];
    let reported = summary(dir)["final_metrics"]["test.accuracy"].as_f64().unwrap();
    let out = s.burnlab(&["predict", arg(dir), "--input", arg(&input), "--output", "p.csv"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(s.path().join("p.csv")).unwrap();
    assert!(text.starts_with("row,predicted,\"p_big, one\",p_mid,p_small\n"), "{text}");
    let truth: Vec<&str> =
        table.lines().skip(1).filter(|l| l.ends_with(",test")).map(|l| l.split('"').nth(1).unwrap()).collect();
    let predicted: Vec<String> = text
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.splitn(2, ',').collect();
            let rest = cells[1];
            if let Some(quoted) = rest.strip_prefix('"') {
                quoted.split('"').next().unwrap().to_string()
            } else {
                rest.split(',').next().unwrap().to_string()
            }
        })
        .collect();
    assert_eq!(predicted.len(), 48);
    let correct = predicted.iter().zip(&truth).filter(|(p, t)| p == *t).count();
    assert_eq!(correct as f64 / 48.0, reported);
    // A file without the table's feature columns: named.
    let bad = s.file("bad.csv", "x,y\n1,2\n");
    let out = s.burnlab(&["predict", arg(dir), "--input", arg(&bad), "--output", "q.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("bad.csv") && stderr(&out).contains("`a`"), "{}", stderr(&out));
}
