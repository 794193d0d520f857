//! Issue 14, item 7: the `table` dataset's CSV edge cases, through the real binary.
//!
//! The inputs users reported are in tests/cases/ (02: a `;`-separated file with decimal
//! commas; 22: blank lines at the end, in the middle and with CRLF line ends, and a header
//! with only blank lines; 23: an `NA` marker in a numeric column). The corpus test runs many
//! more malformed files of the same kinds: each must exit 2 with a message that names the
//! experiment file's line, the key, the data file and what is wrong, write nothing, and
//! finish quickly within a bounded address space.

mod common;

use common::*;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// A scratch dir holding the files of `tests/cases/<case>/`.
fn case(name: &str) -> Scratch {
    let s = Scratch::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(name);
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, s.path().join(p.file_name().unwrap())).unwrap();
    }
    s
}

/// `burnlab run exp.toml --json` with `--set` overrides, in the scratch dir.
fn run(s: &Scratch, sets: &[&str]) -> Output {
    let mut args = vec!["--json"];
    for set in sets {
        args.extend(["--set", set]);
    }
    s.run(&s.path().join("exp.toml"), &args)
}

/// Asserts `out` is a user error (exit 2, no panic) whose message holds every `want`, and
/// that nothing was written.
fn refused(s: &Scratch, out: &Output, want: &[&str]) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.len() < 2000, "one short message: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for w in want {
        assert!(err.contains(w), "missing {w:?} in:\n{err}");
    }
    assert!(!s.results().exists(), "nothing is written for a bad table: {err}");
    err
}

/// The metrics.csv of the single trial of a finished run.
fn metrics_of_run(s: &Scratch, out: &Output, name: &str) -> String {
    assert!(out.status.success(), "{}", stderr(out));
    let dirs = trial_dirs(&s.results(), name);
    assert_eq!(dirs.len(), 1);
    assert_eq!(summary(&dirs[0])["status"], "completed");
    std::fs::read_to_string(dirs[0].join("metrics.csv")).unwrap()
}

#[test]
fn blank_lines_are_skipped_wherever_they_are() {
    let s = case("22-csv-trailing-blank-line");
    let trailing = std::fs::read_to_string(s.path().join("trailing.csv")).unwrap();
    let clean: String = trailing.lines().filter(|l| !l.is_empty()).map(|l| format!("{l}\n")).collect();
    assert_eq!(clean.lines().count(), 61, "a header and 60 rows");
    std::fs::write(s.path().join("clean.csv"), clean).unwrap();
    let want = metrics_of_run(&s, &run(&s, &["dataset.path=clean.csv"]), "c22-blank-lines");
    for file in ["trailing.csv", "middle.csv", "crlf_trailing.csv"] {
        std::fs::remove_dir_all(s.results()).unwrap();
        let got = metrics_of_run(&s, &run(&s, &[&format!("dataset.path={file}")]), "c22-blank-lines");
        assert_eq!(got, want, "{file}: the same 60 rows, so the same training");
    }
}

#[test]
fn a_header_with_only_blank_lines_has_no_data_rows() {
    let s = case("22-csv-trailing-blank-line");
    let out = run(&s, &["dataset.path=header_blank.csv"]);
    refused(
        &s,
        &out,
        &[
            "--set dataset.path=header_blank.csv: `dataset.path`",
            "`header_blank.csv`",
            "no data rows",
            "blank lines are skipped",
        ],
    );
}

#[test]
fn a_semicolon_file_with_decimal_commas_gets_the_separator_suggested_and_reads_with_it() {
    let s = case("02-csv-semicolon");
    let err = refused(
        &s,
        &run(&s, &[]),
        &[
            "exp.toml:7:",
            "`dataset.path` names `data.csv`, whose line 2 has 3 fields, more than its header (line 1), which has 1",
            "`;`-separated: set `separator = \";\"` and `decimal_comma = true`",
        ],
    );
    assert!(!err.contains("truncate_ragged_lines") && !err.contains("Schema"), "no polars advice: {err}");

    // The same numbers with decimal points read as one column named `length_cm;width_cm;species`.
    let out = run(&s, &["dataset.path=data_dot.csv"]);
    refused(&s, &out, &["`dataset.features` names column `length_cm`", "`;`-separated: set `separator = \";\"`"]);

    // With the suggested options both files train, on the same numbers.
    let comma = run(&s, &["dataset.separator=\";\"", "dataset.decimal_comma=true"]);
    let comma = metrics_of_run(&s, &comma, "c02-semicolon");
    std::fs::remove_dir_all(s.results()).unwrap();
    let dot = run(&s, &["dataset.path=data_dot.csv", "dataset.separator=\";\""]);
    assert_eq!(metrics_of_run(&s, &dot, "c02-semicolon"), comma);
}

#[test]
fn a_missing_value_marker_is_named_with_its_file_row_column_and_value() {
    let s = case("23-na-marker-in-numeric-column");
    let err = refused(
        &s,
        &run(&s, &[]),
        &[
            "exp.toml:",
            "`dataset.features` column `x1` has 1 missing value, the first \"NA\" in data row 5 (line 6 of `na.csv`)",
            "does not fill in missing values",
        ],
    );
    assert!(!err.contains("has type str"), "{err}");
}

