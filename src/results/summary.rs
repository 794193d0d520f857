//! `summary.json`: the record of one trial's outcome, written by the worker (or by the
//! runner for a worker that wrote none) and read by the runner, `status` and `report`.

use crate::error::{Result, UserError};
use crate::sweep::{Finished, Outcome};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The file name of a trial's summary in its directory.
pub const SUMMARY_FILE: &str = "summary.json";

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrialStatus {
    /// Trained for every step.
    Completed,
    /// The loss became NaN or infinite (a result: not rerun).
    Diverged,
    /// An error or crash (rerun on resume).
    Failed,
    /// Stopped by Ctrl-C (rerun on resume).
    Interrupted,
    /// Stopped early by the sweep's search strategy (a result: not rerun).
    Pruned,
}

impl TrialStatus {
    /// Whether the trial has a final result and is skipped on resume.
    pub fn is_final(self) -> bool {
        matches!(self, TrialStatus::Completed | TrialStatus::Diverged | TrialStatus::Pruned)
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            TrialStatus::Completed => "completed",
            TrialStatus::Diverged => "diverged",
            TrialStatus::Failed => "failed",
            TrialStatus::Interrupted => "interrupted",
            TrialStatus::Pruned => "pruned",
        }
    }

    /// The outcome a search strategy is told.
    pub fn outcome(self) -> Outcome {
        match self {
            TrialStatus::Completed => Outcome::Completed,
            TrialStatus::Diverged => Outcome::Diverged,
            TrialStatus::Pruned => Outcome::Pruned,
            TrialStatus::Failed | TrialStatus::Interrupted => Outcome::Failed,
        }
    }
}

/// Everything recorded about a finished (or failed) trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialSummary {
    /// Trial id.
    pub id: String,
    /// Index in the plan.
    pub index: usize,
    /// Experiment name.
    pub experiment: String,
    /// Model variant label.
    pub label: String,
    /// Model family.
    pub family: String,
    /// Swept keys and this trial's values.
    pub swept: BTreeMap<String, toml::Value>,
    /// Seed.
    pub seed: u64,
    /// Outcome.
    pub status: TrialStatus,
    /// Steps completed.
    pub steps: usize,
    /// Steps planned.
    pub steps_planned: usize,
    /// The step at which the loss became NaN/inf.
    pub diverged_at: Option<usize>,
    /// The selected evaluation's metrics, by `split.name` (`[report] select`: the last one, or
    /// the best; of a diverged trial, its last finite or best one), plus the test split's
    /// metrics of the evaluation after the loop when the dataset has a validation split.
    #[serde(with = "json_float::map")]
    pub final_metrics: BTreeMap<String, f64>,
    /// The step of the selected evaluation (absent in summaries of older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selected_step: Option<usize>,
    /// The step at which the evaluation hook stopped a completed trial (early stopping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<usize>,
    /// Trainable parameters.
    pub num_params: usize,
    /// Wall time of the whole trial, set-up included.
    #[serde(with = "json_float")]
    pub wall_time_s: f64,
    /// Training steps per second (evaluation included).
    #[serde(with = "json_float")]
    pub steps_per_second: f64,
    /// Backend (and device).
    pub backend: String,
    /// Threads the trial's CPU backend used.
    pub threads: usize,
    /// burnlab version.
    pub burnlab_version: String,
    /// Git commit of the burnlab checkout, when available.
    pub git_commit: Option<String>,
    /// Host name.
    pub host: String,
    /// Unix time the trial started.
    pub started_at: u64,
    /// The error, for failed trials.
    pub error: Option<String>,
}

