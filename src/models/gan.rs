//! `gan`: a generator and a discriminator trained against each other ([`train`]).
//!
//! Not a [`Classifier`](super::Classifier): [`GanSpec`] implements
//! [`FamilySpec`](super::FamilySpec) itself, training with the adversarial step. The defaults are PacGAN's 2D architecture (Lin et al. 2018): G maps
//! `z ∈ R²` through 4 hidden layers of 400 ReLU units with batch norm to a point; D has 3
//! maxout layers of 200 units × 5 pieces and a linear output; Adam with lr 1e-4, beta1 0.8 (G and D).
//! `pack = m` makes D judge `m` samples concatenated (PacGAN's packing).
//!
//! Everything else about the GAN lives under this module: its adversarial step ([`train`]),
//! the mode-coverage metrics ([`metrics`]), the Frechet distance ([`frechet`]) and the scatter
//! plots of 2D samples ([`plot`]).

pub mod frechet;
pub mod metrics;
pub mod plot;
pub mod train;

use super::Footprint;
use super::rnn::{Cell, Recurrent};
use crate::check::FieldError;
use crate::data::DataInfo;
use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::{leaky_relu, relu, sigmoid, softmax};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// The architecture of G and D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GanArch {
    /// Fully connected G (batch norm optional) and maxout D, on flattened examples.
    #[default]
    Mlp,
    /// LSTM G (the noise fed at every step, a linear read-out per step) and LSTM D (its last
    /// state to one logit), generating continuous sequences such as MNIST-1D signals.
    Lstm,
    /// DCGAN-style G (linear to a 4x-downsampled map, two stride-2 transposed convolutions,
    /// sigmoid) and D (two stride-2 convolutions with leaky ReLU, linear), for images.
    Conv,
}

/// The adversarial loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GanLoss {
    /// Goodfellow et al.'s non-saturating loss: D minimises `softplus(-D(x)) + softplus(D(G(z)))`,
    /// G minimises `softplus(-D(G(z)))`.
    #[default]
    NonSaturating,
    /// Hinge loss (SAGAN): D minimises `relu(1 - D(x)) + relu(1 + D(G(z)))`, G minimises `-D(G(z))`.
    Hinge,
    /// WGAN-GP (Gulrajani et al. 2017): D minimises `D(G(z)) - D(x) + gp_weight (|∇D(x̂)| - 1)²`
    /// at random interpolates `x̂`, G minimises `-D(G(z))`.
    WganGp,
}

/// Parameters of the `gan` family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GanSpec {
    /// The architecture of G and D.
    pub arch: GanArch,
    /// The adversarial loss.
    pub loss: GanLoss,
    /// Dimension of the generator's Gaussian noise `z`.
    pub z_dim: usize,
    /// Width of G's hidden layers.
    pub g_width: usize,
    /// Number of G's hidden layers (0: a linear map of `z`).
    pub g_depth: usize,
    /// Batch norm after each of G's hidden linear layers (before the ReLU).
    pub g_batch_norm: bool,
    /// Units per hidden layer of D.
    pub d_width: usize,
    /// Number of D's hidden layers.
    pub d_depth: usize,
    /// Maxout pieces per unit of D (1: ReLU units).
    pub maxout_pieces: usize,
    /// Batch norm after each of D's hidden linear layers (before the maxout; `arch = "mlp"`).
    pub d_batch_norm: bool,
    /// PacGAN packing: D judges this many samples concatenated.
    pub pack: usize,
    /// D updates per G update.
    pub d_steps: usize,
    /// G's Adam learning rate.
    pub g_lr: f64,
    /// D's Adam learning rate.
    pub d_lr: f64,
    /// G's Adam beta1.
    pub g_beta1: f64,
    /// G's Adam beta2.
    pub g_beta2: f64,
    /// D's Adam beta1.
    pub d_beta1: f64,
    /// D's Adam beta2.
    pub d_beta2: f64,
    /// Weight of the gradient penalty (`loss = "wgan_gp"` only).
    pub gp_weight: f64,
    /// SAGAN's self-attention block in G and D (`arch = "conv"` only).
    pub self_attention: bool,
    /// Generator samples drawn from the fixed evaluation noise at each evaluation.
    pub eval_samples: usize,
}

impl Default for GanSpec {
    fn default() -> Self {
        GanSpec {
            arch: GanArch::Mlp,
            loss: GanLoss::NonSaturating,
            z_dim: 2,
            g_width: 400,
            g_depth: 4,
            g_batch_norm: true,
            d_width: 200,
            d_depth: 3,
            maxout_pieces: 5,
            d_batch_norm: false,
            pack: 1,
            d_steps: 1,
            g_lr: 1e-4,
            d_lr: 1e-4,
            g_beta1: 0.8,
            g_beta2: 0.999,
            d_beta1: 0.8,
            d_beta2: 0.999,
            gp_weight: 10.0,
            self_attention: false,
            eval_samples: metrics::EVAL_SAMPLES,
        }
    }
}

