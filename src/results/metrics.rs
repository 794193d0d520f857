//! `metrics.csv`: every recorded value of one trial, one row per step, split and metric.
//!
//! ```text
//! step,split,metric,value
//! 20,train,loss,0.6931
//! 20,test,accuracy,0.5
//! ```
//!
//! [`MetricsLog`] both writes the file (the worker) and reads it back (the curves of
//! `report`), so the format lives in one place.

use crate::error::Result;
use crate::fsutil::write_atomic;
use std::path::Path;

/// The file name of a trial's metrics in its folder.
pub const METRICS_FILE: &str = "metrics.csv";

/// The header line of `metrics.csv`.
const HEADER: &str = "step,split,metric,value";

/// One row of `metrics.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRow {
    /// Training steps done when the value was recorded.
    pub step: usize,
    /// `train` or `test`.
    pub split: String,
    /// The metric's name within its split (`loss`, `accuracy`, ...).
    pub metric: String,
    /// The value (NaN and infinities are written as Rust prints them: `NaN`, `inf`, `-inf`).
    pub value: f64,
}

/// The rows of one trial's `metrics.csv`, in the order they were recorded.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricsLog {
    /// The rows.
    pub rows: Vec<MetricRow>,
}

impl MetricsLog {
    /// An empty log.
    pub fn new() -> Self {
        MetricsLog::default()
    }

    /// Appends a row.
    pub fn push(&mut self, step: usize, split: &str, metric: &str, value: f64) {
        self.rows.push(MetricRow { step, split: split.to_string(), metric: metric.to_string(), value });
    }

    /// The file's text: the header, then one line per row.
    pub fn to_csv(&self) -> String {
        let mut csv = format!("{HEADER}\n");
        for r in &self.rows {
            csv.push_str(&format!("{},{},{},{}\n", r.step, r.split, r.metric, r.value));
        }
        csv
    }

    /// Writes `metrics.csv` into the trial folder `trial_dir`, atomically.
    ///
    /// # Errors
    /// An I/O error naming the file.
    pub fn write(&self, trial_dir: &Path) -> Result<()> {
        write_atomic(&trial_dir.join(METRICS_FILE), self.to_csv().as_bytes())
    }

    /// Parses the text of a `metrics.csv`; lines that are not `step,split,metric,value` with a
    /// numeric step and value are skipped.
    pub fn parse(text: &str) -> MetricsLog {
        let rows = text
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f.len() == 4).then_some(())?;
                let (step, value) = (f[0].parse().ok()?, f[3].parse().ok()?);
                Some(MetricRow { step, split: f[1].to_string(), metric: f[2].to_string(), value })
            })
            .collect();
        MetricsLog { rows }
    }

    /// Reads `metrics.csv` of the trial folder `trial_dir` (empty when there is none or it
    /// cannot be read: a trial without metrics has no curve).
    pub fn read(trial_dir: &Path) -> MetricsLog {
        std::fs::read_to_string(trial_dir.join(METRICS_FILE)).map(|t| MetricsLog::parse(&t)).unwrap_or_default()
    }

    /// The `(step, value)` pairs of `split.metric` (`test.accuracy`; a name without a split
    /// is a `test` metric), in file order.
    pub fn curve(&self, metric: &str) -> Vec<(usize, f64)> {
        let (split, name) = metric.split_once('.').unwrap_or(("test", metric));
        self.rows.iter().filter(|r| r.split == split && r.metric == name).map(|r| (r.step, r.value)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_written_reads_back() {
        let mut log = MetricsLog::new();
        log.push(20, "train", "loss", 0.5);
        log.push(20, "test", "accuracy", 0.25);
        log.push(40, "test", "accuracy", f64::NAN);
        log.push(40, "test", "loss", f64::INFINITY);
        let csv = log.to_csv();
        assert_eq!(
            csv,
            "step,split,metric,value\n20,train,loss,0.5\n20,test,accuracy,0.25\n40,test,accuracy,NaN\n40,test,loss,inf\n"
        );
        let dir = tempfile::tempdir().unwrap();
        log.write(dir.path()).unwrap();
        let back = MetricsLog::read(dir.path());
        assert_eq!(back.rows.len(), 4);
        assert_eq!(back.curve("train.loss"), vec![(20, 0.5)]);
        let acc = back.curve("test.accuracy");
        assert_eq!(acc[0], (20, 0.25));
        assert!(acc[1].1.is_nan());
        assert_eq!(back.curve("loss"), vec![(40, f64::INFINITY)]);
        assert!(MetricsLog::read(&dir.path().join("none")).rows.is_empty());
    }
}
