//! Checkpoints: a trial's training state, saved every `training.checkpoint_every` steps so that
//! a killed trial resumes where it stopped and ends with the numbers of an uninterrupted run.
//!
//! A trial directory's `checkpoint/` holds one sub-directory per kept checkpoint and a pointer:
//!
//! ```text
//! checkpoint/
//!   LATEST              the name of the newest complete checkpoint ("ckpt-0000200")
//!   ckpt-0000200/       loop.json (step, loss tallies, last and best evaluation, evaluation
//!                       count, early-stopping state), metrics.csv (the rows so far), and the
//!                       step's files: model.bpk, optim.bpk, batches.json (classifiers; best.bpk
//!                       when selecting the best), g.bpk, d.bpk, g_optim.bpk, d_optim.bpk,
//!                       real.json (the GAN; best_g.bpk)
//!   .partial-ckpt-*/    a checkpoint being written (never read)
//! ```
//!
//! A checkpoint is written into `.partial-ckpt-<step>/`, renamed to `ckpt-<step>/` when
//! complete, and only then named by `LATEST` (replaced atomically); older checkpoints are
//! removed after that. A kill at any moment leaves `LATEST` naming a complete checkpoint, and
//! a failed write (a full disk) leaves the previous one in place. Only `LATEST` is synced to
//! disk (one `fsync` per checkpoint), so after a power failure the newest checkpoint's files
//! may be missing; resuming from it then fails with an error that says `--force` starts over.
//!
//! A worker's [`TrialCheckpoints`] takes the snapshot (the files' bytes) on the training
//! thread and writes it in a background thread, at most one write in flight; with the default
//! interval ([`Cadence::Throttled`]) it skips a boundary less than [`THROTTLE`] times the last
//! write's cost after that write, unless a stop is pending, so that checkpoints cost at most
//! about 2% of a trial's time (docs/benchmarks.md, "Checkpoint overhead"). The boundaries, and
//! the device reseeding at each, do not depend on which are written. Weights and optimizer state
//! are Burn burnpack records ([`module_bytes`], [`optim_bytes`]); floats of the loop's state
//! are stored as their bit patterns, so a resumed run continues from exactly the same values.
//!
//! The learning-rate schedule holds no state of its own to save: [`super::BurnSchedule`]
//! replays Burn's scheduler up to the step asked for, which gives the same factors. The
//! device's generator cannot be saved (Burn's CPU backends keep it in a private static), so
//! every run reseeds the device at each checkpoint boundary from (trial seed, step)
//! ([`super::seeds::boundary_seed`]): a resumed run then draws what an uninterrupted one does.

use super::hooks::Checkpointer;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The name of a trial directory's checkpoint folder.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// The pointer file naming the newest complete checkpoint.
const LATEST: &str = "LATEST";

/// A checkpoint's files by name (`model.bpk`, `loop.json`, ...).
pub type Files = BTreeMap<String, Vec<u8>>;

/// A checkpoint read back: the step it was saved after and its files.
#[derive(Debug, Clone)]
pub struct Saved {
    /// Steps done when it was saved.
    pub step: usize,
    /// Its files by name.
    pub files: Files,
}

impl Saved {
    /// The file `name`.
    ///
    /// # Errors
    /// The checkpoint has no such file (it was written by another trainer or version).
    pub fn file(&self, name: &str) -> std::result::Result<&[u8], String> {
        file(&self.files, name)
    }
}

/// The file `name` of `files`; an error naming it when missing.
///
/// # Errors
/// `"the checkpoint has no NAME"`.
pub fn file<'a>(files: &'a Files, name: &str) -> std::result::Result<&'a [u8], String> {
    files.get(name).map(Vec::as_slice).ok_or_else(|| format!("the checkpoint has no {name}"))
}

