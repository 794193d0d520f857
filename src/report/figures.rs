//! The report's charts as SVG files for papers, in `figures/` of the results directory, drawn
//! with `plotters` from the same data as `report.html`: `curves-<metric>.svg` (mean ± std
//! over seeds per variant setting), `parallel.svg`, `pareto-num_params.svg`,
//! `pareto-wall_time_s.svg` and `importance.svg`.

use super::page::{Curves, Parallel, Pareto};
use crate::error::Result;
use crate::fsutil::write_atomic;
use crate::sweep::Plan;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

type Drawn = std::result::Result<(), Box<dyn std::error::Error>>;

/// Renders `f` onto an SVG canvas of `size` pixels.
fn svg(
    size: (u32, u32),
    name: &str,
    f: impl FnOnce(&DrawingArea<SVGBackend<'_>, plotters::coord::Shift>) -> Drawn,
) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("drawing {name}: {e}"))?;
        f(&root).map_err(|e| anyhow::anyhow!("drawing {name}: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("drawing {name}: {e}"))?;
    }
    Ok(out)
}

/// A file name for a metric (`valid.accuracy` stays; other characters become `-`).
fn file_part(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || "._".contains(c) { c } else { '-' }).collect()
}

/// Where values fall on a parallel-coordinates axis, from 0 to 1.
struct AxisScale {
    /// The categories of a category axis, evenly spaced.
    cats: Option<Vec<String>>,
    /// The smallest value of a value axis.
    lo: f64,
    /// The largest.
    hi: f64,
}

impl AxisScale {
    /// The scale of axis `i` of `p`.
    fn of(p: &Parallel, i: usize) -> AxisScale {
        let xs = p.lines.iter().filter_map(|l| l[i].as_f64());
        let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
        AxisScale { cats: p.axes[i].data.clone(), lo, hi }
    }

    /// The position of `v`.
    fn pos(&self, v: &serde_json::Value) -> f64 {
        match &self.cats {
            Some(cats) => {
                let k = (cats.len().max(2) - 1) as f64;
                cats.iter().position(|c| v.as_str() == Some(c)).unwrap_or(0) as f64 / k
            }
            None => {
                v.as_f64().map_or(0.0, |x| if self.hi > self.lo { (x - self.lo) / (self.hi - self.lo) } else { 0.5 })
            }
        }
    }
}

/// Parallel coordinates: each axis scaled to its own range (categories evenly spaced), lines
/// coloured from red (worst) to green (best) by the primary metric.
fn parallel(root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, p: &Parallel, maximize: bool) -> Drawn {
    let n = p.axes.len();
    let mut chart = ChartBuilder::on(root)
        .caption("parameters and the primary metric", ("sans-serif", 18))
        .margin(30)
        .build_cartesian_2d(-0.1f64..(n as f64 - 0.9), -0.08f64..1.08)?;
    let scale: Vec<AxisScale> = (0..n).map(|i| AxisScale::of(p, i)).collect();
    for line in &p.lines {
        let t = scale[n - 1].pos(&line[n - 1]);
        let t = if maximize { t } else { 1.0 - t };
        let color = RGBColor((215.0 * (1.0 - t) + 26.0 * t) as u8, (48.0 * (1.0 - t) + 152.0 * t) as u8, 60);
        let pts: Vec<(f64, f64)> = (0..n).map(|i| (i as f64, scale[i].pos(&line[i]))).collect();
        chart.draw_series(std::iter::once(PathElement::new(pts, color.mix(0.6).stroke_width(1))))?;
    }
    for (i, a) in p.axes.iter().enumerate() {
        let x = i as f64;
        chart.draw_series(std::iter::once(PathElement::new(vec![(x, 0.0), (x, 1.0)], BLACK.stroke_width(1))))?;
        chart.draw_series(std::iter::once(Text::new(a.name.clone(), (x, 1.06), ("sans-serif", 13))))?;
        let labels: Vec<(String, f64)> = match &a.data {
            Some(cats) => {
                cats.iter().enumerate().map(|(k, c)| (c.clone(), k as f64 / (cats.len().max(2) - 1) as f64)).collect()
            }
            None => {
                let xs: Vec<f64> = p.lines.iter().filter_map(|l| l[i].as_f64()).collect();
                let (lo, hi) = xs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(*x), b.max(*x)));
                vec![(format!("{lo:.4}"), 0.0), (format!("{hi:.4}"), 1.0)]
            }
        };
        for (text, y) in labels {
            chart.draw_series(std::iter::once(Text::new(text, (x + 0.02, y), ("sans-serif", 11))))?;
        }
    }
    Ok(())
}

