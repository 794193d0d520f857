//! Comparison tables from stored trial results: `summary.csv`/`.parquet` (one row per trial),
//! `table.md`/`table.csv`/`table.tex` (one row per model variant and swept setting, over seeds)
//! and the learning curves `curves.svg`.

pub mod aggregate;
pub mod claims;
pub mod compare;
pub mod curves;
pub mod fallback;
pub mod figures;
pub mod html;
pub mod importance;
pub mod latex;
pub mod markdown;
pub mod page;
pub mod stats;

use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::results::{TrialStatus, TrialSummary};
use crate::spec::Direction;
use crate::sweep::Plan;
pub use markdown::markdown;
use polars::prelude::*;
use stats::{Stats, Verdict, welch_p};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One row of the comparison table: a variant and swept setting, over its seeds.
#[derive(Debug, Clone)]
pub struct Group {
    /// Model variant label.
    pub label: String,
    /// Swept values (in `Plan::swept_keys` order; empty strings where a key does not apply).
    pub swept: Vec<String>,
    /// Trials planned in the group.
    pub planned: usize,
    /// Trials that diverged.
    pub diverged: usize,
    /// Trials stopped early by the search strategy.
    pub pruned: usize,
    /// Trials failed, interrupted or not run.
    pub missing: usize,
    /// Statistics per reported metric (completed trials only).
    pub metrics: Vec<Option<Stats>>,
    /// The primary metric's value per completed trial.
    pub primary: Vec<f64>,
    /// The seed of each value of `primary` (same order).
    pub seeds: Vec<u64>,
    /// Percentile-bootstrap 95% interval of the primary metric's mean ([`stats::bootstrap`]).
    pub boot_ci: Option<(f64, f64)>,
    /// Statistics of the primary metric's validation counterpart (`valid.accuracy` for
    /// `test.accuracy`), when the group's completed trials recorded it: what ranks the groups.
    pub valid: Option<Stats>,
    /// The published value and tolerance, when `[reference]` has a row for this group.
    pub published: Option<(f64, f64)>,
    /// The published standard deviation and number of runs, when the `[reference]` row gives
    /// them.
    pub published_spread: Option<(f64, usize)>,
    /// Welch's two-sided p-value of the published mean ± std over n against this group's
    /// values (rows with a published spread).
    pub reference_p: Option<f64>,
    /// Whether the published value was reproduced.
    pub verdict: Verdict,
    /// Welch's t-test p-value against the best group (`None` for the best and for n < 2).
    pub p_vs_best: Option<f64>,
    /// `p_vs_best` Holm–Bonferroni-adjusted over every comparison of the table.
    pub p_holm: Option<f64>,
    /// Paired t-test p-value against the best group, when both ran the same seeds.
    pub p_paired: Option<f64>,
    /// Wilcoxon signed-rank p-value against the best group, when both ran the same seeds.
    pub p_wilcoxon: Option<f64>,
    /// Hedges' g of this group against the best (positive: larger mean than the best).
    pub effect: Option<f64>,
    /// Whether this is the best group (of its dataset, when the sweep varies the dataset).
    pub best: bool,
}

/// Reads every trial summary of the plan (`None` where a trial has none, or an unreadable one,
/// which is reported on stderr with its path).
///
/// # Errors
/// "not a burnlab results directory" without `plan.json`, or an unreadable plan.
pub fn load(dir: &Path) -> Result<(Plan, Vec<Option<TrialSummary>>)> {
    crate::results::read_summaries(dir)
}

/// Groups trials by variant and swept setting, in plan order.
pub fn groups(plan: &Plan, summaries: &[Option<TrialSummary>]) -> Vec<Group> {
    let metrics = plan.report.metrics();
    // Each group's key, its first trial (for its swept values) and its members, in plan order.
    let mut index: HashMap<(String, Vec<String>), usize> = HashMap::new();
    let mut members: Vec<(&crate::sweep::Trial, Vec<Option<&TrialSummary>>)> = Vec::new();
    for (t, s) in plan.trials.iter().zip(summaries) {
        let i = *index.entry((t.label.clone(), swept_values(plan, &t.swept))).or_insert_with(|| {
            members.push((t, Vec::new()));
            members.len() - 1
        });
        members[i].1.push(s.as_ref());
    }
    members.into_iter().map(|(first, summaries)| group(plan, &metrics, first, &summaries)).collect()
}

