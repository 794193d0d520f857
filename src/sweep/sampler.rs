//! Samplers: where an adaptive search proposes its next point.
//!
//! The sampler half of Optuna's sampler/pruner split (Ray Tune's `Searcher`): given the
//! search space (the `[sweep.params]` distributions) and every observation so far, a
//! [`Sampler`] proposes the next point. The pruner half (stopping a running trial at a rung)
//! and the strategy that composes the two for the runner live beside it in this module.
//! A sampler is deterministic: the same seed, proposal number and history give the same point.

use super::strategy::Outcome;
use super::{Distribution, Point};
use rand::SeedableRng;

/// One trial's result as a sampler sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    /// The point the trial took, keys in the order of the search space.
    pub point: Point,
    /// The objective, oriented so that **lower is better** (a metric where higher is better
    /// is negated); `None` when the trial recorded no value (failed before its first
    /// evaluation).
    pub value: Option<f64>,
    /// The training step `value` was recorded at (a pruned trial's last rung).
    pub step: usize,
    /// How the trial ended.
    pub outcome: Outcome,
}

/// Proposes points of a search space from the observations so far.
pub trait Sampler: Send {
    /// The sampler's name, as written in `[sweep] kind` (`random`, `tpe`).
    fn name(&self) -> &'static str;

    /// The `number`-th proposal (0-based) over `space` (key and distribution, in order),
    /// given every finished trial's observation (in the order the trials finished).
    /// Returns a value for every key of `space`, in its order. Deterministic in the sampler's
    /// seed, `number` and `history`.
    fn sample(&mut self, number: usize, space: &[(String, Distribution)], history: &[Observation]) -> Point;
}

/// Independent draws from each distribution: proposal `number` is drawn from a ChaCha8
/// generator seeded with [`proposal_seed`]`(seed, number)`, whatever the history.
#[derive(Debug, Clone)]
pub struct RandomSampler {
    seed: u64,
}

impl RandomSampler {
    /// A random sampler with the sweep's seed.
    pub fn new(seed: u64) -> Self {
        RandomSampler { seed }
    }
}

impl Sampler for RandomSampler {
    fn name(&self) -> &'static str {
        "random"
    }

    fn sample(&mut self, number: usize, space: &[(String, Distribution)], _history: &[Observation]) -> Point {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(proposal_seed(self.seed, number));
        space.iter().map(|(k, d)| (k.clone(), d.sample(&mut rng))).collect()
    }
}

/// The seed of proposal `number` of a search seeded with `seed` (SplitMix64 of both), so that
/// each proposal's draws depend on nothing but the two.
pub fn proposal_seed(seed: u64, number: usize) -> u64 {
    let mut z = seed ^ (number as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_proposals_depend_on_seed_and_number_only() {
        let space = vec![("training.lr".to_string(), Distribution::LogUniform([1e-4, 1e-1]))];
        let mut a = RandomSampler::new(1);
        let seen =
            [Observation { point: a.sample(0, &space, &[]), value: Some(0.5), step: 10, outcome: Outcome::Completed }];
        assert_eq!(a.sample(3, &space, &[]), RandomSampler::new(1).sample(3, &space, &seen));
        assert_ne!(a.sample(3, &space, &[]), a.sample(4, &space, &[]));
        assert_ne!(a.sample(3, &space, &[]), RandomSampler::new(2).sample(3, &space, &[]));
    }
}
