//! Every random stream of a trial, in one place.
//!
//! A trial has one seed (`seed` in its configuration). The device's generator (weight
//! initialisation, dropout, the GAN's noise) is seeded with it directly ([`reseed_device`]);
//! every host-side stream is a ChaCha8 generator seeded with the trial seed XOR one of the
//! constants below ([`stream`]), so that the streams are independent of each other and of the
//! device. The values are fixed: changing one changes every result that used it.

use burn::tensor::Device;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The classifier trainer's batch order: the seeded reshuffle of the training split each
/// epoch (`batching = "shuffle"`). ASCII "batches!".
pub const CLASSIFIER_BATCHES: u64 = 0x6261_7463_6865_7321;

/// The GAN trainer's real examples: the seeded reshuffle of the training split each epoch.
/// ASCII "real".
pub const GAN_REAL_BATCHES: u64 = 0x7265_616c;

/// The GAN trainer's fixed evaluation noise, drawn once per trial so that samples are
/// comparable across steps. ASCII "evalnois".
pub const GAN_EVAL_NOISE: u64 = 0x6576_616c_6e6f_6973;

/// The Frechet feature network's seed: its initialisation (the device) and its batch order.
/// Absolute, not derived from the trial seed: every trial on a dataset uses the same network.
pub const FEATURE_NETWORK: u64 = 0xfd;

/// The device reseeding at checkpoint boundaries ([`boundary_seed`]). ASCII "ckptseed".
pub const CHECKPOINT_RESEED: u64 = 0x636b_7074_7365_6564;

/// The device seed after the checkpoint boundary at `step` of the trial seeded `seed`: the
/// first 64 bits of ChaCha8 seeded `seed ^ CHECKPOINT_RESEED` on stream `step`. Every run
/// reseeds the device with it at each boundary (resumed or not), so a run resumed from a
/// checkpoint draws the device randoms (dropout, the GAN's noise) of an uninterrupted one.
pub fn boundary_seed(seed: u64, step: usize) -> u64 {
    use rand::RngCore;
    let mut rng = stream(seed, CHECKPOINT_RESEED);
    rng.set_stream(step as u64);
    rng.next_u64()
}

/// The host-side stream `constant` of the trial seeded `seed`: ChaCha8 seeded with
/// `seed ^ constant`.
pub fn stream(seed: u64, constant: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed ^ constant)
}

/// Seeds the device's generator with the trial seed: at the start of a trial, and again after
/// anything that drew from it before the model (the Frechet feature network), so that the
/// model starts as it would without it.
pub fn reseed_device(device: &Device, seed: u64) {
    device.seed(seed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streams_are_distinct() {
        let all = [CLASSIFIER_BATCHES, GAN_REAL_BATCHES, GAN_EVAL_NOISE, FEATURE_NETWORK, CHECKPOINT_RESEED];
        for (i, a) in all.iter().enumerate() {
            assert!(all[i + 1..].iter().all(|b| a != b));
        }
    }
}
