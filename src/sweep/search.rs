//! The recorded search: a [`Sampler`] proposing points one at a time (`kind = "tpe"`), or a
//! fixed grid or random plan, plus an optional [`Pruner`], every step of it recorded as
//! [`SearchEvent`]s (`search.jsonl`) and restored from them ([`Search::replay`]).
//!
//! One proposal is one point of `[sweep.params]`; it runs as one trial per model variant and
//! seed (keys a variant does not have are left out of its trials, as in a grid), in that
//! order, and each trial is one [`Observation`] for the sampler: the validation counterpart of
//! `[report] metric` (the metric itself without one) at the trial's last evaluation, oriented
//! so that lower is better. Trials are started in proposal order; a proposal is made only
//! when every trial of the earlier ones has started, from the trials finished by then in the
//! order they finished.

use super::log::{SearchEvent, decision_word};
use super::pruner::{self, Pruner};
use super::sampler::{Observation, Sampler};
use super::strategy::{Ask, Decision, Finished, Outcome, SearchStrategy};
use super::{Distribution, Plan, Point, Trial};
use crate::error::UserError;
use crate::spec::Experiment;
use crate::spec::pruner::PrunerSpec;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

/// Where new points come from in an adaptive search.
struct Proposer {
    exp: Experiment,
    sampler: Box<dyn Sampler>,
    /// The sweep's seed (the sampler's, and the redraw's of [`super::sampler::propose_unseen`]).
    seed: u64,
    space: Vec<(String, Distribution)>,
    /// The proposal budget (`trials`).
    budget: usize,
    /// Proposals made so far (replayed ones included).
    made: usize,
    /// No proposal after this instant (`timeout`, from the start of this run).
    deadline: Option<Instant>,
}

/// The pruner and what it judges.
struct Pruning {
    pruner: Box<dyn Pruner>,
    metric: String,
    /// `-1` when higher values are better, else `1` (values are oriented lower-is-better).
    sign: f64,
}

/// A search strategy that records its proposals and decisions (see the module docs).
pub struct Search {
    name: &'static str,
    plan: Plan,
    proposer: Option<Proposer>,
    pruning: Option<Pruning>,
    /// Trials to start, in order; built at the first [`SearchStrategy::ask`].
    queue: Option<VecDeque<usize>>,
    /// Each trial's proposal point (adaptive searches).
    points: Vec<Point>,
    /// Index of each trial id.
    index: HashMap<String, usize>,
    /// Decisions already taken (from the log or this run): (trial id, step) -> prune.
    decided: HashMap<(String, usize), bool>,
    /// Trials a decision pruned.
    pruned: HashSet<String>,
    /// Trials whose end the search has learnt.
    observed: HashSet<usize>,
    /// What the sampler sees, in the order trials finished.
    history: Vec<Observation>,
    /// The objective: metric and orientation.
    objective: (String, f64),
    /// Each running trial's last evaluation up to its prune decision: (step, metrics).
    evals: HashMap<usize, (usize, BTreeMap<String, f64>)>,
    events: Vec<SearchEvent>,
}

impl Search {
    fn new(name: &'static str, plan: Plan, exp: &Experiment) -> Self {
        let objective = exp.report.validation_metric().unwrap_or_else(|| exp.report.metric.clone());
        let sign = if exp.report.direction() == crate::spec::Direction::Max { -1.0 } else { 1.0 };
        let pruning = exp.pruner.as_ref().map(|p| pruning(p, &exp.name));
        let index = plan.trials.iter().map(|t| (t.id.clone(), t.index)).collect();
        Search {
            name,
            plan,
            proposer: None,
            pruning,
            queue: None,
            points: Vec::new(),
            index,
            decided: HashMap::new(),
            pruned: HashSet::new(),
            observed: HashSet::new(),
            history: Vec::new(),
            objective: (objective, sign),
            evals: HashMap::new(),
            events: Vec::new(),
        }
    }

    /// A fixed plan (grid or random draws) with `exp`'s pruner.
    pub fn fixed(name: &'static str, plan: Plan, exp: &Experiment) -> Self {
        let points = plan.trials.iter().map(|t| t.swept.clone().into_iter().collect()).collect();
        Search { points, ..Search::new(name, plan, exp) }
    }

