//! Image sets as the readers return them (IDX, NumPy arrays, image folders), checked and
//! turned into burnlab's splits.
//!
//! **Layout.** An image of `c` channels (1 grey, 3 RGB) and `h × w` pixels is stored
//! channel-major, `[c, h, w]`, and a split's `x` is `[n, c·h, w]`: `DataInfo::seq_len = c·h`,
//! `channels = w`, `image = Some([h, w])`, `image_channels = c`. A one-channel image is thus
//! `h` time steps of `w` channels (rows as steps, as `digits`), and [`image_batch`] turns a
//! batch into the `[batch, c, h, w]` that 2-D models read (a reshape, no copy).
//!
//! **Scaling.** `uint8` pixels are divided by 255 (values in [0, 1]); float pixels are kept.

use super::augment::Augment;
use super::npy::{NdArray, Values};
use super::{DataInfo, Split};
use burn::tensor::Tensor;

/// Pixel values in their stored type.
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    /// Bytes, scaled by 1/255 when converted.
    U8(Vec<u8>),
    /// Floats, kept as they are.
    F32(Vec<f32>),
}

impl Pixels {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Pixels::U8(v) => v.len(),
            Pixels::F32(v) => v.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as floats (bytes divided by 255).
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Pixels::U8(v) => v.iter().map(|&p| f32::from(p) / 255.0).collect(),
            Pixels::F32(v) => v.clone(),
        }
    }
}

/// Labelled images of one split.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// `[channels, height, width]` of every image.
    pub shape: [usize; 3],
    /// `[n, channels, height, width]`, row-major.
    pub pixels: Pixels,
    /// The class id of each image (non-negative).
    pub labels: Vec<i64>,
}

