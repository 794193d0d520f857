//! Image augmentation of training batches (`[dataset] augment = [...]` of the image datasets),
//! seeded so that runs are reproducible and resume exactly.
//!
//! Each training batch's augmentation is a pure function of (the trial's seed, the batch's
//! draw number, the example's position in the batch): ChaCha8 seeded with
//! `seed ^` [`AUGMENT`] on stream `draw` gives each example its draws in order. The draw number
//! is saved with the batcher's state in checkpoints (`BatchState::draws`), so a resumed run
//! augments as an uninterrupted one does. Evaluation batches are never augmented.
//!
//! Steps run in the listed order on `[batch, channels, height, width]` (the layout of
//! `data::pixels`):
//! - `crop` (`padding`): zero-pad every side by `padding` pixels and cut a random
//!   `height × width` window (torchvision's `RandomCrop(size, padding)`, CIFAR's recipe);
//!   `padding = 0` is the identity;
//! - `flip` (`p`, default 0.5): mirror left-right with probability `p`
//!   (`RandomHorizontalFlip(p)`);
//! - `translate` (`pixels`): shift by a random whole number of pixels in `-pixels..=pixels`
//!   along each axis, filling with zeros (the same operation as `crop` with that padding,
//!   parameterised as a shift).

use crate::check::FieldError;
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The seed constant of the augmentation stream (ASCII "augment").
pub const AUGMENT: u64 = 0x0061_7567_6d65_6e74;
/// The largest `padding` / `pixels` accepted.
pub const MAX_SHIFT: usize = 64;

/// One step of `augment`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Augment {
    /// Zero-pad by `padding` pixels, then cut a random window of the original size.
    Crop {
        /// Pixels added on each side.
        padding: usize,
    },
    /// Mirror left-right with probability `p`.
    Flip {
        /// The probability of a flip (default 0.5).
        #[serde(default = "half")]
        p: f64,
    },
    /// Shift by up to `pixels` along each axis, zero-filled.
    Translate {
        /// The largest shift.
        pixels: usize,
    },
}

fn half() -> f64 {
    0.5
}

/// Checks each step's parameters.
///
/// # Errors
/// The step (`augment[i]`, as key `augment`) and what is wrong.
pub fn validate(steps: &[Augment]) -> Result<(), FieldError> {
    for (i, step) in steps.iter().enumerate() {
        let bad = |m: String| Err(FieldError::new("augment", format!("step {} ({step:?}): {m}", i + 1)));
        match *step {
            Augment::Crop { padding: n } | Augment::Translate { pixels: n } if n > MAX_SHIFT => {
                return bad(format!("at most {MAX_SHIFT} pixels, got {n}"));
            }
            Augment::Translate { pixels: 0 } => return bad("`pixels` must be at least 1".into()),
            Augment::Flip { p } if !(0.0..=1.0).contains(&p) => return bad(format!("`p` must be in [0, 1], got {p}")),
            _ => {}
        }
    }
    Ok(())
}

/// The augmentation of an image split's training batches: its steps and the image shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Augmentation {
    /// The steps, in order.
    pub steps: Vec<Augment>,
    /// `[channels, height, width]`.
    pub shape: [usize; 3],
}

impl Augmentation {
    /// Augments a batch `[batch, channels · height, width]` (the draw number `draw` of a trial
    /// seeded `seed`), returning the same shape.
    pub fn apply(&self, x: Tensor<3>, seed: u64, draw: u64) -> Tensor<3> {
        let [c, h, w] = self.shape;
        let [b, t, width] = x.dims();
        let device = x.device();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ AUGMENT);
        rng.set_stream(draw);
        let mut img = x.reshape([b, c, h, w]);
        for step in &self.steps {
            img = match *step {
                Augment::Crop { padding } => shift(img, padding, &mut rng),
                Augment::Translate { pixels } => shift(img, pixels, &mut rng),
                Augment::Flip { p } => flip(img, p, &mut rng, &device),
            };
        }
        img.reshape([b, t, width])
    }
}

