//! The experiment file's text, and mapping key paths and byte offsets to `file:line:col`.

use crate::error::{UserError, did_you_mean};
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// One step in a path to a value: a table key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// A table key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A path to a value in an experiment document, such as `models[1].hidden`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyPath(pub Vec<Seg>);

impl KeyPath {
    /// Parses a dotted key (`training.lr`) into a path of keys.
    pub fn dotted(key: &str) -> Self {
        KeyPath(key.split('.').map(|k| Seg::Key(k.to_string())).collect())
    }

    /// This path with one more key.
    pub fn key(&self, k: &str) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Key(k.to_string()));
        p
    }

    /// This path with one more index.
    pub fn index(&self, i: usize) -> Self {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }

    /// Converts a serde_path_to_error path.
    pub fn from_serde(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment;
        KeyPath(
            path.iter()
                .filter_map(|s| match s {
                    Segment::Seq { index } => Some(Seg::Index(*index)),
                    Segment::Map { key } => Some(Seg::Key(key.clone())),
                    Segment::Enum { .. } | Segment::Unknown => None,
                })
                .collect(),
        )
    }

    /// Whether `self` starts with `prefix`.
    pub fn starts_with(&self, prefix: &KeyPath) -> bool {
        self.0.len() >= prefix.0.len() && self.0[..prefix.0.len()] == prefix.0[..]
    }

    /// Whether the path is empty (the document root).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for KeyPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            match s {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// An experiment file as read from disk.
#[derive(Debug, Clone)]
pub struct Source {
    /// The path as given by the user.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
}

impl Source {
    /// Reads the file, turning a missing or unreadable file into a user error.
    pub fn read(path: &Path) -> Result<Self, UserError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UserError::new(format!("cannot read experiment file: {e}")).at(path.display().to_string()))?;
        Ok(Source { path: path.to_path_buf(), text })
    }

    /// A source from a string (tests, `--set` values).
    pub fn from_text(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Source { path: path.into(), text: text.into() }
    }

    /// `file:line:col` for a byte offset.
    pub fn location(&self, offset: usize) -> String {
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{}:{line}:{col}", self.path.display())
    }

    /// Parses the text into a TOML table, reporting syntax errors with their location and,
    /// where the parser names none, the key at fault.
    pub fn parse(&self) -> Result<toml::Table, UserError> {
        self.text.parse::<toml::Table>().map_err(|e| self.syntax_error(e.message().trim_end(), e.span()))
    }

    fn syntax_error(&self, message: &str, span: Option<std::ops::Range<usize>>) -> UserError {
        let at = |offset: usize| self.location(offset);
        let found = span.as_ref().and_then(|s| self.text.get(s.clone())).map(str::trim).filter(|t| !t.is_empty());
        if message.starts_with("duplicate key")
            && let (Some(s), Some(text)) = (&span, found)
        {
            let key = text.trim_matches(|c| c == '"' || c == '\'');
            let first = self.key_line_before(key, s.start);
            let mut e = UserError::new(format!("invalid TOML: duplicate key `{key}`: a key may be set once per table"))
                .at(at(s.start));
            if let Some(first) = first {
                e = e.help(format!("`{key}` is first set at {}; remove one of them", at(first)));
            }
            return e;
        }
        if message.contains("floating-point number overflowed") {
            let key = span.as_ref().and_then(|s| self.key_at(s.start)).map_or_else(String::new, |k| format!("`{k}`: "));
            let loc = span.map_or_else(|| self.path.display().to_string(), |s| at(s.start));
            return UserError::new(format!("invalid TOML: {key}the number is too large for a 64-bit float")).at(loc);
        }
        if message.contains("too large") || message.contains("overflowed") {
            let offset = span.as_ref().map(|s| s.start).or_else(|| self.huge_integer());
            let key = offset.and_then(|o| self.key_at(o)).map_or_else(String::new, |k| format!("`{k}`: "));
            let loc = offset.map_or_else(|| self.path.display().to_string(), at);
            return UserError::new(format!(
                "invalid TOML: {key}the integer is out of range: TOML integers lie between {} and {}",
                i64::MIN,
                i64::MAX
            ))
            .at(loc);
        }
        if message.contains("recursion") {
            let offset = span.map_or_else(|| self.deepest_line(), |s| s.start);
            return UserError::new(
                "invalid TOML: keys, tables or arrays nest too deeply for the parser (its limit is about 80 levels)",
            )
            .at(at(offset));
        }
        let loc = span.map_or_else(|| self.path.display().to_string(), |s| at(s.start));
        UserError::new(format!("invalid TOML: {message}")).at(loc)
    }

    /// The offset of the last line before `offset` that sets `key` (`key = ...`).
    fn key_line_before(&self, key: &str, offset: usize) -> Option<usize> {
        let before = self.text.get(..offset)?;
        let mut start = 0;
        let mut found = None;
        for line in before.split_inclusive('\n') {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix(key).or_else(|| t.strip_prefix(&format!("\"{key}\"")))
                && rest.trim_start().starts_with('=')
                && start + line.len() <= offset
            {
                found = Some(start + line.len() - t.len());
            }
            start += line.len();
        }
        found
    }

    /// The dotted key whose value is at `offset`: the table header above it plus the key on
    /// its line (or on the nearest line above with `=`).
    fn key_at(&self, offset: usize) -> Option<String> {
        let before = self.text.get(..offset)?;
        let lines: Vec<&str> = before.lines().collect();
        let key = lines.iter().rev().find_map(|l| l.split_once('=').map(|(k, _)| k.trim().trim_matches('"')))?;
        let header = lines.iter().rev().map(|l| l.trim()).find(|l| l.starts_with('['));
        let header = header.map(|h| h.trim_matches(|c| c == '[' || c == ']').trim());
        Some(header.map_or_else(|| key.to_string(), |h| format!("{h}.{key}")))
    }

    /// The offset of the first decimal integer literal too large for an `i64`.
    fn huge_integer(&self) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
                let end =
                    (i..bytes.len()).find(|&j| !(bytes[j].is_ascii_digit() || bytes[j] == b'_')).unwrap_or(bytes.len());
                let digits = self.text[i..end].replace('_', "");
                if digits.len() >= 19 && digits.parse::<i64>().is_err() && bytes.get(end) != Some(&b'.') {
                    return Some(i);
                }
                i = end;
            }
            i += 1;
        }
        None
    }

    /// The offset of the line whose keys or brackets nest deepest.
    fn deepest_line(&self) -> usize {
        let depth = |l: &str| {
            let key = l.split_once('=').map_or(l, |(k, _)| k);
            key.matches('.').count() + l.matches(['[', '{']).count()
        };
        let mut start = 0;
        let mut best = (0, 0);
        for line in self.text.split_inclusive('\n') {
            if depth(line) > best.0 {
                best = (depth(line), start);
            }
            start += line.len();
        }
        best.1
    }

    /// The location of the value at `path` (or of its key, when `key_of` is true), falling
    /// back to the nearest enclosing value that exists in the file.
    pub fn locate(&self, path: &KeyPath, key_of: bool) -> Option<String> {
        let root = DeTable::parse(&self.text).ok()?;
        let mut spans = vec![root.span()];
        let mut cur: Option<&DeTable<'_>> = Some(root.get_ref());
        let mut value: Option<&toml::Spanned<DeValue<'_>>> = None;
        for (i, seg) in path.0.iter().enumerate() {
            let last = i + 1 == path.0.len();
            let next = match (seg, cur, value) {
                (Seg::Key(k), Some(t), _) => {
                    let found = t.iter().find(|(key, _)| key.get_ref().as_ref() == k.as_str());
                    match found {
                        Some((key, v)) => {
                            spans.push(if last && key_of { key.span() } else { v.span() });
                            Some(v)
                        }
                        None => None,
                    }
                }
                (Seg::Index(n), _, Some(v)) => v.get_ref().get(*n).inspect(|item| spans.push(item.span())),
                _ => None,
            };
            match next {
                Some(v) => {
                    value = Some(v);
                    cur = match v.get_ref() {
                        DeValue::Table(t) => Some(t),
                        _ => None,
                    };
                }
                None => break,
            }
        }
        spans.last().map(|s| self.location(s.start))
    }
}

