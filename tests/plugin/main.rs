//! Adding a model family or a dataset takes one file and one registry line: `tiny`
//! (tests/plugin/tiny.rs) and `blobs` (tests/plugin/blobs.rs), compiled only for this test, are
//! added to burnlab's CLI below, the way a user's crate would add its own
//! (`burnlab::plugin`), and driven through that binary: `list`, `validate`, `plan`, `run`
//! (worker processes included) and the did-you-mean of a misspelt name.
//!
//! This test target is its own binary (`harness = false` in Cargo.toml): with
//! `BURNLAB_PLUGIN_CLI` set it is the CLI (as are the workers it spawns, which inherit the
//! variable); without, it runs the tests below against itself.

mod blobs;
#[path = "../common/mod.rs"]
mod common;
mod tiny;

use burnlab::plugin::Registry;
use common::{Scratch, stderr, stdout, summary, trial_dirs};
use std::path::Path;
use std::process::{Command, Output};

/// Set in the environment of the CLI runs of this binary.
const CLI: &str = "BURNLAB_PLUGIN_CLI";

/// burnlab's registry with the two test-only additions, one line each.
fn registry() -> Registry {
    Registry::builtin().with_family::<tiny::TinySpec>().with_dataset::<blobs::BlobsOptions>()
}

/// Two seeds of `tiny` and of a built-in family on `blobs`, a few steps each.
const EXPERIMENT: &str = r#"name = "plug"
seeds = [0, 1]

[dataset]
name = "blobs"
length = 6

[training]
lr = 0.05
batch_size = 20
steps = 20
eval_every = 10
log_every = 5

[[models]]
family = "tiny"
hidden = 3

[[models]]
family = "mlp"
hidden = 8
"#;

