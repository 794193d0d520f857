//! Image summaries: PNG-encoded pixels in `Summary.Image`, shown by the Images dashboard.
//!
//! tensorboard-rs's `summary::image` panics on bad dimensions and swaps height and width;
//! this one checks its input and returns errors. Pixels are row-major, channels interleaved
//! (HWC), one byte per channel. [`to_u8`] converts float images (e.g. a generator's `tanh`
//! output in `[-1, 1]`) and [`grid`] tiles a batch into one image.

use protobuf::RepeatedField;
use std::io;
use tensorboard_proto::summary::{Summary, Summary_Image, Summary_Value};

/// The channel layout of an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    /// One byte per pixel.
    Gray,
    /// Red, green, blue.
    Rgb,
    /// Red, green, blue, alpha.
    Rgba,
}

impl Channels {
    /// Bytes per pixel.
    pub fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::Rgb => 3,
            Channels::Rgba => 4,
        }
    }

    fn color_type(self) -> ::image::ColorType {
        match self {
            Channels::Gray => ::image::ColorType::L8,
            Channels::Rgb => ::image::ColorType::Rgb8,
            Channels::Rgba => ::image::ColorType::Rgba8,
        }
    }
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Checks that `len` bytes hold a `height × width` image of `channels`.
fn check_dims(len: usize, height: usize, width: usize, channels: Channels) -> io::Result<()> {
    if height == 0 || width == 0 || height > i32::MAX as usize || width > i32::MAX as usize {
        return Err(invalid(format!("image size {height}×{width} is empty or too large")));
    }
    let expected = height.checked_mul(width).and_then(|n| n.checked_mul(channels.count()));
    if expected != Some(len) {
        return Err(invalid(format!(
            "a {height}×{width} {channels:?} image needs {} bytes, got {len}",
            expected.map_or("too many".to_string(), |n| n.to_string())
        )));
    }
    Ok(())
}

/// PNG bytes of a `height × width` image.
pub fn encode_png(pixels: &[u8], height: usize, width: usize, channels: Channels) -> io::Result<Vec<u8>> {
    check_dims(pixels.len(), height, width, channels)?;
    let mut png = Vec::new();
    ::image::codecs::png::PngEncoder::new(&mut png)
        .encode(pixels, width as u32, height as u32, channels.color_type())
        .map_err(|e| io::Error::other(format!("PNG encoding failed: {e}")))?;
    Ok(png)
}

/// A summary holding one image tagged `tag`.
pub fn summary(tag: &str, pixels: &[u8], height: usize, width: usize, channels: Channels) -> io::Result<Summary> {
    Ok(png_summary(tag, encode_png(pixels, height, width, channels)?, height, width, channels))
}

/// A summary holding one already encoded image ([`encode_png`]) tagged `tag`.
pub fn png_summary(tag: &str, png: Vec<u8>, height: usize, width: usize, channels: Channels) -> Summary {
    let mut img = Summary_Image::new();
    img.set_height(height as i32);
    img.set_width(width as i32);
    img.set_colorspace(channels.count() as i32);
    img.set_encoded_image_string(png);
    let mut value = Summary_Value::new();
    value.set_tag(tag.to_string());
    value.set_image(img);
    let mut summary = Summary::new();
    summary.set_value(RepeatedField::from_vec(vec![value]));
    summary
}

/// Maps `values` linearly from `[lo, hi]` to bytes `0..=255`, clamping outside values
/// (NaN becomes 0).
pub fn to_u8(values: &[f32], lo: f32, hi: f32) -> Vec<u8> {
    let span = hi - lo;
    values
        .iter()
        .map(|&v| {
            let t = if span > 0.0 { (v - lo) / span } else { 0.0 };
            // `as u8` saturates and maps NaN to 0.
            (t.clamp(0.0, 1.0) * 255.0).round() as u8
        })
        .collect()
}

