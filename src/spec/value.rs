//! Values of experiment files as tables, trial names and `[reference]` see them: one display
//! per number whatever its spelling (`0`, `0.0` and `0e0` all show as `0`, `1e-4` and
//! `0.0001` as `0.0001`), and equality that compares numbers as numbers (`0 == 0.0`).
//!
//! Only the display and the comparison are canonical: trial ids hash the resolved
//! configuration, not these texts, so they do not depend on this module.

/// Integral numbers below this magnitude are shown as integers (`1e6` as `1000000`).
const INTEGRAL_LIMIT: f64 = 1e16;

/// Non-zero numbers below this magnitude are shown in scientific notation (`1e-5`).
const SCIENTIFIC_BELOW: f64 = 1e-4;

/// The canonical text of a number: an integral value below 10^16 as an integer, any other
/// value with the fewest digits that read back as the same `f64`, in plain decimal notation
/// from 1e-4 up to 1e16 and in scientific notation outside (Python's `repr` rule):
/// `0.5`, `0.01`, `0.0001`, `3.5e-5`, `1e20`.
pub fn number_text(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return "0".into();
    }
    if x.fract() == 0.0 && x.abs() < INTEGRAL_LIMIT {
        return format!("{}", x as i64);
    }
    // Python's `repr` rule, which researchers read in logs and papers: plain decimals from
    // 1e-4 up, scientific notation below (`0.001`, `0.0001`, `1e-5`) and from 1e16 up.
    if (SCIENTIFIC_BELOW..INTEGRAL_LIMIT).contains(&x.abs()) { format!("{x}") } else { format!("{x:e}") }
}

/// The canonical text of a value: numbers by [`number_text`], strings without quotes, lists
/// and tables inline (strings inside them quoted).
pub fn text(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => nested_text(other),
    }
}

fn nested_text(v: &toml::Value) -> String {
    match v {
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(x) => number_text(*x),
        toml::Value::Array(items) => format!("[{}]", items.iter().map(nested_text).collect::<Vec<_>>().join(", ")),
        toml::Value::Table(t) => {
            let items: Vec<String> = t.iter().map(|(k, v)| format!("{k} = {}", nested_text(v))).collect();
            if items.is_empty() { "{}".into() } else { format!("{{ {} }}", items.join(", ")) }
        }
        other => other.to_string(),
    }
}

/// The value of a number (integer or float) as `f64`; `None` for other values.
pub fn as_number(v: &toml::Value) -> Option<f64> {
    match v {
        toml::Value::Integer(i) => Some(*i as f64),
        toml::Value::Float(x) => Some(*x),
        _ => None,
    }
}

/// Whether two values are the same setting: numbers compared by value (integers exactly,
/// an integer and a float as numbers), lists item by item, tables key by key.
pub fn same(a: &toml::Value, b: &toml::Value) -> bool {
    use toml::Value::{Array, Integer, Table};
    match (a, b) {
        (Integer(x), Integer(y)) => x == y,
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y)),
        (Table(x), Table(y)) => x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w))),
        _ => match (as_number(a), as_number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Value::{Float, Integer, String as Str};

    #[test]
    fn numbers_show_the_same_whatever_their_spelling() {
        let cases: [(f64, &str); 14] = [
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (1e6, "1000000"),
            (0.5, "0.5"),
            (0.01, "0.01"),
            (0.001, "0.001"),
            (0.0001, "0.0001"),
            (3e-4, "0.0003"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1234.5, "1234.5"),
            (-2.5e-7, "-2.5e-7"),
            (1e20, "1e20"),
            (f64::INFINITY, "inf"),
        ];
        for (x, want) in cases {
            assert_eq!(number_text(x), want, "{x:?}");
            assert_eq!(number_text(x).parse::<f64>().unwrap(), if x == 0.0 { 0.0 } else { x }, "round trip of {x:?}");
        }
        assert_eq!(text(&Integer(0)), text(&Float(0.0)));
        assert_eq!(text(&Integer(1_000_000)), text(&Float(1e6)));
        assert_eq!(text(&Str("a|b".into())), "a|b");
        let list: toml::Value = toml::from_str::<toml::Table>("v = [8, 1.0e-4, \"x\"]").unwrap()["v"].clone();
        assert_eq!(text(&list), "[8, 0.0001, \"x\"]");
    }

    #[test]
    fn numbers_compare_as_numbers() {
        assert!(same(&Integer(0), &Float(0.0)));
        assert!(same(&Float(1e-4), &Float(0.0001)));
        assert!(same(&Integer(3), &Float(3.0)));
        assert!(!same(&Integer(3), &Float(3.5)));
        assert!(!same(&Str("0".into()), &Integer(0)));
        let t = |s: &str| toml::from_str::<toml::Table>(s).unwrap()["v"].clone();
        assert!(same(&t("v = [0, 1]"), &t("v = [0.0, 1e0]")));
        assert!(!same(&t("v = [0, 1]"), &t("v = [0, 1, 2]")));
        assert!(same(&t("v = { a = 1, b = \"x\" }"), &t("v = { b = \"x\", a = 1.0 }")));
        assert!(!same(&t("v = { a = 1 }"), &t("v = { a = 1, b = 2 }")));
    }
}
