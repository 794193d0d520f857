//! The scores against scikit-learn's values (`tests/fixtures/metrics.json`, written by
//! `scripts/make_metric_fixtures.py`).

use super::*;
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/metrics.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ints(v: &Value) -> Vec<i64> {
    v.as_array().unwrap().iter().map(|x| x.as_i64().unwrap()).collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn close(a: f64, b: f64, what: &str) {
    assert!((a - b).abs() <= 1e-12, "{what}: {a} against scikit-learn's {b}");
}

#[test]
fn macro_f1_and_per_class_accuracy_match_scikit_learn() {
    let cases = fixture()["classification"].as_array().unwrap().clone();
    assert_eq!(cases.len(), 4);
    for (i, case) in cases.iter().enumerate() {
        let k = case["num_classes"].as_u64().unwrap() as usize;
        let c = Confusion::from_labels(k, &ints(&case["y_true"]), &ints(&case["y_pred"]));
        close(c.macro_f1(), case["macro_f1"].as_f64().unwrap(), &format!("case {i} macro-F1"));
        close(c.accuracy(), case["accuracy"].as_f64().unwrap(), &format!("case {i} accuracy"));
        let expected = floats(&case["per_class_accuracy"]);
        assert_eq!(c.per_class_accuracy().len(), expected.len());
        for (class, (a, b)) in c.per_class_accuracy().into_iter().zip(expected).enumerate() {
            close(a, b, &format!("case {i} class {class} accuracy"));
        }
        for (t, row) in case["confusion"].as_array().unwrap().iter().enumerate() {
            let row: Vec<u64> = ints(row).into_iter().map(|v| v as u64).collect();
            assert_eq!((0..k).map(|p| c.count(t, p)).collect::<Vec<_>>(), row, "case {i} row {t}");
        }
    }
}

#[test]
fn top_k_matches_scikit_learn() {
    for case in fixture()["top_k"].as_array().unwrap() {
        let k = case["k"].as_u64().unwrap() as usize;
        let labels = ints(&case["y_true"]);
        let rows: Vec<Vec<f32>> = case["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| floats(r).into_iter().map(|v| v as f32).collect())
            .collect();
        let hits = rows.iter().zip(&labels).filter(|(r, y)| in_top_k(r, **y as usize, k)).count();
        close(hits as f64 / labels.len() as f64, case["top_k_accuracy"].as_f64().unwrap(), "top-k accuracy");
    }
}

#[test]
fn regression_scores_match_scikit_learn() {
    for (i, case) in fixture()["regression"].as_array().unwrap().iter().enumerate() {
        let s = RegressionScores::new(&floats(&case["y_pred"]), &floats(&case["y_true"]));
        close(s.mse, case["mse"].as_f64().unwrap(), &format!("case {i} mse"));
        close(s.mae, case["mae"].as_f64().unwrap(), &format!("case {i} mae"));
        close(s.r2, case["r2"].as_f64().unwrap(), &format!("case {i} r2"));
    }
}

#[test]
fn csv_files_and_heat_map() {
    let c = Confusion::from_labels(3, &[0, 0, 1, 2, 2, 2], &[0, 1, 1, 2, 2, 0]);
    assert_eq!(c.to_csv(), "true,0,1,2\n0,1,1,0\n1,0,1,0\n2,1,0,2\n");
    assert_eq!(c.per_class_csv(), "class,support,accuracy\n0,2,0.5\n1,1,1\n2,3,0.6666666666666666\n");
    let (pixels, [h, w]) = c.heat_map(4);
    assert_eq!((h, w, pixels.len()), (12, 12, 144));
    // Row 0 (true class 0): half in column 0, half in column 1, none in column 2.
    assert_eq!((pixels[0], pixels[4], pixels[8]), (127, 127, 255));
    // Row 1: all predicted as 1 (black), in every pixel row of the cell.
    assert_eq!((pixels[4 * 12 + 4], pixels[7 * 12 + 7], pixels[7 * 12 + 3]), (0, 0, 255));
}
