//! Model families: one file each, registered once in `families!` below.
//!
//! A family is one type implementing [`FamilySpec`] (its TOML parameters, with defaults, and
//! all its behaviour: validation, size, metrics, training). Classifier families implement the
//! generic [`Family`] (`init` builds a Burn module that implements [`Classifier`]) and are
//! trained by the classifier trainer; `gan` (a generator and a discriminator) implements
//! [`FamilySpec`] itself with the adversarial trainer. [`ModelSpec`] holds any registered
//! family; the registry ([`families`]) is the single list that the experiment file's parser,
//! `burnlab list`, the sweep's key checks and the docs' family table derive from.

pub mod classifier;
pub mod family;
pub mod layers;
pub mod layers2d;
pub mod per_layer;
pub mod saved;
pub mod scores;

/// Declares each family's module and registers its types, in display order: adding a family
/// is its file plus one line here.
macro_rules! families {
    ($($module:ident: $($ty:ident),+;)*) => {
        $(pub mod $module;)*

        /// The built-in families, in display order (`burnlab list`).
        pub fn builtin_families() -> Entries<Families> {
            Entries::default()$($(.with::<$module::$ty>())+)*
        }
    };
}

families! {
    linear: LinearSpec;
    mlp: MlpSpec;
    cnn: CnnSpec;
    resnet: ResNetSpec;
    rnn: GruSpec, LstmSpec;
    attention: AttentionSpec;
    fusion: FusionSpec;
    gan: GanSpec;
    command: CommandSpec;
}

pub use family::{Family, FamilySpec, TrainCtx, TrialPlace};

use crate::check::FieldError;
use crate::data::DataInfo;
use crate::open::{Entries, Global, Kind, Open};
use burn::module::Module;
use burn::tensor::Tensor;
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
    /// Computes the logits `[batch, num_classes]` (one prediction `[batch, 1]` for a regression
    /// dataset) from one `[batch, time, channels]` tensor per modality. The trainer calls it on
    /// the autodiff device while training and on its inner device (`model.valid()`) to
    /// evaluate: dropout and the like must be active on the former only.
    fn forward(&self, inputs: &Inputs) -> Tensor<2>;
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

/// The model families (a [`Kind`] of open spec): tag `family`, trait [`FamilySpec`].
pub struct Families;

static FAMILIES: Global<Families> = Global::new();

impl Kind for Families {
    type Obj = dyn FamilySpec;
    const TAG: &'static str = "family";
    fn name(obj: &dyn FamilySpec) -> &'static str {
        obj.name()
    }
    fn summary(obj: &dyn FamilySpec) -> &'static str {
        obj.summary()
    }
    fn entries() -> &'static Entries<Families> {
        FAMILIES.get(builtin_families)
    }
}

/// The process's family registry: the built-in families, or those installed before first use
/// (`Registry::install`, src/registry.rs).
pub fn families() -> &'static Entries<Families> {
    Families::entries()
}

/// Installs the family registry of this process (before anything reads it).
///
/// # Errors
/// If the registry was already read or installed.
pub fn install_families(entries: Entries<Families>) -> Result<(), String> {
    FAMILIES.install(entries)
}

/// Every metric the registered families' trainers record (`split.name`), each once, in
/// registry order.
pub fn metrics() -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for entry in families().iter() {
        for m in entry.default_value().metrics() {
            if !all.contains(&m) {
                all.push(m);
            }
        }
    }
    all
}

/// The model variant named in `[[models]]`: `family = "..."` plus that family's parameters,
/// any registered family behind [`FamilySpec`] (`Deref`). Serialises as `family` first, then
/// the family's fields in struct order.
pub type ModelSpec = Open<Families>;

