//! `report.html`: one self-contained page per results directory (no network; works from
//! `file://`): the comparison table (sortable; CIs, p-values, verdicts), the claims, the
//! aggregates over datasets, learning curves with seed bands, parallel coordinates of the
//! swept parameters, hyperparameter importance, Pareto fronts against parameters and training
//! time, every trial's state (failed, diverged, interrupted and pruned marked), and GAN sample
//! grids.
//!
//! The charts are drawn in the browser by Apache ECharts 5.6.0 (Apache-2.0; the minified
//! build of npm's `echarts` package, vendored with its LICENSE and NOTICE in
//! `src/report/html/echarts/` by `scripts/vendor-echarts`, which checks their SHA-256),
//! inlined once per page (about 1 MB), from the data inlined as JSON in
//! `<script id="burnlab-data">`.

use super::aggregate::Aggregate;
use super::claims::ClaimResult;
use super::markdown::{Optional, header, preamble, row};
use super::page::{self, TrialRow};
use super::{Group, ranks_on_valid};
use crate::error::Result;
use crate::results::TrialSummary;
use crate::sweep::Plan;
use base64::Engine;
use std::fmt::Write;
use std::path::Path;

/// The charting library, inlined into every page.
const ECHARTS: &str = include_str!("html/echarts/echarts.min.js");
/// The page's script: charts and sortable tables.
const SCRIPT: &str = include_str!("html/report.js");
/// The page's styles.
const STYLE: &str = include_str!("html/report.css");