impl TrialSummary {
    /// A summary of `trial` with `status` and nothing measured yet.
    pub fn blank(experiment: &str, trial: &crate::sweep::Trial, status: TrialStatus) -> Self {
        TrialSummary {
            id: trial.id.clone(),
            index: trial.index,
            experiment: experiment.to_string(),
            label: trial.label.clone(),
            family: trial.config.model.spec.name().to_string(),
            swept: trial.swept.clone(),
            seed: trial.config.seed,
            status,
            steps: 0,
            steps_planned: trial.config.training.steps,
            diverged_at: None,
            final_metrics: BTreeMap::new(),
            selected_step: None,
            stopped_at: None,
            num_params: 0,
            wall_time_s: 0.0,
            steps_per_second: 0.0,
            backend: trial.config.backend().to_string(),
            threads: 0,
            burnlab_version: crate::VERSION.to_string(),
            git_commit: None,
            host: String::new(),
            started_at: 0,
            error: None,
        }
    }

    /// Reads `summary.json` from a trial directory: `Ok(None)` when the trial has none, an
    /// error naming the file when it is there but cannot be read or parsed.
    ///
    /// A summary that says `completed` with a non-finite final metric (written by burnlab
    /// versions that stored NaN as `null`) is read as [`TrialStatus::Diverged`], see
    /// [`TrialSummary::settle_non_finite`].
    pub fn read(trial_dir: &Path) -> Result<Option<TrialSummary>> {
        let path = trial_dir.join(SUMMARY_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::error::Error::io(&path, e)),
        };
        let mut summary: TrialSummary = serde_json::from_str(&text).map_err(|e| {
            UserError::new(format!("unreadable trial summary: {e}"))
                .at(path.display().to_string())
                .help("tables count it as a trial without a result; `burnlab run` reruns the trial and rewrites it")
        })?;
        summary.settle_non_finite();
        Ok(Some(summary))
    }

    /// Writes `summary.json` into the trial folder `trial_dir`, atomically.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn write(&self, trial_dir: &Path) -> Result<()> {
        crate::fsutil::write_json_atomic(&trial_dir.join(SUMMARY_FILE), self)
    }

    /// The trial as a finished one for the search strategy.
    pub fn finished(&self) -> Finished {
        Finished {
            index: self.index,
            outcome: self.status.outcome(),
            metrics: self.final_metrics.clone(),
            step: self.steps,
        }
    }

    /// [`TrialSummary::read`] for reports: an unreadable summary is reported on stderr with its
    /// path and the trial counts as not run.
    pub fn read_or_warn(trial_dir: &Path) -> Option<TrialSummary> {
        TrialSummary::read(trial_dir).unwrap_or_else(|e| {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "warning: {e}");
            None
        })
    }

    /// Makes a `completed` trial whose final metrics are not all finite `diverged` at its last
    /// step: a NaN or infinite evaluation is a divergence, whatever produced it. The trainers
    /// stop at such an evaluation themselves; this keeps every summary to the same rule.
    pub fn settle_non_finite(&mut self) {
        if self.status == TrialStatus::Completed && self.final_metrics.values().any(|v| !v.is_finite()) {
            self.status = TrialStatus::Diverged;
            self.diverged_at = Some(self.steps);
        }
    }
}

/// `f64` fields in JSON that keep non-finite values: JSON has no NaN or infinity (serde_json
/// writes `null`, which cannot be read back as a number), so they are written as the strings
/// `"NaN"`, `"inf"` and `"-inf"`. Reading accepts numbers, those strings (any case, also
/// `"infinity"`) and `null` (as NaN), so summaries of older versions read back too.
pub mod json_float {
    use serde::de::{self, Deserializer, Visitor};
    use serde::ser::Serializer;
    use std::fmt;

