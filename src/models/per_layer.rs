//! [`PerLayer`]: a setting written once for every layer of a stack or as a list with one value
//! per layer (`kernels = 3`, `kernels = [5, 3, 3]`), for sizes, flags, rates and pooling kinds.

use crate::check::FieldError;
use serde::de::{self, Deserializer, SeqAccess, Unexpected, Visitor};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::marker::PhantomData;

/// A per-layer setting: one value for every layer, or a list with one value per layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PerLayer<T = usize> {
    /// The same value for every layer.
    All(T),
    /// One value per layer (as many as the stack has layers).
    Each(Vec<T>),
}

/// A value a [`PerLayer`] holds: how it reads from a TOML or JSON scalar.
pub trait LayerValue: Sized + Clone + for<'de> Deserialize<'de> {
    /// What a value is, for errors ("a non-negative integer").
    const EXPECTING: &'static str;
    /// From an unsigned integer (`None`: not this kind of value).
    fn from_u64(_v: u64) -> Option<Self> {
        None
    }
    /// From a float.
    fn from_f64(_v: f64) -> Option<Self> {
        None
    }
    /// From a boolean.
    fn from_bool(_v: bool) -> Option<Self> {
        None
    }
    /// From a string.
    fn from_string(_v: &str) -> Option<Self> {
        None
    }
}

impl LayerValue for usize {
    const EXPECTING: &'static str = "a non-negative integer";
    fn from_u64(v: u64) -> Option<Self> {
        usize::try_from(v).ok()
    }
}

impl LayerValue for bool {
    const EXPECTING: &'static str = "true or false";
    fn from_bool(v: bool) -> Option<Self> {
        Some(v)
    }
}

impl LayerValue for f64 {
    const EXPECTING: &'static str = "a number";
    fn from_u64(v: u64) -> Option<Self> {
        Some(v as f64)
    }
    fn from_f64(v: f64) -> Option<Self> {
        Some(v)
    }
}

struct PerLayerVisitor<T>(PhantomData<T>);

impl<T: LayerValue> PerLayerVisitor<T> {
    fn one<E: de::Error>(&self, v: Option<T>, unexpected: Unexpected<'_>) -> Result<PerLayer<T>, E> {
        v.map(PerLayer::All).ok_or_else(|| E::invalid_type(unexpected, self))
    }
}

impl<'de, T: LayerValue> Visitor<'de> for PerLayerVisitor<T> {
    type Value = PerLayer<T>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{} or a list of them (one per layer)", T::EXPECTING)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PerLayer<T>, E> {
        self.one(T::from_u64(v), Unexpected::Unsigned(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PerLayer<T>, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => match T::from_f64(v as f64) {
                Some(x) => Ok(PerLayer::All(x)),
                None => Err(E::invalid_value(Unexpected::Signed(v), &self)),
            },
        }
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<PerLayer<T>, E> {
        self.one(T::from_f64(v), Unexpected::Float(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<PerLayer<T>, E> {
        self.one(T::from_bool(v), Unexpected::Bool(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<PerLayer<T>, E> {
        self.one(T::from_string(v), Unexpected::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PerLayer<T>, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element::<T>()? {
            v.push(x);
        }
        Ok(PerLayer::Each(v))
    }
}

impl<'de, T: LayerValue> Deserialize<'de> for PerLayer<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PerLayerVisitor(PhantomData))
    }
}

impl<T: Clone> PerLayer<T> {
    /// The value for layer `i` (`Each` must have been checked to have enough entries).
    pub fn get(&self, i: usize) -> T {
        match self {
            PerLayer::All(v) => v.clone(),
            PerLayer::Each(v) => v[i].clone(),
        }
    }

    /// Checks that a list has one entry per layer (`layers`, the length of `channels`).
    ///
    /// # Errors
    /// The key `key` and the entry count.
    pub fn check_len(&self, key: &str, layers: usize) -> Result<(), FieldError> {
        match self {
            PerLayer::Each(v) if v.len() != layers => Err(FieldError::new(
                key,
                format!(
                    "has {} entries but `channels` has {layers}: give one per layer, or one value for all",
                    v.len()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// The first layer (1-based) whose value fails `ok`, with that value.
    pub fn first_bad(&self, layers: usize, ok: impl Fn(&T) -> bool) -> Option<(usize, T)> {
        (0..layers).map(|i| (i + 1, self.get(i))).find(|(_, v)| !ok(v))
    }
}

impl PerLayer<usize> {
    /// Checks the entry count against `layers` and that every value is at least `min`.
    ///
    /// # Errors
    /// The key `key`, and the count or the first value below `min`.
    pub fn check(&self, key: &str, layers: usize, min: usize) -> Result<(), FieldError> {
        self.check_len(key, layers)?;
        match self.first_bad(layers, |&v| v >= min) {
            Some((_, v)) => Err(FieldError::new(key, format!("must be at least {min}, got {v}"))),
            None => Ok(()),
        }
    }
}

impl<T: PartialEq> PerLayer<T> {
    /// Whether this is `All(value)`: the setting as a default leaves it (and then it is not
    /// serialised, so that configurations written before the key existed keep their trial ids).
    pub fn is_all(&self, value: &T) -> bool {
        matches!(self, PerLayer::All(v) if v == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct T {
        n: Option<PerLayer>,
        b: Option<PerLayer<bool>>,
        p: Option<PerLayer<f64>>,
    }

    fn read(s: &str) -> Result<T, String> {
        toml::from_str::<T>(s).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_a_value_or_a_list_of_each_kind() {
        assert_eq!(read("n = 3").unwrap().n, Some(PerLayer::All(3)));
        assert_eq!(read("n = [1, 2]").unwrap().n, Some(PerLayer::Each(vec![1, 2])));
        assert_eq!(read("b = [true, false]").unwrap().b, Some(PerLayer::Each(vec![true, false])));
        assert_eq!(read("p = 0").unwrap().p, Some(PerLayer::All(0.0)));
        assert_eq!(read("p = [0.25, 0]").unwrap().p, Some(PerLayer::Each(vec![0.25, 0.0])));
        let json: PerLayer<f64> = serde_json::from_str("0.5").unwrap();
        assert_eq!(json, PerLayer::All(0.5));
    }

    #[test]
    fn wrong_kinds_say_what_was_expected() {
        let e = read("n = \"3\"").unwrap_err();
        assert!(e.contains("a non-negative integer or a list of them (one per layer)"), "{e}");
        assert!(read("n = -1").is_err());
        assert!(read("n = [1, -2]").is_err());
        assert!(read("n = 1.5").is_err());
        let e = read("b = 1").unwrap_err();
        assert!(e.contains("true or false or a list of them"), "{e}");
    }

    #[test]
    fn checks_count_and_range_and_name_the_layer() {
        let v = PerLayer::Each(vec![2, 0, 3]);
        assert_eq!(v.check("kernels", 2, 1).unwrap_err().key, "kernels");
        assert!(v.check("kernels", 3, 1).unwrap_err().message.contains("got 0"));
        assert_eq!(v.first_bad(3, |&x| x > 0), Some((2, 0)));
        assert!(PerLayer::All(2).is_all(&2));
        assert!(!PerLayer::Each(vec![2]).is_all(&2));
    }
}
