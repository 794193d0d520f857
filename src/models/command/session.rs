//! One run of a `command` program: start it, turn its metric lines into the observer's calls,
//! stop it when asked, and make its end a [`FitOutcome`] or a failure.
//!
//! Lines with the same step and split form one evaluation, delivered when a line of another
//! step or split (or the end of the output) follows: `valid` (and `test` when the dataset has
//! no validation split) and `train` metrics other than the loss through `Observer::on_eval`,
//! `test` with a validation split through `Observer::on_test`, `train.loss` through
//! `Observer::on_train_loss` at once.

use super::CommandSpec;
use super::export;
use super::launch::{self, CONFIG_JSON, Config, Substitutions};
use super::process::{self, STDERR_LOG};
use super::protocol::{self, Line};
use crate::error::{Error, Result};
use crate::models::{TrainCtx, TrialPlace};
use crate::train::{FitOutcome, FitStatus, Metrics, Observer};
use std::io::{BufRead, BufReader};
use std::process::Child;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// How often the session checks `Observer::should_stop` while the program is quiet.
const POLL: Duration = Duration::from_millis(50);

/// How long the session waits for the end of the output once the program has exited (its
/// children may still hold the pipe).
const DRAIN: Duration = Duration::from_secs(2);

/// Runs `spec`'s program for the trial of `ctx` (which must come from a worker: `ctx.trial`).
///
/// # Errors
/// The program could not be started, exited with a non-zero status or by a signal (the error
/// quotes the last lines of its standard error), or printed a malformed line; or a file of the
/// trial could not be written.
pub fn run(spec: &CommandSpec, ctx: TrainCtx<'_>, obs: &mut dyn Observer) -> Result<FitOutcome> {
    let place = ctx.trial.ok_or_else(|| anyhow::anyhow!("the `command` family runs only in a trial's worker"))?;
    let exported = match spec.data {
        super::DataExport::Npy => Some(export::export(place.results, place.dataset, ctx.data)?),
        super::DataExport::None => None,
    };
    let config_path = launch::absolute(&place.dir.join(CONFIG_JSON));
    let trial_dir = launch::absolute(place.dir);
    let config = Config {
        trial_id: place.id,
        seed: ctx.seed,
        trial_dir: &trial_dir,
        experiment: place.experiment,
        model: spec,
        training: ctx.training,
        dataset: place.dataset,
        select_best: ctx.select_best,
        data: exported.as_ref(),
    };
    crate::fsutil::write_json_atomic(&config_path, &config)?;
    let data_dir = exported.as_ref().map(|e| launch::absolute(&e.dir));
    let subs = Substitutions::new(&config_path, &place, ctx.seed, data_dir.as_deref());
    let args = launch::arguments(spec, &subs, &config_path);
    let env = environment(&config_path, &place, ctx.seed, data_dir.as_deref());
    let mut cmd = launch::command(spec, &args, &env, place.threads);
    let name = spec.command.join(" ");
    let log_path = place.dir.join(STDERR_LOG);
    let log = std::fs::File::create(&log_path).map_err(|e| Error::io(&log_path, e))?;
    let mut child = process::spawn(&mut cmd).map_err(|e| {
        anyhow::anyhow!("could not start `{name}` (in {}): {e}", cmd.get_current_dir().unwrap_or(".".as_ref()).display())
    })?;
    let tail = process::tee_stderr(child.stderr.take().expect("stderr is piped"), log);
    let lines = read_lines(child.stdout.take().expect("stdout is piped"));
    let mut session = Session::new(spec, ctx.data.valid.is_some());
    let end = session.follow(&mut child, &lines, obs);
    // The program has ended: whatever it left running in its group (holding its standard
    // error open) goes with it.
    process::kill_leftovers(&child);
    let tail = tail.join().unwrap_or_default();
    session.finish(end, &name, &tail, obs)
}

/// The protocol's environment variables for the program.
fn environment<'a>(
    config: &std::path::Path,
    place: &TrialPlace<'_>,
    seed: u64,
    data_dir: Option<&std::path::Path>,
) -> Vec<(&'a str, String)> {
    let mut env = vec![
        ("BURNLAB_CONFIG", config.display().to_string()),
        ("BURNLAB_SEED", seed.to_string()),
        ("BURNLAB_TRIAL_ID", place.id.to_string()),
        ("BURNLAB_TRIAL_DIR", launch::absolute(place.dir).display().to_string()),
    ];
    env.extend(data_dir.map(|d| ("BURNLAB_DATA", d.display().to_string())));
    env
}