/// The generator: `z` `[batch, z_dim]` to examples `[batch, seq_len, channels]`.
// One G per trial: the variants' size difference costs nothing (Burn's `Activation` does the same).
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Generator {
    /// `arch = "mlp"`.
    Mlp(MlpGenerator),
    /// `arch = "lstm"`.
    Lstm(LstmGenerator),
    /// `arch = "conv"`.
    Conv(ConvGenerator),
}

impl Generator {
    /// Maps noise to examples.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<3> {
        match self {
            Generator::Mlp(g) => g.forward(z),
            Generator::Lstm(g) => g.forward(z),
            Generator::Conv(g) => g.forward(z),
        }
    }
}

/// The discriminator: `pack` examples concatenated to one logit.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Discriminator {
    /// `arch = "mlp"`.
    Mlp(MaxoutDiscriminator),
    /// `arch = "lstm"`.
    Lstm(LstmDiscriminator),
    /// `arch = "conv"`.
    Conv(ConvDiscriminator),
}

impl Discriminator {
    /// Logits `[n / pack, 1]` of examples `[n, seq_len, channels]` (`n` a multiple of `pack`).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        match self {
            Discriminator::Mlp(d) => d.forward(x),
            Discriminator::Lstm(d) => d.forward(x),
            Discriminator::Conv(d) => d.forward(x),
        }
    }
}

/// The `mlp` generator.
#[derive(Module, Debug)]
pub struct MlpGenerator {
    /// Hidden layers.
    pub hidden: Vec<Linear>,
    /// Batch norms of the hidden layers (empty without batch norm).
    pub norms: Vec<BatchNorm>,
    /// Output layer to `seq_len * channels` values.
    pub out: Linear,
    /// `[seq_len, channels]` of an example.
    #[module(skip)]
    pub shape: [usize; 2],
}

impl MlpGenerator {
    /// Maps noise to examples.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<3> {
        let mut h = z;
        for (i, layer) in self.hidden.iter().enumerate() {
            h = layer.forward(h);
            if let Some(norm) = self.norms.get(i) {
                h = norm.forward(h);
            }
            h = relu(h);
        }
        let [b, _] = h.dims();
        self.out.forward(h).reshape([b, self.shape[0], self.shape[1]])
    }
}

/// The `mlp` discriminator: maxout layers on `pack` flattened examples concatenated.
#[derive(Module, Debug)]
pub struct MaxoutDiscriminator {
    /// Hidden layers, each `pieces` times as wide as its output.
    pub hidden: Vec<Linear>,
    /// Batch norms of the hidden layers (empty without batch norm).
    pub norms: Vec<BatchNorm>,
    /// Output layer to one logit.
    pub out: Linear,
    /// Maxout pieces (1: ReLU).
    #[module(skip)]
    pub pieces: usize,
    /// Examples per judged input.
    #[module(skip)]
    pub pack: usize,
}

impl MaxoutDiscriminator {
    /// Concatenates consecutive groups of `pack` examples: `[n, s, c]` to `[n / pack, pack s c]`.
    pub fn packed(&self, x: Tensor<3>) -> Tensor<2> {
        let [n, s, c] = x.dims();
        x.reshape([n / self.pack, self.pack * s * c])
    }

