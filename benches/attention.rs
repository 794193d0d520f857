//! Multi-head self-attention block: Burn's fused `module::attention` against burnlab's composed
//! form, forward only (evaluation) and forward + backward (training).
//!
//! Usage: `cargo bench --bench attention -- [--iters N] [--dropout P]`; threads: `RAYON_NUM_THREADS`.
//! The block is the attention family's default on MNIST-1D-shaped input: batch 100, 40 tokens,
//! d_model 32, 4 heads. Prints one JSON object per (mode, pass).

use burn::tensor::{Device, Distribution, Tensor};
use burnlab::backend::Backend;
use burnlab::models::attention::{Sdpa, SelfAttention};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let (mut iters, mut dropout) = (200usize, 0.1f64);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--iters" => iters = args.next().and_then(|s| s.parse().ok()).expect("--iters N"),
            "--dropout" => dropout = args.next().and_then(|s| s.parse().ok()).expect("--dropout P"),
            other => panic!("unknown argument {other}"),
        }
    }
    let threads = std::env::var("RAYON_NUM_THREADS").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let (b, t, d, h) = (100, 40, 32, 4);
    Backend::run_on_cpu_pool(threads, || {
        for (pass, device) in [("forward", Device::flex()), ("forward+backward", Device::flex().autodiff())] {
            device.seed(0);
            let block = SelfAttention::new(d, h, dropout, &device);
            for (name, mode) in [("composed", Sdpa::Composed), ("fused", Sdpa::Fused)] {
                let x = Tensor::<3>::random([b, t, d], Distribution::Default, &device);
                let run = || {
                    let y = block.attend_with(x.clone(), x.clone(), None, mode);
                    if device.is_autodiff() {
                        let grads = y.sum().backward();
                        drop(grads);
                    } else {
                        y.into_data();
                    }
                };
                for _ in 0..10 {
                    run();
                }
                let start = Instant::now();
                for _ in 0..iters {
                    run();
                }
                let ms = start.elapsed().as_secs_f64() * 1000.0 / iters as f64;
                println!(
                    "{}",
                    serde_json::json!({
                        "sdpa": name, "pass": pass, "ms_per_call": ms, "iters": iters,
                        "dropout": if mode == Sdpa::Composed && device.is_autodiff() { dropout } else { 0.0 },
                        "threads": threads,
                    })
                );
            }
        }
    });
}
