//! The search loop both executors share: asking the strategy for the next trial, handing it
//! each evaluation and each outcome, and recording every proposal, decision and outcome in
//! `search.jsonl` before the executor acts on it. The local runner (`runner::execute`) and
//! the Slurm driver (`runner::slurm::driver`) differ only in how they start a trial, learn
//! its evaluations and deliver a stop; the order of the calls, and so the search, is the same.

use super::search_log;
use crate::error::Result;
use crate::fsutil::write_json_atomic;
use crate::results::{TrialStatus, TrialSummary, paths};
use crate::sweep::{Ask, Decision, Finished, SearchStrategy};
use std::collections::BTreeMap;
use std::path::Path;

/// The state of a sweep's search loop in results directory `dir`.
pub(crate) struct SearchLoop<'a> {
    /// The results directory.
    pub dir: &'a Path,
    /// Trials in `plan.json` (a strategy that adds trials makes it grow).
    pub planned: usize,
    /// Every finished trial (earlier runs' first), for [`SearchStrategy::ask`].
    pub finished: Vec<Finished>,
    /// Count per final status of the trials run now.
    pub counts: BTreeMap<String, usize>,
    /// The strategy said [`Ask::Done`].
    pub exhausted: bool,
}

impl<'a> SearchLoop<'a> {
    /// A loop over `strategy`'s plan in `dir`, after the trials of `history` (earlier runs).
    pub fn new(dir: &'a Path, strategy: &dyn SearchStrategy, history: Vec<Finished>) -> Self {
        let planned = strategy.plan().trials.len();
        SearchLoop { dir, planned, finished: history, counts: BTreeMap::new(), exhausted: false }
    }

    /// Asks the strategy for a trial to start: its index, once the proposal is in
    /// `search.jsonl` and a trial it added is in `plan.json` (the workers' contract); `None`
    /// for [`Ask::Wait`] and [`Ask::Done`] (then [`Self::exhausted`]).
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn next(&mut self, strategy: &mut dyn SearchStrategy) -> Result<Option<usize>> {
        let answer = strategy.ask(&self.finished);
        // Whatever the answer, what the strategy learnt asking (the outcomes of trials that
        // finished while no runner watched them) goes to the log: the last ask of a sweep
        // answers Done.
        search_log::append(self.dir, &strategy.take_events())?;
        let index = match answer {
            Ask::Start(index) => index,
            Ask::Wait => return Ok(None),
            Ask::Done => {
                self.exhausted = true;
                return Ok(None);
            }
        };
        if strategy.plan().trials.len() != self.planned {
            write_json_atomic(&paths::plan(self.dir), strategy.plan())?;
            self.planned = strategy.plan().trials.len();
        }
        Ok(Some(index))
    }

    /// Hands trial `index`'s evaluation at `step` to the strategy; returns its decision once
    /// it is in `search.jsonl`.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn evaluated(
        &mut self,
        strategy: &mut dyn SearchStrategy,
        index: usize,
        step: usize,
        metrics: &BTreeMap<String, f64>,
    ) -> Result<Decision> {
        let decision = strategy.on_eval(index, step, metrics);
        search_log::append(self.dir, &strategy.take_events())?;
        Ok(decision)
    }

    /// Records that a trial ended with `summary`: counted, and, when its status is final,
    /// told to the strategy and logged (a trial that ended by a stop or failed runs again:
    /// not an outcome).
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn ended(&mut self, strategy: &mut dyn SearchStrategy, summary: &TrialSummary) -> Result<()> {
        *self.counts.entry(summary.status.name().to_string()).or_default() += 1;
        let finished = summary.finished();
        if summary.status.is_final() {
            strategy.on_finish(&finished);
            search_log::append(self.dir, &strategy.take_events())?;
        }
        self.finished.push(finished);
        Ok(())
    }
}