    /// Logits `[n / pack, 1]` of examples `[n, seq_len, channels]` (`n` a multiple of `pack`).
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        self.forward_packed(self.packed(x))
    }

    /// Logits of packed inputs `[b, pack * features]`.
    pub fn forward_packed(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        for (i, layer) in self.hidden.iter().enumerate() {
            let mut pre = layer.forward(h);
            if let Some(norm) = self.norms.get(i) {
                pre = norm.forward(pre);
            }
            h = self.maxout(pre);
        }
        self.out.forward(h)
    }

    /// Maxout (or ReLU) of pre-activations `[b, width * pieces]`: the outputs `[b, width]`.
    fn maxout(&self, pre: Tensor<2>) -> Tensor<2> {
        if self.pieces == 1 {
            return relu(pre);
        }
        let [b, wp] = pre.dims();
        let w = wp / self.pieces;
        pre.reshape([b, w, self.pieces]).max_dim(2).reshape([b, w])
    }

    /// [`Self::maxout`] with the 0/1 mask `[b, width, pieces]` of the pieces that won, which
    /// the input gradient needs (the training forward pass does not build it).
    fn activate(&self, pre: Tensor<2>) -> (Tensor<2>, Tensor<3>) {
        let [b, wp] = pre.dims();
        let w = wp / self.pieces;
        if self.pieces == 1 {
            let mask = pre.clone().greater_elem(0.0).float().detach().reshape([b, w, 1]);
            return (relu(pre), mask);
        }
        let pre = pre.reshape([b, w, self.pieces]);
        let max = pre.clone().max_dim(2);
        let mask = pre.equal(max.clone().expand([b, w, self.pieces])).float().detach();
        (max.reshape([b, w]), mask)
    }

    /// The gradient `∇ₓ D(x)` `[b, pack * features]` of the logit with respect to packed
    /// inputs, built from tensor operations so that it is itself differentiable with respect
    /// to D's weights (Burn's autodiff has no second-order gradients; D is piecewise linear,
    /// so its input gradient is the product of the weights along the winning pieces).
    pub fn input_gradient(&self, x: Tensor<2>) -> Tensor<2> {
        let mut h = x;
        let mut masks = Vec::with_capacity(self.hidden.len());
        for layer in &self.hidden {
            let (out, mask) = self.activate(layer.forward(h));
            masks.push(mask);
            h = out;
        }
        let [b, width] = h.dims();
        // d logit / d h = out.weight[:, 0] for every row.
        let mut v = self.out.weight.val().reshape([1, width]).expand([b, width]);
        for (layer, mask) in self.hidden.iter().zip(masks).rev() {
            let [_, w, p] = mask.dims();
            let g_pre = (mask * v.reshape([b, w, 1]).expand([b, w, p])).reshape([b, w * p]);
            v = g_pre.matmul(layer.weight.val().transpose());
        }
        v
    }
}

/// The `lstm` generator: the noise at every step into an LSTM, a linear read-out per step.
#[derive(Module, Debug)]
pub struct LstmGenerator {
    /// The LSTM layer (`z_dim` to `g_width`).
    pub cell: Recurrent,
    /// Per-step read-out to `channels` values.
    pub out: Linear,
    /// Steps per example.
    #[module(skip)]
    pub seq_len: usize,
}

impl LstmGenerator {
    /// Maps noise `[b, z_dim]` to sequences `[b, seq_len, channels]`.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<3> {
        let inputs = vec![z; self.seq_len];
        let steps: Vec<Tensor<3>> =
            self.cell.run(&inputs, false).into_iter().map(|h| self.out.forward(h).unsqueeze_dim(1)).collect();
        Tensor::cat(steps, 1)
    }
}

/// The `lstm` discriminator: `pack` sequences concatenated along channels, an LSTM, its last
/// state to one logit.
#[derive(Module, Debug)]
pub struct LstmDiscriminator {
    /// The LSTM layer (`pack * channels` to `d_width`).
    pub cell: Recurrent,
    /// The last state to one logit.
    pub out: Linear,
    /// Examples per judged input.
    #[module(skip)]
    pub pack: usize,
}

impl LstmDiscriminator {
    /// Logits `[n / pack, 1]` of sequences `[n, seq_len, channels]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let [n, t, c] = x.dims();
        let b = n / self.pack;
        let x = x.reshape([b, self.pack, t, c]).swap_dims(1, 2).reshape([b, t, self.pack * c]);
        let inputs: Vec<Tensor<2>> = (0..t).map(|i| x.clone().narrow(1, i, 1).reshape([b, self.pack * c])).collect();
        match self.cell.run(&inputs, false).pop() {
            Some(last) => self.out.forward(last),
            None => Tensor::zeros([b, 1], &x.device()),
        }
    }
}

/// The `conv` generator (DCGAN): linear to `[2 g_width, h/4, w/4]`, batch norm, ReLU; a stride-2
/// transposed convolution to `[g_width, h/2, w/2]`, batch norm, ReLU (then the optional
/// self-attention block); a stride-2 transposed convolution to `[1, h, w]`; sigmoid.
#[derive(Module, Debug)]
pub struct ConvGenerator {
    /// Noise to the first feature map.
    pub project: Linear,
    /// Batch norms of the two hidden maps (empty without batch norm).
    pub norms: Vec<BatchNorm>,
    /// First up-sampling.
    pub up1: ConvTranspose2d,
    /// Optional self-attention on the `h/2 × w/2` map.
    pub attention: Option<SaganAttention>,
    /// Second up-sampling to one channel.
    pub up2: ConvTranspose2d,
    /// `[height, width]` of an image.
    #[module(skip)]
    pub image: [usize; 2],
}

impl ConvGenerator {
    /// Maps noise `[b, z_dim]` to images `[b, height, width]` in (0, 1).
    pub fn forward(&self, z: Tensor<2>) -> Tensor<3> {
        let [b, _] = z.dims();
        let [h, w] = self.image;
        let c2 = self.project.weight.dims()[1] / (h / 4 * (w / 4));
        let mut x = self.project.forward(z).reshape([b, c2, h / 4, w / 4]);
        if let Some(norm) = self.norms.first() {
            x = norm.forward(x);
        }
        x = self.up1.forward(relu(x));
        if let Some(norm) = self.norms.get(1) {
            x = norm.forward(x);
        }
        x = relu(x);
        if let Some(att) = &self.attention {
            x = att.forward(x);
        }
        sigmoid(self.up2.forward(x)).reshape([b, h, w])
    }
}

