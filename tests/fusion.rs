//! The `fusion` family: its heads against PyTorch, and fusion beating unimodal models.
//!
//! `tests/fixtures/torch/fusion_*.json` (written by `scripts/make_fusion_fixtures.py`) hold a
//! PyTorch fusion head's weights, input features, logits, loss and gradients for each strategy
//! (and the one-modality head of the unimodal baselines). Each test loads the weights into
//! burnlab's `FusionHead`, runs forward and backward on flex and compares every number within
//! 1e-5 (absolute or relative). The training test runs the library's loop on `xor-modal`.

mod common;

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Tensor};
use burnlab::data::{DatasetSpec, XorModalOptions, digits_mnist1d};
use burnlab::models::fusion::{EncoderSpec, FusionHead, FusionSpec, Strategy};
use burnlab::models::mlp::MlpSpec;
use burnlab::models::{Family, ModelSpec, classifier};
use burnlab::train::{self, FitStatus, TrainingSpec};
use common::{Fixture, Flat, Scratch, check, check_linear_grads, set_linear, stderr, summary, trial_dirs};
use std::collections::BTreeMap;

/// The head's `Linear` that PyTorch calls `prefix` (`hidden.0`, `gate`, `cross.1.q_proj`).
fn linear<'a>(head: &'a mut FusionHead, prefix: &str) -> &'a mut Linear {
    let parts: Vec<&str> = prefix.split('.').collect();
    let index = |i: usize| parts[i].parse::<usize>().unwrap();
    match parts[0] {
        "hidden" => &mut head.hidden[index(1)],
        "classifier" => &mut head.classifier[index(1)],
        "gate_inputs" => &mut head.gate_inputs[index(1)],
        "gate" => head.gate.as_mut().unwrap(),
        "cross" => {
            let block = &mut head.cross[index(1)];
            match parts[2] {
                "q_proj" => &mut block.query,
                "k_proj" => &mut block.key,
                "v_proj" => &mut block.value,
                "out_proj" => &mut block.output,
                other => panic!("unknown attention projection {other}"),
            }
        }
        other => panic!("unknown layer {other}"),
    }
}

/// The PyTorch `Linear` names (`hidden.0`) of a fixture's parameters.
fn prefixes(fx: &Fixture) -> Vec<String> {
    let mut p: Vec<String> = fx.param_names().iter().map(|n| n.rsplit_once('.').unwrap().0.to_string()).collect();
    p.dedup();
    p
}

/// A burnlab head for the fixture, with its weights.
fn head(fx: &Fixture, device: &Device) -> FusionHead {
    let strategy: Strategy = serde_json::from_value(fx.json["strategy"].clone()).unwrap();
    let n = |key: &str| fx.json[key].as_u64().unwrap() as usize;
    let mut head = FusionHead::new(strategy, n("modalities"), n("dim"), n("heads"), n("tokens"), n("classes"), device);
    for prefix in prefixes(fx) {
        set_linear(linear(&mut head, &prefix), fx, &prefix, device);
    }
    // Every burnlab parameter came from the fixture.
    assert_eq!(head.num_params() as u64, fx.json["param_count"].as_u64().unwrap(), "parameter count");
    head
}

fn features(fx: &Fixture, device: &Device) -> Vec<Tensor<2>> {
    fx.json["features"].as_array().unwrap().iter().map(|f| Flat::from_json(f).tensor::<2>(device)).collect()
}

/// Forward and backward on an autodiff device: logits, loss, every parameter's and every
/// input's gradient; then the logits again on a plain device (evaluation's code path).
fn matches_pytorch(name: &str) {
    let fx = Fixture::load(&format!("fusion_{name}"));
    let device = Device::flex().autodiff();
    let mut model = head(&fx, &device);
    let z: Vec<Tensor<2>> = features(&fx, &device).into_iter().map(|z| z.require_grad()).collect();
    let logits = model.forward(z.clone());
    check("logits", logits.clone(), &fx.flat("logits"));
    let grads = fx.checked_loss(logits, &device).backward();
    for (m, zm) in z.iter().enumerate() {
        let key = format!("features.{m}");
        check(&key, zm.grad(&grads).unwrap(), &fx.grad(&key));
    }
    for prefix in prefixes(&fx) {
        check_linear_grads(linear(&mut model, &prefix), &grads, &fx, &prefix);
    }
    let evaluated = model.valid();
    check("logits (evaluation)", evaluated.forward(features(&fx, &Device::flex())), &fx.flat("logits"));
}

#[test]
fn unimodal_head_matches_pytorch() {
    matches_pytorch("unimodal");
}

#[test]
fn concat_matches_pytorch() {
    matches_pytorch("concat");
}

#[test]
fn sum_matches_pytorch() {
    matches_pytorch("sum");
}

#[test]
fn gated_matches_pytorch() {
    matches_pytorch("gated");
}

#[test]
fn cross_attention_matches_pytorch() {
    matches_pytorch("cross_attention");
}

#[test]
fn late_matches_pytorch() {
    matches_pytorch("late");
}

