//! Scatter plots of 2D samples as RGB pixels (for PNG files and TensorBoard images).

use crate::data::mixture::Modes;

/// Side of a scatter plot in pixels.
pub const SIDE: usize = 320;

/// An RGB image: row-major `height × width × 3` bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    /// The pixels.
    pub pixels: Vec<u8>,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
}

/// Plots `samples` (blue) over the modes' 3-std discs (light red) and centres (red), on a
/// square that holds every centre with a margin; samples outside it are left out.
pub fn scatter(samples: &[[f64; 2]], modes: &Modes) -> Rgb {
    let reach = modes.centres.iter().map(|c| c[0].abs().max(c[1].abs())).fold(0.0, f64::max);
    let half = reach * 1.25 + 0.25;
    let n = SIDE;
    let mut img = Rgb { pixels: vec![255; n * n * 3], height: n, width: n };
    let to_px = |p: [f64; 2]| -> Option<(usize, usize)> {
        let u = (p[0] + half) / (2.0 * half) * n as f64;
        let v = (half - p[1]) / (2.0 * half) * n as f64;
        (u.is_finite() && v.is_finite() && u >= 0.0 && v >= 0.0 && u < n as f64 && v < n as f64)
            .then_some((v as usize, u as usize))
    };
    let px_per_unit = n as f64 / (2.0 * half);
    let radius = (3.0 * modes.std * px_per_unit).max(2.0);
    for c in &modes.centres {
        if let Some((r, col)) = to_px(*c) {
            img.disc(r, col, radius, [255, 200, 200]);
        }
    }
    for c in &modes.centres {
        if let Some((r, col)) = to_px(*c) {
            img.disc(r, col, 1.5, [200, 0, 0]);
        }
    }
    for &p in samples {
        if let Some((r, col)) = to_px(p) {
            img.disc(r, col, 1.0, [20, 60, 200]);
        }
    }
    img
}

impl Rgb {
    fn disc(&mut self, r: usize, c: usize, radius: f64, color: [u8; 3]) {
        let span = radius.ceil() as isize;
        for dr in -span..=span {
            for dc in -span..=span {
                if ((dr * dr + dc * dc) as f64) > radius * radius {
                    continue;
                }
                let (y, x) = (r as isize + dr, c as isize + dc);
                if y >= 0 && x >= 0 && (y as usize) < self.height && (x as usize) < self.width {
                    let at = (y as usize * self.width + x as usize) * 3;
                    self.pixels[at..at + 3].copy_from_slice(&color);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mixture::Mixture;

    #[test]
    fn samples_are_drawn_where_they_lie() {
        let modes = Mixture::Ring.modes();
        let img = scatter(&[[0.0, 0.0], [f64::NAN, 0.0], [100.0, 0.0]], &modes);
        assert_eq!(img.pixels.len(), SIDE * SIDE * 3);
        let at = |r: usize, c: usize| &img.pixels[(r * SIDE + c) * 3..(r * SIDE + c) * 3 + 3];
        assert_eq!(at(SIDE / 2, SIDE / 2), &[20, 60, 200]);
        // The centre (1, 0) is at 3/4 of the width (half = 1.5).
        assert_eq!(at(SIDE / 2, SIDE / 2 + SIDE / 3), &[200, 0, 0]);
        assert_eq!(at(0, 0), &[255, 255, 255]);
    }
}
