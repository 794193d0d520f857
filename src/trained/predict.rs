//! `burnlab predict TRIAL_DIR --input FILE --output predictions.csv`: a saved model's outputs
//! on new inputs, one row per input row.
//!
//! A model trained on a `table` reads a CSV/TSV/Parquet file like its table
//! ([`crate::data::DatasetSource::prepare_inputs`]): the same input columns, by name, prepared
//! as the table's own test rows (standardisation, length and vocabulary of its training rows).
//! Other inputs are in burnlab's layout, as the model reads them: each example's `time steps ×
//! channels` values, row-major (MNIST-1D: its 40 values; an 8×8 `digits` image: its 64 pixels
//! row by row):
//! - `.npy`: float32 or float64, C order, shape `[n, time steps, channels]`, or `[n, values]`
//!   with the values flattened (`[n, time steps]` for one channel).
//! - `.csv` / `.tsv` / `.parquet`: one column per value, in order, with a header row.

use super::{SavedModel, Weights};
use crate::backend::Backend;
use crate::data::{DataInfo, Split, Task};
use crate::error::{Error, Result, UserError};
use std::fmt::Write as _;
use std::path::Path;

/// What `predict` wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// Rows predicted.
    pub rows: usize,
    /// The output file.
    pub output: String,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "wrote {} predictions to {}", self.rows, self.output)
    }
}

/// Predicts every row of `input` with the saved model of the trial directory `dir` and writes
/// `output`: for classification the columns `row`, `predicted` (the class with the highest
/// probability) and `p_0` ... `p_{K-1}` (the softmax probabilities); for regression `row`,
/// `predicted`.
///
/// # Errors
/// User errors naming the file: a missing or unreadable saved model, an input of another shape
/// than the model's (the expected shape is named), an unknown file type, non-numeric values;
/// a family without per-row outputs (the GAN: it points to `burnlab eval`).
pub fn predict(dir: &Path, input: &Path, output: &Path, weights: Option<Weights>) -> Result<Written> {
    let saved = SavedModel::open(dir)?;
    if let Some(why) = saved.card.model.spec.why_no_predictions() {
        return Err(UserError::new(why).at(dir.display().to_string()).help("burnlab eval TRIAL_DIR").into());
    }
    let path = saved.weights(weights)?;
    let info = saved.card.input.clone();
    if info.is_multimodal() {
        return Err(UserError::new("predict reads one input per row; this model reads several modalities")
            .at(input.display().to_string())
            .into());
    }
    let source = saved.card.dataset.source();
    // An .npy holds values in the model's layout, prepared already.
    let npy = input.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    let rows = match source.prepare_inputs(input).filter(|_| !npy) {
        Some(prepared) => prepared?,
        None => {
            let x = read_inputs(input, &info)?;
            let n = x.len() / info.features().max(1);
            Split::new(x, vec![0; n])
        }
    };
    if rows.x.len() != rows.len() * info.features() {
        let msg =
            format!("gives {} values per row; the model reads {}", rows.x.len() / rows.len().max(1), info.features());
        return Err(UserError::new(msg).at(input.display().to_string()).into());
    }
    let device = saved.device()?;
    let family = &saved.card.model.spec;
    let outputs = Backend::run_on_cpu_pool(saved.card.threads, || family.predict_saved(&path, &info, &rows, &device))?;
    let text = predictions_csv(&outputs, info.task, source.class_names());
    crate::fsutil::write_atomic(output, text.as_bytes())?;
    Ok(Written { rows: outputs.len(), output: output.display().to_string() })
}

/// The predictions CSV of `outputs` (`[n][classes]` probabilities, or `[n][1]` values), the
/// classes by `names` where given (else by id).
fn predictions_csv(outputs: &[Vec<f32>], task: Task, names: Option<Vec<String>>) -> String {
    let width = outputs.first().map_or(0, Vec::len);
    let names: Vec<String> = match names.filter(|n| n.len() == width) {
        Some(names) => names,
        None => (0..width).map(|c| c.to_string()).collect(),
    };
    let mut text = String::from("row,predicted");
    if task == Task::Classification {
        names.iter().for_each(|c| {
            let _ = write!(text, ",{}", csv_cell(&format!("p_{c}")));
        });
    }
    text.push('\n');
    for (i, row) in outputs.iter().enumerate() {
        let _ = write!(text, "{i}");
        if task == Task::Regression {
            let _ = write!(text, ",{}", number(row.first().copied().unwrap_or(f32::NAN)));
        } else {
            let best = row.iter().enumerate().fold(0, |b, (c, p)| if *p > row[b] { c } else { b });
            let _ = write!(text, ",{}", csv_cell(&names[best]));
            row.iter().for_each(|p| {
                let _ = write!(text, ",{}", number(*p));
            });
        }
        text.push('\n');
    }
    text
}

