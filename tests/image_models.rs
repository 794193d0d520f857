//! The image models through the whole program: a `cnn` with batch norm, pooling, dropout and a
//! dense head, and a `resnet`, trained on `digits` by `burnlab run` (finite losses, summaries,
//! the same numbers from the same seed), their saved models evaluated again by `burnlab eval`
//! (batch norm's running statistics saved with the weights), killed runs that resume with the
//! numbers of an uninterrupted one (running statistics in the checkpoints), `burnlab list`,
//! and the located errors of bad combinations.

mod common;
mod resume_common;

use common::{Scratch, prefixed, stderr, stdout, summary, trial_dirs};
use serde_json::Value;

const EXPERIMENT: &str = r#"name = "images"
seeds = [0]

[dataset]
name = "digits"
validation = 0.1

[training]
lr = 0.01
steps = 20
eval_every = 10
batch_size = 32

[report]
select = "best"

[[models]]
label = "cnn-bn-pool"
family = "cnn"
dim = 2
channels = [4, 8]
kernels = 3
strides = 1
padding = 1
batch_norm = true
pool = ["max", "avg"]
dropout = 0.1
head = [16]
head_dropout = 0.2

[[models]]
family = "resnet"
depth = 8
width = 4
"#;

/// Runs the experiment in a fresh scratch directory: the scratch and each trial's summary.
fn run() -> (Scratch, Vec<(std::path::PathBuf, Value)>) {
    let s = Scratch::new();
    let file = s.file("images.toml", EXPERIMENT);
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let trials = trial_dirs(&s.results(), "images").into_iter().map(|d| (d.clone(), summary(&d))).collect();
    (s, trials)
}

#[test]
fn cnn_and_resnet_train_on_digits_reproducibly_and_their_saved_models_evaluate_exactly() {
    let (s, first) = run();
    let (_, second) = run();
    assert_eq!(first.len(), 2);
    assert!(s.results().join("images").join("table.md").is_file());
    for ((dir, a), (_, b)) in first.iter().zip(&second) {
        assert_eq!(a["status"], "completed", "{}", dir.display());
        let loss = a["final_metrics"]["valid.loss"].as_f64().unwrap();
        assert!(loss.is_finite() && loss > 0.0, "{loss}");
        assert!(prefixed(&a["final_metrics"], "test.").len() >= 3);
        // Same configuration, same seed: the same numbers.
        assert_eq!(a["final_metrics"], b["final_metrics"], "{}", dir.display());
        // The saved weights (with the running statistics) give exactly the reported metrics.
        let eval = s.burnlab(&["eval", dir.to_str().unwrap(), "--json"]);
        assert!(eval.status.success(), "{}", stderr(&eval));
        let eval: Value = serde_json::from_str(&stdout(&eval)).unwrap();
        assert_eq!(prefixed(&eval["metrics"], "test."), prefixed(&a["final_metrics"], "test."));
    }
}

#[test]
fn list_shows_resnet_with_its_defaults() {
    let out = Scratch::new().burnlab(&["list"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let line = text.lines().find(|l| l.contains("resnet")).unwrap_or_else(|| panic!("{text}"));
    assert!(text.contains("depth = 20") && text.contains("width = 16"), "{line}\n{text}");
}

/// `burnlab plan` on the experiment with the model table `model`: its exit code and stderr.
fn plan(model: &str) -> (Option<i32>, String) {
    let s = Scratch::new();
    let text = format!("name = \"bad\"\nseeds = [0]\n[dataset]\nname = \"digits\"\n[[models]]\n{model}");
    let file = s.file("bad.toml", &text);
    let out = s.burnlab(&["plan", file.to_str().unwrap()]);
    (out.status.code(), stderr(&out))
}

#[test]
fn bad_image_models_are_located_errors() {
    // 8x8 -> conv 8x8 -> pool 4x4 -> conv 4x4 -> pool 2x2 -> conv 2x2: a window of 3 does not fit.
    let (code, err) = plan(
        "family = \"cnn\"\ndim = 2\nchannels = [4, 4, 4]\nkernels = 3\nstrides = 1\npool = \"max\"\npool_size = [2, 2, 3]\n",
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("bad.toml:") && err.contains("pool_size") && err.contains("layer 3"), "{err}");
    let (code, err) = plan("family = \"cnn\"\ndim = 2\nchannels = [4]\npool = \"maxx\"\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("\"max\", \"avg\" or \"none\""), "{err}");
    let (code, err) = plan("family = \"resnet\"\ndepth = 10\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("bad.toml:") && err.contains("the nearest are 8 and 14"), "{err}");
}

/// The two models on `digits`, checkpointed every 10 steps (between evaluations as well as
/// at them), selecting the best evaluation; `BACKEND` is replaced.
const RESUMED: &str = r#"name = "r"
backend = "BACKEND"
seeds = [0]

[dataset]
name = "digits"
validation = 0.1

[training]
lr = 0.01
steps = 150
eval_every = 20
log_every = 10
checkpoint_every = 10
batch_size = 32

[report]
select = "best"

[[models]]
family = "cnn"
dim = 2
channels = [4, 8]
kernels = 3
strides = 1
padding = 1
batch_norm = true
pool = "max"
dropout = 0.1
head = [16]

[[models]]
family = "resnet"
depth = 8
width = 4
"#;

#[test]
fn killed_image_model_runs_resume_with_identical_numbers() {
    resume_common::killed_runs_end_as_uninterrupted(RESUMED, "flex", 2);
}