/// One group's statistics: `first` is its first trial, `members` the summaries of all.
fn group(plan: &Plan, metrics: &[String], first: &crate::sweep::Trial, members: &[Option<&TrialSummary>]) -> Group {
    let completed: Vec<&TrialSummary> =
        members.iter().filter_map(|s| s.filter(|s| s.status == TrialStatus::Completed)).collect();
    let count = |status| members.iter().filter(|s| s.is_some_and(|s| s.status == status)).count();
    let (diverged, pruned) = (count(TrialStatus::Diverged), count(TrialStatus::Pruned));
    let values = |m: &String| completed.iter().filter_map(|s| s.final_metrics.get(m).copied()).collect::<Vec<_>>();
    let stats: Vec<Option<Stats>> = metrics.iter().map(|m| Stats::of(&values(m))).collect();
    let row = plan.reference.as_ref().and_then(|r| r.row_for(&first.label, &first.swept).map(|row| (r, row)));
    let published = row.map(|(r, row)| (row.value, r.tolerance_of(row)));
    let published_spread = row.and_then(|(_, row)| row.std.zip(row.n));
    let (verdict, reference_p) = match (published, published_spread) {
        (Some((value, _)), Some((std, n))) => {
            Verdict::decide_summary(stats[0].as_ref(), stats::Summary { mean: value, std, n })
        }
        _ => (Verdict::decide(stats[0].as_ref(), published.map(|p| p.0), published.map_or(0.0, |p| p.1)), None),
    };
    let valid = plan.report.validation_metric().and_then(|m| Stats::of(&values(&m)));
    let seeds = completed.iter().filter(|s| s.final_metrics.contains_key(&metrics[0])).map(|s| s.seed).collect();
    let primary = values(&metrics[0]);
    Group {
        label: first.label.clone(),
        swept: swept_values(plan, &first.swept),
        planned: members.len(),
        diverged,
        pruned,
        missing: members.len() - completed.len() - diverged - pruned,
        boot_ci: stats::bootstrap::mean_ci(&primary, stats::bootstrap::RESAMPLES, stats::bootstrap::SEED),
        primary,
        seeds,
        valid,
        metrics: stats,
        published,
        published_spread,
        reference_p,
        verdict,
        p_vs_best: None,
        p_holm: None,
        p_paired: None,
        p_wilcoxon: None,
        effect: None,
        best: false,
    }
}

/// A trial's swept values as its group's key ([`Group::swept`]): in `Plan::swept_keys` order,
/// empty where a key does not apply.
pub fn swept_values(plan: &Plan, swept: &std::collections::BTreeMap<String, toml::Value>) -> Vec<String> {
    plan.swept_keys.iter().map(|k| swept.get(k).map(crate::sweep::value_text).unwrap_or_default()).collect()
}

/// Whether the groups are ranked on the validation counterpart of the primary metric: every
/// group with results recorded it (else, as with `validation = 0`, on the primary metric
/// itself, that is on the test split).
pub fn ranks_on_valid(groups: &[Group]) -> bool {
    groups.iter().any(|g| g.valid.is_some()) && groups.iter().all(|g| g.metrics[0].is_none() || g.valid.is_some())
}

/// The index of the best of `members` (group indices) by the mean of the validation
/// counterpart of the primary metric when `on_valid`, else of the primary metric.
fn best_of(plan: &Plan, groups: &[Group], members: &[usize], on_valid: bool) -> Option<usize> {
    let dir = plan.report.direction();
    let ranked = |g: &Group| if on_valid { g.valid } else { g.metrics[0] };
    members
        .iter()
        .filter_map(|&i| ranked(&groups[i]).map(|s| (i, s.mean)))
        .filter(|(_, m)| m.is_finite())
        .max_by(|a, b| match dir {
            Direction::Max => a.1.total_cmp(&b.1),
            Direction::Min => b.1.total_cmp(&a.1),
        })
        .map(|(i, _)| i)
}

