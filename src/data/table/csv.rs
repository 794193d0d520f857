//! The checks a CSV or TSV file gets before polars parses it.
//!
//! polars reads a blank line as a row of missing values, reports a line with too many fields
//! with advice about its own options, and keeps a byte-order mark in the first column's
//! name. This pass reads the file once as text: it refuses a file that is not UTF-8 (naming
//! the line and column of the first bad byte), drops a UTF-8 byte-order mark, skips blank
//! lines (as pandas does), checks that every line has as many fields as the header (quoted
//! fields may hold separators and line breaks) and that no column is named twice, and keeps
//! the file line each data row starts on, so that later errors can name it. A line with the
//! wrong number of fields, or a header that reads as one column, gets a suggested separator
//! (and `decimal_comma`) when another one splits the file consistently.

use super::TableError;

/// The separators a hint may suggest, with their TOML spelling.
const SEPARATORS: [(u8, &str); 4] = [(b',', r#"",""#), (b';', r#"";""#), (b'\t', r#""\t""#), (b'|', r#""|""#)];

/// How many data lines a separator hint looks at.
const HINT_SAMPLE: usize = 100;

/// A checked CSV file, ready for polars.
pub(super) struct Scanned {
    /// The header and the data rows, one per line, without blank lines or a byte-order mark.
    pub text: Vec<u8>,
    /// The line of the file (1-based) on which each data row starts.
    pub lines: Vec<usize>,
    /// A suggested `separator` when the header reads as a single column that another
    /// separator splits consistently.
    pub hint: Option<String>,
}

/// One line (or several, when a quoted field holds line breaks) of the file.
struct Record<'a> {
    /// The line it starts on (1-based).
    line: usize,
    /// Its text, without the line break.
    text: &'a str,
    /// Its number of fields.
    fields: usize,
}

impl Record<'_> {
    fn is_blank(&self) -> bool {
        self.fields == 1 && self.text.trim().is_empty()
    }
}

/// Splits `text` into records at line breaks outside quotes (`"`; `""` inside quotes is a
/// quote). An error names the line of a quoted field that is never closed.
fn records(text: &str, sep: u8) -> Result<Vec<Record<'_>>, usize> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut line, mut start_line, mut fields, mut quoted) = (0, 1, 1, 1, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => {
                let end = if i > start && bytes[i - 1] == b'\r' { i - 1 } else { i };
                out.push(Record { line: start_line, text: &text[start..end], fields });
                (start, start_line, fields) = (i + 1, line + 1, 1);
            }
            _ if b == sep && !quoted => fields += 1,
            _ => {}
        }
        if b == b'\n' {
            line += 1;
        }
    }
    if quoted {
        return Err(start_line);
    }
    if start < bytes.len() {
        let end = if bytes.ends_with(b"\r") { bytes.len() - 1 } else { bytes.len() };
        out.push(Record { line: start_line, text: &text[start..end], fields });
    }
    Ok(out)
}

/// The fields of one record, unquoted.
fn fields(record: &str, sep: u8) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = record.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
            }
            '"' => quoted = !quoted,
            _ if c as u32 == sep as u32 && !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Whether a cell is a number written with a decimal comma (`5,52`, `-0,5`).
pub(super) fn has_decimal_comma(cell: &str) -> bool {
    let t = cell.trim().trim_start_matches(['-', '+']);
    t.split_once(',').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// A suggested separator: another one that splits the header into several fields and each
/// of `sample` into as many, with `decimal_comma` when the cells have decimal commas.
fn separator_hint(header: &str, sample: &[&str], sep: u8) -> Option<String> {
    for (cand, toml) in SEPARATORS {
        if cand == sep {
            continue;
        }
        let n = fields(header, cand).len();
        if n < 2 || sample.iter().any(|l| fields(l, cand).len() != n) {
            continue;
        }
        let comma = cand != b',' && sample.iter().any(|l| fields(l, cand).iter().any(|c| has_decimal_comma(c)));
        let (comma, why) =
            if comma { (" and `decimal_comma = true`", " (its numbers have decimal commas)") } else { ("", "") };
        let name = if cand == b'\t' { "tab".to_string() } else { format!("`{}`", cand as char) };
        return Some(format!("the file looks {name}-separated: set `separator = {toml}`{comma} in `[dataset]`{why}"));
    }
    None
}

/// The text of a file that must be UTF-8, without a UTF-8 byte-order mark.
pub(super) fn utf8<'a>(bytes: &'a [u8], path: &str) -> Result<&'a str, TableError> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(TableError::new(
            "path",
            format!("names `{path}`, which is UTF-16 text (it starts with a UTF-16 byte-order mark): save it as UTF-8"),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        TableError::new(
            "path",
            format!(
                "names `{path}`, which is not UTF-8 text: line {line}, column {column} holds the byte 0x{:02X} \
                 (a Latin-1 or Windows-1252 file?): save it as UTF-8",
                bytes[e.valid_up_to()]
            ),
        )
    })
}

