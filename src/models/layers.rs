//! Pieces shared by several families: token-id inputs (embedding, padding mask), dropout
//! and checks.

use crate::data::DataInfo;
use burn::module::Module;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::{Bool, Device, Distribution, Int, Tensor, TensorData};
use rand::{Rng, SeedableRng};

/// Inverted dropout (`x * mask / (1 - prob)` while training, identity otherwise), with the
/// mask drawn on the host by ChaCha8 seeded from the device's random stream.
///
/// Why not `burn::nn::Dropout`: its Bernoulli mask samples every element through Burn's generic
/// per-element sampler, which took a third of the attention family's training step on flex
/// (docs/benchmarks.md). Here one draw from the device's generator seeds a block generator that
/// fills the whole mask, so runs stay reproducible from the trial seed.
#[derive(Module, Debug)]
pub struct Dropout {
    /// Probability of zeroing an element, in `[0, 1)`.
    pub prob: f64,
}

impl Dropout {
    /// A dropout layer zeroing elements with probability `prob` (checked by [`crate::check::probability`]).
    pub fn new(prob: f64) -> Self {
        Dropout { prob }
    }

    /// Applies dropout on an autodiff (training) device; returns `x` unchanged elsewhere.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let device = x.device();
        if self.prob <= 0.0 || !device.is_autodiff() {
            return x;
        }
        let shape = x.shape();
        let mask = dropout_mask(shape.num_elements(), self.prob, draw_seed(&device));
        x * Tensor::<D>::from_data(TensorData::new(mask, shape), &device)
    }
}

/// A seed for a host generator, drawn from the device's (seeded) random stream.
fn draw_seed(device: &Device) -> u64 {
    let draws = Tensor::<1>::random([2], Distribution::Default, device).into_data();
    let bits: Vec<u32> = draws.iter::<f32>().map(f32::to_bits).collect();
    (u64::from(bits[0]) << 32) | u64::from(bits[1])
}

/// `n` mask values: `1 / (1 - prob)` with probability `1 - prob`, else 0.
fn dropout_mask(n: usize, prob: f64, seed: u64) -> Vec<f32> {
    let keep = 1.0 - prob;
    // An element is kept when a uniform u32 is below keep * 2^32.
    let threshold = (keep * 4_294_967_296.0) as u64;
    let scale = (1.0 / keep) as f32;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut words = vec![0u32; n];
    rng.fill(words.as_mut_slice());
    words.into_iter().map(|w| if u64::from(w) < threshold { scale } else { 0.0 }).collect()
}

/// The token ids of a token-id batch: channel 0 of `[batch, time, channels]`, as integers.
pub fn token_ids(x: Tensor<3>) -> Tensor<2, Int> {
    let [b, t, _] = x.dims();
    x.narrow(2, 0, 1).reshape([b, t]).int()
}

/// The key-padding mask of token ids: `true` where the id is 0 (padding).
pub fn padding_mask(ids: Tensor<2, Int>) -> Tensor<2, Bool> {
    ids.equal_elem(0)
}

/// A token embedding `vocab -> width` when the dataset holds token ids, else `None`.
pub fn token_embedding(data: &DataInfo, width: usize, device: &Device) -> Option<Embedding> {
    data.vocab.map(|v| EmbeddingConfig::new(v, width).init(device))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn token_ids_read_channel_zero_and_mask_padding() {
        let device = Device::flex();
        let x = Tensor::<3>::from_data(TensorData::new(vec![3.0f32, 9.0, 0.0, 9.0, 5.0, 9.0], [1, 3, 2]), &device);
        let ids = token_ids(x);
        assert_eq!(ids.to_data().try_to_vec_as::<i64>().unwrap(), vec![3, 0, 5]);
        let mask = padding_mask(ids);
        assert_eq!(mask.to_data().try_to_vec::<bool>().unwrap(), vec![false, true, false]);
    }

    #[test]
    fn dropout_masks_drop_the_right_share_and_repeat_with_the_seed() {
        let mask = dropout_mask(100_000, 0.1, 7);
        let dropped = mask.iter().filter(|&&m| m == 0.0).count() as f64 / mask.len() as f64;
        assert!((dropped - 0.1).abs() < 0.005, "dropped {dropped}");
        // Kept values are scaled so the mean is preserved.
        assert!(mask.iter().all(|&m| m == 0.0 || (m - 1.0 / 0.9).abs() < 1e-6));
        assert_eq!(mask, dropout_mask(100_000, 0.1, 7));
        assert_ne!(mask, dropout_mask(100_000, 0.1, 8));
    }

    #[test]
    fn dropout_is_seeded_by_the_device_and_off_outside_training() {
        let x = |device: &Device| Tensor::<2>::ones([64, 64], device);
        let run = |seed: u64| {
            let device = Device::flex().autodiff();
            device.seed(seed);
            Dropout::new(0.5).forward(x(&device)).into_data().try_to_vec::<f32>().unwrap()
        };
        let a = run(3);
        assert_eq!(a, run(3));
        assert_ne!(a, run(4));
        assert!(a.iter().all(|&v| v == 0.0 || v == 2.0));
        let plain = Device::flex();
        let out = Dropout::new(0.5).forward(x(&plain)).into_data().try_to_vec::<f32>().unwrap();
        assert!(out.iter().all(|&v| v == 1.0));
    }
}
