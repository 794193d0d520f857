//! `burnlab compare DIR... [--metric M] [--output DIR]`: one table and report across results
//! directories (the same models on two datasets; a rerun on another backend; last month's
//! sweep against today's), with the same statistics as a single experiment's.
//!
//! The directories' trials are pooled into one plan with an extra first swept key,
//! [`EXPERIMENT_KEY`], whose value is each trial's experiment: rows are ranked and compared per
//! experiment (as per dataset in a dataset sweep), every variant gets the IQM over all the
//! experiments with its stratified bootstrap interval, and each variant setting found in
//! several experiments is compared with itself in the first one (Welch's t-test, paired tests
//! where the seeds match, Holm–Bonferroni over these comparisons).

use super::stats::{holm::holm, paired, welch_p};
use super::{Built, Group, aggregate, figures, groups, html, load, markdown, page, rank, write_text};
use crate::error::{Result, UserError};
use crate::results::TrialSummary;
use crate::sweep::Plan;
use std::path::{Path, PathBuf};

/// The swept key that names each row's experiment in a comparison.
pub const EXPERIMENT_KEY: &str = "experiment";

/// Reads one directory's plan and summaries (from `summary.csv` without `trials/`).
fn read(dir: &Path) -> Result<(Plan, Vec<Option<TrialSummary>>)> {
    let (plan, summaries) = load(dir)?;
    let summaries = super::fallback::summaries(dir, &plan)?.unwrap_or(summaries);
    Ok((plan, summaries))
}

/// The pooled plan: every directory's trials, each with its experiment as a swept value.
fn pool(dirs: &[PathBuf], metric: Option<&str>, name: &str) -> Result<(Plan, Vec<Option<TrialSummary>>)> {
    let mut plans = Vec::new();
    for d in dirs {
        plans.push(read(d)?);
    }
    let mut report = plans[0].0.report.clone();
    if let Some(m) = metric {
        if report.metric != m {
            report.direction = None;
        }
        report.metric = m.to_string();
    }
    report.columns.retain(|c| plans.iter().all(|(p, _)| p.report.metrics().contains(c)));
    // The dataset is a column of every comparison: from the sweep, else the experiment's own.
    let mut swept_keys = vec![EXPERIMENT_KEY.to_string(), "dataset".to_string()];
    let (mut trials, mut summaries) = (Vec::new(), Vec::new());
    for (plan, s) in plans {
        for k in &plan.swept_keys {
            if !swept_keys.contains(k) {
                swept_keys.push(k.clone());
            }
        }
        for mut t in plan.trials {
            t.swept.insert(EXPERIMENT_KEY.into(), toml::Value::String(plan.experiment.clone()));
            if !t.swept.contains_key("dataset.name") {
                let name = t.config.dataset.source().name().to_string();
                t.swept.entry("dataset".into()).or_insert(toml::Value::String(name));
            }
            t.index = trials.len();
            trials.push(t);
        }
        summaries.extend(s);
    }
    if !summaries.iter().flatten().any(|s| s.final_metrics.contains_key(&report.metric)) {
        return Err(UserError::new(format!("no trial of these directories recorded `{}`", report.metric))
            .help("choose a metric they share with --metric (the columns of their summary.csv)")
            .into());
    }
    Ok((Plan { experiment: name.into(), swept_keys, report, reference: None, trials }, summaries))
}

/// One variant setting compared across experiments.
#[derive(Debug, Clone)]
struct Across {
    name: String,
    base: String,
    other: String,
    difference: f64,
    p: Option<f64>,
    p_paired: Option<f64>,
}

