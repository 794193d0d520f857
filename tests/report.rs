//! Reproduction tables: `[reference]` verdicts, Markdown/LaTeX/CSV output and learning curves
//! on a reduced MNIST-1D run through the real binary.

mod common;

use common::*;

const REDUCED: &str = r#"
name = "repro"
seeds = [0, 1, 2]
[dataset]
name = "mnist1d"
[training]
lr = 1e-2
steps = 200
eval_every = 50
batching = "sequential"
[[models]]
family = "linear"
[[models]]
family = "mlp"
[reference]
source = "A made-up paper (2026)"
url = "https://example.org/paper"
rows = [
    { label = "linear", value = VALUE_LINEAR, tolerance = 0.01 },
    { label = "mlp", value = 0.99 },
]
"#;

#[test]
fn a_reduced_mnist1d_run_reports_verdicts_in_every_format() {
    let s = Scratch::new();
    // First run without a meaningful reference to learn the linear model's mean accuracy.
    let probe = s.file("probe.toml", &REDUCED.replace("VALUE_LINEAR", "0.5"));
    let out = s.run(&probe, &["--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = std::fs::read_to_string(s.results().join("repro/table.csv")).unwrap();
    let header: Vec<&str> = table.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let linear: Vec<&str> = table.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(linear[0], "linear");
    let mean: f64 = linear[col("test.accuracy.mean")].parse().unwrap();
    let hi: f64 = linear[col("test.accuracy.ci95_high")].parse().unwrap();
    assert_eq!(linear[col("verdict")], "not reproduced", "0.5 is far above a linear model's ~0.3");

    // A published value just outside the CI but within the tolerance is reproduced; the
    // tables are rebuilt from the stored trials (same ids: the reference is not part of them).
    let file = s.file("repro.toml", &REDUCED.replace("VALUE_LINEAR", &format!("{}", hi + 0.005)));
    let out = s.run(&file, &["--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["skipped"], 6, "changing [reference] reruns nothing: {v}");
    let exp = s.results().join("repro");
    let csv = std::fs::read_to_string(exp.join("table.csv")).unwrap();
    let linear: Vec<&str> = csv.lines().nth(1).unwrap().split(',').collect();
    assert_eq!(linear[col("verdict")], "reproduced");
    let mlp: Vec<&str> = csv.lines().nth(2).unwrap().split(',').collect();
    assert_eq!(mlp[col("verdict")], "not reproduced");
    assert_eq!(mlp[col("best")], "true");
    let p: f64 = linear[col("p_vs_best")].parse().unwrap();
    assert!(p < 0.05, "mlp is clearly better than linear: p = {p}");
    assert!((linear[col("difference")].parse::<f64>().unwrap() - (mean - (hi + 0.005))).abs() < 1e-9);

    let md = std::fs::read_to_string(exp.join("table.md")).unwrap();
    assert!(md.contains("A made-up paper (2026) <https://example.org/paper>"), "{md}");
    assert!(md.contains("| linear | 3 |") && md.contains("| reproduced |"), "{md}");
    assert!(md.contains("**mlp**") && md.contains("**not reproduced**"), "{md}");
    let tex = std::fs::read_to_string(exp.join("table.tex")).unwrap();
    assert!(tex.contains("\\toprule") && tex.contains("\\bottomrule"), "{tex}");
    assert!(tex.contains("\\textbf{mlp}") && tex.contains("\\mathbf{"), "{tex}");
    assert!(tex.contains("test.accuracy") && tex.contains("not reproduced"), "{tex}");
    let svg = std::fs::read_to_string(exp.join("curves.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("linear") && svg.contains("mlp"));
    // One ± std band (a filled polygon) per curve.
    assert_eq!(svg.matches("<polygon").count(), 2);
}

#[test]
fn a_reference_row_naming_no_variant_is_an_error() {
    let s = Scratch::new();
    let f = s.file("bad.toml", &REDUCED.replace("VALUE_LINEAR", "0.3").replace("label = \"mlp\"", "label = \"mpl\""));
    let out = s.burnlab(&["validate", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("reference.rows[1].label") && err.contains("did you mean `mlp`?"), "{err}");
}
