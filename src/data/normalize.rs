//! `normalize` of the image datasets: off, per channel, or per pixel position.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// How an image dataset standardises its examples with its training split's statistics
/// (`normalize = false | true | "channel" | "pixel"`).
///
/// Written back as `false` (omitted), `true` (per channel, so that files written before
/// `"channel"` existed keep their trial ids) or `"pixel"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Normalize {
    /// Pixels as read (bytes scaled to [0, 1]).
    #[default]
    Off,
    /// `(x - mean) / std` per channel, over every pixel of every training image
    /// (`normalize = true` or `"channel"`).
    Channel,
    /// `(x - mean) / std` per pixel position (each of `c·h·w`), over the training images, as
    /// scikit-learn's `StandardScaler` (population std; a constant position is only centred).
    /// The Fashion-MNIST benchmark's preprocessing (Xiao et al. 2017, `benchmark/runner.py`).
    Pixel,
}

/// The string values `normalize` takes.
pub const NAMES: [&str; 2] = ["channel", "pixel"];

impl Normalize {
    /// Whether it is [`Normalize::Off`] (the field is then omitted when written).
    pub fn is_off(&self) -> bool {
        *self == Normalize::Off
    }
}

impl Serialize for Normalize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Normalize::Off => s.serialize_bool(false),
            Normalize::Channel => s.serialize_bool(true),
            Normalize::Pixel => s.serialize_str("pixel"),
        }
    }
}

impl<'de> Deserialize<'de> for Normalize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NormalizeVisitor)
    }
}

struct NormalizeVisitor;

impl Visitor<'_> for NormalizeVisitor {
    type Value = Normalize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("true, false, \"channel\" or \"pixel\"")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Normalize, E> {
        Ok(if v { Normalize::Channel } else { Normalize::Off })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Normalize, E> {
        match v {
            "channel" => Ok(Normalize::Channel),
            "pixel" => Ok(Normalize::Pixel),
            _ => Err(E::unknown_variant(v, &NAMES)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    struct T {
        #[serde(default, skip_serializing_if = "Normalize::is_off")]
        normalize: Normalize,
    }

    #[test]
    fn true_and_channel_read_alike_and_true_is_written() {
        let read = |text: &str| toml::from_str::<T>(text).map(|t| t.normalize).map_err(|e| e.message().to_string());
        assert_eq!(read("normalize = true"), Ok(Normalize::Channel));
        assert_eq!(read("normalize = \"channel\""), Ok(Normalize::Channel));
        assert_eq!(read("normalize = \"pixel\""), Ok(Normalize::Pixel));
        assert_eq!(read("normalize = false"), Ok(Normalize::Off));
        assert_eq!(read(""), Ok(Normalize::Off));
        assert_eq!(
            read("normalize = \"pixels\""),
            Err("unknown variant `pixels`, expected `channel` or `pixel`".into())
        );
        assert!(read("normalize = 1").unwrap_err().contains("true, false, \"channel\" or \"pixel\""));
        let write = |n| serde_json::to_string(&T { normalize: n }).unwrap();
        assert_eq!(write(Normalize::Channel), r#"{"normalize":true}"#);
        assert_eq!(write(Normalize::Pixel), r#"{"normalize":"pixel"}"#);
        assert_eq!(write(Normalize::Off), "{}");
    }
}
