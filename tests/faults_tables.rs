//! Tables as users make them (issue 14, items 3, 8 and 9), through the real binary: a sweep
//! over any kind of key (`backend` included) gives unique columns and one row per setting;
//! `[reference]` compares numbers as numbers and rejects a `where` that matches nothing; swept
//! numbers show one way whatever their spelling; every table cell is escaped for its format.

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The text of an input under `tests/cases/`.
fn case(path: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases").join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Fields of an RFC 4180 CSV text (quoted fields may hold commas, quotes and line breaks).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => field.push(c),
        }
    }
    assert!(!quoted && field.is_empty() && row.is_empty(), "CSV ends inside a row: {text}");
    rows
}

/// A CSV file read back: its header and rows.
struct Csv {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Csv {
    fn read(path: &Path) -> Csv {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut rows = parse_csv(&text);
        let header = rows.remove(0);
        let unique: HashSet<&String> = header.iter().collect();
        assert_eq!(unique.len(), header.len(), "{}: repeated column names in {header:?}", path.display());
        for r in &rows {
            assert_eq!(r.len(), header.len(), "{}: row {r:?} against header {header:?}", path.display());
        }
        Csv { header, rows }
    }

    fn get(&self, row: usize, column: &str) -> &str {
        let i = self
            .header
            .iter()
            .position(|h| h == column)
            .unwrap_or_else(|| panic!("no column {column}: {:?}", self.header));
        &self.rows[row][i]
    }
}

/// `burnlab plan FILE --json`.
fn plan(s: &Scratch, file: &Path) -> Value {
    let out = s.burnlab(&["plan", file.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Whether a table cell shows the swept value `v` (missing: the key does not apply).
fn shows(cell: &str, v: Option<&Value>) -> bool {
    match v {
        None => cell.is_empty(),
        Some(Value::String(s)) => cell == s,
        Some(Value::Number(n)) => cell.parse::<f64>().ok() == n.as_f64(),
        Some(Value::Bool(b)) => cell == b.to_string(),
        Some(other) => toml::from_str::<toml::Table>(&format!("v = {cell}"))
            .is_ok_and(|t| serde_json::to_value(&t["v"]).unwrap() == *other),
    }
}

/// Runs `file` and checks `summary.csv` and `table.csv` against its plan: unique columns, one
/// row per trial and per setting, every swept value in its own column; then `burnlab report`
/// rebuilds the same tables. Returns the results folder.
fn check_tables(s: &Scratch, file: &Path) -> PathBuf {
    let plan = plan(s, file);
    let trials = plan["trials"].as_array().unwrap();
    let out = s.run(file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = s.results().join(plan["experiment"].as_str().unwrap());
    let summary = Csv::read(&dir.join("summary.csv"));
    assert_eq!(summary.rows.len(), trials.len());
    // The swept keys' columns come between `family` and `seed`, one per key of the plan.
    let keys: Vec<String> = summary.header[4..].iter().take_while(|h| *h != "seed").cloned().collect();
    let planned: HashSet<&String> = trials.iter().flat_map(|t| t["swept"].as_object().unwrap().keys()).collect();
    assert_eq!(keys.iter().collect::<HashSet<_>>(), planned, "{:?}", summary.header);
    for (i, t) in trials.iter().enumerate() {
        assert_eq!(summary.get(i, "id"), t["id"].as_str().unwrap());
        assert_eq!(summary.get(i, "status"), "completed", "{}", stderr(&out));
        assert_eq!(summary.get(i, "label"), t["label"].as_str().unwrap());
        // Counts are integers, not `5.0`.
        assert!(summary.get(i, "steps").parse::<u64>().is_ok_and(|n| n > 0), "{:?}", summary.rows[i]);
        assert!(summary.get(i, "num_params").parse::<u64>().is_ok(), "{:?}", summary.rows[i]);
        for k in &keys {
            assert!(shows(summary.get(i, k), t["swept"].get(k)), "summary.csv row {i} `{k}`: {t}");
        }
    }
    // One table row per variant and swept setting, in plan order, with its seeds.
    let setting = |t: &Value| (t["label"].clone(), keys.iter().map(|k| t["swept"].get(k).cloned()).collect::<Vec<_>>());
    let mut settings: Vec<(Value, Vec<Option<Value>>)> = Vec::new();
    for t in trials {
        if !settings.contains(&setting(t)) {
            settings.push(setting(t));
        }
    }
    let table = Csv::read(&dir.join("table.csv"));
    assert_eq!(table.rows.len(), settings.len(), "{:?}", table.rows);
    let seeds = trials.len() / settings.len();
    for (i, (label, values)) in settings.iter().enumerate() {
        assert_eq!(table.get(i, "label"), label.as_str().unwrap());
        for (k, v) in keys.iter().zip(values) {
            assert!(shows(table.get(i, k), v.as_ref()), "table.csv row {i} `{k}` = {:?}, want {v:?}", table.get(i, k));
        }
        assert_eq!(table.get(i, "planned"), seeds.to_string());
        assert_eq!(table.get(i, "test.accuracy.n"), seeds.to_string());
    }
    let before: Vec<String> = ["summary.csv", "table.csv", "table.md"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap())
        .collect();
    let out = s.burnlab(&["report", dir.to_str().unwrap()]);
    assert!(out.status.success(), "report: {}", stderr(&out));
    for (f, b) in ["summary.csv", "table.csv", "table.md"].iter().zip(before) {
        assert_eq!(std::fs::read_to_string(dir.join(f)).unwrap(), b, "`burnlab report` rebuilds {f}");
    }
    dir
}

/// The cells of a Markdown table line, split at pipes no backslash escapes.
fn md_cells(line: &str) -> Vec<String> {
    let inner = line.trim().strip_prefix('|').and_then(|l| l.strip_suffix('|')).unwrap_or_else(|| panic!("{line}"));
    let (mut cells, mut cell, mut chars) = (Vec::new(), String::new(), inner.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cell.push(c);
                cell.extend(chars.next());
            }
            '|' => cells.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    cells.push(cell);
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// A Markdown cell as it reads: bold and backslash escapes removed.
fn md_text(cell: &str) -> String {
    let cell = cell.strip_prefix("**").and_then(|c| c.strip_suffix("**")).unwrap_or(cell);
    let (mut out, mut chars) = (String::new(), cell.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// The table lines of `table.md` as cells, checking each has as many cells as the header.
fn md_table(md: &str) -> Vec<Vec<String>> {
    let rows: Vec<Vec<String>> = md.lines().filter(|l| l.starts_with('|')).map(md_cells).collect();
    for r in &rows {
        assert_eq!(r.len(), rows[0].len(), "row {r:?} against header {:?}:\n{md}", rows[0]);
    }
    rows
}

/// The small experiment swept over `backend`.
fn backend_sweep() -> String {
    format!("{SMALL_EXPERIMENT}\n[sweep.params]\n\"backend\" = [\"flex\", \"ndarray\"]\n")
}

#[test]
fn a_backend_sweep_gives_one_row_per_backend() {
    let s = Scratch::new();
    let dir = check_tables(&s, &s.file("e.toml", &backend_sweep()));
    let summary = Csv::read(&dir.join("summary.csv"));
    assert_eq!(summary.header.iter().filter(|h| *h == "backend").count(), 1);
    assert_eq!([summary.get(0, "backend"), summary.get(1, "backend")], ["flex", "ndarray"]);
    let table = Csv::read(&dir.join("table.csv"));
    assert_eq!([table.get(0, "backend"), table.get(1, "backend")], ["flex", "ndarray"]);
    let md = md_table(&std::fs::read_to_string(dir.join("table.md")).unwrap());
    let backends: Vec<String> = md[2..].iter().map(|r| md_text(&r[1])).collect();
    assert_eq!((md[0][1].as_str(), backends), ("backend", vec!["flex".to_string(), "ndarray".to_string()]));
}

/// A small base: linear and a small MLP on MNIST-1D, a few steps.
const BASE: &str = r#"name = "NAME"
seeds = [0]

[dataset]
name = "mnist1d"

[training]
steps = 5
eval_every = 5
batch_size = 50

[[models]]
family = "linear"

[[models]]
family = "mlp"
hidden = 8
"#;

#[test]
fn every_kind_of_swept_key_gives_unique_columns_and_its_rows() {
    let s = Scratch::new();
    // Grid over each kind of key at once: backend, device, a dataset option, a training key
    // (numbers spelled two ways) and a model key only the MLP has.
    let grid = BASE.replace("NAME", "grid")
        + r#"
[sweep.params]
"backend" = ["flex", "ndarray"]
"device" = ["cpu"]
"dataset.shuffle_seq" = [true]
"training.weight_decay" = [0, 1e-4]
"model.hidden" = [16]
"#;
    let dir = check_tables(&s, &s.file("grid.toml", &grid));
    let table = Csv::read(&dir.join("table.csv"));
    assert_eq!(table.rows.len(), 8);
    assert_eq!(table.get(0, "model.hidden"), "", "linear has no `hidden`");
    assert_eq!(table.get(4, "model.hidden"), "16");
    assert_eq!([table.get(0, "training.weight_decay"), table.get(1, "training.weight_decay")], ["0", "0.0001"]);

    // The whole dataset swapped (by name, and by a table whose text holds commas) and the
    // backend; each dataset is ranked on its own.
    let datasets = BASE.replace("NAME", "datasets")
        + r#"
[sweep.params]
"dataset" = ["digits", { name = "mnist1d", shuffle_seq = true }]
"backend" = ["flex", "ndarray"]
"#;
    let dir = check_tables(&s, &s.file("datasets.toml", &datasets));
    let table = Csv::read(&dir.join("table.csv"));
    let shown: HashSet<&str> = (0..table.rows.len()).map(|i| table.get(i, "dataset")).collect();
    assert_eq!(shown, HashSet::from(["digits", "{ name = \"mnist1d\", shuffle_seq = true }"]));
    assert_eq!((0..table.rows.len()).filter(|&i| table.get(i, "best") == "true").count(), 2, "one best per dataset");

    // Random search: a choice of backends, a float and an integer draw.
    let random = BASE.replace("NAME", "random")
        + r#"
[sweep]
kind = "random"
trials = 3
seed = 1

[sweep.params]
"backend" = ["flex", "ndarray"]
"training.lr" = { log_uniform = [1e-3, 1e-2] }
"model.hidden" = { int_range = [4, 8] }
"#;
    check_tables(&s, &s.file("random.toml", &random));
}

/// `burnlab validate` of `text`: exit code 2, and its stderr; `run` refuses it and writes nothing.
fn rejected(s: &Scratch, name: &str, text: &str) -> String {
    let f = s.file(name, text);
    let out = s.burnlab(&["validate", f.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{name}: {}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let run = s.run(&f, &[]);
    assert_eq!(run.status.code(), Some(2), "{name}: run: {}", stderr(&run));
    assert!(!s.results().exists(), "{name}: a rejected file writes nothing");
    err
}

#[test]
fn a_reference_where_that_matches_nothing_is_an_error() {
    let s = Scratch::new();
    // The user's file: 0.001 where the grid has 0.0001.
    let err = rejected(&s, "exp-typo.toml", &case("21-reference-where-number-spelling/exp-typo.toml"));
    assert!(err.contains("exp-typo.toml:24:75:"), "at the where value: {err}");
    assert!(err.contains("`reference.rows[0].where.\"training.weight_decay\"` = 0.001 matches no trial"), "{err}");
    assert!(err.contains("the sweep's values of `training.weight_decay` are 0, 0.0001"), "{err}");
    assert!(err.contains("did you mean 0.0001?"), "{err}");

    let good = case("21-reference-where-number-spelling/exp.toml");
    // A key that is not swept, with a did-you-mean.
    let err = rejected(
        &s,
        "key.toml",
        &good.replace("\"training.weight_decay\" = 0.0 }", "\"training.weight_decy\" = 0.0 }"),
    );
    assert!(
        err.contains("key.toml:24:49:") && err.contains("names `training.weight_decy`, which is not a swept key"),
        "{err}"
    );
    assert!(err.contains("did you mean `training.weight_decay`?"), "{err}");
    // A string where the grid has numbers.
    let err = rejected(&s, "string.toml", &good.replace("= 0.0 }", "= \"0\" }"));
    assert!(err.contains("= \"0\" matches no trial"), "{err}");
    // A model key the row's variant does not have.
    let hidden = good
        .replace("[[models]]\nfamily = \"linear\"", "[[models]]\nfamily = \"linear\"\n\n[[models]]\nfamily = \"mlp\"")
        .replace("[sweep.params]", "[sweep.params]\n\"model.hidden\" = [8, 16]")
        .replace("\"training.weight_decay\" = 0.0 }", "\"model.hidden\" = 8 }");
    let err = rejected(&s, "hidden.toml", &hidden);
    assert!(err.contains("variant `linear` (family linear) has no parameter `hidden`"), "{err}");
    // Random search: a continuous draw cannot be keyed on; an integer range can, inside it.
    let random = |params: &str, filter: &str| {
        good.replace(
            "[sweep.params]\n\"training.weight_decay\" = [0, 0.0001]",
            &format!("[sweep]\nkind = \"random\"\ntrials = 2\n\n[sweep.params]\n{params}"),
        )
        .replace("\"training.weight_decay\" = 0.0", filter)
    };
    let err = rejected(
        &s,
        "uniform.toml",
        &random("\"training.lr\" = { log_uniform = [1e-3, 1e-2] }", "\"training.lr\" = 0.01"),
    );
    assert!(
        err.contains("= 0.01 cannot match a trial: `training.lr` is drawn from a continuous log_uniform distribution"),
        "{err}"
    );
    let err = rejected(
        &s,
        "int.toml",
        &random("\"training.steps\" = { int_range = [5, 1000] }", "\"training.steps\" = 1001"),
    );
    assert!(err.contains("= 1001 matches no trial: `training.steps` is drawn from the integers 5 to 1000"), "{err}");
    let f =
        s.file("int-ok.toml", &random("\"training.steps\" = { int_range = [5, 1000] }", "\"training.steps\" = 7.0"));
    let out = s.burnlab(&["validate", f.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_reference_where_compares_numbers_as_numbers() {
    let s = Scratch::new();
    // The user's file: the grid says 0, the reference says 0.0.
    let dir = check_tables(&s, &s.file("exp.toml", &case("21-reference-where-number-spelling/exp.toml")));
    let table = Csv::read(&dir.join("table.csv"));
    assert_eq!([table.get(0, "training.weight_decay"), table.get(1, "training.weight_decay")], ["0", "0.0001"]);
    assert_eq!(table.get(0, "published"), "0.3");
    assert_ne!(table.get(0, "verdict"), "no reference");
    assert_eq!((table.get(1, "published"), table.get(1, "verdict")), ("", "no reference"));
    let md = md_table(&std::fs::read_to_string(dir.join("table.md")).unwrap());
    let published = md[0].iter().position(|h| h == "published").unwrap();
    assert_eq!((md_text(&md[2][1]).as_str(), md_text(&md[2][published]).as_str()), ("0", "0.3"));
    assert_eq!((md_text(&md[3][1]).as_str(), md_text(&md[3][published]).as_str()), ("0.0001", "–"));
}

#[test]
fn swept_numbers_show_one_way_whatever_their_spelling() {
    let s = Scratch::new();
    let spelled = |name: &str, wd: &str, lr: &str| {
        let text = BASE.replace("NAME", "spelling")
            + &format!(
                "\n[sweep.params]\n\"training.weight_decay\" = {wd}\n\"training.lr\" = {lr}\n\"model.hidden\" = [16, 1_000]\n"
            );
        s.file(name, &text)
    };
    let files = [
        spelled("a.toml", "[0, 0.0001]", "[1e6, 0.003, 0.25]"),
        spelled("b.toml", "[0.0, 1e-4]", "[1000000.0, 3e-3, 2.5e-1]"),
        spelled("c.toml", "[0e0, 1.0e-4]", "[1_000_000.0, 0.3e-2, 0.250]"),
    ];
    let plans: Vec<(Vec<String>, String)> = files
        .iter()
        .map(|f| {
            let ids = plan(&s, f)["trials"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_string())
                .collect();
            let out = s.burnlab(&["plan", f.to_str().unwrap()]);
            assert!(out.status.success(), "{}", stderr(&out));
            (ids, stdout(&out))
        })
        .collect();
    assert_eq!(plans[0], plans[1]);
    assert_eq!(plans[0], plans[2]);
    let text = &plans[0].1;
    for name in [
        "linear lr=1000000 weight_decay=0 seed=0",
        "linear lr=0.003 weight_decay=0.0001 seed=0",
        "mlp hidden=1000 lr=0.25 weight_decay=0 seed=0",
    ] {
        assert!(text.contains(name), "`{name}` in\n{text}");
    }
}

#[test]
fn table_cells_are_escaped_in_every_format() {
    let s = Scratch::new();
    // The user's file: `|`, `_`, `&` and `%` in labels.
    let dir = check_tables(&s, &s.file("exp.toml", &case("17-pipe-in-label/exp.toml")));
    check_escapes(&dir, &["mlp|wide", "mlp_narrow & 50%"], &[]);

    // Every special character of Markdown, LaTeX and CSV, in labels and in swept values.
    let data =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/table-example/measurements.csv")).unwrap();
    let paths = ["data|v1.csv", "data,\"v2\" & <b>.csv"];
    for p in paths {
        std::fs::write(s.path().join(p), &data).unwrap();
    }
    let labels = ["a,b \"quoted\"", "back\\slash *star* _under_ $x^2$ {b} ~t #1 <lt> >gt & 50% [l](u)", "mlp|wide"];
    let text = format!(
        r#"name = "hostile"
seeds = [0]
[dataset]
name = "table"
path = "data|v1.csv"
features = ["length_cm", "width_cm", "mass_g", "hue"]
label = "species"
[training]
steps = 5
eval_every = 5
batch_size = 32
[[models]]
family = "linear"
label = '{}'
[[models]]
family = "linear"
label = '{}'
[[models]]
family = "mlp"
hidden = 8
label = '{}'
[sweep.params]
"dataset.path" = ['{}', '{}']
"#,
        labels[0], labels[1], labels[2], paths[0], paths[1]
    );
    let dir = check_tables(&s, &s.file("hostile.toml", &text));
    check_escapes(&dir, &labels, &paths);
}

/// Checks that `table.md`, `table.tex` and `table.csv` of `dir` keep one cell per column and
/// show each of `labels` (and of `swept`, the values of the one swept key) exactly.
fn check_escapes(dir: &Path, labels: &[&str], swept: &[&str]) {
    let md = std::fs::read_to_string(dir.join("table.md")).unwrap();
    let rows = md_table(&md);
    assert_eq!(rows.len(), 2 + labels.len() * swept.len().max(1), "{md}");
    let shown = |col: usize| rows[2..].iter().map(|r| md_text(&r[col])).collect::<HashSet<String>>();
    assert_eq!(shown(0), labels.iter().map(|l| l.to_string()).collect(), "{md}");
    if !swept.is_empty() {
        assert_eq!(shown(1), swept.iter().map(|l| l.to_string()).collect(), "{md}");
    }

    let tex = std::fs::read_to_string(dir.join("table.tex")).unwrap();
    let body: Vec<&str> = tex
        .lines()
        .skip_while(|l| !l.starts_with("\\toprule"))
        .skip(1)
        .take_while(|l| !l.starts_with("\\bottomrule"))
        .filter(|l| !l.starts_with("\\midrule"))
        .collect();
    let cells: Vec<Vec<&str>> = body.iter().map(|&l| latex_cells(l.strip_suffix(" \\\\").unwrap_or(l))).collect();
    assert!(cells.iter().all(|r| r.len() == cells[0].len()), "{tex}");
    let mut texts = HashSet::new();
    for row in &cells[1..] {
        for cell in row.iter().take(1 + swept.len().min(1)) {
            let (text, rest) = latex_text(cell);
            assert!(
                !rest.contains(['&', '%', '$', '#', '_', '{', '}', '~', '^', '|', '<', '>', '\\']),
                "bare special in `{cell}`:\n{tex}"
            );
            texts.insert(text);
        }
    }
    let want: HashSet<String> = labels.iter().chain(swept).map(|l| l.to_string()).collect();
    assert_eq!(texts, want, "{tex}");

    let table = Csv::read(&dir.join("table.csv"));
    let csv_labels: HashSet<&str> = (0..table.rows.len()).map(|i| table.get(i, "label")).collect();
    assert_eq!(csv_labels, labels.iter().copied().collect());
}

/// The cells of a LaTeX table row, split at `&`s no backslash escapes.
fn latex_cells(line: &str) -> Vec<&str> {
    let (mut cells, mut start, mut escaped) = (Vec::new(), 0, false);
    for (i, c) in line.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '&' if !escaped => {
                cells.push(line[start..i].trim());
                start = i + 1;
            }
            _ => escaped = false,
        }
    }
    cells.push(line[start..].trim());
    cells
}

/// A LaTeX text cell as it prints (`\textbf{}` and escapes undone), and what is left of it
/// once every escape is removed (which must hold no special character).
fn latex_text(cell: &str) -> (String, String) {
    let cell = cell.strip_prefix("\\textbf{").and_then(|c| c.strip_suffix('}')).unwrap_or(cell);
    let commands = [
        ("\\textbackslash{}", "\\"),
        ("\\textasciitilde{}", "~"),
        ("\\textasciicircum{}", "^"),
        ("\\textbar{}", "|"),
        ("\\textless{}", "<"),
        ("\\textgreater{}", ">"),
    ];
    let (mut text, mut rest, mut i) = (String::new(), String::new(), 0);
    'scan: while i < cell.len() {
        for (cmd, c) in commands {
            if cell[i..].starts_with(cmd) {
                text.push_str(c);
                i += cmd.len();
                continue 'scan;
            }
        }
        let c = cell[i..].chars().next().unwrap();
        let next = if c == '\\' { cell[i + 1..].chars().next() } else { None };
        if let Some(n) = next.filter(|n| "&%$#_{}".contains(*n)) {
            text.push(n);
            i += 2;
        } else {
            text.push(c);
            rest.push(c);
            i += c.len_utf8();
        }
    }
    (text, rest)
}