/// Everything a page shows.
#[derive(Debug, Clone, Copy)]
pub struct Report<'a> {
    /// The results directory (trials' metrics and samples are read from it).
    pub dir: &'a Path,
    /// The plan.
    pub plan: &'a Plan,
    /// Each trial's summary (`None`: not run).
    pub summaries: &'a [Option<TrialSummary>],
    /// The ranked groups.
    pub groups: &'a [Group],
    /// The checked claims.
    pub claims: &'a [ClaimResult],
    /// The aggregates over datasets.
    pub aggregates: &'a [Aggregate],
    /// Hyperparameter importance: `(swept key, share of variance)`, largest first.
    pub importance: &'a [(String, f64)],
    /// The learning curves ([`page::all_curves`]).
    pub curves: &'a [page::Curves],
    /// The parallel coordinates ([`page::parallel`]).
    pub parallel: Option<&'a page::Parallel>,
    /// The Pareto charts ([`page::paretos`]).
    pub paretos: &'a [page::Pareto],
    /// A note shown first (`None`: none).
    pub note: Option<&'a str>,
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Inline Markdown of the table preambles (`code`, **bold**, `<links>`) as HTML.
fn inline_md(s: &str) -> String {
    let mut out = String::new();
    let (mut code, mut bold) = (false, false);
    let text = escape(s);
    let mut rest = text.as_str();
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("**") {
            out.push_str(if bold { "</b>" } else { "<b>" });
            bold = !bold;
            rest = &rest[2..];
            continue;
        }
        if c == '`' {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The comparison table as HTML (the cells of `table.md`).
fn table(r: &Report<'_>) -> String {
    let valid = r.plan.report.validation_metric().filter(|_| ranks_on_valid(r.groups));
    let opt = Optional::of(r.groups);
    let head = header(r.plan, &r.plan.report.metrics(), valid.as_ref(), opt);
    let text_cols = 1 + r.plan.swept_keys.len();
    let mut out = String::from("<div class=\"scroll\"><table id=\"comparison\" class=\"sortable\"><thead><tr>");
    for (i, h) in head.iter().enumerate() {
        let class = if i < text_cols { " class=\"text\"" } else { "" };
        let _ = write!(out, "<th{class}>{}</th>", escape(h));
    }
    out.push_str("</tr></thead><tbody>");
    for g in r.groups {
        out.push_str(if g.best { "<tr class=\"best\">" } else { "<tr>" });
        for (i, c) in row(r.plan, g, valid.is_some(), opt).iter().enumerate() {
            let class = if i < text_cols || c.contains(char::is_alphabetic) { " class=\"text\"" } else { "" };
            let _ = write!(out, "<td{class}>{}</td>", escape(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

fn claims(results: &[ClaimResult]) -> String {
    if results.is_empty() {
        return String::new();
    }
    let mut out = format!("<h2>Claims</h2><p class=\"note\">{}.</p><ul id=\"claims\">", escape(super::claims::TEST));
    for c in results {
        let class = c.verdict().replace(' ', "-");
        let _ = write!(
            out,
            "<li><span class=\"{class}\">{}</span> (α = {}): <code>{}</code><ul>",
            c.verdict(),
            c.alpha,
            escape(&c.text)
        );
        for p in &c.pairs {
            let on = if p.dataset.is_empty() { String::new() } else { format!(" on {}", p.dataset) };
            let q = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.4}"));
            let _ = write!(
                out,
                "<li>{} vs {}{}: difference {:+.4}, p = {}, Holm-adjusted p = {}</li>",
                escape(&p.left),
                escape(&p.right),
                escape(&on),
                p.difference,
                q(p.p),
                q(p.p_holm)
            );
        }
        out.push_str("</ul></li>");
    }
    out.push_str("</ul>");
    out
}

fn aggregates(r: &Report<'_>) -> String {
    if r.aggregates.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<h2>Across datasets</h2><p class=\"note\">Interquartile mean (IQM) of <code>{}</code> over every run of every task \
         (dataset; in a comparison, experiment and dataset), 95% stratified bootstrap CI ({} resamples, runs resampled \
         within each task; Agarwal et al. 2021).</p>\
         <table id=\"aggregates\" class=\"sortable\"><thead><tr><th class=\"text\">variant</th><th>IQM</th>\
         <th>95% CI</th><th>tasks</th><th>runs</th></tr></thead><tbody>",
        escape(&r.plan.report.metric),
        super::stats::bootstrap::RESAMPLES
    );
    for a in r.aggregates {
        let ci = a.ci.map_or("–".into(), |c| format!("[{:.4}, {:.4}]", c.0, c.1));
        let _ = write!(
            out,
            "<tr><td class=\"text\">{}</td><td>{:.4}</td><td>{ci}</td><td>{}</td><td>{}</td></tr>",
            escape(&a.name),
            a.iqm,
            a.tasks,
            a.runs
        );
    }
    out.push_str("</tbody></table>");
    out
}

fn trials(rows: &[TrialRow]) -> String {
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    let states = ["completed", "diverged", "pruned", "failed", "interrupted", "pending"];
    let counts: Vec<String> = states.iter().filter(|s| count(s) > 0).map(|s| format!("{} {s}", count(s))).collect();
    let mut out = format!(
        "<h2>Trials</h2><p class=\"note\" id=\"trial-counts\">{} trials: {}.</p><div class=\"scroll\">\
         <table id=\"trials\" class=\"sortable\"><thead><tr><th class=\"text\">trial</th><th class=\"text\">id</th>\
         <th class=\"text\">status</th><th>steps</th><th>diverged at</th><th>value</th><th class=\"text\">error</th></tr></thead><tbody>",
        rows.len(),
        counts.join(", ")
    );
    let num = |x: Option<usize>| x.map_or("–".into(), |x| x.to_string());
    for r in rows {
        let error: String = r.error.as_deref().unwrap_or("").chars().take(300).collect();
        let _ = write!(
            out,
            "<tr class=\"status-{}\"><td class=\"text\">{}</td><td class=\"text\"><code>{}</code></td><td class=\"text\">{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
            r.status,
            escape(&r.name),
            r.id,
            r.status,
            num(r.steps),
            num(r.diverged_at),
            r.value.map_or("–".into(), |v| format!("{v:.4}")),
            escape(&error)
        );
    }
    out.push_str("</tbody></table></div>");
    out
}

fn samples(list: &[page::Sample]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h2>Samples</h2><div class=\"samples\" id=\"samples\">");
    for (name, png) in list {
        let data = base64::engine::general_purpose::STANDARD.encode(png);
        let _ = write!(
            out,
            "<figure><img alt=\"{0}\" src=\"data:image/png;base64,{data}\"><figcaption>{0}</figcaption></figure>",
            escape(name)
        );
    }
    out.push_str("</div>");
    out
}

/// The chart containers, one per chart the data holds.
fn chart_divs(curves: usize, parallel: bool, paretos: usize, importance: bool) -> String {
    let mut out = String::new();
    if curves > 0 {
        out.push_str("<h2>Learning curves</h2><div class=\"grid\">");
        for k in 0..curves {
            let _ = write!(out, "<div class=\"chart\" id=\"curve-{k}\"></div>");
        }
        out.push_str("</div>");
    }
    if parallel {
        out.push_str("<h2>Parameters and the primary metric</h2><div class=\"chart\" id=\"parallel\"></div>");
    }
    if importance {
        out.push_str("<h2>Hyperparameter importance</h2><p class=\"note\">");
        out.push_str(&escape(super::importance::METHOD));
        out.push_str("</p><div class=\"chart\" id=\"importance\" style=\"height:260px\"></div>");
    }
    if paretos > 0 {
        out.push_str("<h2>Pareto fronts</h2><p class=\"note\">Each completed trial; the dashed line joins the trials no other beats on both cost (lower) and the metric (one front per dataset).</p><div class=\"grid\">");
        for k in 0..paretos {
            let _ = write!(out, "<div class=\"chart\" id=\"pareto-{k}\"></div>");
        }
        out.push_str("</div>");
    }
    out
}

/// The page.
///
/// # Errors
/// Serialising the data (not expected).
pub fn page(r: &Report<'_>) -> Result<String> {
    let (curves, parallel, paretos) = (r.curves, r.parallel, r.paretos);
    let rows = page::trial_rows(r.plan, r.summaries);
    let importance: Vec<serde_json::Value> =
        r.importance.iter().map(|(k, v)| serde_json::json!({ "key": k, "value": v })).collect();
    let data = serde_json::json!({
        "experiment": r.plan.experiment,
        "metric": r.plan.report.metric,
        "curves": curves,
        "parallel": parallel,
        "pareto": paretos,
        "importance": importance,
        "trials": rows,
        "groups": r.groups.iter().map(|g| serde_json::json!({
            "label": g.label, "swept": g.swept, "seeds": g.seeds, "values": g.primary, "best": g.best,
        })).collect::<Vec<_>>(),
    });
    let json = serde_json::to_string(&data).map_err(|e| anyhow::anyhow!("report data: {e}"))?.replace("</", "<\\/");
    let valid = r.plan.report.validation_metric().filter(|_| ranks_on_valid(r.groups));
    let comparisons = r.groups.iter().filter(|g| g.p_vs_best.is_some()).count();
    let intro: String = preamble(r.plan, valid.as_ref(), comparisons)
        .lines()
        .skip(2)
        .filter(|l| !l.is_empty())
        .map(|l| format!("<p class=\"note\">{}</p>", inline_md(l)))
        .collect();
    let title = escape(&r.plan.experiment);
    let intro = match r.note {
        Some(n) => format!("<p class=\"note\" id=\"note\"><b>{}</b></p>{intro}", escape(n)),
        None => intro,
    };
    Ok(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}: burnlab report</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>{STYLE}</style></head><body>\
         <h1>{title}</h1>{intro}<h2>Comparison</h2>{}{}{}{}{}{}\
         <footer>Written by burnlab {} (<code>burnlab report</code>). Charts: Apache ECharts 5.6.0 (Apache-2.0), inlined.</footer>\
         <script type=\"application/json\" id=\"burnlab-data\">{json}</script><script>{ECHARTS}</script><script>{SCRIPT}</script>\
         </body></html>\n",
        table(r),
        claims(r.claims),
        aggregates(r),
        chart_divs(curves.len(), parallel.is_some(), paretos.len(), !r.importance.is_empty()),
        trials(&rows),
        samples(&page::samples(r.dir, r.plan, r.summaries)?),
        env!("CARGO_PKG_VERSION"),
    ))
}
