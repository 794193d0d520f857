//! The bare training loop: `models::classifier::fit` with an observer that records nothing.
//!
//! `scripts/bench` compares this against a full `burnlab run` (to measure burnlab's logging,
//! TensorBoard and table overhead) and against PyTorch eager (`scripts/bench_torch.py`).
//!
//! Usage: `cargo bench --bench train_loop -- [--steps N] [--backend flex|ndarray|libtorch] FAMILY...`
//! (`libtorch` needs `--features tch`).
//! Prints one JSON object per family. Threads: set `RAYON_NUM_THREADS`.

use burnlab::backend::{Backend, BackendKind, DeviceSel};
use burnlab::data::{DatasetSpec, Mnist1dOptions};
use burnlab::models::TrainCtx;
use burnlab::train::{self, Batching, TrainingSpec};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let (mut steps, mut backend, mut families) = (6000usize, BackendKind::Flex, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--steps" => steps = args.next().and_then(|s| s.parse().ok()).expect("--steps N"),
            "--backend" => {
                backend = match args.next().as_deref() {
                    Some("ndarray") => BackendKind::Ndarray,
                    Some("flex") => BackendKind::Flex,
                    Some("libtorch") => BackendKind::Libtorch,
                    other => panic!("unknown backend {other:?}"),
                }
            }
            f => families.push(f.to_string()),
        }
    }
    if families.is_empty() {
        families = vec!["linear".into(), "mlp".into()];
    }
    let backend = Backend { kind: backend, device: DeviceSel::Cpu };
    let dataset = DatasetSpec::new(Mnist1dOptions::default());
    let data = dataset.load().expect("MNIST-1D");
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
        let device = backend.training_device().expect("backend");
        device.seed(0);
        let start = Instant::now();
        let threads = std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
        let ctx = TrainCtx { data: &data, training: &cfg, device: &device, seed: 0, select_best: None, trial: None };
        let outcome = Backend::run_on_cpu_pool(threads, || spec.train(ctx, &mut train::NullObserver))
            .expect("built-in trainers do not fail");
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
