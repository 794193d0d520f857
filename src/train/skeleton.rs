//! The one training loop every trainer runs through.

use super::checkpoint::{self, Files, Saved};
use super::{Decision, FitOutcome, FitStatus, Hooks, Metrics, Observer, StepLosses, TrainStep, TrainingSpec, diverged};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Runs `step` for `cfg.steps` optimisation steps, reporting to `obs`.
///
/// Per step, in order: stop if `obs.should_stop()` (status `Interrupted` after the steps
/// done); make the step at the schedule's factor; stop at a non-finite loss (status `Diverged`
/// at that step, its loss reported through `on_train_loss`, the step not counted); every
/// `log_every` steps report the mean loss since the last report; every `eval_every` steps and
/// after the last one, evaluate: the step's metrics (validation split, else test split) plus
/// the mean training losses since the last evaluation (`train.loss` and the step's extra
/// losses) go to `on_eval`. A non-finite metric stops the run as `Diverged` at that step.
/// Otherwise, with [`Hooks::select_best`], an evaluation better than every earlier one
/// ([`super::Selection`]) becomes the best and the step keeps its weights
/// ([`TrainStep::keep_best`]); every `histogram_every`-th evaluation (0: never) sends the
/// step's weights to `on_weights`, the checkpointer may save, and the evaluation hook may stop
/// the run (status `Stopped`, unless it was the last step).
///
/// Checkpoints: the loop takes its checkpointer from `obs` ([`Observer::checkpointer`]; else
/// `hooks.checkpoint`). When it hands back a checkpoint, the step, the loop's state and the
/// evaluation hook's state are restored from it and the run goes on after its step. After each
/// step that is a boundary ([`super::Checkpointer::due`]) of a run that goes on, the step's
/// state ([`TrainStep::checkpoint`]), the loop's (`loop.json`) and the observer's files are
/// saved when the checkpointer wants this boundary ([`super::Checkpointer::wants`]: always
/// when a stop is pending), then the device is reseeded ([`super::Checkpointer::reseed`]),
/// written or not; the run then ends as `Interrupted`, once the checkpoint is written, when
/// [`Observer::stop_after_checkpoint`] says so. Every checkpoint is written before the loop
/// returns ([`super::Checkpointer::flush`]). A checkpoint that cannot be saved or restored
/// goes to [`Observer::on_error`] and ends the run as `Interrupted`.
///
/// After a run that completed or was stopped (not one that diverged or was interrupted), the
/// test split is evaluated once ([`TrainStep::test`], on the best weights when selecting the
/// best) and its metrics go to `on_test` at the last step done. The outcome's final metrics
/// are the selected evaluation's (the best, else the last finite one) plus those test metrics.
///
/// `seconds` in the outcome is the time spent in this loop, evaluations included.
pub fn run_loop<S: TrainStep + ?Sized>(
    step: &mut S,
    cfg: &TrainingSpec,
    hooks: &mut Hooks,
    obs: &mut dyn Observer,
) -> FitOutcome {
    let start = Instant::now();
    if let Some(checkpointer) = obs.checkpointer() {
        hooks.checkpoint = checkpointer;
    }
    let mut run = Run { tally: Tally::default(), last: None, best: None, evals: 0 };
    let mut status = FitStatus::Completed;
    let mut done = 0;
    if let Some(saved) = hooks.checkpoint.resume() {
        if let Err(e) = run.restore(step, hooks, &saved) {
            obs.on_error(e);
            let (steps, num_params) = (saved.step, step.num_params());
            let (final_metrics, selected_step, seconds) = (Metrics::new(), None, 0.0);
            let status = FitStatus::Interrupted(steps);
            return FitOutcome { status, steps, final_metrics, selected_step, seconds, num_params };
        }
        done = saved.step;
        hooks.checkpoint.reseed(done);
    }
    for t in done + 1..=cfg.steps {
        if obs.should_stop() {
            status = FitStatus::Interrupted(done);
            break;
        }
        let losses = step.step(t, hooks.schedule.scale(t));
        if !losses.is_finite() {
            status = FitStatus::Diverged(t);
            obs.on_train_loss(t, losses.loss);
            break;
        }
        done = t;
        run.tally.add(&losses);
        if t % cfg.log_every == 0 {
            obs.on_train_loss(t, run.tally.take_window());
        }
        let due = t % cfg.eval_every == 0 || t == cfg.steps;
        if due && let Some(end) = run.evaluate(step, t, cfg, hooks, obs) {
            status = end;
            break;
        }
        if t < cfg.steps && hooks.checkpoint.due(t) {
            let stop = obs.stop_after_checkpoint();
            if let Err(e) = run.boundary(step, t, stop, hooks, obs) {
                obs.on_error(e);
                status = FitStatus::Interrupted(t);
                break;
            }
            if stop {
                status = FitStatus::Interrupted(t);
                break;
            }
        }
    }
    if let Err(e) = hooks.checkpoint.flush() {
        obs.on_error(e);
        status = FitStatus::Interrupted(done);
    }
    let (selected_step, mut final_metrics) = run.selected();
    if matches!(status, FitStatus::Completed | FitStatus::Stopped(_)) {
        let test = step.test(run.best.is_some(), obs);
        if !test.is_empty() {
            obs.on_test(done, &test);
            final_metrics.extend(test);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    FitOutcome { status, steps: done, final_metrics, selected_step, seconds, num_params: step.num_params() }
}

/// What the loop carries across steps besides the counter.
struct Run {
    tally: Tally,
    /// The last finite evaluation: its step and metrics.
    last: Option<(usize, Metrics)>,
    /// With a selection: the best evaluation so far, its value, step and metrics.
    best: Option<(f64, usize, Metrics)>,
    evals: usize,
}

impl Run {
    /// The evaluation after step `t`; returns the status to end the run with, if it ends here.
    fn evaluate<S: TrainStep + ?Sized>(
        &mut self,
        step: &mut S,
        t: usize,
        cfg: &TrainingSpec,
        hooks: &mut Hooks,
        obs: &mut dyn Observer,
    ) -> Option<FitStatus> {
        let mut metrics = step.evaluate(t, obs);
        self.tally.take_eval(&mut metrics);
        obs.on_eval(t, &metrics);
        if diverged(&metrics) {
            return Some(FitStatus::Diverged(t));
        }
        self.evals += 1;
        if let Some(sel) = &hooks.select_best
            && let Some(value) = sel.value(&metrics)
            && self.best.as_ref().is_none_or(|b| sel.better(value, b.0))
        {
            step.keep_best();
            self.best = Some((value, t, metrics.clone()));
        }
        if cfg.histogram_every > 0
            && self.evals.is_multiple_of(cfg.histogram_every)
            && let Some(weights) = step.weights()
        {
            obs.on_weights(t, &weights);
        }
        let decision = hooks.on_eval.on_eval(t, &metrics);
        self.last = Some((t, metrics));
        (decision == Decision::Stop && t < cfg.steps).then_some(FitStatus::Stopped(t))
    }

    /// The checkpoint boundary after step `t`: saves the checkpoint when the checkpointer
    /// wants it (always when `stop` or a stop request is pending, and then waits until it is
    /// written), then reseeds the device.
    fn boundary<S: TrainStep + ?Sized>(
        &self,
        step: &S,
        t: usize,
        stop: bool,
        hooks: &mut Hooks,
        obs: &dyn Observer,
    ) -> Result<()> {
        if hooks.checkpoint.wants(t, stop || obs.should_stop())? {
            self.checkpoint(step, t, hooks, obs)?;
        }
        if stop {
            hooks.checkpoint.flush()?;
        }
        hooks.checkpoint.reseed(t);
        Ok(())
    }

    /// Saves the checkpoint of step `t`: the step's files, `loop.json` and the observer's
    /// files (nothing when the step does not support checkpoints).
    fn checkpoint<S: TrainStep + ?Sized>(
        &self,
        step: &S,
        t: usize,
        hooks: &mut Hooks,
        obs: &dyn Observer,
    ) -> Result<()> {
        let state = step.checkpoint().map_err(|e| anyhow::anyhow!("checkpoint at step {t}: {e}"))?;
        if state.is_empty() {
            return Ok(());
        }
        let mut files: Files = state.into_iter().collect();
        let state = self.state(t, &hooks.on_eval.state());
        files.insert(LOOP_FILE.into(), checkpoint::json_bytes(&state).map_err(|e| anyhow::anyhow!("{e}"))?);
        files.extend(obs.checkpoint_files());
        hooks.checkpoint.save(t, self.best.as_ref().map(|b| b.1), files)
    }

    /// Restores the loop, the step and the evaluation hook from `saved`.
    fn restore<S: TrainStep + ?Sized>(&mut self, step: &mut S, hooks: &mut Hooks, saved: &Saved) -> Result<()> {
        let fail = |e: String| {
            let help = "`burnlab run --force` starts the trial over";
            Error::from(anyhow::anyhow!("resuming from the checkpoint of step {}: {e} ({help})", saved.step))
        };
        let state: LoopState = checkpoint::json_file(&saved.files, LOOP_FILE).map_err(fail)?;
        step.restore(&saved.files).map_err(fail)?;
        let f = f64::from_bits;
        self.tally = Tally {
            window: f(state.window),
            window_n: state.window_n,
            loss: f(state.loss),
            extra: state.extra.iter().map(|(n, v)| (n.clone(), f(*v))).collect(),
            since_eval: state.since_eval,
        };
        self.last = state.last.map(|(t, m)| (t, unbits(&m)));
        self.best = state.best.map(|(v, t, m)| (f(v), t, unbits(&m)));
        self.evals = state.evals;
        hooks.on_eval.restore(&state.eval_hook.iter().map(|b| f(*b)).collect::<Vec<_>>());
        Ok(())
    }

    /// The loop's state after step `t`, floats as bits.
    fn state(&self, t: usize, eval_hook: &[f64]) -> LoopState {
        LoopState {
            step: t,
            evals: self.evals,
            window: self.tally.window.to_bits(),
            window_n: self.tally.window_n,
            loss: self.tally.loss.to_bits(),
            since_eval: self.tally.since_eval,
            extra: self.tally.extra.iter().map(|(n, v)| (n.clone(), v.to_bits())).collect(),
            last: self.last.as_ref().map(|(t, m)| (*t, bits(m))),
            best: self.best.as_ref().map(|(v, t, m)| (v.to_bits(), *t, bits(m))),
            eval_hook: eval_hook.iter().map(|v| v.to_bits()).collect(),
        }
    }

    /// The selected evaluation's step and metrics: the best one, else the last finite one.
    fn selected(&self) -> (Option<usize>, Metrics) {
        match (&self.best, &self.last) {
            (Some((_, t, m)), _) | (None, Some((t, m))) => (Some(*t), m.clone()),
            (None, None) => (None, Metrics::new()),
        }
    }
}

/// The loop's file in a checkpoint.
const LOOP_FILE: &str = "loop.json";

/// The loop's state in a checkpoint (`loop.json`): every float as its IEEE bit pattern, so
/// that it reads back exactly.
#[derive(Serialize, Deserialize)]
struct LoopState {
    step: usize,
    evals: usize,
    window: u64,
    window_n: usize,
    loss: u64,
    since_eval: usize,
    extra: Bits,
    last: Option<(usize, Bits)>,
    best: Option<(u64, usize, Bits)>,
    eval_hook: Vec<u64>,
}

/// Named floats as their bit patterns.
type Bits = Vec<(String, u64)>;

fn bits(m: &Metrics) -> Bits {
    m.iter().map(|(k, v)| (k.clone(), v.to_bits())).collect()
}

fn unbits(m: &[(String, u64)]) -> Metrics {
    m.iter().map(|(k, v)| (k.clone(), f64::from_bits(*v))).collect()
}

/// Running sums of the losses: the main loss over the logging window, every loss since the
/// last evaluation.
#[derive(Default)]
struct Tally {
    window: f64,
    window_n: usize,
    loss: f64,
    extra: Vec<(String, f64)>,
    since_eval: usize,
}

impl Tally {
    /// Adds one step's losses.
    fn add(&mut self, losses: &StepLosses) {
        self.window += losses.loss;
        self.window_n += 1;
        self.loss += losses.loss;
        for &(name, value) in &losses.extra {
            let at = self.extra.iter().position(|(n, _)| n == name).unwrap_or_else(|| {
                self.extra.push((name.to_string(), 0.0));
                self.extra.len() - 1
            });
            self.extra[at].1 += value;
        }
        self.since_eval += 1;
    }

    /// The mean loss over the logging window, which starts anew.
    fn take_window(&mut self) -> f64 {
        let mean = self.window / self.window_n as f64;
        (self.window, self.window_n) = (0.0, 0);
        mean
    }

    /// Records the mean losses since the last evaluation in `m` (`train.loss` and the extra
    /// losses' names) and starts anew.
    fn take_eval(&mut self, m: &mut Metrics) {
        let n = self.since_eval.max(1) as f64;
        m.insert("train.loss".into(), self.loss / n);
        for (name, sum) in &mut self.extra {
            m.insert(name.clone(), *sum / n);
            *sum = 0.0;
        }
        (self.loss, self.since_eval) = (0.0, 0);
    }
}

#[cfg(test)]
mod tests;