/// Whether a swept key chooses the dataset (`dataset`, its `name` or its file), or, in a
/// `compare` table, the experiment: results on different datasets are not comparable.
fn is_dataset_key(key: &str) -> bool {
    matches!(key, "dataset" | "dataset.name" | "dataset.path" | compare::EXPERIMENT_KEY)
}

/// The groups by dataset: `(the dataset's swept values, group indices)`, in order of first
/// appearance; one partition when the sweep does not vary the dataset.
pub fn partitions(plan: &Plan, groups: &[Group]) -> Vec<(Vec<String>, Vec<usize>)> {
    let dataset: Vec<usize> = (0..plan.swept_keys.len()).filter(|&i| is_dataset_key(&plan.swept_keys[i])).collect();
    let mut partitions: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        let key: Vec<String> = dataset.iter().map(|&d| g.swept[d].clone()).collect();
        match partitions.iter_mut().find(|p| p.0 == key) {
            Some(p) => p.1.push(i),
            None => partitions.push((key, vec![i])),
        }
    }
    partitions
}

/// Marks the best group, chosen on the validation counterpart of the primary metric when every
/// group recorded it ([`ranks_on_valid`]) and else on the primary metric, and sets every other
/// group's comparisons against it on the primary (test) metric: Welch's p-value, Holm-adjusted
/// over the table; paired t and Wilcoxon p-values where both ran the same seeds; Hedges' g.
/// Results on different datasets are not comparable, so a sweep over `dataset` (or
/// `dataset.name`) is ranked per dataset.
pub fn rank(plan: &Plan, groups: &mut [Group]) {
    let on_valid = ranks_on_valid(groups);
    for (_, members) in partitions(plan, groups) {
        let Some(b) = best_of(plan, groups, &members, on_valid) else { continue };
        groups[b].best = true;
        let best_values = groups[b].primary.clone();
        let best_seeded: Vec<(u64, f64)> = groups[b].seeds.iter().copied().zip(best_values.iter().copied()).collect();
        for i in members.into_iter().filter(|&i| i != b) {
            let g = &mut groups[i];
            g.p_vs_best = welch_p(&best_values, &g.primary);
            g.effect = stats::effect::hedges_g(&g.primary, &best_values);
            let seeded: Vec<(u64, f64)> = g.seeds.iter().copied().zip(g.primary.iter().copied()).collect();
            if let Some((x, y)) = stats::paired::pair_by_seed(&best_seeded, &seeded) {
                g.p_paired = stats::paired::paired_t_p(&x, &y);
                g.p_wilcoxon = stats::paired::wilcoxon_p(&x, &y);
            }
        }
    }
    let adjusted = stats::holm::holm(&groups.iter().map(|g| g.p_vs_best).collect::<Vec<_>>());
    for (g, p) in groups.iter_mut().zip(adjusted) {
        g.p_holm = p;
    }
}

/// What [`build`] wrote.
#[derive(Debug, Clone)]
pub struct Built {
    /// The files written, in order: `summary.csv`, `summary.parquet`, `table.csv`, `table.md`,
    /// `table.tex`, `curves.svg`, the figures (`figures/*.svg`), `report.html`.
    pub files: Vec<PathBuf>,
    /// The text written to `table.md` (for the terminal and TensorBoard's text tab).
    pub table_md: String,
}

