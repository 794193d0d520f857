//! Histogram summaries (`HistogramProto`), shown by the Histograms and Distributions
//! dashboards: e.g. a layer's weights every few evaluations.
//!
//! Buckets are equal-width between the smallest and largest finite value; `bucket_limit[i]`
//! is the right edge of bucket `i`, as TensorBoard expects.

use protobuf::RepeatedField;
use tensorboard_proto::summary::{HistogramProto, Summary, Summary_Value};

/// Buckets per histogram unless told otherwise (TensorBoard's own default is 30).
pub const DEFAULT_BUCKETS: usize = 30;

/// The histogram of the finite `values` in `buckets` equal-width buckets (at least one).
/// NaN and infinite values are left out; with no finite value the histogram is empty.
pub fn histogram(values: &[f32], buckets: usize) -> HistogramProto {
    let finite: Vec<f64> = values.iter().filter(|v| v.is_finite()).map(|&v| v as f64).collect();
    let mut h = HistogramProto::new();
    if finite.is_empty() {
        return h;
    }
    let min = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let max = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let buckets = if max > min { buckets.max(1) } else { 1 };
    let width = (max - min) / buckets as f64;
    let mut counts = vec![0.0; buckets];
    for &v in &finite {
        let i = if width > 0.0 { ((v - min) / width) as usize } else { 0 };
        counts[i.min(buckets - 1)] += 1.0;
    }
    let mut limits: Vec<f64> = (1..buckets).map(|i| min + i as f64 * width).collect();
    limits.push(max);
    h.set_min(min);
    h.set_max(max);
    h.set_num(finite.len() as f64);
    h.set_sum(finite.iter().sum());
    h.set_sum_squares(finite.iter().map(|v| v * v).sum());
    h.set_bucket_limit(limits);
    h.set_bucket(counts);
    h
}

/// A summary holding the histogram of `values` tagged `tag`.
pub fn summary(tag: &str, values: &[f32], buckets: usize) -> Summary {
    let mut value = Summary_Value::new();
    value.set_tag(tag.to_string());
    value.set_histo(histogram(values, buckets));
    let mut summary = Summary::new();
    summary.set_value(RepeatedField::from_vec(vec![value]));
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_values_in_equal_width_buckets() {
        let h = histogram(&[0.0, 0.1, 0.5, 0.9, 1.0, f32::NAN, f32::INFINITY], 4);
        assert_eq!((h.get_min(), h.get_max(), h.get_num()), (0.0, 1.0, 5.0));
        assert_eq!(h.get_bucket_limit(), &[0.25, 0.5, 0.75, 1.0]);
        // 0.5 is the left edge of bucket 2; the maximum falls in the last bucket.
        assert_eq!(h.get_bucket(), &[2.0, 0.0, 1.0, 2.0]);
        assert!((h.get_sum() - 2.5).abs() < 1e-6);
        assert!((h.get_sum_squares() - (0.01 + 0.25 + 0.81 + 1.0)).abs() < 1e-6);
    }

    #[test]
    fn equal_values_make_one_bucket_and_no_values_an_empty_histogram() {
        let h = histogram(&[2.0; 3], 30);
        assert_eq!((h.get_bucket_limit(), h.get_bucket()), (&[2.0][..], &[3.0][..]));
        let e = histogram(&[f32::NAN], 30);
        assert_eq!(e.get_num(), 0.0);
        assert!(e.get_bucket().is_empty());
        assert_eq!(histogram(&[1.0, 2.0], 0).get_bucket(), &[2.0]);
    }
}
