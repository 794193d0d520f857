//! `linear`: a single linear layer on the flattened input (MNIST-1D's logistic regression).

use super::{Classifier, Family, Footprint, Inputs};
use crate::check::FieldError;
use crate::data::DataInfo;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Parameters of the `linear` family (none beyond the data's shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct LinearSpec {}

/// Logits = W · flatten(x) + b.
#[derive(Module, Debug)]
pub struct LinearModel {
    /// The only layer.
    pub fc: Linear,
}

impl Family for LinearSpec {
    const NAME: &'static str = "linear";
    const SUMMARY: &'static str = "linear classifier on the flattened input";
    type Model = LinearModel;

    fn validate(&self, _data: &DataInfo) -> Result<(), FieldError> {
        Ok(())
    }

    fn init(&self, data: &DataInfo, device: &Device) -> LinearModel {
        LinearModel { fc: LinearConfig::new(data.features(), data.num_classes).init(device) }
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        Footprint::linear(data.features(), data.num_classes, 1)
    }
}

impl Classifier for LinearModel {
    fn forward(&self, inputs: &Inputs) -> Tensor<2> {
        self.fc.forward(inputs.x().flatten(1, 2))
    }
}
