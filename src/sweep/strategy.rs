//! The search-strategy seam: what to run next, and whether a running trial goes on.
//!
//! Modelled on Optuna's samplers and pruners and on Ray Tune's `Searcher` and
//! `TrialScheduler`. The local runner drives a sweep through [`SearchStrategy`]: whenever a
//! slot is free it [asks](SearchStrategy::ask) for a trial, giving every trial finished so
//! far; it forwards each evaluation of a running trial to
//! [`on_eval`](SearchStrategy::on_eval) and stops the trial when told to
//! ([`Decision::Stop`], recorded as `pruned`). Grid and random search ([`super::grid`],
//! [`super::random`]) fix their whole plan up front and stop nothing; an adaptive strategy
//! (successive halving, TPE) is one file implementing this trait, plus its
//! `kind` in the `[sweep]` section (`spec/sweep.rs`) and one arm in `super::strategy`.
//!
//! The decision is [`crate::train::Decision`], the one the training loop's evaluation hook
//! returns: there a trial stops itself (early stopping, recorded `completed` with the step it
//! stopped at); here the runner stops it from outside (recorded `pruned`).

use super::Plan;
pub use super::log::SearchEvent;
use std::collections::{BTreeMap, VecDeque};

/// How a finished trial ended, as a strategy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Trained for every step.
    Completed,
    /// The loss became NaN or infinite.
    Diverged,
    /// Stopped early by the strategy ([`Decision::Stop`]).
    Pruned,
    /// Failed or interrupted: no result.
    Failed,
}

impl Outcome {
    /// Lower-case name, as in `search.jsonl`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Diverged => "diverged",
            Outcome::Pruned => "pruned",
            Outcome::Failed => "failed",
        }
    }

    /// The outcome named `name` ([`Outcome::Failed`] for any other name).
    pub fn from_name(name: &str) -> Self {
        [Outcome::Completed, Outcome::Diverged, Outcome::Pruned]
            .into_iter()
            .find(|o| o.name() == name)
            .unwrap_or(Outcome::Failed)
    }
}

/// A trial that has ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    /// Its index in the plan.
    pub index: usize,
    /// How it ended.
    pub outcome: Outcome,
    /// Its last evaluation's metrics (`test.accuracy`, ...; empty when it has none).
    pub metrics: BTreeMap<String, f64>,
    /// The training steps it ran.
    pub step: usize,
}

/// A strategy's answer when the runner has a free slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Start the trial at this index of [`SearchStrategy::plan`] (an index past the trials
    /// the runner knows is a trial the strategy has just added to its plan).
    Start(usize),
    /// Nothing to start until a running trial finishes.
    Wait,
    /// The sweep has nothing more to run.
    Done,
}

pub use crate::train::Decision;

/// A search strategy: proposes trials given the finished ones and decides, at each
/// evaluation of a running trial, whether it goes on.
pub trait SearchStrategy {
    /// The strategy's name (`grid`, `random`).
    fn name(&self) -> &'static str;

    /// The trials proposed so far, in index order: for a fixed strategy the whole plan.
    fn plan(&self) -> &Plan;

    /// Whether [`plan`](SearchStrategy::plan) is the whole sweep before anything runs. The
    /// Slurm executor submits the whole plan as one job array, so it requires this.
    fn is_fixed(&self) -> bool;

    /// The next trial to start, given every trial finished so far (those finished in earlier
    /// runs of the results directory first, which a resumed sweep must not run again).
    fn ask(&mut self, finished: &[Finished]) -> Ask;

    /// Called after each evaluation of the running trial `index` at `step` (training steps
    /// done) with its metrics (`test.accuracy`, ...). The default lets every trial finish.
    fn on_eval(&mut self, index: usize, step: usize, metrics: &BTreeMap<String, f64>) -> Decision {
        let _ = (index, step, metrics);
        Decision::Continue
    }

    /// Called when a trial started in this run has ended (before the next
    /// [`ask`](SearchStrategy::ask), which also lists it). The default does nothing.
    fn on_finish(&mut self, finished: &Finished) {
        let _ = finished;
    }

