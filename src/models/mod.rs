//! Model families: one file each, registered once in [`FAMILIES`] and [`ModelSpec`].
//!
//! A family is a serde variant of [`ModelSpec`] (its TOML parameters, with defaults) whose
//! spec implements [`Family`]: `init` builds a Burn module that implements [`Classifier`].
//! Classifiers train through [`classifier::fit`]. The one exception is `gan` (a generator and
//! a discriminator, not a classifier), which trains with [`gan::train::fit_gan`].

pub mod attention;
pub mod classifier;
pub mod cnn;
pub mod fusion;
pub mod gan;
pub mod layers;
pub mod linear;
pub mod mlp;
pub mod rnn;

use crate::check::FieldError;
use crate::data::DataInfo;
use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// A batch of model inputs: one `[batch, time, channels]` tensor per modality.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The modalities, in dataset order (most datasets have one).
    pub modalities: Vec<Tensor<3>>,
}

impl Inputs {
    /// The first (usually only) modality.
    pub fn x(&self) -> Tensor<3> {
        self.modalities[0].clone()
    }
}

/// A trainable classifier: inputs to logits `[batch, classes]`.
pub trait Classifier: Module + 'static {
    /// Computes the logits.
    fn forward(&self, inputs: &Inputs) -> Tensor<2>;
}

/// A family's typed parameters, which build its module.
pub trait Family {
    /// The Burn module this family builds.
    type Model: Classifier;
    /// Checks parameter ranges and fit with the dataset.
    fn validate(&self, data: &DataInfo) -> Result<(), FieldError>;
    /// Builds a freshly initialised model for the dataset on `device`.
    fn init(&self, data: &DataInfo, device: &Device) -> Self::Model;
    /// Estimates the model's size for the dataset, without building it (after `validate`).
    fn footprint(&self, data: &DataInfo) -> Footprint;
}

/// A model's estimated size: its parameter count and the values one example keeps alive
/// through a training step. Counted in `f64`, so that no size can overflow: an absurd
/// configuration gives a huge (or infinite) estimate, never a panic.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Footprint {
    /// Trainable parameters.
    pub params: f64,
    /// Activation values per example (forward pass; their gradients are counted by the caller).
    pub activations: f64,
}

impl Footprint {
    /// A dense layer `d_in -> d_out` with bias, applied to `times` positions per example.
    pub fn linear(d_in: usize, d_out: usize, times: usize) -> Footprint {
        let (i, o) = (d_in as f64, d_out as f64);
        Footprint { params: i * o + o, activations: o * times as f64 }
    }

    /// Only activations: `values` per example.
    pub fn values(values: f64) -> Footprint {
        Footprint { params: 0.0, activations: values }
    }

    /// This footprint repeated `n` times (stacked layers, directions).
    pub fn times(self, n: usize) -> Footprint {
        Footprint { params: self.params * n as f64, activations: self.activations * n as f64 }
    }
}

impl std::ops::Add for Footprint {
    type Output = Footprint;
    fn add(self, o: Footprint) -> Footprint {
        Footprint { params: self.params + o.params, activations: self.activations + o.activations }
    }
}

impl std::iter::Sum for Footprint {
    fn sum<I: Iterator<Item = Footprint>>(iter: I) -> Footprint {
        iter.fold(Footprint::default(), |a, b| a + b)
    }
}

/// The model variant named in `[[models]]`: `family = "..."` plus that family's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum ModelSpec {
    /// Multinomial logistic regression on the flattened input.
    Linear(linear::LinearSpec),
    /// Multilayer perceptron with residual hidden layers (MNIST-1D's MLP by default).
    Mlp(mlp::MlpSpec),
    /// Convolutional classifier, 1D over time or 2D over images (MNIST-1D's CNN by default).
    Cnn(cnn::CnnSpec),
    /// Gated recurrent unit classifier (MNIST-1D's bidirectional GRU by default).
    Gru(rnn::GruSpec),
    /// Long short-term memory classifier (same defaults as `gru`).
    Lstm(rnn::LstmSpec),
    /// Transformer-encoder classifier on multi-head self-attention.
    Attention(attention::AttentionSpec),
    /// One encoder per modality of a multimodal dataset, fused (concat, sum, gated,
    /// cross-attention or late), then a classifier.
    Fusion(fusion::FusionSpec),
    /// Generative adversarial network: a generator and a discriminator (not a classifier).
    Gan(gan::GanSpec),
}

