//! `table`: the user's own CSV or Parquet file, read with polars.
//!
//! The inputs come from exactly one of:
//! - `features`: numeric columns; an example is **one time step** whose channels are the
//!   features (`seq_len = 1`, `channels = features.len()`), standardised per column with the
//!   training split's mean and standard deviation unless `standardize = false`;
//! - `sequence`: one column holding a list of numbers per row (a Parquet list column, or in a
//!   CSV a string of numbers separated by spaces, commas or semicolons); an example is
//!   `seq_len` steps of one channel, standardised with the training split's overall mean and
//!   standard deviation unless `standardize = false`. Rows must all have the same length
//!   unless `max_len` is set (then shorter rows are padded with 0 and longer ones truncated);
//! - `text`: one string column, split into characters or whitespace-separated words
//!   (`tokenizer`). The vocabulary is built from the training split only: id 0 is padding,
//!   id 1 stands for a token not in the vocabulary, and the known tokens take ids 2.. by
//!   decreasing training frequency (ties in lexicographic order), at most `max_vocab` of them.
//!   Every example is cut or padded to `max_len` tokens (default: the longest training text);
//!   channel 0 holds the id as a float and `DataInfo::vocab` is the vocabulary size including
//!   the two reserved ids. A text with no tokens becomes one unknown token, so that no example
//!   is all padding (the attention family masks padding).
//!
//! The `label` column must be categorical: strings, integers, booleans or integral floats;
//! its distinct values, sorted (numerically for numbers), become classes `0..K`. With
//! `task = "regression"` it must be numeric instead: its values are the targets
//! ([`Split::target`], as they are: not standardised, so metrics are in its units), and
//! models have one output.
//! The split comes from a `split` column whose values are `train`, `valid` (or `validation`)
//! or `test`, or from a seeded shuffle that puts `test_fraction` (default 0.2) of the rows in
//! the test split. With a `split` column the table has its own validation split (its `valid`
//! rows; none without them) and `dataset.validation` must be 0; without one, `validation`
//! carves it out of the training rows, seeded with `split_seed`. Standardisation statistics
//! and the vocabulary come from the training rows alone (a carved validation split's rows
//! included, since it is carved after loading).
//!
//! CSV and TSV files are checked as text before polars parses them (`table/csv.rs`): UTF-8
//! (a byte-order mark is dropped), blank lines skipped, every line with as many fields as the
//! header; `separator` and `decimal_comma` read other layouts. Errors about a cell name its
//! data row and the file line it is on.
//!
//! Missing values are never filled in: in `features`, `sequence`, `label` and `split` columns
//! an empty cell, a null, NaN or one of [`MISSING_MARKERS`] (`NA`, `N/A`, `null`, `None`,
//! `?`, ...) is an error naming the file, the row and the value. A `text` column keeps such
//! markers as text; an empty or null text is an empty text.
//!
//! A relative `path` is resolved against the current working directory (where `burnlab run`
//! is started; trial worker processes inherit it).
//!
//! Checking an experiment (`DatasetSpec::validate`) reads the file and prepares the data once
//! per process and set of options, and remembers the resulting [`DataInfo`], so that errors in
//! the file are reported, with the key at fault, before anything is run.

use super::{DataInfo, Dataset, Split, Task};
use crate::check::FieldError;
use crate::error::{UserError, did_you_mean};
use polars::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{LazyLock, Mutex};

/// How the `table` dataset splits a text column into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Tokenizer {
    /// One token per Unicode character.
    #[default]
    Chars,
    /// Whitespace-separated words.
    Words,
}

/// Options of the `table` dataset: `path` and `label` are required, and exactly one of
/// `features`, `sequence` or `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableOptions {
    /// A `.csv`, `.tsv` or `.parquet` file; relative to the current working directory.
    pub path: String,
    /// The label column (strings, integers, booleans or integral floats; numbers for
    /// regression).
    pub label: String,
    /// `classification` (default) or `regression` (a numeric label column, one output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<Task>,
    /// Numeric feature columns: one time step with a channel per feature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Vec<String>>,
    /// One column of number lists (or, in a CSV, strings of numbers): steps of one channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<String>,
    /// One string column, tokenized into ids (channel 0; 0 = padding, 1 = unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// `text` only: `chars` (default) or `words`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<Tokenizer>,
    /// `sequence`/`text`: pad or cut every example to this many steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_len: Option<usize>,
    /// `text` only: keep at most this many (most frequent) training tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_vocab: Option<usize>,
    /// `features`/`sequence`: standardise with training-split statistics (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standardize: Option<bool>,
    /// A column whose values are `train`, `valid` (or `validation`) or `test`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<String>,
    /// Without `split`: the fraction of rows in the test split (default 0.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_fraction: Option<f64>,
    /// Without `split`: the seed of the shuffle that picks the test rows, and of the carve of
    /// the validation split (`dataset.validation`).
    #[serde(default)]
    pub split_seed: u64,
    /// CSV/TSV: the field separator, one character (default `,`; a tab for `.tsv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// CSV/TSV: numbers are written with a decimal comma (`5,52`); needs a `separator`
    /// other than `,`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimal_comma: Option<bool>,
}

impl Default for TableOptions {
    /// Placeholder `path` and `label` (both required in a file), as `burnlab list` shows them.
    fn default() -> Self {
        TableOptions {
            path: "data.csv".into(),
            label: "label".into(),
            task: None,
            features: None,
            sequence: None,
            text: None,
            tokenizer: None,
            max_len: None,
            max_vocab: None,
            standardize: None,
            split: None,
            test_fraction: None,
            split_seed: 0,
            separator: None,
            decimal_comma: None,
        }
    }
}

mod csv;
mod inputs;

/// The test fraction used when neither `split` nor `test_fraction` is given.
pub const DEFAULT_TEST_FRACTION: f64 = 0.2;
/// The most classes a label column may have.
pub const MAX_CLASSES: usize = 1000;
/// The longest allowed `max_len`.
pub const MAX_LEN: usize = 65_536;
/// Token id of padding.
pub const PAD: usize = 0;
/// Token id of a token not in the vocabulary.
pub const UNKNOWN: usize = 1;

/// A problem with the options or the file, blamed on one option key.
#[derive(Debug, Clone, PartialEq)]
pub struct TableError {
    /// The `[dataset]` key at fault (`path`, `label`, `features`, ...).
    pub key: &'static str,
    /// What is wrong, phrased to follow "`dataset.KEY`".
    pub message: String,
}

impl TableError {
    fn new(key: &'static str, message: impl Into<String>) -> Self {
        TableError { key, message: message.into() }
    }
}

