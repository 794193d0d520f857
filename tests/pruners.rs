//! burnlab's pruners against Optuna 4.5's on the same simulated learning curves
//! (tests/fixtures/search/pruners.json, from scripts/make_pruner_fixtures.py): trials run one
//! after another, so the decisions are deterministic and must be Optuna's exactly; the best
//! value found and the steps spent then land on Optuna's quantiles over seeds.

use burnlab::sweep::pruner::{Hyperband, Median, Pruner, SuccessiveHalving};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/search/pruners.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn pruner_of(c: &Value, study: &str, steps: usize) -> Box<dyn Pruner> {
    let n = |k: &str| c[k].as_u64().unwrap() as usize;
    match c["kind"].as_str().unwrap() {
        "asha" => Box::new(SuccessiveHalving::new(n("min_steps"), n("reduction_factor"), n("min_early_stopping_rate"))),
        "hyperband" => Box::new(Hyperband::new(n("min_steps"), steps, n("reduction_factor"), study)),
        "median" => Box::new(Median::new(n("n_startup_trials"), n("n_warmup_steps"), n("interval"))),
        k => panic!("unknown kind {k}"),
    }
}

/// Runs the trials of one study through `pruner` as the fixture's script ran them through
/// Optuna: each trial is keyed by its number; returns the step each was pruned at, the best
/// final value of the completed ones, and the steps spent.
fn run(pruner: &mut dyn Pruner, curves: &[Vec<f64>], maximize: bool) -> (Vec<Option<usize>>, Option<f64>, usize) {
    let sign = if maximize { -1.0 } else { 1.0 };
    let (mut pruned_at, mut finals, mut spent) = (Vec::new(), Vec::new(), 0);
    for (number, curve) in curves.iter().enumerate() {
        let key = number.to_string();
        let mut stop = None;
        for (i, v) in curve.iter().enumerate() {
            spent += 1;
            if pruner.report(&key, i + 1, v * sign).prune {
                stop = Some(i + 1);
                break;
            }
        }
        pruner.finish(&key, stop.is_none());
        if stop.is_none() {
            finals.push(*curve.last().unwrap());
        }
        pruned_at.push(stop);
    }
    let best = finals.iter().copied().reduce(|a, b| if (a - b) * sign <= 0.0 { a } else { b });
    (pruned_at, best, spent)
}

fn quantile(mut xs: Vec<f64>, q: f64) -> f64 {
    xs.sort_by(f64::total_cmp);
    let pos = q * (xs.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    xs[lo] + (xs[hi] - xs[lo]) * (pos - lo as f64)
}

#[test]
fn every_pruner_takes_optuna_s_decisions_on_the_same_curves() {
    let f = fixture();
    let steps = f["steps"].as_u64().unwrap() as usize;
    let curves: Vec<Vec<Vec<f64>>> = serde_json::from_value(f["curves"].clone()).unwrap();
    for c in f["configs"].as_array().unwrap() {
        let (mut spent_all, mut loss_all) = (Vec::new(), Vec::new());
        let mut pruned_total = 0;
        for s in c["studies"].as_array().unwrap() {
            let study = s["study"].as_str().unwrap();
            let seed = s["seed"].as_u64().unwrap() as usize;
            let maximize = s["maximize"].as_bool().unwrap();
            let want: Vec<Option<usize>> = serde_json::from_value(s["pruned_at"].clone()).unwrap();
            let (got, best, spent) = run(pruner_of(c, study, steps).as_mut(), &curves[seed], maximize);
            assert_eq!(got, want, "{} {study}: the steps each trial was pruned at", c["name"]);
            assert_eq!(spent, s["steps_spent"].as_u64().unwrap() as usize);
            assert_eq!(best, s["best"].as_f64());
            pruned_total += got.iter().filter(|p| p.is_some()).count();
            spent_all.push(spent as f64);
            let best = best.unwrap();
            loss_all.push(if maximize { 1.0 - best } else { best });
        }
        assert!(pruned_total > 0, "{}: the curves exercise pruning", c["name"]);
        for (i, q) in [0.1, 0.5, 0.9].into_iter().enumerate() {
            let want = c["steps_spent_quantiles"][i].as_f64().unwrap();
            assert!((quantile(spent_all.clone(), q) - want).abs() < 1e-9, "{}: steps spent q{q}", c["name"]);
            let want = c["best_loss_quantiles"][i].as_f64().unwrap();
            assert!((quantile(loss_all.clone(), q) - want).abs() < 1e-9, "{}: best value q{q}", c["name"]);
        }
    }
}