/// Calls `$body` with `$spec` bound to a classifier family's typed spec, or `$gan_body` with
/// `$gan` bound to the `gan` spec: the one dispatch point.
#[macro_export]
#[doc(hidden)]
macro_rules! with_family {
    ($model:expr, $spec:ident => $body:expr, gan $gan:ident => $gan_body:expr) => {
        match $model {
            $crate::models::ModelSpec::Gan($gan) => $gan_body,
            $crate::models::ModelSpec::Linear($spec) => $body,
            $crate::models::ModelSpec::Mlp($spec) => $body,
            $crate::models::ModelSpec::Cnn($spec) => $body,
            $crate::models::ModelSpec::Gru($spec) => $body,
            $crate::models::ModelSpec::Lstm($spec) => $body,
            $crate::models::ModelSpec::Attention($spec) => $body,
            $crate::models::ModelSpec::Fusion($spec) => $body,
        }
    };
}

impl ModelSpec {
    /// The family name used in experiment files.
    pub fn family(&self) -> &'static str {
        match self {
            ModelSpec::Linear(_) => "linear",
            ModelSpec::Mlp(_) => "mlp",
            ModelSpec::Cnn(_) => "cnn",
            ModelSpec::Gru(_) => "gru",
            ModelSpec::Lstm(_) => "lstm",
            ModelSpec::Attention(_) => "attention",
            ModelSpec::Fusion(_) => "fusion",
            ModelSpec::Gan(_) => "gan",
        }
    }

    /// Checks the parameters against the dataset. Only `fusion` reads multimodal datasets:
    /// other families refuse them rather than silently use the first modality.
    pub fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        if data.is_multimodal() && !matches!(self, ModelSpec::Fusion(_)) {
            let msg = format!(
                "`{}` reads one input, but this dataset has the modalities {}: use family = \"fusion\" \
                 (with modalities = [\"{}\"] for one of them alone)",
                self.family(),
                data.modality_names(),
                data.modalities[0].name
            );
            return Err(FieldError::new("family", msg));
        }
        with_family!(self, s => s.validate(data), gan g => g.validate(data))
    }

    /// The estimated size of this model on the dataset (see [`Footprint`]); call after
    /// [`ModelSpec::validate`].
    pub fn footprint(&self, data: &DataInfo) -> Footprint {
        with_family!(self, s => s.footprint(data), gan g => g.footprint(data))
    }

    /// Examples the trainer generates and holds for its evaluation (the GAN's `eval_samples`;
    /// none for the classifiers), for the memory estimate.
    pub fn eval_examples(&self) -> usize {
        with_family!(self, _s => 0, gan g => g.eval_samples)
    }

    /// The number of trainable parameters for this dataset.
    pub fn num_params(&self, data: &DataInfo, device: &Device) -> usize {
        with_family!(self, s => s.init(data, device).num_params(), gan g => g.num_params(data, device))
    }

    /// The metrics its trainer records (`split.name`).
    pub fn metrics(&self) -> &'static [&'static str] {
        match self {
            ModelSpec::Gan(_) => gan::train::METRICS,
            _ => classifier::METRICS,
        }
    }

    /// The parameter names this family accepts, with the dotted keys inside nested tables
    /// (`encoders.image.hidden`), which sweeps can name too.
    pub fn param_names(&self) -> Vec<String> {
        fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
            for (k, v) in table {
                let key = format!("{prefix}{k}");
                if let toml::Value::Table(inner) = v {
                    walk(&format!("{key}."), inner, out);
                }
                out.push(key);
            }
        }
        let mut names = Vec::new();
        if let Ok(t) = toml::Table::try_from(self) {
            walk("", &t, &mut names);
        }
        names.retain(|k| k != "family");
        names
    }
}

/// Metrics the trainers record, as `split.name`: the classifier trainer's, then those of the GAN
/// trainer ([`gan::train::METRICS`]) it does not share.
pub fn metrics() -> Vec<&'static str> {
    let mut all = classifier::METRICS.to_vec();
    all.extend(gan::train::METRICS.iter().filter(|m| !classifier::METRICS.contains(m)));
    all
}

/// A family in the registry: what `burnlab list` shows.
pub struct FamilyInfo {
    /// The name in experiment files.
    pub name: &'static str,
    /// One line saying what it is.
    pub summary: &'static str,
    /// The family with default parameters.
    pub default: fn() -> ModelSpec,
}

