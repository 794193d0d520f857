//! TPE proposal time against history size.
//!
//! Usage: `cargo bench --bench tpe -- [--iters N]`. The space has four keys (a log-uniform float,
//! a uniform float, an integer range and a three-way choice); the history is `n` completed
//! random trials with random values. Prints one JSON object per history size: the median and
//! minimum time of one proposal (all four keys) over `N` proposals.

use burnlab::sweep::sampler::{Observation, RandomSampler, Sampler};
use burnlab::sweep::tpe::Tpe;
use burnlab::sweep::{Distribution, Outcome};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut iters = 50usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iters" => iters = args.next().and_then(|s| s.parse().ok()).expect("--iters N"),
            other => panic!("unknown argument {other}"),
        }
    }
    let choices = ["relu", "tanh", "gelu"].map(|s| toml::Value::String(s.into())).to_vec();
    let space = vec![
        ("training.lr".to_string(), Distribution::LogUniform([1e-4, 1e-1])),
        ("training.weight_decay".to_string(), Distribution::Uniform([0.0, 0.1])),
        ("model.layers".to_string(), Distribution::IntRange([1, 8])),
        ("model.activation".to_string(), Distribution::Choice(choices)),
    ];
    let mut random = RandomSampler::new(1);
    for n in [10, 25, 50, 100, 200, 400, 800, 1600] {
        // Values: a deterministic scramble of the trial numbers.
        let history: Vec<Observation> = (0..n)
            .map(|i| Observation {
                point: random.sample(i, &space, &[]),
                value: Some(((i * 7919) % 1009) as f64),
                step: 1,
                outcome: Outcome::Completed,
            })
            .collect();
        let mut tpe = Tpe::new(0);
        let mut times: Vec<f64> = (0..iters)
            .map(|k| {
                let start = Instant::now();
                std::hint::black_box(tpe.sample(n + k, &space, &history));
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "{{\"history\": {n}, \"keys\": {}, \"median_ms\": {:.4}, \"min_ms\": {:.4}, \"iters\": {iters}}}",
            space.len(),
            times[times.len() / 2],
            times[0]
        );
    }
}
