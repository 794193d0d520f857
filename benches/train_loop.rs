//! The bare training loop: `models::classifier::fit` with an observer that records nothing.
//!
//! `scripts/bench` compares this against a full `burnlab run` (to measure burnlab's logging,
//! TensorBoard and table overhead) and against PyTorch eager (`scripts/bench_torch.py`);
//! `scripts/bench-images` times an image model of an experiment file against
//! `scripts/fashion_torch.py`.
//!
//! Usage:
//! - `cargo bench --bench train_loop -- [--steps N] [--backend flex|ndarray|libtorch] FAMILY...`:
//!   each family's default model on MNIST-1D (Adam lr 1e-2, batch 100, sequential slices);
//!   `seconds` covers the whole loop, the final test evaluation included.
//! - `cargo bench --bench train_loop -- --experiment FILE.toml [--set KEY=VALUE]... [--warmup W]
//!   [--steps N] [--backend B] [LABEL...]`: every `[[models]]` variant of the file (or those
//!   labelled LABEL) on its dataset with its training settings (`Experiment::recipe`: the
//!   variant's own, else the file's sections; N defaults to their `steps`), seed 0, for W + N
//!   steps with one evaluation after the last. `seconds` is the wall time of steps W+1..=W+N
//!   alone, clocked where the loop reports each step's loss (`log_every = 1`): evaluations,
//!   data loading and model building excluded (with W = 0 the clock starts before the model is
//!   built); `images_per_second` = N · batch_size / seconds.
//!
//! (`libtorch` needs `--features tch`.) Prints one JSON object per model. Threads: set
//! `RAYON_NUM_THREADS`.

use burnlab::backend::{Backend, BackendKind, DeviceSel};
use burnlab::data::{Dataset, DatasetSpec, Mnist1dOptions};
use burnlab::models::{ModelSpec, TrainCtx};
use burnlab::spec::Experiment;
use burnlab::train::{self, Batching, Observer, TrainingSpec};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// The command line.
struct Args {
    steps: Option<usize>,
    warmup: usize,
    backend: BackendKind,
    families: Vec<String>,
    experiment: Option<PathBuf>,
    sets: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let mut out = Args {
        steps: None,
        warmup: 0,
        backend: BackendKind::Flex,
        families: Vec::new(),
        experiment: None,
        sets: Vec::new(),
    };
    while let Some(a) = args.next() {
        let mut value = |flag: &str| args.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match a.as_str() {
            "--steps" => out.steps = Some(value("--steps").parse().expect("--steps N")),
            "--warmup" => out.warmup = value("--warmup").parse().expect("--warmup N"),
            "--experiment" => out.experiment = Some(PathBuf::from(value("--experiment"))),
            "--set" => out.sets.push(value("--set")),
            "--backend" => {
                out.backend = match value("--backend").as_str() {
                    "ndarray" => BackendKind::Ndarray,
                    "flex" => BackendKind::Flex,
                    "libtorch" => BackendKind::Libtorch,
                    other => panic!("unknown backend {other:?}"),
                }
            }
            f => out.families.push(f.to_string()),
        }
    }
    out
}

fn threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// Prints `error` and exits with code 2 (a bad experiment file or dataset).
fn fail(error: &dyn std::fmt::Display) -> ! {
    eprintln!("error: {error}");
    std::process::exit(2)
}

/// Records when steps `from` and `to` ended (the loop reports every step's loss with
/// `log_every = 1`, after the step's update).
struct StepClock {
    from: usize,
    to: usize,
    start: Option<Instant>,
    seconds: Option<f64>,
}

impl Observer for StepClock {
    fn on_train_loss(&mut self, step: usize, _: f64) {
        if step == self.from {
            self.start = Some(Instant::now());
        }
        if step == self.to {
            self.seconds = self.start.map(|s| s.elapsed().as_secs_f64());
        }
    }
    fn on_eval(&mut self, _: usize, _: &BTreeMap<String, f64>) {}
    fn should_stop(&self) -> bool {
        false
    }
}

