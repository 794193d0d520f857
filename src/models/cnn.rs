//! `cnn`: a convolutional classifier, 1D over time or 2D over an image dataset's `[h, w]`.
//!
//! With the defaults it is MNIST-1D's CNN: Conv1d 1->25 k5 s2 p1, 25->25 k3 s2 p1,
//! 25->25 k3 s2 p1, ReLU after each, channel-major flatten (25 * 5 = 125) -> Linear 10.

use super::layers::{token_embedding, token_ids};
use super::{Classifier, Family, Footprint, Inputs};
use crate::check::FieldError;
use crate::check::at_least_one;
use crate::data::DataInfo;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig};
use burn::nn::{Embedding, Linear, LinearConfig, PaddingConfig1d, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// A per-layer setting: one value for every layer, or a list with one value per layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum PerLayer {
    /// The same value for every layer.
    All(usize),
    /// One value per layer (as many as `channels`).
    Each(Vec<usize>),
}

impl<'de> Deserialize<'de> for PerLayer {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = PerLayer;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a non-negative integer or a list of them (one per layer)")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PerLayer, E> {
                usize::try_from(v)
                    .map(PerLayer::All)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PerLayer, E> {
                usize::try_from(v)
                    .map(PerLayer::All)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<PerLayer, A::Error> {
                let mut v = Vec::new();
                while let Some(x) = seq.next_element::<usize>()? {
                    v.push(x);
                }
                Ok(PerLayer::Each(v))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl PerLayer {
    /// The value for layer `i` (`Each` must have been checked to have enough entries).
    pub fn get(&self, i: usize) -> usize {
        match self {
            PerLayer::All(v) => *v,
            PerLayer::Each(v) => v[i],
        }
    }

    /// Checks the entry count against `layers` and that every value is at least `min`.
    fn check(&self, key: &str, layers: usize, min: usize) -> Result<(), FieldError> {
        if let PerLayer::Each(v) = self
            && v.len() != layers
        {
            return Err(FieldError::new(
                key,
                format!(
                    "has {} entries but `channels` has {layers}: give one per layer, or one number for all",
                    v.len()
                ),
            ));
        }
        match (0..layers).map(|i| self.get(i)).find(|&v| v < min) {
            Some(v) => Err(FieldError::new(key, format!("must be at least {min}, got {v}"))),
            None => Ok(()),
        }
    }
}

/// Parameters of the `cnn` family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CnnSpec {
    /// Output channels of each convolution (their count is the depth).
    pub channels: Vec<usize>,
    /// Kernel size of each convolution (square in 2D).
    pub kernels: PerLayer,
    /// Stride of each convolution.
    pub strides: PerLayer,
    /// Zero padding on each side, per convolution.
    pub padding: PerLayer,
    /// 1: convolve over time with the channels as input channels; 2: over an image's `[h, w]`.
    pub dim: usize,
    /// Embedding width on token-id datasets (the convolution's input channels there).
    pub embed: usize,
}

impl Default for CnnSpec {
    fn default() -> Self {
        Self {
            channels: vec![25, 25, 25],
            kernels: PerLayer::Each(vec![5, 3, 3]),
            strides: PerLayer::All(2),
            padding: PerLayer::All(1),
            dim: 1,
            embed: 16,
        }
    }
}

/// The length after a convolution, or `None` when the padded input is shorter than the kernel
/// or its length does not fit a `usize` (checked arithmetic: any padding is safe).
fn conv_out(len: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = padding.checked_mul(2).and_then(|p| p.checked_add(len))?;
    padded.checked_sub(kernel).map(|n| n / stride.max(1) + 1)
}

impl CnnSpec {
    /// The spatial input size: `[time]` in 1D, `[h, w]` in 2D.
    fn input_size(&self, data: &DataInfo) -> Vec<usize> {
        match (self.dim, data.image) {
            (2, Some([h, w])) => vec![h, w],
            _ => vec![data.seq_len],
        }
    }

    /// The spatial output size of the last convolution, checking that every layer fits.
    fn output_size(&self, data: &DataInfo) -> Result<Vec<usize>, FieldError> {
        let mut size = self.input_size(data);
        for i in 0..self.channels.len() {
            let (k, s, p) = (self.kernels.get(i), self.strides.get(i), self.padding.get(i));
            for n in size.iter_mut() {
                let len = *n;
                *n = conv_out(len, k, s, p).ok_or_else(|| match len.checked_add(p.saturating_mul(2)) {
                    None => FieldError::new("padding", format!("layer {}: padding {p} is far too large", i + 1)),
                    Some(_) => FieldError::new(
                        "kernels",
                        format!("layer {}: kernel {k} is larger than its input ({len} with padding {p})", i + 1),
                    ),
                })?;
            }
        }
        Ok(size)
    }

    /// Input channels of the first convolution.
    fn in_channels(&self, data: &DataInfo) -> usize {
        match (self.dim, data.vocab) {
            (2, _) => data.image_channels.max(1),
            (_, Some(_)) => self.embed,
            _ => data.channels,
        }
    }
}

/// The CNN module.
#[derive(Module, Debug)]
pub struct Cnn {
    /// Token embedding (token-id datasets only).
    pub embedding: Option<Embedding>,
    /// 1D convolutions (`dim = 1`).
    pub conv1d: Vec<Conv1d>,
    /// 2D convolutions (`dim = 2`).
    pub conv2d: Vec<Conv2d>,
    /// The classifier on the flattened feature map.
    pub out: Linear,
}

impl Family for CnnSpec {
    const NAME: &'static str = "cnn";
    const SUMMARY: &'static str = "CNN: conv (channels, kernels, strides, padding) + relu per layer; flatten; linear";
    type Model = Cnn;

    fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        let n = self.channels.len();
        if n == 0 {
            return Err(FieldError::new("channels", "must list at least one layer"));
        }
        if self.channels.contains(&0) {
            return Err(FieldError::new("channels", "every entry must be at least 1"));
        }
        self.kernels.check("kernels", n, 1)?;
        self.strides.check("strides", n, 1)?;
        self.padding.check("padding", n, 0)?;
        at_least_one("embed", self.embed)?;
        match self.dim {
            1 => {}
            2 if data.image.is_none() => {
                return Err(FieldError::new(
                    "dim",
                    format!(
                        "= 2 needs an image dataset; this one has sequences of {} x {} (use dim = 1)",
                        data.seq_len, data.channels
                    ),
                ));
            }
            2 => {}
            d => return Err(FieldError::new("dim", format!("must be 1 or 2, got {d}"))),
        }
        self.output_size(data).map(|_| ())
    }

    fn init(&self, data: &DataInfo, device: &Device) -> Cnn {
        let mut c_in = self.in_channels(data);
        let (mut conv1d, mut conv2d) = (Vec::new(), Vec::new());
        for (i, &c_out) in self.channels.iter().enumerate() {
            let (k, s, p) = (self.kernels.get(i), self.strides.get(i), self.padding.get(i));
            if self.dim == 2 {
                let cfg = Conv2dConfig::new([c_in, c_out], [k, k])
                    .with_stride([s, s])
                    .with_padding(PaddingConfig2d::Explicit(p, p, p, p));
                conv2d.push(cfg.init(device));
            } else {
                let cfg =
                    Conv1dConfig::new(c_in, c_out, k).with_stride(s).with_padding(PaddingConfig1d::Explicit(p, p));
                conv1d.push(cfg.init(device));
            }
            c_in = c_out;
        }
        // Sizes were checked by `validate`; fall back to 1 so `init` never panics on its own.
        let spatial: usize = self.output_size(data).map(|s| s.iter().product()).unwrap_or(1);
        let embedding = if self.dim == 1 { token_embedding(data, self.embed, device) } else { None };
        Cnn { embedding, conv1d, conv2d, out: LinearConfig::new(c_in * spatial, data.num_classes).init(device) }
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        let mut size: Vec<f64> = self.input_size(data).into_iter().map(|n| n as f64).collect();
        let embed = data.vocab.filter(|_| self.dim == 1).map_or(0.0, |v| (v * self.embed) as f64);
        let mut total = Footprint { params: embed, activations: size.iter().product::<f64>() * self.embed as f64 };
        let mut c_in = self.in_channels(data) as f64;
        for (i, &c_out) in self.channels.iter().enumerate() {
            let (k, s, p) = (self.kernels.get(i) as f64, self.strides.get(i) as f64, self.padding.get(i) as f64);
            size = size.iter().map(|n| ((n + 2.0 * p - k) / s).floor().max(0.0) + 1.0).collect();
            let window = k.powi(self.dim as i32) * c_in;
            let positions: f64 = size.iter().product();
            // The unfolded windows (im2col), the convolution's output and its ReLU.
            let layer = Footprint { params: window * c_out as f64 + c_out as f64, activations: positions * window };
            total = total + layer + Footprint::values(2.0 * positions * c_out as f64);
            c_in = c_out as f64;
        }
        let flat = c_in * size.iter().product::<f64>();
        total + Footprint { params: (flat + 1.0) * data.num_classes as f64, activations: data.num_classes as f64 }
    }
}

/// `conv.forward(x)` for `x` `[batch, channels, length]` as one matrix product (im2col): the
/// padded input is unfolded into `[batch * out_length, channels * kernel]` windows and multiplied
/// by the weight `[out, channels * kernel]`, forward and backward.
///
/// Why: Burn's ndarray backend convolves directly, one scalar multiply-add loop per output
/// channel and batch item, and computes the weight gradient as another such convolution whose
/// kernel is the strided output gradient; on the MNIST-1D CNN that made a training step about
/// 20x slower than on flex. Unfold + matmul lands on each backend's GEMM instead. Same math as
/// `Conv1d::forward` for `groups = 1`, `dilation = 1` (the only case `CnnSpec` builds).
fn conv1d_im2col(conv: &Conv1d, x: Tensor<3>) -> Tensor<3> {
    let [b, c, _] = x.dims();
    let (k, stride) = (conv.kernel_size, conv.stride);
    let x = match conv.padding {
        PaddingConfig1d::Explicit(left, right) if left + right > 0 => {
            let device = x.device();
            let zeros = |n: usize| Tensor::<3>::zeros([b, c, n], &device);
            Tensor::cat(vec![zeros(left), x, zeros(right)], 2)
        }
        _ => x,
    };
    let windows: Tensor<4> = x.unfold(2, k, stride); // [B, C, L_out, k]
    let l_out = windows.dims()[2];
    let patches = windows.swap_dims(1, 2).reshape([b * l_out, c * k]);
    let [out, _, _] = conv.weight.dims();
    let mut y = patches.matmul(conv.weight.val().reshape([out, c * k]).transpose());
    if let Some(bias) = &conv.bias {
        y = y + bias.val().unsqueeze::<2>();
    }
    y.reshape([b, l_out, out]).swap_dims(1, 2)
}

impl Classifier for Cnn {
    fn forward(&self, inputs: &Inputs) -> Tensor<2> {
        let x = inputs.x();
        let [b, t, c] = x.dims();
        if !self.conv2d.is_empty() {
            // An image of k channels is k·h time steps of w channels, channel-major
            // (`data::pixels`): [b, k·h, w] -> [b, k, h, w], with k the first layer's input.
            let k = self.conv2d[0].weight.dims()[1];
            let mut h = x.reshape([b, k, t / k, c]);
            for conv in &self.conv2d {
                h = relu(conv.forward(h));
            }
            return self.out.forward(h.flatten(1, 3));
        }
        let mut h = match &self.embedding {
            Some(e) => e.forward(token_ids(x)).swap_dims(1, 2),
            // [B, T, 1] -> [B, 1, T] is a plain reshape (no copy); otherwise channels go first.
            None if c == 1 => x.reshape([b, 1, t]),
            None => x.swap_dims(1, 2),
        };
        for conv in &self.conv1d {
            h = relu(conv1d_im2col(conv, h));
        }
        // [B, C, L] flattened channel-major, as PyTorch's `view(B, -1)`.
        self.out.forward(h.flatten(1, 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::data::digits::info as digits;
    use crate::data::mnist1d::info as mnist1d;

    fn logits_shape(spec: &CnnSpec, data: &DataInfo, batch: usize) -> [usize; 2] {
        let device = Device::flex();
        let model = spec.init(data, &device);
        let x = Tensor::<3>::ones([batch, data.seq_len, data.channels], &device);
        model.forward(&Inputs { modalities: vec![x] }).dims()
    }

    #[test]
    fn default_is_the_mnist1d_cnn() {
        let spec = CnnSpec::default();
        spec.validate(&mnist1d()).unwrap();
        assert_eq!(spec.output_size(&mnist1d()).unwrap(), vec![5]);
        assert_eq!(spec.init(&mnist1d(), &Device::flex()).num_params(), 5210);
        assert_eq!(logits_shape(&spec, &mnist1d(), 3), [3, 10]);
    }

    #[test]
    fn conv1d_takes_the_channels_as_input_channels() {
        let spec = CnnSpec {
            channels: vec![4, 6],
            kernels: PerLayer::All(3),
            padding: PerLayer::All(0),
            ..Default::default()
        };
        spec.validate(&digits()).unwrap();
        // 8 -> 3 -> 1 steps; conv1 has 8 input channels: (8*3*4 + 4) + (4*3*6 + 6) + (6*1*10 + 10).
        assert_eq!(spec.init(&digits(), &Device::flex()).num_params(), 100 + 78 + 70);
        assert_eq!(logits_shape(&spec, &digits(), 2), [2, 10]);
    }

    #[test]
    fn conv2d_runs_over_images() {
        let spec = CnnSpec {
            channels: vec![8, 16],
            kernels: PerLayer::All(3),
            strides: PerLayer::All(2),
            dim: 2,
            ..Default::default()
        };
        spec.validate(&digits()).unwrap();
        // 8x8 -> 4x4 -> 2x2.
        assert_eq!(spec.output_size(&digits()).unwrap(), vec![2, 2]);
        assert_eq!(logits_shape(&spec, &digits(), 5), [5, 10]);
        let n = spec.init(&digits(), &Device::flex()).num_params();
        assert_eq!(n, (9 * 8 + 8) + (8 * 9 * 16 + 16) + (16 * 4 * 10 + 10));
    }

    #[test]
    fn token_ids_are_embedded() {
        let data = DataInfo { seq_len: 12, channels: 1, num_classes: 3, vocab: Some(20), ..Default::default() };
        let spec = CnnSpec { embed: 4, ..Default::default() };
        spec.validate(&data).unwrap();
        let model = spec.init(&data, &Device::flex());
        assert_eq!(model.embedding.as_ref().unwrap().weight.dims(), [20, 4]);
        assert_eq!(logits_shape(&spec, &data, 2), [2, 3]);
    }

    #[test]
    fn validation_names_the_key() {
        let key = |spec: CnnSpec, data: &DataInfo| spec.validate(data).unwrap_err().key;
        assert_eq!(key(CnnSpec { dim: 2, ..Default::default() }, &mnist1d()), "dim");
        assert_eq!(key(CnnSpec { dim: 3, ..Default::default() }, &digits()), "dim");
        assert_eq!(key(CnnSpec { channels: vec![], ..Default::default() }, &mnist1d()), "channels");
        assert_eq!(key(CnnSpec { channels: vec![4, 0, 4], ..Default::default() }, &mnist1d()), "channels");
        assert_eq!(key(CnnSpec { kernels: PerLayer::Each(vec![5, 3]), ..Default::default() }, &mnist1d()), "kernels");
        assert_eq!(key(CnnSpec { strides: PerLayer::All(0), ..Default::default() }, &mnist1d()), "strides");
        assert_eq!(key(CnnSpec { padding: PerLayer::Each(vec![1]), ..Default::default() }, &mnist1d()), "padding");
        // 40 -> 19 -> 9 -> 4 -> 1, then a kernel of 3 does not fit without padding.
        let deep = CnnSpec {
            channels: vec![2; 5],
            kernels: PerLayer::All(3),
            padding: PerLayer::All(0),
            ..Default::default()
        };
        let err = deep.validate(&mnist1d()).unwrap_err();
        assert_eq!(err.key, "kernels");
        assert!(err.message.contains("layer 5"), "{}", err.message);
    }

    #[test]
    fn per_layer_values_read_as_a_number_or_a_list() {
        let spec: CnnSpec = toml::from_str("channels = [8, 8]\nkernels = 3\nstrides = [1, 2]\n").unwrap();
        assert_eq!((spec.kernels.get(1), spec.strides.get(1), spec.padding.get(0)), (3, 2, 1));
        let err = toml::from_str::<CnnSpec>("kernels = \"3\"\n").unwrap_err().to_string();
        assert!(err.contains("a non-negative integer or a list of them"), "{err}");
        assert!(toml::from_str::<CnnSpec>("padding = -1\n").is_err());
        assert!(toml::from_str::<CnnSpec>("strides = [1, -2]\n").is_err());
    }
}
