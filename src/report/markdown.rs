//! `table.md`: the comparison table as GitHub-flavoured Markdown (also shown in TensorBoard's
//! Text tab). Every cell is escaped, so labels and swept values such as `mlp|wide` keep the
//! table's shape and show as written.

use super::{Group, Stats, is_dataset_key, ranks_on_valid};
use crate::spec::Direction;
use crate::spec::value::number_text;
use crate::sweep::Plan;

/// Escapes one table cell: `|` and `\` (which would split or join cells), and the characters
/// that start inline formatting (`*`, `` ` ``, `~`, `<`, an `_` not inside a word, `&` before a
/// letter, `](`), each with a backslash; line breaks become spaces.
pub fn escape(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        let before = i.checked_sub(1).map(|j| chars[j]);
        let after = chars.get(i + 1).copied();
        let word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
        let escaped = match c {
            '\\' | '|' | '*' | '`' | '~' | '<' => true,
            '_' => !(word(before) && word(after)),
            '&' => after.is_some_and(|a| a.is_ascii_alphanumeric() || a == '#'),
            ']' => after == Some('('),
            _ => false,
        };
        match c {
            '\n' | '\r' => out.push(' '),
            _ if escaped => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Which optional columns the table shows: the published spread's test, the paired tests.
#[derive(Debug, Clone, Copy)]
pub(super) struct Optional {
    spread: bool,
    paired: bool,
}

impl Optional {
    pub(super) fn of(groups: &[Group]) -> Optional {
        Optional {
            spread: groups.iter().any(|g| g.published_spread.is_some()),
            paired: groups.iter().any(|g| g.p_paired.is_some() || g.p_wilcoxon.is_some()),
        }
    }
}

/// The header cells (unescaped); `valid` names the validation metric the rows are ranked on.
pub(super) fn header(plan: &Plan, metrics: &[String], valid: Option<&String>, opt: Optional) -> Vec<String> {
    let mut header = vec!["variant".to_string()];
    header.extend(plan.swept_keys.iter().cloned());
    header.push("n".into());
    header.extend(valid.cloned());
    header.extend([metrics[0].clone(), "95% CI".into(), "bootstrap 95% CI".into()]);
    if plan.reference.is_some() {
        header.extend(["published".into(), "difference".into(), "verdict".into()]);
        if opt.spread {
            header.push("p vs published".into());
        }
    }
    header.extend(["p vs best".into(), "p (Holm)".into()]);
    if opt.paired {
        header.extend(["paired t p".into(), "Wilcoxon p".into()]);
    }
    header.push("g vs best".into());
    header.extend(metrics[1..].iter().cloned());
    header.push("notes".into());
    header
}

/// The text above the table: the title, what the numbers are, on which split the best row is
/// chosen, and the reference's source.
pub(super) fn preamble(plan: &Plan, valid: Option<&String>, comparisons: usize) -> String {
    let mut out = format!("# {}\n\n", plan.experiment);
    out.push_str(&format!(
        "`{}` ({}): mean ± sample std over seeds of the final evaluation; 95% CI: Student t; \
         bootstrap 95% CI: percentile bootstrap of the mean ({} resamples, seeded); \
         p vs best: Welch's two-sided t-test against the **best** row{}; p (Holm): the same, \
         Holm–Bonferroni-adjusted over the table's {} comparisons; paired t p and Wilcoxon p \
         (signed-rank): paired by seed, where both rows ran the same seeds; \
         g vs best: Hedges' g (difference of means over the pooled std, small-sample corrected).\n",
        plan.report.metric,
        match plan.report.direction() {
            Direction::Max => "higher is better",
            Direction::Min => "lower is better",
        },
        super::stats::bootstrap::RESAMPLES,
        if plan.swept_keys.iter().any(|k| is_dataset_key(k)) { " of the same dataset" } else { "" },
        comparisons
    ));
    out.push_str(&selection_note(plan, valid));
    if let Some(r) = &plan.reference {
        out.push_str(&format!(
            "Published values: {}{}. Reproduced = the published value lies in the 95% CI widened by the tolerance{}.\n",
            r.source,
            r.url.as_ref().map(|u| format!(" <{u}>")).unwrap_or_default(),
            if r.rows.iter().any(|row| row.std.is_some()) {
                "; for rows published as mean ± std over n runs: Welch's two-sided t-test of the two means \
                 (from the summaries) does not reject equality at α = 0.05 (p vs published)"
            } else {
                ""
            }
        ));
    }
    out.push('\n');
    out
}

/// How the best row (and, with `select = "best"`, each trial's evaluation) was chosen: on the
/// validation metric `valid`, or on the test split when the trials have no validation split.
fn selection_note(plan: &Plan, valid: Option<&String>) -> String {
    let trials = if plan.report.select == crate::spec::Select::Best {
        "; each trial reports its evaluation with the best validation value (`select = \"best\"`)"
    } else {
        ""
    };
    match valid {
        Some(v) => format!(
            "The **best** row is chosen on `{v}` (validation split){trials}; `{}` is measured once per trial on the test split.\n",
            plan.report.metric
        ),
        None if plan.report.validation_metric().is_some() => {
            format!("Selection is on the test split: the trials have no validation split (validation = 0){trials}.\n")
        }
        None => String::new(),
    }
}

fn mean_std(s: &Option<Stats>) -> String {
    s.map_or("–".into(), |s| format!("{:.4} ± {:.4}", s.mean, s.std))
}

fn p_text(p: Option<f64>) -> String {
    p.map_or("–".into(), |p| format!("{p:.3}"))
}

/// One group's cells (unescaped); with `valid`, its validation mean ± std after `n`.
pub(super) fn row(plan: &Plan, g: &Group, valid: bool, opt: Optional) -> Vec<String> {
    let mut row = vec![g.label.clone()];
    row.extend(g.swept.iter().cloned());
    let primary = g.metrics[0];
    row.push(primary.map_or(0, |s| s.n).to_string());
    if valid {
        row.push(mean_std(&g.valid));
    }
    row.push(mean_std(&primary));
    row.push(primary.filter(|s| s.n > 1).map_or("–".into(), |s| format!("[{:.4}, {:.4}]", s.ci95.0, s.ci95.1)));
    row.push(g.boot_ci.map_or("–".into(), |c| format!("[{:.4}, {:.4}]", c.0, c.1)));
    if plan.reference.is_some() {
        match g.published {
            Some((p, tol)) => {
                let p_text = number_text(p);
                row.push(if tol > 0.0 { format!("{p_text} ± {}", number_text(tol)) } else { p_text });
                row.push(primary.map_or("–".into(), |s| format!("{:+.4}", s.mean - p)));
            }
            None => row.extend(["–".to_string(), "–".to_string()]),
        }
        row.push(g.verdict.text().into());
        if opt.spread {
            row.push(p_text(g.reference_p));
        }
    }
    row.extend([p_text(g.p_vs_best), p_text(g.p_holm)]);
    if opt.paired {
        row.extend([p_text(g.p_paired), p_text(g.p_wilcoxon)]);
    }
    row.push(g.effect.map_or("–".into(), |e| format!("{e:+.2}")));
    row.extend(g.metrics[1..].iter().map(mean_std));
    let mut notes = Vec::new();
    if g.diverged > 0 {
        notes.push(format!("{} diverged", g.diverged));
    }
    if g.pruned > 0 {
        notes.push(format!("{} pruned", g.pruned));
    }
    if g.missing > 0 {
        notes.push(format!("{} missing", g.missing));
    }
    row.push(notes.join(", "));
    row
}

/// The comparison table as Markdown: mean ± std over seeds (of the validation metric the rows
/// are ranked on, when the trials recorded it, and of the reported metrics), 95% CI, the
/// published value and verdict where the file declares one, Welch's p-value against the best
/// row (in bold).
pub fn markdown(plan: &Plan, groups: &[Group]) -> String {
    let valid = plan.report.validation_metric().filter(|_| ranks_on_valid(groups));
    let opt = Optional::of(groups);
    let header = header(plan, &plan.report.metrics(), valid.as_ref(), opt);
    let mut out = preamble(plan, valid.as_ref(), groups.iter().filter(|g| g.p_vs_best.is_some()).count());
    let line = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    out.push_str(&line(header.iter().map(|c| escape(c)).collect()));
    out.push_str(&format!("|{}|\n", vec!["---"; header.len()].join("|")));
    for g in groups {
        let cells = row(plan, g, valid.is_some(), opt).into_iter().map(|c| escape(&c));
        let cells = cells.map(|c| if g.best && !c.is_empty() { format!("**{c}**") } else { c });
        out.push_str(&line(cells.collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn cells_keep_the_table_shape_and_show_as_written() {
        assert_eq!(escape("mlp|wide"), "mlp\\|wide");
        assert_eq!(escape("a\\|b"), "a\\\\\\|b");
        assert_eq!(escape("weight_decay"), "weight_decay");
        assert_eq!(escape("_x_ *y* `z` ~w~"), "\\_x\\_ \\*y\\* \\`z\\` \\~w\\~");
        assert_eq!(escape("a & b &amp; [l](u) <b>"), "a & b \\&amp; [l\\](u) \\<b>");
        assert_eq!(escape("two\nlines\r\n"), "two lines  ");
        assert_eq!(escape("[8, 16]"), "[8, 16]");
    }
}
