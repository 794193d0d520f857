//! The report's statistics against scipy, statsmodels and rliable, on the fixtures of
//! `scripts/make_report_stats_fixtures.py` (`tests/fixtures/report_stats.json`).
//!
//! Tests and corrections must agree to 1e-9. Bootstrap intervals come from different
//! generators (burnlab: ChaCha8, 10,000 resamples; the references: 50,000 resamples), so the
//! point estimates must agree to 1e-12 and each interval bound within [`BOOT_TOLERANCE`] of
//! the reference's, a small fraction of the intervals' widths (0.02 to 0.1 here), well above
//! the Monte Carlo error of 10,000 resamples.

use super::bootstrap::{RESAMPLES, SEED, iqm, mean_ci, stratified_iqm};
use super::effect::{cohens_d, hedges_g};
use super::holm::holm;
use super::paired::{paired_t_p, wilcoxon_p};
use super::{Stats, Summary, welch_greater_p, welch_p_summary};
use serde_json::Value;

/// The largest difference allowed between a bootstrap bound and the reference's.
const BOOT_TOLERANCE: f64 = 0.002;

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/report_stats.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn nums(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b} (tolerance {tol})");
}

#[test]
fn paired_tests_match_scipy() {
    for c in fixtures()["paired"].as_array().unwrap() {
        let (a, b) = (nums(&c["a"]), nums(&c["b"]));
        close(paired_t_p(&a, &b).unwrap(), c["ttest_rel_p"].as_f64().unwrap(), 1e-9, "ttest_rel");
        close(wilcoxon_p(&a, &b).unwrap(), c["wilcoxon_p"].as_f64().unwrap(), 1e-9, &format!("wilcoxon {a:?}"));
    }
}

#[test]
fn welch_variants_and_effect_sizes_match_scipy_and_their_formulas() {
    for c in fixtures()["welch"].as_array().unwrap() {
        let (a, b) = (nums(&c["a"]), nums(&c["b"]));
        close(welch_greater_p(&a, &b).unwrap(), c["greater_p"].as_f64().unwrap(), 1e-9, "greater");
        let published = Summary { mean: 0.9, std: 0.02, n: 10 };
        let p = welch_p_summary(Stats::of(&a).unwrap().into(), published).unwrap();
        close(p, c["from_stats_p"].as_f64().unwrap(), 1e-9, "from stats");
        close(cohens_d(&a, &b).unwrap(), c["cohens_d"].as_f64().unwrap(), 1e-12, "d");
        close(hedges_g(&a, &b).unwrap(), c["hedges_g"].as_f64().unwrap(), 1e-12, "g");
    }
}

#[test]
fn holm_matches_statsmodels() {
    for c in fixtures()["holm"].as_array().unwrap() {
        let p: Vec<Option<f64>> = nums(&c["p"]).into_iter().map(Some).collect();
        for (got, want) in holm(&p).iter().zip(nums(&c["adjusted"])) {
            close(got.unwrap(), want, 1e-12, "holm");
        }
    }
    assert_eq!(holm(&[None, Some(0.02), None]), vec![None, Some(0.02), None]);
}

#[test]
fn bootstrap_intervals_agree_with_scipy_and_rliable() {
    let f = fixtures();
    for c in f["bootstrap"].as_array().unwrap() {
        let (lo, hi) = mean_ci(&nums(&c["x"]), RESAMPLES, SEED).unwrap();
        let want = nums(&c["ci"]);
        close(lo, want[0], BOOT_TOLERANCE, "bootstrap low");
        close(hi, want[1], BOOT_TOLERANCE, "bootstrap high");
    }
    for c in f["iqm"].as_array().unwrap() {
        let tasks: Vec<Vec<f64>> = c["tasks"].as_array().unwrap().iter().map(nums).collect();
        let (point, ci) = stratified_iqm(&tasks, RESAMPLES, SEED).unwrap();
        close(point, c["iqm"].as_f64().unwrap(), 1e-12, "iqm");
        let (lo, hi) = ci.unwrap();
        let want = nums(&c["ci"]);
        close(lo, want[0], BOOT_TOLERANCE, "iqm low");
        close(hi, want[1], BOOT_TOLERANCE, "iqm high");
    }
    assert_eq!(iqm(&[1.0, 2.0, 3.0, 100.0]), Some(2.5));
    assert_eq!(mean_ci(&[1.0], RESAMPLES, SEED), None);
    // Seeded: the same interval every time.
    assert_eq!(mean_ci(&[0.1, 0.5, 0.3], 500, 7), mean_ci(&[0.1, 0.5, 0.3], 500, 7));
}
