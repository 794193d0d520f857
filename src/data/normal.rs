//! Standard normal draws (Box-Muller) for the synthetic datasets and the GAN's noise, from any
//! seeded generator, so that generated data depends only on its seed.

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
