//! Exact resume on LibTorch CPU (cargo feature `tch`): trials killed at random moments (SIGKILL
//! to the runner's process group, several times) and rerun end with the `metrics.csv` and
//! summary of an uninterrupted run, byte for byte, as on flex and ndarray (`tests/resume.rs`).

#![cfg(feature = "tch")]

mod common;
mod resume_common;

use resume_common::{GAN, killed_runs_end_as_uninterrupted, recipe};

#[test]
fn trials_killed_at_random_moments_resume_with_identical_numbers_on_libtorch_cpu() {
    killed_runs_end_as_uninterrupted(&recipe("BACKEND"), "libtorch", 3);
}

#[test]
fn a_killed_gan_resumes_with_identical_numbers_on_libtorch_cpu() {
    killed_runs_end_as_uninterrupted(GAN, "libtorch", 2);
}
