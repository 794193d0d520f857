//! `tiny`: a test-only classifier family, written as a user's crate would write one: its
//! parameters implement [`Family`], and one `with_family` line registers it (tests/plugin/main.rs).
//!
//! logits = W2 relu(W1 mean_t(x)): the mean over time steps of each channel, one hidden layer.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use burnlab::plugin::{Classifier, DataInfo, Family, FieldError, Footprint, Inputs, at_least_one};
use serde::{Deserialize, Serialize};

/// Parameters of the `tiny` family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TinySpec {
    /// Hidden units.
    pub hidden: usize,
}

impl Default for TinySpec {
    fn default() -> Self {
        TinySpec { hidden: 4 }
    }
}

/// The `tiny` module.
#[derive(Module, Debug)]
pub struct TinyModel {
    hidden: Linear,
    out: Linear,
}

impl Family for TinySpec {
    const NAME: &'static str = "tiny";
    const SUMMARY: &'static str = "test plugin: channel means over time; one hidden layer";
    type Model = TinyModel;

    fn validate(&self, _data: &DataInfo) -> Result<(), FieldError> {
        at_least_one("hidden", self.hidden)
    }

    fn init(&self, data: &DataInfo, device: &Device) -> TinyModel {
        TinyModel {
            hidden: LinearConfig::new(data.channels, self.hidden).init(device),
            out: LinearConfig::new(self.hidden, data.num_classes).init(device),
        }
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        Footprint::linear(data.channels, self.hidden, 1) + Footprint::linear(self.hidden, data.num_classes, 1)
    }
}

impl Classifier for TinyModel {
    /// `[batch, time, channels]` to `[batch, classes]`.
    fn forward(&self, inputs: &Inputs) -> Tensor<2> {
        let means: Tensor<2> = inputs.x().mean_dim(1).flatten(1, 2);
        self.out.forward(relu(self.hidden.forward(means)))
    }
}
