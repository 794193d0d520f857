//! A corpus of hostile experiment files (`tests/hostile/*.toml`): sizes that could not run,
//! overflows, wrong types, duplicate keys, deep nesting, huge plans, odd bytes. Each goes through
//! `burnlab validate` and `burnlab run` under a 4 GiB address-space limit: exit code 2, the
//! message at the expected location with the expected fragments, no panic, nothing written,
//! and an answer within a few seconds.
//!
//! Each file's second line says what is expected:
//! `# expect: FILE:LINE:COL | fragment | fragment ...` (the location is a prefix).

mod common;

use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// The address space a run may use (bytes).
const MEMORY: u64 = 4 << 30;
/// The wall time a run may take.
const TIME: Duration = Duration::from_secs(5);

struct Case {
    name: String,
    bytes: Vec<u8>,
    location: String,
    fragments: Vec<String>,
}

fn corpus() -> Vec<Case> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut cases: Vec<Case> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            let expect = text.lines().find_map(|l| l.strip_prefix("# expect: ")).unwrap_or_else(|| {
                panic!("{name}: no `# expect:` line");
            });
            let mut parts = expect.split(" | ").map(str::to_string);
            let location = parts.next().unwrap();
            Case { name, location, fragments: parts.collect(), bytes }
        })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    cases
}

/// Runs burnlab with `args` under the memory limit; returns (exit code, stderr, wall time).
fn limited(s: &Scratch, args: &[&str]) -> (Option<i32>, String, Duration) {
    let mut full = vec![format!("--as={MEMORY}"), "--".to_string(), env!("CARGO_BIN_EXE_burnlab").to_string()];
    full.extend(args.iter().map(|a| a.to_string()));
    let start = Instant::now();
    let out = std::process::Command::new("prlimit")
        .args(&full)
        .current_dir(s.path())
        .env("BURNLAB_DATASETS", Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets"))
        .env("BURNLAB_MEMORY_LIMIT", "16G")
        .output()
        .expect("prlimit (util-linux) runs burnlab");
    (out.status.code(), stderr(&out), start.elapsed())
}

#[test]
fn the_corpus_is_large_enough_and_every_file_says_what_it_expects() {
    let cases = corpus();
    assert!(cases.len() >= 30, "only {} hostile files", cases.len());
    for c in &cases {
        assert!(c.location.starts_with(&c.name), "{}: location {} names another file", c.name, c.location);
        assert!(!c.fragments.is_empty(), "{}: no expected fragments", c.name);
    }
}

#[test]
fn hostile_files_exit_2_with_a_located_message_in_bounded_time_and_memory_writing_nothing() {
    let mut failures = Vec::new();
    for c in corpus() {
        let s = Scratch::new();
        std::fs::write(s.path().join(&c.name), &c.bytes).unwrap();
        for args in [vec!["validate", c.name.as_str()], vec!["run", c.name.as_str(), "--results", "results", "--quiet"]]
        {
            let (code, err, took) = limited(&s, &args);
            let what = format!("{} ({})", c.name, args[0]);
            if code != Some(2) {
                failures.push(format!("{what}: exit {code:?}, expected 2: {err}"));
            }
            if !err.starts_with(&format!("error: {}", c.location)) {
                failures.push(format!("{what}: expected location {}, got: {err}", c.location));
            }
            for f in c.fragments.iter().filter(|f| !err.contains(f.as_str())) {
                failures.push(format!("{what}: expected `{f}` in: {err}"));
            }
            if err.contains("panicked") || err.contains("memory allocation") {
                failures.push(format!("{what}: crashed: {err}"));
            }
            if took > TIME {
                failures.push(format!("{what}: took {took:?}, more than {TIME:?}"));
            }
        }
        if s.results().exists() {
            failures.push(format!("{}: wrote {}", c.name, s.results().display()));
        }
    }
    assert!(failures.is_empty(), "{} failures:\n{}", failures.len(), failures.join("\n"));
}