/// A Pareto chart: every trial coloured by variant, the front as a black line.
fn pareto(root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, p: &Pareto, metric: &str) -> Drawn {
    let pts = || p.variants.iter().flat_map(|v| v.points.iter());
    let (x0, x1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), q| (a.min(q.0), b.max(q.0)));
    let (y0, y1) = pts().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), q| (a.min(q.1), b.max(q.1)));
    let pad = ((y1 - y0) * 0.05).max(1e-6);
    let caption = (format!("{metric} vs {}", p.x), ("sans-serif", 18));
    let mut b = ChartBuilder::on(root);
    b.caption(caption.0, caption.1).margin(12).x_label_area_size(40).y_label_area_size(60);
    let y = (y0 - pad)..(y1 + pad);
    macro_rules! draw_on {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart.configure_mesh().x_desc(p.x.as_str()).y_desc(metric).draw()?;
            for (i, v) in p.variants.iter().enumerate() {
                let color = Palette99::pick(i).to_rgba();
                chart
                    .draw_series(v.points.iter().map(|q| Circle::new((q.0, q.1), 4, color.filled())))?
                    .label(v.name.clone())
                    .legend(move |(x, y)| Circle::new((x + 8, y), 4, color.filled()));
            }
            for (_, front) in &p.fronts {
                chart.draw_series(LineSeries::new(front.iter().copied(), BLACK.stroke_width(1)))?;
            }
            chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).draw()?;
        }};
    }
    if p.log {
        draw_on!(b.build_cartesian_2d((x0 * 0.8..x1 * 1.25).log_scale(), y)?);
    } else {
        let xpad = ((x1 - x0) * 0.05).max(1e-6);
        draw_on!(b.build_cartesian_2d((x0 - xpad)..(x1 + xpad), y)?);
    }
    Ok(())
}

/// Importance as horizontal bars of the share of variance.
fn importance(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    items: &[(String, f64)],
    metric: &str,
) -> Drawn {
    let n = items.len();
    let mut chart = ChartBuilder::on(root)
        .caption(format!("importance for {metric} (share of variance)"), ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(10)
        .build_cartesian_2d(0.0f64..1.0, 0.0f64..n as f64)?;
    chart.configure_mesh().disable_y_mesh().disable_y_axis().draw()?;
    for (i, (key, v)) in items.iter().enumerate() {
        let y = (n - 1 - i) as f64;
        chart
            .draw_series(std::iter::once(Rectangle::new([(0.0, y + 0.15), (*v, y + 0.85)], BLUE.mix(0.6).filled())))?;
        chart.draw_series(std::iter::once(Text::new(format!("{key}: {v:.3}"), (0.01, y + 0.6), ("sans-serif", 13))))?;
    }
    Ok(())
}

/// Writes every figure into `dir/figures/`; returns the files written.
///
/// # Errors
/// An I/O error naming a file that cannot be written.
pub fn write(
    dir: &Path,
    plan: &Plan,
    curves: &[Curves],
    par: Option<&Parallel>,
    paretos: &[Pareto],
    imp: &[(String, f64)],
) -> Result<Vec<PathBuf>> {
    let out = dir.join("figures");
    std::fs::create_dir_all(&out).map_err(|e| crate::error::Error::io(&out, e))?;
    let mut files: Vec<(String, String)> = Vec::new();
    for c in curves {
        let series: Vec<super::curves::Curve> = c.series.iter().map(|s| (s.name.clone(), s.points.clone())).collect();
        files.push((format!("curves-{}.svg", file_part(&c.metric)), super::curves::svg_of(plan, &c.metric, &series)?));
    }
    let maximize = plan.report.direction() == crate::spec::Direction::Max;
    if let Some(p) = par {
        files.push(("parallel.svg".into(), svg((1000, 560), "parallel.svg", |r| parallel(r, p, maximize))?));
    }
    for p in paretos {
        let name = format!("pareto-{}.svg", file_part(&p.x));
        files.push((name.clone(), svg((900, 560), &name, |r| pareto(r, p, &plan.report.metric))?));
    }
    if !imp.is_empty() {
        let h = 90 + 40 * imp.len() as u32;
        files.push((
            "importance.svg".into(),
            svg((800, h), "importance.svg", |r| importance(r, imp, &plan.report.metric))?,
        ));
    }
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}
