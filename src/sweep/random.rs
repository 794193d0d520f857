//! Random search: `trials` seeded draws from the given distributions, the whole plan up front.

use super::strategy::{Ask, Finished, FixedPlan, SearchStrategy};
use super::{Distribution, Plan, Point};
use crate::error::UserError;
use crate::spec::Experiment;

/// The points of a random search, in plan order: `trials` draws of every key (in the given
/// order) from a ChaCha8 generator seeded with `seed`.
pub fn points(trials: usize, seed: u64, params: &[(String, Distribution)]) -> Vec<Point> {
    crate::spec::sweep::draw(trials, seed, params)
}

/// Random search: hands out its seeded draws in plan order and stops no trial early.
#[derive(Debug, Clone)]
pub struct Random {
    fixed: FixedPlan,
}

impl Random {
    /// Plans `exp`'s random draws ([`super::expand`]).
    ///
    /// # Errors
    /// The first invalid trial, located at its sweep value.
    pub fn new(exp: &Experiment) -> Result<Self, UserError> {
        Ok(Random { fixed: FixedPlan::new(super::expand(exp)?) })
    }
}

impl SearchStrategy for Random {
    fn name(&self) -> &'static str {
        "random"
    }
    fn plan(&self) -> &Plan {
        &self.fixed.plan
    }
    fn is_fixed(&self) -> bool {
        true
    }
    fn ask(&mut self, finished: &[Finished]) -> Ask {
        self.fixed.next(finished)
    }
}
