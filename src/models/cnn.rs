//! `cnn`: a convolutional classifier, 1D over time or 2D over an image dataset's `[h, w]`.
//!
//! With the defaults it is MNIST-1D's CNN: Conv1d 1->25 k5 s2 p1, 25->25 k3 s2 p1,
//! 25->25 k3 s2 p1, ReLU after each, channel-major flatten (25 * 5 = 125) -> Linear 10.
//!
//! Each layer is a block: convolution, optional batch norm ([`BatchNorm`], PyTorch's running
//! statistics), ReLU, optional max or average pooling, optional dropout; after the last block
//! the feature map is flattened (channel-major, PyTorch's `flatten(1)`) into an optional dense
//! head (`head` hidden ReLU layers, each followed by `head_dropout`) and the output layer. The
//! block keys written after the MNIST-1D CNN (`pool`, `pool_size`, `pool_stride`,
//! `batch_norm`, `dropout`, `head`, `head_dropout`) are serialised only when set, so that the
//! configurations written before them keep their trial ids.

use super::layers::{Dropout, token_embedding, token_ids};
use super::layers2d::{BatchNorm, Pool, image_channels};
use super::per_layer::PerLayer;
use super::{Classifier, Family, Footprint, Inputs};
use crate::check::{FieldError, at_least_one, probability};
use crate::data::DataInfo;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig, Conv2d, Conv2dConfig};
use burn::nn::{Embedding, Linear, LinearConfig, PaddingConfig1d, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

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
    /// Pooling after each block's ReLU: `"max"`, `"avg"` or `"none"` (the default).
    #[serde(skip_serializing_if = "no_pooling")]
    pub pool: PerLayer<Pool>,
    /// Pooling window (square in 2D), default 2.
    #[serde(skip_serializing_if = "default_pool_size")]
    pub pool_size: PerLayer,
    /// Pooling stride; by default the window (`pool_size`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_stride: Option<PerLayer>,
    /// Batch norm between each convolution and its ReLU (default `false`).
    #[serde(skip_serializing_if = "no_batch_norm")]
    pub batch_norm: PerLayer<bool>,
    /// Batch norm after the ReLU instead of before it: conv -> ReLU -> batch norm -> pool, the
    /// order of many Keras and PyTorch tutorials (the Fashion-MNIST benchmark's "3 Conv +
    /// pooling + BN" row); default `false`: conv -> batch norm -> ReLU, as in ResNet (He et al.
    /// 2016) and Ioffe and Szegedy 2015. Only matters where `batch_norm` is on.
    #[serde(skip_serializing_if = "crate::check::is_false")]
    pub norm_after_relu: bool,
    /// Dropout probability at the end of each block, after the ReLU and the pooling
    /// (default 0: none).
    #[serde(skip_serializing_if = "no_dropout")]
    pub dropout: PerLayer<f64>,
    /// Widths of the dense head's hidden ReLU layers, between the flattened features and the
    /// output layer (default none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub head: Vec<usize>,
    /// Dropout probability after each hidden layer of the head (default 0).
    #[serde(skip_serializing_if = "crate::check::is_zero")]
    pub head_dropout: f64,
}

fn no_pooling(p: &PerLayer<Pool>) -> bool {
    p.is_all(&Pool::None)
}
fn default_pool_size(p: &PerLayer) -> bool {
    p.is_all(&2)
}
fn no_batch_norm(p: &PerLayer<bool>) -> bool {
    p.is_all(&false)
}
fn no_dropout(p: &PerLayer<f64>) -> bool {
    p.is_all(&0.0)
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
            pool: PerLayer::All(Pool::None),
            pool_size: PerLayer::All(2),
            pool_stride: None,
            batch_norm: PerLayer::All(false),
            norm_after_relu: false,
            dropout: PerLayer::All(0.0),
            head: Vec::new(),
            head_dropout: 0.0,
        }
    }
}

/// The keys serialised only when set (see the module docs); sweeps may name them.
pub const OPTIONAL_KEYS: &[&str] =
    &["pool", "pool_size", "pool_stride", "batch_norm", "norm_after_relu", "dropout", "head", "head_dropout"];

/// The length after a convolution, or `None` when the padded input is shorter than the kernel
/// or its length does not fit a `usize` (checked arithmetic: any padding is safe).
fn conv_out(len: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = padding.checked_mul(2).and_then(|p| p.checked_add(len))?;
    padded.checked_sub(kernel).map(|n| n / stride.max(1) + 1)
}

