//! `resnet`: the CIFAR-style residual network of He, Zhang, Ren and Sun, "Deep Residual
//! Learning for Image Recognition" (CVPR 2016), section 4.2.
//!
//! A 3x3 stem convolution (`width` channels) with batch norm and ReLU; three stages of `n`
//! basic blocks each, with `width`, `2 * width` and `4 * width` channels, the first block of
//! the second and third stages halving the feature map (stride 2); global average pooling; a
//! linear layer to the classes. `depth = 6n + 2` counts the stem, the `6n` convolutions of
//! the blocks and the linear layer (ResNet-20: `n = 3`). A basic block is
//! `relu(bn(conv3x3(relu(bn(conv3x3(x))))) + shortcut(x))`, the shortcut being the identity,
//! or a 1x1 convolution with batch norm where the shape changes (the paper's option B; its
//! CIFAR models use option A, zero padding, which has no parameters). Convolutions have no
//! bias (batch norm's shift replaces it), as in the reference implementations. Batch norm
//! keeps PyTorch's running statistics ([`BatchNorm`](super::layers2d::BatchNorm)).

use super::layers2d::{ConvBn, global_avg_pool, image_channels};
use super::{Classifier, Family, Footprint, Inputs};
use crate::check::{FieldError, at_least_one};
use crate::data::DataInfo;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Parameters of the `resnet` family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResNetSpec {
    /// Layers with weights, `6n + 2` (8, 14, 20, 32, ...): `n` blocks per stage.
    pub depth: usize,
    /// Channels of the stem and the first stage (the second and third have 2x and 4x).
    pub width: usize,
}

impl Default for ResNetSpec {
    fn default() -> Self {
        ResNetSpec { depth: 20, width: 16 }
    }
}

impl ResNetSpec {
    /// Blocks per stage (`n` of `depth = 6n + 2`; the depth must have been checked).
    pub fn blocks_per_stage(&self) -> usize {
        self.depth.saturating_sub(2) / 6
    }

    /// Each block's `(input channels, output channels, stride)`, stage by stage.
    fn block_shapes(&self) -> Vec<(usize, usize, usize)> {
        let mut shapes = Vec::new();
        let mut c_in = self.width;
        for stage in 0..3 {
            let c_out = self.width << stage;
            for i in 0..self.blocks_per_stage() {
                let stride = if stage > 0 && i == 0 { 2 } else { 1 };
                shapes.push((c_in, c_out, stride));
                c_in = c_out;
            }
        }
        shapes
    }

    fn check_depth(&self) -> Result<(), FieldError> {
        let d = self.depth;
        if d >= 8 && (d - 2).is_multiple_of(6) {
            return Ok(());
        }
        let below = d.checked_sub(2).map(|n| n / 6 * 6 + 2).filter(|&v| v >= 8);
        let above = below.map_or(8, |b| b + 6);
        let nearest = match below {
            Some(b) => format!("the nearest are {b} and {above}"),
            None => format!("the smallest is {above}"),
        };
        Err(FieldError::new(
            "depth",
            format!("must be 6n + 2 with n >= 1 (8, 14, 20, 26, 32, ...), got {d}: {nearest}"),
        ))
    }
}

/// A basic residual block: two 3x3 Conv-BN units and the shortcut.
#[derive(Module, Debug)]
pub struct BasicBlock {
    /// The first 3x3 unit (stride 1 or 2), followed by a ReLU.
    pub conv1: ConvBn,
    /// The second 3x3 unit (stride 1).
    pub conv2: ConvBn,
    /// The 1x1 projection where the shape changes (`None`: the identity).
    pub shortcut: Option<ConvBn>,
}

impl BasicBlock {
    /// A block `c_in -> c_out` whose first convolution has `stride`.
    pub fn new(c_in: usize, c_out: usize, stride: usize, device: &Device) -> Self {
        BasicBlock {
            conv1: ConvBn::new(c_in, c_out, 3, stride, 1, device),
            conv2: ConvBn::new(c_out, c_out, 3, 1, 1, device),
            shortcut: (stride != 1 || c_in != c_out).then(|| ConvBn::new(c_in, c_out, 1, stride, 0, device)),
        }
    }

    /// `[batch, c_in, h, w]` to `[batch, c_out, h / stride, w / stride]` (rounded up).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let residual = match &self.shortcut {
            Some(projection) => projection.forward(x.clone()),
            None => x.clone(),
        };
        relu(self.conv2.forward(self.conv1.forward_relu(x)) + residual)
    }
}

/// The ResNet module.
#[derive(Module, Debug)]
pub struct ResNet {
    /// The 3x3 stem with batch norm.
    pub stem: ConvBn,
    /// The blocks of the three stages, in order.
    pub blocks: Vec<BasicBlock>,
    /// The classifier on the pooled features (`4 * width` inputs).
    pub out: Linear,
    /// The input's `[channels, h, w]`.
    #[module(skip)]
    pub image: [usize; 3],
}

impl Family for ResNetSpec {
    const NAME: &'static str = "resnet";
    const SUMMARY: &'static str = "ResNet (He et al. 2016, CIFAR): conv3x3+bn+relu; 3 stages of basic blocks \
                                   (width, 2x, 4x; depth = 6n+2); global average pool; linear";
    type Model = ResNet;

    fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        self.check_depth()?;
        at_least_one("width", self.width)?;
        if data.image.is_none() {
            return Err(FieldError::new(
                "family",
                format!(
                    "`resnet` needs an image dataset (one with an [h, w] shape, such as `digits`); this one has \
                     sequences of {} x {}: use `cnn` with dim = 1 there",
                    data.seq_len, data.channels
                ),
            ));
        }
        Ok(())
    }

    fn init(&self, data: &DataInfo, device: &Device) -> ResNet {
        let c = image_channels(data);
        let [h, w] = data.image.unwrap_or([data.seq_len, data.channels]);
        ResNet {
            stem: ConvBn::new(c, self.width, 3, 1, 1, device),
            blocks: self.block_shapes().into_iter().map(|(i, o, s)| BasicBlock::new(i, o, s, device)).collect(),
            out: LinearConfig::new(4 * self.width, data.num_classes).init(device),
            image: [c, h, w],
        }
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        let c = image_channels(data);
        let [mut h, mut w] = data.image.unwrap_or([data.seq_len, data.channels]);
        let mut positions = (h * w) as f64;
        // A unit: its weights and norm; the unfolded windows (im2col), the convolution's
        // output, the norm's and the ReLU's.
        let unit = |c_in: usize, c_out: usize, k: usize, positions: f64| Footprint {
            params: ConvBn::params(c_in, c_out, k),
            activations: positions * (c_in * k * k) as f64 + 3.0 * positions * c_out as f64,
        };
        let mut total = unit(c, self.width, 3, positions);
        for (c_in, c_out, stride) in self.block_shapes() {
            if stride == 2 {
                (h, w) = (h.div_ceil(2), w.div_ceil(2));
                positions = (h * w) as f64;
            }
            total = total + unit(c_in, c_out, 3, positions) + unit(c_out, c_out, 3, positions);
            if stride != 1 || c_in != c_out {
                total = total + unit(c_in, c_out, 1, positions);
            }
        }
        total + Footprint::linear(4 * self.width, data.num_classes, 1)
    }
}

impl Classifier for ResNet {
    /// An image batch `[batch, h, w * channels]` to logits `[batch, classes]`.
    fn forward(&self, inputs: &Inputs) -> Tensor<2> {
        let x = inputs.x();
        let [b, _, _] = x.dims();
        let [c, h, w] = self.image;
        let mut y = self.stem.forward_relu(x.reshape([b, c, h, w]));
        for block in &self.blocks {
            y = block.forward(y);
        }
        self.out.forward(global_avg_pool(y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::digits::info as digits;
    use crate::data::mnist1d::info as mnist1d;

    #[test]
    fn resnet8_on_digits_has_the_papers_shape() {
        let spec = ResNetSpec { depth: 8, width: 4 };
        spec.validate(&digits()).unwrap();
        let device = Device::flex();
        let model = spec.init(&digits(), &device);
        assert_eq!(model.blocks.len(), 3);
        let projections: Vec<bool> = model.blocks.iter().map(|b| b.shortcut.is_some()).collect();
        assert_eq!(projections, vec![false, true, true]);
        // stem 1->4; blocks 4->4, 4->8 (+1x1), 8->16 (+1x1); linear 16->10. Each unit: its
        // weights, the norm's scale and shift, and its running mean and variance (module
        // state, which Burn's count includes).
        let unit = |i: usize, o: usize, k: usize| i * o * k * k + 4 * o;
        let want = unit(1, 4, 3)
            + unit(4, 4, 3)
            + unit(4, 4, 3)
            + unit(4, 8, 3)
            + unit(8, 8, 3)
            + unit(4, 8, 1)
            + unit(8, 16, 3)
            + unit(16, 16, 3)
            + unit(8, 16, 1)
            + 16 * 10
            + 10;
        assert_eq!(model.num_params(), want);
        let x = Tensor::<3>::ones([3, 8, 8], &device);
        assert_eq!(model.forward(&Inputs { modalities: vec![x] }).dims(), [3, 10]);
        assert_eq!(ResNetSpec::default().blocks_per_stage(), 3);
    }

    #[test]
    fn depth_errors_name_the_nearest_valid_depths() {
        let err = |depth| ResNetSpec { depth, width: 4 }.validate(&digits()).unwrap_err();
        let e = err(10);
        assert_eq!(e.key, "depth");
        assert!(e.message.contains("the nearest are 8 and 14"), "{}", e.message);
        assert!(err(2).message.contains("the smallest is 8"), "{}", err(2).message);
        assert!(err(0).message.contains("the smallest is 8"));
        assert!(err(21).message.contains("20 and 26"), "{}", err(21).message);
        assert!(ResNetSpec { depth: 14, width: 4 }.validate(&digits()).is_ok());
        assert_eq!(ResNetSpec { depth: 8, width: 0 }.validate(&digits()).unwrap_err().key, "width");
        let e = ResNetSpec::default().validate(&mnist1d()).unwrap_err();
        assert_eq!(e.key, "family");
        assert!(e.message.contains("needs an image dataset"), "{}", e.message);
    }
}
