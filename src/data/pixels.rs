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
//! `uint8` splits stay bytes until a batch is built (`data::compact`).
//!
//! **Standardisation** ([`Normalize`]): per channel (the training split's mean and standard
//! deviation of each channel) or per pixel position (scikit-learn's `StandardScaler`), with
//! statistics of the training split applied to every split.

use super::augment::Augment;
use super::compact::{BytePixels, Scaling, byte_value, standardized};
use super::npy::{NdArray, Values};
use super::{DataInfo, Split};
use burn::tensor::Tensor;

pub use super::normalize::Normalize;

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
            Pixels::U8(v) => v.iter().map(|&p| byte_value(p)).collect(),
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

    /// The split burnlab trains on, `[n, c·h, w]`: bytes kept as bytes (read as `p / 255`,
    /// [`Split::pixels`]), floats as `x`.
    pub fn to_split(&self) -> Split {
        self.split_with(|| Scaling::plain(self.shape[0], self.shape[1] * self.shape[2]))
    }

    /// The split, bytes made floats by `scaling` (floats kept as they are).
    fn split_with(&self, scaling: impl FnOnce() -> Scaling) -> Split {
        match &self.pixels {
            Pixels::U8(v) => {
                let width = self.shape.iter().product::<usize>().max(1);
                Split {
                    pixels: Some(BytePixels::new(v.clone(), width, scaling())),
                    ..Split::new(Vec::new(), self.labels.clone())
                }
            }
            Pixels::F32(v) => Split::new(v.clone(), self.labels.clone()),
        }
    }

    /// The class count: the largest label plus one.
    pub fn num_classes(&self) -> usize {
        self.labels.iter().max().map_or(0, |&m| m as usize + 1)
    }
}

/// Per-channel mean and standard deviation (population, over every pixel of every image) of
/// `x`, images `[c, h, w]` as floats (`[n, c, h, w]`).
pub fn channel_stats(x: &[f32], shape: [usize; 3]) -> Vec<(f64, f64)> {
    channel_stats_of(x, shape, |v| v)
}

/// [`channel_stats`] of bytes read as `p / 255` (the same sums, in the same order).
pub fn byte_channel_stats(x: &[u8], shape: [usize; 3]) -> Vec<(f64, f64)> {
    channel_stats_of(x, shape, byte_value)
}

fn channel_stats_of<T: Copy>(x: &[T], [c, h, w]: [usize; 3], value: impl Fn(T) -> f32) -> Vec<(f64, f64)> {
    let plane = h * w;
    (0..c)
        .map(|k| {
            let values = x.chunks(c * plane).flat_map(|img| &img[k * plane..(k + 1) * plane]);
            let (mut n, mut sum, mut sq) = (0f64, 0f64, 0f64);
            for v in values.map(|&v| value(v)) {
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
            img[k * plane..(k + 1) * plane].iter_mut().for_each(|v| *v = standardized(*v, mean, scale));
        }
    }
}

/// Per-pixel-position mean and scale of examples of `width` values (`x` is `[n, width]`), as
/// scikit-learn's `StandardScaler` computes them: the mean, the population standard deviation
/// (ddof 0, two passes), and a scale of 1 where a position is constant (its variance within
/// rounding of 0: `var <= n·eps·var + (n·mean·eps)²`, scikit-learn's `_is_constant_feature`).
pub fn pixel_stats<T: Copy>(x: &[T], width: usize, value: impl Fn(T) -> f32) -> (Vec<f64>, Vec<f64>) {
    let n = (x.len() / width.max(1)) as f64;
    let mut mean = vec![0f64; width];
    for row in x.chunks_exact(width.max(1)) {
        mean.iter_mut().zip(row).for_each(|(m, &v)| *m += f64::from(value(v)));
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1.0));
    let mut var = vec![0f64; width];
    for row in x.chunks_exact(width.max(1)) {
        var.iter_mut().zip(row.iter().zip(&mean)).for_each(|(s, (&v, m))| *s += (f64::from(value(v)) - m).powi(2));
    }
    let eps = f64::EPSILON;
    let scale = var
        .iter()
        .zip(&mean)
        .map(|(s, m)| {
            let var = s / n.max(1.0);
            let constant = var <= n * eps * var + (n * m * eps).powi(2);
            if constant { 1.0 } else { var.sqrt() }
        })
        .collect();
    (mean, scale)
}

/// Both splits as burnlab trains on them: bytes kept as bytes read as `p / 255` (floats kept),
/// standardised with the training split's statistics as `normalize` says, the training split
/// carrying `augment`.
pub fn splits(train: &ImageSet, test: &ImageSet, normalize: Normalize, augment: &[Augment]) -> (Split, Split) {
    let (mut a, b) = match &train.pixels {
        Pixels::U8(bytes) => {
            let scaling = byte_scaling(bytes, train.shape, normalize);
            (train.split_with(|| scaling.clone()), test.split_with(|| scaling))
        }
        Pixels::F32(_) => float_splits(train, test, normalize),
    };
    a.augment = augment.to_vec();
    (a, b)
}