/// Records a trial the strategy stopped as `pruned` in its directory `tdir`, also when it
/// reached its last step before the stop did (its status must not depend on that race) or
/// recorded itself as interrupted; other statuses stay.
///
/// # Errors
/// An I/O error naming the file.
pub(crate) fn settle_pruned(tdir: &Path, summary: &mut TrialSummary, pruned: bool) -> Result<()> {
    if pruned && matches!(summary.status, TrialStatus::Interrupted | TrialStatus::Completed) {
        summary.status = TrialStatus::Pruned;
        summary.error = None;
        summary.write(tdir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Experiment;

    fn tpe_asha() -> Experiment {
        let text = concat!(
            "name = \"t\"\n[dataset]\nname = \"mnist1d\"\n[training]\nsteps = 16\neval_every = 4\n",
            "[[models]]\nfamily = \"mlp\"\n[sweep]\nkind = \"tpe\"\ntrials = 3\nseed = 1\n",
            "pruner = { kind = \"asha\", min_steps = 4, reduction_factor = 2 }\n",
            "[sweep.params]\n\"training.lr\" = { log_uniform = [1e-4, 1e-1] }\n",
        );
        Experiment::from_source(crate::spec::Source::from_text("t.toml", text), vec![]).unwrap()
    }

    #[test]
    fn a_proposal_is_logged_and_planned_before_its_index_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        let exp = tpe_asha();
        let mut s = crate::sweep::strategy(&exp).unwrap();
        let mut lp = SearchLoop::new(dir.path(), s.as_ref(), Vec::new());
        assert_eq!(lp.next(s.as_mut()).unwrap(), Some(0));
        let plan: crate::sweep::Plan = crate::fsutil::read_json(&paths::plan(dir.path())).unwrap();
        assert_eq!(plan.trials.len(), 1);
        let log = search_log::read(dir.path()).unwrap();
        assert_eq!(log.len(), 1);
        assert!(
            matches!(&log[0], crate::sweep::SearchEvent::Proposal { number: 0, trials, .. } if trials == &[plan.trials[0].id.clone()])
        );
        // The first evaluation is a rung: decided and logged once, the same answer again.
        let m = BTreeMap::from([("valid.accuracy".to_string(), 0.3)]);
        assert_eq!(lp.evaluated(s.as_mut(), 0, 4, &m).unwrap(), Decision::Continue);
        assert_eq!(lp.evaluated(s.as_mut(), 0, 4, &m).unwrap(), Decision::Continue);
        assert_eq!(search_log::read(dir.path()).unwrap().len(), 2);
        // A final outcome is told and logged; an interrupted one is counted only.
        let trial = &plan.trials[0];
        let done = TrialSummary { steps: 16, ..TrialSummary::blank("t", trial, TrialStatus::Completed) };
        lp.ended(s.as_mut(), &done).unwrap();
        assert_eq!(search_log::read(dir.path()).unwrap().len(), 3);
        let cut = TrialSummary::blank("t", trial, TrialStatus::Interrupted);
        lp.ended(s.as_mut(), &cut).unwrap();
        assert_eq!(search_log::read(dir.path()).unwrap().len(), 3);
        assert_eq!(lp.counts, BTreeMap::from([("completed".into(), 1), ("interrupted".into(), 1)]));
    }

    #[test]
    fn outcomes_learnt_by_the_last_ask_are_logged_though_it_answers_done() {
        let dir = tempfile::tempdir().unwrap();
        let exp = tpe_asha();
        let mut s = crate::sweep::strategy(&exp).unwrap();
        let mut lp = SearchLoop::new(dir.path(), s.as_ref(), Vec::new());
        for _ in 0..3 {
            lp.next(s.as_mut()).unwrap();
        }
        let plan = s.plan().clone();
        // The three trials finished while no runner watched: the next run's history.
        let history: Vec<Finished> = plan
            .trials
            .iter()
            .map(|t| TrialSummary { steps: 16, ..TrialSummary::blank("t", t, TrialStatus::Completed) }.finished())
            .collect();
        let mut s = crate::sweep::strategy(&exp).unwrap();
        s.replay(&search_log::read(dir.path()).unwrap()).unwrap();
        let mut lp = SearchLoop::new(dir.path(), s.as_ref(), history);
        assert_eq!(lp.next(s.as_mut()).unwrap(), None);
        assert!(lp.exhausted, "the budget of 3 proposals is spent");
        let finished = search_log::read(dir.path())
            .unwrap()
            .into_iter()
            .filter(|e| matches!(e, crate::sweep::SearchEvent::Finished { .. }))
            .count();
        assert_eq!(finished, 3);
    }

    #[test]
    fn a_stopped_trial_is_pruned_whether_it_was_interrupted_or_reached_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let text = "name = \"t\"\n[dataset]\nname = \"mnist1d\"\n[[models]]\nfamily = \"linear\"\n";
        let exp = Experiment::from_source(crate::spec::Source::from_text("t.toml", text), vec![]).unwrap();
        let trial = crate::sweep::expand(&exp).unwrap().trials[0].clone();
        for status in [TrialStatus::Interrupted, TrialStatus::Completed] {
            let mut s = TrialSummary::blank("t", &trial, status);
            settle_pruned(dir.path(), &mut s, true).unwrap();
            assert_eq!(s.status, TrialStatus::Pruned);
            assert_eq!(TrialSummary::read(dir.path()).unwrap().unwrap().status, TrialStatus::Pruned);
        }
        let mut s = TrialSummary::blank("t", &trial, TrialStatus::Diverged);
        settle_pruned(dir.path(), &mut s, true).unwrap();
        assert_eq!(s.status, TrialStatus::Diverged, "a diverged trial stays diverged");
        let mut s = TrialSummary::blank("t", &trial, TrialStatus::Interrupted);
        settle_pruned(dir.path(), &mut s, false).unwrap();
        assert_eq!(s.status, TrialStatus::Interrupted);
    }
}
