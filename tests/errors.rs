//! Malformed experiment files: exit code 2, the right line, column and key, nothing on disk.

mod common;

use common::*;

const GOOD: &str = r#"name = "e"
seeds = [0]

[dataset]
name = "mnist1d"

[training]
lr = 0.01
steps = 10

[[models]]
family = "mlp"
hidden = 8
"#;

/// (case name, file text, expected location prefix, expected message fragments)
fn cases() -> Vec<(&'static str, String, &'static str, Vec<&'static str>)> {
    vec![
        ("syntax", GOOD.replace("lr = 0.01", "lr = = 0.01"), "e.toml:8:", vec!["invalid TOML"]),
        (
            "unknown top key",
            GOOD.replace("seeds = [0]", "seeds = [0]\nbakend = \"flex\""),
            "e.toml:3:1",
            vec!["unknown key `bakend`", "did you mean `backend`?"],
        ),
        (
            "unknown training key",
            GOOD.replace("steps = 10", "stepz = 10"),
            "e.toml:9:1",
            vec!["`training.stepz`", "did you mean `steps`?"],
        ),
        (
            "wrong type",
            GOOD.replace("lr = 0.01", "lr = \"fast\""),
            "e.toml:8:6",
            vec!["training.lr", "invalid type: string \"fast\", expected f64"],
        ),
        (
            "out of range",
            GOOD.replace("lr = 0.01", "lr = -0.5"),
            "e.toml:8:6",
            vec!["`training.lr` must be a positive number, got -0.5"],
        ),
        (
            "unknown family",
            GOOD.replace("family = \"mlp\"", "family = \"mpl\""),
            "e.toml:",
            vec!["unknown value `mpl`", "did you mean `mlp`?"],
        ),
        (
            "unknown model param",
            GOOD.replace("hidden = 8", "hiden = 8"),
            "e.toml:13:1",
            vec!["`models[0].hiden`", "did you mean `hidden`?"],
        ),
        (
            "unknown dataset",
            GOOD.replace("name = \"mnist1d\"", "name = \"mnist\""),
            "e.toml:",
            vec!["unknown value `mnist`", "did you mean `mnist1d`?"],
        ),
        (
            "unknown backend",
            GOOD.replace("seeds = [0]", "seeds = [0]\nbackend = \"ndarry\""),
            "e.toml:3:11",
            vec!["unknown value `ndarry`", "did you mean `ndarray`?"],
        ),
        ("empty sweep", format!("{GOOD}\n[sweep]\nkind = \"grid\"\n"), "e.toml:15:", vec!["the sweep is empty"]),
        (
            "empty grid list",
            format!("{GOOD}\n[sweep.params]\n\"training.lr\" = []\n"),
            "e.toml:16:17",
            vec!["needs a non-empty list"],
        ),
        (
            "bad sweep key",
            format!("{GOOD}\n[sweep.params]\n\"models.hidden\" = [1, 2]\n"),
            "e.toml:16:1",
            vec!["sweep key `models.hidden`", "did you mean `model.hidden`?"],
        ),
        (
            "bad sweep value",
            format!("{GOOD}\n[sweep.params]\n\"training.lr\" = [0.1, -1.0]\n"),
            "e.toml:16:",
            vec!["sweep value training.lr = -1.0", "must be a positive number"],
        ),
        (
            "sweep on missing param",
            format!("{GOOD}\n[sweep.params]\n\"model.hiddn\" = [4, 8]\n"),
            "e.toml:16:1",
            vec!["no [[models]] variant has a parameter `hiddn`", "did you mean `model.hidden`?"],
        ),
        ("no models", GOOD.split("[[models]]").next().unwrap().to_string(), "e.toml", vec!["no model variants"]),
        ("empty seeds", GOOD.replace("seeds = [0]", "seeds = []"), "e.toml:2:9", vec!["`seeds` is empty"]),
        (
            "duplicate labels",
            format!("{GOOD}\n[[models]]\nfamily = \"mlp\"\n"),
            "e.toml:",
            vec!["both labelled `mlp`", "distinct `label`"],
        ),
        (
            "bad report metric",
            format!("{GOOD}\n[report]\nmetric = \"test.acc\"\n"),
            "e.toml:16:10",
            vec!["unknown metric `test.acc`", "did you mean `test.accuracy`?"],
        ),
        ("missing name", GOOD.replace("name = \"e\"\n", ""), "e.toml", vec!["missing field `name`"]),
        (
            "cpu backend on cuda",
            GOOD.replace("seeds = [0]", "seeds = [0]\ndevice = \"cuda:0\""),
            "e.toml:",
            vec!["runs on the CPU only"],
        ),
    ]
}

#[test]
fn malformed_files_exit_2_with_location_and_key_and_write_nothing() {
    assert!(cases().len() >= 10);
    for (name, text, loc, fragments) in cases() {
        let s = Scratch::new();
        s.file("e.toml", &text);
        for cmd in ["validate", "run"] {
            let out = if cmd == "run" {
                s.run(std::path::Path::new("e.toml"), &[])
            } else {
                s.burnlab(&["validate", "e.toml"])
            };
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(2), "{name} ({cmd}): {err}");
            assert!(err.starts_with(&format!("error: {loc}")), "{name}: expected location {loc}, got: {err}");
            for f in &fragments {
                assert!(err.contains(f), "{name}: expected `{f}` in: {err}");
            }
            assert!(!err.contains("panicked"), "{name}: {err}");
        }
        assert!(!s.results().exists(), "{name}: nothing is written for a bad file");
    }
}

#[test]
fn the_good_file_validates() {
    let s = Scratch::new();
    s.file("e.toml", GOOD);
    let out = s.burnlab(&["validate", "e.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 trials"));
}

#[test]
fn bad_overrides_name_the_set_at_fault() {
    let s = Scratch::new();
    s.file("e.toml", GOOD);
    let out = s.burnlab(&["validate", "e.toml", "--set", "training.steps=-3"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--set training.steps=-3"), "{}", stderr(&out));
    let out = s.burnlab(&["validate", "e.toml", "--set", "backend=tensorflow"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--set backend=tensorflow") && stderr(&out).contains("unknown value `tensorflow`"),
        "{}",
        stderr(&out)
    );
    let out = s.burnlab(&["validate", "e.toml", "--set", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    let out = s.burnlab(&["validate", "e.toml", "--set", "training.steps=3", "--set", "backend=ndarray"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_missing_file_is_a_user_error() {
    let s = Scratch::new();
    let out = s.burnlab(&["validate", "nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.toml") && stderr(&out).contains("cannot read"), "{}", stderr(&out));
}