/// Rebuilds every table of the results directory; returns the files written and the text of
/// `table.md`. A directory without its `trials/` folder (committed results) is rebuilt from
/// its `summary.csv` ([`fallback`]): `summary.csv`, `summary.parquet` and `curves.svg` are
/// then left as they are, and the page has no learning curves.
///
/// # Errors
/// As [`load`]; an I/O error naming a file that cannot be written.
pub fn build(dir: &Path) -> Result<Built> {
    let (plan, mut summaries) = load(dir)?;
    let from_csv = match fallback::summaries(dir, &plan)? {
        Some(s) => {
            summaries = s;
            true
        }
        None => false,
    };
    let mut groups = groups(&plan, &summaries);
    rank(&plan, &mut groups);
    let mut written = Vec::new();

    if !from_csv {
        let mut per_trial = trial_frame(&plan, &summaries)?;
        written.push(write_csv(&dir.join("summary.csv"), &mut per_trial)?);
        written.push(write_parquet(&dir.join("summary.parquet"), &mut per_trial)?);
    }
    let mut table = group_frame(&plan, &groups)?;
    written.push(write_csv(&dir.join("table.csv"), &mut table)?);
    let claims = claims::check(&plan, &groups, &claims::read(dir));
    let aggregates = aggregate::aggregates(&plan, &groups);
    let mut table_md = markdown(&plan, &groups);
    table_md.push_str(&claims::markdown(&claims));
    table_md.push_str(&aggregate::markdown(&plan, &aggregates));
    written.push(write_text(&dir.join("table.md"), &table_md)?);
    written.push(write_text(&dir.join("table.tex"), &latex::table(&plan, &groups))?);
    if !from_csv {
        written.push(write_text(&dir.join("curves.svg"), &curves::svg(dir, &plan, &summaries)?)?);
    }
    let importance = importance::importance(&plan, &summaries);
    let curves = page::all_curves(dir, &plan, &summaries);
    let parallel = page::parallel(&plan, &summaries).filter(|_| !plan.swept_keys.is_empty() || groups.len() > 1);
    let paretos = page::paretos(&plan, &summaries);
    written.extend(figures::write(dir, &plan, &curves, parallel.as_ref(), &paretos, &importance)?);
    let report = html::Report {
        dir,
        plan: &plan,
        summaries: &summaries,
        groups: &groups,
        claims: &claims,
        aggregates: &aggregates,
        importance: &importance,
        curves: &curves,
        parallel: parallel.as_ref(),
        paretos: &paretos,
        note: from_csv.then_some(FROM_CSV_NOTE),
    };
    written.push(write_text(&dir.join("report.html"), &html::page(&report)?)?);
    Ok(Built { files: written, table_md })
}

/// What the page says when it was rebuilt from `summary.csv`.
pub const FROM_CSV_NOTE: &str = "Rebuilt from summary.csv: this directory has no per-trial folders (trials/ is not \
    committed), so there are no learning curves; the tables and statistics are those of the trials' final metrics.";

fn write_text(path: &Path, text: &str) -> Result<PathBuf> {
    write_atomic(path, text.as_bytes())?;
    Ok(path.to_path_buf())
}

fn polars_err(e: PolarsError) -> Error {
    anyhow::anyhow!("polars: {e}").into()
}

/// A column of swept values: integer when every value is an integer, float when every value
/// is a number, text otherwise.
fn swept_column(name: &str, values: Vec<Option<&toml::Value>>) -> Column {
    let present = || values.iter().flatten();
    if present().all(|v| v.is_integer()) {
        Column::new(name.into(), values.iter().map(|v| v.and_then(toml::Value::as_integer)).collect::<Vec<_>>())
    } else if present().all(|v| crate::spec::value::as_number(v).is_some()) {
        Column::new(name.into(), values.iter().map(|v| v.and_then(crate::spec::value::as_number)).collect::<Vec<_>>())
    } else {
        let v: Vec<Option<String>> = values.iter().map(|v| v.map(crate::sweep::value_text)).collect();
        Column::new(name.into(), v)
    }
}

/// A frame of `cols`, each name once: a column named like an earlier one is left out, so a
/// swept key that is also a fixed column (`backend`) shows once, with the swept values.
fn frame(cols: Vec<Column>) -> Result<DataFrame> {
    let mut seen = std::collections::HashSet::new();
    let cols: Vec<Column> = cols.into_iter().filter(|c| seen.insert(c.name().clone())).collect();
    DataFrame::new_infer_height(cols).map_err(polars_err)
}

