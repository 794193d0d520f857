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

/// Proposal `number` of a search seeded with `seed`: `sampler`'s point, unless it is one of
/// `seen` (the points already run), then an independent random draw (a [`RandomSampler`]
/// seeded with `!seed`) in its place.
///
/// Why: burnlab runs a point once (a repeated point's trials are the earlier ones, and add no
/// observation), while TPE on a categorical space converges to the best point seen so far and
/// proposes it again and again, so without the redraw its remaining budget would teach it
/// nothing (Optuna, which reruns a repeated point, does not have this case). The redraw may
/// repeat too; then the proposal runs nothing new and still counts against the budget.
pub fn propose_unseen(
    sampler: &mut dyn Sampler,
    (seed, number): (u64, usize),
    space: &[(String, Distribution)],
    history: &[Observation],
    seen: &[Point],
) -> Point {
    let point = sampler.sample(number, space, history);
    if !seen.contains(&point) {
        return point;
    }
    RandomSampler::new(!seed).sample(number, space, history)
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

    /// Always proposes the first value of every choice (as TPE does on a categorical space
    /// once it has converged).
    struct Stuck;

    impl Sampler for Stuck {
        fn name(&self) -> &'static str {
            "stuck"
        }
        fn sample(&mut self, _: usize, space: &[(String, Distribution)], _: &[Observation]) -> Point {
            space
                .iter()
                .map(|(k, d)| match d {
                    Distribution::Choice(c) => (k.clone(), c[0].clone()),
                    _ => unreachable!("choices only"),
                })
                .collect()
        }
    }

    #[test]
    fn a_point_already_run_is_redrawn_at_random() {
        let choices = (0..50).map(toml::Value::Integer).collect();
        let space = vec![("model.hidden".to_string(), Distribution::Choice(choices))];
        let first = propose_unseen(&mut Stuck, (7, 0), &space, &[], &[]);
        assert_eq!(first, vec![("model.hidden".to_string(), toml::Value::Integer(0))]);
        let again = propose_unseen(&mut Stuck, (7, 1), &space, &[], std::slice::from_ref(&first));
        assert_ne!(again, first, "redrawn");
        assert_eq!(again, RandomSampler::new(!7).sample(1, &space, &[]), "by the complement seed's random sampler");
        assert_eq!(again, propose_unseen(&mut Stuck, (7, 1), &space, &[], &[first]), "deterministic");
    }
}