/// One layer's settings, resolved from the per-layer keys.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Block {
    c_out: usize,
    kernel: usize,
    stride: usize,
    padding: usize,
    norm: bool,
    pool: Pool,
    pool_size: usize,
    pool_stride: usize,
    dropout: f64,
}

/// A block's pooling, kept by the module: kind, window, stride.
type PoolStep = (Pool, usize, usize);

impl CnnSpec {
    /// Layer `i`'s settings (the per-layer lists must have been checked).
    fn block(&self, i: usize) -> Block {
        let pool_size = self.pool_size.get(i);
        Block {
            c_out: self.channels[i],
            kernel: self.kernels.get(i),
            stride: self.strides.get(i),
            padding: self.padding.get(i),
            norm: self.batch_norm.get(i),
            pool: self.pool.get(i),
            pool_size,
            pool_stride: self.pool_stride.as_ref().map_or(pool_size, |s| s.get(i)),
            dropout: self.dropout.get(i),
        }
    }

    fn blocks(&self) -> impl Iterator<Item = Block> + '_ {
        (0..self.channels.len()).map(|i| self.block(i))
    }

    /// The spatial input size: `[time]` in 1D, `[h, w]` in 2D.
    fn input_size(&self, data: &DataInfo) -> Vec<usize> {
        match (self.dim, data.image) {
            (2, Some([h, w])) => vec![h, w],
            _ => vec![data.seq_len],
        }
    }

    /// The spatial size after the last block, checking that every convolution and pooling
    /// window fits its input (errors name the layer).
    fn output_size(&self, data: &DataInfo) -> Result<Vec<usize>, FieldError> {
        let mut size = self.input_size(data);
        for (i, b) in self.blocks().enumerate() {
            let (k, p) = (b.kernel, b.padding);
            for n in size.iter_mut() {
                let len = *n;
                *n = conv_out(len, k, b.stride, p).ok_or_else(|| match len.checked_add(p.saturating_mul(2)) {
                    None => FieldError::new("padding", format!("layer {}: padding {p} is far too large", i + 1)),
                    Some(_) => FieldError::new(
                        "kernels",
                        format!("layer {}: kernel {k} is larger than its input ({len} with padding {p})", i + 1),
                    ),
                })?;
                let conv = *n;
                *n = b.pool.out_len(conv, b.pool_size, b.pool_stride).ok_or_else(|| {
                    FieldError::new(
                        "pool_size",
                        format!(
                            "layer {}: the pooling window {} is larger than its input ({conv} after the \
                             convolution): the pooled size would be 0; pool less, or pad or stride less before",
                            i + 1,
                            b.pool_size
                        ),
                    )
                })?;
            }
        }
        Ok(size)
    }

    /// Input channels of the first convolution.
    fn in_channels(&self, data: &DataInfo) -> usize {
        match (self.dim, data.vocab) {
            (2, _) => image_channels(data),
            (_, Some(_)) => self.embed,
            _ => data.channels,
        }
    }

    /// Checks the per-layer keys: their counts, and each value's range.
    fn check_layers(&self) -> Result<(), FieldError> {
        let n = self.channels.len();
        self.kernels.check("kernels", n, 1)?;
        self.strides.check("strides", n, 1)?;
        self.padding.check("padding", n, 0)?;
        self.pool.check_len("pool", n)?;
        self.pool_size.check("pool_size", n, 1)?;
        if let Some(s) = &self.pool_stride {
            s.check("pool_stride", n, 1)?;
        }
        self.batch_norm.check_len("batch_norm", n)?;
        self.dropout.check_len("dropout", n)?;
        if let Some((i, p)) = self.dropout.first_bad(n, |&p| (0.0..1.0).contains(&p)) {
            return Err(FieldError::new("dropout", format!("layer {i}: must be in [0, 1), got {p}")));
        }
        if self.head.contains(&0) {
            return Err(FieldError::new("head", "every width must be at least 1"));
        }
        probability("head_dropout", self.head_dropout)
    }

    /// Checks `dim` against the dataset.
    fn check_dim(&self, data: &DataInfo) -> Result<(), FieldError> {
        match self.dim {
            1 => Ok(()),
            2 if data.image.is_none() => Err(FieldError::new(
                "dim",
                format!(
                    "= 2 needs an image dataset; this one has sequences of {} x {} (use dim = 1)",
                    data.seq_len, data.channels
                ),
            )),
            2 => Ok(()),
            d => Err(FieldError::new("dim", format!("must be 1 or 2, got {d}"))),
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
    /// Each block's batch norm (`None` where `batch_norm` is false).
    pub norms: Vec<Option<BatchNorm>>,
    /// Each block's dropout.
    pub dropouts: Vec<Dropout>,
    /// The dense head's hidden layers.
    pub head: Vec<Linear>,
    /// Dropout after each hidden layer of the head.
    pub head_dropout: Dropout,
    /// The classifier on the flattened feature map (or the head's last hidden layer).
    pub out: Linear,
    /// Each block's pooling.
    #[module(skip)]
    pub pools: Vec<PoolStep>,
    /// The image's `[h, w]` (`dim = 2`).
    #[module(skip)]
    pub image: [usize; 2],
    /// Batch norm after the ReLU ([`CnnSpec::norm_after_relu`]).
    #[module(skip)]
    pub norm_after_relu: bool,
}

impl Family for CnnSpec {
    const NAME: &'static str = "cnn";
    const SUMMARY: &'static str = "CNN: per layer conv (channels, kernels, strides, padding) [+ batch_norm] + relu \
                                   [+ pool] [+ dropout]; flatten; [head]; linear";
    const OPTIONAL_PARAMS: &'static [&'static str] = OPTIONAL_KEYS;
    type Model = Cnn;

    fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        if self.channels.is_empty() {
            return Err(FieldError::new("channels", "must list at least one layer"));
        }
        if self.channels.contains(&0) {
            return Err(FieldError::new("channels", "every entry must be at least 1"));
        }
        self.check_layers()?;
        at_least_one("embed", self.embed)?;
        self.check_dim(data)?;
        self.output_size(data).map(|_| ())
    }

    fn init(&self, data: &DataInfo, device: &Device) -> Cnn {
        let mut c_in = self.in_channels(data);
        let (mut conv1d, mut conv2d) = (Vec::new(), Vec::new());
        for b in self.blocks() {
            let (k, s, p) = (b.kernel, b.stride, b.padding);
            if self.dim == 2 {
                let cfg = Conv2dConfig::new([c_in, b.c_out], [k, k])
                    .with_stride([s, s])
                    .with_padding(PaddingConfig2d::Explicit(p, p, p, p));
                conv2d.push(cfg.init(device));
            } else {
                let cfg = Conv1dConfig::new(c_in, b.c_out, k)
                    .with_stride(s)
                    .with_padding(PaddingConfig1d::Explicit(p, p));
                conv1d.push(cfg.init(device));
            }
            c_in = b.c_out;
        }
        // Sizes were checked by `validate`; fall back to 1 so `init` never panics on its own.
        let spatial: usize = self.output_size(data).map(|s| s.iter().product()).unwrap_or(1);
        let embedding = if self.dim == 1 { token_embedding(data, self.embed, device) } else { None };
        let mut width = c_in * spatial;
        let head = self
            .head
            .iter()
            .map(|&h| {
                let layer = LinearConfig::new(width, h).init(device);
                width = h;
                layer
            })
            .collect();
        Cnn {
            embedding,
            conv1d,
            conv2d,
            norms: self.blocks().map(|b| b.norm.then(|| BatchNorm::new(b.c_out, device))).collect(),
            dropouts: self.blocks().map(|b| Dropout::new(b.dropout)).collect(),
            head,
            head_dropout: Dropout::new(self.head_dropout),
            out: LinearConfig::new(width, data.num_classes).init(device),
            pools: self.blocks().map(|b| (b.pool, b.pool_size, b.pool_stride)).collect(),
            image: data.image.unwrap_or([data.seq_len, data.channels]),
            norm_after_relu: self.norm_after_relu,
        }
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        let mut size: Vec<f64> = self.input_size(data).into_iter().map(|n| n as f64).collect();
        let embed = data.vocab.filter(|_| self.dim == 1).map_or(0.0, |v| (v * self.embed) as f64);
        let mut total = Footprint { params: embed, activations: size.iter().product::<f64>() * self.embed as f64 };
        let mut c_in = self.in_channels(data) as f64;
        for b in self.blocks() {
            let (k, s, p) = (b.kernel as f64, b.stride as f64, b.padding as f64);
            let c_out = b.c_out as f64;
            size = size.iter().map(|n| ((n + 2.0 * p - k) / s).floor().max(0.0) + 1.0).collect();
            let window = k.powi(self.dim as i32) * c_in;
            let positions: f64 = size.iter().product();
            // The unfolded windows (im2col), the convolution's output and its ReLU.
            let layer = Footprint { params: window * c_out + c_out, activations: positions * window };
            total = total + layer + Footprint::values(2.0 * positions * c_out);
            if b.norm {
                total = total + Footprint { params: 2.0 * c_out, activations: positions * c_out };
            }
            if let Some(pooled) = pooled_size(&size, b) {
                size = pooled;
                total = total + Footprint::values(size.iter().product::<f64>() * c_out);
            }
            c_in = c_out;
        }
        let mut width = c_in * size.iter().product::<f64>();
        for &h in &self.head {
            total = total + Footprint { params: (width + 1.0) * h as f64, activations: 2.0 * h as f64 };
            width = h as f64;
        }
        total + Footprint { params: (width + 1.0) * data.num_classes as f64, activations: data.num_classes as f64 }
    }
}

