//! The validation split carved out of a training split (`dataset.validation`).
//!
//! The rule, for a fraction `f` in (0, 1): a group of `n` rows gives [`held_out`]`(n, f)` of
//! them, `round(f * n)` (halves away from zero) clamped to `1..=n - 1`, and none when `n < 2`.
//! A classification split is stratified: each class is a group, so every class with at least
//! two rows keeps at least one training row and gives at least one validation row, within one
//! row of `f` times its count. A regression split ([`Task::Regression`]) is one group.
//!
//! Which rows: one ChaCha8 generator seeded with `split_seed ^ `[`VALIDATION_SPLIT`] (the
//! dataset's seed, never the trial's, so every trial of an experiment sees the same split)
//! shuffles each group's row indices in turn (classes in increasing label order), and the
//! first `held_out` of each shuffled group go to the validation split. Both splits keep their
//! rows in their original order (batching stays deterministic) and every modality and target
//! of a row stays with it ([`Split::rows`]).

use super::{Dataset, Split, Task};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

/// Mixed (XOR) into a dataset's split seed to seed the carve. ASCII "validate".
pub const VALIDATION_SPLIT: u64 = 0x7661_6c69_6461_7465;

/// Rows a group of `n` gives to the validation split at fraction `f` in (0, 1) (see the
/// module docs); 0 for any other `f`.
pub fn held_out(n: usize, f: f64) -> usize {
    // Also 0 for a fraction out of range, which `DatasetSpec::validate` reports.
    if n < 2 || !(f > 0.0 && f < 1.0) {
        return 0;
    }
    ((f * n as f64).round() as usize).clamp(1, n - 1)
}