    /// Serialises one `f64`.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    /// Deserialises one `f64`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        d.deserialize_any(FloatVisitor)
    }

    struct FloatVisitor;

    impl Visitor<'_> for FloatVisitor {
        type Value = f64;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a number, \"NaN\", \"inf\" or \"-inf\"")
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }
        fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
            Ok(f64::NAN)
        }
        fn visit_none<E: de::Error>(self) -> Result<f64, E> {
            Ok(f64::NAN)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
            match v.to_ascii_lowercase().as_str() {
                "nan" => Ok(f64::NAN),
                "inf" | "+inf" | "infinity" | "+infinity" => Ok(f64::INFINITY),
                "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
                _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
            }
        }
    }

    /// A wrapper that (de)serialises its value with [`serialize`] and [`deserialize`].
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Float(#[serde(with = "super::json_float")] f64);

    /// The same for the values of a map (`final_metrics`, a progress line's metrics).
    pub mod map {
        use super::Float;
        use serde::{Deserialize, Deserializer, Serializer};
        use std::collections::BTreeMap;

        /// Serialises a map of `f64`.
        pub fn serialize<S: Serializer>(m: &BTreeMap<String, f64>, s: S) -> Result<S::Ok, S::Error> {
            s.collect_map(m.iter().map(|(k, v)| (k, Float(*v))))
        }

        /// Deserialises a map of `f64`.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, f64>, D::Error> {
            let m = BTreeMap::<String, Float>::deserialize(d)?;
            Ok(m.into_iter().map(|(k, v)| (k, v.0)).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TrialSummary {
        TrialSummary {
            id: "abc".into(),
            index: 0,
            experiment: "x".into(),
            label: "mlp".into(),
            family: "mlp".into(),
            swept: BTreeMap::new(),
            seed: 0,
            status: TrialStatus::Completed,
            steps: 2,
            steps_planned: 2,
            diverged_at: None,
            final_metrics: BTreeMap::from([("test.accuracy".into(), 0.1), ("test.loss".into(), 2.5)]),
            selected_step: Some(2),
            stopped_at: None,
            num_params: 10,
            wall_time_s: 0.5,
            steps_per_second: 4.0,
            backend: "flex".into(),
            threads: 1,
            burnlab_version: "0".into(),
            git_commit: None,
            host: String::new(),
            started_at: 0,
            error: None,
        }
    }

    #[test]
    fn non_finite_numbers_are_written_as_text_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = sample();
        s.status = TrialStatus::Diverged;
        s.diverged_at = Some(1);
        s.final_metrics.insert("test.loss".into(), f64::NAN);
        s.final_metrics.insert("test.kl".into(), f64::NEG_INFINITY);
        s.steps_per_second = f64::INFINITY;
        crate::fsutil::write_json_atomic(&dir.path().join(SUMMARY_FILE), &s).unwrap();
        let text = std::fs::read_to_string(dir.path().join(SUMMARY_FILE)).unwrap();
        assert!(text.contains("\"test.loss\": \"NaN\"") && text.contains("\"steps_per_second\": \"inf\""), "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["final_metrics"]["test.kl"], "-inf", "{text}");
        let back = TrialSummary::read(dir.path()).unwrap().unwrap();
        assert!(back.final_metrics["test.loss"].is_nan());
        assert_eq!(back.final_metrics["test.kl"], f64::NEG_INFINITY);
        assert_eq!(back.final_metrics["test.accuracy"], 0.1);
        assert_eq!(back.steps_per_second, f64::INFINITY);
        assert_eq!(back.status, TrialStatus::Diverged);
    }

    #[test]
    fn an_old_summary_with_null_reads_as_diverged_and_garbage_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(TrialSummary::read(dir.path()).unwrap().is_none(), "no file: no summary");
        let mut v = serde_json::to_value(sample()).unwrap();
        v["final_metrics"]["test.loss"] = serde_json::Value::Null;
        std::fs::write(dir.path().join(SUMMARY_FILE), v.to_string()).unwrap();
        let back = TrialSummary::read(dir.path()).unwrap().unwrap();
        assert_eq!((back.status, back.diverged_at), (TrialStatus::Diverged, Some(2)));
        assert!(back.final_metrics["test.loss"].is_nan());

        std::fs::write(dir.path().join(SUMMARY_FILE), "{\"id\": ").unwrap();
        let e = TrialSummary::read(dir.path()).unwrap_err().to_string();
        assert!(e.contains(SUMMARY_FILE) && e.contains("unreadable trial summary"), "{e}");
        assert!(TrialSummary::read_or_warn(dir.path()).is_none());
    }
}
