//! `gan`: a generator and a discriminator trained against each other (`train::adversarial`).
//!
//! Not a [`Classifier`](super::Classifier): the runner dispatches `family = "gan"` to the
//! adversarial loop. The defaults are PacGAN's 2D architecture (Lin et al. 2018): G maps
//! `z ∈ R²` through 4 hidden layers of 400 ReLU units with batch norm to a point; D has 3
//! maxout layers of 200 units × 5 pieces and a linear output; Adam with lr 1e-4, beta1 0.8.
//! `pack = m` makes D judge `m` samples concatenated (PacGAN's packing).

use crate::data::DataInfo;
use crate::spec::FieldError;
use burn::module::Module;
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// The architecture of G and D.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GanArch {
    /// Fully connected G (batch norm optional) and maxout D, on flattened examples.
    #[default]
    Mlp,
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
    /// PacGAN packing: D judges this many samples concatenated.
    pub pack: usize,
    /// D updates per G update.
    pub d_steps: usize,
    /// G's Adam learning rate.
    pub g_lr: f64,
    /// D's Adam learning rate.
    pub d_lr: f64,
    /// Adam's beta1 (G and D).
    pub beta1: f64,
    /// Adam's beta2 (G and D).
    pub beta2: f64,
    /// Weight of the gradient penalty (`loss = "wgan_gp"` only).
    pub gp_weight: f64,
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
            pack: 1,
            d_steps: 1,
            g_lr: 1e-4,
            d_lr: 1e-4,
            beta1: 0.8,
            beta2: 0.999,
            gp_weight: 10.0,
            eval_samples: crate::gan::metrics::EVAL_SAMPLES,
        }
    }
}

/// The generator: `z` `[batch, z_dim]` to examples `[batch, seq_len, channels]`.
#[derive(Module, Debug)]
pub struct Generator {
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

impl Generator {
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

/// The discriminator: `pack` examples concatenated to one logit.
#[derive(Module, Debug)]
pub struct Discriminator {
    /// Hidden layers, each `pieces` times as wide as its output.
    pub hidden: Vec<Linear>,
    /// Output layer to one logit.
    pub out: Linear,
    /// Maxout pieces (1: ReLU).
    #[module(skip)]
    pub pieces: usize,
    /// Examples per judged input.
    #[module(skip)]
    pub pack: usize,
}

impl Discriminator {
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
        for layer in &self.hidden {
            h = self.activate(layer.forward(h)).0;
        }
        self.out.forward(h)
    }

    /// Maxout (or ReLU) of pre-activations `[b, width * pieces]`: the outputs `[b, width]`
    /// and the 0/1 mask `[b, width, pieces]` of the pieces that won.
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

impl GanSpec {
    /// Checks parameter ranges and fit with the dataset.
    pub fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        use super::layers::at_least_one;
        if data.vocab.is_some() {
            return Err(FieldError::new("family", "`gan` generates continuous values; this dataset holds token ids"));
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
        for (key, v) in [("g_lr", self.g_lr), ("d_lr", self.d_lr)] {
            if !(v.is_finite() && v > 0.0) {
                return Err(FieldError::new(key, format!("must be a positive number, got {v}")));
            }
        }
        for (key, v) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&v) {
                return Err(FieldError::new(key, format!("must be in [0, 1), got {v}")));
            }
        }
        if !(self.gp_weight.is_finite() && self.gp_weight >= 0.0) {
            return Err(FieldError::new("gp_weight", format!("must be >= 0, got {}", self.gp_weight)));
        }
        if self.gp_weight != GanSpec::default().gp_weight && self.loss != GanLoss::WganGp {
            return Err(FieldError::new("gp_weight", "applies to loss = \"wgan_gp\" only"));
        }
        Ok(())
    }

    /// A freshly initialised generator for the dataset.
    pub fn generator(&self, data: &DataInfo, device: &Device) -> Generator {
        let hidden = (0..self.g_depth)
            .map(|i| LinearConfig::new(if i == 0 { self.z_dim } else { self.g_width }, self.g_width).init(device))
            .collect();
        let norms = if self.g_batch_norm {
            (0..self.g_depth).map(|_| BatchNormConfig::new(self.g_width).init(device)).collect()
        } else {
            Vec::new()
        };
        let d_in = if self.g_depth == 0 { self.z_dim } else { self.g_width };
        Generator {
            hidden,
            norms,
            out: LinearConfig::new(d_in, data.features()).init(device),
            shape: [data.seq_len, data.channels],
        }
    }

    /// A freshly initialised discriminator for the dataset.
    pub fn discriminator(&self, data: &DataInfo, device: &Device) -> Discriminator {
        let hidden = (0..self.d_depth)
            .map(|i| {
                let d_in = if i == 0 { self.pack * data.features() } else { self.d_width };
                LinearConfig::new(d_in, self.d_width * self.maxout_pieces).init(device)
            })
            .collect();
        Discriminator {
            hidden,
            out: LinearConfig::new(self.d_width, 1).init(device),
            pieces: self.maxout_pieces,
            pack: self.pack,
        }
    }

    /// Trainable parameters of G and D together.
    pub fn num_params(&self, data: &DataInfo, device: &Device) -> usize {
        self.generator(data, device).num_params() + self.discriminator(data, device).num_params()
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
        let d2 = GanSpec { pack: 2, ..spec.clone() }.discriminator(&info, &device);
        assert_eq!(d2.num_params() - d.num_params(), 2 * 1000);
        let z = Tensor::<2>::zeros([6, 2], &device);
        assert_eq!(g.forward(z.clone()).dims(), [6, 1, 2]);
        assert_eq!(d2.forward(g.forward(z)).dims(), [3, 1]);
    }

    #[test]
    fn input_gradient_matches_finite_differences() {
        let info = Mixture::Grid.info();
        let device = Device::flex();
        for pieces in [1, 3] {
            device.seed(7);
            let spec = GanSpec { d_width: 16, d_depth: 2, maxout_pieces: pieces, pack: 2, ..Default::default() };
            let d = spec.discriminator(&info, &device);
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

    #[test]
    fn bad_values_name_their_key() {
        let info = Mixture::Ring.info();
        let key = |s: GanSpec| s.validate(&info).unwrap_err().key;
        assert_eq!(key(GanSpec { pack: 0, ..Default::default() }), "pack");
        assert_eq!(key(GanSpec { g_lr: -1.0, ..Default::default() }), "g_lr");
        assert_eq!(key(GanSpec { beta1: 1.0, ..Default::default() }), "beta1");
        assert_eq!(key(GanSpec { gp_weight: 1.0, ..Default::default() }), "gp_weight");
        assert!(GanSpec { gp_weight: 1.0, loss: GanLoss::WganGp, ..Default::default() }.validate(&info).is_ok());
        assert!(GanSpec::default().validate(&info).is_ok());
    }
}
