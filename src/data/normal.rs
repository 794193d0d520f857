//! Normal distributions: standard normal draws (Box-Muller) for the synthetic datasets and the
//! GAN's noise, from any seeded generator, so that generated data depends only on its seed; and
//! the mean and covariance of a set of vectors.

use nalgebra::{DMatrix, DVector};
use rand::Rng;

/// Two independent standard normal draws.
pub fn pair(rng: &mut impl Rng) -> [f64; 2] {
    // 1 - u is in (0, 1], so the logarithm is finite.
    let u: f64 = 1.0 - rng.random::<f64>();
    let v: f64 = rng.random();
    let r = (-2.0 * u.ln()).sqrt();
    let t = std::f64::consts::TAU * v;
    [r * t.cos(), r * t.sin()]
}

/// One standard normal draw (the first of a [`pair`]; consumes the same two uniforms).
pub fn sample(rng: &mut impl Rng) -> f64 {
    pair(rng)[0]
}

/// Mean and covariance of a set of vectors (the Frechet distance's Gaussians; the PCA of
/// `digits-mnist1d`'s images).
#[derive(Debug, Clone, PartialEq)]
pub struct Gaussian {
    /// The mean.
    pub mean: DVector<f64>,
    /// The covariance (denominator `n - 1`).
    pub cov: DMatrix<f64>,
}

impl Gaussian {
    /// Fits `n` row-major vectors of `dim` values.
    pub fn fit(values: &[f32], dim: usize) -> Gaussian {
        let n = values.len() / dim.max(1);
        let x = DMatrix::from_row_iterator(n, dim, values.iter().take(n * dim).map(|&v| f64::from(v)));
        let mean = DVector::from_iterator(dim, x.column_iter().map(|c| c.mean()));
        let mut centred = x;
        for mut row in centred.row_iter_mut() {
            row -= mean.transpose();
        }
        let cov = centred.transpose() * &centred / (n.max(2) - 1) as f64;
        Gaussian { mean, cov }
    }
}