/// This binary as the CLI: `ARGS` in the scratch dir, with the checkout's datasets.
fn cli(s: &Scratch, args: &[&str]) -> Output {
    Command::new(std::env::current_exe().unwrap())
        .args(args)
        .current_dir(s.path())
        .env(CLI, "1")
        .env("BURNLAB_DATASETS", Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"))
        .output()
        .unwrap()
}

fn plugins_are_planned_and_trained_through_the_binary() {
    let s = Scratch::new();
    let list = cli(&s, &["list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let text = stdout(&list);
    assert!(text.contains("  tiny ") && text.contains("defaults: hidden = 4"), "{text}");
    assert!(
        text.contains("  blobs ") && text.contains("options: length = 8, n_test = 100, n_train = 200, seed = 0"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(&cli(&s, &["list", "--json"]).stdout).unwrap();
    let names = |k: &str| {
        json[k].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(names("families").last().map(String::as_str), Some("tiny"));
    assert_eq!(names("datasets").last().map(String::as_str), Some("blobs"));

    let file = s.file("plug.toml", EXPERIMENT);
    let file = file.to_str().unwrap();
    let validate = cli(&s, &["validate", file]);
    assert!(validate.status.success(), "{}", stderr(&validate));
    let plan = cli(&s, &["plan", file, "--json"]);
    assert!(plan.status.success(), "{}", stderr(&plan));
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let families: Vec<&str> =
        plan["trials"].as_array().unwrap().iter().map(|t| t["family"].as_str().unwrap()).collect();
    assert_eq!(families, ["tiny", "tiny", "mlp", "mlp"], "{plan}");

    let run = cli(&s, &["run", file, "--results", "results", "--quiet", "--jobs", "2"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let dirs = trial_dirs(&s.results(), "plug");
    assert_eq!(dirs.len(), 4);
    for d in &dirs {
        let sum = summary(d);
        assert_eq!(sum["status"], "completed", "{sum}");
        assert!(sum["final_metrics"]["test.accuracy"].as_f64().is_some(), "{sum}");
        let config = std::fs::read_to_string(d.join("config.toml")).unwrap();
        assert!(config.contains("name = \"blobs\""), "{config}");
    }
    let table = std::fs::read_to_string(s.results().join("plug").join("table.md")).unwrap();
    assert!(table.contains("tiny") && table.contains("mlp"), "{table}");
    // A second run finds every trial finished: the stored plan reads back through the registry.
    let again = cli(&s, &["run", file, "--results", "results", "--json"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["skipped"], 4, "{again}");
}

/// A dataset with its own validation split: it is evaluated during training, the test split
/// once at the end (on the best weights with `select = "best"`), and every file names the split.
fn a_validation_split_is_evaluated_during_training_and_the_test_split_once() {
    let s = Scratch::new();
    let exp = EXPERIMENT
        .replace("seeds = [0, 1]", "seeds = [0]")
        .replace("length = 6", "length = 6\nn_valid = 40")
        .replace("[[models]]\nfamily = \"mlp\"\nhidden = 8\n", "")
        + "\n[report]\nselect = \"best\"\n";
    let file = s.file("valid.toml", &exp);
    let run = cli(&s, &["run", file.to_str().unwrap(), "--results", "results", "--quiet"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let dirs = trial_dirs(&s.results(), "plug");
    assert_eq!(dirs.len(), 1);
    let metrics = std::fs::read_to_string(dirs[0].join("metrics.csv")).unwrap();
    let rows: Vec<(&str, &str)> = metrics.lines().skip(1).map(|l| l.split_once(',').unwrap()).collect();
    let at = |split: &str| -> Vec<&str> {
        rows.iter().filter(|(_, r)| r.starts_with(&format!("{split},"))).map(|(s, _)| *s).collect()
    };
    // accuracy, loss and macro-F1 (2 classes: no top-5 accuracy).
    assert_eq!(at("valid"), ["10", "10", "10", "20", "20", "20"], "{metrics}");
    assert_eq!(at("test"), ["20", "20", "20"], "test values only at the end: {metrics}");
    let sum = summary(&dirs[0]);
    assert_eq!(sum["status"], "completed", "{sum}");
    let names: Vec<&str> = sum["final_metrics"].as_object().unwrap().keys().map(String::as_str).collect();
    let expected = ["test.accuracy", "test.loss", "test.macro_f1", "train.loss", "valid.accuracy", "valid.loss"];
    assert_eq!(names, [&expected[..], &["valid.macro_f1"]].concat(), "{sum}");
    assert!(sum["selected_step"] == 10 || sum["selected_step"] == 20, "{sum}");
    let config = std::fs::read_to_string(dirs[0].join("config.toml")).unwrap();
    assert!(config.contains("[select_best]") && config.contains("metric = \"test.accuracy\""), "{config}");
    let table = std::fs::read_to_string(s.results().join("plug").join("table.md")).unwrap();
    assert!(table.contains("The **best** row is chosen on `valid.accuracy` (validation split)"), "{table}");
    assert!(table.contains("| n | valid.accuracy | test.accuracy |"), "{table}");

    // `select = "best"` is part of a trial's identity; `"final"`, the default, is not.
    let ids = |select: &str| {
        let f = s.file("ids.toml", &format!("{EXPERIMENT}\n[report]\n{select}\n"));
        let plan = cli(&s, &["plan", f.to_str().unwrap(), "--json"]);
        let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
        plan["trials"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect::<Vec<_>>()
    };
    assert_eq!(ids(""), ids("select = \"final\""));
    assert!(ids("").iter().zip(ids("select = \"best\"")).all(|(a, b)| a != &b));
}

fn misspelt_plugin_names_get_a_did_you_mean() {
    let s = Scratch::new();
    for (from, to, want) in [
        ("family = \"tiny\"", "family = \"tinny\"", ["unknown value `tinny`", "did you mean `tiny`?"]),
        ("name = \"blobs\"", "name = \"blob\"", ["unknown value `blob`", "did you mean `blobs`?"]),
        ("hidden = 3", "hiden = 3", ["`models[0].hiden`", "did you mean `hidden`?"]),
    ] {
        let file = s.file("bad.toml", &EXPERIMENT.replace(from, to));
        let out = cli(&s, &["validate", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        for w in want {
            assert!(stderr(&out).contains(w), "{to}: {}", stderr(&out));
        }
    }
}

fn main() {
    if std::env::var_os(CLI).is_some() {
        std::process::exit(burnlab::plugin::main_with(registry()));
    }
    let tests: [(&str, fn()); 3] = [
        ("plugins_are_planned_and_trained_through_the_binary", plugins_are_planned_and_trained_through_the_binary),
        (
            "a_validation_split_is_evaluated_during_training_and_the_test_split_once",
            a_validation_split_is_evaluated_during_training_and_the_test_split_once,
        ),
        ("misspelt_plugin_names_get_a_did_you_mean", misspelt_plugin_names_get_a_did_you_mean),
    ];
    // Name filters as libtest takes them; flags (`--test-threads=1`) and their values are ignored.
    let filters: Vec<String> =
        std::env::args().skip(1).filter(|a| !a.starts_with('-') && a.parse::<usize>().is_err()).collect();
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in tests {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        let ok = std::panic::catch_unwind(test).is_ok();
        println!("test {name} ... {}", if ok { "ok" } else { "FAILED" });
        if !ok {
            failed.push(name);
        }
    }
    let result = if failed.is_empty() { "ok" } else { "FAILED" };
    println!("\ntest result: {result}. {} passed; {} failed", ran - failed.len(), failed.len());
    if !failed.is_empty() {
        std::process::exit(101);
    }
}
