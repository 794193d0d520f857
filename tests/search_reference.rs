//! burnlab's TPE sampler against Optuna's, on the problems of `tests/fixtures/search/samplers.json`.
//!
//! `scripts/make_search_fixtures.py` ran Optuna 4.5's `TPESampler` (defaults) and `RandomSampler`
//! on Branin (2 floats, 50 trials), Hartmann-6 (6 floats, 100 trials) and a mixed space (a
//! log-uniform float, a log-scale integer, an integer and a categorical; 50 trials), seeds 0 to
//! 49, and recorded the best value found after `n` trials (several budgets) over the seeds: mean,
//! standard error, bootstrap band of the mean.
//!
//! This test runs [`Tpe`] and [`RandomSampler`] through the [`Sampler`] interface the same way
//! (one proposal at a time, each observation pushed before the next proposal; the same
//! functions, written again below; seeds 0 to 49) and checks, at every budget:
//!
//! - **the band**: our mean best-found lies within Optuna's mean `± 3 sqrt(se_optuna^2 +
//!   se_ours^2)`. Both means carry the noise of 50 seeds, so the band is that of their
//!   difference (Welch's z); 3 rather than 1.96 keeps the family of 24 comparisons at about 5%
//!   for two samplers that behave the same.
//! - **TPE beats random search** at the full budget: our TPE's mean is lower than both random
//!   samplers' (Optuna's and ours) by more than 3 standard errors of the difference, as Optuna's
//!   fixtures show for its own TPE.
//!
//! Deterministic: every proposal depends on the seed, its number and the history only.

use burnlab::sweep::sampler::{Observation, RandomSampler, Sampler};
use burnlab::sweep::tpe::Tpe;
use burnlab::sweep::{Distribution, Outcome, Point};
use std::f64::consts::PI;

const SEEDS: u64 = 50;