/// Tiles `count` images of `height × width × channels` bytes, stored one after another in
/// `images`, into a grid `columns` wide with a `pad`-pixel border of zeros between and
/// around them. Returns the pixels and the grid's height and width.
pub fn grid(
    images: &[u8],
    count: usize,
    height: usize,
    width: usize,
    channels: Channels,
    columns: usize,
    pad: usize,
) -> io::Result<(Vec<u8>, usize, usize)> {
    if count == 0 || columns == 0 {
        return Err(invalid("a grid needs at least one image and one column".into()));
    }
    let one = height.checked_mul(width).and_then(|n| n.checked_mul(channels.count()));
    if one.and_then(|n| n.checked_mul(count)) != Some(images.len()) {
        return Err(invalid(format!(
            "{count} images of {height}×{width} {channels:?} do not fit {} bytes",
            images.len()
        )));
    }
    let one = one.unwrap_or(0);
    let columns = columns.min(count);
    let rows = count.div_ceil(columns);
    let gh = rows * (height + pad) + pad;
    let gw = columns * (width + pad) + pad;
    let c = channels.count();
    check_dims(gh * gw * c, gh, gw, channels)?;
    let mut out = vec![0u8; gh * gw * c];
    for (k, img) in images.chunks_exact(one.max(1)).enumerate().take(count) {
        let (top, left) = (pad + (k / columns) * (height + pad), pad + (k % columns) * (width + pad));
        for (y, row) in img.chunks_exact(width * c).enumerate() {
            let at = ((top + y) * gw + left) * c;
            out[at..at + width * c].copy_from_slice(row);
        }
    }
    Ok((out, gh, gw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_png_that_decodes_to_the_same_pixels() {
        // 2 rows × 3 columns: non-square, so swapped dimensions would show.
        let pixels: Vec<u8> = (0..18).map(|i| i * 10).collect();
        let png = encode_png(&pixels, 2, 3, Channels::Rgb).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let img = ::image::load_from_memory(&png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (3, 2), "width 3, height 2");
        assert_eq!(img.get_pixel(2, 0).0, [60, 70, 80]);
        assert_eq!(img.into_raw(), pixels);
    }

    #[test]
    fn the_summary_records_size_and_colorspace() {
        let s = summary("samples", &[7; 6], 3, 2, Channels::Gray).unwrap();
        let img = s.get_value()[0].get_image();
        assert_eq!((img.get_height(), img.get_width(), img.get_colorspace()), (3, 2, 1));
    }

    #[test]
    fn wrong_sizes_are_errors() {
        assert!(encode_png(&[0; 5], 2, 3, Channels::Gray).is_err());
        assert!(encode_png(&[], 0, 3, Channels::Gray).is_err());
        assert!(encode_png(&[0; 8], 2, 1, Channels::Rgba).is_ok());
        assert!(summary("x", &[0; 3], usize::MAX, 3, Channels::Rgb).is_err());
    }

    #[test]
    fn floats_map_to_bytes() {
        assert_eq!(to_u8(&[-1.0, 0.0, 1.0, 2.0, f32::NAN], -1.0, 1.0), vec![0, 128, 255, 255, 0]);
    }

    #[test]
    fn grid_tiles_images_row_by_row() {
        // Three 1×2 gray images, two columns, one pixel of padding.
        let (px, h, w) = grid(&[1, 2, 3, 4, 5, 6], 3, 1, 2, Channels::Gray, 2, 1).unwrap();
        assert_eq!((h, w), (5, 7));
        #[rustfmt::skip]
        let expected = vec![
            0, 0, 0, 0, 0, 0, 0,
            0, 1, 2, 0, 3, 4, 0,
            0, 0, 0, 0, 0, 0, 0,
            0, 5, 6, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(px, expected);
        assert!(grid(&[1, 2, 3], 2, 1, 2, Channels::Gray, 2, 0).is_err());
    }
}
