//! Malformed experiment files: exit code 2, the right line, column and key, nothing on disk.

mod common;

use common::*;

/// The small valid file the cases below break, one mistake each.
const GOOD: &str = SMALL_EXPERIMENT;

/// (case name, file text, expected location prefix, expected message fragments)
fn cases() -> Vec<(&'static str, String, &'static str, Vec<&'static str>)> {
    // A `[training]` recipe key on line 10, after `steps = 10`.
    let recipe = |name, line: &str, fragments| {
        (name, GOOD.replace("steps = 10", &format!("steps = 10\n{line}")), "e.toml:10:", fragments)
    };
    let gan = GOOD
        .replace("steps = 10", "steps = 10\naccumulate = 2")
        .replace("family = \"mlp\"\nhidden = 8", "family = \"gan\"");
    vec![
        recipe(
            "schedule key of another kind",
            "lr_schedule = { kind = \"cosine\", gamma = 0.5 }",
            vec!["`training.lr_schedule.gamma` applies to kind = \"exponential\" or \"step\" only"],
        ),
        recipe(
            "warm-up as long as the run",
            "lr_schedule = { kind = \"linear\", warmup_steps = 10 }",
            vec!["`training.lr_schedule.warmup_steps` must be less than training.steps = 10, got 10"],
        ),
        recipe(
            "two clipping bounds",
            "clip_grad = { norm = 1.0, value = 0.5 }",
            vec!["`training.clip_grad` has both `norm` and `value`: give one"],
        ),
        recipe(
            "unknown early-stopping metric",
            "early_stopping = { metric = \"test.los\", patience = 3 }",
            vec![
                "`training.early_stopping.metric` is `test.los`, which family `mlp` does not record",
                "did you mean `test.loss`?",
            ],
        ),
        recipe(
            "early stopping on the test split beside a validation split",
            "early_stopping = { metric = \"test.loss\", patience = 3 }",
            vec!["`training.early_stopping.metric` watches the test split, which is evaluated once"],
        ),
        (
            "accumulation with the gan",
            gan,
            "e.toml:10:",
            vec!["`training.accumulate` is 2, but the `gan` family does not accumulate gradients"],
        ),
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
        (
            "bad report select",
            format!("{GOOD}\n[report]\nselect = \"bset\"\n"),
            "e.toml:16:10",
            vec!["`report.select`: unknown value `bset`, expected one of: final, best", "did you mean `best`?"],
        ),
        ("missing name", GOOD.replace("name = \"e\"\n", ""), "e.toml", vec!["missing field `name`"]),
        (
            "unknown key in a variant's own training",
            GOOD.replace("hidden = 8", "hidden = 8\ntraining = { lr = 0.1, stepz = 5 }"),
            "e.toml:14:24",
            vec!["`models[0].training.stepz`", "did you mean `steps`?"],
        ),
        (
            "bad value in a variant's own training",
            GOOD.replace("hidden = 8", "hidden = 8\ntraining = { lr = -1.0 }"),
            "e.toml:14:",
            vec!["`models[0].training.lr` must be a positive number, got -1"],
        ),
        (
            "unknown option in a variant's own dataset",
            GOOD.replace("hidden = 8", "hidden = 8\ndataset = { shufle_seq = true }"),
            "e.toml:14:",
            vec!["`models[0].dataset.shufle_seq`", "did you mean `shuffle_seq`?"],
        ),
        (
            "a variant's own training that is not a table",
            GOOD.replace("hidden = 8", "hidden = 8\ntraining = 3"),
            "e.toml:14:",
            vec!["`models[0].training`: expected a table of [training] keys"],
        ),
        (
            "a variant's own steps under a hyperband pruner",
            format!(
                "{}\n[sweep]\npruner = {{ kind = \"hyperband\", min_steps = 2, reduction_factor = 2 }}\n\
                 [sweep.params]\n\"training.lr\" = [0.01, 0.02]\n",
                GOOD.replace("hidden = 8", "hidden = 8\ntraining = { steps = 20 }")
            ),
            "e.toml:14:",
            vec!["`models[0].training.steps` = 20 differs from `training.steps` = 10", "hyperband"],
        ),
        (
            "a variant without a validation split under a pruner watching one",
            format!(
                "{}\n[sweep]\npruner = {{ kind = \"asha\", min_steps = 2, reduction_factor = 2 }}\n\
                 [sweep.params]\n\"training.lr\" = [0.01, 0.02]\n",
                GOOD.replace("hidden = 8", "hidden = 8\ndataset = { validation = 0 }")
            ),
            "e.toml:14:",
            vec!["`models[0].dataset` has no validation split, but the pruner watches `valid.accuracy`"],
        ),
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

/// `burnlab ARGS` with a fixed memory limit (16 GiB), so results do not depend on the machine;
/// returns the output and the wall time.
fn timed(s: &Scratch, args: &[&str], memory: &str) -> (std::process::Output, std::time::Duration) {
    let start = std::time::Instant::now();
    let out = s.command(args).env("BURNLAB_MEMORY_LIMIT", memory).output().unwrap();
    (out, start.elapsed())
}

/// Asserts exit code 2, the location prefix, every fragment, no panic.
fn assert_user_error(name: &str, out: &std::process::Output, loc: &str, fragments: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{name}: {err}");
    assert!(err.starts_with(&format!("error: {loc}")), "{name}: expected location {loc}, got: {err}");
    for f in fragments {
        assert!(err.contains(f), "{name}: expected `{f}` in: {err}");
    }
    assert!(!err.contains("panicked"), "{name}: {err}");
}

fn model(family_and_params: &str) -> String {
    GOOD.replace("family = \"mlp\"\nhidden = 8", family_and_params)
}

#[test]
fn sizes_that_could_not_run_are_refused_by_validate_in_well_under_a_second() {
    let grid: Vec<String> = ["training.lr", "training.weight_decay", "training.beta1", "training.eps", "model.hidden"]
        .iter()
        .map(|k| {
            let values: Vec<String> = (1..=100).map(|i| format!("{}", i as f64 * 1e-3)).collect();
            let values = if k.starts_with("model") { (1..=100).map(|i| i.to_string()).collect() } else { values };
            format!("\"{k}\" = [{}]", values.join(", "))
        })
        .collect();
    let cases: Vec<(&str, String, &str, Vec<&str>)> = vec![
        (
            "steps",
            GOOD.replace("steps = 10", "steps = 1000000000000000000"),
            "e.toml:9:9",
            vec!["`training.steps` is 1000000000000000000", "at most 100000000"],
        ),
        (
            "mlp 10^7 wide (under the size cap: refused by its memory)",
            model("family = \"mlp\"\nhidden = 10000000"),
            "e.toml:11:1",
            vec!["`models[0]` needs about 1.4 PiB", "1.000e14 parameters", "more than 16.0 GiB"],
        ),
        (
            "mlp 80000 wide",
            model("family = \"mlp\"\nhidden = 80000"),
            "e.toml:11:",
            vec!["`models[0]` needs about", "6.404e9 parameters", "more than 16.0 GiB", "BURNLAB_MEMORY_LIMIT"],
        ),
        (
            "attention d_model 2^20",
            model("family = \"attention\"\nd_model = 1048576\nheads = 4"),
            "e.toml:11:",
            vec!["`models[0]` needs about", "parameters", "BURNLAB_MEMORY_LIMIT=16G"],
        ),
        (
            "cnn 10^8 channels",
            model("family = \"cnn\"\nchannels = [100000000, 25, 25]"),
            "e.toml:13:12",
            vec!["`models[0].channels` is 100000000"],
        ),
        (
            "gan eval_samples",
            model("family = \"gan\"\neval_samples = 1000000000000").replace("\"mnist1d\"", "\"ring\""),
            "e.toml:13:16",
            vec!["`models[0].eval_samples` is 1000000000000"],
        ),
        (
            "cnn padding i64::MAX",
            model("family = \"cnn\"\npadding = 9223372036854775807"),
            "e.toml:13:11",
            vec!["`models[0].padding` is 9223372036854775807"],
        ),
        (
            "random trials 10^12",
            format!(
                "{GOOD}\n[sweep]\nkind = \"random\"\ntrials = 1000000000000\n[sweep.params]\n\"training.lr\" = [0.1, 0.2]\n"
            ),
            "e.toml:17:10",
            vec!["`sweep.trials` is 1000000000000", "at most 100000 trials"],
        ),
        (
            "grid 5 x 100",
            format!("{GOOD}\n[sweep.params]\n{}\n", grid.join("\n")),
            "e.toml:15:",
            vec!["the plan has 10000000000 trials", "grid 100 x 100 x 100 x 100 x 100 points", "at most 100000"],
        ),
        (
            "batch 10^18",
            GOOD.replace("steps = 10", "steps = 10\nbatch_size = 1000000000000000000"),
            "e.toml:10:14",
            vec![
                "`training.batch_size` is 1000000000000000000",
                "training split of `mnist1d` (3600 examples, 400 more held out by `dataset.validation`)",
            ],
        ),
    ];
    for (name, text, loc, fragments) in cases {
        let s = Scratch::new();
        s.file("e.toml", &text);
        let (out, took) = timed(&s, &["validate", "e.toml"], "16G");
        assert_user_error(name, &out, loc, &fragments);
        assert!(took < std::time::Duration::from_secs(2), "{name}: validate took {took:?}");
        let (out, _) = timed(&s, &["run", "e.toml", "--results", "results", "--quiet"], "16G");
        assert_user_error(name, &out, loc, &fragments);
        assert!(!s.results().exists(), "{name}: nothing is written");
    }
}

#[test]
fn the_memory_limit_can_be_raised_for_machines_that_have_more() {
    let s = Scratch::new();
    s.file("e.toml", &model("family = \"mlp\"\nhidden = 80000"));
    let (out, _) = timed(&s, &["validate", "e.toml"], "1T");
    assert!(out.status.success(), "{}", stderr(&out));
    let (out, _) = timed(&s, &["validate", "e.toml"], "lots");
    assert_user_error("bad limit", &out, "BURNLAB_MEMORY_LIMIT", &["must be a size such as 64G"]);
    // A swept value is checked like the file's: the error points at the sweep key.
    s.file("e.toml", &format!("{GOOD}\n[sweep.params]\n\"model.hidden\" = [8, 200000]\n"));
    let (out, _) = timed(&s, &["validate", "e.toml"], "16G");
    assert_user_error("swept width", &out, "e.toml:16:", &["sweep value model.hidden = 200000", "needs about"]);
}

/// Runs `cmd` to the end; returns its exit code, stdout and the CPU seconds (user + system)
/// it used, which unlike wall time do not depend on the machine's load.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which also gives its CPU time
fn cpu_seconds(mut cmd: std::process::Command) -> (Option<i32>, String, f64) {
    use std::io::Read;
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid; wait4 reaps our own child and fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    (code, out, seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

#[test]
fn a_grid_of_100000_learning_rates_plans_in_linear_time() {
    let lrs: Vec<String> = (1..=100_000).map(|i| format!("{}", i as f64 * 1e-6)).collect();
    let s = Scratch::new();
    s.file("e.toml", &format!("{GOOD}\n[sweep.params]\n\"training.lr\" = [{}]\n", lrs.join(", ")));
    let (code, out, cpu) = cpu_seconds(s.command(&["validate", "e.toml"]));
    assert_eq!(code, Some(0));
    assert!(out.contains("with 100000 trials"), "{out}");
    // Quadratic planning took 5.8 s for 40,000 points (about 36 s for 100,000); linear planning
    // takes about 1.5 CPU seconds for 100,000 (a second of wall time on two cores).
    assert!(cpu < 8.0, "100,000 points took {cpu:.1} CPU seconds");
}

#[test]
fn type_errors_inside_dataset_and_model_tables_name_the_key_at_its_value() {
    let cases = [
        (
            GOOD.replace("name = \"mnist1d\"", "name = \"longrange\"\nlength = \"long\""),
            "e.toml:6:10",
            vec!["`dataset.length`", "invalid type: string \"long\", expected usize"],
        ),
        (
            GOOD.replace("hidden = 8", "hidden = [8]"),
            "e.toml:13:10",
            vec!["`models[0].hidden`", "invalid type: sequence"],
        ),
        (
            GOOD.replace("hidden = 8", "hidden = 8\nresidual = \"yes\""),
            "e.toml:14:12",
            vec!["`models[0].residual`", "expected a boolean"],
        ),
        (
            format!("{GOOD}\n[[models]]\nfamily = \"cnn\"\nchannels = [4, \"x\"]\n"),
            "e.toml:17:12",
            vec!["`models[1].channels`", "invalid type: string \"x\""],
        ),
    ];
    for (text, loc, fragments) in cases {
        let s = Scratch::new();
        s.file("e.toml", &text);
        assert_user_error(loc, &s.burnlab(&["validate", "e.toml"]), loc, &fragments);
    }
}

#[test]
fn toml_errors_name_the_key_and_where() {
    let deep = format!("{GOOD}\n{} = 1\n", vec!["a"; 50_000].join("."));
    let cases = [
        (
            GOOD.replace("seeds = [0]", "seeds = [0]\nname = \"f\""),
            "e.toml:3:1",
            vec!["duplicate key `name`", "first set at e.toml:1:1"],
        ),
        (
            GOOD.replace("steps = 10", "steps = 10\nlr = 0.1"),
            "e.toml:10:1",
            vec!["duplicate key `lr`", "first set at e.toml:8:1"],
        ),
        (
            GOOD.replace("seeds = [0]", "seeds = [18446744073709551615]"),
            "e.toml:2:",
            vec!["`seeds`", "out of range", "9223372036854775807"],
        ),
        (deep, "e.toml:15:1", vec!["nest too deeply"]),
    ];
    for (text, loc, fragments) in cases {
        let s = Scratch::new();
        s.file("e.toml", &text);
        let (out, took) = timed(&s, &["validate", "e.toml"], "16G");
        assert_user_error(loc, &out, loc, &fragments);
        assert!(took < std::time::Duration::from_secs(2), "{loc}: took {took:?}");
    }
}

#[test]
fn repeated_sweep_values_run_once_and_say_so() {
    let s = Scratch::new();
    s.file("e.toml", &format!("{GOOD}\n[sweep.params]\n\"training.lr\" = [0.1, 0.2, 0.1]\n"));
    let out = s.burnlab(&["plan", "e.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("2 trials"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("warning: e.toml:16:17: grid sweep key `training.lr` lists 0.1 more than once"),
        "{}",
        stderr(&out)
    );
    let random = "[sweep]\nkind = \"random\"\ntrials = 20\n[sweep.params]\n\"model.hidden\" = [8, 16, 32]\n";
    s.file("e.toml", &format!("{GOOD}\n{random}"));
    let out = s.burnlab(&["validate", "e.toml"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("with 3 trials"), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("the random sweep draws 20 trials but only 3 are distinct; 17 repeated draws run once"),
        "{}",
        stderr(&out)
    );
    // A sweep without repeats says nothing.
    s.file("e.toml", &format!("{GOOD}\n[sweep.params]\n\"training.lr\" = [0.1, 0.2]\n"));
    assert!(!stderr(&s.burnlab(&["validate", "e.toml"])).contains("warning"));
}

#[test]
fn integer_keys_take_log_scale_integer_draws() {
    let random = |dist: &str| {
        format!("{GOOD}\n[sweep]\nkind = \"random\"\ntrials = 30\n[sweep.params]\n\"model.hidden\" = {dist}\n")
    };
    let s = Scratch::new();
    s.file("e.toml", &random("{ log_uniform = [8.0, 512.0] }"));
    let out = s.burnlab(&["validate", "e.toml"]);
    assert_user_error(
        "log_uniform",
        &out,
        "e.toml:19:",
        &["sweep value model.hidden", "expected usize", "int_log_uniform"],
    );
    s.file("e.toml", &random("{ int_log_uniform = [8, 512] }"));
    let out = s.burnlab(&["plan", "e.toml", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let hidden: Vec<i64> =
        plan["trials"].as_array().unwrap().iter().map(|t| t["swept"]["model.hidden"].as_i64().unwrap()).collect();
    assert!(hidden.len() >= 25 && hidden.iter().all(|h| (8..=512).contains(h)), "{hidden:?}");
    assert!(hidden.iter().any(|&h| h < 64) && hidden.iter().any(|&h| h > 64), "{hidden:?}");
    s.file("e.toml", &random("{ int_log_uniform = [0, 512] }"));
    assert_user_error("low 0", &s.burnlab(&["validate", "e.toml"]), "e.toml:19:", &["1 <= low <= high"]);
}

#[test]
fn a_set_value_for_a_string_key_is_the_text_typed() {
    let s = Scratch::new();
    s.file("e.toml", GOOD);
    let out = s.burnlab(&["plan", "e.toml", "--json", "--set", "name=1_1_1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(plan["experiment"], "1_1_1");
    // A number key still reads TOML numbers, underscores included.
    let out = s.burnlab(&["plan", "e.toml", "--set", "training.steps=1_000", "--set", "seeds=[1_0]"]);
    assert!(out.status.success() && stdout(&out).contains("seed=10"), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn nested_recipe_keys_are_swept_and_set_like_any_key() {
    let s = Scratch::new();
    let recipe = "steps = 10\nlr_schedule = { kind = \"cosine\", warmup_steps = 2 }";
    let sweep = "[sweep.params]\n\"training.lr_schedule.warmup_steps\" = [2, 4]\n\"training.accumulate\" = [1, 2]\n";
    s.file("e.toml", &format!("{}\n{sweep}", GOOD.replace("steps = 10", recipe)));
    let plan = |sets: &[&str]| -> Vec<(String, i64, i64)> {
        let mut args = vec!["plan", "e.toml", "--json"];
        args.extend(sets.iter().flat_map(|s| ["--set", s]));
        let out = s.burnlab(&args);
        assert!(out.status.success(), "{}", stderr(&out));
        let plan: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        let mut trials: Vec<(String, i64, i64)> = plan["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                let swept = &t["swept"];
                let id = t["id"].as_str().unwrap().to_string();
                (
                    id,
                    swept["training.lr_schedule.warmup_steps"].as_i64().unwrap(),
                    swept["training.accumulate"].as_i64().unwrap(),
                )
            })
            .collect();
        trials.sort_by_key(|t| (t.1, t.2));
        trials
    };
    let cosine = plan(&[]);
    let points: Vec<(i64, i64)> = cosine.iter().map(|t| (t.1, t.2)).collect();
    assert_eq!(points, [(2, 1), (2, 2), (4, 1), (4, 2)]);
    let mut ids: Vec<&String> = cosine.iter().map(|t| &t.0).collect();
    ids.dedup();
    assert_eq!(ids.len(), 4, "every swept setting is its own trial");
    // `--set` reaches into the inline table (and creates one): every trial's config changes.
    let linear = plan(&["training.lr_schedule.kind=linear", "training.clip_grad.norm=1"]);
    assert!(cosine.iter().zip(&linear).all(|(a, b)| a.0 != b.0 && (a.1, a.2) == (b.1, b.2)), "{cosine:?} {linear:?}");
    // A swept value out of range names the key.
    s.file(
        "e.toml",
        &format!(
            "{}\n[sweep.params]\n\"training.lr_schedule.warmup_steps\" = [2, 10]\n",
            GOOD.replace("steps = 10", recipe)
        ),
    );
    assert_user_error(
        "warmup sweep",
        &s.burnlab(&["validate", "e.toml"]),
        "e.toml:",
        &["training.lr_schedule.warmup_steps = 10", "must be less than training.steps = 10"],
    );
}

#[test]
fn a_variant_trains_with_its_own_training_keys_and_dataset_options() {
    let s = Scratch::new();
    let named = |name: &str| {
        GOOD.replace("name = \"e\"", &format!("name = \"{name}\"")).replace("hidden = 8", "hidden = 8\nlabel = \"a\"")
    };
    let plain = s.file("plain.toml", &named("plain"));
    let own = format!(
        "{}\n[[models]]\nfamily = \"linear\"\nlabel = \"b\"\ntraining = {{ lr = 0.5, optimizer = \"sgd\", momentum = 0.9 }}\n\
         dataset = {{ shuffle_seq = true, validation = 0.2 }}\n",
        named("own")
    );
    let own = s.file("own.toml", &own);
    // The resolved configurations: plan.json of a run (10 steps of two small models).
    let plan = |file: &std::path::Path| -> serde_json::Value {
        let out = s.run(file, &["--jobs", "1"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let name = file.file_stem().unwrap().to_str().unwrap();
        serde_json::from_str(&std::fs::read_to_string(s.results().join(name).join("plan.json")).unwrap()).unwrap()
    };
    let (plain, own) = (plan(&plain), plan(&own));
    let trial = |p: &serde_json::Value, i: usize| p["trials"][i].clone();
    // The variant without keys of its own is the same trial as before (same id, same config).
    assert_eq!(trial(&plain, 0)["id"], trial(&own, 0)["id"]);
    assert_eq!(trial(&own, 0)["config"]["training"]["lr"], 0.01);
    // The other takes its keys over the file's and keeps the rest of [training] and [dataset].
    let b = trial(&own, 1)["config"].clone();
    assert_eq!((b["training"]["lr"].as_f64(), b["training"]["optimizer"].as_str()), (Some(0.5), Some("sgd")));
    assert_eq!((b["training"]["momentum"].as_f64(), b["training"]["steps"].as_u64()), (Some(0.9), Some(10)));
    assert_eq!((b["dataset"]["name"].as_str(), b["dataset"]["shuffle_seq"].as_bool()), (Some("mnist1d"), Some(true)));
    assert_eq!(b["dataset"]["validation"].as_f64(), Some(0.2));
    assert_eq!(trial(&own, 0)["config"]["dataset"]["shuffle_seq"].as_bool(), Some(false));
}
