//! GAN evaluation: mode-coverage metrics on 2D mixtures and sample plots.

pub mod metrics;
pub mod plot;
