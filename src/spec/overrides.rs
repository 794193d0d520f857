//! `--set KEY=VALUE` overrides, applied to the document before validation.

use super::source::{KeyPath, Seg};
use crate::error::UserError;

/// One `--set KEY=VALUE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Override {
    /// The text as given.
    pub raw: String,
    /// The dotted key (`models.1.hidden` addresses an array item).
    pub path: KeyPath,
    /// The value, parsed as TOML (a bare word is a string).
    pub value: toml::Value,
}

impl Override {
    /// Parses `KEY=VALUE`.
    pub fn parse(raw: &str) -> Result<Self, UserError> {
        let (key, value) = raw.split_once('=').ok_or_else(|| {
            UserError::new("expected KEY=VALUE, e.g. --set training.steps=50").at(format!("--set {raw}"))
        })?;
        let key = key.trim();
        if key.is_empty() || key.split('.').any(str::is_empty) {
            return Err(UserError::new(format!("invalid key `{key}`")).at(format!("--set {raw}")));
        }
        let path = KeyPath(
            key.split('.').map(|k| k.parse::<usize>().map_or_else(|_| Seg::Key(k.to_string()), Seg::Index)).collect(),
        );
        let value = parse_value(value.trim());
        Ok(Override { raw: raw.to_string(), path, value })
    }

    /// The value as typed (after `=`, trimmed).
    pub fn value_text(&self) -> &str {
        self.raw.split_once('=').map_or("", |(_, v)| v.trim())
    }

    /// Writes the value into `doc`, creating tables as needed.
    pub fn apply(&self, doc: &mut toml::Table) -> Result<(), UserError> {
        let mut root = toml::Value::Table(std::mem::take(doc));
        let result = self.apply_value(&mut root);
        if let toml::Value::Table(t) = root {
            *doc = t;
        }
        result
    }

    fn apply_value(&self, root: &mut toml::Value) -> Result<(), UserError> {
        let err = |m: String| UserError::new(m).at(format!("--set {}", self.raw));
        let (last, parents) = self.path.0.split_last().expect("non-empty path");
        let mut cur = root;
        for seg in parents {
            cur = match (seg, cur) {
                (Seg::Key(k), toml::Value::Table(t)) => {
                    t.entry(k.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()))
                }
                (Seg::Index(i), toml::Value::Array(a)) => {
                    let n = a.len();
                    a.get_mut(*i).ok_or_else(|| err(format!("index {i} is out of range: the array has {n} item(s)")))?
                }
                (seg, v) => return Err(err(format!("cannot descend into {} with `{}`", v.type_str(), seg_str(seg)))),
            };
        }
        match (last, cur) {
            (Seg::Key(k), toml::Value::Table(t)) => {
                t.insert(k.clone(), self.value.clone());
            }
            (Seg::Index(i), toml::Value::Array(a)) if *i < a.len() => a[*i] = self.value.clone(),
            (seg, v) => return Err(err(format!("cannot set `{}` inside {}", seg_str(seg), v.type_str()))),
        }
        Ok(())
    }
}

fn seg_str(seg: &Seg) -> String {
    match seg {
        Seg::Key(k) => k.clone(),
        Seg::Index(i) => i.to_string(),
    }
}

/// Parses a `--set` value as TOML; anything that is not valid TOML is a plain string.
pub fn parse_value(text: &str) -> toml::Value {
    format!("v = {text}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_parse_values_and_apply() {
        let mut doc: toml::Table = "[training]\nlr = 0.1\n[[models]]\nfamily = \"mlp\"\n".parse().unwrap();
        Override::parse("training.steps=50").unwrap().apply(&mut doc).unwrap();
        Override::parse("backend=ndarray").unwrap().apply(&mut doc).unwrap();
        Override::parse("models.0.hidden=7").unwrap().apply(&mut doc).unwrap();
        assert_eq!(doc["training"]["steps"].as_integer(), Some(50));
        assert_eq!(doc["backend"].as_str(), Some("ndarray"));
        assert_eq!(doc["models"][0]["hidden"].as_integer(), Some(7));
        let e = Override::parse("models.3.hidden=7").unwrap().apply(&mut doc).unwrap_err();
        assert!(e.message.contains("out of range"), "{e}");
        assert!(Override::parse("nokey").is_err());
    }
}