/// The spatial size after a block's pooling, in `f64` (`None` without pooling).
fn pooled_size(size: &[f64], b: Block) -> Option<Vec<f64>> {
    if b.pool == Pool::None {
        return None;
    }
    let (k, s) = (b.pool_size as f64, b.pool_stride.max(1) as f64);
    Some(size.iter().map(|n| ((n - k) / s).floor().max(0.0) + 1.0).collect())
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


impl Cnn {
    /// The 2D blocks over `x` `[batch, h, w * channels]` (an image batch), flattened
    /// channel-major to `[batch, features]`.
    fn features2d(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, _, _] = x.dims();
        let [h, w] = self.image;
        let c_in = self.conv2d[0].weight.dims()[1];
        let mut y = x.reshape([b, c_in, h, w]);
        for (i, conv) in self.conv2d.iter().enumerate() {
            y = self.after_conv(i, conv.forward(y), Pool::forward2d);
        }
        y.flatten(1, 3)
    }

    /// The rest of block `i` after its convolution `y`: batch norm and ReLU (in the order
    /// `norm_after_relu` says), pooling (`pool`: [`Pool::forward1d`] or [`Pool::forward2d`]),
    /// dropout, each where the block has it.
    fn after_conv<const D: usize>(
        &self,
        i: usize,
        y: Tensor<D>,
        pool: fn(Pool, Tensor<D>, usize, usize) -> Tensor<D>,
    ) -> Tensor<D> {
        let norm = |y: Tensor<D>| match self.norms.get(i).and_then(Option::as_ref) {
            Some(norm) => norm.forward(y),
            None => y,
        };
        let y = if self.norm_after_relu { norm(relu(y)) } else { relu(norm(y)) };
        let (kind, size, stride) = self.pools.get(i).copied().unwrap_or((Pool::None, 1, 1));
        let y = pool(kind, y, size, stride);
        match self.dropouts.get(i) {
            Some(dropout) => dropout.forward(y),
            None => y,
        }
    }

    /// The 1D blocks over `x` `[batch, time, channels]` (or token ids), flattened channel-major
    /// to `[batch, features]`, as PyTorch's `view(B, -1)`.
    fn features1d(&self, x: Tensor<3>) -> Tensor<2> {
        let [b, t, c] = x.dims();
        let mut y = match &self.embedding {
            Some(e) => e.forward(token_ids(x)).swap_dims(1, 2),
            // [B, T, 1] -> [B, 1, T] is a plain reshape (no copy); otherwise channels go first.
            None if c == 1 => x.reshape([b, 1, t]),
            None => x.swap_dims(1, 2),
        };
        for (i, conv) in self.conv1d.iter().enumerate() {
            y = self.after_conv(i, conv1d_im2col(conv, y), Pool::forward1d);
        }
        y.flatten(1, 2)
    }
}

