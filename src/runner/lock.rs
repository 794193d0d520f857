//! An exclusive lock on a results directory, released by the OS when the last process holding
//! it exits: the runner and, through an inherited descriptor, every worker it started.
//!
//! The lock is an OS file lock (`flock`) on `.lock`, so a crashed run never leaves it stuck.
//! Who holds it is written next to it, atomically, in `.lock.pid` (the runner's pid and its
//! live workers' pids), so that a refused run can always name a live holder.

use crate::error::{Error, Result, UserError};
use crate::fsutil::write_json_atomic;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The environment variable telling a worker which inherited descriptor holds the lock.
pub const LOCK_FD_ENV: &str = "BURNLAB_LOCK_FD";

/// How long a refused run waits for the holder to record itself (it writes `.lock.pid` right
/// after taking the lock) before saying that no holder is recorded.
const HOLDER_WAIT: Duration = Duration::from_secs(1);

/// The processes holding a results directory's lock, as recorded in `.lock.pid`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holders {
    /// The `burnlab run` that took the lock.
    pub runner: u32,
    /// Its worker processes (each holds the lock too, until it exits).
    pub workers: Vec<u32>,
}

/// Held for the lifetime of a `burnlab run` on one results directory.
#[derive(Debug)]
pub struct ResultsLock {
    file: File,
    pid_path: PathBuf,
    holders: Holders,
}

impl ResultsLock {
    /// Takes the lock or fails with a message naming the live holder's pid.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(".lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let pid_path = dir.join(".lock.pid");
        match file.try_lock() {
            Ok(()) => {
                let lock = ResultsLock {
                    file,
                    pid_path,
                    holders: Holders { runner: std::process::id(), workers: Vec::new() },
                };
                lock.write_holders()?;
                Ok(lock)
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(refusal(dir, &pid_path).into()),
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }

    /// Records the pids of the live workers (rewrites `.lock.pid` atomically).
    pub fn set_workers(&mut self, workers: Vec<u32>) -> Result<()> {
        self.holders.workers = workers;
        self.write_holders()
    }

    fn write_holders(&self) -> Result<()> {
        write_json_atomic(&self.pid_path, &self.holders)
    }

    /// Makes a worker started by `cmd` hold this lock until it exits, even past the runner:
    /// the child keeps the lock's descriptor open across `exec` (its number in
    /// [`LOCK_FD_ENV`]), and a `flock` lasts while any descriptor of it is open. A new run is
    /// then refused while an orphaned worker still writes into the directory.
    pub fn share_with(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        let fd = self.file.as_raw_fd();
        cmd.env(LOCK_FD_ENV, fd.to_string());
        // SAFETY: runs in the forked child before exec and only calls fcntl(2), which is
        // async-signal-safe; the parent's descriptor keeps its close-on-exec flag.
        unsafe {
            cmd.pre_exec(move || {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

impl Drop for ResultsLock {
    /// Removes `.lock.pid` when no worker is recorded as alive; the OS lock itself goes with
    /// the last descriptor.
    fn drop(&mut self) {
        if self.holders.workers.iter().all(|&p| !alive(p)) {
            let _ = std::fs::remove_file(&self.pid_path);
        }
    }
}

/// Called in a worker: keeps the inherited lock descriptor (see [`ResultsLock::share_with`])
/// open for the worker's lifetime but out of the processes it starts itself.
pub fn keep_inherited_lock() {
    let Some(fd) = std::env::var(LOCK_FD_ENV).ok().and_then(|v| v.parse::<i32>().ok()) else { return };
    // SAFETY: fcntl(2) on a descriptor number; an invalid one only returns EBADF.
    unsafe {
        libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
}

/// Whether process `pid` is alive (not exited, not a zombie).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses, which may itself hold spaces.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        Err(_) => false,
    }
}

/// The live holders recorded in `.lock.pid`, waiting briefly for a run that has just taken
/// the lock to record itself.
fn live_holders(pid_path: &Path) -> Option<Holders> {
    let deadline = Instant::now() + HOLDER_WAIT;
    loop {
        let recorded: Option<Holders> = crate::fsutil::read_json(pid_path).ok();
        if let Some(h) = recorded.filter(|h| alive(h.runner) || h.workers.iter().any(|&w| alive(w))) {
            return Some(Holders { runner: h.runner, workers: h.workers.into_iter().filter(|&w| alive(w)).collect() });
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The error for a run refused because `dir` is locked.
fn refusal(dir: &Path, pid_path: &Path) -> UserError {
    let at = dir.display().to_string();
    match live_holders(pid_path) {
        Some(h) if alive(h.runner) => {
            UserError::new(format!("another burnlab run (pid {}) is using this results directory", h.runner))
                .at(at)
                .help("wait for it to finish, or stop it; a crashed run releases the lock by itself")
        }
        Some(h) => {
            let pids: Vec<String> = h.workers.iter().map(u32::to_string).collect();
            UserError::new(format!(
                "another burnlab run (pid {}) has ended, but its worker process(es) (pid {}) are still \
                 using this results directory",
                h.runner,
                pids.join(", ")
            ))
            .at(at)
            .help(format!(
                "they stop at their next training step and record their trials as interrupted; retry in a \
                 moment, or end them: kill {}",
                pids.join(" ")
            ))
        }
        None => UserError::new(
            "another burnlab run is using this results directory (its lock is held, but no live holder \
             is recorded in .lock.pid)",
        )
        .at(at)
        .help("wait for it to finish, or stop the process holding its `.lock` (`fuser -v .lock` names it)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_programs_do_not_see_the_lock_descriptor() {
        assert_eq!(LOCK_FD_ENV, crate::models::command::LOCK_FD_ENV);
    }

    #[test]
    fn a_second_lock_is_refused_with_the_holders_pid() {
        let dir = tempfile::tempdir().unwrap();
        let mut lock = ResultsLock::acquire(dir.path()).unwrap();
        let recorded: Holders = crate::fsutil::read_json(&dir.path().join(".lock.pid")).unwrap();
        assert_eq!(recorded, Holders { runner: std::process::id(), workers: vec![] });
        lock.set_workers(vec![std::process::id()]).unwrap();
        let e = ResultsLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(e.contains(&format!("another burnlab run (pid {})", std::process::id())), "{e}");
        drop(lock);
        ResultsLock::acquire(dir.path()).unwrap();
    }

    #[test]
    fn liveness_reads_proc() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
    }
}
