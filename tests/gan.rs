//! End-to-end: a tiny `gan` experiment on the real binary writes samples, plots and metrics.

mod common;

use common::*;

const TINY_GAN: &str = r#"
name = "tiny-gan"
seeds = [0]

[dataset]
name = "ring"
n_train = 2000

[training]
batch_size = 32
steps = 40
eval_every = 20
log_every = 10

[[models]]
label = "gan"
family = "gan"
g_width = 32
g_depth = 2
d_width = 32
d_depth = 2
maxout_pieces = 2

[[models]]
label = "pacgan2"
family = "gan"
g_width = 32
g_depth = 2
d_width = 32
d_depth = 2
maxout_pieces = 2
pack = 2
loss = "hinge"

[report]
metric = "test.modes"
columns = ["test.high_quality", "test.kl"]
"#;

#[test]
fn a_tiny_gan_run_writes_samples_plots_and_mode_metrics() {
    let s = Scratch::new();
    let file = s.file("tiny-gan.toml", TINY_GAN);
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dirs = trial_dirs(&s.results(), "tiny-gan");
    assert_eq!(dirs.len(), 2);
    for d in &dirs {
        let sum = summary(d);
        assert_eq!(sum["status"], "completed", "{sum}");
        assert_eq!(sum["steps"], 40);
        let m = &sum["final_metrics"];
        let modes = m["test.modes"].as_f64().unwrap();
        assert!((0.0..=8.0).contains(&modes) && modes.fract() == 0.0, "{m}");
        let hq = m["test.high_quality"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&hq), "{m}");
        let kl = m["test.kl"].as_f64().unwrap();
        assert!((0.0..=8f64.ln() + 1e-9).contains(&kl), "{m}");
        assert!(m["train.d_loss"].as_f64().unwrap().is_finite());

        let csv = std::fs::read_to_string(d.join("samples.csv")).unwrap();
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some("x,y"));
        let rows: Vec<Vec<f64>> = lines.map(|l| l.split(',').map(|v| v.parse().unwrap()).collect()).collect();
        assert_eq!(rows.len(), 2500);
        assert!(rows.iter().all(|r| r.len() == 2 && r.iter().all(|v| v.is_finite())));

        for png in ["samples.png", "samples-step0000020.png", "samples-step0000040.png"] {
            let img = image::open(d.join(png)).unwrap_or_else(|e| panic!("{png}: {e}")).to_rgb8();
            assert_eq!(img.dimensions(), (320, 320));
        }
        let events = std::fs::read_dir(run_dir_of(d))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("events.out.tfevents."))
            .unwrap();
        let bytes = std::fs::read(events).unwrap();
        assert!(bytes.windows(8).any(|w| w == b"\x89PNG\r\n\x1a\n"), "no PNG image summary in the event file");
        let metrics = std::fs::read_to_string(d.join("metrics.csv")).unwrap();
        assert_eq!(metrics.lines().filter(|l| l.contains(",test,modes,")).count(), 2);
    }
    let table = std::fs::read_to_string(s.results().join("tiny-gan/table.md")).unwrap();
    assert!(table.contains("test.modes") && table.contains("pacgan2"), "{table}");
}

/// A tiny sequence or image GAN experiment: `{DATASET}` and `{MODEL}` are filled in.
const FD_RUN: &str = r#"
name = "fd"
seeds = [0]

[dataset]
name = "{DATASET}"

[training]
batch_size = 16
steps = 6
eval_every = 3
log_every = 3

[[models]]
family = "gan"
z_dim = 4
g_width = 8
d_width = 8
eval_samples = 50
{MODEL}

[report]
metric = "test.fd"
direction = "min"
"#;

#[test]
fn sequence_and_image_gans_report_the_frechet_distance() {
    for (dataset, model, values) in
        [("mnist1d", "arch = \"lstm\"\npack = 2", 40), ("digits", "arch = \"conv\"\nself_attention = true", 64)]
    {
        let s = Scratch::new();
        let file = s.file("fd.toml", &FD_RUN.replace("{DATASET}", dataset).replace("{MODEL}", model));
        let out = s.run(&file, &[]);
        assert!(out.status.success(), "{dataset}: {}", stderr(&out));
        let dirs = trial_dirs(&s.results(), "fd");
        assert_eq!(dirs.len(), 1);
        let d = &dirs[0];
        let sum = summary(d);
        assert_eq!(sum["status"], "completed", "{sum}");
        let fd = sum["final_metrics"]["test.fd"].as_f64().unwrap();
        assert!(fd.is_finite() && fd > 0.0, "{dataset}: {fd}");
        assert!(sum["final_metrics"].get("test.modes").is_none());
        let csv = std::fs::read_to_string(d.join("samples.csv")).unwrap();
        assert_eq!(csv.lines().next().unwrap().split(',').count(), values);
        assert_eq!(csv.lines().count(), 51);
        if dataset == "digits" {
            // An 8-wide grid of 50 images of 8x8 pixels with a 1-pixel border: 7 rows.
            let img = image::open(d.join("samples.png")).unwrap().to_luma8();
            assert_eq!(img.dimensions(), (8 * 9 + 1, 7 * 9 + 1));
        }
        let table = std::fs::read_to_string(s.results().join("fd/table.md")).unwrap();
        assert!(table.contains("test.fd"), "{table}");
    }
}

#[test]
fn bad_gan_parameters_point_at_the_file() {
    let s = Scratch::new();
    let file = s.file("bad.toml", &TINY_GAN.replace("pack = 2", "pack = 0"));
    let out = s.run(&file, &[]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("bad.toml:") && err.contains("pack") && err.contains("at least 1"), "{err}");
}
