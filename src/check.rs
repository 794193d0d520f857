//! Field errors and the shared range checks: the validation vocabulary every section uses.
//!
//! A leaf module: it imports nothing from the crate, so `spec`, `models`, `data`, `train` and
//! `sweep` can all report a bad key the same way without importing each other.

/// A range or consistency problem in one key of a section, found after deserialisation.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The key within its section (`lr`, `hidden`).
    pub key: String,
    /// What is wrong and what was expected.
    pub message: String,
}

impl FieldError {
    /// A new field error.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { key: key.into(), message: message.into() }
    }

    /// Checks that `value` (the parameter `key`, a rate or a size) is a positive finite number.
    pub fn positive(key: &str, value: f64) -> Result<(), FieldError> {
        if value.is_finite() && value > 0.0 {
            Ok(())
        } else {
            Err(FieldError::new(key, format!("must be a positive number, got {value}")))
        }
    }
}

/// Checks that `value` (the parameter `key`) is at least 1.
pub fn at_least_one(key: &str, value: usize) -> Result<(), FieldError> {
    if value == 0 { Err(FieldError::new(key, "must be at least 1")) } else { Ok(()) }
}

/// Whether a float key is at its default 0 (`#[serde(skip_serializing_if)]`: a key left out
/// of a trial's configuration at its default, so that adding it kept existing trial ids).
pub fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Whether a flag is at its default `false` (`#[serde(skip_serializing_if)]`, as [`is_zero`]).
pub fn is_false(b: &bool) -> bool {
    !*b
}

/// Checks that a probability (a dropout rate, an Adam beta; the parameter `key`) is in [0, 1).
pub fn probability(key: &str, p: f64) -> Result<(), FieldError> {
    if (0.0..1.0).contains(&p) { Ok(()) } else { Err(FieldError::new(key, format!("must be in [0, 1), got {p}"))) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_name_the_key_and_reject_out_of_range_values() {
        assert_eq!(at_least_one("hidden", 0).unwrap_err().key, "hidden");
        assert!(at_least_one("hidden", 1).is_ok());
        assert_eq!(probability("dropout", 1.0).unwrap_err().key, "dropout");
        assert!(probability("dropout", f64::NAN).is_err());
        assert!(probability("dropout", 0.0).is_ok());
        assert_eq!(FieldError::positive("lr", 0.0).unwrap_err().message, "must be a positive number, got 0");
        assert!(FieldError::positive("lr", f64::INFINITY).is_err());
    }
}