    /// An adaptive search of `exp` (its `[sweep]` is `kind = "tpe"`) proposing with
    /// `sampler`; `timeout` counts from now.
    pub fn adaptive(exp: &Experiment, sampler: Box<dyn Sampler>) -> Self {
        let (budget, seed, space, timeout) = match &exp.sweep {
            Some(super::SweepSpec::Adaptive { trials, seed, params, timeout_s }) => {
                (*trials, *seed, params.clone(), *timeout_s)
            }
            _ => (0, 0, Vec::new(), None),
        };
        let plan = Plan {
            experiment: exp.name.clone(),
            swept_keys: space.iter().map(|(k, _)| k.clone()).collect(),
            report: exp.report.clone(),
            reference: exp.reference.clone(),
            trials: Vec::new(),
        };
        let deadline = timeout.map(|s| Instant::now() + Duration::from_secs(s));
        let proposer = Proposer { exp: exp.clone(), sampler, seed, space, budget, made: 0, deadline };
        Search { proposer: Some(proposer), ..Search::new(sampler_name(exp), plan, exp) }
    }

    /// What the sampler has seen so far, in order.
    pub fn history(&self) -> &[Observation] {
        &self.history
    }

    /// Adds the trials of proposal `number` at `point` to the plan; returns the proposal's
    /// event and the new trials' indices.
    fn add_proposal(&mut self, number: usize, point: Point) -> (SearchEvent, Vec<usize>) {
        let proposer = self.proposer.as_ref().expect("an adaptive search");
        let logged: BTreeMap<String, toml::Value> = point.iter().cloned().collect();
        let (mut ids, mut added) = (Vec::new(), Vec::new());
        let error = match super::point_trials(&proposer.exp, &point) {
            Ok(trials) => {
                for (label, swept, config) in trials {
                    let id = super::trial_id(&config);
                    ids.push(id.clone());
                    if self.index.contains_key(&id) {
                        continue;
                    }
                    let index = self.plan.trials.len();
                    self.index.insert(id.clone(), index);
                    self.plan.trials.push(Trial { index, id, label, swept: swept.into_iter().collect(), config });
                    self.points.push(point.clone());
                    added.push(index);
                }
                None
            }
            Err(e) => Some(e.to_string()),
        };
        (SearchEvent::Proposal { number, point: logged, trials: ids, error }, added)
    }

    /// The next proposal's first trial, proposing until one adds a trial; `None` when the
    /// budget or the time is spent.
    fn propose(&mut self) -> Option<usize> {
        loop {
            let p = self.proposer.as_mut()?;
            if p.made >= p.budget || p.deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            let number = p.made;
            p.made += 1;
            let point = super::sampler::propose_unseen(
                p.sampler.as_mut(),
                (p.seed, number),
                &p.space,
                &self.history,
                &self.points,
            );
            let (event, added) = self.add_proposal(number, point);
            self.events.push(event);
            if let Some((&first, rest)) = added.split_first() {
                self.queue.get_or_insert_with(VecDeque::new).extend(rest);
                return Some(first);
            }
        }
    }

    /// Learns that `f` ended: the sampler's history, the pruner, and a `finished` event.
    /// A failed or interrupted trial is no outcome: it runs again (and samplers, as Optuna's,
    /// learn nothing from it).
    fn observe(&mut self, f: &Finished, log: bool) {
        if f.outcome == Outcome::Failed || f.index >= self.plan.trials.len() || !self.observed.insert(f.index) {
            return;
        }
        let id = self.plan.trials[f.index].id.clone();
        // A pruned trial is observed at its prune decision, however far it ran before the
        // stop reached it: what the log records does not depend on that race.
        let (step, metrics) = match self.evals.remove(&f.index) {
            Some((step, metrics)) if f.outcome == Outcome::Pruned => (step, metrics),
            _ => (f.step, f.metrics.clone()),
        };
        let value = metrics.get(&self.objective.0).copied().filter(|v| !v.is_nan());
        self.learn(f.index, value, step, f.outcome);
        if log {
            self.events.push(SearchEvent::Finished { trial: id, outcome: f.outcome.name().to_string(), value, step });
        }
    }

    fn learn(&mut self, index: usize, value: Option<f64>, step: usize, outcome: Outcome) {
        if let Some(p) = &mut self.pruning {
            p.pruner.finish(&self.plan.trials[index].id, outcome == Outcome::Completed);
        }
        if self.proposer.is_some() {
            let point = self.points[index].clone();
            self.history.push(Observation { point, value: value.map(|v| v * self.objective.1), step, outcome });
        }
    }

