//! Image layers shared by `cnn` and `resnet`: batch norm with PyTorch's running statistics,
//! max and average pooling, a convolution followed by batch norm ([`ConvBn`]), global average
//! pooling, and the channel count of an image dataset.
//!
//! An image batch reaches a model as `[batch, time, channels]` holding each example's values
//! channel-major (each image channel's rows, top first); the models reshape it to
//! `[batch, image channels, h, w]` with the dataset's `image = [h, w]`.

use crate::data::DataInfo;
use burn::module::{Module, Param, RunningState};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::module::{avg_pool1d, avg_pool2d, batch_norm, batch_norm_train, max_pool1d, max_pool2d};
use burn::tensor::ops::{AvgPoolOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Batch normalisation over dimension 1 of `[batch, channels, ...]` (Ioffe and Szegedy 2015),
/// as PyTorch's `nn.BatchNorm1d`/`nn.BatchNorm2d` with `momentum = 0.1`, `eps = 1e-5`.
///
/// On an autodiff (training) device it normalises with the batch's mean and biased variance
/// and updates the running statistics as PyTorch does: `running = (1 - momentum) * running +
/// momentum * batch`, with the *unbiased* batch variance (`n / (n - 1)` times the biased one,
/// `n` the values per channel). Elsewhere (evaluation, `model.valid()`) it normalises with the
/// running statistics. Why not `burn::nn::BatchNorm`: Burn updates the running variance with the
/// biased variance, so evaluation after training would not match PyTorch.
///
/// The running statistics are module state (`RunningState`): saved in the record with the
/// weights (checkpoints, `trials/<id>/model/`), not trained.
#[derive(Module, Debug)]
pub struct BatchNorm {
    /// Scale `[channels]` (PyTorch `weight`), initialised to 1.
    pub gamma: Param<Tensor<1>>,
    /// Shift `[channels]` (PyTorch `bias`), initialised to 0.
    pub beta: Param<Tensor<1>>,
    /// Running mean `[channels]`, initialised to 0.
    pub running_mean: RunningState<Tensor<1>>,
    /// Running (unbiased) variance `[channels]`, initialised to 1.
    pub running_var: RunningState<Tensor<1>>,
    /// Weight of the current batch in the running statistics.
    pub momentum: f64,
    /// Added to the variance before its square root.
    pub epsilon: f64,
}

impl BatchNorm {
    /// Batch norm over `channels` features with PyTorch's defaults.
    pub fn new(channels: usize, device: &Device) -> Self {
        BatchNorm {
            gamma: Param::from_tensor(Tensor::ones([channels], device)),
            beta: Param::from_tensor(Tensor::zeros([channels], device)),
            running_mean: RunningState::new(Tensor::zeros([channels], device)),
            running_var: RunningState::new(Tensor::ones([channels], device)),
            momentum: 0.1,
            epsilon: 1e-5,
        }
    }

    /// Normalises `x` `[batch, channels, ...]` (same shape out): batch statistics while
    /// training (updating the running ones), running statistics otherwise.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let device = x.device();
        if !device.is_autodiff() {
            let (mean, var) =
                (self.running_mean.value().to_device(&device), self.running_var.value().to_device(&device));
            return batch_norm(x, self.gamma.val(), self.beta.val(), mean, var, self.epsilon);
        }
        let dims = x.dims();
        let per_channel = dims.iter().product::<usize>() / dims[1].max(1);
        let unbiased = if per_channel > 1 { per_channel as f64 / (per_channel - 1) as f64 } else { 1.0 };
        let out = batch_norm_train(x, self.gamma.val(), self.beta.val(), self.epsilon);
        let m = self.momentum;
        let update = |state: &RunningState<Tensor<1>>, batch: Tensor<1>| {
            let old = state.value_sync().to_device(&device);
            state.update(old.mul_scalar(1.0 - m).add(batch.detach().mul_scalar(m)).detach());
            // Fold the update in now, so that a record taken before the next forward (a
            // checkpoint, the kept best weights) holds it.
            state.value_sync();
        };
        update(&self.running_mean, out.mean);
        update(&self.running_var, out.variance.mul_scalar(unbiased));
        out.output
    }
}

