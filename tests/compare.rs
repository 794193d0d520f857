//! `burnlab compare` across two results directories, `burnlab report` on a directory without
//! its per-trial folders (committed results), and the errors of `[[claims]]` and of the
//! `[reference]` spread keys, through the real binary.

mod common;

use common::*;

const BASE: &str = r#"
name = "NAME"
seeds = [0, 1]

[dataset]
name = "mnist1d"

[training]
lr = LR
batch_size = 50
steps = 20
eval_every = 10

[[models]]
family = "linear"

[[models]]
family = "mlp"
hidden = 16
"#;

fn experiment(s: &Scratch, name: &str, lr: &str) -> std::path::PathBuf {
    let file = s.file(&format!("{name}.toml"), &BASE.replace("NAME", name).replace("LR", lr));
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    s.results().join(name)
}

#[test]
fn compare_pools_two_experiments_and_report_rebuilds_without_trials() {
    let s = Scratch::new();
    let (a, b) = (experiment(&s, "a", "1e-2"), experiment(&s, "b", "3e-3"));
    let out_dir = s.path().join("cmp");
    let args = ["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--output", out_dir.to_str().unwrap()];
    let out = s.burnlab(&args);
    assert!(out.status.success(), "{}", stderr(&out));
    let md = std::fs::read_to_string(out_dir.join("table.md")).unwrap();
    assert!(md.contains("| variant | experiment | dataset | n |"), "{md}");
    assert_eq!(md.lines().filter(|l| l.starts_with("| ")).count(), 1 + 4, "{md}");
    // The same variants with the same seeds: compared across the experiments, paired by seed.
    assert!(md.contains("- linear dataset=mnist1d: b vs a: "), "{md}");
    assert!(md.contains("- mlp dataset=mnist1d: b vs a: "), "{md}");
    assert!(!md.contains("paired t p = –"), "{md}");
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("<table id=\"comparison\""));
    // A metric no trial recorded is a user error.
    let bad = s.burnlab(&["compare", a.to_str().unwrap(), b.to_str().unwrap(), "--metric", "test.nope"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("no trial of these directories recorded `test.nope`"), "{}", stderr(&bad));

    // Committed results have no trials/: the tables come back from summary.csv.
    let before = std::fs::read_to_string(a.join("table.md")).unwrap();
    let summary = std::fs::read(a.join("summary.csv")).unwrap();
    std::fs::remove_dir_all(a.join("trials")).unwrap();
    let out = s.burnlab(&["report", a.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(a.join("table.md")).unwrap(), before);
    assert_eq!(std::fs::read(a.join("summary.csv")).unwrap(), summary, "summary.csv is left as it was");
    assert!(std::fs::read_to_string(a.join("report.html")).unwrap().contains("Rebuilt from summary.csv"));
}

#[test]
fn bad_claims_and_reference_spreads_name_their_key() {
    let s = Scratch::new();
    let base = BASE.replace("NAME", "e").replace("LR", "1e-2");
    let cases = [
        ("[[claims]]\nclaim = \"mlp >> linear\"\n", "`claims[0].claim` must be `A > B` or `A < B`"),
        ("[[claims]]\nclaim = \"mlp > lineer\"\n", "`claims[0].claim` names no model variant: `lineer`"),
        (
            "[[claims]]\nclaim = \"mlp > linear\"\ndataset = \"digits\"\n",
            "`claims[0].dataset` = \"digits\" is not a dataset",
        ),
        ("[[claims]]\nclaim = \"mlp > linear\"\nalpha = 1.5\n", "`claims[0].alpha` must be between 0 and 1"),
        (
            "[reference]\nsource = \"x\"\nrows = [{ label = \"mlp\", value = 0.5, std = 0.01 }]\n",
            "`reference.rows[0].std` needs `n`",
        ),
        (
            "[reference]\nsource = \"x\"\nrows = [{ label = \"mlp\", value = 0.5, std = 0.01, n = 1 }]\n",
            "`reference.rows[0].n` must be at least 2",
        ),
    ];
    for (i, (extra, want)) in cases.iter().enumerate() {
        let file = s.file(&format!("c{i}.toml"), &format!("{base}\n{extra}"));
        let out = s.burnlab(&["validate", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{extra}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(want), "{extra}: {err}");
        assert!(err.contains(&format!("c{i}.toml:")), "located: {err}");
    }
    let ok =
        s.file("ok.toml", &format!("{base}\n[[claims]]\nclaim = \"mlp, linear < linear\"\ndataset = \"mnist1d\"\n"));
    let out = s.burnlab(&["validate", ok.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}