impl From<TableError> for FieldError {
    fn from(e: TableError) -> Self {
        FieldError::new(e.key, e.message)
    }
}

impl From<TableError> for UserError {
    fn from(e: TableError) -> Self {
        UserError::new(format!("`dataset.{}` {}", e.key, e.message))
    }
}

type Checked<T> = std::result::Result<T, TableError>;

/// `DataInfo` of every option set prepared in this process, keyed by the options as JSON.
static INFOS: LazyLock<Mutex<HashMap<String, Checked<DataInfo>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

fn cache_key(opts: &TableOptions) -> String {
    serde_json::to_string(opts).unwrap_or_default()
}

fn remember(opts: &TableOptions, info: Checked<DataInfo>) -> Checked<DataInfo> {
    INFOS.lock().unwrap_or_else(|e| e.into_inner()).insert(cache_key(opts), info.clone());
    info
}

fn prepared_info(opts: &TableOptions) -> Checked<DataInfo> {
    let cached = INFOS.lock().unwrap_or_else(|e| e.into_inner()).get(&cache_key(opts)).cloned();
    match cached {
        Some(info) => info,
        None => remember(opts, build(opts).map(|d| d.info)),
    }
}

/// Reads and prepares the file, reporting the first problem against its option key.
pub fn validate(opts: &TableOptions) -> std::result::Result<(), FieldError> {
    prepared_info(opts).map(|_| ()).map_err(FieldError::from)
}

/// The example shape. Reads the file unless [`validate`] already did in this process; for a
/// file that cannot be used (which `validate` reports) it returns a one-value placeholder.
pub fn info(opts: &TableOptions) -> DataInfo {
    prepared_info(opts).unwrap_or(DataInfo { seq_len: 1, channels: 1, num_classes: 2, ..Default::default() })
}

/// Reads the file and builds both splits.
pub fn load(opts: &TableOptions) -> crate::error::Result<Dataset> {
    let data = build(opts);
    remember(opts, data.as_ref().map(|d| d.info.clone()).map_err(Clone::clone)).ok();
    data.map_err(|e| UserError::from(e).into())
}