/// What stays in `checkpoint/` after a trial finishes (`burnlab run --keep-checkpoints`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeepCheckpoints {
    /// The last checkpoint written (the default).
    #[default]
    Last,
    /// The checkpoint written at the selected evaluation (the best one with
    /// `[report] select = "best"`) when one was written there, else the last.
    Best,
    /// Every checkpoint written (none is removed during the run either).
    All,
    /// None: `checkpoint/` is removed when the trial finishes.
    None,
}

impl KeepCheckpoints {
    /// The option's value as typed (`last`, `best`, `all`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeepCheckpoints::Last => "last",
            KeepCheckpoints::Best => "best",
            KeepCheckpoints::All => "all",
            KeepCheckpoints::None => "none",
        }
    }
}

/// A trial's `checkpoint/` folder (see the module documentation for its layout).
#[derive(Debug, Clone)]
pub struct CheckpointDir {
    root: PathBuf,
}

fn ckpt_name(step: usize) -> String {
    format!("ckpt-{step:07}")
}

fn step_of(name: &str) -> Option<usize> {
    name.strip_prefix("ckpt-")?.parse().ok()
}

impl CheckpointDir {
    /// The checkpoint folder of the trial directory `trial_dir`.
    pub fn of_trial(trial_dir: &Path) -> Self {
        CheckpointDir { root: trial_dir.join(CHECKPOINT_DIR) }
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The newest complete checkpoint, read into memory; `None` when there is none.
    ///
    /// # Errors
    /// An unreadable `LATEST` or checkpoint file, naming it.
    pub fn latest(&self) -> Result<Option<Saved>> {
        let pointer = self.root.join(LATEST);
        let name = match std::fs::read_to_string(&pointer) {
            Ok(text) => text.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io(&pointer, e)),
        };
        let step =
            step_of(&name).ok_or_else(|| anyhow::anyhow!("{}: not a checkpoint name: {name}", pointer.display()))?;
        let dir = self.root.join(&name);
        let mut files = Files::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
            let path = entry.map_err(|e| Error::io(&dir, e))?.path();
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            files.insert(path.file_name().unwrap_or_default().to_string_lossy().into_owned(), bytes);
        }
        Ok(Some(Saved { step, files }))
    }

    /// The step of the checkpoint `LATEST` names, without reading it (`None`: none).
    pub fn latest_step(&self) -> Option<usize> {
        step_of(std::fs::read_to_string(self.root.join(LATEST)).ok()?.trim())
    }

    /// The steps of the complete checkpoints present, in order.
    pub fn steps(&self) -> Vec<usize> {
        let mut steps: Vec<usize> = std::fs::read_dir(&self.root)
            .map(|rd| rd.filter_map(|e| step_of(&e.ok()?.file_name().to_string_lossy())).collect())
            .unwrap_or_default();
        steps.sort_unstable();
        steps
    }

    /// Writes the checkpoint of `step` (see the module documentation): its files into a
    /// partial folder, renamed when complete, then `LATEST` replaced atomically.
    ///
    /// # Errors
    /// An I/O error naming the file (a full disk: the partial folder is removed and the
    /// previous checkpoint stays the latest).
    pub fn write(&self, step: usize, files: &Files) -> Result<()> {
        let name = ckpt_name(step);
        let partial = self.root.join(format!(".partial-{name}"));
        let written = self.write_partial(&partial, files).and_then(|_| {
            let dir = self.root.join(&name);
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            }
            std::fs::rename(&partial, &dir).map_err(|e| Error::io(&dir, e))?;
            write_atomic(&self.root.join(LATEST), format!("{name}\n").as_bytes())
        });
        if written.is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
        written
    }

    fn write_partial(&self, partial: &Path, files: &Files) -> Result<()> {
        if partial.exists() {
            std::fs::remove_dir_all(partial).map_err(|e| Error::io(partial, e))?;
        }
        std::fs::create_dir_all(partial).map_err(|e| Error::io(partial, e))?;
        for (name, bytes) in files {
            let path = partial.join(name);
            let mut f = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
            f.write_all(bytes).map_err(|e| Error::io(&path, e))?;
        }
        Ok(())
    }

    /// Removes every checkpoint (and partial one) whose step is not in `keep`.
    ///
    /// # Errors
    /// An I/O error naming the folder.
    pub fn prune(&self, keep: &[usize]) -> Result<()> {
        let Ok(entries) = std::fs::read_dir(&self.root) else { return Ok(()) };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stale = match step_of(&name) {
                Some(step) => !keep.contains(&step),
                None => name.starts_with(".partial-"),
            };
            if stale {
                std::fs::remove_dir_all(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            }
        }
        Ok(())
    }

    /// Applies `keep` to a finished trial whose selected evaluation was at `selected`: keeps
    /// the last checkpoint (`last`), the one at `selected` when there is one, else the last
    /// (`best`), all of them, or none (the folder is removed).
    ///
    /// # Errors
    /// An I/O error naming the folder.
    pub fn finish(&self, keep: KeepCheckpoints, selected: Option<usize>) -> Result<()> {
        let steps = self.steps();
        let last = steps.last().copied();
        match keep {
            KeepCheckpoints::All => self.prune(&steps),
            KeepCheckpoints::Last => self.prune(&last.into_iter().collect::<Vec<_>>()),
            KeepCheckpoints::Best => {
                let kept = selected.filter(|s| steps.contains(s)).or(last);
                self.prune(&kept.into_iter().collect::<Vec<_>>())?;
                match kept {
                    Some(step) => write_atomic(&self.root.join(LATEST), format!("{}\n", ckpt_name(step)).as_bytes()),
                    None => Ok(()),
                }
            }
            KeepCheckpoints::None => self.remove(),
        }
    }

    /// Removes the folder and every checkpoint in it.
    ///
    /// # Errors
    /// An I/O error naming the folder.
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.root) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(&self.root, e)),
            _ => Ok(()),
        }
    }

    /// The bytes the folder's files take (0 when there is none).
    pub fn size(&self) -> u64 {
        dir_size(&self.root)
    }
}

