//! The worked example `examples/pytorch-command/`: its experiment file, run through the real
//! binary with a small budget (one learning rate, one seed, a narrower MLP set on both
//! variants), trains burnlab's `mlp` and the example's `train.py` (PyTorch, a
//! `family = "command"` variant) on the same splits; `train.py` gets its free-form keys, builds
//! the same network and reports every metric the table needs.
//!
//! Needs a python with torch and numpy: the venv of `scripts/setup-torch-venv`
//! (`$BURNLAB_TORCH_VENV`, default `~/.cache/burnlab/torch-2.9.0`), which `scripts/test`
//! creates (torch 2.11.0) and exports before the tests. Without one the test prints why and passes without running.

mod common;

use common::{Scratch, stderr, summary, torch_venv, trial_dirs};

/// The example's experiment file, relative to the checkout (its `workdir` is relative to the
/// directory `burnlab run` runs in: the checkout).
const EXPERIMENT: &str = "examples/pytorch-command/pytorch-command.toml";

#[test]
fn the_pytorch_example_trains_beside_mlp_and_reports_like_it() {
    let venv = match torch_venv() {
        Ok(v) => v,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    let s = Scratch::new();
    let results = s.results();
    let path = format!("{}:{}", venv.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    #[rustfmt::skip]
    let sets = [
        "seeds=[0]", "training.steps=300", "training.eval_every=100", r#"sweep.params={"training.lr"=[1e-2]}"#,
        // A width other than the default on both variants: the free-form key must reach train.py.
        "models.0.hidden=32", "models.1.hidden=32",
    ];
    let mut args = vec!["run", EXPERIMENT, "--results", results.to_str().unwrap(), "--quiet", "--jobs", "2"];
    args.extend(sets.iter().flat_map(|kv| ["--set", kv]));
    let out = s.command(&args).current_dir(env!("CARGO_MANIFEST_DIR")).env("PATH", path).output().unwrap();
    assert!(out.status.success(), "burnlab run failed:\n{}", stderr(&out));

    let trials: Vec<_> = trial_dirs(&results, "pytorch-command").iter().map(|d| summary(d)).collect();
    let by_label = |label: &str| {
        trials.iter().find(|t| t["label"] == label).unwrap_or_else(|| panic!("no `{label}` trial in {trials:?}"))
    };
    let (burn, torch) = (by_label("mlp"), by_label("mlp-pytorch"));
    // 40 -> 32 -> 32 -> 10 with biases: the same network on both sides.
    let params: u64 = 40 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10;
    let accuracy = |t: &serde_json::Value| t["final_metrics"]["test.accuracy"].as_f64().unwrap();
    for t in [burn, torch] {
        assert_eq!((t["status"].as_str(), t["steps"].as_u64()), (Some("completed"), Some(300)), "{t}");
        assert_eq!(t["num_params"], params, "{t}");
        for m in ["train.loss", "valid.loss", "valid.accuracy", "test.loss", "test.accuracy"] {
            assert!(t["final_metrics"][m].is_number(), "{} has no final {m}: {t}", t["label"]);
        }
        // Ten classes: chance is 0.1; 300 steps of either reach about 0.5.
        assert!(accuracy(t) > 0.35, "{}: test accuracy {}", t["label"], accuracy(t));
    }
    let gap = (accuracy(burn) - accuracy(torch)).abs();
    assert!(gap < 0.15, "mlp {} vs mlp-pytorch {}: the same model and loop", accuracy(burn), accuracy(torch));

    // train.py's lines are the trial's metrics, as a built-in family's: the training loss every
    // log_every (10) steps, the validation split every eval_every steps, the test split once.
    let dir = results.join("pytorch-command/trials").join(torch["id"].as_str().unwrap());
    let csv = std::fs::read_to_string(dir.join("metrics.csv")).unwrap();
    let rows = |split: &str, metric: &str| -> Vec<u64> {
        csv.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f.get(1..3) == Some(&[split, metric][..])).then(|| f[0].parse().unwrap())
            })
            .collect()
    };
    assert_eq!(rows("train", "loss"), (1..=30).map(|i| i * 10).collect::<Vec<u64>>());
    assert_eq!(rows("valid", "accuracy"), [100, 200, 300]);
    assert_eq!(rows("test", "accuracy"), [300]);
    let table = std::fs::read_to_string(results.join("pytorch-command/table.md")).unwrap();
    assert!(table.contains("| mlp-pytorch |") || table.contains("**mlp-pytorch**"), "{table}");
}