/// A value in full (the shortest text that reads back as the same `f32`), in exponent notation
/// below 1e-4 (`6.842876e-34`, not 33 zeros).
fn number(v: f32) -> String {
    if v != 0.0 && v.abs() < 1e-4 { format!("{v:e}") } else { format!("{v}") }
}

/// `text` as a CSV cell: quoted (with quotes doubled) when it holds a comma, a quote or a line
/// break.
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// The values of every row of `path`, row-major, checked against the model's shape.
fn read_inputs(path: &Path, info: &DataInfo) -> Result<Vec<f32>> {
    let at = path.display().to_string();
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
    let (values, width) = match ext.as_str() {
        "npy" => read_npy(path, info)?,
        "csv" | "tsv" | "parquet" | "pq" => read_table(path, &ext)?,
        _ => return Err(UserError::new("unknown input type: use a .npy, .csv, .tsv or .parquet file").at(at).into()),
    };
    let expected = info.features();
    if width != expected {
        let [t, c] = [info.seq_len, info.channels];
        let what = if ext == "npy" { "values per row" } else { "columns" };
        return Err(UserError::new(format!(
            "has {width} {what}, but the model reads {expected} per example ([{t} time steps, {c} channels], \
             row-major: an .npy of shape [n, {t}, {c}] or [n, {expected}], or a table of {expected} columns)"
        ))
        .at(at)
        .into());
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        let msg = format!("value {} (row {}) is {}: inputs must be finite", i % width + 1, i / width + 1, values[i]);
        return Err(UserError::new(msg).at(at).into());
    }
    Ok(values)
}

/// An `.npy` file's values and its values per row.
fn read_npy(path: &Path, info: &DataInfo) -> Result<(Vec<f32>, usize)> {
    let at = path.display().to_string();
    let bad = |m: String| Error::from(UserError::new(m).at(at.clone()));
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| bad(format!("not a readable .npy file: {e}")))?;
    let shape: Vec<u64> = npy.shape().to_vec();
    if shape.len() < 2 || npy.order() != npyz::Order::C {
        let [t, c] = [info.seq_len, info.channels];
        return Err(bad(format!("has shape {shape:?}; expected C-order [n, {t}, {c}] or [n, {}]", info.features())));
    }
    let width = shape[1..].iter().product::<u64>() as usize;
    let dtype = npy.dtype().descr();
    let values = match dtype.trim_matches('\'').trim_start_matches(['<', '|', '=']) {
        "f4" => npy.into_vec::<f32>().map_err(|e| bad(e.to_string()))?,
        "f8" => npy.into_vec::<f64>().map_err(|e| bad(e.to_string()))?.into_iter().map(|v| v as f32).collect(),
        _ => return Err(bad(format!("has dtype {dtype}; expected float32 or float64"))),
    };
    Ok((values, width))
}

/// A CSV/TSV/Parquet file's values (every column, in order) and columns per row.
fn read_table(path: &Path, ext: &str) -> Result<(Vec<f32>, usize)> {
    use polars::prelude::*;
    let at = path.display().to_string();
    let bad = |m: String| Error::from(UserError::new(m).at(at.clone()));
    let df = if ext == "parquet" || ext == "pq" {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        ParquetReader::new(file).finish().map_err(|e| bad(format!("cannot be read as Parquet: {e}")))?
    } else {
        let sep = if ext == "tsv" { b'\t' } else { b',' };
        CsvReadOptions::default()
            .with_has_header(true)
            .with_parse_options(CsvParseOptions::default().with_separator(sep))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(|e| bad(format!("cannot be read as CSV: {e}")))?
    };
    let names: Vec<String> = df.get_column_names().iter().map(|s| s.to_string()).collect();
    let mut cols = Vec::with_capacity(names.len());
    for name in &names {
        let col = df.column(name).map_err(|e| bad(format!("column `{name}`: {e}")))?;
        let values = col
            .cast(&DataType::Float64)
            .ok()
            .filter(|c| c.null_count() == 0)
            .and_then(|c| c.f64().ok().map(|ca| ca.into_no_null_iter().collect::<Vec<f64>>()))
            .ok_or_else(|| bad(format!("column `{name}` must hold numbers, without missing values")))?;
        cols.push(values);
    }
    let n = df.height();
    let values = (0..n).flat_map(|r| cols.iter().map(move |c| c[r] as f32)).collect();
    Ok((values, names.len()))
}
