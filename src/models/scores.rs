//! Scores computed on the host from predictions: a classifier's confusion matrix (macro-F1,
//! per-class accuracy, its CSV files and heat map) and a regressor's mse, mae and r2.
//!
//! The definitions are scikit-learn's (checked against it in `tests/fixtures/metrics.json`,
//! written by `scripts/make_metric_fixtures.py`):
//! - macro-F1 is `f1_score(y_true, y_pred, average="macro")`: the unweighted mean of the per-class
//!   F1 over the classes that occur in the labels or the predictions (`labels=None`); a class
//!   with no true and no predicted rows is left out of the mean, and a class that is only
//!   predicted, or only true, has F1 = 0 (scikit-learn's `zero_division` default);
//! - per-class accuracy is the recall of each class, `recall_score(average=None,
//!   labels=range(K))`: 0 for a class with no rows (scikit-learn's `zero_division` default);
//! - r2 is `r2_score`: `1 - SS_res / SS_tot`, and with constant targets (`SS_tot = 0`) 1 when
//!   the predictions are exact and 0 otherwise (`force_finite=True`).

use std::fmt::Write;

/// Counts of (true class, predicted class) pairs of `num_classes` classes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confusion {
    num_classes: usize,
    /// Row-major `[true][predicted]`.
    counts: Vec<u64>,
}

impl Confusion {
    /// An empty matrix of `num_classes` classes.
    pub fn new(num_classes: usize) -> Self {
        Confusion { num_classes, counts: vec![0; num_classes * num_classes] }
    }

    /// The matrix of labels `truth` and predictions `predicted` (the same length, each in
    /// `0..num_classes`).
    ///
    /// # Panics
    /// If a class is out of range or the lengths differ.
    pub fn from_labels(num_classes: usize, truth: &[i64], predicted: &[i64]) -> Self {
        let mut c = Confusion::new(num_classes);
        c.add(truth, predicted);
        c
    }

    /// Counts more rows (as [`Confusion::from_labels`]).
    ///
    /// # Panics
    /// If a class is out of range or the lengths differ.
    pub fn add(&mut self, truth: &[i64], predicted: &[i64]) {
        assert_eq!(truth.len(), predicted.len(), "as many predictions as labels");
        let k = self.num_classes;
        for (&t, &p) in truth.iter().zip(predicted) {
            let (t, p) = (t as usize, p as usize);
            assert!(t < k && p < k, "class out of range 0..{k}: true {t}, predicted {p}");
            self.counts[t * k + p] += 1;
        }
    }

    /// The number of classes.
    pub fn num_classes(&self) -> usize {
        self.num_classes
    }

    /// Rows of true class `truth` predicted as `predicted`.
    pub fn count(&self, truth: usize, predicted: usize) -> u64 {
        self.counts[truth * self.num_classes + predicted]
    }

    /// Rows counted.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Rows of true class `class`.
    pub fn support(&self, class: usize) -> u64 {
        (0..self.num_classes).map(|p| self.count(class, p)).sum()
    }

    /// Rows predicted as `class`.
    pub fn predicted(&self, class: usize) -> u64 {
        (0..self.num_classes).map(|t| self.count(t, class)).sum()
    }

    /// The fraction of rows on the diagonal (0 for an empty matrix).
    pub fn accuracy(&self) -> f64 {
        let correct: u64 = (0..self.num_classes).map(|c| self.count(c, c)).sum();
        ratio(correct, self.total())
    }

    /// The recall of each class (the fraction of its rows predicted as it); 0 for a class
    /// without rows.
    pub fn per_class_accuracy(&self) -> Vec<f64> {
        (0..self.num_classes).map(|c| ratio(self.count(c, c), self.support(c))).collect()
    }