/// How the inputs are read.
enum Inputs<'a> {
    Features(&'a [String]),
    Sequence(&'a str),
    Text(&'a str),
}

fn inputs(o: &TableOptions) -> Checked<Inputs<'_>> {
    const ONE_OF: &str =
        "give exactly one of `features` (numeric columns), `sequence` (one list column) or `text` (one string column)";
    let given: Vec<&'static str> =
        [("features", o.features.is_some()), ("sequence", o.sequence.is_some()), ("text", o.text.is_some())]
            .into_iter()
            .filter(|(_, g)| *g)
            .map(|(k, _)| k)
            .collect();
    match given.as_slice() {
        [] => return Err(TableError::new("features", format!("is missing: {ONE_OF}"))),
        [_] => {}
        [first, second, ..] => {
            return Err(TableError::new(second, format!("cannot be combined with `{first}`: {ONE_OF}")));
        }
    }
    if o.text.is_none() {
        for (k, set) in [("tokenizer", o.tokenizer.is_some()), ("max_vocab", o.max_vocab.is_some())] {
            if set {
                return Err(TableError::new(k, "applies to `text` inputs only"));
            }
        }
    }
    if o.text.is_some() && o.standardize.is_some() {
        return Err(TableError::new("standardize", "applies to `features` and `sequence` inputs only"));
    }
    if o.features.is_some() && o.max_len.is_some() {
        return Err(TableError::new("max_len", "applies to `sequence` and `text` inputs only"));
    }
    if let Some(m) = o.max_len
        && !(1..=MAX_LEN).contains(&m)
    {
        return Err(TableError::new("max_len", format!("must be between 1 and {MAX_LEN}, got {m}")));
    }
    if o.max_vocab == Some(0) {
        return Err(TableError::new("max_vocab", "must be at least 1, got 0"));
    }
    if o.split.is_some() && o.test_fraction.is_some() {
        return Err(TableError::new(
            "test_fraction",
            "cannot be combined with `split`: use a split column or a seeded split, not both",
        ));
    }
    if let Some(f) = o.test_fraction
        && !(f > 0.0 && f < 1.0)
    {
        return Err(TableError::new("test_fraction", format!("must be between 0 and 1 (exclusive), got {f}")));
    }
    Ok(match (&o.features, &o.sequence, &o.text) {
        (Some(f), _, _) => {
            if f.is_empty() {
                return Err(TableError::new("features", "is empty: list at least one numeric column"));
            }
            let mut seen = BTreeSet::new();
            for c in f {
                if !seen.insert(c) {
                    return Err(TableError::new("features", format!("lists column `{c}` twice")));
                }
                if *c == o.label {
                    return Err(TableError::new("features", format!("lists the label column `{c}`")));
                }
            }
            Inputs::Features(f)
        }
        (_, Some(s), _) => Inputs::Sequence(s),
        (_, _, Some(t)) => Inputs::Text(t),
        _ => unreachable!("exactly one input kind was checked above"),
    })
}

/// Cell texts that mean "no value" (compared without case, after trimming), besides an
/// empty cell: pandas' default markers and `?` (UCI files).
pub const MISSING_MARKERS: [&str; 10] = ["na", "n/a", "nan", "-nan", "null", "none", "?", "#n/a", "#na", "<na>"];

/// Whether a cell's text is a missing value: empty, blank or one of [`MISSING_MARKERS`].
pub fn is_missing(cell: &str) -> bool {
    let t = cell.trim().to_ascii_lowercase();
    t.is_empty() || MISSING_MARKERS.contains(&t.as_str())
}

/// The file's data and where its rows came from, for messages.
struct Frame {
    df: DataFrame,
    /// `path` as the experiment names it.
    path: String,
    /// CSV/TSV: the file line each data row starts on (blank lines are skipped); Parquet: none.
    lines: Option<Vec<usize>>,
    /// A suggested separator, when a CSV's header reads as one column that looks separated.
    hint: Option<String>,
    /// Numbers in text cells have a decimal comma.
    decimal_comma: bool,
}

impl Frame {
    /// Where data row `row` (0-based) is: `data row 5 (line 6 of `x.csv`)`.
    fn at(&self, row: usize) -> String {
        match self.lines.as_ref().and_then(|l| l.get(row)) {
            Some(line) => format!("data row {} (line {line} of `{}`)", row + 1, self.path),
            None => format!("data row {} of `{}`", row + 1, self.path),
        }
    }

    /// The error for a missing value in column `name`: `count` of them, the first `cell`
    /// (`None`: a null) in data row `row`.
    fn missing(&self, key: &'static str, name: &str, row: usize, cell: Option<&str>, count: usize) -> TableError {
        let first = match cell.map(str::trim) {
            Some(t) if !t.is_empty() => format!("{t:?}"),
            _ => "an empty cell".into(),
        };
        let plural = if count == 1 { "" } else { "s" };
        TableError::new(
            key,
            format!(
                "column `{name}` has {count} missing value{plural}, the first {first} in {}: burnlab does not fill in \
                 missing values (empty cells and NA, N/A, NaN, null, None, ? count as missing): fill them in or remove \
                 those rows",
                self.at(row)
            ),
        )
    }

    /// An error for the first null of a (non-text) column, if it has any.
    fn no_nulls(&self, s: &Series, key: &'static str, name: &str) -> Checked<()> {
        if s.null_count() == 0 {
            return Ok(());
        }
        let first = s.is_null().iter().position(|v| v == Some(true)).unwrap_or(0);
        Err(self.missing(key, name, first, None, s.null_count()))
    }

    /// The column `name`, blaming `key` (with a did-you-mean over the file's columns) if absent.
    fn column(&self, key: &'static str, name: &str) -> Checked<&Series> {
        if let Ok(c) = self.df.column(name) {
            return Ok(c.as_materialized_series());
        }
        let names: Vec<&str> = self.df.get_column_names().into_iter().map(|n| n.as_str()).collect();
        let hint = match (did_you_mean(name, names.iter().copied()), &self.hint) {
            (_, Some(h)) => format!("; {h}"),
            (Some(s), None) => format!("; did you mean `{s}`?"),
            (None, None) => String::new(),
        };
        let shown: Vec<String> = names.iter().take(20).map(|n| format!("`{n}`")).collect();
        let more = if names.len() > 20 { format!(" and {} more", names.len() - 20) } else { String::new() };
        Err(TableError::new(
            key,
            format!(
                "names column `{name}`, which is not in `{}` (its columns: {}{more}){hint}",
                self.path,
                shown.join(", ")
            ),
        ))
    }

    /// A text cell as a finite number (with a decimal comma if the file has them).
    fn parse(&self, cell: &str) -> Option<f64> {
        let t = cell.trim();
        let v = if self.decimal_comma { t.replacen(',', ".", 1).parse::<f64>() } else { t.parse::<f64>() };
        v.ok().filter(|v| v.is_finite())
    }

    /// The error for a cell of column `name` that is not a number.
    fn not_a_number(&self, key: &'static str, name: &str, row: usize, cell: &str) -> TableError {
        let hint = if self.decimal_comma || !csv::has_decimal_comma(cell) {
            String::new()
        } else {
            "; it has a decimal comma: set `decimal_comma = true` (with a `separator` other than `,`)".into()
        };
        TableError::new(key, format!("column `{name}` holds {cell:?} in {}, which is not a number{hint}", self.at(row)))
    }

    /// One column's values as finite numbers. A missing value (a null, or a text column's
    /// empty cell or marker) or a cell that is not a number is an error naming its row.
    fn numbers(&self, key: &'static str, name: &str) -> Checked<Vec<f64>> {
        let s = self.column(key, name)?;
        if let Ok(ca) = s.str() {
            let count = ca.iter().filter(|c| c.is_none_or(is_missing)).count();
            return ca
                .iter()
                .enumerate()
                .map(|(row, cell)| match cell.and_then(|c| self.parse(c)) {
                    Some(v) => Ok(v),
                    None if cell.is_none_or(is_missing) => Err(self.missing(key, name, row, cell, count)),
                    None => Err(self.not_a_number(key, name, row, cell.unwrap_or_default())),
                })
                .collect();
        }
        if !(s.dtype().is_primitive_numeric() || s.dtype().is_bool()) {
            return Err(TableError::new(
                key,
                format!("column `{name}` of `{}` has type {}; it must be numeric", self.path, s.dtype()),
            ));
        }
        self.no_nulls(s, key, name)?;
        let values = s
            .cast(&DataType::Float64)
            .and_then(|c| c.f64().map(|ca| ca.iter().map(|v| v.unwrap_or(f64::NAN)).collect::<Vec<f64>>()))
            .map_err(|e| TableError::new(key, format!("column `{name}`: {e}")))?;
        match values.iter().position(|v| !v.is_finite()) {
            Some(row) if values[row].is_nan() => {
                Err(self.missing(key, name, row, Some("NaN"), values.iter().filter(|v| v.is_nan()).count()))
            }
            Some(row) => {
                Err(TableError::new(key, format!("column `{name}` holds {} in {}", values[row], self.at(row))))
            }
            None => Ok(values),
        }
    }
}

/// The separator of a CSV or TSV file and whether its numbers have decimal commas.
fn csv_format(o: &TableOptions, ext: &str) -> Checked<(u8, bool)> {
    let sep = match o.separator.as_deref() {
        None => (if ext == "tsv" { "\t" } else { "," }).to_string(),
        Some(s) => s.to_string(),
    };
    let byte = match sep.as_bytes() {
        [b] if b.is_ascii() && !matches!(*b, b'"' | b'\n' | b'\r') => *b,
        _ => {
            return Err(TableError::new(
                "separator",
                format!(
                    "must be one character other than a quote or a line break, such as \";\" or \"\\t\"; got {sep:?}"
                ),
            ));
        }
    };
    let comma = o.decimal_comma.unwrap_or(false);
    if comma && byte == b',' {
        return Err(TableError::new(
            "decimal_comma",
            "needs a `separator` other than \",\" (a file with decimal commas separates its fields with `;` or tabs)",
        ));
    }
    Ok((byte, comma))
}

/// Reads a CSV or TSV file, checked by [`csv::scan`] first.
fn read_csv(o: &TableOptions, path: &Path, ext: &str) -> Checked<Frame> {
    let (sep, decimal_comma) = csv_format(o, ext)?;
    let bytes =
        std::fs::read(path).map_err(|e| TableError::new("path", format!("`{}` cannot be read: {e}", o.path)))?;
    let scanned = csv::scan(csv::utf8(&bytes, &o.path)?, &o.path, sep)?;
    drop(bytes);
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(None)
        .map_parse_options(|p| p.with_separator(sep).with_decimal_comma(decimal_comma))
        .into_reader_with_file_handle(std::io::Cursor::new(scanned.text))
        .finish()
        .map_err(|e| TableError::new("path", format!("`{}` cannot be read as CSV: {e}", o.path)))?;
    Ok(Frame { df, path: o.path.clone(), lines: Some(scanned.lines), hint: scanned.hint, decimal_comma })
}

/// Reads the whole file.
fn read_frame(o: &TableOptions) -> Checked<Frame> {
    let path = Path::new(&o.path);
    if !path.is_file() {
        let cwd = std::env::current_dir().map(|d| d.display().to_string()).unwrap_or_default();
        let why = if path.exists() { "is not a file" } else { "does not exist" };
        let rel = if path.is_relative() {
            format!(" (relative paths are resolved against the current directory, {cwd})")
        } else {
            String::new()
        };
        return Err(TableError::new("path", format!("names `{}`, which {why}{rel}", o.path)));
    }
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "csv" | "tsv" => read_csv(o, path, &ext),
        "parquet" | "pq" => {
            for (key, set) in [("separator", o.separator.is_some()), ("decimal_comma", o.decimal_comma.is_some())] {
                if set {
                    return Err(TableError::new(key, "applies to CSV and TSV files only"));
                }
            }
            let file = std::fs::File::open(path)
                .map_err(|e| TableError::new("path", format!("`{}` cannot be opened: {e}", o.path)))?;
            let df = ParquetReader::new(file)
                .finish()
                .map_err(|e| TableError::new("path", format!("`{}` cannot be read as Parquet: {e}", o.path)))?;
            if df.height() == 0 {
                return Err(TableError::new("path", format!("names `{}`, which has no data rows", o.path)));
            }
            Ok(Frame { df, path: o.path.clone(), lines: None, hint: None, decimal_comma: false })
        }
        _ => Err(TableError::new(
            "path",
            format!("names `{}`, whose type is unknown: use a .csv, .tsv or .parquet file", o.path),
        )),
    }
}