fn trial_frame(plan: &Plan, summaries: &[Option<TrialSummary>]) -> Result<DataFrame> {
    let t = &plan.trials;
    let s = |f: &dyn Fn(&TrialSummary) -> Option<f64>| -> Vec<Option<f64>> {
        summaries.iter().map(|x| x.as_ref().and_then(f)).collect()
    };
    let count = |f: &dyn Fn(&TrialSummary) -> Option<usize>| -> Vec<Option<u64>> {
        summaries.iter().map(|x| x.as_ref().and_then(f).map(|n| n as u64)).collect()
    };
    let mut cols = vec![
        Column::new("id".into(), t.iter().map(|t| t.id.clone()).collect::<Vec<_>>()),
        Column::new("index".into(), t.iter().map(|t| t.index as u64).collect::<Vec<_>>()),
        Column::new("label".into(), t.iter().map(|t| t.label.clone()).collect::<Vec<_>>()),
        Column::new("family".into(), t.iter().map(|t| t.config.model.spec.name().to_string()).collect::<Vec<_>>()),
    ];
    for k in &plan.swept_keys {
        cols.push(swept_column(k, t.iter().map(|t| t.swept.get(k)).collect()));
    }
    cols.push(Column::new("seed".into(), t.iter().map(|t| t.config.seed).collect::<Vec<_>>()));
    cols.push(Column::new(
        "status".into(),
        summaries.iter().map(|x| x.as_ref().map_or("pending", |s| s.status.name()).to_string()).collect::<Vec<_>>(),
    ));
    cols.push(Column::new("steps".into(), count(&|x| Some(x.steps))));
    cols.push(Column::new("diverged_at".into(), count(&|x| x.diverged_at)));
    let recorded = |m: &String| summaries.iter().flatten().any(|x| x.final_metrics.contains_key(m));
    let valid = plan.report.validation_metric().filter(recorded);
    for m in valid.into_iter().chain(plan.report.metrics()) {
        cols.push(Column::new(m.as_str().into(), s(&|x| x.final_metrics.get(&m).copied())));
    }
    cols.push(Column::new("num_params".into(), count(&|x| Some(x.num_params))));
    cols.push(Column::new("wall_time_s".into(), s(&|x| Some(x.wall_time_s))));
    cols.push(Column::new("steps_per_second".into(), s(&|x| Some(x.steps_per_second))));
    cols.push(Column::new("backend".into(), t.iter().map(|t| t.config.backend().to_string()).collect::<Vec<_>>()));
    frame(cols)
}

