//! `report.html` in a real browser: a small sweep's report opened in headless Chromium
//! (Debian's `chromium`, installed by `scripts/setup-chromium` when missing) loads without a
//! console message, and its DOM after the scripts ran has the comparison table, every chart
//! drawn (as SVG), the claims, the trials with a failed and a missing one marked, and the
//! inlined data. A screenshot is saved under cargo's test temp dir
//! (`CARGO_TARGET_TMPDIR/report_html/report.png`, outside the checkout). Skipped, with the
//! reason, only where Chromium cannot be installed.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const SWEEP: &str = r#"
name = "tiny"
seeds = [0, 1, 2]

[dataset]
name = "mnist1d"

[training]
lr = 1e-2
batch_size = 50
steps = 300
eval_every = 100

[[models]]
family = "linear"

[[models]]
family = "mlp"
hidden = 64

[sweep.params]
"training.lr" = [1e-2, 3e-3]

[[claims]]
claim = "mlp > linear"

[[claims]]
claim = "linear > mlp"
"#;

/// The browser's path, or why there is none.
fn chromium() -> Result<PathBuf, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/setup-chromium");
    let out = Command::new("bash").arg(script).output().map_err(|e| e.to_string())?;
    let path = String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or("").to_string();
    if out.status.success() && !path.is_empty() {
        Ok(PathBuf::from(path))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Runs headless Chromium on `page` with `args`; returns (stdout, stderr).
fn browse(chromium: &Path, profile: &Path, page: &Path, args: &[&str]) -> (String, String) {
    let out = Command::new(chromium)
        .args(["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr"])
        .args(["--v=0", "--virtual-time-budget=10000"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The opening tags of the elements whose opening tag starts with `start`.
fn tags<'a>(dom: &'a str, start: &str) -> Vec<&'a str> {
    dom.match_indices(start).map(|(i, _)| &dom[i..i + dom[i..].find('>').unwrap()]).collect()
}

/// Marks one trial failed and removes another's summary (never run), then rebuilds the report.
fn mark_failed_and_missing(s: &Scratch, dir: &Path) {
    let trials = trial_dirs(&s.results(), "tiny");
    let path = trials[0].join("summary.json");
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    v["status"] = "failed".into();
    v["error"] = "a <made-up> failure".into();
    std::fs::write(&path, v.to_string()).unwrap();
    std::fs::remove_file(trials[1].join("summary.json")).unwrap();
    let out = s.burnlab(&["report", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn the_report_page_loads_in_chromium_with_every_part_drawn() {
    let s = Scratch::new();
    let out = s.run(&s.file("tiny.toml", SWEEP), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = s.results().join("tiny");
    let md = std::fs::read_to_string(dir.join("table.md")).unwrap();
    assert!(md.contains("- **held** (α = 0.05): `mlp > linear`"), "{md}");
    assert!(md.contains("- **not held** (α = 0.05): `linear > mlp`"), "{md}");
    assert!(md.contains("| p vs best | p (Holm) | paired t p | Wilcoxon p | g vs best |"), "{md}");
    mark_failed_and_missing(&s, &dir);
    let page = dir.join("report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing loaded from elsewhere (scripts, styles, images are inline).
    for external in ["src=\"http", "href=\"http", "<link", "src=\"//", "<script src"] {
        assert!(!html.contains(external), "report.html loads `{external}`");
    }
    for f in ["curves-train.loss.svg", "curves-valid.accuracy.svg", "parallel.svg", "pareto-num_params.svg"] {
        assert!(std::fs::read_to_string(dir.join("figures").join(f)).unwrap().starts_with("<svg"), "{f}");
    }

    let chromium = match chromium() {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED: headless Chromium is not available: {why}");
            return;
        }
    };
    let profile = s.path().join("chromium-profile");
    let (dom, log) = browse(&chromium, &profile, &page, &["--dump-dom"]);
    let console: Vec<&str> = log.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages:\n{}", console.join("\n"));

    // The table: one row per variant and learning rate, the best one marked.
    let table = &dom[dom.find("<table id=\"comparison\"").expect("comparison table")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert_eq!(table.matches("<tr").count(), 1 + 4, "{table}");
    assert_eq!(table.matches("<tr class=\"best\">").count(), 1);
    // Every chart container was drawn by the library, as SVG.
    let charts = tags(&dom, "<div class=\"chart\"");
    assert!(charts.len() >= 5, "curves, parallel coordinates, importance, two Pareto charts: {charts:?}");
    for c in &charts {
        assert!(c.contains("data-rendered=\"true\""), "not drawn: {c}");
    }
    assert!(dom.contains(&format!("data-charts=\"{}\"", charts.len())), "every chart counted");
    assert!(dom.matches("<svg").count() >= charts.len(), "each chart holds an SVG");
    // The claims, the trials and their states, the inlined data.
    assert!(
        dom.contains("<span class=\"held\">held</span>") && dom.contains("<span class=\"not-held\">not held</span>")
    );
    assert_eq!(tags(&dom, "<tr class=\"status-").len(), 12, "one row per trial");
    assert_eq!(tags(&dom, "<tr class=\"status-failed\"").len(), 1);
    assert_eq!(tags(&dom, "<tr class=\"status-pending\"").len(), 1);
    assert!(dom.contains("a &lt;made-up&gt; failure"), "the error, escaped");
    assert!(dom.contains("id=\"burnlab-data\"") && dom.contains("\"experiment\":\"tiny\""));

    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report_html");
    std::fs::create_dir_all(&shots).unwrap();
    let png = shots.join("report.png");
    let _ = std::fs::remove_file(&png);
    browse(&chromium, &profile, &page, &["--window-size=1280,2400", &format!("--screenshot={}", png.display())]);
    assert!(std::fs::metadata(&png).is_ok_and(|m| m.len() > 10_000), "screenshot at {}", png.display());
    eprintln!("screenshot: {}", png.display());
}
