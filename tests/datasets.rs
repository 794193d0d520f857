//! The `table` dataset end to end: the user's CSV and Parquet files, text tokenisation, and
//! clear errors (exit code 2, nothing written) for a missing file, a missing column and a
//! label that is not categorical.

mod common;

use common::*;
use std::path::{Path, PathBuf};

/// An experiment with `dataset` as its `[dataset]` body and one `linear` model.
fn experiment(dataset: &str, steps: usize) -> String {
    format!(
        "name = \"t\"\nseeds = [0]\n\n[dataset]\nname = \"table\"\n{dataset}\n\n[training]\nlr = 0.05\nbatch_size = 32\nsteps = {steps}\neval_every = {steps}\n\n[[models]]\nfamily = \"linear\"\n"
    )
}

/// Runs a one-trial experiment and returns its summary.json.
fn run_single(s: &Scratch, text: &str) -> serde_json::Value {
    let file = s.file("e.toml", text);
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dirs = trial_dirs(&s.results(), "t");
    assert_eq!(dirs.len(), 1);
    let sum = summary(&dirs[0]);
    assert_eq!(sum["status"], "completed", "{sum}");
    sum
}

fn accuracy(sum: &serde_json::Value) -> f64 {
    sum["final_metrics"]["test.accuracy"].as_f64().unwrap()
}

/// Copies a shipped example table into the scratch dir under `data/`.
fn copy_example(s: &Scratch, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/table-example").join(name);
    std::fs::create_dir_all(s.path().join("data")).unwrap();
    let dst = s.path().join("data").join(name);
    std::fs::copy(src, &dst).unwrap();
    dst
}

#[test]
fn a_csv_with_numeric_features_trains_well_above_chance() {
    let s = Scratch::new();
    copy_example(&s, "measurements.csv");
    // A relative path resolves against the current directory (the scratch dir here).
    let ds = "path = \"data/measurements.csv\"\nfeatures = [\"length_cm\", \"width_cm\", \"mass_g\", \"hue\"]\nlabel = \"species\"\ntest_fraction = 0.2";
    let sum = run_single(&s, &experiment(ds, 200));
    assert_eq!(sum["num_params"], 4 * 3 + 3, "4 features -> 3 species");
    let acc = accuracy(&sum);
    assert!(acc > 0.75, "3 classes, chance 0.33: got {acc}");
}

#[test]
fn the_shipped_example_experiment_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_burnlab"))
        .args(["validate", "experiments/table-example.toml"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("6 trials"), "{}", stdout(&out));
}

/// A Parquet file with a list column `signal` (a bump at position 2 * class plus noise),
/// integer labels 0 / 5 / 7, a numeric column `w` and a `part` split column.
fn write_parquet(path: &Path) {
    use polars::prelude::*;
    let (mut signals, mut labels, mut parts, mut w) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for i in 0..150usize {
        let class = i % 3;
        let signal: Vec<f64> =
            (0..6).map(|t| if t == 2 * class { 3.0 } else { 0.0 } + ((i * 7 + t * 13) % 10) as f64 / 10.0).collect();
        signals.push(Series::new("".into(), signal));
        labels.push([0i64, 5, 7][class]);
        parts.push(if i % 5 == 0 { "test" } else { "train" });
        w.push(i as f64);
    }
    let mut df = DataFrame::new_infer_height(vec![
        Column::new("signal".into(), signals),
        Column::new("cls".into(), labels),
        Column::new("part".into(), parts),
        Column::new("w".into(), w),
    ])
    .unwrap();
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(&mut df).unwrap();
}

