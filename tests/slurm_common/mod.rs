//! What the tests on the real single-node Slurm cluster share (`tests/slurm_requeue.rs`,
//! `tests/slurm_adaptive.rs`): starting `scripts/slurm-cluster` (as root) only when
//! `BURNLAB_SLURM_TESTS=1`, and stopping it afterwards if the test started it. The including
//! test crate declares `mod common;` first.

#![allow(dead_code)]

use super::common::{stderr, stdout};
use std::path::Path;
use std::process::{Command, Output};

fn cluster(action: &str) -> Output {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/slurm-cluster");
    Command::new("bash").arg(script).arg(action).output().unwrap()
}

/// The cluster while a test runs; stops it when dropped if the test started it (unless
/// `BURNLAB_SLURM_KEEP=1`).
pub struct Cluster(bool);

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.0 && std::env::var("BURNLAB_SLURM_KEEP").as_deref() != Ok("1") {
            cluster("stop");
        }
    }
}

/// Starts the cluster, or `None` (the test is skipped) unless `BURNLAB_SLURM_TESTS=1`.
pub fn up() -> Option<Cluster> {
    if std::env::var("BURNLAB_SLURM_TESTS").as_deref() != Ok("1") {
        eprintln!("skipped: set BURNLAB_SLURM_TESTS=1 (as root: starts a single-node Slurm cluster)");
        return None;
    }
    let was_up = stdout(&cluster("status")).contains("slurmctld: running");
    let started = cluster("start");
    assert!(started.status.success(), "scripts/slurm-cluster start: {}", stderr(&started));
    Some(Cluster(!was_up))
}
