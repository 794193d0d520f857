//! Augmented training resumes exactly: a trial on the Fashion-MNIST sample with crop, flip and
//! translation, killed (SIGKILL) after a checkpoint and rerun until done, ends with the
//! `metrics.csv` and summary of an uninterrupted run (the augmentation's draw number is part
//! of the batcher's checkpoint). The kill loop is `resume_common`'s.

mod common;
mod resume_common;

use resume_common::killed_runs_end_as_uninterrupted;

/// A small 2-D CNN on the augmented, normalised sample, checkpointed at every evaluation.
const AUGMENTED: &str = r#"name = "r"
backend = "BACKEND"
seeds = [0]

[dataset]
name = "fashion-mnist"
sample = true
normalize = true
augment = [{ kind = "crop", padding = 2 }, { kind = "flip" }, { kind = "translate", pixels = 1 }]

[training]
lr = 1e-2
batch_size = 32
steps = 200
eval_every = 20
log_every = 10
checkpoint_every = 20

[[models]]
family = "cnn"
dim = 2
channels = [8, 8]
kernels = [3, 3]
strides = [1, 2]
"#;

#[test]
fn an_augmented_trial_killed_after_a_checkpoint_resumes_with_identical_numbers() {
    killed_runs_end_as_uninterrupted(AUGMENTED, "flex", 2);
}