/// The program's standard output, line by line (invalid UTF-8 replaced, so that it reads as a
/// malformed line), from a reader thread.
fn read_lines(stdout: std::process::ChildStdout) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
            let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
            if tx.send(line).is_err() {
                break;
            }
            buf.clear();
        }
    });
    rx
}

/// How the program's run ended.
enum End {
    /// It exited by itself with this status (`None`: it could not be waited for).
    Exited(Option<std::process::ExitStatus>),
    /// burnlab stopped it: asked to (Ctrl-C, a search strategy), or after a non-finite value.
    Stopped,
    /// burnlab stopped it after a malformed line: its number and text, and what is wrong.
    Malformed(usize, String, String),
}

/// The state of one run: what the program has reported so far.
struct Session {
    grace_s: f64,
    has_valid: bool,
    started: Instant,
    /// The evaluation being read: its step, split and metrics.
    pending: Option<(usize, String, Metrics)>,
    /// The last finite value of each `split.metric`.
    last: Metrics,
    steps: usize,
    selected_step: Option<usize>,
    num_params: usize,
    diverged_at: Option<usize>,
}

impl Session {
    fn new(spec: &CommandSpec, has_valid: bool) -> Self {
        Session {
            grace_s: spec.grace_s,
            has_valid,
            started: Instant::now(),
            pending: None,
            last: Metrics::new(),
            steps: 0,
            selected_step: None,
            num_params: 0,
            diverged_at: None,
        }
    }