#[test]
fn a_parquet_list_column_is_a_sequence() {
    let s = Scratch::new();
    write_parquet(&s.path().join("signals.parquet"));
    let ds = "path = \"signals.parquet\"\nsequence = \"signal\"\nlabel = \"cls\"\nsplit = \"part\"";
    let sum = run_single(&s, &experiment(ds, 100));
    assert_eq!(sum["num_params"], 6 * 3 + 3, "6 steps of 1 channel -> 3 classes (0, 5, 7)");
    let acc = accuracy(&sum);
    assert!(acc > 0.8, "the bump's position gives the class: got {acc}");

    // The same file read as numeric features.
    let f = s.file(
        "f.toml",
        &experiment("path = \"signals.parquet\"\nfeatures = [\"w\"]\nlabel = \"cls\"\nsplit = \"part\"", 5),
    );
    let out = s.burnlab(&["validate", f.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The longest training review of `reviews.csv`, in words.
fn longest_training_review(csv: &Path) -> usize {
    let text = std::fs::read_to_string(csv).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| l.ends_with(",train"))
        .map(|l| l.split(',').next().unwrap().split_whitespace().count())
        .max()
        .unwrap()
}

#[test]
fn a_text_column_is_tokenised_to_a_fixed_length() {
    let s = Scratch::new();
    let csv = copy_example(&s, "reviews.csv");
    let words = longest_training_review(&csv);
    assert!((4..=8).contains(&words), "{words}");
    let ds = "path = \"data/reviews.csv\"\ntext = \"review\"\ntokenizer = \"words\"\nlabel = \"sentiment\"\nsplit = \"split\"";
    let sum = run_single(&s, &experiment(ds, 20));
    assert_eq!(sum["num_params"], (words * 2 + 2) as u64, "max_len defaults to the longest training text");

    let s = Scratch::new();
    copy_example(&s, "reviews.csv");
    let ds = "path = \"data/reviews.csv\"\ntext = \"review\"\nmax_len = 24\nlabel = \"sentiment\"\nsplit = \"split\"";
    let sum = run_single(&s, &experiment(ds, 20));
    assert_eq!(sum["num_params"], 24 * 2 + 2, "characters, cut or padded to max_len");
}

/// (case, [dataset] body, expected location, expected fragments)
fn bad_cases() -> Vec<(&'static str, &'static str, &'static str, Vec<&'static str>)> {
    // The [dataset] body starts on line 6 of the experiment (`name = "table"` is line 5).
    vec![
        (
            "missing column",
            "path = \"m.csv\"\nfeatures = [\"length_cm\", \"widht_cm\"]\nlabel = \"species\"",
            "e.toml:7:",
            vec!["`dataset.features`", "column `widht_cm`", "not in `m.csv`", "did you mean `width_cm`?"],
        ),
        (
            "missing label column",
            "path = \"m.csv\"\nfeatures = [\"hue\"]\nlabel = \"specie\"",
            "e.toml:8:",
            vec!["`dataset.label`", "column `specie`", "did you mean `species`?"],
        ),
        (
            "missing file",
            "path = \"nope.csv\"\nfeatures = [\"hue\"]\nlabel = \"species\"",
            "e.toml:6:",
            vec!["`dataset.path`", "`nope.csv`", "does not exist", "current directory"],
        ),
        (
            "float label",
            "path = \"m.csv\"\nfeatures = [\"hue\"]\nlabel = \"mass_g\"",
            "e.toml:8:",
            vec!["`dataset.label`", "column `mass_g` is not categorical", "non-integer number"],
        ),
        (
            "empty split",
            "path = \"m.csv\"\nfeatures = [\"hue\"]\nlabel = \"species\"\ntest_fraction = 0.001",
            "e.toml:9:",
            vec!["`dataset.test_fraction`", "test split empty"],
        ),
        (
            "no inputs",
            "path = \"m.csv\"\nlabel = \"species\"",
            "e.toml:",
            vec!["`dataset.features`", "exactly one of `features`"],
        ),
    ]
}

#[test]
fn bad_tables_exit_2_naming_the_key_and_column_and_write_nothing() {
    for (name, ds, loc, fragments) in bad_cases() {
        let s = Scratch::new();
        std::fs::copy(copy_example(&s, "measurements.csv"), s.path().join("m.csv")).unwrap();
        s.file("e.toml", &experiment(ds, 5));
        for cmd in ["validate", "run"] {
            let out = if cmd == "run" { s.run(Path::new("e.toml"), &[]) } else { s.burnlab(&["validate", "e.toml"]) };
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{name} ({cmd}): {err}");
            assert!(err.starts_with(&format!("error: {loc}")), "{name}: expected location {loc}, got: {err}");
            for f in &fragments {
                assert!(err.contains(f), "{name}: expected `{f}` in: {err}");
            }
            assert!(!err.contains("panicked"), "{name}: {err}");
        }
        assert!(!s.results().exists(), "{name}: nothing is written for a bad table");
    }
}

#[test]
fn the_new_datasets_are_listed() {
    let s = Scratch::new();
    let out = s.burnlab(&["list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["datasets"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    let want = ["mnist1d", "digits", "longrange", "digits-mnist1d", "xor-modal", "ring", "grid", "table"];
    assert_eq!(names, [&want[..], &["fashion-mnist", "images"]].concat());
    let longrange = &v["datasets"][2]["defaults"];
    assert_eq!((longrange["length"].as_u64(), longrange["vocab"].as_u64()), (Some(64), Some(8)));
    let ring = &v["datasets"][5]["defaults"];
    assert_eq!((ring["n_train"].as_u64(), ring["n_test"].as_u64()), (Some(100_000), Some(2500)));
}

#[test]
fn digits_and_longrange_run_through_the_binary() {
    let cases = [
        ("name = \"digits\"", 8 * 8 * 10 + 10),
        ("name = \"longrange\"\nlength = 16\nvocab = 4\nn_train = 200\nn_test = 50\nseed = 3", 16 * 5 * 2 + 2),
    ];
    for (ds, params) in cases {
        let s = Scratch::new();
        let text = experiment("", 10).replace("name = \"table\"\n", &format!("{ds}\n"));
        let sum = run_single(&s, &text);
        assert_eq!(sum["num_params"], params, "{ds}");
    }
}

/// An experiment on `fashion-mnist` (`dataset` lines) with one model (`model` lines).
fn fashion(dataset: &str, model: &str, steps: usize) -> String {
    format!(
        "name = \"fm\"\nseeds = [0]\n\n[dataset]\nname = \"fashion-mnist\"\n{dataset}\n\n[training]\nlr = 0.01\nbatch_size = 16\nsteps = {steps}\neval_every = 10\n\n[[models]]\n{model}\n"
    )
}

#[test]
fn fashion_mnist_sample_trains_linear_mlp_and_cnns() {
    let models = [
        ("family = \"linear\"", 28 * 28 * 10 + 10),
        ("family = \"mlp\"\nhidden = 16", 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10),
        ("family = \"cnn\"\nchannels = [4]\nkernels = [5]\nstrides = 2", 0),
        ("family = \"cnn\"\ndim = 2\nchannels = [4, 8]\nkernels = [3, 3]\nstrides = 2", 0),
    ];
    for (model, params) in models {
        let s = Scratch::new();
        let out = s.run(&s.file("e.toml", &fashion("sample = true", model, 30)), &[]);
        assert!(out.status.success(), "{model}: {}", stderr(&out));
        let dirs = trial_dirs(&s.results(), "fm");
        let sum = summary(&dirs[0]);
        assert_eq!(sum["status"], "completed", "{model}: {sum}");
        if params > 0 {
            assert_eq!(sum["num_params"], params, "{model}");
        }
        let losses = csv_metric(&dirs[0], "train", "loss");
        assert_eq!(losses.last().map(|l| l.0), Some(30), "{model}: {losses:?}");
        assert!(losses.iter().all(|(_, l)| l.is_finite()), "{model}: {losses:?}");
        // 300 training images, 0.1 carved out as the validation split (30, 3 per class).
        let valid = csv_metric(&dirs[0], "valid", "accuracy");
        assert!(valid.iter().all(|(_, a)| (0.0..=1.0).contains(a)) && !valid.is_empty(), "{model}: {valid:?}");
    }
}

#[test]
fn fashion_mnist_missing_or_changed_files_name_the_install_script() {
    let s = Scratch::new();
    let missing = s.path().join("nowhere");
    let text = fashion(&format!("path = \"{}\"", missing.display()), "family = \"linear\"", 5);
    s.file("e.toml", &text);
    for cmd in ["validate", "run"] {
        let out = if cmd == "run" { s.run(Path::new("e.toml"), &[]) } else { s.burnlab(&["validate", "e.toml"]) };
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{cmd}: {err}");
        assert!(err.starts_with("error: e.toml:6:"), "at the `path` line: {err}");
        for want in ["`dataset.path`", "nowhere/train-images-idx3-ubyte.gz", "datasets/fashion-mnist/install"] {
            assert!(err.contains(want), "{cmd}: missing {want:?} in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
    // The sample's files are not the full set's: their digests differ.
    let copy = s.path().join("copy");
    std::fs::create_dir(&copy).unwrap();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/fashion-mnist-sample");
    for f in std::fs::read_dir(&sample).unwrap() {
        let p = f.unwrap().path();
        std::fs::copy(&p, copy.join(p.file_name().unwrap())).unwrap();
    }
    s.file("e.toml", &fashion(&format!("path = \"{}\"", copy.display()), "family = \"linear\"", 5));
    let out = s.run(Path::new("e.toml"), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("checksum mismatch") && err.contains("copy/train-images-idx3-ubyte.gz"), "{err}");
    assert!(!s.results().exists(), "nothing written: {err}");
}

#[test]
fn fashion_mnist_augmentation_is_reproducible_and_changes_training() {
    let metrics = |dataset: &str| {
        let s = Scratch::new();
        let out = s.run(&s.file("e.toml", &fashion(dataset, "family = \"linear\"", 20)), &[]);
        assert!(out.status.success(), "{dataset}: {}", stderr(&out));
        let dirs = trial_dirs(&s.results(), "fm");
        assert_eq!(summary(&dirs[0])["status"], "completed");
        csv_metric(&dirs[0], "train", "loss")
    };
    let augmented = "sample = true\nnormalize = true\naugment = [{ kind = \"crop\", padding = 2 }, { kind = \"flip\" }, { kind = \"translate\", pixels = 1 }]";
    let first = metrics(augmented);
    assert!(first.iter().all(|(_, l)| l.is_finite()), "{first:?}");
    assert_eq!(first, metrics(augmented), "same config and seed, same numbers");
    assert_ne!(first, metrics("sample = true\nnormalize = true"), "augmentation changes the batches");
    // A bad step is refused before anything runs, at the `augment` line.
    let s = Scratch::new();
    s.file("e.toml", &fashion("sample = true\naugment = [{ kind = \"flip\", p = 2.0 }]", "family = \"linear\"", 5));
    let out = s.burnlab(&["validate", "e.toml"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: e.toml:7:") && err.contains("`dataset.augment` step 1"), "{err}");
    assert!(err.contains("`p` must be in [0, 1], got 2"), "{err}");
}

#[test]
fn fashion_mnist_pixel_standardisation_trains_and_channel_keeps_the_trial_id_of_true() {
    let s = Scratch::new();
    let ids = |normalize: &str| {
        s.file("p.toml", &fashion(&format!("sample = true\nnormalize = {normalize}"), "family = \"linear\"", 20));
        let out = s.burnlab(&["plan", "p.toml", "--json"]);
        assert!(out.status.success(), "{normalize}: {}", stderr(&out));
        let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        plan["trials"][0]["id"].as_str().unwrap().to_string()
    };
    assert_eq!(ids("true"), ids("\"channel\""), "`\"channel\"` is written as `true`");
    assert_ne!(ids("true"), ids("\"pixel\""));
    assert_ne!(ids("false"), ids("\"pixel\""));
    let loss = |normalize: &str| {
        let s = Scratch::new();
        let text = fashion(&format!("sample = true\nnormalize = {normalize}"), "family = \"linear\"", 20);
        let out = s.run(&s.file("e.toml", &text), &[]);
        assert!(out.status.success(), "{normalize}: {}", stderr(&out));
        let dirs = trial_dirs(&s.results(), "fm");
        assert_eq!(summary(&dirs[0])["status"], "completed");
        csv_metric(&dirs[0], "train", "loss")
    };
    let pixel = loss("\"pixel\"");
    assert!(pixel.iter().all(|(_, l)| l.is_finite()), "{pixel:?}");
    assert_ne!(pixel, loss("true"), "per pixel is not per channel");
}

#[test]
fn a_misspelt_normalize_value_is_refused_with_a_suggestion() {
    let s = Scratch::new();
    s.file("e.toml", &fashion("sample = true\nnormalize = \"pixels\"", "family = \"linear\"", 5));
    let out = s.run(std::path::Path::new("e.toml"), &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("error: e.toml:7:"), "{err}");
    assert!(err.contains("unknown value `pixels`, expected one of: channel, pixel"), "{err}");
    assert!(err.contains("did you mean `pixel`?"), "{err}");
    assert!(!s.results().exists(), "nothing written: {err}");
    s.file("e.toml", &fashion("sample = true\nnormalize = 1", "family = \"linear\"", 5));
    let err = stderr(&s.burnlab(&["validate", "e.toml"]));
    assert!(err.starts_with("error: e.toml:7:") && err.contains("true, false, \"channel\" or \"pixel\""), "{err}");
}
