//! Image pixels kept as bytes until a batch is built.
//!
//! A split of `uint8` images stays one byte per pixel in host memory ([`Split::pixels`]) and
//! on a device split ([`DeviceSplit`]): a batch gathers its rows' bytes on the host, turns them
//! into floats with the split's [`Scaling`] and uploads `[batch, c·h, w]` floats. A
//! 60,000 × 28 × 28 set thus holds 47 MB of pixels instead of 188 MB of floats.
//!
//! The floats are exactly those of converting the whole split at load: a byte `p` is
//! `f32::from(p) / 255.0` ([`byte_value`]), then, when standardised, `((f64::from(v) - mean) /
//! scale) as f32` with the training split's statistics (per channel or per pixel position,
//! `data::pixels::Normalize`). Per channel that is a 256-entry table per channel, computed once.
//!
//! [`Split::pixels`]: super::Split::pixels
//! [`DeviceSplit`]: super::DeviceSplit

use std::sync::Arc;

/// The float of pixel byte `p` before any standardisation: `p / 255` in `f32`.
pub fn byte_value(p: u8) -> f32 {
    f32::from(p) / 255.0
}

/// `((f64::from(v) - mean) / scale) as f32`: one value standardised (the arithmetic of
/// `data::pixels::normalize`).
pub fn standardized(v: f32, mean: f64, scale: f64) -> f32 {
    ((f64::from(v) - mean) / scale) as f32
}

/// How the bytes of one example (`width` values, channel-major `[c, h, w]`) become floats.
#[derive(Debug, Clone, PartialEq)]
pub enum Scaling {
    /// One 256-entry table per channel (`plane = h · w` values each): no standardisation, or
    /// per-channel standardisation.
    Channels {
        /// Values per channel of an example (`h · w`).
        plane: usize,
        /// Each channel's float for each byte.
        tables: Vec<[f32; 256]>,
    },
    /// Per-pixel standardisation: each value position `j` of an example has its own mean and
    /// scale (`StandardScaler`'s `mean_` and `scale_`).
    Pixels {
        /// The mean of each position (over the training split's floats `p / 255`).
        mean: Vec<f64>,
        /// The scale of each position (its standard deviation, or 1 where constant).
        scale: Vec<f64>,
    },
}

impl Scaling {
    /// `p / 255` for every channel of `channels` channels of `plane` values.
    pub fn plain(channels: usize, plane: usize) -> Self {
        Scaling::channels(&vec![(0.0, 1.0); channels.max(1)], plane)
    }

    /// Per-channel standardisation by `stats` (mean, std) per channel; a channel with std 0 is
    /// only centred (as `data::pixels::normalize`).
    pub fn channels(stats: &[(f64, f64)], plane: usize) -> Self {
        let tables = stats
            .iter()
            .map(|&(mean, std)| {
                let scale = if std > 0.0 { std } else { 1.0 };
                std::array::from_fn(|p| standardized(byte_value(p as u8), mean, scale))
            })
            .collect();
        Scaling::Channels { plane, tables }
    }

    /// Appends the floats of one example's bytes to `out`.
    fn extend(&self, example: &[u8], out: &mut Vec<f32>) {
        match self {
            Scaling::Channels { plane, tables } => {
                for (k, chunk) in example.chunks((*plane).max(1)).enumerate() {
                    let table = &tables[k.min(tables.len() - 1)];
                    out.extend(chunk.iter().map(|&p| table[usize::from(p)]));
                }
            }
            Scaling::Pixels { mean, scale } => {
                let values = example.iter().zip(mean.iter().zip(scale));
                out.extend(values.map(|(&p, (&m, &s))| standardized(byte_value(p), m, s)));
            }
        }
    }
}

/// The examples of a split as bytes, `width` per example (`[n, c·h, w]`, row-major), with the
/// [`Scaling`] that makes them floats. Cloning shares the bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct BytePixels {
    bytes: Arc<[u8]>,
    width: usize,
    scaling: Arc<Scaling>,
}