/// Trains `spec` on `data` with `cfg` and its seed 0; returns the outcome and the observer.
fn train_one<O: Observer + Send>(
    spec: &ModelSpec,
    data: &Dataset,
    cfg: &TrainingSpec,
    backend: &Backend,
    obs: &mut O,
) -> train::FitOutcome {
    let device = backend.training_device().expect("backend");
    device.seed(0);
    let ctx = TrainCtx { data, training: cfg, device: &device, seed: 0, select_best: None, trial: None };
    Backend::run_on_cpu_pool(threads(), || spec.train(ctx, obs)).expect("built-in trainers do not fail")
}

/// The MNIST-1D families' default models (`scripts/bench`).
fn bench_families(args: &Args, backend: &Backend) {
    let steps = args.steps.unwrap_or(6000);
    let families = if args.families.is_empty() { vec!["linear".into(), "mlp".into()] } else { args.families.clone() };
    let data = DatasetSpec::new(Mnist1dOptions::default()).load().expect("MNIST-1D");
    // The MNIST-1D reference loop: Adam lr 1e-2, batch 100, sequential slices, no evaluation.
    let cfg = TrainingSpec {
        lr: 1e-2,
        batch_size: 100,
        steps,
        eval_every: steps,
        batching: Batching::Sequential,
        ..Default::default()
    };
    for name in families {
        let spec = burnlab::models::families().default_of(&name).unwrap_or_else(|| panic!("unknown family {name}"));
        // The classifier trainer only (the GAN trains adversarially, on other data).
        if spec.metrics() != burnlab::models::classifier::METRICS {
            continue;
        }
        let start = Instant::now();
        let outcome = train_one(&spec, &data, &cfg, backend, &mut train::NullObserver);
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "family": name, "backend": backend.to_string(), "steps": steps, "seconds": seconds,
                "seconds_per_1k_steps": seconds * 1000.0 / steps as f64,
                "test_accuracy": outcome.final_metrics.get("test.accuracy"),
                "threads": std::env::var("RAYON_NUM_THREADS").unwrap_or_default(),
            })
        );
    }
}

/// Every model of an experiment file (those labelled in `args.families`, when any are), each
/// with its own training settings and dataset, timed over steps `warmup + 1 ..= warmup + steps`.
fn bench_experiment(path: &std::path::Path, args: &Args, backend: &Backend) {
    let exp = Experiment::load(path, &args.sets).unwrap_or_else(|e| fail(&e));
    if let Some(l) = args.families.iter().find(|l| !exp.models.iter().any(|m| &&m.label == l)) {
        let labels: Vec<&str> = exp.models.iter().map(|m| m.label.as_str()).collect();
        fail(&format!("{}: no [[models]] variant labelled `{l}` (labels: {})", path.display(), labels.join(", ")));
    }
    let chosen = exp.models.iter().filter(|m| args.families.is_empty() || args.families.contains(&m.label));
    for variant in chosen {
        let (training, dataset) = exp.recipe(&variant.label);
        let steps = args.steps.unwrap_or(training.steps);
        if steps == 0 {
            fail(&"--steps must be at least 1");
        }
        let total = args.warmup + steps;
        let cfg = TrainingSpec { steps: total, eval_every: total, log_every: 1, ..training.clone() };
        let data = dataset.load().unwrap_or_else(|e| fail(&e));
        let mut clock = StepClock { from: args.warmup, to: total, start: None, seconds: None };
        if args.warmup == 0 {
            clock.start = Some(Instant::now());
        }
        let outcome = train_one(&variant.spec, &data, &cfg, backend, &mut clock);
        let seconds = clock.seconds.expect("the run reached its last step");
        println!(
            "{}",
            serde_json::json!({
                "label": variant.label, "experiment": exp.name, "backend": backend.to_string(),
                "warmup": args.warmup, "steps": steps, "batch_size": cfg.batch_size, "seconds": seconds,
                "seconds_per_step": seconds / steps as f64,
                "images_per_second": (steps * cfg.batch_size) as f64 / seconds,
                "test_accuracy": outcome.final_metrics.get("test.accuracy"),
                "num_params": outcome.num_params, "threads": threads(),
            })
        );
    }
}

fn main() {
    let args = parse_args();
    let backend = Backend { kind: args.backend, device: DeviceSel::Cpu };
    match &args.experiment {
        Some(path) => bench_experiment(path, &args, &backend),
        None => bench_families(&args, &backend),
    }
}