fn dir_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else { return 0 };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path()),
            _ => e.metadata().map(|m| m.len()).unwrap_or(0),
        })
        .sum()
}

/// The throttle's factor: with the default interval, a boundary's checkpoint is written only
/// when at least `THROTTLE` times the last write's cost has passed since that write started,
/// which bounds the time spent on checkpoints to about `1 / THROTTLE` (2%) of the run.
pub const THROTTLE: u32 = 50;

/// What the throttle assumes a write costs before the first one is measured: a typical
/// checkpoint of MNIST-1D's models, most of it `LATEST`'s `fsync` (docs/benchmarks.md). So the
/// first boundary is written only once `THROTTLE` times this (250 ms) of the trial has passed,
/// and a trial shorter than that writes none unless it is stopped.
pub const FIRST_WRITE_COST: std::time::Duration = std::time::Duration::from_millis(5);

/// When checkpoints are written at their boundaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cadence {
    /// At every boundary (`training.checkpoint_every` given).
    Every,
    /// At a boundary when [`THROTTLE`] times the last write's cost has passed since it
    /// started, and whenever a stop is pending (`checkpoint_every` absent: the default).
    Throttled,
    /// Never (`checkpoint_every = 0`): the boundaries, and the device reseeding at each, stay
    /// those of the default interval, so the numbers equal a run with checkpoints.
    Never,
}

impl Cadence {
    /// The interval and cadence `[training]` asks for: `checkpoint_every` at every boundary
    /// when given, else every `eval_every` steps, throttled; `checkpoint_every = 0`: the
    /// default's boundaries, none written.
    pub fn of(training: &super::TrainingSpec) -> (usize, Cadence) {
        let cadence = match training.checkpoint_every {
            None => Cadence::Throttled,
            Some(0) => Cadence::Never,
            Some(_) => Cadence::Every,
        };
        (training.checkpoint_interval(), cadence)
    }
}