impl Classifier for Cnn {
    fn forward(&self, inputs: &Inputs) -> Tensor<2> {
        let x = inputs.x();
        let mut h = if self.conv2d.is_empty() { self.features1d(x) } else { self.features2d(x) };
        for layer in &self.head {
            h = self.head_dropout.forward(relu(layer.forward(h)));
        }
        self.out.forward(h)
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

    #[test]
    fn the_block_keys_are_left_out_at_their_defaults_so_old_trial_ids_stay() {
        let json = serde_json::to_string(&CnnSpec::default()).unwrap();
        assert_eq!(json, r#"{"channels":[25,25,25],"kernels":[5,3,3],"strides":2,"padding":1,"dim":1,"embed":16}"#);
        let spec: CnnSpec = toml::from_str("pool = \"max\"\nbatch_norm = [true, false, true]\nhead = [8]\n").unwrap();
        let json = serde_json::to_string(&spec).unwrap();
        assert!(json.contains(r#""pool":"max""#) && json.contains(r#""head":[8]"#), "{json}");
        assert_eq!(serde_json::from_str::<CnnSpec>(&json).unwrap(), spec);
    }

    #[test]
    fn blocks_pool_normalise_and_feed_a_dense_head() {
        let spec: CnnSpec = toml::from_str(
            "dim = 2\nchannels = [4, 8]\nkernels = 3\nstrides = 1\npadding = 1\nbatch_norm = [true, false]\n\
             pool = [\"max\", \"avg\"]\ndropout = 0.25\nhead = [16]\nhead_dropout = 0.5\n",
        )
        .unwrap();
        spec.validate(&digits()).unwrap();
        // 8x8 -> conv 8x8 -> pool 4x4 -> conv 4x4 -> pool 2x2.
        assert_eq!(spec.output_size(&digits()).unwrap(), vec![2, 2]);
        let model = spec.init(&digits(), &Device::flex());
        assert_eq!(model.norms.iter().map(Option::is_some).collect::<Vec<_>>(), vec![true, false]);
        // conv1 + norm (gamma, beta, and the running mean and variance: module state, which
        // Burn's count includes) + conv2 + head + out.
        let want = (9 * 4 + 4) + 4 * 4 + (4 * 9 * 8 + 8) + (8 * 4 * 16 + 16) + (16 * 10 + 10);
        assert_eq!(model.num_params(), want);
        assert_eq!(logits_shape(&spec, &digits(), 3), [3, 10]);
        // On the training device too (batch statistics, dropout).
        let device = Device::flex().autodiff();
        let x = Tensor::<3>::ones([2, 8, 8], &device);
        assert_eq!(spec.init(&digits(), &device).forward(&Inputs { modalities: vec![x] }).dims(), [2, 10]);
        // In 1D as well: 40 -> conv 20 -> pool 10 -> conv 5 -> pool 2.
        let one_d = CnnSpec { channels: vec![3, 3], kernels: PerLayer::All(3), pool: PerLayer::All(Pool::Max), ..Default::default() };
        one_d.validate(&mnist1d()).unwrap();
        assert_eq!(one_d.output_size(&mnist1d()).unwrap(), vec![2]);
        assert_eq!(logits_shape(&one_d, &mnist1d(), 2), [2, 10]);
    }

    #[test]
    fn bad_block_keys_name_the_key_and_the_layer() {
        let read = |s: &str| toml::from_str::<CnnSpec>(&format!("dim = 2\nchannels = [4, 4, 4]\n{s}")).unwrap();
        let err = |s: &str| read(s).validate(&digits()).unwrap_err();
        // 8 -> 4 (conv s2) -> 2 (pool) -> 1 (conv) -> a window of 2 does not fit.
        let e = err("pool = \"avg\"\nkernels = 3\n");
        assert_eq!(e.key, "pool_size");
        assert!(e.message.contains("layer 2") || e.message.contains("layer 3"), "{}", e.message);
        let e = err("strides = 1\nkernels = 3\npadding = 1\npool = [\"none\", \"none\", \"max\"]\npool_size = 9\n");
        assert!(e.message.contains("layer 3") && e.message.contains("would be 0"), "{}", e.message);
        assert_eq!(err("pool = [\"max\", \"max\"]\n").key, "pool");
        assert_eq!(err("pool_size = 0\n").key, "pool_size");
        assert_eq!(err("pool_stride = [1, 0, 1]\n").key, "pool_stride");
        assert_eq!(err("batch_norm = [true]\n").key, "batch_norm");
        let e = err("dropout = [0.1, 1.0, 0.1]\n");
        assert!(e.key == "dropout" && e.message.contains("layer 2"), "{e:?}");
        assert_eq!(err("head = [8, 0]\n").key, "head");
        assert_eq!(err("head_dropout = -0.1\n").key, "head_dropout");
        let bad = toml::from_str::<CnnSpec>("pool = \"maximum\"\n").unwrap_err().to_string();
        assert!(bad.contains("\"max\", \"avg\" or \"none\""), "{bad}");
    }
}