/// Class ids `0..K` of the label column, by sorted distinct value; `K`; and the values as text
/// (the class names, in id order).
fn labels(f: &Frame, name: &str) -> Checked<(Vec<i64>, usize, Vec<String>)> {
    const KEY: &str = "label";
    let s = f.column(KEY, name)?;
    let not_cat = |what: String| {
        TableError::new(KEY, format!("column `{name}` is not categorical: {what}; use a column of strings or integers"))
    };
    fn ids<T: Ord + Clone + ToString>(values: Vec<T>) -> (Vec<i64>, usize, Vec<String>) {
        let classes: BTreeMap<T, i64> = values.iter().cloned().collect::<BTreeSet<_>>().into_iter().zip(0..).collect();
        let names = classes.keys().map(T::to_string).collect();
        (values.iter().map(|v| classes[v]).collect(), classes.len(), names)
    }
    let dtype = s.dtype().clone();
    let cast = |to: &DataType| s.cast(to).map_err(|e| not_cat(format!("it has type {dtype} ({e})")));
    let (y, k, names) = if dtype.is_string() || matches!(dtype, DataType::Categorical(..)) {
        let s = cast(&DataType::String)?;
        let ca = s.str().map_err(|e| not_cat(e.to_string()))?;
        if let Some(row) = ca.iter().position(|c| c.is_none_or(is_missing)) {
            let count = ca.iter().filter(|c| c.is_none_or(is_missing)).count();
            return Err(f.missing(KEY, name, row, ca.get(row), count));
        }
        ids(ca.iter().map(|v| v.unwrap_or_default().to_string()).collect())
    } else if dtype.is_integer() || dtype.is_bool() {
        f.no_nulls(s, KEY, name)?;
        let s = cast(&DataType::Int64)?;
        let ca = s.i64().map_err(|e| not_cat(e.to_string()))?;
        ids(ca.iter().map(|v| v.unwrap_or_default()).collect())
    } else if dtype.is_float() {
        let values = f.numbers(KEY, name)?;
        if let Some((row, v)) = values.iter().enumerate().find(|(_, v)| v.fract() != 0.0) {
            return Err(not_cat(format!("it holds the non-integer number {v} in {}", f.at(row))));
        }
        ids(values.iter().map(|&v| v as i64).collect())
    } else {
        return Err(not_cat(format!("it has type {dtype}")));
    };
    if k < 2 {
        return Err(TableError::new(
            KEY,
            format!("column `{name}` has a single value: a classifier needs at least 2 classes"),
        ));
    }
    if k > MAX_CLASSES {
        return Err(not_cat(format!("it has {k} distinct values (at most {MAX_CLASSES} classes)")));
    }
    Ok((y, k, names))
}

/// The split a row belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Train,
    Valid,
    Test,
}

/// The split of each row of the `split` column `name`: `train`, `valid` (or `validation`) or
/// `test`, in any case.
fn split_column(f: &Frame, name: &str) -> Checked<Vec<Role>> {
    const KEY: &str = "split";
    let s = f.column(KEY, name)?;
    let Ok(ca) = s.str() else {
        return Err(TableError::new(
            KEY,
            format!(
                "column `{name}` has type {}; it must hold the strings \"train\", \"valid\" and \"test\"",
                s.dtype()
            ),
        ));
    };
    let count = ca.iter().filter(|c| c.is_none_or(is_missing)).count();
    ca.iter()
        .enumerate()
        .map(|(row, cell)| match cell.map(|c| c.trim().to_ascii_lowercase()).as_deref() {
            Some("train") => Ok(Role::Train),
            Some("valid" | "validation") => Ok(Role::Valid),
            Some("test") => Ok(Role::Test),
            _ if cell.is_none_or(is_missing) => Err(f.missing(KEY, name, row, cell, count)),
            _ => Err(TableError::new(
                KEY,
                format!(
                    "column `{name}` holds {:?} in {}; its values must be \"train\", \"valid\" or \"test\"",
                    cell.unwrap_or_default().trim(),
                    f.at(row)
                ),
            )),
        })
        .collect()
}

/// The split each row belongs to: the `split` column's, else a seeded shuffle's (train or test).
fn row_roles(f: &Frame, o: &TableOptions) -> Checked<Vec<Role>> {
    let n = f.df.height();
    let roles = match &o.split {
        Some(name) => split_column(f, name)?,
        None => {
            let fraction = o.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION);
            let n_test = (n as f64 * fraction).round() as usize;
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(o.split_seed));
            let mut out = vec![Role::Train; n];
            for &i in &order[..n_test.min(n)] {
                out[i] = Role::Test;
            }
            out
        }
    };
    let count = |role: Role| roles.iter().filter(|&&r| r == role).count();
    for (empty, which) in [(count(Role::Test) == 0, "test"), (count(Role::Train) == 0, "train")] {
        if empty {
            return Err(match &o.split {
                Some(name) => TableError::new(
                    "split",
                    format!("column `{name}` has no \"{which}\" rows: the {which} split is empty"),
                ),
                None => TableError::new(
                    "test_fraction",
                    format!(
                        "{} of {n} rows leaves the {which} split empty",
                        o.test_fraction.unwrap_or(DEFAULT_TEST_FRACTION)
                    ),
                ),
            });
        }
    }
    Ok(roles)
}

