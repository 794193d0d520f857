//! Adaptive search on a real sweep: ASHA against the full grid, and TPE against random search.
//!
//! Usage (after running both experiments with `--jobs 1`, so that trials finish in plan order):
//!
//! ```sh
//! cargo run --release -- run experiments/mnist1d-search-grid.toml --jobs 1
//! cargo run --release -- run experiments/mnist1d-search-asha.toml --jobs 1
//! cargo run --release -- run experiments/mnist1d-search-asha-rf4.toml --jobs 1
//! cargo bench --bench search_mnist1d -- [--results results] [--out results/mnist1d-search] [--search-seeds 5]
//! ```
//!
//! Reads `mnist1d-search-grid` and the ASHA runs (their trial folders, or the committed
//! `summary.csv`), and writes `table.md` and `best-found.svg` into `--out`:
//!
//! - **ASHA against the grid** (`mnist1d-search-asha`, reduction factor 3, and
//!   `mnist1d-search-asha-rf4`, 4, where present). The grid's best configuration is the one with
//!   the highest mean validation accuracy over its seeds; its test accuracy has a 95% Student-t
//!   interval over the seeds. ASHA's pick is the configuration with the highest mean validation
//!   accuracy over its trials that ran every step. Reported: both test accuracies, whether
//!   ASHA's falls in the grid best's interval, and the training steps each spent.
//! - **TPE against random search**, as a tabular benchmark on the grid's results (Eggensperger
//!   et al. 2015; HPOBench): the space is the grid's four axes (family, learning rate, width
//!   level, dropout) as categorical choices; a proposal "trains" its configuration by looking up
//!   the grid's mean validation accuracy over seeds (the objective), costing the grid's steps the
//!   first time a configuration is proposed and nothing when it repeats. Both samplers are
//!   burnlab's (`sweep::tpe::Tpe`, `sweep::sampler::RandomSampler`), seeded 0..N. Reported per
//!   budget of proposals: the mean over search seeds of the best-found validation accuracy and
//!   of its configuration's test accuracy, with 95% Student-t intervals (n = search seeds).
//!
//! The figure plots the test accuracy of the best configuration found so far (by validation)
//! against the training steps spent: the grid and ASHA in plan order, random and TPE averaged
//! over the search seeds.

use burnlab::report::stats::Stats;
use burnlab::report::{fallback, load};
use burnlab::results::TrialStatus;
use burnlab::sweep::sampler::{Observation, RandomSampler, Sampler, propose_unseen};
use burnlab::sweep::tpe::Tpe;
use burnlab::sweep::{Distribution, Outcome, Point};
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One trial as the benchmark sees it.
struct Run {
    /// The configuration: label and swept values but the seed.
    config: String,
    /// Its axes: family, learning rate, width, dropout (as written in the plan).
    axes: [String; 4],
    completed: bool,
    steps: usize,
    valid: Option<f64>,
    test: Option<f64>,
}

/// A configuration's results over its seeds.
struct Config {
    name: String,
    axes: [String; 4],
    /// Validation accuracy of each seed's trial.
    valids: Vec<f64>,
    valid: Stats,
    test: Stats,
    steps: usize,
}

const VALID: &str = "valid.accuracy";
const TEST: &str = "test.accuracy";
const WIDTH_KEYS: [&str; 2] = ["model.channels", "model.hidden"];