/// The `conv` discriminator (DCGAN): `pack` images as input channels; two stride-2
/// convolutions with leaky ReLU (0.2), the optional self-attention block after the first;
/// flatten; one logit.
#[derive(Module, Debug)]
pub struct ConvDiscriminator {
    /// `pack` channels to `d_width`, halving the size.
    pub conv1: Conv2d,
    /// Optional self-attention on the `h/2 × w/2` map.
    pub attention: Option<SaganAttention>,
    /// `d_width` to `2 d_width` channels, halving again.
    pub conv2: Conv2d,
    /// The flattened map to one logit.
    pub out: Linear,
    /// Examples per judged input.
    #[module(skip)]
    pub pack: usize,
}

impl ConvDiscriminator {
    /// Logits `[n / pack, 1]` of images `[n, height, width]`.
    pub fn forward(&self, x: Tensor<3>) -> Tensor<2> {
        let [n, h, w] = x.dims();
        let b = n / self.pack;
        let mut y = leaky_relu(self.conv1.forward(x.reshape([b, self.pack, h, w])), 0.2);
        if let Some(att) = &self.attention {
            y = att.forward(y);
        }
        let y = leaky_relu(self.conv2.forward(y), 0.2);
        self.out.forward(y.flatten(1, 3))
    }
}

/// SAGAN's self-attention block on a feature map `[b, c, h, w]`: queries and keys of `c / 8`
/// channels (at least 1), values of `c`, by 1×1 projections; softmax attention over the `h w`
/// positions; `x + gamma · o` with `gamma` starting at 0.
#[derive(Module, Debug)]
pub struct SaganAttention {
    /// Query projection.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
    /// The residual gate, initially 0.
    pub gamma: Param<Tensor<1>>,
}

impl SaganAttention {
    /// A block for `channels` channels.
    pub fn new(channels: usize, device: &Device) -> Self {
        let inner = (channels / 8).max(1);
        SaganAttention {
            query: LinearConfig::new(channels, inner).init(device),
            key: LinearConfig::new(channels, inner).init(device),
            value: LinearConfig::new(channels, channels).init(device),
            gamma: Param::from_tensor(Tensor::zeros([1], device)),
        }
    }

    /// Applies the block.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let seq = x.clone().reshape([b, c, h * w]).swap_dims(1, 2);
        let (q, k, v) = (self.query.forward(seq.clone()), self.key.forward(seq.clone()), self.value.forward(seq));
        let att = softmax(q.matmul(k.swap_dims(1, 2)), 2);
        let o = att.matmul(v).swap_dims(1, 2).reshape([b, c, h, w]);
        x + o * self.gamma.val().reshape([1, 1, 1, 1])
    }
}