/// A pooling kind (`pool` in `cnn`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pool {
    /// No pooling.
    None,
    /// The maximum of each window (`nn.MaxPool2d`).
    Max,
    /// The mean of each window (`nn.AvgPool2d`, no padding).
    Avg,
}

impl super::per_layer::LayerValue for Pool {
    const EXPECTING: &'static str = "\"max\", \"avg\" or \"none\"";
    fn from_string(v: &str) -> Option<Self> {
        match v {
            "none" => Some(Pool::None),
            "max" => Some(Pool::Max),
            "avg" => Some(Pool::Avg),
            _ => None,
        }
    }
}

impl Pool {
    /// Pools `x` `[batch, channels, h, w]` with square windows of `size` every `stride`
    /// (no padding; floor of the output size, as PyTorch's default).
    pub fn forward2d(self, x: Tensor<4>, size: usize, stride: usize) -> Tensor<4> {
        match self {
            Pool::None => x,
            Pool::Max => max_pool2d(x, MaxPoolOptions::new([size, size]).with_stride([stride, stride])),
            Pool::Avg => avg_pool2d(x, AvgPoolOptions::new([size, size]).with_stride([stride, stride])),
        }
    }

    /// Pools `x` `[batch, channels, length]` (as [`Pool::forward2d`], in 1D).
    pub fn forward1d(self, x: Tensor<3>, size: usize, stride: usize) -> Tensor<3> {
        match self {
            Pool::None => x,
            Pool::Max => max_pool1d(x, MaxPoolOptions::new([size]).with_stride([stride])),
            Pool::Avg => avg_pool1d(x, AvgPoolOptions::new([size]).with_stride([stride])),
        }
    }

    /// The length after pooling `len` (`None` when the window does not fit; identity for `None`).
    pub fn out_len(self, len: usize, size: usize, stride: usize) -> Option<usize> {
        match self {
            Pool::None => Some(len),
            _ => len.checked_sub(size).map(|n| n / stride.max(1) + 1),
        }
    }
}

/// A square convolution without bias followed by [`BatchNorm`]: the unit of a ResNet
/// (He et al. 2016). `[batch, c_in, h, w]` to `[batch, c_out, h', w']`.
#[derive(Module, Debug)]
pub struct ConvBn {
    /// The convolution (`bias = false`: the norm's shift replaces it).
    pub conv: Conv2d,
    /// Its batch norm.
    pub norm: BatchNorm,
}

impl ConvBn {
    /// `c_in -> c_out` with a `kernel` x `kernel` window, `stride` and zero `padding` on each side.
    pub fn new(c_in: usize, c_out: usize, kernel: usize, stride: usize, padding: usize, device: &Device) -> Self {
        let conv = Conv2dConfig::new([c_in, c_out], [kernel, kernel])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(padding, padding, padding, padding))
            .with_bias(false)
            .init(device);
        ConvBn { conv, norm: BatchNorm::new(c_out, device) }
    }

    /// `norm(conv(x))`, without an activation.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.norm.forward(self.conv.forward(x))
    }

    /// `relu(norm(conv(x)))`: the Conv-BN-ReLU block.
    pub fn forward_relu(&self, x: Tensor<4>) -> Tensor<4> {
        burn::tensor::activation::relu(self.forward(x))
    }

    /// Parameters of a `c_in -> c_out` unit: the weights and the norm's scale and shift.
    pub fn params(c_in: usize, c_out: usize, kernel: usize) -> f64 {
        (c_in * c_out * kernel * kernel + 2 * c_out) as f64
    }
}