fn value_text(v: Option<&toml::Value>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// The trials of results directory `dir`, in plan order.
fn read(dir: &Path) -> Vec<Run> {
    let (plan, summaries) = load(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let summaries = fallback::summaries(dir, &plan).expect("summary.csv").unwrap_or(summaries);
    plan.trials
        .iter()
        .zip(summaries)
        .filter_map(|(t, s)| {
            let s = s?;
            let width = WIDTH_KEYS.iter().find_map(|k| t.swept.get(*k));
            let axes = [
                s.family.clone(),
                value_text(t.swept.get("training.lr")),
                value_text(width),
                value_text(t.swept.get("model.dropout")),
            ];
            Some(Run {
                config: t.setting_name(),
                axes,
                completed: s.status == TrialStatus::Completed,
                steps: s.steps,
                valid: s.final_metrics.get(VALID).copied(),
                test: s.final_metrics.get(TEST).copied(),
            })
        })
        .collect()
}

/// Configurations over the completed trials of `runs`, in order of first appearance.
fn configs(runs: &[Run]) -> Vec<Config> {
    let mut order: Vec<&str> = Vec::new();
    let mut by: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for r in runs.iter().filter(|r| r.completed && r.valid.is_some() && r.test.is_some()) {
        if !by.contains_key(r.config.as_str()) {
            order.push(&r.config);
        }
        by.entry(&r.config).or_default().push(r);
    }
    order
        .into_iter()
        .map(|name| {
            let rs = &by[name];
            let valid: Vec<f64> = rs.iter().filter_map(|r| r.valid).collect();
            let test: Vec<f64> = rs.iter().filter_map(|r| r.test).collect();
            let steps = runs.iter().filter(|r| r.config == name).map(|r| r.steps).sum();
            Config {
                name: name.to_string(),
                axes: rs[0].axes.clone(),
                valid: Stats::of(&valid).expect("one value"),
                valids: valid,
                test: Stats::of(&test).expect("one value"),
                steps,
            }
        })
        .collect()
}

/// The configuration with the highest mean validation accuracy (the first of equals).
fn best(configs: &[Config]) -> &Config {
    configs.iter().reduce(|a, b| if b.valid.mean > a.valid.mean { b } else { a }).expect("a configuration")
}

/// Test accuracy of the best trial so far (by validation accuracy) after each trial, against
/// the steps spent so far, in plan order.
fn curve(runs: &[Run]) -> Vec<(f64, f64)> {
    let (mut spent, mut best): (usize, Option<(f64, f64)>) = (0, None);
    let mut out = Vec::new();
    for r in runs {
        spent += r.steps;
        if let (true, Some(v), Some(t)) = (r.completed, r.valid, r.test)
            && best.is_none_or(|(bv, _)| v > bv)
        {
            best = Some((v, t));
        }
        if let Some((_, t)) = best {
            out.push((spent as f64, t));
        }
    }
    out
}

/// The grid's axes as a categorical search space (values sorted as the grid lists them).
fn space(grid: &[Config]) -> Vec<(String, Distribution)> {
    let names = ["family", "training.lr", "width", "model.dropout"];
    (0..4)
        .map(|k| {
            let mut values: Vec<String> = Vec::new();
            for c in grid {
                let v = if k == 2 { width_level(grid, c) } else { c.axes[k].clone() };
                if !values.contains(&v) {
                    values.push(v);
                }
            }
            let choices = values.into_iter().map(toml::Value::String).collect();
            (names[k].to_string(), Distribution::Choice(choices))
        })
        .collect()
}

/// A configuration's width as a level within its family ("0" narrowest).
fn width_level(grid: &[Config], c: &Config) -> String {
    let mut widths: Vec<&str> = grid.iter().filter(|g| g.axes[0] == c.axes[0]).map(|g| g.axes[2].as_str()).collect();
    widths.sort_by_key(|w| (w.len(), *w));
    widths.dedup();
    widths.iter().position(|w| *w == c.axes[2]).expect("its own width").to_string()
}

/// One search over the grid's table: the best-found (validation, test, steps spent) after each
/// proposal.
fn search(sampler: &mut dyn Sampler, seed: u64, grid: &[Config], budget: usize) -> Vec<(f64, f64, usize)> {
    let space = space(grid);
    let key = |c: &Config| vec![c.axes[0].clone(), c.axes[1].clone(), width_level(grid, c), c.axes[3].clone()];
    let table: BTreeMap<Vec<String>, &Config> = grid.iter().map(|c| (key(c), c)).collect();
    let (mut history, mut seen, mut spent) = (Vec::<Observation>::new(), Vec::<Point>::new(), 0usize);
    let mut best: Option<&Config> = None;
    let mut out = Vec::new();
    for number in 0..budget {
        let point: Point = propose_unseen(sampler, (seed, number), &space, &history, &seen);
        let k: Vec<String> = point.iter().map(|(_, v)| v.as_str().expect("a choice").to_string()).collect();
        // As the runner does: a point proposed before is redrawn at random once
        // (`propose_unseen`); a new point runs one trial per seed, each one observation (the
        // sampler minimises: accuracy negated); a repeat runs nothing and adds no observation,
        // but counts against the budget.
        if let Some(c) = table.get(&k).copied()
            && !seen.contains(&point)
        {
            seen.push(point.clone());
            spent += c.steps;
            for v in &c.valids {
                let point = point.clone();
                history.push(Observation { point, value: Some(-v), step: 1000, outcome: Outcome::Completed });
            }
            if best.is_none_or(|b| c.valid.mean > b.valid.mean) {
                best = Some(c);
            }
        }
        if let Some(b) = best {
            out.push((b.valid.mean, b.test.mean, spent));
        }
    }
    out
}

struct Args {
    results: PathBuf,
    out: PathBuf,
    seeds: u64,
    budget: usize,
}

fn args() -> Args {
    let mut a = Args { results: "results".into(), out: "results/mnist1d-search".into(), seeds: 5, budget: 30 };
    let mut it = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--results" => a.results = value().into(),
            "--out" => a.out = value().into(),
            "--search-seeds" => a.seeds = value().parse().expect("--search-seeds N"),
            "--budget" => a.budget = value().parse().expect("--budget N"),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

fn ci(s: &Stats) -> String {
    if s.n > 1 { format!("{:.4} [{:.4}, {:.4}]", s.mean, s.ci95.0, s.ci95.1) } else { format!("{:.4}", s.mean) }
}

/// The ASHA runs compared with the grid: (row name, results folder).
const ASHA_RUNS: [(&str, &str); 2] =
    [("ASHA, reduction factor 3", "mnist1d-search-asha"), ("ASHA, reduction factor 4", "mnist1d-search-asha-rf4")];

/// The ASHA-against-grid section of `table.md`.
fn asha_section(grid_runs: &[Run], ashas: &[(&str, Vec<Run>)], md: &mut String) {
    let grid = configs(grid_runs);
    let g = best(&grid);
    let grid_steps: usize = grid_runs.iter().map(|r| r.steps).sum();
    let _ = writeln!(
        md,
        "## ASHA against the full grid
"
    );
    let _ = writeln!(
        md,
        "| run | trials (pruned) | training steps | share of the grid's | best configuration (by valid.) | its valid. accuracy | its test accuracy, mean [95% CI] (n) | the same configuration in the grid: test accuracy (n = 2) |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---|---:|---|---:|");
    let rows = std::iter::once(("grid", grid_runs)).chain(ashas.iter().map(|(n, r)| (*n, r.as_slice())));
    let mut notes = String::new();
    for (name, runs) in rows {
        let found = configs(runs);
        let c = best(&found);
        let steps: usize = runs.iter().map(|r| r.steps).sum();
        let pruned = runs.iter().filter(|r| !r.completed).count();
        let share = 100.0 * steps as f64 / grid_steps as f64;
        let in_grid =
            grid.iter().find(|x| x.name == c.name).map_or("–".to_string(), |x| format!("{:.4}", x.test.mean));
        let _ = writeln!(
            md,
            "| {name} | {} ({pruned}) | {steps} | {share:.1}% | {} | {:.4} | {} ({}) | {in_grid} |",
            runs.len(),
            c.name,
            c.valid.mean,
            ci(&c.test),
            c.test.n
        );
        if name != "grid" {
            let within = c.test.mean >= g.test.ci95.0 && c.test.mean <= g.test.ci95.1;
            let _ = writeln!(
                notes,
                "- {name}: its pick's test accuracy {:.4} is {} the grid best's 95% interval [{:.4}, {:.4}] \
                 (Student t over {} seeds; {:+.4} from the grid best's mean), with {share:.1}% of the grid's \
                 training steps.",
                c.test.mean,
                if within { "within" } else { "outside" },
                g.test.ci95.0,
                g.test.ci95.1,
                g.test.n,
                c.test.mean - g.test.mean,
            );
        }
    }
    let _ = writeln!(md, "\n{notes}");
}

/// The TPE-against-random section of `table.md`; returns the mean curves (steps, test) of both.
fn tpe_section(grid_runs: &[Run], a: &Args, md: &mut String) -> [Vec<(f64, f64)>; 2] {
    let grid = configs(grid_runs);
    let g = best(&grid);
    let runs: Vec<[Vec<(f64, f64, usize)>; 2]> = (0..a.seeds)
        .map(|s| [search(&mut RandomSampler::new(s), s, &grid, a.budget), search(&mut Tpe::new(s), s, &grid, a.budget)])
        .collect();
    let _ = writeln!(md, "## TPE against random search (tabular, on the grid's results)\n");
    let _ = writeln!(
        md,
        "{} configurations; objective: mean validation accuracy over the grid's seeds (best possible {:.4}, \
         test {:.4}); {} search seeds per sampler; mean [95% CI] over the search seeds.\n",
        grid.len(),
        g.valid.mean,
        g.test.mean,
        a.seeds
    );
    let _ = writeln!(
        md,
        "| proposals | random: best valid. | TPE: best valid. | random: its test | TPE: its test | random: steps | TPE: steps |"
    );
    let _ = writeln!(md, "|---:|---|---|---|---|---:|---:|");
    let at = |k: usize, i: usize, f: fn(&(f64, f64, usize)) -> f64| -> Stats {
        Stats::of(&runs.iter().filter_map(|r| r[k].get(i).map(f)).collect::<Vec<_>>()).expect("seeds")
    };
    for n in (5..=a.budget).step_by(5) {
        let i = n - 1;
        let cols: Vec<String> = [(0, 0), (1, 0), (0, 1), (1, 1)]
            .iter()
            .map(|&(k, m)| {
                let f: fn(&(f64, f64, usize)) -> f64 = if m == 0 { |r| r.0 } else { |r| r.1 };
                ci(&at(k, i, f))
            })
            .collect();
        let steps: Vec<String> = (0..2).map(|k| format!("{:.0}", at(k, i, |r| r.2 as f64).mean)).collect();
        let _ = writeln!(
            md,
            "| {n} | {} | {} | {} | {} | {} | {} |",
            cols[0], cols[1], cols[2], cols[3], steps[0], steps[1]
        );
    }
    let _ = writeln!(md);
    [0, 1].map(|k| (0..a.budget).map(|i| (at(k, i, |r| r.2 as f64).mean, at(k, i, |r| r.1).mean)).collect())
}

/// One line of the figure: its name, (steps, test accuracy) points and colour.
type Line<'a> = (&'a str, Vec<(f64, f64)>, RGBColor);

/// `best-found.svg`: test accuracy of the best configuration so far against training steps.
fn plot(path: &Path, lines: &[Line<'_>]) {
    let root = SVGBackend::new(path, (760, 440)).into_drawing_area();
    root.fill(&WHITE).expect("svg");
    let x_max = lines.iter().flat_map(|l| l.1.iter().map(|p| p.0)).fold(1.0, f64::max);
    let ys = lines.iter().flat_map(|l| l.1.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((1.0f64, 0.0f64), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let mut chart = ChartBuilder::on(&root)
        .caption("Best configuration found so far (by validation): its test accuracy", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_max / 1e3, (lo - 0.02)..(hi + 0.02).min(1.0))
        .expect("axes");
    chart.configure_mesh().x_desc("training steps spent (thousands)").y_desc("test accuracy").draw().expect("mesh");
    for (name, pts, color) in lines {
        let c = *color;
        chart
            .draw_series(LineSeries::new(pts.iter().map(|(x, y)| (x / 1e3, *y)), c.stroke_width(2)))
            .expect("line")
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().expect("legend");
    root.present().expect("svg written");
}

fn main() {
    let a = args();
    let grid_runs = read(&a.results.join("mnist1d-search-grid"));
    let ashas: Vec<(&str, Vec<Run>)> = ASHA_RUNS
        .iter()
        .filter(|(_, dir)| a.results.join(dir).join("plan.json").is_file())
        .map(|(name, dir)| (*name, read(&a.results.join(dir))))
        .collect();
    let mut md = String::from(
        "# Adaptive search on MNIST-1D: ASHA and TPE against the full grid\n\n\
         Written by `cargo bench --bench search_mnist1d` from `results/mnist1d-search-grid` and the \
         ASHA runs `results/mnist1d-search-asha*` (docs/benchmarks.md, \"Adaptive search\").\n\n",
    );
    asha_section(&grid_runs, &ashas, &mut md);
    let [random, tpe] = tpe_section(&grid_runs, &a, &mut md);
    std::fs::create_dir_all(&a.out).expect("output folder");
    std::fs::write(a.out.join("table.md"), &md).expect("table.md");
    let colours = [RGBColor(214, 39, 40), RGBColor(255, 127, 14)];
    let mut lines: Vec<Line<'_>> = vec![("grid (plan order)", curve(&grid_runs), RGBColor(90, 90, 90))];
    lines.extend(ashas.iter().zip(colours).map(|((name, runs), c)| (*name, curve(runs), c)));
    lines.push(("random search (mean of seeds)", random, RGBColor(31, 119, 180)));
    lines.push(("TPE (mean of seeds)", tpe, RGBColor(44, 160, 44)));
    plot(&a.out.join("best-found.svg"), &lines);
    print!("{md}");
}