impl ImageSet {
    /// Checks that there is one label per image and that labels are non-negative.
    ///
    /// # Errors
    /// The mismatch, as text (the caller names the files).
    pub fn new(shape: [usize; 3], pixels: Pixels, labels: Vec<i64>) -> Result<Self, String> {
        let size: usize = shape.iter().product();
        let n = pixels.len() / size.max(1);
        if labels.len() != n {
            return Err(format!("the label count ({}) does not match the image count ({n})", labels.len()));
        }
        if let Some(bad) = labels.iter().find(|&&l| l < 0) {
            return Err(format!("labels must be class ids 0, 1, ...; found {bad}"));
        }
        Ok(ImageSet { shape, pixels, labels })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The split burnlab trains on (`x` as `[n, c·h, w]` floats).
    pub fn to_split(&self) -> Split {
        Split::new(self.pixels.to_f32(), self.labels.clone())
    }

    /// The class count: the largest label plus one.
    pub fn num_classes(&self) -> usize {
        self.labels.iter().max().map_or(0, |&m| m as usize + 1)
    }
}

/// Per-channel mean and standard deviation (population, over every pixel of every image) of
/// `x`, images `[c, h, w]` as floats (`[n, c, h, w]`).
pub fn channel_stats(x: &[f32], [c, h, w]: [usize; 3]) -> Vec<(f64, f64)> {
    let plane = h * w;
    (0..c)
        .map(|k| {
            let values = x.chunks(c * plane).flat_map(|img| &img[k * plane..(k + 1) * plane]);
            let (mut n, mut sum, mut sq) = (0f64, 0f64, 0f64);
            for &v in values {
                (n, sum, sq) = (n + 1.0, sum + f64::from(v), sq + f64::from(v) * f64::from(v));
            }
            let mean = sum / n.max(1.0);
            (mean, (sq / n.max(1.0) - mean * mean).max(0.0).sqrt())
        })
        .collect()
}

/// Normalises `x` in place: `(x - mean) / std` per channel (a channel with std 0 is only
/// centred).
pub fn normalize(x: &mut [f32], [c, h, w]: [usize; 3], stats: &[(f64, f64)]) {
    let plane = h * w;
    for img in x.chunks_mut(c * plane) {
        for (k, &(mean, std)) in stats.iter().enumerate() {
            let scale = if std > 0.0 { std } else { 1.0 };
            img[k * plane..(k + 1) * plane].iter_mut().for_each(|v| *v = ((f64::from(*v) - mean) / scale) as f32);
        }
    }
}

/// Both splits as burnlab trains on them: floats (bytes / 255), normalised with the training
/// split's per-channel statistics when `normalize`, the training split carrying `augment`.
pub fn splits(train: &ImageSet, test: &ImageSet, normalize_them: bool, augment: &[Augment]) -> (Split, Split) {
    let (mut a, mut b) = (train.to_split(), test.to_split());
    if normalize_them {
        let stats = channel_stats(&a.x, train.shape);
        normalize(&mut a.x, train.shape, &stats);
        normalize(&mut b.x, test.shape, &stats);
    }
    a.augment = augment.to_vec();
    (a, b)
}

/// The example shape of images `[c, h, w]` with `num_classes` classes.
pub fn image_info([c, h, w]: [usize; 3], num_classes: usize) -> DataInfo {
    DataInfo { seq_len: c * h, channels: w, num_classes, image: Some([h, w]), image_channels: c, ..Default::default() }
}

/// A batch `[batch, c·h, w]` of an image dataset as `[batch, c, h, w]` (the contract between
/// image datasets and 2-D models; `c` is `info.image_channels`, at least 1).
///
/// # Panics
/// If `info` is not an image dataset's (`image` is `None`) or the batch does not fit it.
pub fn image_batch(x: Tensor<3>, info: &DataInfo) -> Tensor<4> {
    let [h, w] = info.image.expect("image_batch needs an image dataset");
    let [b, _, _] = x.dims();
    x.reshape([b, info.image_channels.max(1), h, w])
}

/// The images of an array of shape `[n, h, w]` (grey), `[n, h, w, c]` or `[n, c, h, w]`
/// (`c` 1 or 3; channels last wins when both read), as `([c, h, w], pixels)` channel-major.
///
/// # Errors
/// Another shape, or `int64` values (not pixels), as text.
pub fn array_images(a: NdArray) -> Result<([usize; 3], Pixels), String> {
    let s = a.shape.clone();
    let (shape, channels_last) = match s[..] {
        [_, h, w] => ([1, h, w], false),
        [_, h, w, c] if c == 1 || c == 3 => ([c, h, w], true),
        [_, c, h, w] if c == 1 || c == 3 => ([c, h, w], false),
        _ => {
            return Err(format!(
                "has shape {s:?}; expected images [n, height, width], [n, height, width, channels] or \
                 [n, channels, height, width] with 1 or 3 channels"
            ));
        }
    };
    let pixels = match a.values {
        Values::U8(v) => Pixels::U8(v),
        Values::F32(v) => Pixels::F32(v),
        Values::F64(v) => Pixels::F32(v.into_iter().map(|x| x as f32).collect()),
        Values::I64(_) => return Err("has dtype int64; images must be uint8, float32 or float64".into()),
    };
    if !channels_last || shape[0] == 1 {
        return Ok((shape, pixels));
    }
    Ok((shape, hwc_to_chw(pixels, shape)))
}

/// `[n, h, w, c]` values to `[n, c, h, w]`.
fn hwc_to_chw(pixels: Pixels, [c, h, w]: [usize; 3]) -> Pixels {
    fn go<T: Copy>(v: &[T], c: usize, hw: usize) -> Vec<T> {
        v.chunks(c * hw).flat_map(|img| (0..c).flat_map(move |k| (0..hw).map(move |p| img[p * c + k]))).collect()
    }
    match pixels {
        Pixels::U8(v) => Pixels::U8(go(&v, c, h * w)),
        Pixels::F32(v) => Pixels::F32(go(&v, c, h * w)),
    }
}

/// Class ids from a label array: `[n]` or `[n, 1]` of integers (`uint8`, `int64`, or integral
/// floats).
///
/// # Errors
/// Another shape or non-integral values, as text.
pub fn array_labels(a: NdArray) -> Result<Vec<i64>, String> {
    if !(a.shape.len() == 1 || (a.shape.len() == 2 && a.shape[1] == 1)) {
        return Err(format!("has shape {:?}; expected labels [n] (or [n, 1])", a.shape));
    }
    let integral = |x: f64| (x.fract() == 0.0 && x.abs() < 1e15).then_some(x as i64);
    let floats = |v: Vec<f64>| {
        v.iter().map(|&x| integral(x)).collect::<Option<Vec<i64>>>().ok_or_else(|| {
            let bad = v.iter().find(|x| integral(**x).is_none()).copied().unwrap_or(f64::NAN);
            format!("holds the label {bad}; labels must be integral class ids")
        })
    };
    match a.values {
        Values::U8(v) => Ok(v.into_iter().map(i64::from).collect()),
        Values::I64(v) => Ok(v),
        Values::F32(v) => floats(v.into_iter().map(f64::from).collect()),
        Values::F64(v) => floats(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_last_arrays_become_channel_planes() {
        // One 1x2 RGB image: pixel 0 = (1, 2, 3), pixel 1 = (4, 5, 6).
        let a = NdArray { shape: vec![1, 1, 2, 3], values: Values::U8(vec![1, 2, 3, 4, 5, 6]) };
        let (shape, pixels) = array_images(a).unwrap();
        assert_eq!((shape, pixels), ([3, 1, 2], Pixels::U8(vec![1, 4, 2, 5, 3, 6])));
        let first = NdArray { shape: vec![1, 3, 1, 2], values: Values::U8(vec![1, 4, 2, 5, 3, 6]) };
        assert_eq!(array_images(first).unwrap().1, Pixels::U8(vec![1, 4, 2, 5, 3, 6]));
        let bad = NdArray { shape: vec![2, 5], values: Values::U8(vec![0; 10]) };
        assert!(array_images(bad).unwrap_err().starts_with("has shape [2, 5]"));
    }

    #[test]
    fn labels_must_be_integral_and_match_the_images() {
        let f = NdArray { shape: vec![2], values: Values::F32(vec![1.0, 2.5]) };
        assert!(array_labels(f).unwrap_err().contains("2.5"));
        let ok = NdArray { shape: vec![2, 1], values: Values::F64(vec![1.0, 0.0]) };
        assert_eq!(array_labels(ok).unwrap(), vec![1, 0]);
        let e = ImageSet::new([1, 2, 2], Pixels::U8(vec![0; 8]), vec![0, 1, 1]).unwrap_err();
        assert_eq!(e, "the label count (3) does not match the image count (2)");
        let set = ImageSet::new([1, 2, 2], Pixels::U8(vec![0, 255, 0, 0, 51, 0, 0, 0]), vec![0, 3]).unwrap();
        assert_eq!((set.num_classes(), &set.to_split().x[..2]), (4, &[0.0, 1.0][..]));
        assert!((set.to_split().x[4] - 0.2).abs() < 1e-7);
    }

    #[test]
    fn normalisation_uses_the_training_channels_statistics() {
        // Two 1x2 images of 2 channels: channel 0 holds 1, 3, 5, 7; channel 1 holds 2 everywhere.
        let x = [1.0, 3.0, 2.0, 2.0, 5.0, 7.0, 2.0, 2.0];
        let stats = channel_stats(&x, [2, 1, 2]);
        assert_eq!(stats, vec![(4.0, 5f64.sqrt()), (2.0, 0.0)]);
        let mut y = x;
        normalize(&mut y, [2, 1, 2], &stats);
        let s5 = 5f64.sqrt() as f32;
        let want = [-3.0 / s5, -1.0 / s5, 0.0, 0.0, 1.0 / s5, 3.0 / s5, 0.0, 0.0];
        assert!(y.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{y:?}");
    }
}
