//! GAN evaluation: mode-coverage metrics on 2D mixtures, the Frechet distance, sample plots.

pub mod frechet;
pub mod metrics;
pub mod plot;