/// The mean over the spatial positions: `[batch, channels, h, w]` to `[batch, channels]`
/// (PyTorch's `AdaptiveAvgPool2d(1)` then `flatten(1)`).
pub fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [b, c, _, _] = x.dims();
    x.flatten::<3>(2, 3).mean_dim(2).reshape([b, c])
}

/// Input channels of an image dataset's examples: the values of an example over the
/// `[h, w]` of its `image` (1 for grey images; 1 for a non-image dataset).
pub fn image_channels(data: &DataInfo) -> usize {
    match data.image {
        Some([h, w]) if h * w > 0 => (data.features() / (h * w)).max(1),
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn batch_norm_tracks_the_unbiased_variance_and_evaluates_with_it() {
        let device = Device::flex().autodiff();
        let bn = BatchNorm::new(1, &device);
        // One channel, values 1, 2, 3, 6: mean 3, biased variance 3.5, unbiased 14/3.
        let x = Tensor::<3>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 6.0], [2, 1, 2]), &device);
        let y = values(bn.forward(x.clone()));
        let s = 3.5f32.sqrt();
        for (got, v) in y.iter().zip([1.0f32, 2.0, 3.0, 6.0]) {
            assert!((got - (v - 3.0) / s).abs() < 1e-3, "{got}");
        }
        let mean = values(bn.running_mean.value())[0];
        let var = values(bn.running_var.value())[0];
        assert!((mean - 0.3).abs() < 1e-6, "{mean}");
        assert!((var - (0.9 + 0.1 * 14.0 / 3.0)).abs() < 1e-6, "{var}");
        // The kept snapshot (`valid`) evaluates with the running statistics.
        let eval = bn.valid();
        let z = values(eval.forward(x.without_autodiff()));
        assert!((z[0] - (1.0 - 0.3) / (var + 1e-5).sqrt()).abs() < 1e-6, "{}", z[0]);
    }

    #[test]
    fn a_valid_snapshot_keeps_its_statistics_while_a_clone_shares_them() {
        // Why the classifier keeps its best weights as `valid()`, not `clone()`.
        let device = Device::flex().autodiff();
        let bn = BatchNorm::new(1, &device);
        let (snapshot, clone) = (bn.valid(), bn.clone());
        let x = Tensor::<3>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 6.0], [2, 1, 2]), &device);
        bn.forward(x);
        assert_eq!(values(snapshot.running_mean.value()), vec![0.0]);
        assert!((values(clone.running_mean.value())[0] - 0.3).abs() < 1e-6);
    }

    #[test]
    fn pooling_sizes_and_values() {
        let device = Device::flex();
        let x = Tensor::<4>::from_data(
            TensorData::new((0..16).map(|v| v as f32).collect::<Vec<_>>(), [1, 1, 4, 4]),
            &device,
        );
        assert_eq!(values(Pool::Max.forward2d(x.clone(), 2, 2)), vec![5.0, 7.0, 13.0, 15.0]);
        assert_eq!(values(Pool::Avg.forward2d(x.clone(), 2, 2)), vec![2.5, 4.5, 10.5, 12.5]);
        assert_eq!(Pool::Max.forward2d(x.clone(), 3, 1).dims(), [1, 1, 2, 2]);
        assert_eq!(Pool::Max.out_len(4, 3, 1), Some(2));
        assert_eq!(Pool::Avg.out_len(1, 2, 2), None);
        assert_eq!(Pool::None.out_len(1, 2, 2), Some(1));
        assert_eq!(values(global_avg_pool(x)), vec![7.5]);
    }

    #[test]
    fn image_channels_are_the_values_over_the_pixels() {
        let grey = DataInfo { seq_len: 8, channels: 8, image: Some([8, 8]), ..Default::default() };
        assert_eq!(image_channels(&grey), 1);
        let rgb = DataInfo { seq_len: 3 * 4, channels: 5, image: Some([4, 5]), ..Default::default() };
        assert_eq!(image_channels(&rgb), 3);
        assert_eq!(image_channels(&DataInfo { seq_len: 40, channels: 1, ..Default::default() }), 1);
    }
}
