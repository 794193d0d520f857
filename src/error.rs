//! Error types shared by the whole crate.
//!
//! User mistakes (a bad experiment file, a bad `--set`, a locked results directory) are
//! [`Error::User`] and exit with code 2; everything else exits with code 1.

use std::fmt;

/// A problem in user input, with enough context to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserError {
    /// Where the problem is: `file:line:col`, `--set KEY`, or a path.
    pub location: Option<String>,
    /// What is wrong, including what was expected.
    pub message: String,
    /// An optional hint (a near-miss name, the fix).
    pub help: Option<String>,
}

impl UserError {
    /// A user error without a location.
    pub fn new(message: impl Into<String>) -> Self {
        Self { location: None, message: message.into(), help: None }
    }

    /// Sets the location.
    pub fn at(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// Sets the hint.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.location {
            write!(f, "{loc}: ")?;
        }
        write!(f, "{}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for UserError {}

/// Every error burnlab reports.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user: exit code 2.
    #[error("{0}")]
    User(#[from] UserError),
    /// An I/O failure, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Anything else (a failed trial process, a polars error, ...).
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::User(_) => 2,
            _ => 1,
        }
    }

    /// Wraps an I/O error with its path.
    pub fn io(path: impl AsRef<std::path::Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), source }
    }
}

/// Result alias used across burnlab.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Suggests the candidate closest to `name`, if one is close enough to be a typo: at most
/// one edit per three characters (transpositions count as one), or a shared long prefix.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (strsim::damerau_levenshtein(name, c), strsim::jaro_winkler(name, c), c))
        .filter(|(d, jw, c)| *d <= (name.len().max(c.len()) / 3).max(1) || *jw >= 0.85)
        // A name that starts a candidate (a truncated name) prefers it over nearer edits.
        .min_by(|a, b| {
            let truncated = |c: &str| !c.starts_with(name);
            truncated(a.2).cmp(&truncated(b.2)).then(a.0.cmp(&b.0)).then(b.1.total_cmp(&a.1))
        })
        .map(|(_, _, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        assert_eq!(did_you_mean("test.acc", ["test.kl", "test.accuracy"]), Some("test.accuracy"));
        assert_eq!(did_you_mean("hiden", ["hidden", "depth"]), Some("hidden"));
        assert_eq!(did_you_mean("mpl", ["linear", "mlp"]), Some("mlp"));
        assert_eq!(did_you_mean("zzz", ["linear", "mlp"]), None);
        assert_eq!(did_you_mean("test.acc", ["test.loss", "test.accuracy"]), Some("test.accuracy"));
        assert_eq!(did_you_mean("mnist", ["mnist1d", "digits"]), Some("mnist1d"));
        assert_eq!(did_you_mean("ndarry", ["flex", "ndarray", "libtorch"]), Some("ndarray"));
    }

    #[test]
    fn user_errors_exit_with_2() {
        let e: Error = UserError::new("bad").into();
        assert_eq!(e.exit_code(), 2);
        assert_eq!(e.to_string(), "bad");
    }
}