impl ModelSpec {
    /// Checks the parameters against the dataset. Only families that read every modality
    /// ([`FamilySpec::multimodal`], `fusion`) accept multimodal datasets: others refuse them
    /// rather than silently use the first modality.
    ///
    /// # Errors
    /// The offending parameter (`family` for a multimodal dataset) and why.
    pub fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        if data.is_multimodal() && !self.multimodal() {
            let msg = format!(
                "`{}` reads one input, but this dataset has the modalities {}: use family = \"fusion\" \
                 (with modalities = [\"{}\"] for one of them alone)",
                self.name(),
                data.modality_names(),
                data.modalities[0].name
            );
            return Err(FieldError::new("family", msg));
        }
        FamilySpec::validate(&**self, data)
    }

    /// The parameter names this family accepts, with the dotted keys inside nested tables
    /// (`encoders.image.hidden`), which sweeps can name too, and the parameters serialised
    /// only when set ([`FamilySpec::optional_params`]).
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
        for p in self.optional_params() {
            if !names.iter().any(|n| n == p) {
                names.push(p.to_string());
            }
        }
        names
    }
}

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
    fn every_family_written_is_registered() {
        let registered: Vec<&str> = families().iter().map(|e| e.type_name).collect();
        let written = crate::open::implementations("src/models", &["Family", "FamilySpec"]);
        assert!(written.len() >= 8, "found only {written:?}");
        for ty in &written {
            assert!(
                registered.iter().any(|r| r.rsplit("::").next() == Some(ty.as_str())),
                "`{ty}` implements a family trait but is not in `families!` (src/models/mod.rs)"
            );
        }
        assert_eq!(registered.len(), written.len(), "registered {registered:?}, written {written:?}");
        for e in families().iter() {
            assert_eq!(e.default_value().name(), e.name);
        }
    }

    #[test]
    fn footprints_count_the_parameters_each_family_builds() {
        let device = burn::tensor::Device::flex();
        let on = |name: &str| crate::data::datasets().default_of(name).unwrap().info();
        let default = |name: &str| families().default_of(name).unwrap();
        let gan = |arch| ModelSpec::new(gan::GanSpec { arch, ..Default::default() });
        let attention_cls =
            ModelSpec::new(attention::AttentionSpec { pool: attention::Pool::Cls, ..Default::default() });
        let cnn_blocks = ModelSpec::new(
            toml::from_str::<cnn::CnnSpec>(
                "dim = 2\nchannels = [8, 16]\nkernels = 3\nstrides = 1\nbatch_norm = true\npool = \"max\"\nhead = [32]\n",
            )
            .unwrap(),
        );
        let cases = [
            (on("mnist1d"), default("linear")),
            (on("mnist1d"), default("mlp")),
            (on("mnist1d"), default("cnn")),
            (on("longrange"), default("cnn")),
            (on("digits"), cnn_blocks),
            (on("digits"), default("resnet")),
            (on("mnist1d"), default("gru")),
            (on("longrange"), default("lstm")),
            (on("mnist1d"), default("attention")),
            (on("longrange"), attention_cls),
            (on("digits-mnist1d"), default("fusion")),
            (on("ring"), gan(gan::GanArch::Mlp)),
            (on("mnist1d"), gan(gan::GanArch::Lstm)),
            (on("digits"), gan(gan::GanArch::Conv)),
        ];
        for (info, spec) in cases {
            spec.validate(&info).unwrap();
            let built = spec.num_params(&info, &device) as f64;
            let estimate = spec.footprint(&info).params;
            let ratio = estimate / built;
            assert!((0.95..1.05).contains(&ratio), "{}: estimated {estimate}, built {built}", spec.name());
            assert!(spec.footprint(&info).activations > 0.0);
        }
    }

    #[test]
    fn keys_serialised_only_when_set_are_still_parameter_names() {
        let cnn = families().default_of("cnn").unwrap();
        let names = cnn.param_names();
        for key in ["channels", "kernels", "pool", "pool_size", "batch_norm", "head", "head_dropout"] {
            assert!(names.iter().any(|n| n == key), "{key} not in {names:?}");
        }
        assert_eq!(names.iter().filter(|n| *n == "pool").count(), 1);
        let set = ModelSpec::new(toml::from_str::<cnn::CnnSpec>("pool = \"max\"\n").unwrap());
        assert_eq!(set.param_names().iter().filter(|n| *n == "pool").count(), 1);
    }

    #[test]
    fn serialises_like_the_internally_tagged_enum() {
        let spec = ModelSpec::new(mlp::MlpSpec { hidden: 7, ..Default::default() });
        let json = serde_json::to_string(&ModelVariant { label: "m".into(), spec: spec.clone() }).unwrap();
        assert_eq!(json, r#"{"label":"m","family":"mlp","hidden":7,"depth":2,"residual":true}"#);
        assert_eq!(serde_json::from_str::<ModelVariant>(&json).unwrap().spec, spec);
        let unknown = toml::from_str::<ModelSpec>("family = \"mpl\"\n").unwrap_err().to_string();
        assert!(unknown.contains("unknown variant `mpl`, expected one of `linear`, `mlp`"), "{unknown}");
    }

    #[test]
    fn variant_round_trips_through_toml_and_rejects_unknown_keys() {
        let v = ModelVariant {
            label: "big".into(),
            spec: ModelSpec::new(mlp::MlpSpec { hidden: 7, ..Default::default() }),
        };
        let t = toml::Table::try_from(&v).unwrap();
        assert_eq!(t["family"].as_str(), Some("mlp"));
        let back: ModelVariant = t.try_into().unwrap();
        assert_eq!(back, v);
        let bad: Result<ModelSpec, _> = toml::from_str("family = \"mlp\"\nhiden = 3\n");
        assert!(bad.unwrap_err().to_string().contains("unknown field `hiden`"));
    }
}
