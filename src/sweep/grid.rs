//! Grid search: every combination of the listed values, the whole plan up front.

use super::strategy::{Ask, Finished, FixedPlan, SearchStrategy};
use super::{Plan, Point};
use crate::error::UserError;
use crate::spec::Experiment;

/// The points of a grid, in plan order: the product of each key's values, keys in the
/// (sorted) order given, the last key varying fastest.
pub fn points(grid: &[(String, Vec<toml::Value>)]) -> Vec<Point> {
    let mut points = vec![Vec::new()];
    for (key, values) in grid {
        points = points
            .into_iter()
            .flat_map(|p: Point| {
                values.iter().map(move |v| {
                    let mut p = p.clone();
                    p.push((key.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    points
}

/// Grid search (also an experiment without `[sweep]`: one point): runs every planned trial
/// once, in plan order, and stops none early.
#[derive(Debug, Clone)]
pub struct Grid(FixedPlan);

impl Grid {
    /// Plans `exp`'s grid ([`super::expand`]).
    ///
    /// # Errors
    /// The first invalid trial, located at its sweep value.
    pub fn new(exp: &Experiment) -> Result<Self, UserError> {
        Ok(Grid(FixedPlan::new(super::expand(exp)?)))
    }
}

impl SearchStrategy for Grid {
    fn name(&self) -> &'static str {
        "grid"
    }
    fn plan(&self) -> &Plan {
        &self.0.plan
    }
    fn is_fixed(&self) -> bool {
        true
    }
    fn ask(&mut self, finished: &[Finished]) -> Ask {
        self.0.next(finished)
    }
}