impl GanSpec {
    /// Checks parameter ranges and fit with the dataset.
    pub fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        use crate::check::{at_least_one, probability};
        if data.vocab.is_some() {
            return Err(FieldError::new("family", "`gan` generates continuous values; this dataset holds token ids"));
        }
        if data.task == crate::data::Task::Regression {
            return Err(FieldError::new(
                "family",
                "`gan` cannot regress: this dataset has `task = \"regression\"`; use a classifier family (linear, mlp, ...)",
            ));
        }
        for (key, v) in [
            ("z_dim", self.z_dim),
            ("g_width", self.g_width),
            ("d_width", self.d_width),
            ("d_depth", self.d_depth),
            ("maxout_pieces", self.maxout_pieces),
            ("pack", self.pack),
            ("d_steps", self.d_steps),
            ("eval_samples", self.eval_samples),
        ] {
            at_least_one(key, v)?;
        }
        FieldError::positive("g_lr", self.g_lr)?;
        FieldError::positive("d_lr", self.d_lr)?;
        let betas = [
            ("g_beta1", self.g_beta1),
            ("g_beta2", self.g_beta2),
            ("d_beta1", self.d_beta1),
            ("d_beta2", self.d_beta2),
        ];
        for (key, v) in betas {
            probability(key, v)?;
        }
        if !(self.gp_weight.is_finite() && self.gp_weight >= 0.0) {
            return Err(FieldError::new("gp_weight", format!("must be >= 0, got {}", self.gp_weight)));
        }
        if self.gp_weight != GanSpec::default().gp_weight && self.loss != GanLoss::WganGp {
            return Err(FieldError::new("gp_weight", "applies to loss = \"wgan_gp\" only"));
        }
        if self.d_batch_norm && self.arch != GanArch::Mlp {
            return Err(FieldError::new("d_batch_norm", "applies to arch = \"mlp\" only"));
        }
        if self.d_batch_norm && self.loss == GanLoss::WganGp {
            let msg = "cannot be used with loss = \"wgan_gp\" (the gradient penalty is per example; batch norm mixes examples)";
            return Err(FieldError::new("d_batch_norm", msg));
        }
        if self.loss == GanLoss::WganGp && self.arch != GanArch::Mlp {
            return Err(FieldError::new(
                "loss",
                "\"wgan_gp\" needs arch = \"mlp\" (its gradient penalty is built from the maxout layers)",
            ));
        }
        if self.self_attention && self.arch != GanArch::Conv {
            return Err(FieldError::new("self_attention", "applies to arch = \"conv\" only"));
        }
        if self.arch == GanArch::Conv {
            let [h, w] = data.image.unwrap_or([data.seq_len, data.channels]);
            if data.image.is_none() || h % 4 != 0 || w % 4 != 0 {
                return Err(FieldError::new(
                    "arch",
                    format!("\"conv\" needs an image dataset with sides divisible by 4, got {h}x{w} steps x channels"),
                ));
            }
        }
        Ok(())
    }

    /// A freshly initialised generator for the dataset.
    pub fn generator(&self, data: &DataInfo, device: &Device) -> Generator {
        match self.arch {
            GanArch::Mlp => {
                let hidden = (0..self.g_depth)
                    .map(|i| {
                        LinearConfig::new(if i == 0 { self.z_dim } else { self.g_width }, self.g_width).init(device)
                    })
                    .collect();
                let norms = if self.g_batch_norm {
                    (0..self.g_depth).map(|_| BatchNormConfig::new(self.g_width).init(device)).collect()
                } else {
                    Vec::new()
                };
                let d_in = if self.g_depth == 0 { self.z_dim } else { self.g_width };
                Generator::Mlp(MlpGenerator {
                    hidden,
                    norms,
                    out: LinearConfig::new(d_in, data.features()).init(device),
                    shape: [data.seq_len, data.channels],
                })
            }
            GanArch::Lstm => Generator::Lstm(LstmGenerator {
                cell: Recurrent::new(Cell::Lstm, self.z_dim, self.g_width, device),
                out: LinearConfig::new(self.g_width, data.channels).init(device),
                seq_len: data.seq_len,
            }),
            GanArch::Conv => {
                let [h, w] = data.image.unwrap_or([data.seq_len, data.channels]);
                let c = self.g_width;
                let up = |from: usize, to: usize| {
                    ConvTranspose2dConfig::new([from, to], [4, 4]).with_stride([2, 2]).with_padding([1, 1]).init(device)
                };
                let norms = if self.g_batch_norm {
                    vec![BatchNormConfig::new(2 * c).init(device), BatchNormConfig::new(c).init(device)]
                } else {
                    Vec::new()
                };
                Generator::Conv(ConvGenerator {
                    project: LinearConfig::new(self.z_dim, 2 * c * (h / 4) * (w / 4)).init(device),
                    norms,
                    up1: up(2 * c, c),
                    attention: self.self_attention.then(|| SaganAttention::new(c, device)),
                    up2: up(c, 1),
                    image: [h, w],
                })
            }
        }
    }

    /// A freshly initialised discriminator for the dataset.
    pub fn discriminator(&self, data: &DataInfo, device: &Device) -> Discriminator {
        match self.arch {
            GanArch::Mlp => {
                let hidden = (0..self.d_depth)
                    .map(|i| {
                        let d_in = if i == 0 { self.pack * data.features() } else { self.d_width };
                        LinearConfig::new(d_in, self.d_width * self.maxout_pieces).init(device)
                    })
                    .collect();
                let norms = if self.d_batch_norm {
                    (0..self.d_depth)
                        .map(|_| BatchNormConfig::new(self.d_width * self.maxout_pieces).init(device))
                        .collect()
                } else {
                    Vec::new()
                };
                Discriminator::Mlp(MaxoutDiscriminator {
                    hidden,
                    norms,
                    out: LinearConfig::new(self.d_width, 1).init(device),
                    pieces: self.maxout_pieces,
                    pack: self.pack,
                })
            }
            GanArch::Lstm => Discriminator::Lstm(LstmDiscriminator {
                cell: Recurrent::new(Cell::Lstm, self.pack * data.channels, self.d_width, device),
                out: LinearConfig::new(self.d_width, 1).init(device),
                pack: self.pack,
            }),
            GanArch::Conv => {
                let [h, w] = data.image.unwrap_or([data.seq_len, data.channels]);
                let c = self.d_width;
                let down = |from: usize, to: usize| {
                    Conv2dConfig::new([from, to], [4, 4])
                        .with_stride([2, 2])
                        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                        .init(device)
                };
                Discriminator::Conv(ConvDiscriminator {
                    conv1: down(self.pack, c),
                    attention: self.self_attention.then(|| SaganAttention::new(c, device)),
                    conv2: down(c, 2 * c),
                    out: LinearConfig::new(2 * c * (h / 4) * (w / 4), 1).init(device),
                    pack: self.pack,
                })
            }
        }
    }

    /// The estimated size of G and D together; activations per batch element (`pack`
    /// generated and `pack` real examples through D, one generator pass per sample).
    pub fn footprint(&self, data: &DataInfo) -> Footprint {
        let (z, gw, dw, pack) = (self.z_dim, self.g_width, self.d_width, self.pack);
        let [h, w] = data.image.unwrap_or([data.seq_len, data.channels]);
        let (t, f) = (data.seq_len as f64, data.features());
        let lstm = |d_in: usize, width: usize| Footprint {
            params: 4.0 * width as f64 * (d_in + width + 2) as f64,
            activations: t * 14.0 * width as f64,
        };
        let (g, d) = match self.arch {
            GanArch::Mlp => {
                let g_hidden =
                    Footprint::linear(z, gw, 3) + Footprint::linear(gw, gw, 3).times(self.g_depth.saturating_sub(1));
                let g_in = if self.g_depth == 0 { z } else { gw };
                let g =
                    (if self.g_depth == 0 { Footprint::default() } else { g_hidden }) + Footprint::linear(g_in, f, 1);
                let maxout = dw * self.maxout_pieces;
                let d = Footprint::linear(pack * f, maxout, 2)
                    + Footprint::linear(dw, maxout, 2).times(self.d_depth.saturating_sub(1))
                    + Footprint::linear(dw, 1, 1);
                (g.times(pack), d)
            }
            GanArch::Lstm => {
                let g = lstm(z, gw) + Footprint::linear(gw, data.channels, data.seq_len);
                (g.times(pack), lstm(pack * data.channels, dw) + Footprint::linear(dw, 1, 1))
            }
            GanArch::Conv => {
                let quarter = (h / 4) * (w / 4);
                let g = Footprint::linear(z, 2 * gw * quarter, 1)
                    + Footprint {
                        params: 32.0 * (gw * gw) as f64 + 16.0 * gw as f64,
                        activations: (3 * gw * 4 * quarter) as f64,
                    }
                    + Footprint::values(
                        (h * w) as f64 + if self.self_attention { 3.0 * (4 * quarter).pow(2) as f64 } else { 0.0 },
                    );
                let d = Footprint {
                    params: 16.0 * (pack * dw + 2 * dw * dw) as f64,
                    activations: (3 * dw * 4 * quarter) as f64,
                } + Footprint::linear(2 * dw * quarter, 1, 1);
                (g.times(pack), d)
            }
        };
        // D sees a real and a generated batch each step.
        Footprint { params: g.params + d.params, activations: g.activations + 2.0 * d.activations }
    }

    /// Trainable parameters of G and D together.
    pub fn num_params(&self, data: &DataInfo, device: &Device) -> usize {
        self.generator(data, device).num_params() + self.discriminator(data, device).num_params()
    }
}

