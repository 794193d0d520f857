//! The code's shape, checked: no import circles between the top-level modules of `src/`, and no
//! function longer than 80 lines. `docs/architecture.md` describes the layering these tests keep.
//!
//! Run alone with `cargo test --release --test architecture`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The longest function allowed, in lines from its `fn` line to its closing brace.
const MAX_FN_LINES: usize = 80;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The top-level module a file belongs to (`src/runner/slurm.rs` → `runner`); `None` for the
/// crate roots.
fn top_module(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src_dir()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// Source text with comments, string and character literals blanked out (newlines kept), so that
/// braces and paths are counted only in code.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |s: &[u8], out: &mut String| out.extend(s.iter().map(|&c| if c == b'\n' { '\n' } else { ' ' }));
    while i < b.len() {
        let rest = &b[i..];
        let end = if rest.starts_with(b"//") {
            rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len())
        } else if rest.starts_with(b"/*") {
            rest.windows(2).position(|w| w == b"*/").map_or(rest.len(), |p| p + 2)
        } else if rest.starts_with(b"r#\"") || rest.starts_with(b"r\"") {
            let hashes = rest[1..].iter().take_while(|&&c| c == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat_n(b'#', hashes)).collect();
            let body = 2 + hashes;
            rest[body..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(rest.len(), |p| body + p + close.len())
        } else if rest[0] == b'"' {
            let mut j = 1;
            while j < rest.len() && rest[j] != b'"' {
                j += if rest[j] == b'\\' { 2 } else { 1 };
            }
            (j + 1).min(rest.len())
        } else if rest[0] == b'\'' && is_char_literal(rest) {
            rest[1..].iter().position(|&c| c == b'\'').map_or(1, |p| p + 2 + usize::from(rest[1] == b'\\'))
        } else {
            out.push(rest[0] as char);
            i += 1;
            continue;
        };
        blank(&rest[..end], &mut out);
        i += end;
    }
    out
}

/// Whether the `'` at the start of `s` opens a character literal (`'a'`, `'\n'`, `'{'`) rather
/// than a lifetime (`'a`, `'static`).
fn is_char_literal(s: &[u8]) -> bool {
    match s.get(1) {
        Some(b'\\') => true,
        Some(_) => s.get(2) == Some(&b'\'') || (s[1] >= 0x80),
        None => false,
    }
}

/// The top-level modules that `code` names through `crate::` paths (also inside
/// `use crate::{a::x, b}` groups and `$crate::` in macros), with the line of the first use.
fn crate_references(code: &str) -> BTreeMap<String, usize> {
    let mut refs = BTreeMap::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(pos) = rest.find("crate::") {
            let after = &rest[pos + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                for name in group_heads(group) {
                    refs.entry(name).or_insert(n + 1);
                }
            } else {
                let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    refs.entry(name).or_insert(n + 1);
                }
            }
            rest = after;
        }
    }
    refs
}

/// The first path segment of each item of a `{a::x, b::{y, z}, c}` group (up to its closing brace
/// on the same line).
fn group_heads(group: &str) -> Vec<String> {
    let (mut depth, mut heads, mut at_start) = (0usize, Vec::new(), true);
    let mut word = String::new();
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => at_start = true,
            c if at_start && (c.is_alphanumeric() || c == '_') => word.push(c),
            _ => {
                if at_start && !word.is_empty() {
                    heads.push(std::mem::take(&mut word));
                    at_start = false;
                }
            }
        }
    }
    if !word.is_empty() {
        heads.push(word);
    }
    heads
}

/// The strongly connected components with more than one module (Tarjan), each sorted.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Tarjan<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Tarjan<'a> {
        fn visit(&mut self, v: &'a str) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.graph.get(v).into_iter().flatten() {
                if !self.index.contains_key(w.as_str()) {
                    self.visit(w);
                    let lw = self.low[w.as_str()];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(lw));
                } else if self.stack.contains(&w.as_str()) {
                    let iw = self.index[w.as_str()];
                    self.low.entry(v).and_modify(|l| *l = (*l).min(iw));
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().rposition(|&x| x == v).unwrap();
                let mut scc: Vec<String> = self.stack.drain(at..).map(str::to_string).collect();
                if scc.len() > 1 {
                    scc.sort();
                    self.found.push(scc);
                }
            }
        }
    }
    let mut t = Tarjan { graph, index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), found: Vec::new() };
    for v in graph.keys() {
        if !t.index.contains_key(v.as_str()) {
            t.visit(v);
        }
    }
    t.found
}

