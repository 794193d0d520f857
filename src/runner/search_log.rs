//! `results/NAME/search.jsonl`: the search's proposals, decisions and outcomes
//! ([`SearchEvent`]), appended and fsynced before the runner acts on them, replayed by a
//! resumed run.

use crate::error::{Error, Result, UserError};
use crate::sweep::SearchEvent;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file name in the results directory.
pub const SEARCH_LOG: &str = "search.jsonl";

/// The search log of results directory `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(SEARCH_LOG)
}

/// Reads the events of `dir`'s search log (none without one). A last line cut short (a run
/// killed while appending it) was never acted on: it is dropped, from the file too.
///
/// # Errors
/// An unreadable file, or a complete line that is not an event (naming its line).
pub fn read(dir: &Path) -> Result<Vec<SearchEvent>> {
    let p = path(dir);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(&p, e)),
    };
    let complete = text.rfind('\n').map_or(0, |i| i + 1);
    if complete < text.len() {
        let f = std::fs::OpenOptions::new().write(true).open(&p).map_err(|e| Error::io(&p, e))?;
        f.set_len(complete as u64).and_then(|_| f.sync_all()).map_err(|e| Error::io(&p, e))?;
    }
    text[..complete]
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                UserError::new(format!("line {} is not a search event: {e}", i + 1))
                    .at(p.display().to_string())
                    .help("the search log was edited or damaged: restore it, or rerun the experiment with --force")
                    .into()
            })
        })
        .collect()
}

/// Appends `events`, one JSON line each, and fsyncs the file before returning.
///
/// # Errors
/// An I/O error naming the file.
pub fn append(dir: &Path, events: &[SearchEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let p = path(dir);
    let mut text = String::new();
    for e in events {
        text.push_str(&serde_json::to_string(e).map_err(anyhow::Error::from)?);
        text.push('\n');
    }
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&p).map_err(|e| Error::io(&p, e))?;
    f.write_all(text.as_bytes()).and_then(|_| f.sync_data()).map_err(|e| Error::io(&p, e))
}

/// Removes `dir`'s search log (`--force`: a new search).
///
/// # Errors
/// An I/O error other than a missing file.
pub fn remove(dir: &Path) -> Result<()> {
    match std::fs::remove_file(path(dir)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path(dir), e)),
        _ => Ok(()),
    }
}