    /// Reads the program's output until it ends or must be stopped; returns how it ended.
    fn follow(&mut self, child: &mut Child, lines: &Receiver<String>, obs: &mut dyn Observer) -> End {
        let mut number = 0;
        let mut exited: Option<Instant> = None;
        loop {
            match lines.recv_timeout(POLL) {
                Ok(line) => {
                    number += 1;
                    match protocol::parse(&line) {
                        Ok(parsed) => self.take(parsed, obs),
                        Err(why) => {
                            process::stop(child, self.grace_s);
                            return End::Malformed(number, line, why);
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if obs.should_stop() || self.diverged_at.is_some() {
                process::stop(child, self.grace_s);
                return End::Stopped;
            }
            if exited.is_none() && child.try_wait().ok().flatten().is_some() {
                exited = Some(Instant::now());
            }
            if exited.is_some_and(|at| at.elapsed() > DRAIN) {
                // Its children still hold the output open: they go with it.
                process::kill_leftovers(child);
                exited = Some(Instant::now());
            }
        }
        self.flush(obs);
        // The output is closed; the program may still be running.
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return End::Exited(Some(status)),
                Ok(None) if obs.should_stop() => {
                    process::stop(child, self.grace_s);
                    return End::Stopped;
                }
                Ok(None) => std::thread::sleep(POLL),
                Err(_) => return End::Exited(None),
            }
        }
    }

    /// Takes one parsed line.
    fn take(&mut self, line: Line, obs: &mut dyn Observer) {
        let Line::Metric { step, split, metric, value } = line else {
            if let Line::Params(n) = line {
                self.num_params = n;
            }
            return;
        };
        if self.pending.as_ref().is_some_and(|(s, sp, _)| (*s, sp.as_str()) != (step, split.as_str())) {
            self.flush(obs);
        }
        if !value.is_finite() {
            self.flush(obs);
            self.diverged_at = Some(step);
            return;
        }
        self.steps = self.steps.max(step);
        self.last.insert(format!("{split}.{metric}"), value);
        if split == "train" && metric == "loss" {
            obs.on_train_loss(step, value);
            return;
        }
        let (_, _, metrics) = self.pending.get_or_insert_with(|| (step, split.clone(), Metrics::new()));
        metrics.insert(format!("{split}.{metric}"), value);
    }

    /// Delivers the evaluation being read, if any.
    fn flush(&mut self, obs: &mut dyn Observer) {
        let Some((step, split, metrics)) = self.pending.take() else { return };
        if split == "test" && self.has_valid {
            obs.on_test(step, &metrics);
        } else {
            if split != "train" {
                self.selected_step = Some(step);
            }
            obs.on_eval(step, &metrics);
        }
    }

    /// The trial's outcome, or its failure.
    fn finish(self, end: End, name: &str, tail: &[String], obs: &mut dyn Observer) -> Result<FitOutcome> {
        let status = match end {
            End::Malformed(number, line, why) => {
                return Err(anyhow::anyhow!(
                    "`{name}` printed a malformed line {number} on standard output: {why}\n  line {number}: {line}"
                )
                .into());
            }
            End::Stopped => match self.diverged_at {
                Some(step) => FitStatus::Diverged(step),
                None => FitStatus::Interrupted(self.steps),
            },
            End::Exited(Some(s)) if s.success() => FitStatus::Completed,
            // A program stopped by Ctrl-C that ended before burnlab could stop it.
            End::Exited(_) if obs.should_stop() => FitStatus::Interrupted(self.steps),
            End::Exited(status) => {
                let how = status.as_ref().map_or_else(|| "ended".to_string(), process::describe);
                let quoted: String = tail.iter().map(|l| format!("\n  | {l}")).collect();
                let said = if tail.is_empty() {
                    " (its standard error was empty)".to_string()
                } else {
                    format!("; the last lines of its standard error:{quoted}")
                };
                return Err(anyhow::anyhow!("`{name}` {how}{said}").into());
            }
        };
        Ok(FitOutcome {
            status,
            steps: self.steps,
            final_metrics: self.last,
            selected_step: self.selected_step,
            seconds: self.started.elapsed().as_secs_f64(),
            num_params: self.num_params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    /// Records the observer calls as text.
    #[derive(Default)]
    struct Calls(Vec<String>);

    impl Observer for Calls {
        fn on_train_loss(&mut self, step: usize, loss: f64) {
            self.0.push(format!("loss {step} {loss}"));
        }
        fn on_eval(&mut self, step: usize, m: &Metrics) {
            self.0.push(format!("eval {step} {:?}", m.keys().collect::<Vec<_>>()));
        }
        fn on_test(&mut self, step: usize, m: &Metrics) {
            self.0.push(format!("test {step} {:?}", m.keys().collect::<Vec<_>>()));
        }
        fn should_stop(&self) -> bool {
            false
        }
    }

    fn metric(step: usize, split: &str, metric: &str, value: f64) -> Line {
        Line::Metric { step, split: split.into(), metric: metric.into(), value }
    }

    #[test]
    fn lines_of_one_step_and_split_are_one_evaluation() {
        for has_valid in [true, false] {
            let held = if has_valid { "valid" } else { "test" };
            let mut session = Session::new(&CommandSpec::default(), has_valid);
            let mut obs = Calls::default();
            for line in [
                metric(5, "train", "loss", 1.0),
                metric(10, held, "accuracy", 0.5),
                metric(10, held, "loss", 0.4),
                metric(10, "train", "loss", 0.5),
                Line::Params(7),
                Line::Empty,
                metric(10, "test", "accuracy", 0.75),
            ] {
                session.take(line, &mut obs);
            }
            session.flush(&mut obs);
            let last = if has_valid { "test 10 [\"test.accuracy\"]" } else { "eval 10 [\"test.accuracy\"]" };
            let eval = format!("eval 10 [\"{held}.accuracy\", \"{held}.loss\"]");
            assert_eq!(obs.0, ["loss 5 1", eval.as_str(), "loss 10 0.5", last]);
            let done = End::Exited(Some(std::process::ExitStatus::from_raw(0)));
            let out = session.finish(done, "prog", &[], &mut obs).unwrap();
            assert_eq!((out.status, out.steps, out.num_params, out.selected_step), (FitStatus::Completed, 10, 7, Some(10)));
            assert_eq!(out.final_metrics["test.accuracy"], 0.75);
            assert_eq!(out.final_metrics["train.loss"], 0.5);
        }
    }

    #[test]
    fn a_non_finite_value_is_a_divergence_and_a_failure_quotes_stderr() {
        let mut session = Session::new(&CommandSpec::default(), true);
        let mut obs = Calls::default();
        session.take(metric(3, "train", "loss", 0.5), &mut obs);
        session.take(metric(4, "train", "loss", f64::INFINITY), &mut obs);
        assert_eq!(session.diverged_at, Some(4));
        let out = session.finish(End::Stopped, "prog", &[], &mut obs).unwrap();
        assert_eq!((out.status, out.final_metrics["train.loss"]), (FitStatus::Diverged(4), 0.5));
        let failed = Session::new(&CommandSpec::default(), true);
        let status = std::process::ExitStatus::from_raw(3 << 8);
        let tail = ["Traceback".to_string(), "ValueError: bad".to_string()];
        let e = failed.finish(End::Exited(Some(status)), "python3 t.py", &tail, &mut obs).unwrap_err().to_string();
        assert_eq!(
            e,
            "`python3 t.py` exited with status 3; the last lines of its standard error:\n  | Traceback\n  | ValueError: bad"
        );
    }
}