#[test]
fn top_level_modules_import_each_other_in_one_direction_only() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut example: BTreeMap<(String, String), String> = BTreeMap::new();
    let modules: BTreeSet<String> = rust_files(&src_dir()).iter().filter_map(|f| top_module(f)).collect();
    for file in rust_files(&src_dir()) {
        let Some(from) = top_module(&file) else { continue };
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        for (to, line) in crate_references(&code) {
            if to != from && modules.contains(&to) {
                graph.entry(from.clone()).or_default().insert(to.clone());
                let rel = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string();
                example.entry((from.clone(), to)).or_insert(format!("{rel}:{line}"));
            }
        }
    }
    assert!(graph.len() >= 5, "the scan found too few imports ({graph:?}): is src/ where it should be?");
    let found = cycles(&graph);
    let explain: Vec<String> = found
        .iter()
        .map(|scc| {
            let edges: Vec<String> = example
                .iter()
                .filter(|((a, b), _)| scc.contains(a) && scc.contains(b))
                .map(|((a, b), at)| format!("  {a} -> {b} ({at})"))
                .collect();
            format!("cycle {}:\n{}", scc.join(" <-> "), edges.join("\n"))
        })
        .collect();
    assert!(found.is_empty(), "import circles between top-level modules:\n{}", explain.join("\n"));
}

/// The functions of `code` longer than `max` lines, as `(name, first line, lines)`.
fn long_functions(code: &str, max: usize) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut long = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        let Some(pos) = line.find("fn ") else { continue };
        let before = line[..pos].trim();
        let is_item = before.is_empty()
            || before.split_whitespace().all(|w| {
                ["pub", "pub(crate)", "pub(super)", "const", "async", "unsafe", "extern", "default"].contains(&w)
            });
        if !is_item {
            continue;
        }
        let name: String = line[pos + 3..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let (mut depth, mut opened) = (0i64, false);
        for (m, body) in lines.iter().enumerate().skip(n) {
            for c in body.chars() {
                match c {
                    '{' => (depth, opened) = (depth + 1, true),
                    '}' => depth -= 1,
                    ';' if !opened && depth == 0 => break,
                    _ => {}
                }
            }
            if (opened && depth == 0) || (!opened && body.trim_end().ends_with(';')) {
                if opened && m + 1 - n > max {
                    long.push((name.clone(), n + 1, m + 1 - n));
                }
                break;
            }
        }
    }
    long
}

#[test]
fn no_function_is_longer_than_80_lines() {
    let mut long = Vec::new();
    for file in rust_files(&src_dir()) {
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        for (name, line, n) in long_functions(&code, MAX_FN_LINES) {
            let rel = file.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string();
            long.push(format!("{rel}:{line} `{name}`: {n} lines"));
        }
    }
    assert!(long.is_empty(), "functions over {MAX_FN_LINES} lines (split them):\n{}", long.join("\n"));
}

#[test]
fn the_checks_find_what_they_look_for() {
    // The scanners themselves, on made-up code: a circle is found, strings and comments are not
    // code, grouped imports count, and a long function is measured from `fn` to its brace.
    let code = code_only("use crate::{data::X, models::{a, b}};\n// crate::runner\nlet s = \"crate::report {\";\n");
    let refs: Vec<String> = crate_references(&code).into_keys().collect();
    assert_eq!(refs, ["data", "models"]);
    let graph = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
        ("d".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(cycles(&graph), vec![vec!["a".to_string(), "b".into(), "c".into()]]);
    let body: String = (0..90).map(|i| format!("    let x{i} = '{{';\n")).collect();
    let long = format!("pub fn big() {{\n{body}}}\nfn small() {{}}\nfn decl();\n");
    assert_eq!(long_functions(&code_only(&long), 80), vec![("big".to_string(), 1, 92)]);
}