/// One malformed table: the data file's name and bytes, the `[dataset]` lines after `path`,
/// and what the message must say.
type Hostile = (&'static str, &'static [u8], &'static str, &'static [&'static str]);

const FEATURES: &str = "features = [\"x1\", \"x2\"]\nlabel = \"label\"";
const SPLIT: &str = "features = [\"x1\"]\nlabel = \"label\"\nsplit = \"fold\"";
const SEQUENCE: &str = "sequence = \"s\"\nlabel = \"label\"";
const PIPES: &str = "features = [\"x1\", \"x2\"]\nlabel = \"label\"\nseparator = \"|\"";

/// The corpus: every kind of bad CSV the `table` dataset must refuse clearly.
#[rustfmt::skip]
const CORPUS: &[Hostile] = &[
    ("empty.csv", b"", FEATURES, &["`empty.csv`, which is empty"]),
    ("blank.csv", b"\n\r\n  \n", FEATURES, &["which is empty"]),
    ("header.csv", b"x1,x2,label\n", FEATURES, &["no data rows: only a header (line 1)"]),
    ("header-crlf.csv", b"x1,x2,label\r\n\r\n\r\n", FEATURES, &["no data rows", "blank lines are skipped"]),
    ("short.csv", b"x1,x2,label\n1,2,a\n3,b\n", FEATURES, &["line 3 has 2 fields, fewer than its header (line 1), which has 3"]),
    ("long.csv", b"x1,x2,label\n1,2,a\n3,4,b,5\n", FEATURES, &["line 3 has 4 fields, more than its header"]),
    ("latin1.csv", b"x1,x2,label\n1,2,caf\xe9\n", FEATURES, &["not UTF-8 text: line 2, column 8 holds the byte 0xE9"]),
    ("utf16.csv", b"\xff\xfex\x001\x00", FEATURES, &["UTF-16"]),
    ("binary.csv", b"PAR1\x15\x04\x15\x80\xff\xff\x01", FEATURES, &["not UTF-8 text: line 1"]),
    ("dup.csv", b"x1,x2,x1,label\n1,2,3,a\n", FEATURES, &["names column `x1` twice (fields 1 and 3)"]),
    ("quote.csv", b"x1,x2,label\n1,2,\"a\n3,4,b\n", FEATURES, &["line 2 opens a quoted field"]),
    ("na.csv", b"x1,x2,label\n1,2,a\nNA,4,b\n5,6,a\n", FEATURES, &["`dataset.features` column `x1` has 1 missing value, the first \"NA\" in data row 2 (line 3 of `na.csv`)"]),
    ("nan.csv", b"x1,x2,label\n1,2,a\n3,NaN,b\n5,6,a\n", FEATURES, &["column `x2` has 1 missing value, the first \"NaN\" in data row 2"]),
    ("nan-lower.csv", b"x1,x2,label\n1,nan,a\n3,4,b\n5,6,a\n", FEATURES, &["column `x2` has 1 missing value, the first \"nan\" in data row 1"]),
    ("question.csv", b"x1,x2,label\n1,2,a\n3,?,b\n5,?,a\n", FEATURES, &["column `x2` has 2 missing values, the first \"?\" in data row 2 (line 3"]),
    ("null.csv", b"x1,x2,label\n1,2,a\n\n3,null,b\n", FEATURES, &["\"null\" in data row 2 (line 4 of `null.csv`)"]),
    ("empty-cell.csv", b"x1,x2,label\n1,2,a\n3,,b\n", FEATURES, &["column `x2` has 1 missing value, the first an empty cell in data row 2 (line 3"]),
    ("empty-num.csv", b"x1,x2,label\n1,2,a\n,4,b\n5,6,a\n", FEATURES, &["column `x1` has 1 missing value, the first an empty cell in data row 2"]),
    ("label-na.csv", b"x1,x2,label\n1,2,a\n3,4,NA\n5,6,b\n", FEATURES, &["`dataset.label` column `label` has 1 missing value, the first \"NA\" in data row 2"]),
    ("label-empty.csv", b"x1,x2,label\n1,2,0\n3,4,\n5,6,1\n", FEATURES, &["`dataset.label` column `label` has 1 missing value, the first an empty cell in data row 2"]),
    ("text-cell.csv", b"x1,x2,label\n1,2,a\n3,four,b\n", FEATURES, &["column `x2` holds \"four\" in data row 2 (line 3 of `text-cell.csv`), which is not a number"]),
    ("inf.csv", b"x1,x2,label\n1,2,a\n3,inf,b\n", FEATURES, &["column `x2` holds inf in data row 2 (line 3"]),
    ("comma.tsv", b"x1\tx2\tlabel\n1,5\t2\ta\n3\t4\tb\n", FEATURES, &["holds \"1,5\" in data row 1 (line 2 of `comma.tsv`)", "set `decimal_comma = true`"]),
    ("tabs.csv", b"x1\tx2\tlabel\n1\t2\ta\n", FEATURES, &["names column `x1`", "tab-separated: set `separator = \"\\t\"`"]),
    ("pipes.csv", b"x1|x2|label\n1|2|a\n3|4|b|\n", PIPES, &["line 3 has 4 fields, more than its header (line 1), which has 3"]),
    ("split-na.csv", b"x1,x2,label,fold\n1,2,a,train\n3,4,b,NA\n", SPLIT, &["`dataset.split` column `fold` has 1 missing value, the first \"NA\" in data row 2"]),
    ("split-bad.csv", b"x1,x2,label,fold\n1,2,a,train\n3,4,b,tset\n", SPLIT, &["column `fold` holds \"tset\" in data row 2 (line 3 of `split-bad.csv`)"]),
    ("seq-na.csv", b"s,label\n1 2,a\nNA,b\n", SEQUENCE, &["`dataset.sequence` column `s` has 1 missing value, the first \"NA\" in data row 2"]),
    ("seq-bad.csv", b"s,label\n1 2,a\n3 x,b\n", SEQUENCE, &["column `s`, data row 2 (line 3 of `seq-bad.csv`): \"x\" is not a finite number"]),
    ("sep.csv", b"x1;x2;label\n1;2;a\n", "features = [\"x1\", \"x2\"]\nlabel = \"label\"\nseparator = \";;\"", &["`dataset.separator` must be one character", "\";;\""]),
    ("sep-comma.csv", b"x1,x2,label\n1,2,a\n", "features = [\"x1\", \"x2\"]\nlabel = \"label\"\ndecimal_comma = true", &["`dataset.decimal_comma` needs a `separator` other than \",\""]),
];

/// The experiment of a table (its `path` line is line 6).
fn corpus_experiment(file: &str, dataset: &str) -> String {
    let fraction = if dataset.contains("split") { "" } else { "\ntest_fraction = 0.5" };
    format!(
        "name = \"hostile\"\nseeds = [0]\n\n[dataset]\nname = \"table\"\npath = \"{file}\"\n{dataset}{fraction}\n\n[training]\nsteps = 2\n\n[[models]]\nfamily = \"linear\"\n"
    )
}

/// 4 GiB of address space: enough for the binary, far less than an unbounded allocation.
const ADDRESS_SPACE: u64 = 4 << 30;

#[test]
fn a_corpus_of_malformed_tables_is_refused_clearly_quickly_and_in_bounded_memory() {
    assert!(CORPUS.len() >= 30, "{} files", CORPUS.len());
    for &(file, bytes, dataset, want) in CORPUS {
        let s = Scratch::new();
        std::fs::write(s.path().join(file), bytes).unwrap();
        let exp = s.file("exp.toml", &corpus_experiment(file, dataset));
        let exp = exp.to_str().unwrap();
        for args in [vec!["validate", exp], vec!["run", exp, "--results", "results", "--quiet"]] {
            let mut cmd = s.command(&args);
            // SAFETY: setrlimit(2) in the child before exec; it only lowers the child's limit.
            unsafe {
                cmd.pre_exec(|| {
                    let lim = libc::rlimit { rlim_cur: ADDRESS_SPACE, rlim_max: ADDRESS_SPACE };
                    if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            let started = Instant::now();
            let out = cmd.output().unwrap();
            let took = started.elapsed();
            let err = refused(&s, &out, want);
            assert!(err.starts_with("error: ") && err.contains("exp.toml:"), "{file}: located: {err}");
            assert!(!err.contains("truncate_ragged_lines") && !err.contains("polars"), "{file}: {err}");
            assert!(took < Duration::from_secs(10), "{file}: {} took {took:?}", args[0]);
        }
    }
}

/// Files that look odd but are fine: each validates.
#[test]
fn odd_but_valid_tables_are_read() {
    #[rustfmt::skip]
    let cases: [(&str, &[u8], &str); 6] = [
        ("bom.csv", b"\xef\xbb\xbfx1,x2,label\n1,2,a\n3,4,b\n", FEATURES),
        ("quoted.csv", b"x1,x2,label\n1,2,\"a, with comma\"\n3,4,\"b\nacross lines\"\n", FEATURES),
        ("crlf.tsv", b"x1\tx2\tlabel\r\n1\t2\ta\r\n\r\n3\t4\tb\r\n", FEATURES),
        ("spaces.csv", b"x1,x2,label\n 1 ,2,a\n3, 4.5 ,b\n", FEATURES),
        ("text-na.csv", b"t,label\nNA,a\n?,b\n,a\n", "text = \"t\"\nlabel = \"label\""),
        ("pipes.csv", b"x1|x2|label\n1,5|2|a\n3|4,25|b\n", "features = [\"x1\", \"x2\"]\nlabel = \"label\"\nseparator = \"|\"\ndecimal_comma = true"),
    ];
    for (file, bytes, dataset) in cases {
        let s = Scratch::new();
        std::fs::write(s.path().join(file), bytes).unwrap();
        let exp = s.file("exp.toml", &corpus_experiment(file, dataset));
        let out = s.burnlab(&["validate", exp.to_str().unwrap()]);
        assert!(out.status.success(), "{file}: {}", stderr(&out));
    }
}