/// Turns a serde error message into a clearer one, adding "did you mean" for near misses.
///
/// Returns the message, an optional help line and, for unknown keys, the key at fault.
pub fn explain(message: &str) -> (String, Option<String>, Option<String>) {
    let ticks: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let unknown_field = message.starts_with("unknown field");
    let unknown_variant = message.starts_with("unknown variant");
    if (unknown_field || unknown_variant) && !ticks.is_empty() {
        let name = ticks[0];
        let expected: Vec<&str> = ticks[1..].to_vec();
        let what = if unknown_field { "key" } else { "value" };
        let mut msg = format!("unknown {what} `{name}`");
        if !expected.is_empty() {
            msg.push_str(&format!(", expected one of: {}", expected.join(", ")));
        } else if message.contains("there are no fields") {
            msg.push_str(", this table takes no keys");
        }
        let help = did_you_mean(name, expected.iter().copied()).map(|s| format!("did you mean `{s}`?"));
        return (msg, help, unknown_field.then(|| name.to_string()));
    }
    (message.to_string(), None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "name = \"x\"\n[training]\nlr = 0.1\n\n[[models]]\nfamily = \"mlp\"\n[[models]]\nfamily = \"linear\"\nhiden = 3\n";

    #[test]
    fn locates_nested_keys_and_array_items() {
        let s = Source::from_text("e.toml", DOC);
        assert_eq!(s.locate(&KeyPath::dotted("training.lr"), false).unwrap(), "e.toml:3:6");
        assert_eq!(s.locate(&KeyPath::dotted("training.lr"), true).unwrap(), "e.toml:3:1");
        let p = KeyPath::dotted("models").index(1).key("hiden");
        assert_eq!(s.locate(&p, true).unwrap(), "e.toml:9:1");
        assert_eq!(p.to_string(), "models[1].hiden");
    }

    #[test]
    fn explains_unknown_fields_with_suggestion() {
        let (m, h, k) = explain("unknown field `hiden`, expected one of `hidden`, `depth`");
        assert_eq!(m, "unknown key `hiden`, expected one of: hidden, depth");
        assert_eq!(h.unwrap(), "did you mean `hidden`?");
        assert_eq!(k.unwrap(), "hiden");
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let s = Source::from_text("bad.toml", "name = \"x\"\nlr = = 3\n");
        let e = s.parse().unwrap_err();
        assert!(e.location.as_deref().unwrap().starts_with("bad.toml:2:"), "{e}");
    }
}
