//! The loop skeleton driven by a fake step: cadences, divergence, interruption, histograms
//! and the hooks.

use super::super::{Checkpointer, Decision, EvalHook, LrSchedule, NullObserver, Selection};
use super::*;

/// A step whose loss at step `t` is `loss(t)` and whose evaluation at `t` is `{test.m: t}`
/// (or NaN at `nan_metric_at`); it records the learning-rate factors it was given.
///
/// With `valid = Some(f)` it has a separate test split: its evaluation at `t` is
/// `{valid.m: f(t)}`, its weights are the count of steps taken (`taken`), `keep_best` keeps
/// that count, and `test(best)` returns `{test.w: kept or current count}`.
struct Fake {
    loss: fn(usize) -> f64,
    d_loss: Option<fn(usize) -> f64>,
    nan_metric_at: Option<usize>,
    weights: bool,
    scales: Vec<f64>,
    taken: usize,
    valid: Option<fn(usize) -> f64>,
    kept: Option<usize>,
    tests: usize,
}

impl Fake {
    fn new(loss: fn(usize) -> f64) -> Self {
        let (valid, kept, tests) = (None, None, 0);
        Fake {
            loss,
            d_loss: None,
            nan_metric_at: None,
            weights: false,
            scales: Vec::new(),
            taken: 0,
            valid,
            kept,
            tests,
        }
    }
}

impl TrainStep for Fake {
    fn num_params(&self) -> usize {
        7
    }

    fn step(&mut self, step: usize, lr_scale: f64) -> StepLosses {
        self.scales.push(lr_scale);
        let mut losses = StepLosses::new((self.loss)(step));
        if let Some(d) = self.d_loss {
            losses.extra.push(("train.d_loss", d(step)));
        }
        if losses.is_finite() {
            self.taken += 1;
        }
        losses
    }

    fn evaluate(&mut self, step: usize, obs: &mut dyn Observer) -> Metrics {
        obs.on_file("eval.txt", step.to_string().as_bytes());
        let v = if self.nan_metric_at == Some(step) { f64::NAN } else { step as f64 };
        match self.valid {
            Some(f) => Metrics::from([("valid.m".to_string(), if v.is_nan() { v } else { f(step) })]),
            None => Metrics::from([("test.m".to_string(), v)]),
        }
    }

    fn keep_best(&mut self) {
        self.kept = Some(self.taken);
    }

    fn test(&mut self, best: bool, _obs: &mut dyn Observer) -> Metrics {
        if self.valid.is_none() {
            return Metrics::new();
        }
        self.tests += 1;
        let w = if best { self.kept.unwrap_or(self.taken) } else { self.taken };
        Metrics::from([("test.w".to_string(), w as f64)])
    }

    fn weights(&self) -> Option<Vec<(String, Vec<f32>)>> {
        self.weights.then(|| vec![("w".to_string(), vec![self.taken as f32])])
    }

    fn checkpoint(&self) -> Result<Vec<(String, Vec<u8>)>, String> {
        let kept = self.kept.map(|k| vec![k as u8]).unwrap_or_default();
        Ok(vec![("model".into(), vec![self.taken as u8]), ("kept".into(), kept)])
    }

    fn restore(&mut self, files: &crate::train::checkpoint::Files) -> Result<(), String> {
        self.taken = files["model"][0] as usize;
        self.kept = files["kept"].first().map(|&k| k as usize);
        Ok(())
    }
}

/// Records everything; asks to stop once it has seen `stop_after` training losses.
#[derive(Default)]
struct Recorder {
    losses: Vec<(usize, f64)>,
    evals: Vec<(usize, Metrics)>,
    tests: Vec<(usize, Metrics)>,
    weights: Vec<(usize, f32)>,
    files: Vec<String>,
    stop_after: Option<usize>,
}

