//! PLACEHOLDER: replaced by part C's TPE.
//!
//! The tree-structured Parzen estimator (Bergstra et al. 2011) behind `[sweep] kind = "tpe"`;
//! until it lands this delegates to [`RandomSampler`].

use super::Point;
use super::sampler::{Observation, RandomSampler, Sampler};
use crate::spec::dist::Distribution;

/// The TPE sampler (placeholder: random proposals).
#[derive(Debug, Clone)]
pub struct Tpe {
    random: RandomSampler,
}

impl Tpe {
    /// A TPE sampler seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Tpe { random: RandomSampler::new(seed) }
    }
}

impl Sampler for Tpe {
    fn name(&self) -> &'static str {
        "tpe"
    }

    fn sample(&mut self, number: usize, space: &[(String, Distribution)], history: &[Observation]) -> Point {
        self.random.sample(number, space, history)
    }
}