fn branin(x1: f64, x2: f64) -> f64 {
    let (b, c, t) = (5.1 / (4.0 * PI * PI), 5.0 / PI, 1.0 / (8.0 * PI));
    (x2 - b * x1 * x1 + c * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}

const H6_ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
const H6_A: [[f64; 6]; 4] = [
    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
];
const H6_P: [[f64; 6]; 4] = [
    [1312.0, 1696.0, 5569.0, 124.0, 8283.0, 5886.0],
    [2329.0, 4135.0, 8307.0, 3736.0, 1004.0, 9991.0],
    [2348.0, 1451.0, 3522.0, 2883.0, 3047.0, 6650.0],
    [4047.0, 8828.0, 8732.0, 5743.0, 1091.0, 381.0],
];

fn hartmann6(x: &[f64]) -> f64 {
    -(0..4)
        .map(|i| {
            let inner: f64 = (0..6).map(|j| H6_A[i][j] * (x[j] - 1e-4 * H6_P[i][j]).powi(2)).sum();
            H6_ALPHA[i] * (-inner).exp()
        })
        .sum::<f64>()
}

fn mixed(lr: f64, width: i64, depth: i64, act: &str) -> f64 {
    let act = match act {
        "relu" => 0.0,
        "tanh" => 0.3,
        _ => 0.8,
    };
    (lr.log10() + 2.5).powi(2) + ((width as f64).log2() - 6.0).powi(2) / 4.0 + ((depth - 3) as f64).powi(2) / 8.0 + act
}

fn float(p: &Point, i: usize) -> f64 {
    p[i].1.as_float().expect("a float")
}

/// A problem: its name in the fixtures, search space, objective and number of trials.
struct Problem {
    name: &'static str,
    space: Vec<(String, Distribution)>,
    objective: fn(&Point) -> f64,
    trials: usize,
}

fn problems() -> Vec<Problem> {
    let key = |k: &str, d| (k.to_string(), d);
    let acts = ["relu", "tanh", "sigmoid"].map(|s| toml::Value::String(s.into())).to_vec();
    vec![
        Problem {
            name: "branin",
            space: vec![key("x1", Distribution::Uniform([-5.0, 10.0])), key("x2", Distribution::Uniform([0.0, 15.0]))],
            objective: |p| branin(float(p, 0), float(p, 1)),
            trials: 50,
        },
        Problem {
            name: "hartmann6",
            space: (0..6).map(|j| key(&format!("x{j}"), Distribution::Uniform([0.0, 1.0]))).collect(),
            objective: |p| hartmann6(&(0..6).map(|j| float(p, j)).collect::<Vec<_>>()),
            trials: 100,
        },
        Problem {
            name: "mixed",
            space: vec![
                key("lr", Distribution::LogUniform([1e-4, 1.0])),
                key("width", Distribution::IntLogUniform([8, 512])),
                key("depth", Distribution::IntRange([1, 8])),
                key("act", Distribution::Choice(acts)),
            ],
            objective: |p| {
                let int = |i: usize| p[i].1.as_integer().expect("an integer");
                mixed(float(p, 0), int(1), int(2), p[3].1.as_str().expect("a choice"))
            },
            trials: 50,
        },
    ]
}

/// The best value found after each trial of a sequential ask/tell loop.
fn best_so_far(sampler: &mut dyn Sampler, problem: &Problem) -> Vec<f64> {
    let mut history: Vec<Observation> = Vec::new();
    let mut best = Vec::with_capacity(problem.trials);
    for number in 0..problem.trials {
        let point = sampler.sample(number, &problem.space, &history);
        let value = (problem.objective)(&point);
        best.push(best.last().map_or(value, |b: &f64| b.min(value)));
        history.push(Observation { point, value: Some(value), step: 1, outcome: Outcome::Completed });
    }
    best
}

/// Mean and standard error of the best value after `n` trials over the seeds.
fn mean_se(curves: &[Vec<f64>], n: usize) -> (f64, f64) {
    let v: Vec<f64> = curves.iter().map(|c| c[n - 1]).collect();
    let k = v.len() as f64;
    let mean = v.iter().sum::<f64>() / k;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (k - 1.0);
    (mean, (var / k).sqrt())
}

#[test]
fn tpe_matches_optuna_and_beats_random_search() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/search/samplers.json");
    let fixtures: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(fixtures["seeds"].as_array().map(Vec::len), Some(SEEDS as usize));
    let mut failures = Vec::new();
    for problem in problems() {
        let reference = &fixtures["problems"][problem.name];
        assert_eq!(reference["trials"].as_u64(), Some(problem.trials as u64), "{}", problem.name);
        let tpe: Vec<Vec<f64>> = (0..SEEDS).map(|s| best_so_far(&mut Tpe::new(s), &problem)).collect();
        let random: Vec<Vec<f64>> = (0..SEEDS).map(|s| best_so_far(&mut RandomSampler::new(s), &problem)).collect();
        assert_eq!(tpe[7], best_so_far(&mut Tpe::new(7), &problem), "deterministic");
        let budgets: Vec<usize> =
            reference["budgets"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap() as usize).collect();
        for &n in &budgets {
            for (sampler, curves) in [("tpe", &tpe), ("random", &random)] {
                let theirs = &reference["samplers"][sampler][n.to_string()];
                let (m_opt, se_opt) = (theirs["mean"].as_f64().unwrap(), theirs["se"].as_f64().unwrap());
                let (m, se) = mean_se(curves, n);
                let half = 3.0 * (se_opt * se_opt + se * se).sqrt();
                let line = format!(
                    "{} {sampler} n={n}: burnlab {m:.4} (se {se:.4}), Optuna {m_opt:.4} (se {se_opt:.4}), band [{:.4}, {:.4}]",
                    problem.name,
                    m_opt - half,
                    m_opt + half
                );
                eprintln!("{line}");
                if (m - m_opt).abs() > half {
                    failures.push(line);
                }
            }
        }
        let n = *budgets.last().unwrap();
        let (m_tpe, se_tpe) = mean_se(&tpe, n);
        let theirs = &reference["samplers"]["random"][n.to_string()];
        let optuna_random = (theirs["mean"].as_f64().unwrap(), theirs["se"].as_f64().unwrap());
        for (who, (m_r, se_r)) in [("burnlab", mean_se(&random, n)), ("Optuna", optuna_random)] {
            let z = (m_r - m_tpe) / (se_tpe * se_tpe + se_r * se_r).sqrt();
            if z <= 3.0 {
                failures.push(format!("{} n={n}: TPE {m_tpe:.4} vs {who}'s random {m_r:.4}: z = {z:.2}", problem.name));
            }
        }
    }
    assert!(failures.is_empty(), "outside the band or no better than random search:\n{}", failures.join("\n"));
}
