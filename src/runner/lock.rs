//! An exclusive lock on a results directory, released by the OS when its holder exits.

use crate::error::{Error, Result, UserError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// Held for the lifetime of a `burnlab run` on one results directory.
#[derive(Debug)]
pub struct ResultsLock {
    _file: File,
}

impl ResultsLock {
    /// Takes the lock or fails with a message naming the holder's pid.
    ///
    /// The lock is an OS file lock (`flock`), so a crashed run never leaves it stuck.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.join(".lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0).map_err(|e| Error::io(&path, e))?;
                file.rewind().map_err(|e| Error::io(&path, e))?;
                write!(file, "{}", std::process::id()).map_err(|e| Error::io(&path, e))?;
                Ok(ResultsLock { _file: file })
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let _ = file.read_to_string(&mut pid);
                Err(UserError::new(format!("another burnlab run (pid {}) is using this results directory", pid.trim()))
                    .at(dir.display().to_string())
                    .help("wait for it to finish, or stop it; a crashed run releases the lock by itself")
                    .into())
            }
            Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
        }
    }
}
