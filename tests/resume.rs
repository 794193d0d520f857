//! Checkpoints and exact resume: trials killed (SIGKILL to the runner and its workers, at
//! random moments, several times) or stopped with Ctrl-C, then rerun until done, end with the
//! `metrics.csv`, final metrics and summary of an uninterrupted run, byte for byte; TensorBoard
//! gets each point once. The helpers are in `resume_common/`.

mod common;
mod resume_common;

use common::{Scratch, stderr, summary, trial_dirs};
use resume_common::{GAN, finish, killed_runs_end_as_uninterrupted, mnist1d, outcome, recipe, signal, start};
use std::time::Duration;

#[test]
fn trials_killed_at_random_moments_resume_with_identical_numbers_on_flex() {
    killed_runs_end_as_uninterrupted(&recipe("BACKEND"), "flex", 3);
}

#[test]
fn trials_killed_at_random_moments_resume_with_identical_numbers_on_ndarray() {
    killed_runs_end_as_uninterrupted(&recipe("BACKEND"), "ndarray", 3);
}

#[test]
fn a_killed_gan_resumes_with_identical_numbers() {
    killed_runs_end_as_uninterrupted(GAN, "ndarray", 2);
}

#[test]
fn trials_stopped_with_ctrl_c_resume_with_identical_numbers() {
    let s = Scratch::new();
    let file = s.file("r.toml", &recipe("flex"));
    finish(&s, &file, "whole");
    let mut resumed_from = Vec::new();
    for (delay, codes) in [(200, [130, 130]), (600, [130, 0])] {
        let child = start(&s, &file, "stopped");
        resume_common::wait_for_checkpoint(&s.path().join("stopped"));
        std::thread::sleep(Duration::from_millis(delay));
        signal(child.id() as i32, libc::SIGINT);
        let out = child.wait_with_output().unwrap();
        assert!(codes.contains(&out.status.code().unwrap_or(-1)), "{:?}: {}", out.status, stderr(&out));
        // Interrupted trials record themselves so, and keep their checkpoint.
        for d in trial_dirs(&s.path().join("stopped"), "r") {
            if summary(&d)["status"] == "interrupted" {
                resumed_from.extend(std::fs::read_to_string(d.join("checkpoint/LATEST")));
            }
        }
    }
    assert!(!resumed_from.is_empty(), "no interrupted trial with a checkpoint");
    finish(&s, &file, "stopped");
    assert_eq!(outcome(&s.path().join("whole")), outcome(&s.path().join("stopped")));
}

#[test]
fn checkpoint_every_sets_the_interval_and_keep_checkpoints_what_stays() {
    let s = Scratch::new();
    let text = recipe("flex").replace("checkpoint_every = 20", "checkpoint_every = 50");
    let text = text.replace("[[models]]\nfamily = \"attention\"\nd_model = 16\nff = 32\nheads = 2\nlayers = 1\n\n", "");
    let file = s.file("r.toml", &text);
    let ran = s.burnlab(&["run", file.to_str().unwrap(), "--results", "all", "--quiet", "--keep-checkpoints", "all"]);
    assert!(ran.status.success(), "{}", stderr(&ran));
    let dir = &trial_dirs(&s.path().join("all"), "r")[0];
    let steps = summary(dir)["steps"].as_u64().unwrap();
    let mut kept: Vec<String> = std::fs::read_dir(dir.join("checkpoint"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ckpt-"))
        .collect();
    kept.sort();
    let want: Vec<String> = (1..).map(|k| k * 50).take_while(|&t| t < steps).map(|t| format!("ckpt-{t:07}")).collect();
    assert_eq!(kept, want, "every 50 steps before the end ({steps})");
    assert!(dir.join("checkpoint/LATEST").is_file());
    let status = s.burnlab(&["status", "all/r"]);
    assert!(common::stdout(&status).contains("checkpoints"), "{}", common::stdout(&status));
    let ran = s.burnlab(&["run", file.to_str().unwrap(), "--results", "none", "--quiet", "--keep-checkpoints", "none"]);
    assert!(ran.status.success(), "{}", stderr(&ran));
    assert!(!trial_dirs(&s.path().join("none"), "r")[0].join("checkpoint").exists());
}

#[test]
fn checkpoint_every_0_writes_no_checkpoint_and_changes_no_number() {
    // Attention draws dropout masks from the device, which is reseeded at every boundary:
    // with checkpoints off the boundaries stay those of the default interval.
    let s = Scratch::new();
    let with = s.file("with.toml", &recipe("flex"));
    let without = s.file("without.toml", &recipe("flex").replace("checkpoint_every = 20", "checkpoint_every = 0"));
    let mut metrics = Vec::new();
    for (file, results) in [(&with, "with"), (&without, "without")] {
        let ran = s.burnlab(&["run", file.to_str().unwrap(), "--results", results, "--quiet"]);
        assert!(ran.status.success(), "{}", stderr(&ran));
        let mut csvs: Vec<String> = outcome(&s.path().join(results)).into_values().map(|(csv, _)| csv).collect();
        csvs.sort();
        metrics.push(csvs);
    }
    assert_eq!(metrics[0].len(), 2);
    assert_eq!(metrics[0], metrics[1], "the same metrics.csv with and without checkpoints");
    for d in trial_dirs(&s.path().join("without"), "r") {
        assert!(!d.join("checkpoint").exists(), "{} has a checkpoint", d.display());
    }
}

/// An MLP whose checkpoint takes about 1 MB (weights and Adam's moments), written at every
/// evaluation.
fn big() -> String {
    mnist1d(
        "r",
        "flex",
        "steps = 60\neval_every = 20\ncheckpoint_every = 20",
        "[[models]]\nfamily = \"mlp\"\nhidden = 256\n",
    )
}

/// Unmounts a file system when dropped.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_fails_the_trial_naming_the_file_and_keeps_the_previous_checkpoint() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: mounting a small tmpfs (a disk that fills up) needs root");
        return;
    }
    let s = Scratch::new();
    let file = s.file("r.toml", &big());
    let full = s.path().join("full");
    std::fs::create_dir(&full).unwrap();
    // Room for the first checkpoint (step 20) and the other files, not for a second one.
    let mounted =
        std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=1600k", "tmpfs"]).arg(&full).status();
    if !mounted.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    }
    let _unmount = Unmount(full.clone());
    s.burnlab(&["run", file.to_str().unwrap(), "--results", full.to_str().unwrap(), "--quiet"]);
    let dir = &trial_dirs(&full, "r")[0];
    let sum = summary(dir);
    let error = sum["error"].as_str().unwrap_or_default();
    assert_eq!(sum["status"], "failed", "{sum}");
    assert!(
        error.contains("checkpoint/.partial-ckpt-0000040/") && error.contains("No space left on device"),
        "{error}"
    );
    assert_eq!(std::fs::read_to_string(dir.join("checkpoint/LATEST")).unwrap(), "ckpt-0000020\n");
    // The checkpoint of step 20 is intact: a copy of the results on a disk with room resumes
    // from it and ends as an uninterrupted run.
    let copied = std::process::Command::new("cp").arg("-a").arg(&full).arg(s.path().join("copy")).status().unwrap();
    assert!(copied.success());
    finish(&s, &file, "copy");
    finish(&s, &file, "whole");
    assert_eq!(outcome(&s.path().join("whole")), outcome(&s.path().join("copy")));
}