/// The write in flight: its thread (the write's duration, or its error) and the time the
/// training thread spent taking its snapshot.
struct InFlight {
    thread: std::thread::JoinHandle<Result<std::time::Duration>>,
    snapshot: std::time::Duration,
    started: std::time::Instant,
}

/// The checkpointer of a trial run by a worker: saves into the trial's `checkpoint/` every
/// `every` steps (0: never), keeps what [`KeepCheckpoints`] asks for while it runs (the
/// newest, plus the best evaluation's with `best`, or all), reseeds `device` at each boundary
/// and hands the loop the checkpoint to resume from.
///
/// A checkpoint's files are written by a background thread while training goes on, at most
/// one write in flight: [`Checkpointer::save`] waits for the previous write (and returns its
/// error) before starting the next, and [`Checkpointer::flush`] waits for it. `LATEST` names a
/// checkpoint only once its folder is complete. With [`Cadence::Throttled`] a boundary is
/// written only when [`Checkpointer::wants`] says so.
pub struct TrialCheckpoints {
    store: CheckpointDir,
    every: usize,
    cadence: Cadence,
    keep: KeepCheckpoints,
    device: Device,
    seed: u64,
    resume: Option<Saved>,
    in_flight: Option<InFlight>,
    /// The last finished write: when it started and what it cost (snapshot and write).
    last: Option<(std::time::Instant, std::time::Duration)>,
    /// When the snapshot of the boundary being saved started ([`Checkpointer::wants`]).
    snapshot_from: Option<std::time::Instant>,
    /// When the checkpointer was made (the trial's start, for the throttle's first write).
    started: std::time::Instant,
}

impl TrialCheckpoints {
    /// Checkpoints in `store` every `every` steps of the trial seeded `seed` on `device`,
    /// written as `cadence` says, resuming from `resume` (read with
    /// [`CheckpointDir::latest`]) when given.
    pub fn new(
        store: CheckpointDir,
        (every, cadence): (usize, Cadence),
        keep: KeepCheckpoints,
        (device, seed): (Device, u64),
        resume: Option<Saved>,
    ) -> Self {
        let (in_flight, last, snapshot_from, started) = (None, None, None, std::time::Instant::now());
        TrialCheckpoints { store, every, cadence, keep, device, seed, resume, in_flight, last, snapshot_from, started }
    }

    /// Waits for the write in flight, if any; records its cost.
    ///
    /// # Errors
    /// The write's error (naming the file), or a panic of the writer.
    fn join(&mut self) -> Result<()> {
        let Some(flight) = self.in_flight.take() else { return Ok(()) };
        let took = flight.thread.join().map_err(|_| anyhow::anyhow!("the checkpoint writer panicked"))??;
        self.last = Some((flight.started, flight.snapshot + took));
        Ok(())
    }

    /// Whether the throttle lets the boundary at `now` be written: no write in flight and
    /// at least [`THROTTLE`] times the last write's cost since it started (before the first
    /// write: [`THROTTLE`] times [`FIRST_WRITE_COST`] since the trial started).
    ///
    /// # Errors
    /// The error of the write that finished, naming the file.
    fn throttle_allows(&mut self, now: std::time::Instant) -> Result<bool> {
        if self.in_flight.as_ref().is_some_and(|f| !f.thread.is_finished()) {
            return Ok(false);
        }
        self.join()?;
        let (since, cost) = self.last.unwrap_or((self.started, FIRST_WRITE_COST));
        Ok(now.duration_since(since) >= cost * THROTTLE)
    }
}

impl Checkpointer for TrialCheckpoints {
    fn due(&self, step: usize) -> bool {
        self.every > 0 && step.is_multiple_of(self.every)
    }

    fn wants(&mut self, _step: usize, stop_pending: bool) -> Result<bool> {
        let now = std::time::Instant::now();
        let wanted = match self.cadence {
            Cadence::Throttled if !stop_pending => self.throttle_allows(now)?,
            Cadence::Never => false,
            _ => true,
        };
        self.snapshot_from = wanted.then_some(now);
        Ok(wanted)
    }

