//! `mlp`: a multilayer perceptron with residual hidden layers.
//!
//! With the defaults it is MNIST-1D's MLP: `h = relu(W1 x); h = h + relu(W2 h); out = W3 h`.

use super::{Classifier, Family, Footprint, Inputs};
use crate::check::FieldError;
use crate::data::DataInfo;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Parameters of the `mlp` family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MlpSpec {
    /// Width of every hidden layer.
    pub hidden: usize,
    /// Number of hidden layers (the first maps the input; the others are residual).
    pub depth: usize,
    /// Add each later hidden layer's output to its input (`h = h + relu(W h)`).
    pub residual: bool,
}

impl Default for MlpSpec {
    fn default() -> Self {
        Self { hidden: 100, depth: 2, residual: true }
    }
}

/// The MLP module.
#[derive(Module, Debug)]
pub struct Mlp {
    /// Input layer then hidden layers.
    pub hidden: Vec<Linear>,
    /// Output layer.
    pub out: Linear,
    /// Whether later hidden layers are residual.
    #[module(skip)]
    pub residual: bool,
}

impl Family for MlpSpec {
    const NAME: &'static str = "mlp";
    const SUMMARY: &'static str = "MLP: h = relu(W1 x); h = h + relu(Wi h)...; out = Wo h";
    type Model = Mlp;

    fn validate(&self, _data: &DataInfo) -> Result<(), FieldError> {
        if self.hidden == 0 {
            return Err(FieldError::new("hidden", "must be at least 1"));
        }
        if self.depth == 0 {
            return Err(FieldError::new("depth", "must be at least 1"));
        }
        Ok(())
    }

    fn init(&self, data: &DataInfo, device: &Device) -> Mlp {
        let hidden = (0..self.depth)
            .map(|i| {
                let d_in = if i == 0 { data.features() } else { self.hidden };
                LinearConfig::new(d_in, self.hidden).init(device)
            })
            .collect();
        Mlp { hidden, out: LinearConfig::new(self.hidden, data.num_classes).init(device), residual: self.residual }
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        // Each hidden layer keeps its pre-activation, activation and (residual) sum.
        let first = Footprint::linear(data.features(), self.hidden, 3);
        let rest = Footprint::linear(self.hidden, self.hidden, 3).times(self.depth.saturating_sub(1));
        first + rest + Footprint::linear(self.hidden, data.num_classes, 1)
    }
}

impl Mlp {
    /// The last hidden layer's activations `[batch, hidden]` for examples `x` (the GAN's
    /// Frechet distance uses them as features).
    pub fn features(&self, x: Tensor<3>) -> Tensor<2> {
        let mut h = x.flatten(1, 2);
        for (i, layer) in self.hidden.iter().enumerate() {
            let a = relu(layer.forward(h.clone()));
            h = if i > 0 && self.residual { h + a } else { a };
        }
        h
    }
}

impl Classifier for Mlp {
    fn forward(&self, inputs: &Inputs) -> Tensor<2> {
        self.out.forward(self.features(inputs.x()))
    }
}
