//! New inputs for a model trained on a `table` (`burnlab predict`): another file with the
//! table's input columns, prepared exactly as the table's own rows were (the training rows'
//! standardisation statistics, sequence length and vocabulary), and the class names.
//!
//! The file's input columns are appended to the table's, as rows outside the training split,
//! and the table's own preparation ([`super::input_rows`]) runs over both: the new rows get
//! the values a test row with the same cells gets.

use super::{Checked, Frame, Inputs, Role, TableError, TableOptions, Task, input_rows, inputs, labels, read_frame, row_roles};
use crate::data::Split;
use polars::prelude::*;
use std::path::Path;

/// The rows of `path` (a CSV, TSV or Parquet file read with the table's options, holding its
/// `features`, `sequence` or `text` columns; other columns are ignored), prepared as the
/// table's test rows are; labels are zero.
pub(super) fn prepare_inputs(o: &TableOptions, path: &Path) -> Checked<Split> {
    let inputs = inputs(o)?;
    let table = read_frame(o)?;
    let roles = row_roles(&table, o)?;
    let given = read_frame(&TableOptions { path: path.display().to_string(), ..o.clone() })?;
    let n = given.df.height();
    // The file alone first, so that a bad cell is reported with its own row number (a text
    // has no bad cells, and its length comes from the table).
    if !matches!(inputs, Inputs::Text(_)) {
        input_rows(&given, o, &inputs, &vec![false; n])?;
    }
    let names: Vec<&str> = match &inputs {
        Inputs::Features(names) => names.iter().map(String::as_str).collect(),
        Inputs::Sequence(name) | Inputs::Text(name) => vec![name],
    };
    let joined = joined(&table, &given, &names)?;
    let held_out: Vec<bool> =
        roles.iter().map(|&r| r != Role::Train).chain(std::iter::repeat_n(true, n)).collect();
    let (rows, ..) = input_rows(&joined, o, &inputs, &held_out)?;
    let x: Vec<f32> = rows[rows.len() - n..].concat();
    Ok(Split::new(x, vec![0; n]))
}

/// The columns `names` of `table` followed by those of `given` (cast to one type where they
/// differ: numbers to floats, anything else to text).
fn joined(table: &Frame, given: &Frame, names: &[&str]) -> Checked<Frame> {
    let fail = |e: PolarsError| {
        TableError::new("path", format!("`{}`: its input columns do not match `{}`'s: {e}", given.path, table.path))
    };
    let mut a = table.df.select(names.iter().copied()).map_err(fail)?;
    let mut b = given.df.select(names.iter().copied()).map_err(fail)?;
    for name in names {
        let (ta, tb) = (a.column(name).map_err(fail)?.dtype().clone(), b.column(name).map_err(fail)?.dtype().clone());
        if ta != tb {
            let to = if ta.is_primitive_numeric() && tb.is_primitive_numeric() { DataType::Float64 } else { DataType::String };
            for df in [&mut a, &mut b] {
                let cast = df.column(name).and_then(|c| c.cast(&to)).map_err(fail)?;
                df.with_column(cast).map_err(fail)?;
            }
        }
    }
    a.vstack_mut(&b).map_err(fail)?;
    Ok(Frame { df: a, path: given.path.clone(), lines: None, hint: None, decimal_comma: given.decimal_comma })
}

/// The label values in class-id order (classification), `None` for regression or a file that
/// cannot be read.
pub(super) fn class_names(o: &TableOptions) -> Option<Vec<String>> {
    if o.task == Some(Task::Regression) {
        return None;
    }
    let f = read_frame(o).ok()?;
    labels(&f, &o.label).ok().map(|(_, _, names)| names)
}