    fn save(&mut self, step: usize, best: Option<usize>, files: Files) -> Result<()> {
        self.join()?;
        let started = self.snapshot_from.take().unwrap_or_else(std::time::Instant::now);
        let snapshot = started.elapsed();
        let keep: Option<Vec<usize>> = match self.keep {
            KeepCheckpoints::All => None,
            KeepCheckpoints::Best => Some([Some(step), best].into_iter().flatten().collect()),
            _ => Some(vec![step]),
        };
        let store = self.store.clone();
        let thread = std::thread::Builder::new()
            .name("checkpoint-writer".into())
            .spawn(move || {
                let t = std::time::Instant::now();
                store.write(step, &files)?;
                keep.map_or(Ok(()), |k| store.prune(&k))?;
                Ok(t.elapsed())
            })
            .map_err(|e| anyhow::anyhow!("starting the checkpoint writer: {e}"))?;
        self.in_flight = Some(InFlight { thread, snapshot, started });
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        self.join()
    }

    fn reseed(&mut self, step: usize) {
        self.device.seed(super::seeds::boundary_seed(self.seed, step));
    }

    fn resume(&mut self) -> Option<Saved> {
        self.resume.take()
    }
}

impl Drop for TrialCheckpoints {
    /// Waits for a write in flight (its error was the loop's to report).
    fn drop(&mut self) {
        let _ = self.join();
    }
}

/// A module's parameters (and buffers: batch norm's running statistics) as a burnpack record.
///
/// # Errors
/// Burn's record error, as text.
pub fn module_bytes<M: Module>(module: &M) -> std::result::Result<Vec<u8>, String> {
    module.clone().into_record().into_bytes().map(|b| b.to_vec()).map_err(|e| format!("saving a module: {e}"))
}

/// `module` with the parameters of the record `bytes` ([`module_bytes`]), their ids included
/// (the optimizer's state is keyed by them).
///
/// # Errors
/// A record that does not fit the module, as text.
pub fn load_module<M: Module>(module: M, bytes: &[u8]) -> std::result::Result<M, String> {
    let record = burn::store::ModuleRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| format!("reading a module record: {e}"))?;
    module.try_load_record(record).map_err(|e| format!("loading a module record: {e}"))
}

/// An optimizer's state (moments, step counts) as a burnpack record.
///
/// # Errors
/// Burn's record error, as text.
pub fn optim_bytes(optim: &ModuleOptimizer) -> std::result::Result<Vec<u8>, String> {
    optim.into_bytes().map(|b| b.to_vec()).map_err(|e| format!("saving an optimizer: {e}"))
}

/// Replaces the state of `optim` by the record `bytes` ([`optim_bytes`]).
///
/// # Errors
/// An unreadable record, as text.
pub fn load_optim(optim: &mut ModuleOptimizer, bytes: &[u8]) -> std::result::Result<(), String> {
    let placeholder = burn::optim::SgdConfig::new().init();
    let taken = std::mem::replace(optim, placeholder);
    *optim = taken
        .from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| format!("loading an optimizer record: {e}"))?;
    Ok(())
}

/// `value` as JSON bytes (the state files of a checkpoint).
///
/// # Errors
/// serde's error, as text.
pub fn json_bytes<T: Serialize>(value: &T) -> std::result::Result<Vec<u8>, String> {
    serde_json::to_vec(value).map_err(|e| e.to_string())
}

