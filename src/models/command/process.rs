//! The program's process: started in its own process group, its standard error kept, stopped
//! with SIGTERM then SIGKILL.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, Command, ExitStatus};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How many of the last lines of standard error a failed trial's error quotes.
pub const STDERR_TAIL: usize = 20;

/// The file in the trial directory that keeps the program's whole standard error.
pub const STDERR_LOG: &str = "stderr.log";

/// How often a wait checks whether the process has ended.
const POLL: Duration = Duration::from_millis(20);

/// Starts `cmd` as the leader of a new process group (so that a terminal's Ctrl-C reaches
/// burnlab alone, and stopping the program stops its children too); on Linux the program gets
/// SIGTERM if the worker dies first.
///
/// # Errors
/// The program could not be started (not found, not executable).
pub fn spawn(cmd: &mut Command) -> std::io::Result<Child> {
    cmd.process_group(0);
    // SAFETY: prctl(2) is async-signal-safe; it only sets this child's parent-death signal.
    #[cfg(target_os = "linux")]
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    cmd.spawn()
}

/// Sends `signal` to the process group led by `child`.
fn signal_group(child: &Child, signal: libc::c_int) {
    let Ok(pgid) = libc::pid_t::try_from(child.id()) else { return };
    // SAFETY: kill(2) on the group the child leads; at worst ESRCH once it is gone.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Waits up to `limit` for `child` to exit.
pub fn wait_for(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(POLL),
            _ => return None,
        }
    }
}

/// Stops the program: SIGTERM to its process group, then SIGKILL after `grace_s` seconds if
/// it has not exited; returns its exit status.
pub fn stop(child: &mut Child, grace_s: f64) -> Option<ExitStatus> {
    signal_group(child, libc::SIGTERM);
    if let Some(status) = wait_for(child, Duration::from_secs_f64(grace_s)) {
        return Some(status);
    }
    signal_group(child, libc::SIGKILL);
    child.wait().ok()
}

/// Kills whatever is left in the group of a program that has exited (children still holding
/// its output open).
pub fn kill_leftovers(child: &Child) {
    signal_group(child, libc::SIGKILL);
}

/// Copies the program's standard error into `log` (the trial's `stderr.log`) on a thread, line
/// by line; the thread returns the last [`STDERR_TAIL`] lines.
pub fn tee_stderr(stderr: ChildStderr, mut file: std::fs::File) -> JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        let mut tail: VecDeque<String> = VecDeque::with_capacity(STDERR_TAIL + 1);
        let mut reader = BufReader::new(stderr);
        let mut buf = Vec::new();
        while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
            // The log is best effort: a full disk must not block the program on its pipe.
            let _ = file.write_all(&buf);
            tail.push_back(String::from_utf8_lossy(&buf).trim_end().to_string());
            if tail.len() > STDERR_TAIL {
                tail.pop_front();
            }
            buf.clear();
        }
        tail.into()
    })
}

/// A failed program's exit, in words (`exited with status 3`, `was killed by signal 9`).
pub fn describe(status: &ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(sig)) => format!("was killed by signal {sig}"),
        (None, None) => format!("ended with {status}"),
    }
}