impl Observer for Recorder {
    fn on_train_loss(&mut self, step: usize, loss: f64) {
        self.losses.push((step, loss));
    }
    fn on_eval(&mut self, step: usize, metrics: &Metrics) {
        self.evals.push((step, metrics.clone()));
    }
    fn on_test(&mut self, step: usize, metrics: &Metrics) {
        self.tests.push((step, metrics.clone()));
    }
    fn should_stop(&self) -> bool {
        self.stop_after.is_some_and(|n| self.losses.len() >= n)
    }
    fn on_weights(&mut self, step: usize, weights: &[(String, Vec<f32>)]) {
        self.weights.push((step, weights[0].1[0]));
    }
    fn on_file(&mut self, name: &str, bytes: &[u8]) {
        self.files.push(format!("{name}:{}", String::from_utf8_lossy(bytes)));
    }
}

fn cfg(steps: usize, log_every: usize, eval_every: usize) -> TrainingSpec {
    TrainingSpec { steps, log_every, eval_every, ..Default::default() }
}

fn run(step: &mut Fake, cfg: &TrainingSpec, obs: &mut Recorder) -> FitOutcome {
    run_loop(step, cfg, &mut Hooks::default(), obs)
}

fn steps_of(evals: &[(usize, Metrics)]) -> Vec<usize> {
    evals.iter().map(|(s, _)| *s).collect()
}

#[test]
fn logs_and_evaluates_at_their_cadence_and_at_the_last_step() {
    let (mut step, mut obs) = (Fake::new(|t| t as f64), Recorder::default());
    let out = run(&mut step, &cfg(10, 3, 4), &mut obs);
    assert_eq!((out.status, out.steps, out.num_params), (FitStatus::Completed, 10, 7));
    // Window means of 1..=3, 4..=6, 7..=9.
    assert_eq!(obs.losses, [(3, 2.0), (6, 5.0), (9, 8.0)]);
    assert_eq!(steps_of(&obs.evals), [4, 8, 10]);
    // train.loss: the mean since the last evaluation (1..=4, 5..=8, 9..=10).
    let train: Vec<f64> = obs.evals.iter().map(|(_, m)| m["train.loss"]).collect();
    assert_eq!(train, [2.5, 6.5, 9.5]);
    assert_eq!(out.final_metrics, obs.evals[2].1);
    // The step's artefacts come with each evaluation.
    assert_eq!(obs.files, ["eval.txt:4", "eval.txt:8", "eval.txt:10"]);
    assert_eq!(step.scales, [1.0; 10], "no schedule: the configured learning rate");
}

#[test]
fn a_non_finite_loss_diverges_at_that_step_and_keeps_the_last_evaluation() {
    let (mut step, mut obs) = (Fake::new(|t| if t == 5 { f64::INFINITY } else { 1.0 }), Recorder::default());
    let out = run(&mut step, &cfg(10, 1, 2), &mut obs);
    assert_eq!((out.status, out.steps), (FitStatus::Diverged(5), 4));
    assert_eq!(obs.losses.last(), Some(&(5, f64::INFINITY)), "the diverged loss is reported");
    assert_eq!(steps_of(&obs.evals), [2, 4]);
    assert_eq!(out.final_metrics["test.m"], 4.0);
    assert_eq!(step.taken, 4);
}

#[test]
fn a_non_finite_extra_loss_diverges_and_extra_losses_are_averaged() {
    let mut step = Fake::new(|_| 1.0);
    step.d_loss = Some(|t| if t == 6 { f64::NAN } else { t as f64 });
    let mut obs = Recorder::default();
    let out = run(&mut step, &cfg(10, 5, 2), &mut obs);
    assert_eq!((out.status, out.steps), (FitStatus::Diverged(6), 5));
    let d: Vec<f64> = obs.evals.iter().map(|(_, m)| m["train.d_loss"]).collect();
    assert_eq!(d, [1.5, 3.5]);
    assert_eq!(obs.losses.last(), Some(&(6, 1.0)), "the main loss is the one reported");
}

