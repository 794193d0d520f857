//! The library route, end to end: `examples/custom-family` (a crate of its own that adds the
//! `gated_mlp` family to burnlab's CLI with `burnlab::plugin`) is built with cargo, as a user
//! builds it, and its binary driven: `list`, `run` of the example's experiment file (its
//! workers are that binary: a trial of `gated_mlp` completes, which burnlab's own binary
//! refuses), and file:line:col errors for bad `gated_mlp` parameters. The model's forward and
//! backward passes are checked against PyTorch (`tests/fixtures/torch/gated_mlp_*.json`,
//! written by `scripts/make_gated_mlp_fixtures.py`) to 1e-5.
//!
//! The build adds one binary to the test run (the example crate and its link; burnlab and its
//! dependencies are shared with the root build through the workspace's target dir).

mod common;

#[path = "../examples/custom-family/src/gated_mlp.rs"]
mod gated_mlp;

use burn::module::Module;
use burn::nn::LayerNorm;
use burn::tensor::Device;
use burnlab::plugin::{Classifier, DataInfo, Family, Inputs};
use common::{Fixture, Scratch, check, check_linear_grads, set_linear, stderr, stdout, summary, trial_dirs};
use gated_mlp::{Gate, GatedMlpSpec};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The example crate's directory.
fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/custom-family")
}

/// Builds the example with cargo (same profile and target dir as this test) once, and returns
/// its binary.
fn custom_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        // This test is <target>/<profile>/deps/custom_family-<hash>.
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap();
        let target = profile_dir.parent().unwrap();
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args(["build", "--quiet", "-p", "custom-family"]);
        if !cfg!(debug_assertions) {
            cargo.arg("--release");
        }
        let started = std::time::Instant::now();
        let out =
            cargo.current_dir(env!("CARGO_MANIFEST_DIR")).env("CARGO_TARGET_DIR", target).output().expect("run cargo");
        assert!(out.status.success(), "cargo build -p custom-family failed:\n{}", stderr(&out));
        eprintln!("built examples/custom-family in {:.0} s", started.elapsed().as_secs_f64());
        profile_dir.join(format!("custom-family{}", std::env::consts::EXE_SUFFIX))
    })
}

/// The example binary with `args`, in the scratch dir.
fn custom(s: &Scratch, args: &[&str]) -> Output {
    Command::new(custom_binary()).args(args).current_dir(s.path()).output().unwrap()
}

/// The example's experiment file, as shipped.
fn experiment() -> String {
    std::fs::read_to_string(example_dir().join("experiments/gated-mlp.toml")).unwrap()
}