/// Each image's window of its `pad`-padded self, at a random offset in `0..=2 pad` per axis.
fn shift(img: Tensor<4>, pad: usize, rng: &mut ChaCha8Rng) -> Tensor<4> {
    let [b, c, h, w] = img.dims();
    let offsets: Vec<[usize; 2]> =
        (0..b).map(|_| [rng.random_range(0..=2 * pad), rng.random_range(0..=2 * pad)]).collect();
    if pad == 0 {
        return img;
    }
    let padded = img.pad((pad, pad, pad, pad), 0.0);
    let windows =
        offsets.iter().enumerate().map(|(i, &[dy, dx])| padded.clone().slice([i..i + 1, 0..c, dy..dy + h, dx..dx + w]));
    Tensor::cat(windows.collect(), 0)
}

/// Each image mirrored left-right with probability `p`.
fn flip(img: Tensor<4>, p: f64, rng: &mut ChaCha8Rng, device: &Device) -> Tensor<4> {
    let b = img.dims()[0];
    let mask: Vec<f32> = (0..b).map(|_| if rng.random::<f64>() < p { 1.0 } else { 0.0 }).collect();
    let mask = Tensor::<4>::from_data(TensorData::new(mask, [b, 1, 1, 1]), device);
    let mirrored = img.clone().flip([3]);
    mirrored * mask.clone() + img * (mask.neg() + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch of `b` images `[c, h, w]` whose pixel values are their flat index + 1.
    fn batch(b: usize, [c, h, w]: [usize; 3]) -> Tensor<3> {
        let values: Vec<f32> = (0..b * c * h * w).map(|i| i as f32 + 1.0).collect();
        Tensor::from_data(TensorData::new(values, [b, c * h, w]), &Device::flex())
    }

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    fn aug(steps: Vec<Augment>) -> Augmentation {
        Augmentation { steps, shape: [2, 3, 4] }
    }

    #[test]
    fn the_same_seed_and_draw_give_the_same_batch() {
        let a = aug(vec![Augment::Crop { padding: 2 }, Augment::Flip { p: 0.5 }, Augment::Translate { pixels: 1 }]);
        let x = batch(8, [2, 3, 4]);
        let first = values(a.apply(x.clone(), 7, 3));
        assert_eq!(first, values(a.apply(x.clone(), 7, 3)));
        assert_ne!(first, values(a.apply(x.clone(), 7, 4)), "another draw");
        assert_ne!(first, values(a.apply(x.clone(), 8, 3)), "another seed");
        assert_ne!(first, values(x), "8 images: some moved");
    }

    #[test]
    fn a_flip_mirrors_each_row_and_a_crop_without_padding_is_the_identity() {
        let x = batch(3, [2, 3, 4]);
        let flipped = values(aug(vec![Augment::Flip { p: 1.0 }]).apply(x.clone(), 0, 0));
        let want: Vec<f32> =
            values(x.clone()).chunks(4).flat_map(|row| row.iter().rev().copied().collect::<Vec<_>>()).collect();
        assert_eq!(flipped, want);
        assert_eq!(values(aug(vec![Augment::Flip { p: 0.0 }]).apply(x.clone(), 0, 0)), values(x.clone()));
        assert_eq!(values(aug(vec![Augment::Crop { padding: 0 }]).apply(x.clone(), 5, 9)), values(x));
    }

    #[test]
    fn a_crop_shifts_whole_images_and_fills_with_zeros() {
        // One image, one channel: every output pixel is 0 or the input pixel at a fixed offset.
        let a = Augmentation { steps: vec![Augment::Translate { pixels: 1 }], shape: [1, 3, 4] };
        for draw in 0..20 {
            let out = values(a.apply(batch(1, [1, 3, 4]), 1, draw));
            let shifts: Vec<(i64, i64)> = (-1..=1).flat_map(|dy| (-1..=1).map(move |dx| (dy, dx))).collect();
            let fits = |&(dy, dx): &(i64, i64)| {
                (0..12).all(|i| {
                    let (y, x) = ((i / 4) as i64 - dy, (i % 4) as i64 - dx);
                    let src = if (0..3).contains(&y) && (0..4).contains(&x) { (y * 4 + x + 1) as f32 } else { 0.0 };
                    out[i as usize] == src
                })
            };
            assert!(shifts.iter().any(fits), "draw {draw}: {out:?}");
        }
        let e = validate(&[Augment::Flip { p: 0.5 }, Augment::Crop { padding: 100 }]).unwrap_err();
        assert_eq!((e.key.as_str(), e.message.starts_with("step 2")), ("augment", true), "{}", e.message);
    }
}