/// Checks a CSV file's text (see the module documentation) and returns what polars reads.
pub(super) fn scan(text: &str, path: &str, sep: u8) -> Result<Scanned, TableError> {
    let err = |m: String| TableError::new("path", format!("names `{path}`, {m}"));
    let all = records(text, sep)
        .map_err(|line| err(format!("whose line {line} opens a quoted field (\") that is never closed")))?;
    let mut rows = all.iter().filter(|r| !r.is_blank());
    let Some(header) = rows.next() else {
        return Err(err("which is empty: its first line must name the columns".into()));
    };
    let data: Vec<&Record> = rows.collect();
    let columns = fields(header.text, sep);
    for (i, c) in columns.iter().enumerate() {
        if let Some(j) = columns[..i].iter().position(|d| d == c) {
            return Err(err(format!(
                "whose header (line {}) names column `{c}` twice (fields {} and {})",
                header.line,
                j + 1,
                i + 1
            )));
        }
    }
    let sample: Vec<&str> = data.iter().take(HINT_SAMPLE).map(|r| r.text).collect();
    if let Some(bad) = data.iter().find(|r| r.fields != header.fields) {
        let hint = separator_hint(header.text, &sample, sep).map(|h| format!(": {h}")).unwrap_or_default();
        let what = if bad.fields > header.fields { "more" } else { "fewer" };
        return Err(err(format!(
            "whose line {} has {} fields, {what} than its header (line {}), which has {}{hint}",
            bad.line, bad.fields, header.line, header.fields
        )));
    }
    if data.is_empty() {
        let blank = if all.len() > 1 { " (blank lines are skipped)" } else { "" };
        return Err(err(format!("which has no data rows: only a header (line {}){blank}", header.line)));
    }
    let hint = if columns.len() == 1 { separator_hint(header.text, &sample, sep) } else { None };
    let mut out = Vec::with_capacity(text.len() + 1);
    for r in std::iter::once(header).chain(data.iter().copied()) {
        out.extend_from_slice(r.text.as_bytes());
        out.push(b'\n');
    }
    Ok(Scanned { text: out, lines: data.iter().map(|r| r.line).collect(), hint })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str, sep: u8) -> Scanned {
        scan(text, "t.csv", sep).unwrap_or_else(|e| panic!("{}", e.message))
    }

    fn err(text: &str, sep: u8) -> String {
        scan(text, "t.csv", sep).err().expect("an error").message
    }

    #[test]
    fn blank_lines_are_skipped_and_lines_kept() {
        for text in ["a,b\n1,2\n\n3,4\n\n", "a,b\r\n1,2\r\n\r\n3,4\r\n\r\n", "\na,b\n1,2\n  \n3,4"] {
            let s = ok(text, b',');
            assert_eq!(String::from_utf8(s.text).unwrap(), "a,b\n1,2\n3,4\n", "{text:?}");
        }
        assert_eq!(ok("a,b\n1,2\n\n3,4\n", b',').lines, vec![2, 4]);
        // A quoted field with a line break is one row; the next row starts two lines later.
        let s = ok("a,b\n\"x\ny\",2\n3,4\n", b',');
        assert_eq!(s.lines, vec![2, 4]);
        // With tabs as separator, a line of tabs is a row of empty fields, not a blank line.
        assert!(err("a\tb\n1\t2\n\t\t\n", b'\t').contains("line 3 has 3 fields"));
        assert_eq!(ok("a\tb\n1\t2\n\t\n", b'\t').lines, vec![2, 3]);
    }

    #[test]
    fn headers_without_rows_and_empty_files() {
        assert!(err("x1,x2,label\n\n\n", b',').contains("no data rows: only a header (line 1) (blank lines"));
        assert!(err("x1,x2,label\n", b',').contains("no data rows"));
        assert!(err("", b',').contains("which is empty"));
        assert!(err("\n\r\n", b',').contains("which is empty"));
        assert!(err("a,b,a\n1,2,3\n", b',').contains("names column `a` twice (fields 1 and 3)"));
    }

    #[test]
    fn field_counts_are_checked_with_a_separator_hint() {
        let e = err("length_cm;width_cm;species\n5,52;3,43;alpha\n6,53;2,27;beta\n", b',');
        assert!(e.contains("line 2 has 3 fields, more than its header (line 1), which has 1"), "{e}");
        assert!(e.contains("`;`-separated: set `separator = \";\"` and `decimal_comma = true`"), "{e}");
        let e = err("a,b,c\n1,2,3\n1,2\n", b',');
        assert!(e.contains("line 3 has 2 fields, fewer than its header (line 1), which has 3"), "{e}");
        assert!(!e.contains("separated"), "no hint when no separator fits: {e}");
        let s = ok("a\tb\n1\t2\n", b',');
        assert!(s.hint.unwrap().contains("tab-separated: set `separator = \"\\t\"`"));
        // A ;-separated file with decimal points reads as one column: the hint is kept.
        let s = ok("a;b;c\n1.5;2;x\n", b',');
        assert!(s.hint.unwrap().contains("`;`-separated: set `separator = \";\"` in `[dataset]`"));
        assert!(err("a,b\n\"1,2\n", b',').contains("line 2 opens a quoted field"));
        assert_eq!(ok("a,b\n\"1,\"\"2\",3\n", b',').lines, vec![2]);
    }

    #[test]
    fn encodings() {
        assert_eq!(utf8(b"\xEF\xBB\xBFa,b\n", "t.csv").unwrap(), "a,b\n");
        let e = utf8(b"a,b\n1,caf\xE9\n", "t.csv").unwrap_err().message;
        assert!(e.contains("not UTF-8 text: line 2, column 6 holds the byte 0xE9"), "{e}");
        assert!(utf8(b"\xFF\xFEa\0", "t.csv").unwrap_err().message.contains("UTF-16"));
    }

    #[test]
    fn decimal_commas() {
        assert!(has_decimal_comma("5,52") && has_decimal_comma("-0,5"));
        assert!(!has_decimal_comma("5,") && !has_decimal_comma("a,b") && !has_decimal_comma("5.5"));
    }
}
