//! Tasks and metrics end to end: a regression experiment on a numeric label column (mse, mae,
//! r2), a classifier's confusion matrix and per-class accuracy files, and the errors for
//! metrics or families that do not fit the dataset's task.

mod common;

use common::*;
use std::path::Path;

/// An experiment on a copy of `datasets/table-example/{file}` with `dataset` as the rest of
/// its `[dataset]` body, one `family` model, and `report` as its `[report]` body.
fn experiment(s: &Scratch, file: &str, dataset: &str, family: &str, report: &str) -> std::path::PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/table-example").join(file);
    std::fs::copy(src, s.path().join(file)).unwrap();
    s.file(
        "e.toml",
        &format!(
            "name = \"t\"\nseeds = [0]\n\n[dataset]\nname = \"table\"\npath = \"{file}\"\n{dataset}\n\n[training]\nlr = 0.02\nbatch_size = 32\nsteps = 60\neval_every = 30\n\n[[models]]\nfamily = \"{family}\"\n\n[report]\n{report}\n"
        ),
    )
}

const HOUSES: &str =
    "features = [\"area_m2\", \"rooms\", \"age_years\", \"distance_km\"]\nlabel = \"price\"\ntask = \"regression\"";
const SPECIES: &str = "features = [\"length_cm\", \"width_cm\", \"mass_g\", \"hue\"]\nlabel = \"species\"";

/// `(step, split, metric) -> value` rows of a trial's metrics.csv.
fn metric_rows(dir: &Path) -> Vec<(usize, String, String, f64)> {
    let text = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[1].to_string(), f[2].to_string(), f[3].parse().unwrap())
        })
        .collect()
}

#[test]
fn a_regression_experiment_records_mse_mae_and_r2() {
    let s = Scratch::new();
    let file =
        experiment(&s, "houses.csv", HOUSES, "mlp", "metric = \"test.r2\"\ncolumns = [\"test.mse\", \"test.mae\"]");
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = &trial_dirs(&s.results(), "t")[0];
    let rows = metric_rows(dir);
    let at = |m: &str| rows.iter().find(|r| r.0 == 60 && r.1 == "test" && r.2 == m).map(|r| r.3);
    let (mse, mae, r2, loss) = (at("mse").unwrap(), at("mae").unwrap(), at("r2").unwrap(), at("loss").unwrap());
    assert_eq!(mse, loss, "test.loss is the mse");
    assert!(mae > 0.0 && mae * mae <= mse * (1.0 + 1e-9), "mae² ≤ mse: {mae} {mse}");
    assert!(r2 > 0.5 && r2 < 1.0, "the price is mostly linear in the features: r2 {r2}");
    assert!(rows.iter().all(|r| r.2 != "accuracy" && r.2 != "macro_f1"), "no classification metrics");
    assert!(!dir.join("confusion.csv").exists(), "no confusion matrix for regression");
    let table = std::fs::read_to_string(s.results().join("t/table.md")).unwrap();
    assert!(table.contains("`test.r2` (higher is better)"), "{table}");
}

#[test]
fn the_confusion_matrix_and_per_class_accuracy_of_the_last_evaluation() {
    let s = Scratch::new();
    let file = experiment(&s, "measurements.csv", SPECIES, "linear", "metric = \"test.macro_f1\"");
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = &trial_dirs(&s.results(), "t")[0];
    let confusion = std::fs::read_to_string(dir.join("confusion.csv")).unwrap();
    let lines: Vec<&str> = confusion.lines().collect();
    assert_eq!(lines[0], "true,0,1,2");
    let counts: Vec<Vec<u64>> =
        lines[1..].iter().map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(counts.iter().flatten().sum::<u64>(), 60, "the test split: 20% of 300 rows");
    let per_class = std::fs::read_to_string(dir.join("per_class.csv")).unwrap();
    let rows: Vec<Vec<f64>> =
        per_class.lines().skip(1).map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
    assert_eq!(rows.len(), 3);
    for (c, row) in rows.iter().enumerate() {
        let support: u64 = counts[c].iter().sum();
        assert_eq!(row[1] as u64, support);
        assert_eq!(row[2], counts[c][c] as f64 / support as f64, "class {c}: its recall");
    }
    let metrics = metric_rows(dir);
    let accuracy = metrics.iter().find(|r| r.0 == 60 && r.1 == "test" && r.2 == "accuracy").unwrap().3;
    assert_eq!(accuracy, (0..3).map(|c| counts[c][c]).sum::<u64>() as f64 / 60.0);
    assert!(metrics.iter().any(|r| r.0 == 60 && r.2 == "macro_f1"));
    assert!(metrics.iter().all(|r| r.2 != "top5_accuracy"), "3 classes: no top-5 accuracy");
    assert!(dir.join("confusion/test.png").exists());
}

#[test]
fn metrics_and_families_that_do_not_fit_the_task_are_refused() {
    let cases = [
        ("houses.csv", HOUSES, "linear", "metric = \"test.accuracy\"", "on a regression dataset use mse, mae, r2"),
        ("measurements.csv", SPECIES, "linear", "metric = \"test.r2\"", "on a classification dataset of 3 classes"),
        ("measurements.csv", SPECIES, "linear", "metric = \"test.top5_accuracy\"", "is not recorded"),
        ("houses.csv", HOUSES, "gan", "metric = \"test.fd\"", "`gan` cannot regress"),
    ];
    for (file, dataset, family, report, expected) in cases {
        let s = Scratch::new();
        let path = experiment(&s, file, dataset, family, report);
        let out = s.burnlab(&["validate", path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{report}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{report}: {}", stderr(&out));
    }
}

#[test]
fn the_shipped_regression_experiment_validates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_burnlab"))
        .args(["validate", "experiments/table-regression.toml"])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