    /// The unweighted mean F1 over the classes that occur as labels or predictions (0 for an
    /// empty matrix).
    pub fn macro_f1(&self) -> f64 {
        let (mut sum, mut classes) = (0.0, 0usize);
        for c in 0..self.num_classes {
            let (tp, support, predicted) = (self.count(c, c), self.support(c), self.predicted(c));
            if support + predicted > 0 {
                sum += ratio(2 * tp, support + predicted);
                classes += 1;
            }
        }
        if classes == 0 { 0.0 } else { sum / classes as f64 }
    }

    /// `confusion.csv`: a header `true,0,1,...`, then one row per true class with its counts
    /// per predicted class.
    pub fn to_csv(&self) -> String {
        let k = self.num_classes;
        let mut out = String::from("true");
        (0..k).for_each(|p| write!(out, ",{p}").expect("writing to a String"));
        out.push('\n');
        for t in 0..k {
            write!(out, "{t}").expect("writing to a String");
            (0..k).for_each(|p| write!(out, ",{}", self.count(t, p)).expect("writing to a String"));
            out.push('\n');
        }
        out
    }

    /// `per_class.csv`: `class,support,accuracy`, one row per class.
    pub fn per_class_csv(&self) -> String {
        let mut out = String::from("class,support,accuracy\n");
        for (c, acc) in self.per_class_accuracy().into_iter().enumerate() {
            writeln!(out, "{c},{},{acc}", self.support(c)).expect("writing to a String");
        }
        out
    }

    /// A grayscale heat map of the row-normalised matrix: a `cell × cell` square per (true,
    /// predicted) pair, rows true classes top to bottom, columns predicted classes left to
    /// right; white is 0 and black is the whole row. Returns the pixels (row-major) and
    /// `[height, width]`.
    pub fn heat_map(&self, cell: usize) -> (Vec<u8>, [usize; 2]) {
        let k = self.num_classes;
        let side = k * cell;
        let mut pixels = vec![255u8; side * side];
        for t in 0..k {
            let support = self.support(t);
            for p in 0..k {
                let shade = 255 - (255.0 * ratio(self.count(t, p), support)).round() as u8;
                for row in t * cell..(t + 1) * cell {
                    pixels[row * side + p * cell..row * side + (p + 1) * cell].fill(shade);
                }
            }
        }
        (pixels, [side, side])
    }
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 { 0.0 } else { num as f64 / den as f64 }
}

/// Mean squared error, mean absolute error and r2 of a regressor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegressionScores {
    /// Mean of `(prediction - target)²`, in the target's units squared.
    pub mse: f64,
    /// Mean of `|prediction - target|`, in the target's units.
    pub mae: f64,
    /// The coefficient of determination (module docs).
    pub r2: f64,
}

impl RegressionScores {
    /// The scores of `predicted` against `target` (the same length, not empty), accumulated
    /// in f64.
    ///
    /// # Panics
    /// If the lengths differ or there are no rows.
    pub fn new(predicted: &[f64], target: &[f64]) -> Self {
        assert_eq!(predicted.len(), target.len(), "as many predictions as targets");
        assert!(!target.is_empty(), "regression scores of no rows");
        let n = target.len() as f64;
        let mean = target.iter().sum::<f64>() / n;
        let (mut ss_res, mut abs, mut ss_tot) = (0.0, 0.0, 0.0);
        for (&p, &t) in predicted.iter().zip(target) {
            ss_res += (p - t) * (p - t);
            abs += (p - t).abs();
            ss_tot += (t - mean) * (t - mean);
        }
        let r2 = if ss_tot != 0.0 {
            1.0 - ss_res / ss_tot
        } else if ss_res == 0.0 {
            1.0
        } else {
            0.0
        };
        RegressionScores { mse: ss_res / n, mae: abs / n, r2 }
    }
}

/// Whether `label` is among the `k` highest of `scores`: fewer than `k` scores are strictly
/// higher than its own (ties count in its favour).
pub fn in_top_k(scores: &[f32], label: usize, k: usize) -> bool {
    let own = scores[label];
    scores.iter().filter(|&&s| s > own).count() < k
}

#[cfg(test)]
mod tests;