#[test]
fn a_non_finite_metric_diverges_at_that_evaluation() {
    let mut step = Fake::new(|_| 1.0);
    step.nan_metric_at = Some(6);
    let mut obs = Recorder::default();
    let out = run(&mut step, &cfg(10, 1, 3), &mut obs);
    assert_eq!((out.status, out.steps), (FitStatus::Diverged(6), 6));
    // The diverged evaluation is reported, but the final metrics are the step-3 evaluation's.
    assert_eq!(steps_of(&obs.evals), [3, 6]);
    assert_eq!(out.final_metrics["test.m"], 3.0);
}

#[test]
fn a_stop_request_interrupts_before_the_next_step() {
    let mut step = Fake::new(|_| 1.0);
    let mut obs = Recorder { stop_after: Some(3), ..Default::default() };
    let out = run(&mut step, &cfg(100, 2, 4), &mut obs);
    assert_eq!((out.status, out.steps), (FitStatus::Interrupted(6), 6));
    assert_eq!(step.taken, 6);
    assert_eq!(steps_of(&obs.evals), [4]);
    assert_eq!(out.final_metrics["test.m"], 4.0);
}

#[test]
fn histograms_every_nth_evaluation_and_only_from_steps_with_weights() {
    let mut step = Fake::new(|_| 1.0);
    step.weights = true;
    let mut obs = Recorder::default();
    let with = TrainingSpec { histogram_every: 2, ..cfg(7, 1, 1) };
    run(&mut step, &with, &mut obs);
    assert_eq!(obs.weights, [(2, 2.0), (4, 4.0), (6, 6.0)]);
    // Never with histogram_every = 0, nor from a step without weights.
    let mut obs = Recorder::default();
    run(&mut Fake { weights: true, ..Fake::new(|_| 1.0) }, &cfg(7, 1, 1), &mut obs);
    let mut none = Recorder::default();
    run(&mut Fake::new(|_| 1.0), &with, &mut none);
    assert!(obs.weights.is_empty() && none.weights.is_empty());
}

/// Halves the learning rate after step 2.
struct Halve;
impl LrSchedule for Halve {
    fn scale(&mut self, step: usize) -> f64 {
        if step > 2 { 0.5 } else { 1.0 }
    }
}

#[test]
fn the_schedule_sets_each_steps_learning_rate() {
    let mut step = Fake::new(|_| 1.0);
    let mut hooks = Hooks { schedule: Box::new(Halve), ..Default::default() };
    run_loop(&mut step, &cfg(4, 1, 4), &mut hooks, &mut NullObserver);
    assert_eq!(step.scales, [1.0, 1.0, 0.5, 0.5]);
}

/// Stops at the first evaluation at or after `at`.
struct StopAt(usize);
impl EvalHook for StopAt {
    fn on_eval(&mut self, step: usize, _: &Metrics) -> Decision {
        if step >= self.0 { Decision::Stop } else { Decision::Continue }
    }
}

#[test]
fn a_stop_decision_ends_the_run_at_that_evaluation() {
    // (stop from, steps) -> status, steps run, final evaluation.
    let table = [
        ((5, 10), FitStatus::Stopped(6), 6),  // the evaluation at step 6 stops it
        ((1, 10), FitStatus::Stopped(3), 3),  // at the first evaluation
        ((10, 10), FitStatus::Completed, 10), // a stop at the last step: it completed anyway
    ];
    for ((at, steps), status, ran) in table {
        let mut step = Fake::new(|_| 1.0);
        let mut hooks = Hooks { on_eval: Box::new(StopAt(at)), ..Default::default() };
        let mut obs = Recorder::default();
        let out = run_loop(&mut step, &cfg(steps, 1, 3), &mut hooks, &mut obs);
        assert_eq!((out.status, out.steps), (status, ran), "stop from {at}");
        assert_eq!(out.final_metrics["test.m"], ran as f64);
        assert_eq!(step.taken, ran);
    }
}

