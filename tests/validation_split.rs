//! `dataset.validation` from the command line: its errors (exit code 2, the key and where it
//! is written), `--set` and sweeps of it as seen by `burnlab plan --json`, and the trial ids of
//! the shipped paper reproductions, which keep `validation = 0`.

mod common;

use common::*;
use std::path::Path;

/// An experiment on `longrange` (small) with `extra` appended to `[dataset]` and `tail` at the end.
fn experiment(extra: &str, tail: &str) -> String {
    format!(
        "name = \"t\"\nseeds = [0, 1]\n\n[dataset]\nname = \"longrange\"\nn_train = 200\n{extra}\n\n[training]\nsteps = 5\n\n[[models]]\nfamily = \"linear\"\n{tail}"
    )
}

/// The trial ids `burnlab plan FILE --json ARGS` lists.
fn plan_ids(s: &Scratch, text: &str, args: &[&str]) -> Vec<String> {
    let file = s.file("e.toml", text);
    let mut all = vec!["plan", file.to_str().unwrap(), "--json"];
    all.extend_from_slice(args);
    let out = s.burnlab(&all);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    plan["trials"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
}

/// `burnlab validate` on `text` (plus `args`): fails with exit code 2; returns stderr.
fn refused(s: &Scratch, text: &str, args: &[&str]) -> String {
    let file = s.file("e.toml", text);
    let mut all = vec!["validate", file.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = s.burnlab(&all);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    stderr(&out)
}

#[test]
fn set_and_sweep_give_the_trials_the_file_gives() {
    let s = Scratch::new();
    let default = plan_ids(&s, &experiment("", ""), &[]);
    let written = plan_ids(&s, &experiment("validation = 0.1", ""), &[]);
    assert_eq!(default, written, "an absent key is the dataset's default, 0.1");
    let set = plan_ids(&s, &experiment("", ""), &["--set", "dataset.validation=0.2"]);
    let file = plan_ids(&s, &experiment("validation = 0.2", ""), &[]);
    assert_eq!(set, file);
    assert_ne!(set, default);
    let zero = plan_ids(&s, &experiment("", ""), &["--set", "dataset.validation=0"]);
    assert_eq!(zero, plan_ids(&s, &experiment("validation = 0.0", ""), &[]));
    assert_ne!(zero, default);
    // A grid over the key: each point is the trial of the file with that value.
    let swept = plan_ids(&s, &experiment("", "[sweep.params]\n\"dataset.validation\" = [0.1, 0.2]\n"), &[]);
    assert_eq!(swept, [default[0].clone(), default[1].clone(), file[0].clone(), file[1].clone()]);
}

#[test]
fn bad_values_name_the_key_and_where_it_is_written() {
    let s = Scratch::new();
    let e = refused(&s, &experiment("validation = 1.0", ""), &[]);
    assert!(e.contains("e.toml:7:14"), "{e}");
    assert!(e.contains("`dataset.validation` must be at least 0 and below 1"), "{e}");
    let e = refused(&s, &experiment("validation = \"a tenth\"", ""), &[]);
    assert!(e.contains("e.toml:7:14") && e.contains("`dataset.validation`: invalid type: string"), "{e}");
    let e = refused(&s, &experiment("", ""), &["--set", "dataset.validation=-0.5"]);
    assert!(e.contains("--set dataset.validation=-0.5") && e.contains("got -0.5"), "{e}");
    let e = refused(&s, &experiment("", "[sweep.params]\n\"dataset.validation\" = [0.1, 1.5]\n"), &[]);
    assert!(e.contains("e.toml:15:") && e.contains("`dataset.validation` must be at least 0"), "{e}");
    let e = refused(&s, &experiment("validaton = 0.2", ""), &[]);
    assert!(e.contains("unknown key `validaton`") && e.contains("did you mean `validation`?"), "{e}");
    // A table whose split column says which rows are validation rows.
    s.file("d.csv", "a,y,fold\n1,x,train\n2,z,train\n3,x,valid\n4,z,test\n");
    let table = "name = \"t\"\n[dataset]\nname = \"table\"\npath = \"d.csv\"\nlabel = \"y\"\nfeatures = [\"a\"]\nsplit = \"fold\"\nvalidation = 0.2\n[training]\nbatch_size = 1\n[[models]]\nfamily = \"linear\"\n";
    let e = refused(&s, table, &[]);
    assert!(e.contains("e.toml:8:14") && e.contains("has its own validation split"), "{e}");
}

#[test]
fn the_paper_reproductions_keep_their_committed_trial_ids() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["mnist1d", "gan-digits", "gan-mnist1d", "gan-mixtures"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_burnlab"))
            .args(["plan", &format!("experiments/{name}.toml"), "--json"])
            .current_dir(root)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let ids = |plan: serde_json::Value| -> Vec<String> {
            plan["trials"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_string()).collect()
        };
        let now = ids(serde_json::from_str(&stdout(&out)).unwrap());
        let text = std::fs::read_to_string(root.join(format!("results/{name}/plan.json"))).unwrap();
        assert_eq!(now, ids(serde_json::from_str(&text).unwrap()), "{name}");
    }
}