/// Every model family, in display order.
pub const FAMILIES: &[FamilyInfo] = &[
    FamilyInfo {
        name: "linear",
        summary: "linear classifier on the flattened input",
        default: || ModelSpec::Linear(Default::default()),
    },
    FamilyInfo {
        name: "mlp",
        summary: "MLP: h = relu(W1 x); h = h + relu(Wi h)...; out = Wo h",
        default: || ModelSpec::Mlp(Default::default()),
    },
    FamilyInfo {
        name: "cnn",
        summary: "CNN: conv (channels, kernels, strides, padding) + relu per layer; flatten; linear",
        default: || ModelSpec::Cnn(Default::default()),
    },
    FamilyInfo {
        name: "gru",
        summary: "GRU (PyTorch's equations), optionally bidirectional; flatten/last/mean readout; linear",
        default: || ModelSpec::Gru(Default::default()),
    },
    FamilyInfo {
        name: "lstm",
        summary: "LSTM (PyTorch's equations), optionally bidirectional; flatten/last/mean readout; linear",
        default: || ModelSpec::Lstm(Default::default()),
    },
    FamilyInfo {
        name: "attention",
        summary: "Transformer encoder: multi-head self-attention + feed-forward, pre/post norm; pool; linear",
        default: || ModelSpec::Attention(Default::default()),
    },
    FamilyInfo {
        name: "fusion",
        summary: "multimodal: an encoder per modality (mlp/cnn/gru/lstm/attention), fused by concat/sum/gated/cross_attention/late; classifier",
        default: || ModelSpec::Fusion(Default::default()),
    },
    FamilyInfo {
        name: "gan",
        summary: "GAN: generator + discriminator (mlp, lstm or conv; PacGAN packing); mode coverage (2D) or Frechet distance",
        default: || ModelSpec::Gan(Default::default()),
    },
];

/// A `[[models]]` entry: a label (defaults to the family name) and the family's parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelVariant {
    /// The name shown in tables and trial names.
    pub label: String,
    /// The family and its parameters.
    #[serde(flatten)]
    pub spec: ModelSpec,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_matches_the_enum() {
        for f in FAMILIES {
            assert_eq!((f.default)().family(), f.name);
        }
    }

    #[test]
    fn footprints_count_the_parameters_each_family_builds() {
        let device = Device::flex();
        let on = |name: &str| {
            let d = crate::data::DATASETS.iter().find(|d| d.name == name).unwrap();
            (d.default)().info()
        };
        let gan = |arch| ModelSpec::Gan(gan::GanSpec { arch, ..Default::default() });
        let attention_cls =
            ModelSpec::Attention(attention::AttentionSpec { pool: attention::Pool::Cls, ..Default::default() });
        let cases = [
            (on("mnist1d"), (FAMILIES[0].default)()),
            (on("mnist1d"), (FAMILIES[1].default)()),
            (on("mnist1d"), (FAMILIES[2].default)()),
            (on("longrange"), (FAMILIES[2].default)()),
            (on("mnist1d"), (FAMILIES[3].default)()),
            (on("longrange"), (FAMILIES[4].default)()),
            (on("mnist1d"), (FAMILIES[5].default)()),
            (on("longrange"), attention_cls),
            (on("digits-mnist1d"), (FAMILIES[6].default)()),
            (on("ring"), gan(gan::GanArch::Mlp)),
            (on("mnist1d"), gan(gan::GanArch::Lstm)),
            (on("digits"), gan(gan::GanArch::Conv)),
        ];
        for (info, spec) in cases {
            spec.validate(&info).unwrap();
            let built = spec.num_params(&info, &device) as f64;
            let estimate = spec.footprint(&info).params;
            let ratio = estimate / built;
            assert!((0.95..1.05).contains(&ratio), "{}: estimated {estimate}, built {built}", spec.family());
            assert!(spec.footprint(&info).activations > 0.0);
        }
    }

    #[test]
    fn variant_round_trips_through_toml_and_rejects_unknown_keys() {
        let v = ModelVariant {
            label: "big".into(),
            spec: ModelSpec::Mlp(mlp::MlpSpec { hidden: 7, ..Default::default() }),
        };
        let t = toml::Table::try_from(&v).unwrap();
        assert_eq!(t["family"].as_str(), Some("mlp"));
        let back: ModelVariant = t.try_into().unwrap();
        assert_eq!(back, v);
        let bad: Result<ModelSpec, _> = toml::from_str("family = \"mlp\"\nhiden = 3\n");
        assert!(bad.unwrap_err().to_string().contains("unknown field `hiden`"));
    }
}