    /// Restores the strategy from the events of an earlier run's `search.jsonl`, before
    /// anything is asked. The default (a strategy that records nothing) ignores them.
    ///
    /// # Errors
    /// A log that does not fit this experiment (a proposal whose trials differ now).
    fn replay(&mut self, events: &[SearchEvent]) -> Result<(), crate::error::UserError> {
        let _ = events;
        Ok(())
    }

    /// The events since the last call, for the runner to append to `search.jsonl` (fsynced)
    /// before it acts on them: proposals after [`ask`](SearchStrategy::ask), decisions after
    /// [`on_eval`](SearchStrategy::on_eval), outcomes after
    /// [`on_finish`](SearchStrategy::on_finish). The default records nothing.
    fn take_events(&mut self) -> Vec<SearchEvent> {
        Vec::new()
    }
}

/// A plan fixed up front, handed out in index order: what grid and random search share.
#[derive(Debug, Clone)]
pub struct FixedPlan {
    /// The whole plan.
    pub plan: Plan,
    /// The indices not handed out yet; `None` before the first [`FixedPlan::next`].
    queue: Option<VecDeque<usize>>,
}

impl FixedPlan {
    /// Hands out `plan`'s trials in order.
    pub fn new(plan: Plan) -> Self {
        FixedPlan { plan, queue: None }
    }

    /// The next trial in plan order that is not among `finished` at the first call (the
    /// trials a resumed sweep has already run), or [`Ask::Done`].
    pub fn next(&mut self, finished: &[Finished]) -> Ask {
        let n = self.plan.trials.len();
        let queue = self.queue.get_or_insert_with(|| {
            let mut done = vec![false; n];
            for f in finished.iter().filter(|f| f.index < n) {
                done[f.index] = true;
            }
            (0..n).filter(|&i| !done[i]).collect()
        });
        queue.pop_front().map_or(Ask::Done, Ask::Start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(n: usize) -> Plan {
        let exp = crate::spec::Experiment::from_source(
            crate::spec::Source::from_text(
                "t.toml",
                format!(
                    "name = \"t\"\nseeds = {:?}\n[dataset]\nname = \"mnist1d\"\n[[models]]\nfamily = \"linear\"\n",
                    (0..n).collect::<Vec<_>>()
                ),
            ),
            vec![],
        )
        .unwrap();
        super::super::expand(&exp).unwrap()
    }

    #[test]
    fn nested_training_keys_are_swept_into_each_trial_s_config() {
        let text = "name = \"t\"\nseeds = [0]\n[dataset]\nname = \"mnist1d\"\n[training]\nsteps = 50\n\
            lr_schedule = { kind = \"cosine\", warmup_steps = 5 }\n[[models]]\nfamily = \"linear\"\n\
            [sweep.params]\n\"training.lr_schedule.warmup_steps\" = [5, 10]\n\"training.accumulate\" = [1, 2]\n";
        let set = crate::spec::Override::parse("training.lr_schedule.kind=linear").unwrap();
        let exp =
            crate::spec::Experiment::from_source(crate::spec::Source::from_text("t.toml", text), vec![set]).unwrap();
        let plan = super::super::expand(&exp).unwrap();
        let mut got: Vec<(usize, usize)> = plan
            .trials
            .iter()
            .map(|t| {
                let schedule = t.config.training.lr_schedule.as_ref().unwrap();
                assert_eq!(schedule.kind, crate::train::ScheduleKind::Linear);
                (schedule.warmup_steps, t.config.training.accumulate)
            })
            .collect();
        got.sort();
        assert_eq!(got, [(5, 1), (5, 2), (10, 1), (10, 2)]);
    }

    #[test]
    fn a_fixed_plan_skips_what_finished_before_and_ends() {
        let mut f = FixedPlan::new(plan(4));
        let before = [Finished { index: 1, outcome: Outcome::Completed, metrics: BTreeMap::new(), step: 0 }];
        assert_eq!(f.next(&before), Ask::Start(0));
        assert_eq!(f.next(&before), Ask::Start(2));
        assert_eq!(f.next(&[]), Ask::Start(3));
        assert_eq!(f.next(&[]), Ask::Done);
    }
}