/// The numbers of one Parquet list cell, refusing missing, non-numeric and non-finite values.
fn list_numbers(cell: &Series) -> std::result::Result<Vec<f64>, String> {
    if !(cell.dtype().is_primitive_numeric() || cell.dtype().is_bool()) {
        return Err(format!("its list holds {} values; they must be numbers", cell.dtype()));
    }
    if let Some(i) = cell.is_null().iter().position(|v| v == Some(true)) {
        return Err(format!("element {} of its list is missing", i + 1));
    }
    let s = cell.cast(&DataType::Float64).map_err(|e| e.to_string())?;
    let values: Vec<f64> = s.f64().map_err(|e| e.to_string())?.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(format!("element {} of its list is {}", i + 1, values[i])),
        None => Ok(values),
    }
}

/// Mean and standard deviation (population; 1 when it is 0) over `values`.
fn moments(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = values.clone().count().max(1) as f64;
    let mean = values.clone().sum::<f64>() / n;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    let std = var.sqrt();
    (mean, if std > 0.0 { std } else { 1.0 })
}

/// Rows `[n, seq_len, channels]` (flattened per row) and the shape, from numeric columns.
fn feature_rows(
    f: &Frame,
    o: &TableOptions,
    names: &[String],
    is_test: &[bool],
) -> Checked<(Vec<Vec<f32>>, usize, usize)> {
    let n = f.df.height();
    let mut rows = vec![Vec::with_capacity(names.len()); n];
    for name in names {
        let mut values = f.numbers("features", name)?;
        if o.standardize.unwrap_or(true) {
            let (mean, std) = moments(values.iter().zip(is_test).filter(|(_, t)| !**t).map(|(v, _)| *v));
            values.iter_mut().for_each(|v| *v = (*v - mean) / std);
        }
        for (row, v) in rows.iter_mut().zip(values) {
            row.push(v as f32);
        }
    }
    Ok((rows, 1, names.len()))
}

/// The numbers of every sequence cell: a list, or a string of numbers.
fn sequence_values(f: &Frame, name: &str) -> Checked<Vec<Vec<f64>>> {
    const KEY: &str = "sequence";
    let s = f.column(KEY, name)?;
    f.no_nulls(s, KEY, name)?;
    let bad_row = |row: usize, what: String| TableError::new(KEY, format!("column `{name}`, {}: {what}", f.at(row)));
    if let Ok(list) = s.list() {
        let cells = list.series_iter().enumerate();
        return cells.map(|(row, cell)| list_numbers(&cell.unwrap_or_default()).map_err(|e| bad_row(row, e))).collect();
    }
    let Ok(strings) = s.str() else {
        return Err(TableError::new(
            KEY,
            format!(
                "column `{name}` has type {}; it must hold a list of numbers per row (or, in a CSV, a string like \"0.1 0.5 2\")",
                s.dtype()
            ),
        ));
    };
    let count = strings.iter().filter(|c| c.is_none_or(is_missing)).count();
    // With decimal commas, a comma is part of a number and cannot separate two.
    let splits = |c: char| c.is_whitespace() || c == ';' || (c == ',' && !f.decimal_comma);
    let mut out = Vec::with_capacity(s.len());
    for (row, cell) in strings.iter().enumerate() {
        let cell = cell.unwrap_or_default();
        if is_missing(cell) {
            return Err(f.missing(KEY, name, row, Some(cell), count));
        }
        let values = cell
            .split(splits)
            .filter(|t| !t.is_empty())
            .map(|t| f.parse(t).ok_or_else(|| bad_row(row, format!("{t:?} is not a finite number"))))
            .collect::<Checked<Vec<f64>>>()?;
        out.push(values);
    }
    Ok(out)
}

fn sequence_rows(f: &Frame, o: &TableOptions, name: &str, is_test: &[bool]) -> Checked<(Vec<Vec<f32>>, usize, usize)> {
    let mut seqs = sequence_values(f, name)?;
    let (shortest, longest) = seqs.iter().fold((usize::MAX, 0), |(lo, hi), s| (lo.min(s.len()), hi.max(s.len())));
    let len = match o.max_len {
        Some(m) => m,
        None if shortest == longest => longest,
        None => {
            return Err(TableError::new(
                "sequence",
                format!(
                    "column `{name}` has rows of lengths {shortest} to {longest}: set `max_len` to pad (with 0) or cut them to one length"
                ),
            ));
        }
    };
    if len == 0 {
        return Err(TableError::new("sequence", format!("column `{name}` holds only empty lists")));
    }
    if o.standardize.unwrap_or(true) {
        let train = seqs.iter().zip(is_test).filter(|(_, t)| !**t).flat_map(|(s, _)| s.iter().take(len).copied());
        let (mean, std) = moments(train);
        seqs.iter_mut().flatten().for_each(|v| *v = (*v - mean) / std);
    }
    let rows = seqs
        .into_iter()
        .map(|s| {
            let mut row: Vec<f32> = s.into_iter().take(len).map(|v| v as f32).collect();
            row.resize(len, 0.0);
            row
        })
        .collect();
    Ok((rows, len, 1))
}

/// Splits a text into tokens.
fn tokenize(text: &str, tokenizer: Tokenizer) -> Vec<String> {
    match tokenizer {
        Tokenizer::Chars => text.chars().map(String::from).collect(),
        Tokenizer::Words => text.split_whitespace().map(String::from).collect(),
    }
}