/// The scaling of bytes of images `shape` standardised as `normalize` says with the statistics
/// of the training bytes `bytes`.
fn byte_scaling(bytes: &[u8], shape @ [c, h, w]: [usize; 3], normalize: Normalize) -> Scaling {
    match normalize {
        Normalize::Off => Scaling::plain(c, h * w),
        Normalize::Channel => Scaling::channels(&byte_channel_stats(bytes, shape), h * w),
        Normalize::Pixel => {
            let (mean, scale) = pixel_stats(bytes, c * h * w, byte_value);
            Scaling::Pixels { mean, scale }
        }
    }
}

/// Float images: both splits as floats, standardised in place.
fn float_splits(train: &ImageSet, test: &ImageSet, normalize: Normalize) -> (Split, Split) {
    let (mut a, mut b) = (train.to_split(), test.to_split());
    match normalize {
        Normalize::Off => {}
        Normalize::Channel => {
            let stats = channel_stats(&a.x, train.shape);
            self::normalize(&mut a.x, train.shape, &stats);
            self::normalize(&mut b.x, test.shape, &stats);
        }
        Normalize::Pixel => {
            let width = train.shape.iter().product::<usize>().max(1);
            let (mean, scale) = pixel_stats(&a.x, width, |v| v);
            for x in [&mut a.x, &mut b.x] {
                for row in x.chunks_exact_mut(width) {
                    row.iter_mut().zip(mean.iter().zip(&scale)).for_each(|(v, (&m, &s))| *v = standardized(*v, m, s));
                }
            }
        }
    }
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
        assert_eq!((set.num_classes(), &set.to_split().features()[..2]), (4, &[0.0, 1.0][..]));
        assert!((set.to_split().features()[4] - 0.2).abs() < 1e-7);
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

    #[test]
    fn pixel_standardisation_matches_scikit_learns_standard_scaler() {
        // tests/fixtures/standardize.json: scripts/make_standardize_fixtures.py.
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/standardize.json");
        let f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let floats =
            |v: &serde_json::Value| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>();
        let options =
            crate::data::FashionMnistOptions { sample: true, normalize: Normalize::Pixel, ..Default::default() };
        let d = crate::data::DatasetSource::load(&options).unwrap();
        let Some(Scaling::Pixels { mean, scale }) = d.train.pixels.as_ref().map(|p| p.scaling()) else {
            panic!("per-pixel scaling of bytes expected")
        };
        for (ours, (theirs, what)) in
            [mean, scale].into_iter().zip([(floats(&f["mean"]), "mean"), (floats(&f["scale"]), "scale")])
        {
            assert_eq!(ours.len(), 784);
            let worst = ours.iter().zip(&theirs).map(|(a, b)| (a - b).abs() / b.abs().max(1.0)).fold(0.0, f64::max);
            assert!(worst < 1e-9, "{what}: off by {worst}");
        }
        assert_eq!(scale.iter().filter(|&&s| s == 1.0).count(), f["constant_pixels"].as_u64().unwrap() as usize);
        let test = d.test.features();
        for (i, row) in f["test_transformed"].as_array().unwrap().iter().enumerate() {
            for (j, want) in floats(row).into_iter().enumerate() {
                let got = f64::from(test[i * 784 + j]);
                assert!((got - want).abs() <= 1e-6 * want.abs().max(1.0), "test image {i}, pixel {j}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn bytes_and_their_floats_standardise_alike() {
        // Three 2x2 images of 1 channel; pixel 3 is constant.
        let bytes = vec![0u8, 10, 255, 7, 30, 20, 128, 7, 60, 90, 1, 7];
        let labels = vec![0, 1, 0];
        let floats: Vec<f32> = bytes.iter().map(|&p| byte_value(p)).collect();
        let (a, b) = (
            ImageSet::new([1, 2, 2], Pixels::U8(bytes), labels.clone()).unwrap(),
            ImageSet::new([1, 2, 2], Pixels::F32(floats), labels).unwrap(),
        );
        for normalize in [Normalize::Off, Normalize::Channel, Normalize::Pixel] {
            let (x, y) = (splits(&a, &a, normalize, &[]).1, splits(&b, &b, normalize, &[]).1);
            assert!(x.pixels.is_some() && y.pixels.is_none());
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&x.features()), bits(&y.features()), "{normalize:?}");
        }
        let pixel = splits(&b, &b, Normalize::Pixel, &[]).0.x;
        let column = |j: usize| pixel.iter().skip(j).step_by(4).map(|&v| f64::from(v)).collect::<Vec<_>>();
        let (m, v) = (column(0).iter().sum::<f64>() / 3.0, column(0).iter().map(|x| x * x).sum::<f64>() / 3.0);
        assert!(m.abs() < 1e-6 && (v - 1.0).abs() < 1e-6, "pixel 0: mean {m}, variance {v}");
        assert_eq!(column(3), vec![0.0; 3], "a constant pixel is only centred");
    }
}
