//! `curves.svg`: the primary metric against training step, mean over seeds with a ± std band,
//! one line per model variant and swept setting. When the trials recorded its validation
//! counterpart (`valid.accuracy`), that is the curve: the test split is evaluated only once.

use crate::error::Result;
use crate::results::{MetricsLog, TrialStatus, TrialSummary, paths};
use crate::sweep::Plan;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// One curve: mean and std over seeds at each step.
pub(super) type Curve = (String, Vec<(f64, f64, f64)>);

/// The curves of `metric` (`None` when no completed trial recorded it).
pub(super) fn curves(dir: &Path, plan: &Plan, summaries: &[Option<TrialSummary>], metric: &str) -> Option<Vec<Curve>> {
    let mut recorded = false;
    let mut groups: Vec<(String, BTreeMap<usize, Vec<f64>>)> = Vec::new();
    for (t, s) in plan.trials.iter().zip(summaries) {
        if s.as_ref().is_none_or(|s| s.status != TrialStatus::Completed) {
            continue;
        }
        let name = t.setting_name();
        let idx = groups.iter().position(|g| g.0 == name).unwrap_or_else(|| {
            groups.push((name, BTreeMap::new()));
            groups.len() - 1
        });
        for (step, v) in MetricsLog::read(&paths::trial_dir(dir, &t.id)).curve(metric) {
            groups[idx].1.entry(step).or_default().push(v);
            recorded = true;
        }
    }
    let curves = groups
        .into_iter()
        .map(|(name, by_step)| {
            let pts = by_step
                .into_iter()
                .filter_map(|(step, vals)| super::stats::Stats::of(&vals).map(|s| (step as f64, s.mean, s.std)))
                .collect();
            (name, pts)
        })
        .collect();
    recorded.then_some(curves)
}

/// Draws the curves as an SVG document: of the validation counterpart of the primary metric
/// when recorded, else of the primary metric.
pub fn svg(dir: &Path, plan: &Plan, summaries: &[Option<TrialSummary>]) -> Result<String> {
    let valid = plan.report.validation_metric();
    let (metric, curves) = valid.and_then(|v| curves(dir, plan, summaries, &v).map(|c| (v, c))).unwrap_or_else(|| {
        (plan.report.metric.clone(), curves(dir, plan, summaries, &plan.report.metric).unwrap_or_default())
    });
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        draw(&root, plan, &metric, &curves).map_err(|e| anyhow::anyhow!("drawing curves.svg: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("drawing curves.svg: {e}"))?;
    }
    Ok(svg)
}

/// Draws `curves` of `metric` as an SVG document (the learning-curve figures of
/// [`super::figures`]).
///
/// # Errors
/// A drawing error (not expected with the SVG backend).
pub fn svg_of(plan: &Plan, metric: &str, curves: &[Curve]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 560)).into_drawing_area();
        draw(&root, plan, metric, curves).map_err(|e| anyhow::anyhow!("drawing curves of {metric}: {e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("drawing curves of {metric}: {e}"))?;
    }
    Ok(svg)
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    plan: &Plan,
    metric: &str,
    curves: &[Curve],
) -> Result<(), Box<dyn std::error::Error>>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let pts = curves.iter().flat_map(|c| c.1.iter());
    let (mut x_max, mut y_min, mut y_max) = (1.0f64, f64::INFINITY, f64::NEG_INFINITY);
    for &(x, m, s) in pts {
        x_max = x_max.max(x);
        y_min = y_min.min(m - s);
        y_max = y_max.max(m + s);
    }
    if !y_min.is_finite() || !y_max.is_finite() {
        (y_min, y_max) = (0.0, 1.0);
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-6);
    let mut chart = ChartBuilder::on(root)
        .caption(format!("{}: {metric} (mean ± std over seeds)", plan.experiment), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, (y_min - pad)..(y_max + pad))?;
    chart.configure_mesh().x_desc("step").y_desc(metric).x_label_formatter(&|x| format!("{x:.0}")).draw()?;
    for (i, (name, pts)) in curves.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let band: Vec<(f64, f64)> =
            pts.iter().map(|p| (p.0, p.1 + p.2)).chain(pts.iter().rev().map(|p| (p.0, p.1 - p.2))).collect();
        chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.15).filled())))?;
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), color.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.85)).border_style(BLACK).draw()?;
    Ok(())
}
