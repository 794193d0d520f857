//! `gated_mlp`: a gated residual MLP, a model family burnlab does not ship.
//!
//! Each example `x: [batch, time, channels]` is flattened to `[batch, time * channels]` and
//! embedded to `width`; `depth` pre-norm residual blocks then each add a gated feed-forward
//! update (the Transformer's feed-forward sublayer with a GLU-family gate, without attention);
//! a final layer norm and a linear head give the logits:
//!
//! ```text
//! h  = W_in flatten(x)                               [batch, width]
//! u  = LayerNorm(h)                                  pre-norm (Xiong et al. 2020)
//! h  = h + dropout(W_out(act(W_gate u) * W_value u)) [batch, hidden] inside, [batch, width] out
//! logits = W_head LayerNorm(h)                       [batch, classes]
//! ```
//!
//! `act` picks the gate: `sigmoid` is GLU (Dauphin et al. 2017, "Language Modeling with Gated
//! Convolutional Networks"); `gelu` (GEGLU, the default), `silu` (SwiGLU) and `relu` (ReGLU) are
//! the variants of Shazeer 2020, "GLU Variants Improve Transformer". Every layer is Burn's
//! `Linear` (`y = x W + b`, `W: [in, out]`) and `LayerNorm` (epsilon 1e-5, as PyTorch's), and
//! the forward pass matches PyTorch's `nn.Linear`, `nn.LayerNorm` and `F.gelu` (exact, erf) to
//! 1e-5 (burnlab's tests/custom_family.rs, fixtures written by
//! scripts/make_gated_mlp_fixtures.py, which holds the PyTorch module).

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, relu, sigmoid, silu};
use burn::tensor::{Device, Tensor};
use burnlab::plugin::{
    Classifier, DataInfo, Dropout, Family, FieldError, Footprint, Inputs, at_least_one, probability,
};
use serde::{Deserialize, Serialize};

/// The gate's activation, `act` in `act(W_gate u) * W_value u`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    /// GLU: `sigmoid(a) * b`.
    Sigmoid,
    /// GEGLU: `gelu(a) * b` (exact GELU, with erf).
    Gelu,
    /// SwiGLU: `silu(a) * b`, `silu(a) = a * sigmoid(a)`.
    Silu,
    /// ReGLU: `relu(a) * b`.
    Relu,
}

impl Gate {
    /// Applies the activation elementwise.
    fn apply(self, a: Tensor<2>) -> Tensor<2> {
        match self {
            Gate::Sigmoid => sigmoid(a),
            Gate::Gelu => gelu(a),
            Gate::Silu => silu(a),
            Gate::Relu => relu(a),
        }
    }
}

/// Parameters of the `gated_mlp` family (the `[[models]]` keys besides `family`), with their
/// defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatedMlpSpec {
    /// Width of the residual stream (`h`).
    pub width: usize,
    /// Width inside each block (the gate and value projections).
    pub hidden: usize,
    /// Number of residual blocks (0: a linear model on the layer-normed embedding).
    pub depth: usize,
    /// The gate's activation: `"sigmoid"`, `"gelu"`, `"silu"` or `"relu"`.
    pub gate: Gate,
    /// Dropout on each block's update before it is added, in `[0, 1)`.
    pub dropout: f64,
}

impl Default for GatedMlpSpec {
    fn default() -> Self {
        GatedMlpSpec { width: 64, hidden: 128, depth: 2, gate: Gate::Gelu, dropout: 0.0 }
    }
}

/// One pre-norm gated residual block: `h + dropout(out(act(gate(LN h)) * value(LN h)))`.
#[derive(Module, Debug)]
pub struct GatedBlock {
    /// Layer norm over the `width` features.
    pub norm: LayerNorm,
    /// `width -> hidden`, through the activation.
    pub gate: Linear,
    /// `width -> hidden`, linear.
    pub value: Linear,
    /// `hidden -> width`: the update added to the residual stream.
    pub out: Linear,
    /// Dropout on the update.
    pub dropout: Dropout,
    /// The gate's activation.
    #[module(skip)]
    pub act: Gate,
}

impl GatedBlock {
    /// `[batch, width]` to `[batch, width]`.
    pub fn forward(&self, h: Tensor<2>) -> Tensor<2> {
        let u = self.norm.forward(h.clone());
        let gated = self.act.apply(self.gate.forward(u.clone())) * self.value.forward(u);
        h + self.dropout.forward(self.out.forward(gated))
    }
}

/// The `gated_mlp` module.
#[derive(Module, Debug)]
pub struct GatedMlp {
    /// `time * channels -> width`.
    pub embed: Linear,
    /// The residual blocks, in order.
    pub blocks: Vec<GatedBlock>,
    /// Layer norm before the head.
    pub norm: LayerNorm,
    /// `width -> classes` (1 output for a regression `table`).
    pub head: Linear,
}

impl Family for GatedMlpSpec {
    const NAME: &'static str = "gated_mlp";
    const SUMMARY: &'static str = "gated residual MLP: h += W_out(act(W_gate LN h) * W_value LN h), GLU variants";
    type Model = GatedMlp;

    fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        at_least_one("width", self.width)?;
        at_least_one("hidden", self.hidden)?;
        probability("dropout", self.dropout)?;
        if data.vocab.is_some() {
            // Token ids are categories, not magnitudes: they need an embedding this model lacks.
            return Err(FieldError::new(
                "family",
                "`gated_mlp` reads numeric signals, but this dataset holds token ids",
            ));
        }
        Ok(())
    }

    fn init(&self, data: &DataInfo, device: &Device) -> GatedMlp {
        let block = || GatedBlock {
            norm: LayerNormConfig::new(self.width).init(device),
            gate: LinearConfig::new(self.width, self.hidden).init(device),
            value: LinearConfig::new(self.width, self.hidden).init(device),
            out: LinearConfig::new(self.hidden, self.width).init(device),
            dropout: Dropout::new(self.dropout),
            act: self.gate,
        };
        GatedMlp {
            embed: LinearConfig::new(data.features(), self.width).init(device),
            blocks: (0..self.depth).map(|_| block()).collect(),
            norm: LayerNormConfig::new(self.width).init(device),
            head: LinearConfig::new(self.width, data.num_classes).init(device),
        }
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        let norm = Footprint { params: 2.0 * self.width as f64, activations: self.width as f64 };
        // Per block: the norm; gate, its activation, value and their product (4 x hidden);
        // the update and the residual sum (2 x width).
        let block = norm
            + Footprint::linear(self.width, self.hidden, 2).times(2)
            + Footprint::linear(self.hidden, self.width, 2);
        Footprint::linear(data.features(), self.width, 1)
            + block.times(self.depth)
            + norm
            + Footprint::linear(self.width, data.num_classes, 1)
    }
}

impl Classifier for GatedMlp {
    /// `[batch, time, channels]` to logits `[batch, classes]`.
    fn forward(&self, inputs: &Inputs) -> Tensor<2> {
        let mut h = self.embed.forward(inputs.x().flatten(1, 2));
        for block in &self.blocks {
            h = block.forward(h);
        }
        self.head.forward(self.norm.forward(h))
    }
}