/// Each group against the group of the same variant setting in the first experiment it
/// appears in.
fn across(plan: &Plan, groups: &[Group]) -> Vec<(Across, Option<f64>)> {
    let key = |g: &Group| (g.label.clone(), g.swept[1..].to_vec());
    let mut out = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let Some(base) = groups[..i].iter().find(|b| key(b) == key(g) && b.swept[0] != g.swept[0]) else { continue };
        if groups[..i].iter().any(|b| key(b) == key(g) && b.swept[0] == g.swept[0]) {
            continue;
        }
        let mean = |g: &Group| g.metrics[0].map_or(f64::NAN, |s| s.mean);
        let seeded = |g: &Group| g.seeds.iter().copied().zip(g.primary.iter().copied()).collect::<Vec<_>>();
        let p_paired = paired::pair_by_seed(&seeded(g), &seeded(base)).and_then(|(a, b)| paired::paired_t_p(&a, &b));
        let mut name = g.label.clone();
        for (k, v) in plan.swept_keys.iter().zip(&g.swept).skip(1) {
            if !v.is_empty() {
                name.push_str(&format!(" {}={v}", k.rsplit('.').next().unwrap_or(k)));
            }
        }
        out.push(Across {
            name,
            base: base.swept[0].clone(),
            other: g.swept[0].clone(),
            difference: mean(g) - mean(base),
            p: welch_p(&g.primary, &base.primary),
            p_paired,
        });
    }
    let adjusted = holm(&out.iter().map(|a| a.p).collect::<Vec<_>>());
    out.into_iter().zip(adjusted).collect()
}

fn across_markdown(list: &[(Across, Option<f64>)]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nAcross experiments: each variant setting against itself in the first experiment that has it \
         (Welch's two-sided t-test, Holm–Bonferroni over these comparisons; paired t where the seeds match):\n\n",
    );
    let q = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.3}"));
    for (a, holm) in list {
        out.push_str(&format!(
            "- {}: {} vs {}: {:+.4}, p = {} (Holm {}), paired t p = {}\n",
            markdown::escape(&a.name),
            markdown::escape(&a.other),
            markdown::escape(&a.base),
            a.difference,
            q(a.p),
            q(*holm),
            q(a.p_paired)
        ));
    }
    out
}

/// Compares the results directories `dirs` on `metric` (default: the first one's primary
/// metric) and writes `table.md`, `table.csv`, `report.html` and `figures/` into `output`.
///
/// # Errors
/// Fewer than two directories, a directory that is not a results directory, a metric no trial
/// recorded (user errors, exit code 2); I/O errors naming the file.
pub fn compare(dirs: &[PathBuf], metric: Option<&str>, output: &Path) -> Result<Built> {
    if dirs.len() < 2 {
        return Err(UserError::new("compare needs two results directories or more").into());
    }
    let name = output.file_name().map_or("compare".into(), |n| n.to_string_lossy().into_owned());
    let (plan, summaries) = pool(dirs, metric, &name)?;
    let mut groups = groups(&plan, &summaries);
    rank(&plan, &mut groups);
    std::fs::create_dir_all(output).map_err(|e| crate::error::Error::io(output, e))?;
    let aggregates = aggregate::aggregates(&plan, &groups);
    let across = across(&plan, &groups);
    let sources: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    let mut table_md = markdown(&plan, &groups).replacen(
        "\n\n",
        &format!("\n\nCompared: {} (`burnlab compare`).\n\n", sources.join(", ")),
        1,
    );
    table_md.push_str(&across_markdown(&across));
    table_md.push_str(&aggregate::markdown(&plan, &aggregates));
    let mut written = vec![write_text(&output.join("table.md"), &table_md)?];
    let mut table = super::group_frame(&plan, &groups)?;
    written.push(super::write_csv(&output.join("table.csv"), &mut table)?);
    let importance = super::importance::importance(&plan, &summaries);
    let parallel = page::parallel(&plan, &summaries);
    let paretos = page::paretos(&plan, &summaries);
    written.extend(figures::write(output, &plan, &[], parallel.as_ref(), &paretos, &importance)?);
    let note = format!(
        "Comparison of {} (burnlab compare); learning curves are in each experiment's own report.",
        sources.join(", ")
    );
    let report = html::Report {
        dir: output,
        plan: &plan,
        summaries: &summaries,
        groups: &groups,
        claims: &[],
        aggregates: &aggregates,
        importance: &importance,
        curves: &[],
        parallel: parallel.as_ref(),
        paretos: &paretos,
        note: Some(&note),
    };
    written.push(write_text(&output.join("report.html"), &html::page(&report)?)?);
    Ok(Built { files: written, table_md })
}