/// What a checkpointer saved: `(step, files)`.
type Saved = std::rc::Rc<std::cell::RefCell<Vec<(usize, crate::train::checkpoint::Files)>>>;

/// Saves at every even step; records what it saved; resumes from `resume`.
#[derive(Default)]
struct Saves(Saved, Option<crate::train::checkpoint::Saved>);
impl Checkpointer for Saves {
    fn due(&self, step: usize) -> bool {
        step.is_multiple_of(2)
    }
    fn save(
        &mut self,
        step: usize,
        _best: Option<usize>,
        files: crate::train::checkpoint::Files,
    ) -> crate::error::Result<()> {
        assert!(files.contains_key("loop.json"));
        self.0.borrow_mut().push((step, files));
        Ok(())
    }
    fn resume(&mut self) -> Option<crate::train::checkpoint::Saved> {
        self.1.take()
    }
}

#[test]
fn the_checkpointer_saves_the_steps_state_when_due() {
    let saved = Saves::default();
    let log = saved.0.clone();
    let mut hooks = Hooks { checkpoint: Box::new(saved), ..Default::default() };
    let mut step = Fake::new(|t| if t == 5 { f64::NAN } else { 1.0 });
    let out = run_loop(&mut step, &cfg(10, 1, 1), &mut hooks, &mut NullObserver);
    assert_eq!(out.status, FitStatus::Diverged(5));
    let models: Vec<(usize, Vec<u8>)> = log.borrow().iter().map(|(t, f)| (*t, f["model"].clone())).collect();
    assert_eq!(models, [(2, vec![2]), (4, vec![4])]);
}

#[test]
fn a_run_resumed_from_a_checkpoint_ends_as_the_uninterrupted_run() {
    let run = |resume: Option<crate::train::checkpoint::Saved>| {
        let saved = Saves(Saved::default(), resume);
        let log = saved.0.clone();
        let mut hooks = Hooks { checkpoint: Box::new(saved), ..selecting("test.m", false) };
        let mut step = Fake { valid: Some(valid_curve), ..Fake::new(|t| t as f64) };
        let mut obs = Recorder::default();
        let out = run_loop(&mut step, &cfg(9, 1, 2), &mut hooks, &mut obs);
        (out, obs.evals, log)
    };
    let (whole, evals, log) = run(None);
    let at_six = log.borrow().iter().find(|(t, _)| *t == 6).cloned().unwrap();
    let (resumed, later, _) = run(Some(crate::train::checkpoint::Saved { step: 6, files: at_six.1 }));
    assert_eq!(
        (resumed.status, resumed.steps, resumed.selected_step),
        (whole.status, whole.steps, whole.selected_step)
    );
    assert_eq!(resumed.final_metrics, whole.final_metrics);
    assert_eq!(later, evals.into_iter().filter(|(t, _)| *t > 6).collect::<Vec<_>>());
}

/// Validation values by step: best (lowest) at step 4 of 2, 4, 6, 8.
fn valid_curve(t: usize) -> f64 {
    match t {
        4 => 0.1,
        6 => 0.1, // a tie: the earlier evaluation stays the best
        _ => 0.5,
    }
}

fn selecting(metric: &str, maximize: bool) -> Hooks {
    Hooks { select_best: Some(Selection { metric: metric.into(), maximize }), ..Default::default() }
}

