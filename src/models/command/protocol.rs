//! The lines a `command` program prints on standard output: one JSON object per line.
//!
//! `{"step": 100, "split": "valid", "metric": "accuracy", "value": 0.81}` reports a metric;
//! `{"params": 12345}` the trainable parameter count; an empty line is ignored. Python's
//! `NaN`, `Infinity` and `-Infinity` tokens are accepted as values (the run diverged there).

use super::SPLITS;
use serde_json::Value;

/// One line of the program's standard output, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A metric value after `step` steps.
    Metric {
        /// Steps completed.
        step: usize,
        /// `train`, `valid` or `test`.
        split: String,
        /// The metric's name (`[a-z0-9_]+`).
        metric: String,
        /// Its value (NaN or infinite: a divergence).
        value: f64,
    },
    /// `{"params": N}`: trainable parameters.
    Params(usize),
    /// An empty (or blank) line.
    Empty,
}

/// Replaces the bare tokens `NaN`, `Infinity` and `-Infinity` (outside strings) by strings, so
/// that a strict JSON parser reads Python's `json.dumps` output.
fn quote_non_finite(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 8);
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        if !in_string {
            let token = ["-Infinity", "Infinity", "NaN"].into_iter().find(|t| rest.starts_with(t));
            if let Some(t) = token {
                out.push_str(&format!("\"{t}\""));
                rest = &rest[t.len()..];
                continue;
            }
        }
        if in_string && escaped {
            escaped = false;
        } else if in_string && c == '\\' {
            escaped = true;
        } else if c == '"' {
            in_string = !in_string;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// A number, or one of the quoted non-finite tokens.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == "NaN" => Some(f64::NAN),
        Value::String(s) if s == "Infinity" => Some(f64::INFINITY),
        Value::String(s) if s == "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

const EXPECTED: &str = "expected one JSON object per line, {\"step\": N, \"split\": \"train\"|\"valid\"|\"test\", \
     \"metric\": \"name\", \"value\": X} or {\"params\": N} (print logs to standard error)";

/// Parses one line of standard output.
///
/// # Errors
/// What is wrong with the line, and what was expected.
pub fn parse(line: &str) -> Result<Line, String> {
    if line.trim().is_empty() {
        return Ok(Line::Empty);
    }
    let value: Value = serde_json::from_str(&quote_non_finite(line)).map_err(|_| format!("not JSON: {EXPECTED}"))?;
    let Value::Object(obj) = value else { return Err(format!("not a JSON object: {EXPECTED}")) };
    let count = |v: &Value| v.as_u64().and_then(|n| usize::try_from(n).ok());
    if obj.len() == 1
        && let Some(p) = obj.get("params")
    {
        return count(p).map(Line::Params).ok_or_else(|| "`params` must be a non-negative integer".to_string());
    }
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    if keys != ["metric", "split", "step", "value"] {
        return Err(format!("has the keys {keys:?}: {EXPECTED}"));
    }
    let step = count(&obj["step"]).ok_or("`step` must be a non-negative integer")?;
    let split = obj["split"].as_str().filter(|s| SPLITS.contains(s)).ok_or("`split` must be train, valid or test")?;
    let metric = obj["metric"]
        .as_str()
        .filter(|m| !m.is_empty() && m.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
        .ok_or("`metric` must be a name of lower-case letters, digits and `_`")?;
    let value = number(&obj["value"]).ok_or("`value` must be a number (or NaN, Infinity, -Infinity)")?;
    Ok(Line::Metric { step, split: split.to_string(), metric: metric.to_string(), value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(step: usize, split: &str, metric: &str, value: f64) -> Line {
        Line::Metric { step, split: split.into(), metric: metric.into(), value }
    }

    #[test]
    fn reads_metrics_params_and_python_tokens() {
        let l = parse(r#"{"step": 100, "split": "valid", "metric": "accuracy", "value": 0.81}"#).unwrap();
        assert_eq!(l, metric(100, "valid", "accuracy", 0.81));
        assert_eq!(parse(r#"{"params": 12345}"#).unwrap(), Line::Params(12345));
        assert_eq!(parse("   ").unwrap(), Line::Empty);
        let Line::Metric { value, .. } = parse(r#"{"step": 1, "split": "train", "metric": "loss", "value": NaN}"#)
            .unwrap() else {
            panic!()
        };
        assert!(value.is_nan());
        let inf = parse(r#"{"value": -Infinity, "step": 2, "split": "train", "metric": "loss"}"#).unwrap();
        assert_eq!(inf, metric(2, "train", "loss", f64::NEG_INFINITY));
        assert_eq!(quote_non_finite(r#"{"a": "NaN \" Infinity"}"#), r#"{"a": "NaN \" Infinity"}"#);
    }

    #[test]
    fn refuses_anything_else_saying_why() {
        for (line, says) in [
            ("loss = 0.5", "not JSON"),
            ("[1, 2]", "not a JSON object"),
            (r#"{"step": 1, "split": "dev", "metric": "loss", "value": 1}"#, "`split`"),
            (r#"{"step": -1, "split": "train", "metric": "loss", "value": 1}"#, "`step`"),
            (r#"{"step": 1, "split": "train", "metric": "Loss", "value": 1}"#, "`metric`"),
            (r#"{"step": 1, "split": "train", "metric": "loss", "value": "x"}"#, "`value`"),
            (r#"{"step": 1, "split": "train", "metric": "loss"}"#, "keys"),
            (r#"{"params": 1.5}"#, "`params`"),
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.contains(says), "{line}: {e}");
        }
    }
}