/// Token id rows, the length and the vocabulary size (including padding and unknown).
fn text_rows(f: &Frame, o: &TableOptions, name: &str, is_test: &[bool]) -> Checked<(Vec<Vec<f32>>, usize, usize)> {
    let s = f.column("text", name)?;
    let Ok(strings) = s.str() else {
        return Err(TableError::new("text", format!("column `{name}` has type {}; it must hold strings", s.dtype())));
    };
    let tokenizer = o.tokenizer.unwrap_or_default();
    let texts: Vec<Vec<String>> = strings.iter().map(|t| tokenize(t.unwrap_or_default(), tokenizer)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (tokens, _) in texts.iter().zip(is_test).filter(|(_, t)| !**t) {
        for tok in tokens {
            *counts.entry(tok).or_default() += 1;
        }
    }
    let mut known: Vec<(&str, usize)> = counts.into_iter().collect();
    known.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    known.truncate(o.max_vocab.unwrap_or(usize::MAX));
    let ids: HashMap<&str, usize> = known.iter().enumerate().map(|(i, (tok, _))| (*tok, i + 2)).collect();
    let longest = texts.iter().zip(is_test).filter(|(_, t)| !**t).map(|(t, _)| t.len()).max().unwrap_or(0);
    let len = o.max_len.unwrap_or(longest.max(1));
    if len > MAX_LEN {
        return Err(TableError::new(
            "text",
            format!("column `{name}` has a training text of {longest} tokens, more than {MAX_LEN}: set `max_len`"),
        ));
    }
    let rows = texts
        .iter()
        .map(|tokens| {
            let mut row: Vec<f32> =
                tokens.iter().take(len).map(|t| *ids.get(t.as_str()).unwrap_or(&UNKNOWN) as f32).collect();
            if row.is_empty() {
                row.push(UNKNOWN as f32);
            }
            row.resize(len, PAD as f32);
            row
        })
        .collect();
    Ok((rows, len, known.len() + 2))
}

/// Every row's input values (flattened `[seq_len, channels]`), `seq_len`, `channels` and the
/// vocabulary size of `text`.
type InputRows = (Vec<Vec<f32>>, usize, usize, Option<usize>);

/// The [`InputRows`] of `f`; statistics, length and vocabulary come from the rows not
/// `held_out`.
fn input_rows(f: &Frame, o: &TableOptions, inputs: &Inputs, held_out: &[bool]) -> Checked<InputRows> {
    Ok(match inputs {
        Inputs::Features(names) => {
            let (rows, t, c) = feature_rows(f, o, names, held_out)?;
            (rows, t, c, None)
        }
        Inputs::Sequence(name) => {
            let (rows, t, c) = sequence_rows(f, o, name, held_out)?;
            (rows, t, c, None)
        }
        Inputs::Text(name) => {
            let (rows, len, v) = text_rows(f, o, name, held_out)?;
            (rows, len, 1, Some(v))
        }
    })
}

/// Reads the file and builds the dataset.
pub fn build(o: &TableOptions) -> Checked<Dataset> {
    let inputs = inputs(o)?;
    let f = read_frame(o)?;
    let named: Vec<(&'static str, &str)> = match &inputs {
        Inputs::Features(names) => names.iter().map(|n| ("features", n.as_str())).collect(),
        Inputs::Sequence(n) => vec![("sequence", *n)],
        Inputs::Text(n) => vec![("text", *n)],
    };
    let split = o.split.as_deref().map(|n| ("split", n));
    for (key, name) in named.into_iter().chain([("label", o.label.as_str())]).chain(split) {
        f.column(key, name)?;
    }
    let regression = o.task == Some(Task::Regression);
    let (y, num_classes, target) = if regression {
        let target = f.numbers("label", &o.label)?;
        (vec![0; target.len()], 1, target)
    } else {
        let (y, k, _) = labels(&f, &o.label)?;
        (y, k, Vec::new())
    };
    let roles = row_roles(&f, o)?;
    // Statistics and the vocabulary come from the training rows alone.
    let held_out: Vec<bool> = roles.iter().map(|&r| r != Role::Train).collect();
    let (rows, seq_len, channels, vocab) = input_rows(&f, o, &inputs, &held_out)?;
    let split = |role: Role| {
        let mut s = Split::default();
        for (i, ((row, &label), &r)) in rows.iter().zip(&y).zip(&roles).enumerate() {
            if r == role {
                s.x.extend_from_slice(row);
                s.y.push(label);
                if regression {
                    s.target.push(target[i] as f32);
                }
            }
        }
        s
    };
    let task = if regression { Task::Regression } else { Task::Classification };
    let info = DataInfo { seq_len, channels, num_classes, task, vocab, ..Default::default() };
    let data = Dataset::new(info, split(Role::Train), split(Role::Test));
    Ok(if roles.contains(&Role::Valid) { data.with_valid(split(Role::Valid)) } else { data })
}

impl super::DatasetSource for TableOptions {
    fn name(&self) -> &'static str {
        "table"
    }
    fn summary(&self) -> &'static str {
        "your CSV/Parquet file: path, label (task = classification | regression), and features | sequence | text (+ tokenizer, max_len); split or test_fraction"
    }
    fn validate(&self) -> std::result::Result<(), FieldError> {
        validate(self)
    }
    fn info(&self) -> DataInfo {
        info(self)
    }
    fn train_examples(&self) -> Option<usize> {
        None
    }
    fn load(&self) -> crate::error::Result<Dataset> {
        load(self)
    }
    /// 0 with a `split` column (which says which rows are validation rows), else 0.1.
    fn default_validation(&self) -> f64 {
        if self.own_validation() { 0.0 } else { 0.1 }
    }
    fn split_seed(&self) -> u64 {
        self.split_seed
    }
    /// With a `split` column: its `valid` rows are the validation split (none without them).
    fn own_validation(&self) -> bool {
        self.split.is_some()
    }
    /// The label values, sorted (classification; `None` for regression or an unusable file).
    fn class_names(&self) -> Option<Vec<String>> {
        inputs::class_names(self)
    }
    /// Another file with this table's input columns, prepared with the training rows'
    /// statistics, length and vocabulary (`src/data/table/inputs.rs`).
    fn prepare_inputs(&self, path: &Path) -> Option<crate::error::Result<Split>> {
        Some(inputs::prepare_inputs(self, path).map_err(|e| UserError::from(e).into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(path: &Path, label: &str) -> TableOptions {
        TableOptions { path: path.display().to_string(), label: label.into(), ..TableOptions::default() }
    }

    fn csv(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let p = dir.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn features_labels_and_split_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(&dir, "a,b,kind,fold\n1,10,cat,train\n3,10,dog,train\n5,10,ant,test\n7,10,cat,TEST\n");
        let o = TableOptions {
            features: Some(vec!["a".into(), "b".into()]),
            split: Some("fold".into()),
            ..opts(&p, "kind")
        };
        let d = build(&o).unwrap();
        assert_eq!(d.info, DataInfo { seq_len: 1, channels: 2, num_classes: 3, ..Default::default() });
        // Classes in sorted order: ant 0, cat 1, dog 2.
        assert_eq!(d.train.y, vec![1, 2]);
        assert_eq!(d.test.y, vec![0, 1]);
        // a: train mean 2, std 1; b: constant, so only centred.
        assert_eq!(d.train.x, vec![-1.0, 0.0, 1.0, 0.0]);
        assert_eq!(d.test.x, vec![3.0, 0.0, 5.0, 0.0]);
        let raw = build(&TableOptions { standardize: Some(false), ..o.clone() }).unwrap();
        assert_eq!(raw.test.x, vec![5.0, 10.0, 7.0, 10.0]);
        // The same table as TSV.
        let tsv = dir.path().join("t.tsv");
        std::fs::write(&tsv, std::fs::read_to_string(&p).unwrap().replace(',', "\t")).unwrap();
        let t = build(&TableOptions { path: tsv.display().to_string(), ..o }).unwrap();
        assert_eq!((t.train.x, t.test.y), (d.train.x, d.test.y));
    }

    #[test]
    fn a_split_column_with_valid_rows_is_the_validation_split() {
        use crate::data::{DatasetSource, DatasetSpec};
        let dir = tempfile::tempdir().unwrap();
        let p = csv(&dir, "a,kind,fold\n1,cat,train\n3,dog,train\n40,dog,valid\n50,cat,Validation\n5,ant,test\n");
        let o = TableOptions { features: Some(vec!["a".into()]), split: Some("fold".into()), ..opts(&p, "kind") };
        let d = build(&o).unwrap();
        assert_eq!((d.train.y.clone(), d.test.y.clone()), (vec![1, 2], vec![0]));
        let valid = d.valid.unwrap();
        assert_eq!(valid.y, vec![2, 1]);
        // Standardised with the training rows' mean 2 and std 1 only.
        assert_eq!((d.train.x, valid.x), (vec![-1.0, 1.0], vec![38.0, 48.0]));
        assert!(o.own_validation() && o.default_validation() == 0.0);
        let e = DatasetSpec::new(o.clone()).with_validation(0.1).validate().unwrap_err();
        assert_eq!(e.key, "validation");
        assert!(e.message.contains("has its own validation split"), "{}", e.message);
        // Without "valid" rows there is no validation split; without a column, the default is 0.1.
        let p = csv(&dir, "a,kind,fold\n1,cat,train\n3,dog,train\n5,ant,test\n");
        assert!(build(&TableOptions { path: p.display().to_string(), ..o.clone() }).unwrap().valid.is_none());
        let seeded = TableOptions { split: None, split_seed: 7, ..o };
        assert!(!seeded.own_validation() && seeded.default_validation() == 0.1 && seeded.split_seed() == 7);
        let p = csv(&dir, "a,kind,fold\n1,cat,train\n3,dog,dev\n5,ant,test\n");
        let e = build(&TableOptions { path: p.display().to_string(), split: Some("fold".into()), ..seeded }).unwrap_err();
        assert!(e.message.contains("must be \"train\", \"valid\" or \"test\""), "{}", e.message);
    }

    #[test]
    fn regression_labels_are_numeric_targets() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(&dir, "a,price,fold\n1,2.5,train\n3,-1,train\n5,0.25,test\n");
        let o = TableOptions {
            features: Some(vec!["a".into()]),
            split: Some("fold".into()),
            task: Some(Task::Regression),
            ..opts(&p, "price")
        };
        let d = build(&o).unwrap();
        let info = DataInfo { seq_len: 1, channels: 1, num_classes: 1, task: Task::Regression, ..Default::default() };
        assert_eq!(d.info, info);
        assert_eq!((d.train.target.clone(), d.test.target.clone()), (vec![2.5, -1.0], vec![0.25]));
        assert_eq!((d.train.y, d.test.len()), (vec![0, 0], 1));
        let p = csv(&dir, "a,price,fold\n1,2.5,train\n3,cheap,train\n5,0.25,test\n");
        let e = build(&TableOptions { path: p.display().to_string(), ..o }).unwrap_err();
        assert_eq!(e.key, "label");
        assert!(e.message.contains("\"cheap\"") && e.message.contains("not a number"), "{}", e.message);
    }

    #[test]
    fn integer_and_integral_float_labels_sort_numerically() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(&dir, "x,y,z\n1,10,10.0\n2,2,2.0\n3,10,10.0\n4,-1,-1.0\n5,2,2.0\n");
        let f = Some(vec!["x".to_string()]);
        let a = build(&TableOptions { features: f.clone(), test_fraction: Some(0.4), ..opts(&p, "y") }).unwrap();
        let b = build(&TableOptions { features: f, test_fraction: Some(0.4), ..opts(&p, "z") }).unwrap();
        assert_eq!(a.info.num_classes, 3);
        assert_eq!((a.train.y.clone(), a.test.y.clone()), (b.train.y, b.test.y));
        let mut all: Vec<(f32, i64)> =
            a.train.x.iter().chain(&a.test.x).copied().zip(a.train.y.iter().chain(&a.test.y).copied()).collect();
        all.sort_by(|p, q| p.0.total_cmp(&q.0));
        assert_eq!(all.iter().map(|p| p.1).collect::<Vec<_>>(), vec![2, 1, 2, 0, 1], "-1 -> 0, 2 -> 1, 10 -> 2");
    }

    #[test]
    fn seeded_split_is_reproducible_and_sized() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("x,y\n");
        for i in 0..100 {
            text.push_str(&format!("{i},{}\n", i % 2));
        }
        let p = csv(&dir, &text);
        let o = TableOptions {
            features: Some(vec!["x".into()]),
            standardize: Some(false),
            test_fraction: Some(0.25),
            ..opts(&p, "y")
        };
        let a = build(&o).unwrap();
        assert_eq!((a.train.len(), a.test.len()), (75, 25));
        assert_eq!(build(&o).unwrap().test.x, a.test.x);
        let other = build(&TableOptions { split_seed: 1, ..o.clone() }).unwrap();
        assert_ne!(other.test.x, a.test.x);
        let default = build(&TableOptions { test_fraction: None, ..o }).unwrap();
        assert_eq!(default.test.len(), 20);
    }

    #[test]
    fn text_is_tokenised_with_a_training_vocabulary() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(&dir, "t,y,s\nab a,0,train\nbb,1,train\n,0,train\nzab,1,test\n");
        let o = TableOptions { text: Some("t".into()), split: Some("s".into()), ..opts(&p, "y") };
        let d = build(&o).unwrap();
        // Training chars: b x3, a x2, ' ' x1 -> b 2, a 3, ' ' 4; vocab 2 + 3. A missing text is empty.
        assert_eq!(d.info, DataInfo { seq_len: 4, channels: 1, num_classes: 2, vocab: Some(5), ..Default::default() });
        assert_eq!(d.train.x, vec![3., 2., 4., 3., 2., 2., 0., 0., 1., 0., 0., 0.]);
        assert_eq!(d.test.x, vec![1., 3., 2., 0.], "z is unknown");
        let w = build(&TableOptions { tokenizer: Some(Tokenizer::Words), max_len: Some(1), ..o }).unwrap();
        // Training words: ab, a, bb (once each) -> a 2, ab 3, bb 4.
        assert_eq!(w.info.vocab, Some(5));
        assert_eq!(w.train.x, vec![3., 4., 1.]);
        assert_eq!(w.test.x, vec![1.]);
    }

    #[test]
    fn sequences_from_strings_need_one_length_or_max_len() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(&dir, "s,y\n1 2 3,a\n4;5;6,b\n\"7,8\",a\n");
        let o = TableOptions {
            sequence: Some("s".into()),
            standardize: Some(false),
            test_fraction: Some(0.34),
            ..opts(&p, "y")
        };
        let e = build(&o).unwrap_err();
        assert_eq!(e.key, "sequence");
        assert!(e.message.contains("lengths 2 to 3") && e.message.contains("max_len"), "{}", e.message);
        let d = build(&TableOptions { max_len: Some(3), ..o }).unwrap();
        assert_eq!(d.info.seq_len, 3);
        let mut all: Vec<f32> = d.train.x.iter().chain(&d.test.x).copied().collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, vec![0., 1., 2., 3., 4., 5., 6., 7., 8.]);
    }

    #[test]
    fn parquet_nulls_and_nans_are_missing_values_named_by_row() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.parquet");
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("a".into(), [Some(1.0), None, Some(3.0), None]),
            Column::new("b".into(), [1.0, 2.0, f64::NAN, 4.0]),
            Column::new("y".into(), ["u", "v", "u", "v"]),
        ])
        .unwrap();
        ParquetWriter::new(std::fs::File::create(&p).unwrap()).finish(&mut df).unwrap();
        let o = |f: &str| TableOptions { features: Some(vec![f.into()]), test_fraction: Some(0.5), ..opts(&p, "y") };
        let e = build(&o("a")).unwrap_err();
        let at = format!("data row 2 of `{}`", p.display());
        assert!(
            e.message.contains(&format!("`a` has 2 missing values, the first an empty cell in {at}")),
            "{}",
            e.message
        );
        let e = build(&o("b")).unwrap_err();
        assert!(e.message.contains("`b` has 1 missing value, the first \"NaN\" in data row 3 of"), "{}", e.message);
        let e = build(&TableOptions { separator: Some(";".into()), ..o("b") }).unwrap_err();
        assert_eq!((e.key, e.message.as_str()), ("separator", "applies to CSV and TSV files only"));
    }

    #[test]
    fn decimal_commas_and_other_separators() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(&dir, "a;b;y\n1,5;x;u\n\n-2,25;x;v\n");
        let o = TableOptions {
            features: Some(vec!["a".into()]),
            standardize: Some(false),
            test_fraction: Some(0.5),
            separator: Some(";".into()),
            decimal_comma: Some(true),
            ..opts(&p, "y")
        };
        let d = build(&o).unwrap();
        let mut all: Vec<f32> = d.train.x.iter().chain(&d.test.x).copied().collect();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, vec![-2.25, 1.5]);
        let e = build(&TableOptions { decimal_comma: None, ..o.clone() }).unwrap_err();
        assert!(e.message.contains("holds \"1,5\" in data row 1 (line 2 of") && e.message.contains("decimal_comma"));
        let e = build(&TableOptions { features: Some(vec!["b".into()]), ..o.clone() }).unwrap_err();
        assert!(e.message.contains("`b` holds \"x\" in data row 1 (line 2 of"), "{}", e.message);
        let e = build(&TableOptions { separator: Some(",".into()), ..o }).unwrap_err();
        assert_eq!(e.key, "decimal_comma");
    }

    #[test]
    fn errors_name_the_key_and_the_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(&dir, "length,label,score,fold\n1,a,0.5,train\n2,b,1.5,test\n");
        let base =
            TableOptions { features: Some(vec!["length".into()]), split: Some("fold".into()), ..opts(&p, "label") };
        let err = |o: TableOptions| build(&o).unwrap_err();
        let e = err(TableOptions { features: Some(vec!["lenght".into()]), ..base.clone() });
        assert_eq!(e.key, "features");
        assert!(e.message.contains("`lenght`") && e.message.contains("did you mean `length`?"), "{}", e.message);
        let e = err(TableOptions { label: "score".into(), ..base.clone() });
        assert_eq!(e.key, "label");
        assert!(e.message.contains("`score` is not categorical") && e.message.contains("0.5"), "{}", e.message);
        let json = dir.path().join("t.json");
        std::fs::write(&json, "{}").unwrap();
        let e = err(TableOptions { path: json.display().to_string(), ..base.clone() });
        assert!(e.key == "path" && e.message.contains("type is unknown"), "{}", e.message);
        let e = err(TableOptions { path: dir.path().join("nope.csv").display().to_string(), ..base.clone() });
        assert_eq!(e.key, "path");
        assert!(e.message.contains("nope.csv") && e.message.contains("does not exist"), "{}", e.message);
        let e = err(TableOptions { test_fraction: Some(0.01), split: None, ..base.clone() });
        assert_eq!(e.key, "test_fraction");
        assert!(e.message.contains("test split empty"), "{}", e.message);
        let e = err(TableOptions { text: Some("label".into()), ..base.clone() });
        assert!(e.message.contains("exactly one of"), "{}", e.message);
        let e = err(TableOptions { features: Some(vec!["fold".into()]), ..base.clone() });
        assert!(
            e.message.contains("`fold` holds \"train\" in data row 1 (line 2 of `")
                && e.message.contains("not a number"),
            "{}",
            e.message
        );
        let e = err(TableOptions { test_fraction: Some(0.5), ..base.clone() });
        assert!(e.key == "test_fraction" && e.message.contains("cannot be combined with `split`"), "{}", e.message);
        let e = err(TableOptions {
            features: Some(vec!["length".into(), "nope".into()]),
            label: "nada".into(),
            ..base.clone()
        });
        assert!(e.key == "features" && e.message.contains("`nope`"), "features are checked first: {}", e.message);
        let e = err(TableOptions { split: Some("label".into()), ..base.clone() });
        assert!(e.key == "split" && e.message.contains("\"a\" in data row 1"), "{}", e.message);
        let fe = FieldError::from(err(TableOptions { label: "lable".into(), ..base }));
        assert_eq!(fe.key, "label");
    }
}