#[test]
fn with_a_validation_split_the_test_split_is_evaluated_once_after_the_loop() {
    let mut step = Fake { valid: Some(valid_curve), ..Fake::new(|_| 1.0) };
    let mut obs = Recorder::default();
    let out = run(&mut step, &cfg(8, 1, 2), &mut obs);
    assert_eq!((out.status, out.selected_step, step.tests), (FitStatus::Completed, Some(8), 1));
    assert!(obs.evals.iter().all(|(_, m)| m.keys().all(|k| !k.starts_with("test."))), "{:?}", obs.evals);
    // Final selection: the last weights (8 steps), reported at the last step.
    assert_eq!(obs.tests, [(8, Metrics::from([("test.w".to_string(), 8.0)]))]);
    let expected = Metrics::from([("valid.m".into(), 0.5), ("train.loss".into(), 1.0), ("test.w".into(), 8.0)]);
    assert_eq!(out.final_metrics, expected);
}

#[test]
fn select_best_tests_the_weights_of_the_best_validation_evaluation() {
    let mut step = Fake { valid: Some(valid_curve), ..Fake::new(|_| 1.0) };
    let mut obs = Recorder::default();
    let out = run_loop(&mut step, &cfg(8, 1, 2), &mut selecting("test.m", false), &mut obs);
    assert_eq!((out.status, out.steps, out.selected_step), (FitStatus::Completed, 8, Some(4)));
    // The test split saw the weights after 4 steps, and is reported where the run ended.
    assert_eq!(obs.tests, [(8, Metrics::from([("test.w".to_string(), 4.0)]))]);
    assert_eq!((out.final_metrics["valid.m"], out.final_metrics["test.w"]), (0.1, 4.0));
    // Maximising instead: the first of the equal 0.5 evaluations (step 2).
    let mut step = Fake { valid: Some(valid_curve), ..Fake::new(|_| 1.0) };
    let out = run_loop(&mut step, &cfg(8, 1, 2), &mut selecting("test.m", true), &mut NullObserver);
    assert_eq!((out.selected_step, out.final_metrics["test.w"]), (Some(2), 2.0));
}

#[test]
fn without_a_validation_split_select_best_reports_the_best_test_evaluation() {
    // Selection on the test split (validation = 0): no further evaluation.
    let mut step = Fake::new(|_| 1.0);
    let mut obs = Recorder::default();
    let out = run_loop(&mut step, &cfg(10, 1, 3), &mut selecting("test.m", false), &mut obs);
    assert_eq!((out.selected_step, out.final_metrics["test.m"]), (Some(3), 3.0));
    assert!(obs.tests.is_empty());
    let out = run(&mut Fake::new(|_| 1.0), &cfg(10, 1, 3), &mut Recorder::default());
    assert_eq!((out.selected_step, out.final_metrics["test.m"]), (Some(10), 10.0));
}

#[test]
fn no_test_evaluation_after_a_divergence_or_an_interruption() {
    let mut step = Fake { valid: Some(valid_curve), ..Fake::new(|t| if t == 5 { f64::NAN } else { 1.0 }) };
    let mut obs = Recorder::default();
    let out = run_loop(&mut step, &cfg(8, 1, 2), &mut selecting("test.m", false), &mut obs);
    assert_eq!((out.status, out.selected_step, step.tests), (FitStatus::Diverged(5), Some(4), 0));
    assert!(obs.tests.is_empty() && !out.final_metrics.contains_key("test.w"));
    let mut step = Fake { valid: Some(valid_curve), ..Fake::new(|_| 1.0) };
    let mut obs = Recorder { stop_after: Some(3), ..Default::default() };
    let out = run(&mut step, &cfg(100, 1, 2), &mut obs);
    assert_eq!((out.status, step.tests), (FitStatus::Interrupted(3), 0));
    // A run stopped by the evaluation hook is a result: it is tested.
    let mut step = Fake { valid: Some(valid_curve), ..Fake::new(|_| 1.0) };
    let mut hooks = Hooks { on_eval: Box::new(StopAt(4)), ..Default::default() };
    let out = run_loop(&mut step, &cfg(8, 1, 2), &mut hooks, &mut NullObserver);
    assert_eq!((out.status, out.final_metrics["test.w"]), (FitStatus::Stopped(4), 4.0));
}
