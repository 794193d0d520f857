//! The tpe + asha search the adaptive-search tests share (`tests/search.rs`,
//! `tests/tensorboard.rs`, `tests/slurm_adaptive.rs`).

#![allow(dead_code)]

/// Experiment `name`: a tpe search of `trials` proposals (seed `seed`) over an MLP's learning
/// rate and width on MNIST-1D with a validation split, `steps` steps evaluated every
/// `eval_every`, and asha with its first rung at `eval_every`, halving.
pub fn tpe_asha(name: &str, trials: usize, seed: u64, (steps, eval_every): (usize, usize)) -> String {
    format!(
        r#"name = "{name}"
seeds = [0]

[dataset]
name = "mnist1d"
validation = 0.2

[training]
batch_size = 50
steps = {steps}
eval_every = {eval_every}
log_every = {eval_every}

[[models]]
family = "mlp"
depth = 1

[sweep]
kind = "tpe"
trials = {trials}
seed = {seed}
pruner = {{ kind = "asha", min_steps = {eval_every}, reduction_factor = 2 }}

[sweep.params]
"training.lr" = {{ log_uniform = [1e-4, 3e-1] }}
"model.hidden" = {{ int_log_uniform = [4, 32] }}
"#
    )
}