/// The row indices of `split` that go to the validation split at fraction `f`, in
/// increasing order (a classification split stratified by label, a regression split as one
/// group), seeded by `split_seed`.
pub fn validation_rows(split: &Split, task: Task, f: f64, split_seed: u64) -> Vec<usize> {
    let mut groups: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for i in 0..split.len() {
        let key = if task == Task::Regression { 0 } else { split.y[i] };
        groups.entry(key).or_default().push(i);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(split_seed ^ VALIDATION_SPLIT);
    let mut rows = Vec::new();
    for mut group in groups.into_values() {
        group.shuffle(&mut rng);
        let k = held_out(group.len(), f);
        rows.extend_from_slice(&group[..k]);
    }
    rows.sort_unstable();
    rows
}

/// `data` with fraction `f` of its training split moved to a new validation split
/// ([`validation_rows`]); the training split keeps the other rows in their order.
///
/// # Errors
/// The dataset already has a validation split, or the carve leaves none (every class has
/// fewer than two training rows); the text follows "`dataset.validation`".
pub fn carve(data: Dataset, f: f64, split_seed: u64) -> Result<Dataset, String> {
    if data.valid.is_some() {
        return Err(format!("is {f}, but the dataset loaded its own validation split; set it to 0"));
    }
    let valid = validation_rows(&data.train, data.info.task, f, split_seed);
    if valid.is_empty() {
        return Err(format!(
            "is {f}, which leaves no validation rows: no class has two training rows ({} rows in all)",
            data.train.len()
        ));
    }
    let mut is_valid = vec![false; data.train.len()];
    valid.iter().for_each(|&i| is_valid[i] = true);
    let train: Vec<usize> = (0..data.train.len()).filter(|&i| !is_valid[i]).collect();
    let (train, valid) = (data.train.rows(&train), data.train.rows(&valid));
    Ok(Dataset { train, ..data }.with_valid(valid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{DataInfo, DatasetSpec, XorModalOptions};

    /// A split whose row `i` holds `i` (first modality) and `10 i` (second), labelled by `labels`.
    fn numbered(labels: &[i64]) -> Split {
        let x: Vec<f32> = (0..labels.len()).flat_map(|i| [i as f32; 2]).collect();
        let more = vec![x.iter().map(|v| 10.0 * v).collect()];
        Split { more, ..Split::new(x, labels.to_vec()) }
    }

    fn dataset(train: Split) -> Dataset {
        Dataset::new(
            DataInfo { seq_len: 1, channels: 2, num_classes: 5, ..Default::default() },
            train,
            Split::default(),
        )
    }

    /// Class sizes 50, 31, 7, 2 and 1, in an interleaved order.
    fn labels() -> Vec<i64> {
        let mut y: Vec<i64> =
            [(0, 50), (1, 31), (2, 7), (3, 2), (4, 1)].iter().flat_map(|&(c, n)| std::iter::repeat_n(c, n)).collect();
        y.shuffle(&mut ChaCha8Rng::seed_from_u64(9));
        y
    }

    #[test]
    fn every_class_gives_its_share_within_one_row() {
        let y = labels();
        for f in [0.1, 0.2, 0.5, 0.9] {
            let d = carve(dataset(numbered(&y)), f, 0).unwrap();
            let valid = d.valid.unwrap();
            for (c, n) in [(0, 50), (1, 31), (2, 7), (3, 2), (4, 1)] {
                let k = valid.y.iter().filter(|&&l| l == c).count();
                let kept = d.train.y.iter().filter(|&&l| l == c).count();
                assert_eq!(k + kept, n, "class {c}");
                if n >= 2 {
                    assert!((k as f64 - f * n as f64).abs() <= 1.0, "f {f}, class {c}: {k} of {n}");
                    assert!(k >= 1 && kept >= 1, "f {f}, class {c}: {k} of {n}");
                } else {
                    assert_eq!(k, 0, "a single row stays in training");
                }
            }
        }
        // The exact rule: round(f n) clamped to 1..=n-1.
        assert_eq!([held_out(50, 0.1), held_out(31, 0.1), held_out(7, 0.1), held_out(2, 0.1)], [5, 3, 1, 1]);
        assert_eq!([held_out(2, 0.9), held_out(1, 0.5), held_out(10, 0.25), held_out(10, 0.0)], [1, 0, 3, 0]);
    }

    #[test]
    fn the_splits_partition_the_training_rows_in_order_and_keep_modalities_aligned() {
        let y = labels();
        let d = carve(dataset(numbered(&y)), 0.2, 3).unwrap();
        let valid = d.valid.as_ref().unwrap();
        let ids = |s: &Split| s.x.iter().step_by(2).map(|&v| v as usize).collect::<Vec<_>>();
        let (train_ids, valid_ids) = (ids(&d.train), ids(valid));
        assert!(train_ids.windows(2).all(|w| w[0] < w[1]), "training rows keep their order");
        assert!(valid_ids.windows(2).all(|w| w[0] < w[1]), "validation rows keep their order");
        let mut all: Vec<usize> = train_ids.iter().chain(&valid_ids).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..y.len()).collect::<Vec<_>>(), "disjoint and complete");
        for s in [&d.train, valid] {
            for (i, &id) in ids(s).iter().enumerate() {
                assert_eq!(s.y[i], y[id], "labels follow their rows");
                assert_eq!(s.more[0][2 * i], 10.0 * id as f32, "the second modality follows its rows");
            }
        }
    }

    #[test]
    fn the_split_depends_on_the_dataset_seed_only() {
        let y = labels();
        let rows = |seed| validation_rows(&numbered(&y), Task::Classification, 0.2, seed);
        assert_eq!(rows(5), rows(5));
        assert_ne!(rows(5), rows(6));
    }

    #[test]
    fn regression_splits_are_one_shuffled_group_and_keep_their_targets() {
        let mut split = numbered(&[0; 20]);
        split.target = (0..20).map(|i| i as f32 / 2.0).collect();
        let rows = validation_rows(&split, Task::Regression, 0.25, 0);
        assert_eq!(rows.len(), 5);
        let relabelled = Split { y: (0..20).collect(), ..split.clone() };
        assert_eq!(validation_rows(&relabelled, Task::Regression, 0.25, 0), rows, "labels play no part");
        let mut data = dataset(split);
        data.info.task = Task::Regression;
        let valid = carve(data, 0.25, 0).unwrap().valid.unwrap();
        let ids: Vec<usize> = valid.x.iter().step_by(2).map(|&v| v as usize).collect();
        assert_eq!(ids, rows);
        assert_eq!(valid.target, rows.iter().map(|&i| i as f32 / 2.0).collect::<Vec<_>>());
    }

    #[test]
    fn a_dataset_with_its_own_validation_split_is_not_carved() {
        let e = carve(dataset(numbered(&labels())).with_valid(Split::default()), 0.1, 0).unwrap_err();
        assert!(e.contains("its own validation split"), "{e}");
    }

    #[test]
    fn a_carve_without_rows_is_an_error() {
        let e = carve(dataset(numbered(&[0, 1, 2])), 0.5, 0).unwrap_err();
        assert!(e.contains("leaves no validation rows"), "{e}");
    }

    #[test]
    fn loading_carves_the_same_split_every_time_and_zero_changes_nothing() {
        let opts = XorModalOptions { n_train: 200, n_test: 20, length: 4, ..Default::default() };
        let plain = DatasetSpec::new(opts.clone());
        let before = crate::data::DatasetSource::load(&opts).unwrap();
        let zero = plain.load().unwrap();
        assert!(zero.valid.is_none());
        assert_eq!(
            (&zero.train.x, &zero.train.y, &zero.train.more),
            (&before.train.x, &before.train.y, &before.train.more)
        );
        let spec = plain.with_validation(0.1);
        let (a, b) = (spec.load().unwrap(), spec.load().unwrap());
        let (va, vb) = (a.valid.unwrap(), b.valid.unwrap());
        assert_eq!((va.len(), a.train.len()), (20, 180));
        assert_eq!((&va.x, &va.y, &va.more), (&vb.x, &vb.y, &vb.more));
        assert_eq!(a.test.x, before.test.x, "the test split is untouched");
        let reseeded = DatasetSpec::new(XorModalOptions { seed: 1, ..opts }).with_validation(0.1).load().unwrap();
        assert_ne!(reseeded.valid.unwrap().x, va.x);
    }
}