/// The JSON file `name` of `files`, parsed.
///
/// # Errors
/// A missing or malformed file, naming it.
pub fn json_file<T: for<'de> Deserialize<'de>>(files: &Files, name: &str) -> std::result::Result<T, String> {
    serde_json::from_slice(file(files, name)?).map_err(|e| format!("the checkpoint's {name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn files(tag: &str) -> Files {
        Files::from([("a.bin".to_string(), tag.as_bytes().to_vec())])
    }

    #[test]
    fn the_latest_complete_checkpoint_is_read_back_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointDir::of_trial(dir.path());
        assert!(store.latest().unwrap().is_none());
        store.write(10, &files("ten")).unwrap();
        store.write(20, &files("twenty")).unwrap();
        // A partial write of a later step is never read.
        std::fs::create_dir_all(store.path().join(".partial-ckpt-0000030")).unwrap();
        let saved = store.latest().unwrap().unwrap();
        assert_eq!((saved.step, saved.file("a.bin").unwrap()), (20, b"twenty".as_slice()));
        assert_eq!(store.steps(), [10, 20]);
        store.finish(KeepCheckpoints::Best, Some(10)).unwrap();
        assert_eq!(store.steps(), [10]);
        assert_eq!(store.latest().unwrap().unwrap().step, 10);
        assert!(!store.path().join(".partial-ckpt-0000030").exists());
        assert!(store.size() > 0);
        store.finish(KeepCheckpoints::None, None).unwrap();
        assert!(!store.path().exists() && store.size() == 0);
    }

    fn checkpointer(root: &Path, cadence: Cadence) -> TrialCheckpoints {
        let store = CheckpointDir::of_trial(root);
        TrialCheckpoints::new(store, (10, cadence), KeepCheckpoints::Last, (Device::flex(), 0), None)
    }

    #[test]
    fn the_throttle_skips_boundaries_soon_after_a_write_but_never_before_a_stop() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = checkpointer(dir.path(), Cadence::Throttled);
        assert!(c.due(20) && !c.due(25));
        // Nothing in the first 50 assumed write costs (250 ms) of a trial...
        assert!(!c.wants(10, false).unwrap());
        // ... then the first boundary is written, and its cost measured.
        c.started -= Duration::from_millis(300);
        assert!(c.wants(10, false).unwrap());
        c.save(10, None, files("ten")).unwrap();
        c.flush().unwrap();
        assert!(c.last.is_some_and(|(_, cost)| cost > Duration::ZERO));
        // A boundary less than 50 times the last write's cost after it is skipped...
        let now = Instant::now();
        c.last = Some((now, Duration::from_secs(1)));
        assert!(!c.wants(20, false).unwrap());
        // ... unless a stop is pending.
        assert!(c.wants(30, true).unwrap());
        c.save(30, None, files("thirty")).unwrap();
        c.flush().unwrap();
        assert_eq!(c.store.steps(), [30]);
        // One 50 times the last write's cost after it is written.
        c.last = Some((now - Duration::from_secs(51), Duration::from_secs(1)));
        assert!(c.wants(40, false).unwrap());
        // An explicit `checkpoint_every` writes every boundary.
        let mut every = checkpointer(dir.path(), Cadence::Every);
        every.save(50, None, files("fifty")).unwrap();
        assert!(every.wants(60, false).unwrap());
        every.flush().unwrap();
        assert_eq!(every.store.latest().unwrap().unwrap().step, 50);
        // `checkpoint_every = 0`: the boundaries stay (for the reseeding), none is written,
        // not even before a stop.
        let mut never = checkpointer(dir.path(), Cadence::Never);
        assert!(never.due(20) && !never.due(25));
        assert!(!never.wants(20, false).unwrap() && !never.wants(30, true).unwrap());
    }

    #[test]
    fn a_failed_background_write_is_reported_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        // `checkpoint` is a file: its partial folder cannot be made.
        std::fs::write(dir.path().join(CHECKPOINT_DIR), b"").unwrap();
        let mut c = checkpointer(dir.path(), Cadence::Every);
        c.save(10, None, files("ten")).unwrap();
        let error = c.flush().unwrap_err().to_string();
        assert!(error.contains("checkpoint/.partial-ckpt-0000010"), "{error}");
        assert!(c.flush().is_ok(), "reported once");
    }
}
