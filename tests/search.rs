//! Adaptive search and pruning through the real binary (docs/search.md): `[sweep] pruner`
//! errors, `--jobs 1` reproducibility of a tpe + asha sweep, raising its budget, and
//! kill-and-resume with every trial run and decided exactly once.

mod common;
mod resume_common;
mod search_common;

use common::{Scratch, stderr, summary, trial_dirs};
use rand::{Rng, SeedableRng};
use resume_common::{finish, signal, start};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

/// A tpe + asha search over an MLP's learning rate and width: rungs at 4, 8, 16 steps.
fn search(trials: usize) -> String {
    search_common::tpe_asha("s", trials, 3, (16, 4))
}

fn events(results: &Path) -> Vec<Value> {
    std::fs::read_to_string(results.join("s/search.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

#[test]
fn pruner_mistakes_are_located_with_a_suggestion_and_exit_2() {
    let s = Scratch::new();
    let cases = [
        ("kind = \"ashaa\", min_steps = 4", "unknown value `ashaa`", "did you mean `asha`?"),
        ("kind = \"asha\", min_step = 4", "unknown key `min_step`", "did you mean `min_steps`?"),
        ("kind = \"asha\", min_steps = 4, metric = \"valid.acuracy\"", "not a metric `mlp` records", "valid.accuracy"),
        ("kind = \"asha\", min_steps = 4, metric = \"test.accuracy\"", "not evaluated during", "valid.accuracy"),
        ("kind = \"median\", min_steps = 4", "applies to kind = asha, hyperband only", ""),
        ("kind = \"asha\"", "needs `min_steps`", ""),
    ];
    for (pruner, message, help) in cases {
        let text =
            search(3).replace("{ kind = \"asha\", min_steps = 4, reduction_factor = 2 }", &format!("{{ {pruner} }}"));
        let file = s.file("bad.toml", &text);
        let out = s.burnlab(&["validate", file.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{pruner}: {err}");
        assert!(err.contains(message) && err.contains(help), "{pruner}: {err}");
        assert!(err.contains("bad.toml:22:"), "{pruner}: located at the pruner line: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // The Slurm driver submits as it goes: there is no whole script for --dry-run to write.
    let file = s.file("slurm.toml", &search(3));
    let out = s.burnlab(&["run", file.to_str().unwrap(), "--executor", "slurm", "--results", "r", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("submits its trials as it goes"), "{}", stderr(&out));
    assert!(!s.path().join("r").exists(), "nothing written");
}

/// Each trial's status and step from its summary, by id.
fn statuses(results: &Path) -> BTreeMap<String, (String, u64)> {
    trial_dirs(results, "s")
        .iter()
        .filter(|d| d.join("summary.json").exists())
        .map(|d| {
            let s = summary(d);
            (
                s["id"].as_str().unwrap().to_string(),
                (s["status"].as_str().unwrap().to_string(), s["steps"].as_u64().unwrap()),
            )
        })
        .collect()
}

#[test]
fn with_jobs_1_the_same_file_gives_the_same_log_and_tables_and_a_larger_budget_continues() {
    let s = Scratch::new();
    let file = s.file("s.toml", &search(5));
    for r in ["a", "b"] {
        let out = s.burnlab(&["run", file.to_str().unwrap(), "--results", r, "--quiet", "--jobs", "1"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let (a, b) = (s.path().join("a"), s.path().join("b"));
    let log = std::fs::read_to_string(a.join("s/search.jsonl")).unwrap();
    assert_eq!(log, std::fs::read_to_string(b.join("s/search.jsonl")).unwrap());
    for t in ["table.md", "table.csv"] {
        assert_eq!(
            std::fs::read_to_string(a.join("s").join(t)).unwrap(),
            std::fs::read_to_string(b.join("s").join(t)).unwrap(),
            "{t}"
        );
    }
    let ev = events(&a);
    assert_eq!(of_kind(&ev, "proposal").len(), 5);
    let st = statuses(&a);
    assert_eq!(st.len(), 5);
    let pruned: BTreeSet<&String> = st.iter().filter(|(_, (s, _))| s == "pruned").map(|(id, _)| id).collect();
    let decided: BTreeSet<&str> = of_kind(&ev, "report")
        .iter()
        .filter(|e| e["decision"] == "prune")
        .map(|e| e["trial"].as_str().unwrap())
        .collect();
    assert!(!pruned.is_empty(), "asha pruned a trial: {log}");
    assert_eq!(pruned.iter().map(|s| s.as_str()).collect::<BTreeSet<_>>(), decided);
    // A pruned trial stopped at the step of the decision (its worker waits for each one) and
    // shows apart in the table.
    let pruned_at: BTreeSet<(&str, u64)> =
        st.iter().filter(|(_, (s, _))| s == "pruned").map(|(id, (_, steps))| (id.as_str(), *steps)).collect();
    let decided_at: BTreeSet<(&str, u64)> = of_kind(&ev, "report")
        .iter()
        .filter(|e| e["decision"] == "prune")
        .map(|e| (e["trial"].as_str().unwrap(), e["step"].as_u64().unwrap()))
        .collect();
    assert_eq!(pruned_at, decided_at);
    assert!(std::fs::read_to_string(a.join("s/table.md")).unwrap().contains("pruned"));
    // 5 -> 7 proposals continues the same search: the first 5 proposals are kept, 2 more run.
    let file = s.file("s.toml", &search(7));
    let out = s.burnlab(&["run", file.to_str().unwrap(), "--results", "a", "--quiet", "--jobs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let more = std::fs::read_to_string(a.join("s/search.jsonl")).unwrap();
    assert!(more.starts_with(&log));
    assert_eq!(of_kind(&events(&a), "proposal").len(), 7);
    assert_eq!(statuses(&a).len(), 7);
}

#[test]
fn a_killed_tpe_asha_search_resumes_with_every_trial_run_and_decided_once() {
    let s = Scratch::new();
    let file = s.file("s.toml", &search(6));
    let seed: u64 = rand::random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for _ in 0..3 {
        let mut child = start(&s, &file, "r");
        std::thread::sleep(Duration::from_millis(rng.random_range(300..2000)));
        signal(-(child.id() as i32), libc::SIGKILL);
        child.wait().unwrap();
    }
    finish(&s, &file, "r");
    let results = s.path().join("r");
    let ev = events(&results);
    let proposals = of_kind(&ev, "proposal");
    let numbers: Vec<u64> = proposals.iter().map(|p| p["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (0..6).collect::<Vec<_>>(), "each proposal once (seed {seed})");
    let ids: Vec<&str> =
        proposals.iter().flat_map(|p| p["trials"].as_array().unwrap()).map(|t| t.as_str().unwrap()).collect();
    let st = statuses(&results);
    for id in &ids {
        let (status, _) = st.get(*id).unwrap_or_else(|| panic!("trial {id} has a summary (seed {seed})"));
        assert!(["completed", "pruned", "diverged"].contains(&status.as_str()), "{id}: {status} (seed {seed})");
    }
    // Every trial finished once, and every (trial, step) decided once.
    let finished: Vec<&str> = of_kind(&ev, "finished").iter().map(|e| e["trial"].as_str().unwrap()).collect();
    assert_eq!(finished.iter().collect::<BTreeSet<_>>().len(), finished.len(), "(seed {seed})");
    assert_eq!(finished.iter().copied().collect::<BTreeSet<_>>(), ids.iter().copied().collect(), "(seed {seed})");
    let reports: Vec<(String, u64)> = of_kind(&ev, "report")
        .iter()
        .map(|e| (e["trial"].as_str().unwrap().to_string(), e["step"].as_u64().unwrap()))
        .collect();
    assert_eq!(reports.iter().collect::<BTreeSet<_>>().len(), reports.len(), "a step decided twice (seed {seed})");
    // A trial is pruned exactly when a decision pruned it.
    let decided: BTreeSet<&str> = of_kind(&ev, "report")
        .iter()
        .filter(|e| e["decision"] == "prune")
        .map(|e| e["trial"].as_str().unwrap())
        .collect();
    let pruned: BTreeSet<&str> = st.iter().filter(|(_, (s, _))| s == "pruned").map(|(id, _)| id.as_str()).collect();
    assert_eq!(decided, pruned, "(seed {seed})");
    // No evaluation was recorded twice in a trial's metrics.csv.
    for d in trial_dirs(&results, "s") {
        let csv = std::fs::read_to_string(d.join("metrics.csv")).unwrap();
        let rows: Vec<&str> = csv.lines().skip(1).map(|l| l.rsplit_once(',').unwrap().0).collect();
        assert_eq!(rows.iter().collect::<BTreeSet<_>>().len(), rows.len(), "{} (seed {seed})", d.display());
    }
}