/// Test accuracy of a fusion spec trained briefly on a small `xor-modal`.
fn xor_accuracy(spec: FusionSpec) -> f64 {
    let dataset = DatasetSpec::new(XorModalOptions { n_train: 500, n_test: 500, ..Default::default() });
    let data = dataset.load().unwrap();
    let model_spec = ModelSpec::new(spec.clone());
    model_spec.validate(&data.info).unwrap();
    let cfg = TrainingSpec { lr: 3e-3, batch_size: 50, steps: 300, eval_every: 300, ..Default::default() };
    let device = Device::flex().autodiff();
    device.seed(0);
    let outcome =
        classifier::fit(spec.init(&data.info, &device), &data, &cfg, &device, 0, None, &mut train::NullObserver);
    assert_eq!(outcome.status, FitStatus::Completed);
    outcome.final_metrics["test.accuracy"]
}

#[test]
fn fusion_beats_each_modality_alone_on_xor_modal() {
    let small = EncoderSpec::Mlp(MlpSpec { hidden: 16, depth: 1, ..Default::default() });
    let encoders = BTreeMap::from([("a".to_string(), small.clone()), ("b".to_string(), small)]);
    let spec = |strategy, modalities: &[&str]| FusionSpec {
        strategy,
        dim: 16,
        modalities: modalities.iter().map(|m| m.to_string()).collect(),
        encoders: encoders.clone(),
        ..Default::default()
    };
    // Each bit alone says nothing about the XOR: both unimodal models stay near chance.
    for alone in ["a", "b"] {
        let acc = xor_accuracy(spec(Strategy::Concat, &[alone]));
        assert!((0.4..0.6).contains(&acc), "{alone} alone: {acc}");
    }
    // Fusion that lets the modalities interact solves it.
    for strategy in [Strategy::Concat, Strategy::Gated, Strategy::CrossAttention] {
        let acc = xor_accuracy(spec(strategy, &[]));
        assert!(acc > 0.95, "{strategy:?}: {acc}");
    }
}

const FILE: &str = r#"name = "t"
seeds = [0]

[dataset]
name = "digits-mnist1d"

[training]
steps = 20
eval_every = 10
batch_size = 32

[[models]]
label = "signal"
family = "fusion"
modalities = ["signal"]
dim = 8

[[models]]
label = "gated"
family = "fusion"
strategy = "gated"
dim = 8
encoders.image = { family = "cnn", dim = 2, channels = [4], kernels = 3, strides = 2 }
encoders.signal = { family = "gru", hidden = 4, readout = "mean" }
"#;

#[test]
fn the_binary_lists_runs_and_checks_fusion_on_digits_mnist1d() {
    let s = Scratch::new();
    let out = s.burnlab(&["list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fusion = v["families"].as_array().unwrap().iter().find(|f| f["name"] == "fusion").expect("fusion listed");
    assert_eq!(
        (fusion["defaults"]["strategy"].as_str(), fusion["defaults"]["dim"].as_u64()),
        (Some("concat"), Some(64))
    );
    let datasets = v["datasets"].as_array().unwrap();
    let options = |name: &str| datasets.iter().find(|d| d["name"] == name).expect(name)["defaults"].clone();
    assert_eq!(options("digits-mnist1d")["image_components"], 4);
    assert_eq!(options("xor-modal")["length"], 16);

    let file = s.file("e.toml", FILE);
    let out = s.run(&file, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let dirs = trial_dirs(&s.results(), "t");
    assert_eq!(dirs.len(), 2);
    // The unimodal model's summary counts its parameters (the count itself is checked in
    // `models::fusion`'s unit tests).
    let signal_only = FusionSpec { modalities: vec!["signal".into()], dim: 8, ..Default::default() };
    let want = ModelSpec::new(signal_only).num_params(&digits_mnist1d::info(), &Device::flex()) as u64;
    let params: Vec<u64> = dirs.iter().map(|d| summary(d)["num_params"].as_u64().unwrap()).collect();
    assert!(params.contains(&want), "{params:?} lacks {want}");
    for d in &dirs {
        assert_eq!(summary(d)["status"], "completed");
    }

    for (edit, fragments) in [
        (FILE.replace("modalities = [\"signal\"]", "family_x = 1"), vec!["unknown key `family_x`"]),
        (
            FILE.replace("readout = \"mean\"", "readut = \"mean\""),
            vec!["`models[1].encoders.signal.readut`", "did you mean `readout`?"],
        ),
        (
            FILE.replace("modalities = [\"signal\"]", "modalities = [\"sound\"]"),
            vec!["no modality `sound`", "image, signal"],
        ),
        (
            FILE.replace("strategy = \"gated\"", "strategy = \"gated\"\nmodalities = [\"image\"]"),
            vec!["fuses exactly two modalities"],
        ),
        (
            FILE.replace("family = \"fusion\"\nmodalities = [\"signal\"]\ndim = 8", "family = \"mlp\""),
            vec!["`mlp` reads one input", "use family = \"fusion\""],
        ),
        (FILE.replace("digits-mnist1d", "mnist1d"), vec!["`fusion` needs a multimodal dataset"]),
    ] {
        let s = Scratch::new();
        s.file("e.toml", &edit);
        let out = s.burnlab(&["validate", "e.toml"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.starts_with("error: e.toml:"), "located: {err}");
        for f in fragments {
            assert!(err.contains(f), "expected `{f}` in: {err}");
        }
    }
}