    fn replay_one(&mut self, event: &SearchEvent) -> Result<(), UserError> {
        match event {
            SearchEvent::Proposal { number, point, trials, .. } => {
                let Some(p) = &self.proposer else { return Ok(()) };
                let point: Point = p
                    .space
                    .iter()
                    .filter_map(|(k, _)| point.get_key_value(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let (SearchEvent::Proposal { trials: now, .. }, _) = self.add_proposal(*number, point) else {
                    unreachable!("add_proposal returns a proposal")
                };
                if &now != trials {
                    return Err(UserError::new(format!(
                        "search.jsonl: proposal {number} ran trials {} but the experiment now makes them {}",
                        trials.join(", "),
                        now.join(", ")
                    ))
                    .help("the search space, models, seeds or training changed: give the experiment a new name, or rerun it with --force"));
                }
                let p = self.proposer.as_mut().expect("an adaptive search");
                p.made = p.made.max(number + 1);
            }
            SearchEvent::Report { trial, step, value, decision, .. } => {
                let prune = decision == "prune";
                if let Some(p) = &mut self.pruning {
                    p.pruner.report(trial, *step, value.map_or(f64::NAN, |v| v * p.sign));
                }
                self.decided.insert((trial.clone(), *step), prune);
                if prune {
                    self.pruned.insert(trial.clone());
                }
            }
            SearchEvent::Finished { trial, outcome, value, step } => {
                let Some(&index) = self.index.get(trial) else { return Ok(()) };
                if self.observed.insert(index) {
                    self.learn(index, *value, *step, Outcome::from_name(outcome));
                }
            }
        }
        Ok(())
    }
}

fn pruning(spec: &PrunerSpec, study: &str) -> Pruning {
    Pruning {
        pruner: pruner::build(spec, study),
        metric: spec.metric.clone(),
        sign: if spec.maximize { -1.0 } else { 1.0 },
    }
}

fn sampler_name(exp: &Experiment) -> &'static str {
    match &exp.sweep {
        Some(super::SweepSpec::Adaptive { .. }) => "tpe",
        _ => "search",
    }
}

impl SearchStrategy for Search {
    fn name(&self) -> &'static str {
        self.name
    }

    fn plan(&self) -> &Plan {
        &self.plan
    }

    fn is_fixed(&self) -> bool {
        self.proposer.is_none()
    }

    fn ask(&mut self, finished: &[Finished]) -> Ask {
        for f in finished {
            self.observe(f, true);
        }
        if self.queue.is_none() {
            let done: HashSet<usize> = finished.iter().map(|f| f.index).collect();
            self.queue = Some((0..self.plan.trials.len()).filter(|i| !done.contains(i)).collect());
        }
        let expired = self.proposer.as_ref().and_then(|p| p.deadline).is_some_and(|d| Instant::now() >= d);
        if expired {
            return Ask::Done;
        }
        match self.queue.as_mut().and_then(VecDeque::pop_front).or_else(|| self.propose()) {
            Some(i) => Ask::Start(i),
            None => Ask::Done,
        }
    }

    fn on_eval(&mut self, index: usize, step: usize, metrics: &BTreeMap<String, f64>) -> Decision {
        let Some(p) = &mut self.pruning else { return Decision::Continue };
        let id = &self.plan.trials[index].id;
        if !self.pruned.contains(id) {
            self.evals.insert(index, (step, metrics.clone()));
        }
        // At the last step there is nothing left to save: the trial completes.
        let last = step >= self.plan.trials[index].config.training.steps;
        let key = (id.clone(), step);
        let prune = match self.decided.get(&key) {
            Some(&prune) => prune,
            // A trial pruned before the runner recorded it: stop it again, deciding nothing.
            None if self.pruned.contains(id) => true,
            None => {
                let Some(&value) = metrics.get(&p.metric) else { return Decision::Continue };
                let mut verdict = p.pruner.report(id, step, value * p.sign);
                verdict.prune &= !last;
                self.events.push(SearchEvent::Report {
                    trial: id.clone(),
                    step,
                    metric: p.metric.clone(),
                    value: Some(value).filter(|v| !v.is_nan()),
                    rung: verdict.rung,
                    decision: decision_word(verdict.prune).to_string(),
                    basis: verdict.basis.iter().map(|v| v * p.sign).collect(),
                });
                self.decided.insert(key, verdict.prune);
                if verdict.prune {
                    self.pruned.insert(id.clone());
                }
                verdict.prune
            }
        };
        if prune { Decision::Stop } else { Decision::Continue }
    }

    fn on_finish(&mut self, finished: &Finished) {
        self.observe(finished, true);
    }

    fn replay(&mut self, events: &[SearchEvent]) -> Result<(), UserError> {
        for e in events {
            self.replay_one(e)?;
        }
        Ok(())
    }

    fn take_events(&mut self) -> Vec<SearchEvent> {
        std::mem::take(&mut self.events)
    }
}