#[test]
fn the_example_binary_lists_trains_and_tabulates_its_family_beside_a_builtin_one() {
    let s = Scratch::new();
    let list = custom(&s, &["list"]);
    assert!(list.status.success(), "{}", stderr(&list));
    let text = stdout(&list);
    assert!(text.contains("  mlp ") && text.contains("  gated_mlp "), "{text}");
    let defaults = "defaults: depth = 2, dropout = 0.0, gate = \"gelu\", hidden = 128, width = 64";
    assert!(text.contains(defaults), "{text}");

    // The shipped experiment at a tiny budget: one seed, two learning rates, two families.
    let file = s.file("gated-mlp.toml", &experiment());
    let file = file.to_str().unwrap();
    let tiny = ["--set", "seeds=[0]", "--set", "training.steps=20", "--set", "training.eval_every=10"];
    let mut args = vec!["run", file, "--results", "results", "--quiet", "--jobs", "2"];
    args.extend(tiny);
    let run = custom(&s, &args);
    assert!(run.status.success(), "{}", stderr(&run));
    let dirs = trial_dirs(&s.results(), "gated-mlp");
    assert_eq!(dirs.len(), 4);
    let mut families = Vec::new();
    for d in &dirs {
        let sum = summary(d);
        assert_eq!(sum["status"], "completed", "{sum}");
        assert!(sum["final_metrics"]["test.accuracy"].as_f64().is_some(), "{sum}");
        let config = std::fs::read_to_string(d.join("config.toml")).unwrap();
        families.push(if config.contains("family = \"gated_mlp\"") { "gated_mlp" } else { "mlp" });
    }
    families.sort();
    // The gated_mlp trials ran in worker processes, which know the family: the plugin binary's.
    assert_eq!(families, ["gated_mlp", "gated_mlp", "mlp", "mlp"]);
    let table = std::fs::read_to_string(s.results().join("gated-mlp").join("table.md")).unwrap();
    // One row per family and learning rate (the best one in bold).
    let mut rows: Vec<String> = table
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("mlp"))
        .map(|l| {
            l.split('|').take(3).collect::<String>().replace('*', "").split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect();
    rows.sort();
    assert_eq!(rows, ["gated_mlp 0.001", "gated_mlp 0.01", "mlp 0.001", "mlp 0.01"], "{table}");

    // burnlab's own binary does not know the family.
    let plain = s.burnlab(&["validate", file]);
    assert_eq!(plain.status.code(), Some(2), "{}", stderr(&plain));
    assert!(stderr(&plain).contains("unknown value `gated_mlp`"), "{}", stderr(&plain));
}

#[test]
fn bad_gated_mlp_parameters_are_errors_at_their_place_in_the_file() {
    let s = Scratch::new();
    let exp = experiment();
    let line_of = |line: &str| exp.lines().position(|l| l == line).unwrap() + 1;
    for (from, to, want) in [
        ("dropout = 0.1", "dropout = 1.5", "`models[1].dropout` must be in [0, 1), got 1.5"),
        (
            "gate = \"gelu\"",
            "gate = \"tanh\"",
            "`models[1].gate`: unknown value `tanh`, expected one of: sigmoid, gelu, silu, relu",
        ),
        ("width = 32", "widht = 32", "did you mean `width`?"),
        ("hidden = 64", "hidden = 0", "`models[1].hidden` must be at least 1"),
    ] {
        let file = s.file("bad.toml", &exp.replace(from, to));
        let out = custom(&s, &["validate", file.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{to}: {err}");
        assert!(err.contains(want), "{to}: {err}");
        let at = format!("bad.toml:{}:", line_of(from));
        assert!(err.contains(&at), "{to}: expected {at} in {err}");
    }
}

/// Sets a Burn `LayerNorm` from PyTorch's `PREFIX.weight` (gamma) and `PREFIX.bias` (beta).
fn set_norm(norm: &mut LayerNorm, fx: &Fixture, prefix: &str, device: &Device) {
    norm.gamma = fx.param(&format!("{prefix}.weight")).param(device);
    norm.beta = Some(fx.param(&format!("{prefix}.bias")).param(device));
}

/// Checks a `LayerNorm`'s gradients against PyTorch's for `PREFIX`.
fn check_norm_grads(norm: &LayerNorm, grads: &burn::tensor::Gradients, fx: &Fixture, prefix: &str) {
    let (w, b) = (format!("{prefix}.weight"), format!("{prefix}.bias"));
    check(&w, norm.gamma.val().grad(grads).unwrap(), &fx.grad(&w));
    check(&b, norm.beta.as_ref().unwrap().val().grad(grads).unwrap(), &fx.grad(&b));
}

#[test]
fn gated_mlp_matches_pytorch_for_every_gate() {
    let device = Device::flex().autodiff();
    for (name, gate) in [("sigmoid", Gate::Sigmoid), ("gelu", Gate::Gelu), ("silu", Gate::Silu), ("relu", Gate::Relu)] {
        let fx = Fixture::load(&format!("gated_mlp_{name}"));
        let n = |key: &str| fx.json[key].as_u64().unwrap() as usize;
        let data =
            DataInfo { seq_len: n("time"), channels: n("channels"), num_classes: n("classes"), ..Default::default() };
        let spec = GatedMlpSpec { width: n("width"), hidden: n("hidden"), depth: n("depth"), gate, dropout: 0.0 };
        let mut model = spec.init(&data, &device);
        set_linear(&mut model.embed, &fx, "embed", &device);
        for (i, block) in model.blocks.iter_mut().enumerate() {
            set_norm(&mut block.norm, &fx, &format!("blocks.{i}.norm"), &device);
            for (layer, field) in [(&mut block.gate, "gate"), (&mut block.value, "value"), (&mut block.out, "out")] {
                set_linear(layer, &fx, &format!("blocks.{i}.{field}"), &device);
            }
        }
        set_norm(&mut model.norm, &fx, "norm", &device);
        set_linear(&mut model.head, &fx, "head", &device);
        assert_eq!(model.num_params() as u64, fx.json["param_count"].as_u64().unwrap(), "{name}: parameter count");
        let footprint = spec.footprint(&data);
        assert_eq!(footprint.params as usize, model.num_params(), "{name}: footprint");

        let logits = model.forward(&Inputs { modalities: vec![fx.flat("input").tensor::<3>(&device)] });
        check(&format!("{name}: logits"), logits.clone(), &fx.flat("logits"));
        let grads = fx.checked_loss(logits, &device).backward();
        check_linear_grads(&model.embed, &grads, &fx, "embed");
        for (i, block) in model.blocks.iter().enumerate() {
            check_norm_grads(&block.norm, &grads, &fx, &format!("blocks.{i}.norm"));
            for (layer, field) in [(&block.gate, "gate"), (&block.value, "value"), (&block.out, "out")] {
                check_linear_grads(layer, &grads, &fx, &format!("blocks.{i}.{field}"));
            }
        }
        check_norm_grads(&model.norm, &grads, &fx, "norm");
        check_linear_grads(&model.head, &grads, &fx, "head");
    }
}