impl BytePixels {
    /// `bytes` of examples of `width` values each, made floats by `scaling`.
    ///
    /// # Panics
    /// If `width` is 0 or does not divide the byte count.
    pub fn new(bytes: Vec<u8>, width: usize, scaling: Scaling) -> Self {
        assert!(width > 0 && bytes.len().is_multiple_of(width), "{} bytes are not examples of {width}", bytes.len());
        BytePixels { bytes: bytes.into(), width, scaling: Arc::new(scaling) }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.width
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Values (bytes) per example.
    pub fn width(&self) -> usize {
        self.width
    }

    /// All the bytes, `[n, width]` row-major.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How the bytes become floats.
    pub fn scaling(&self) -> &Scaling {
        &self.scaling
    }

    /// The floats of the examples at `indices`, in that order (`[indices.len(), width]`).
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn floats(&self, indices: impl ExactSizeIterator<Item = usize>) -> Vec<f32> {
        let mut out = Vec::with_capacity(indices.len() * self.width);
        for i in indices {
            self.scaling.extend(&self.bytes[i * self.width..(i + 1) * self.width], &mut out);
        }
        out
    }

    /// The floats of every example (what the split was before it stayed compact).
    pub fn to_f32(&self) -> Vec<f32> {
        self.floats(0..self.len())
    }

    /// The examples at `indices`, in that order, with the same scaling.
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn rows(&self, indices: &[usize]) -> BytePixels {
        let w = self.width;
        let bytes: Vec<u8> = indices.iter().flat_map(|&i| self.bytes[i * w..(i + 1) * w].iter().copied()).collect();
        BytePixels { bytes: bytes.into(), width: w, scaling: Arc::clone(&self.scaling) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Inputs;

    #[test]
    fn tables_give_the_eager_arithmetic_bit_for_bit() {
        // Two channels of 2 values; channel 0 standardised, channel 1 constant (centred only).
        let stats = [(0.3, 0.2), (0.5, 0.0)];
        let bytes = vec![0, 255, 17, 200, 1, 2, 3, 4];
        let set = BytePixels::new(bytes.clone(), 4, Scaling::channels(&stats, 2));
        let eager: Vec<f32> = bytes
            .chunks(2)
            .enumerate()
            .flat_map(|(k, c)| {
                let (m, s) = stats[k % 2];
                c.iter().map(move |&p| standardized(byte_value(p), m, if s > 0.0 { s } else { 1.0 }))
            })
            .collect();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&set.to_f32()), bits(&eager));
        assert_eq!(bits(&set.floats([1, 0].into_iter())), bits(&[&eager[4..], &eager[..4]].concat()));
        assert_eq!(set.rows(&[1]).to_f32(), eager[4..].to_vec());
        let plain = BytePixels::new(vec![0, 51, 255], 3, Scaling::plain(1, 3));
        assert_eq!(plain.to_f32(), vec![0.0, 0.2, 1.0]);
    }

    #[test]
    fn per_pixel_scaling_uses_each_positions_statistics() {
        let scaling = Scaling::Pixels { mean: vec![0.0, 1.0], scale: vec![1.0, 0.5] };
        let set = BytePixels::new(vec![255, 255, 0, 0], 2, scaling);
        assert_eq!(set.to_f32(), vec![1.0, 0.0, 0.0, -2.0]);
        assert_eq!((set.len(), set.width(), set.bytes().len()), (2, 2, 4));
    }

    /// The old eager path of the Fashion-MNIST sample: every pixel `p / 255` as floats,
    /// normalised in place with the training split's per-channel statistics when `channel`.
    fn eager(train: &[u8], test: &[u8], ys: [&[i64]; 2], channel: bool) -> [crate::data::Split; 2] {
        use crate::data::pixels::{channel_stats, normalize};
        let shape = [1, 28, 28];
        let (mut a, mut b): (Vec<f32>, Vec<f32>) = (
            train.iter().map(|&p| f32::from(p) / 255.0).collect(),
            test.iter().map(|&p| f32::from(p) / 255.0).collect(),
        );
        if channel {
            let stats = channel_stats(&a, shape);
            normalize(&mut a, shape, &stats);
            normalize(&mut b, shape, &stats);
        }
        [crate::data::Split::new(a, ys[0].to_vec()), crate::data::Split::new(b, ys[1].to_vec())]
    }

    #[test]
    fn fashion_mnist_batches_equal_the_eager_floats_bit_for_bit() {
        use crate::data::augment::Augment;
        use crate::data::batches::{Batches, Batching};
        use crate::data::pixels::Normalize;
        use crate::data::{DatasetSource, DeviceSplit, FashionMnistOptions, Labels};
        use burn::tensor::{Device, Tensor};
        use rand::SeedableRng;
        let augment = vec![Augment::Crop { padding: 2 }, Augment::Flip { p: 0.5 }, Augment::Translate { pixels: 1 }];
        let bits =
            |t: Tensor<3>| t.to_data().try_to_vec::<f32>().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        let labels = |l: Labels| match l {
            Labels::Classes(y) => y.to_data().iter::<i64>().collect::<Vec<_>>(),
            Labels::Targets(_) => unreachable!("classification"),
        };
        let device = Device::flex();
        for (normalize, channel) in [(Normalize::Off, false), (Normalize::Channel, true)] {
            let opts = FashionMnistOptions { sample: true, normalize, augment: augment.clone(), ..Default::default() };
            let data = opts.load().unwrap();
            let (train, test) = (data.train.pixels.as_ref().unwrap(), data.test.pixels.as_ref().unwrap());
            assert_eq!((data.train.x.len(), train.bytes().len()), (0, 300 * 784), "kept as bytes");
            let [mut a, b] = eager(train.bytes(), test.bytes(), [&data.train.y, &data.test.y], channel);
            a.augment = augment.clone();
            assert_eq!(
                data.train.features().iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                a.x.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
            let (old, new) =
                (DeviceSplit::new(&a, &data.info, &device), DeviceSplit::new(&data.train, &data.info, &device));
            assert!(matches!((&old.x, &new.x), (crate::data::Inputs::Floats(_), Inputs::Bytes { .. })));
            let batches = || Batches::new(Batching::Shuffle, 64, 300, rand_chacha::ChaCha8Rng::seed_from_u64(7));
            let (mut p, mut q) = (batches(), batches());
            for _ in 0..6 {
                let ((mut x, y), (mut z, w)) = (p.next(&old, &device), q.next(&new, &device));
                assert_eq!((bits(x.remove(0)), labels(y)), (bits(z.remove(0)), labels(w)), "{normalize:?}");
            }
            let (old, new) =
                (DeviceSplit::new(&b, &data.info, &device), DeviceSplit::new(&data.test, &data.info, &device));
            assert_eq!(bits(old.slice_all(10, 90).0.remove(0)), bits(new.slice_all(10, 90).0.remove(0)));
            assert_eq!(bits(old.all_x()), bits(new.all_x()));
            let (rows, (mut sel, _)) = ([5, 99, 0, 42], new.select_batch(&[5, 99, 0, 42], &device));
            assert_eq!(bits(old.select(&rows, &device).0), bits(sel.remove(0)));
        }
    }
}
