//! Mode-coverage metrics of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018).
//!
//! Given generator samples and a mixture's modes (centres, common std):
//! - each sample's nearest mode (Euclidean distance to the centre);
//! - a sample is *high quality* when that distance is at most 3 standard deviations;
//! - `modes`: the number of modes with at least one high-quality sample;
//! - `high_quality`: the percentage (0-100, as in PacGAN's Table 1) of high-quality samples;
//! - `kl`: the reverse KL divergence `Σ p_k ln(p_k K)` of the histogram `p` of the
//!   high-quality samples' modes from the uniform distribution over the `K` modes
//!   (`0 ln 0 = 0`); 0 when every mode is hit equally, `ln K` when all hit one mode. With no
//!   high-quality sample at all the histogram is undefined and `kl` is reported as `ln K`,
//!   the worst value a non-empty histogram can have.

use crate::data::mixture::Modes;

/// The number of generator samples the protocol evaluates.
pub const EVAL_SAMPLES: usize = 2500;

/// How many standard deviations from its nearest mode a high-quality sample may lie.
pub const HIGH_QUALITY_STDS: f64 = 3.0;

/// Mode-coverage metrics of one set of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeMetrics {
    /// Modes with at least one high-quality sample.
    pub modes: usize,
    /// Percentage of high-quality samples (0-100).
    pub high_quality: f64,
    /// Reverse KL divergence of the high-quality samples' mode histogram from uniform.
    pub kl: f64,
    /// Mean distance from each sample to its nearest mode centre.
    pub mean_distance: f64,
}

/// The index of the mode nearest to `p`, and the distance to its centre.
fn nearest_mode(p: [f64; 2], modes: &Modes) -> (usize, f64) {
    let mut best = (0, f64::INFINITY);
    for (k, c) in modes.centres.iter().enumerate() {
        let d = (p[0] - c[0]).hypot(p[1] - c[1]);
        if d < best.1 {
            best = (k, d);
        }
    }
    best
}

/// Computes the metrics of `samples` (2D points). Non-finite points count as low quality.
pub fn mode_metrics(samples: &[[f64; 2]], modes: &Modes) -> ModeMetrics {
    let k = modes.centres.len();
    let mut hist = vec![0usize; k];
    let mut dist_sum = 0.0;
    for &p in samples {
        let (m, d) = nearest_mode(p, modes);
        dist_sum += d;
        if d <= HIGH_QUALITY_STDS * modes.std {
            hist[m] += 1;
        }
    }
    let hq: usize = hist.iter().sum();
    let kl = if hq == 0 {
        (k as f64).ln()
    } else {
        hist.iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / hq as f64;
                p * (p * k as f64).ln()
            })
            .sum()
    };
    let n = samples.len().max(1) as f64;
    ModeMetrics {
        modes: hist.iter().filter(|&&c| c > 0).count(),
        high_quality: 100.0 * hq as f64 / n,
        kl,
        mean_distance: dist_sum / n,
    }
}

/// `samples.csv`: a header `x,y` (or `v0,v1,...`) and one row per sample.
pub fn samples_csv(values: &[f32], per_sample: usize) -> String {
    let header: Vec<String> =
        if per_sample == 2 { vec!["x".into(), "y".into()] } else { (0..per_sample).map(|i| format!("v{i}")).collect() };
    let mut out = header.join(",");
    out.push('\n');
    for row in values.chunks(per_sample.max(1)) {
        let cells: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mixture::Mixture;

    fn ring() -> Modes {
        Mixture::Ring.modes()
    }

    #[test]
    fn every_mode_hit_equally_is_perfect() {
        let modes = ring();
        // 2,500 is not a multiple of 8: use 2,400 = 300 per mode, each exactly on its centre.
        let samples: Vec<[f64; 2]> = (0..2400).map(|i| modes.centres[i % 8]).collect();
        let m = mode_metrics(&samples, &modes);
        assert_eq!(m.modes, 8);
        assert_eq!(m.high_quality, 100.0);
        assert!(m.kl.abs() < 1e-12, "{}", m.kl);
        assert!(m.mean_distance < 1e-12);
    }

    #[test]
    fn a_single_mode_gives_ln_k() {
        let modes = Mixture::Grid.modes();
        let samples = vec![[2.01, -3.98]; 2500];
        let m = mode_metrics(&samples, &modes);
        assert_eq!(m.modes, 1);
        assert_eq!(m.high_quality, 100.0);
        assert!((m.kl - 25f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn off_mode_points_are_low_quality_and_ignored_by_the_histogram() {
        let modes = ring();
        let mut samples = Vec::new();
        // 1,000 on mode 0 just inside 3 std (0.029), 500 on mode 2, 1,000 between modes.
        samples.extend(std::iter::repeat_n([1.029, 0.0], 1000));
        samples.extend(std::iter::repeat_n([0.0, 0.98], 500));
        samples.extend(std::iter::repeat_n([0.0, 0.0], 500));
        samples.extend(std::iter::repeat_n([1.031, 0.0], 500));
        let m = mode_metrics(&samples, &modes);
        assert_eq!(m.modes, 2);
        assert_eq!(m.high_quality, 60.0);
        // Histogram (2/3, 1/3) over 8 modes.
        let expected = 2.0 / 3.0 * (16.0f64 / 3.0).ln() + 1.0 / 3.0 * (8.0f64 / 3.0).ln();
        assert!((m.kl - expected).abs() < 1e-12, "{} vs {expected}", m.kl);
        let none = mode_metrics(&[[0.0, 0.0], [f64::NAN, 1.0]], &modes);
        assert_eq!((none.modes, none.high_quality), (0, 0.0));
        assert!((none.kl - 8f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn samples_csv_has_a_header_and_one_row_per_sample() {
        assert_eq!(samples_csv(&[1.0, 2.5, -3.0, 0.0], 2), "x,y\n1,2.5\n-3,0\n");
        assert_eq!(samples_csv(&[1.0, 2.0, 3.0], 3), "v0,v1,v2\n1,2,3\n");
    }
}