fn group_frame(plan: &Plan, groups: &[Group]) -> Result<DataFrame> {
    let mut cols = vec![Column::new("label".into(), groups.iter().map(|g| g.label.clone()).collect::<Vec<_>>())];
    for (i, k) in plan.swept_keys.iter().enumerate() {
        cols.push(Column::new(k.as_str().into(), groups.iter().map(|g| g.swept[i].clone()).collect::<Vec<_>>()));
    }
    cols.push(Column::new("planned".into(), groups.iter().map(|g| g.planned as u64).collect::<Vec<_>>()));
    cols.push(Column::new("diverged".into(), groups.iter().map(|g| g.diverged as u64).collect::<Vec<_>>()));
    if groups.iter().any(|g| g.pruned > 0) {
        cols.push(Column::new("pruned".into(), groups.iter().map(|g| g.pruned as u64).collect::<Vec<_>>()));
    }
    cols.push(Column::new("missing".into(), groups.iter().map(|g| g.missing as u64).collect::<Vec<_>>()));
    if let Some(v) = plan.report.validation_metric().filter(|_| ranks_on_valid(groups)) {
        let get = |f: fn(&Stats) -> f64| groups.iter().map(|g| g.valid.as_ref().map(f)).collect::<Vec<Option<f64>>>();
        cols.push(Column::new(format!("{v}.mean").into(), get(|s| s.mean)));
        cols.push(Column::new(format!("{v}.std").into(), get(|s| s.std)));
    }
    for (j, m) in plan.report.metrics().iter().enumerate() {
        let get =
            |f: fn(&Stats) -> f64| groups.iter().map(|g| g.metrics[j].as_ref().map(f)).collect::<Vec<Option<f64>>>();
        let n: Vec<Option<u64>> = groups.iter().map(|g| g.metrics[j].map(|s| s.n as u64)).collect();
        cols.push(Column::new(format!("{m}.n").into(), n));
        cols.push(Column::new(format!("{m}.mean").into(), get(|s| s.mean)));
        cols.push(Column::new(format!("{m}.std").into(), get(|s| s.std)));
        cols.push(Column::new(format!("{m}.ci95_low").into(), get(|s| s.ci95.0)));
        cols.push(Column::new(format!("{m}.ci95_high").into(), get(|s| s.ci95.1)));
        cols.push(Column::new(format!("{m}.min").into(), get(|s| s.min)));
        cols.push(Column::new(format!("{m}.max").into(), get(|s| s.max)));
    }
    cols.push(Column::new("published".into(), groups.iter().map(|g| g.published.map(|p| p.0)).collect::<Vec<_>>()));
    cols.push(Column::new("tolerance".into(), groups.iter().map(|g| g.published.map(|p| p.1)).collect::<Vec<_>>()));
    cols.push(Column::new(
        "difference".into(),
        groups.iter().map(|g| g.published.zip(g.metrics[0]).map(|(p, s)| s.mean - p.0)).collect::<Vec<_>>(),
    ));
    cols.push(Column::new("verdict".into(), groups.iter().map(|g| g.verdict.text().to_string()).collect::<Vec<_>>()));
    let boot = |f: fn((f64, f64)) -> f64| groups.iter().map(|g| g.boot_ci.map(f)).collect::<Vec<Option<f64>>>();
    cols.push(Column::new(format!("{}.boot95_low", plan.report.metric).into(), boot(|c| c.0)));
    cols.push(Column::new(format!("{}.boot95_high", plan.report.metric).into(), boot(|c| c.1)));
    if groups.iter().any(|g| g.published_spread.is_some()) {
        cols.push(Column::new("reference_p".into(), groups.iter().map(|g| g.reference_p).collect::<Vec<_>>()));
    }
    cols.push(Column::new("p_vs_best".into(), groups.iter().map(|g| g.p_vs_best).collect::<Vec<_>>()));
    cols.push(Column::new("p_vs_best_holm".into(), groups.iter().map(|g| g.p_holm).collect::<Vec<_>>()));
    cols.push(Column::new("p_paired_t".into(), groups.iter().map(|g| g.p_paired).collect::<Vec<_>>()));
    cols.push(Column::new("p_wilcoxon".into(), groups.iter().map(|g| g.p_wilcoxon).collect::<Vec<_>>()));
    cols.push(Column::new("hedges_g_vs_best".into(), groups.iter().map(|g| g.effect).collect::<Vec<_>>()));
    cols.push(Column::new("best".into(), groups.iter().map(|g| g.best).collect::<Vec<_>>()));
    frame(cols)
}

fn write_csv(path: &Path, df: &mut DataFrame) -> Result<PathBuf> {
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf).finish(df).map_err(polars_err)?;
    write_atomic(path, &buf)?;
    Ok(path.to_path_buf())
}

fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<PathBuf> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(df).map_err(polars_err)?;
    write_atomic(path, &buf)?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(label: &str, dataset: &str, values: &[f64]) -> Group {
        Group {
            label: label.into(),
            swept: vec![dataset.into()],
            planned: values.len(),
            diverged: 0,
            pruned: 0,
            missing: 0,
            metrics: vec![Stats::of(values), None, None],
            primary: values.to_vec(),
            seeds: (0..values.len() as u64).collect(),
            boot_ci: None,
            valid: None,
            published: None,
            published_spread: None,
            reference_p: None,
            verdict: Verdict::NoReference,
            p_vs_best: None,
            p_holm: None,
            p_paired: None,
            p_wilcoxon: None,
            effect: None,
            best: false,
        }
    }

    #[test]
    fn a_dataset_sweep_is_ranked_per_dataset() {
        let plan = Plan {
            experiment: "x".into(),
            swept_keys: vec!["dataset".into()],
            report: Default::default(),
            reference: None,
            trials: Vec::new(),
        };
        let mut groups = vec![
            group("a", "easy", &[0.9, 0.92]),
            group("b", "easy", &[0.8, 0.81]),
            group("a", "hard", &[0.3, 0.31]),
            group("b", "hard", &[0.5, 0.52]),
        ];
        rank(&plan, &mut groups);
        let best: Vec<bool> = groups.iter().map(|g| g.best).collect();
        assert_eq!(best, vec![true, false, false, true]);
        assert!(groups[0].p_vs_best.is_none() && groups[3].p_vs_best.is_none());
        assert_eq!(groups[1].p_vs_best, welch_p(&[0.9, 0.92], &[0.8, 0.81]));
        assert_eq!(groups[2].p_vs_best, welch_p(&[0.5, 0.52], &[0.3, 0.31]));
        let md = markdown(&plan, &groups);
        assert!(md.contains("the **best** row of the same dataset"), "{md}");
        assert_eq!(md.matches("| **a** |").count() + md.matches("| **b** |").count(), 2, "{md}");
    }

    fn plan() -> Plan {
        Plan {
            experiment: "x".into(),
            swept_keys: Vec::new(),
            report: Default::default(),
            reference: None,
            trials: Vec::new(),
        }
    }

    #[test]
    fn rows_are_ranked_on_validation_and_compared_on_test() {
        // `a` is better on the test split, `b` on validation: `b` is the best row, and the
        // p-value compares the test values.
        let plan = plan();
        let mut a = group("a", "", &[0.9, 0.92]);
        let mut b = group("b", "", &[0.8, 0.81]);
        (a.swept, b.swept) = (Vec::new(), Vec::new());
        (a.valid, b.valid) = (Stats::of(&[0.70, 0.72]), Stats::of(&[0.75, 0.77]));
        let mut groups = vec![a, b];
        rank(&plan, &mut groups);
        assert_eq!((groups[0].best, groups[1].best), (false, true));
        assert_eq!(groups[0].p_vs_best, welch_p(&[0.8, 0.81], &[0.9, 0.92]));
        let md = markdown(&plan, &groups);
        assert!(md.contains("The **best** row is chosen on `valid.accuracy` (validation split)"), "{md}");
        assert!(md.contains("| variant | n | valid.accuracy | test.accuracy | 95% CI |"), "{md}");
        assert!(md.contains("| **b** | **2** | **0.7600 ± 0.0141** | **0.8050 ± 0.0071** |"), "{md}");
        assert!(!md.contains("Selection is on the test split"), "{md}");
        let tex = latex::table(&plan, &groups);
        assert!(tex.contains("$n$ & valid.accuracy & test.accuracy"), "{tex}");
        let csv = group_frame(&plan, &groups).unwrap();
        let mean = csv.column("valid.accuracy.mean").unwrap().f64().unwrap().get(1).unwrap();
        assert!((mean - 0.76).abs() < 1e-12, "{mean}");
    }

    #[test]
    fn without_validation_the_header_says_selection_is_on_test() {
        let plan = plan();
        let mut groups = vec![group("a", "", &[0.9, 0.92]), group("b", "", &[0.8, 0.81])];
        // One group without validation values: the rows cannot be compared on it.
        groups[1].valid = Stats::of(&[0.99, 0.98]);
        for g in &mut groups {
            g.swept.clear();
        }
        rank(&plan, &mut groups);
        assert_eq!((groups[0].best, groups[1].best), (true, false));
        let md = markdown(&plan, &groups);
        assert!(md.contains("Selection is on the test split: the trials have no validation split (validation = 0)."));
        assert!(md.contains("| variant | n | test.accuracy | 95% CI |"), "{md}");
        assert!(group_frame(&plan, &groups).unwrap().column("valid.accuracy.mean").is_err());
        // A primary metric without a validation counterpart gets no note.
        let mut on_train = plan.clone();
        on_train.report.metric = "train.loss".into();
        assert!(!markdown(&on_train, &groups).contains("Selection is on"));
    }
}
