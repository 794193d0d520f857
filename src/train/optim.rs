//! Optimizers from the `[training]` section.

use super::{OptimizerKind, TrainingSpec};
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, AdamWConfig, ModuleOptimizer, SgdConfig};

/// Builds the configured optimizer (PyTorch's defaults where the file is silent).
pub fn build_optimizer(cfg: &TrainingSpec) -> ModuleOptimizer {
    let decay = (cfg.weight_decay > 0.0).then(|| WeightDecayConfig::new(cfg.weight_decay as f32));
    match cfg.optimizer {
        OptimizerKind::Adam => AdamConfig::new()
            .with_beta_1(cfg.beta1 as f32)
            .with_beta_2(cfg.beta2 as f32)
            .with_epsilon(cfg.eps as f32)
            .with_weight_decay(decay)
            .init(),
        OptimizerKind::Adamw => AdamWConfig::new()
            .with_beta_1(cfg.beta1 as f32)
            .with_beta_2(cfg.beta2 as f32)
            .with_epsilon(cfg.eps as f32)
            .with_weight_decay(cfg.weight_decay as f32)
            .init(),
        OptimizerKind::Sgd => SgdConfig::new()
            .with_weight_decay(decay)
            .with_momentum((cfg.momentum > 0.0).then_some(MomentumConfig {
                momentum: cfg.momentum,
                dampening: 0.0,
                nesterov: false,
            }))
            .init(),
    }
}