impl super::FamilySpec for GanSpec {
    fn name(&self) -> &'static str {
        "gan"
    }
    fn summary(&self) -> &'static str {
        "GAN: generator + discriminator (mlp, lstm or conv; PacGAN packing); mode coverage (2D) or Frechet distance"
    }
    fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        GanSpec::validate(self, data)
    }
    /// Rejects `accumulate > 1`: the adversarial step makes one update per batch.
    fn check_training(&self, training: &crate::train::TrainingSpec) -> Result<(), FieldError> {
        if training.accumulate > 1 {
            return Err(FieldError::new(
                "accumulate",
                format!("is {}, but the `gan` family does not accumulate gradients: use 1", training.accumulate),
            ));
        }
        Ok(())
    }
    fn footprint(&self, data: &DataInfo) -> Footprint {
        GanSpec::footprint(self, data)
    }
    fn num_params(&self, data: &DataInfo, device: &Device) -> usize {
        GanSpec::num_params(self, data, device)
    }
    /// The evaluation samples it generates (`eval_samples`).
    fn eval_examples(&self) -> usize {
        self.eval_samples
    }
    fn metrics(&self) -> Vec<String> {
        self::train::METRICS.iter().map(|m| m.to_string()).collect()
    }
    /// G's weights (`final`, `best`) and D's (`discriminator`), in `model/`.
    fn saves_model(&self) -> bool {
        true
    }
    /// The saved generator's metrics, as the trainer measures them ([`train::evaluate_saved`]).
    fn evaluate_saved(&self, saved: &super::saved::SavedEval<'_>) -> crate::error::Result<crate::train::Metrics> {
        self::train::evaluate_saved(self, saved)
    }
    fn why_no_predictions(&self) -> Option<String> {
        Some(
            "a GAN has no per-row predictions: its generator turns noise into samples; `burnlab eval TRIAL_DIR` \
             measures the saved generator (its Frechet distance or mode metrics)"
                .to_string(),
        )
    }
    /// The adversarial trainer, with the mixture's modes when the dataset has them.
    fn train(
        &self,
        ctx: super::TrainCtx<'_>,
        obs: &mut dyn crate::train::Observer,
    ) -> crate::error::Result<crate::train::FitOutcome> {
        let modes = ctx.data.modes.as_ref();
        Ok(self::train::fit_gan(self, ctx, modes, obs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mixture::Mixture;
    use burn::tensor::TensorData;

    #[test]
    fn pacgan_sizes() {
        let info = Mixture::Ring.info();
        let device = Device::flex();
        let spec = GanSpec::default();
        let g = spec.generator(&info, &device);
        // 2->400, 3 x 400->400, 400->2, plus 4 batch norms (Burn counts gamma, beta and the
        // two running statistics).
        assert_eq!(g.num_params(), (2 * 400 + 400) + 3 * (400 * 400 + 400) + (400 * 2 + 2) + 4 * 1600);
        let d = spec.discriminator(&info, &device);
        assert_eq!(d.num_params(), (2 * 1000 + 1000) + 2 * (200 * 1000 + 1000) + 201);
        assert!(matches!((&g, &d), (Generator::Mlp(_), Discriminator::Mlp(_))));
        let d2 = GanSpec { pack: 2, ..spec.clone() }.discriminator(&info, &device);
        assert_eq!(d2.num_params() - d.num_params(), 2 * 1000);
        let z = Tensor::<2>::zeros([6, 2], &device);
        assert_eq!(g.forward(z.clone()).dims(), [6, 1, 2]);
        assert_eq!(d2.forward(g.forward(z.clone())).dims(), [3, 1]);
        // D's optional batch norms: one per hidden layer over its width * pieces pre-activations.
        let d_bn = GanSpec { d_batch_norm: true, ..spec.clone() }.discriminator(&info, &device);
        assert_eq!(d_bn.num_params() - d.num_params(), 3 * 4 * 1000);
        let x = Tensor::<3>::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0, 0.1], [2, 1, 2]), &device);
        let Discriminator::Mlp(m) = &d_bn else { panic!("mlp") };
        // In evaluation mode with fresh running statistics (mean 0, variance 1) the norms are
        // the identity up to epsilon, so the logits match D without them on the same weights.
        let plain = MaxoutDiscriminator { norms: Vec::new(), ..m.clone() };
        let (a, b) = (m.forward(x.clone()).into_data(), plain.forward(x).into_data());
        a.assert_approx_eq::<f32>(&b, burn::tensor::Tolerance::absolute(1e-3));
    }

    #[test]
    fn input_gradient_matches_finite_differences() {
        let info = Mixture::Grid.info();
        let device = Device::flex();
        for pieces in [1, 3] {
            device.seed(7);
            let spec = GanSpec { d_width: 16, d_depth: 2, maxout_pieces: pieces, pack: 2, ..Default::default() };
            let Discriminator::Mlp(d) = spec.discriminator(&info, &device) else { panic!("mlp") };
            let x = [0.3f32, -1.2, 0.7, 2.0];
            let at = |v: Vec<f32>| {
                let t = Tensor::<2>::from_data(TensorData::new(v, [1, 4]), &device);
                f64::from(d.forward_packed(t).into_scalar::<f32>())
            };
            let grad = d
                .input_gradient(Tensor::<2>::from_data(TensorData::new(x.to_vec(), [1, 4]), &device))
                .to_data()
                .try_to_vec::<f32>()
                .unwrap();
            for i in 0..4 {
                let h = 1e-3f32;
                let (mut up, mut down) = (x.to_vec(), x.to_vec());
                up[i] += h;
                down[i] -= h;
                let fd = (at(up) - at(down)) / (2.0 * f64::from(h));
                assert!(
                    (fd - f64::from(grad[i])).abs() < 1e-2 * (1.0 + fd.abs()),
                    "pieces {pieces} [{i}]: {fd} vs {}",
                    grad[i]
                );
            }
        }
    }

    fn info(seq_len: usize, channels: usize, image: Option<[usize; 2]>) -> DataInfo {
        DataInfo { seq_len, channels, num_classes: 10, image, ..Default::default() }
    }

    #[test]
    fn lstm_and_conv_shapes_with_packing() {
        let device = Device::flex();
        let z = Tensor::<2>::ones([6, 5], &device);
        let seq = info(40, 1, None);
        let spec = GanSpec { arch: GanArch::Lstm, z_dim: 5, g_width: 8, d_width: 7, pack: 3, ..Default::default() };
        spec.validate(&seq).unwrap();
        let (g, d) = (spec.generator(&seq, &device), spec.discriminator(&seq, &device));
        let x = g.forward(z.clone());
        assert_eq!(x.dims(), [6, 40, 1]);
        assert_eq!(d.forward(x).dims(), [2, 1]);
        // LSTM: 4 gates x hidden x (input + hidden + 2 biases), plus the read-outs.
        assert_eq!(g.num_params(), 4 * 8 * (5 + 8 + 2) + 9);
        assert_eq!(d.num_params(), 4 * 7 * (3 + 7 + 2) + 8);

        let img = info(8, 8, Some([8, 8]));
        for attention in [false, true] {
            let spec = GanSpec {
                arch: GanArch::Conv,
                z_dim: 5,
                g_width: 16,
                d_width: 8,
                pack: 2,
                self_attention: attention,
                ..Default::default()
            };
            spec.validate(&img).unwrap();
            let (g, d) = (spec.generator(&img, &device), spec.discriminator(&img, &device));
            let x = g.forward(z.clone());
            assert_eq!(x.dims(), [6, 8, 8]);
            let v = x.clone().to_data().try_to_vec::<f32>().unwrap();
            assert!(v.iter().all(|p| (0.0..=1.0).contains(p)), "sigmoid output");
            assert_eq!(d.forward(x).dims(), [3, 1]);
        }
    }

    #[test]
    fn self_attention_starts_as_the_identity_and_mixes_positions() {
        let device = Device::flex();
        device.seed(3);
        let mut att = SaganAttention::new(16, &device);
        let x = Tensor::<4>::random([2, 16, 4, 4], burn::tensor::Distribution::Normal(0.0, 1.0), &device);
        let same = att.forward(x.clone()).sub(x.clone()).abs().max().into_scalar::<f32>();
        assert_eq!(same, 0.0, "gamma = 0: the block is the identity");
        att.gamma = Param::from_tensor(Tensor::ones([1], &device));
        // With gamma = 1, changing one position changes the output at every other position.
        let mut bumped = x.clone().to_data().try_to_vec::<f32>().unwrap();
        bumped[0] += 5.0;
        let y1 = att.forward(x.clone());
        let y2 = att.forward(Tensor::from_data(TensorData::new(bumped, [2, 16, 4, 4]), &device));
        let diff = (y1 - y2).narrow(3, 3, 1).narrow(0, 0, 1).abs().max().into_scalar::<f32>();
        assert!(diff > 1e-4, "{diff}");
    }

    #[test]
    fn arch_limits_are_checked() {
        let ring = Mixture::Ring.info();
        let key = |s: GanSpec, d: &DataInfo| s.validate(d).unwrap_err().key;
        assert_eq!(key(GanSpec { arch: GanArch::Conv, ..Default::default() }, &ring), "arch");
        assert_eq!(key(GanSpec { arch: GanArch::Conv, ..Default::default() }, &info(6, 6, Some([6, 6]))), "arch");
        assert_eq!(key(GanSpec { arch: GanArch::Lstm, loss: GanLoss::WganGp, ..Default::default() }, &ring), "loss");
        assert_eq!(
            key(GanSpec { arch: GanArch::Lstm, d_batch_norm: true, ..Default::default() }, &ring),
            "d_batch_norm"
        );
        let gp_bn = GanSpec { loss: GanLoss::WganGp, d_batch_norm: true, ..Default::default() };
        assert_eq!(key(gp_bn, &ring), "d_batch_norm");
        assert_eq!(key(GanSpec { self_attention: true, ..Default::default() }, &ring), "self_attention");
        assert!(GanSpec { arch: GanArch::Conv, ..Default::default() }.validate(&info(8, 8, Some([8, 8]))).is_ok());
    }

    #[test]
    fn bad_values_name_their_key() {
        let info = Mixture::Ring.info();
        let key = |s: GanSpec| s.validate(&info).unwrap_err().key;
        assert_eq!(key(GanSpec { pack: 0, ..Default::default() }), "pack");
        assert_eq!(key(GanSpec { g_lr: -1.0, ..Default::default() }), "g_lr");
        assert_eq!(key(GanSpec { g_beta1: 1.0, ..Default::default() }), "g_beta1");
        assert_eq!(key(GanSpec { d_beta2: -0.1, ..Default::default() }), "d_beta2");
        assert_eq!(key(GanSpec { gp_weight: 1.0, ..Default::default() }), "gp_weight");
        assert!(GanSpec { gp_weight: 1.0, loss: GanLoss::WganGp, ..Default::default() }.validate(&info).is_ok());
        assert!(GanSpec::default().validate(&info).is_ok());
    }
}
