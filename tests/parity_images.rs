//! Numerical parity of the image layers and models with PyTorch.
//!
//! `tests/fixtures/torch/{conv_bn,pool2d,cnn_stack,cnn_relu_bn,resnet8}.json` (written by
//! `scripts/make_image_model_fixtures.py`) hold PyTorch's parameters, inputs, outputs, losses,
//! gradients and batch norm's running statistics. Each test loads the parameters into the
//! burnlab layer or model, runs the same training forward and backward on Burn's flex backend
//! (batch statistics), then evaluates (running statistics, `valid()`), and compares every
//! number within 1e-5 (absolute or relative).

mod common;

use burn::module::{Module, RunningState};
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Gradients, Int, Tensor, TensorData};
use burnlab::data::DataInfo;
use burnlab::models::cnn::CnnSpec;
use burnlab::models::layers2d::{BatchNorm, ConvBn, Pool};
use burnlab::models::resnet::ResNetSpec;
use burnlab::models::{Classifier, Family, Inputs};
use common::{Fixture, Flat, check, check_linear_grads, set_linear};

fn autodiff() -> Device {
    Device::flex().autodiff()
}

fn scalar(v: f64) -> Flat {
    Flat { shape: vec![1], data: vec![v as f32] }
}

/// Loads PyTorch's `PREFIX.weight` (and `PREFIX.bias` when the layer has one).
fn set_conv2d(conv: &mut Conv2d, fx: &Fixture, prefix: &str, device: &Device) {
    let weight = fx.param(&format!("{prefix}.weight"));
    assert_eq!(conv.weight.dims().to_vec(), weight.shape, "{prefix}.weight shape");
    conv.weight = weight.param(device);
    if conv.bias.is_some() {
        conv.bias = Some(fx.param(&format!("{prefix}.bias")).param(device));
    }
}

/// Loads a BatchNorm2d: `weight` and `bias` (gamma, beta) and the running statistics.
fn set_norm(norm: &mut BatchNorm, fx: &Fixture, prefix: &str, device: &Device) {
    norm.gamma = fx.param(&format!("{prefix}.weight")).param(device);
    norm.beta = fx.param(&format!("{prefix}.bias")).param(device);
    norm.running_mean = RunningState::new(fx.param(&format!("{prefix}.running_mean")).tensor(device));
    norm.running_var = RunningState::new(fx.param(&format!("{prefix}.running_var")).tensor(device));
}

/// `PREFIX.NAME`, or `NAME` without a prefix (a fixture of one unit).
fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

fn set_conv_bn(unit: &mut ConvBn, fx: &Fixture, prefix: &str, device: &Device) {
    set_conv2d(&mut unit.conv, fx, &join(prefix, "conv"), device);
    set_norm(&mut unit.norm, fx, &join(prefix, "norm"), device);
}

fn check_conv2d_grads(conv: &Conv2d, grads: &Gradients, fx: &Fixture, prefix: &str) {
    let w = format!("{prefix}.weight");
    check(&w, conv.weight.val().grad(grads).unwrap(), &fx.grad(&w));
    if let Some(bias) = &conv.bias {
        let b = format!("{prefix}.bias");
        check(&b, bias.val().grad(grads).unwrap(), &fx.grad(&b));
    }
}

/// Checks a norm's gradients and its running statistics after the training forward.
fn check_norm(norm: &BatchNorm, grads: &Gradients, fx: &Fixture, prefix: &str) {
    // PyTorch's `weight` and `bias` are Burn's gamma and beta.
    for (name, param) in [("weight", &norm.gamma), ("bias", &norm.beta)] {
        let key = format!("{prefix}.{name}");
        check(&key, param.val().grad(grads).unwrap(), &fx.grad(&key));
    }
    let after = |stat: &str| Flat::from_json(&fx.json["running_after"][format!("{prefix}.{stat}")]);
    check(&format!("{prefix}.running_mean"), norm.running_mean.value(), &after("running_mean"));
    check(&format!("{prefix}.running_var"), norm.running_var.value(), &after("running_var"));
}

fn check_conv_bn(unit: &ConvBn, grads: &Gradients, fx: &Fixture, prefix: &str) {
    check_conv2d_grads(&unit.conv, grads, fx, &join(prefix, "conv"));
    check_norm(&unit.norm, grads, fx, &join(prefix, "norm"));
}

#[test]
fn conv_bn_matches_pytorch_in_training_and_evaluation() {
    let (fx, device) = (Fixture::load("conv_bn"), autodiff());
    let mut unit = ConvBn::new(2, 3, 3, 1, 1, &device);
    set_conv_bn(&mut unit, &fx, "", &device);
    let x = fx.flat("input").tensor::<4>(&device).require_grad();
    let probe = fx.flat("probe").tensor::<4>(&device);
    let out = unit.forward(x.clone());
    check("output", out.clone(), &fx.flat("output"));
    let loss = (out * probe.clone()).sum();
    check("loss", loss.clone(), &scalar(fx.json["loss"].as_f64().unwrap()));
    let grads = loss.backward();
    check("input", x.grad(&grads).unwrap(), &fx.grad("input"));
    check_conv_bn(&unit, &grads, &fx, "");
    // Evaluation: the running statistics that one training forward left.
    let eval = unit.valid();
    let out = eval.forward(x.without_autodiff());
    check("output_eval", out.clone(), &fx.flat("output_eval"));
    let loss = (out * probe.without_autodiff()).sum();
    check("loss_eval", loss, &scalar(fx.json["loss_eval"].as_f64().unwrap()));
}

#[test]
fn max_and_average_pooling_match_pytorch() {
    let (fx, device) = (Fixture::load("pool2d"), autodiff());
    let cases = fx.json["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let kind = match case["kind"].as_str().unwrap() {
            "max" => Pool::Max,
            _ => Pool::Avg,
        };
        let (k, s) = (case["kernel"].as_u64().unwrap() as usize, case["stride"].as_u64().unwrap() as usize);
        let what = format!("{kind:?} {k}/{s}");
        let x = fx.flat("input").tensor::<4>(&device).require_grad();
        let out = kind.forward2d(x.clone(), k, s);
        check(&format!("{what} output"), out.clone(), &Flat::from_json(&case["output"]));
        let loss = (out * Flat::from_json(&case["probe"]).tensor::<4>(&device)).sum();
        check(&format!("{what} loss"), loss.clone(), &scalar(case["loss"].as_f64().unwrap()));
        let grads = loss.backward();
        check(&format!("{what} grad"), x.grad(&grads).unwrap(), &Flat::from_json(&case["grad_input"]));
    }
}

/// Grey images of `side` x `side`, 10 classes.
fn images(side: usize) -> DataInfo {
    DataInfo { seq_len: side, channels: side, num_classes: 10, image: Some([side, side]), ..Default::default() }
}

/// The fixture's `[batch, 1, h, w]` input as burnlab's `[batch, h, w]` image batch.
fn image_inputs(fx: &Fixture, device: &Device) -> Inputs {
    let input = fx.flat("input");
    let (b, h, w) = (input.shape[0], input.shape[2], input.shape[3]);
    let x = Flat { shape: vec![b, h, w], data: input.data }.tensor::<3>(device);
    Inputs { modalities: vec![x] }
}

fn targets(fx: &Fixture, device: &Device) -> Tensor<1, Int> {
    let t: Vec<i64> = fx.json["targets"].as_array().unwrap().iter().map(|t| t.as_i64().unwrap()).collect();
    let n = t.len();
    Tensor::from_data(TensorData::new(t, [n]), device)
}

/// Training forward and backward (logits, loss; gradients returned), then the evaluation
/// forward of `model.valid()` (logits and loss with the running statistics).
fn train_then_eval<M: Classifier>(model: &M, fx: &Fixture, device: &Device) -> Gradients {
    // Burn's count includes module state: each batch norm's running mean and variance.
    let running: usize = fx
        .param_names()
        .iter()
        .filter(|n| n.ends_with("running_mean") || n.ends_with("running_var"))
        .map(|n| fx.param(n).data.len())
        .sum();
    assert!(running > 0);
    let params = fx.json["param_count"].as_u64().unwrap() as usize;
    assert_eq!(model.num_params(), params + running, "parameter count");
    let inputs = image_inputs(fx, device);
    let logits = model.forward(&inputs);
    check("logits", logits.clone(), &fx.flat("logits"));
    let grads = fx.checked_loss(logits, device).backward();
    let eval = model.valid();
    let plain = Inputs { modalities: inputs.modalities.into_iter().map(|x| x.without_autodiff()).collect() };
    let logits = eval.forward(&plain);
    check("logits_eval", logits.clone(), &fx.flat("logits_eval"));
    let y = targets(fx, &Device::flex());
    let loss = burn::nn::loss::CrossEntropyLossConfig::new().init(&Device::flex()).forward(logits, y);
    check("loss_eval", loss.reshape([1]), &scalar(fx.json["loss_eval"].as_f64().unwrap()));
    grads
}

#[test]
fn cnn_stack_with_batch_norm_pooling_and_head_matches_pytorch() {
    let (fx, device) = (Fixture::load("cnn_stack"), autodiff());
    let spec: CnnSpec = toml::from_str(
        "dim = 2\nchannels = [4, 6]\nkernels = 3\nstrides = 1\npadding = 1\nbatch_norm = true\n\
         pool = [\"max\", \"avg\"]\nhead = [12]\n",
    )
    .unwrap();
    spec.validate(&images(8)).unwrap();
    let mut model = spec.init(&images(8), &device);
    for (i, conv) in model.conv2d.iter_mut().enumerate() {
        set_conv2d(conv, &fx, &format!("conv2d.{i}"), &device);
    }
    for (i, norm) in model.norms.iter_mut().enumerate() {
        set_norm(norm.as_mut().unwrap(), &fx, &format!("norms.{i}"), &device);
    }
    set_linear(&mut model.head[0], &fx, "head.0", &device);
    set_linear(&mut model.out, &fx, "out", &device);
    let grads = train_then_eval(&model, &fx, &device);
    for (i, conv) in model.conv2d.iter().enumerate() {
        check_conv2d_grads(conv, &grads, &fx, &format!("conv2d.{i}"));
        check_norm(model.norms[i].as_ref().unwrap(), &grads, &fx, &format!("norms.{i}"));
    }
    check_linear_grads(&model.head[0], &grads, &fx, "head.0");
    check_linear_grads(&model.out, &grads, &fx, "out");
}

#[test]
fn cnn_with_batch_norm_after_the_relu_matches_pytorch() {
    let (fx, device) = (Fixture::load("cnn_relu_bn"), autodiff());
    let spec: CnnSpec = toml::from_str(
        "dim = 2\nchannels = [4, 6]\nkernels = 5\nstrides = 1\npadding = 2\nbatch_norm = [false, true]\n\
         norm_after_relu = true\npool = \"max\"\n",
    )
    .unwrap();
    spec.validate(&images(8)).unwrap();
    let mut model = spec.init(&images(8), &device);
    assert!(model.norms[0].is_none(), "no batch norm in the first block");
    for (i, conv) in model.conv2d.iter_mut().enumerate() {
        set_conv2d(conv, &fx, &format!("conv2d.{i}"), &device);
    }
    set_norm(model.norms[1].as_mut().unwrap(), &fx, "norms.1", &device);
    set_linear(&mut model.out, &fx, "out", &device);
    // Every PyTorch tensor has been mapped: 2 convolutions, one batch norm, the linear.
    assert_eq!(fx.param_names().len(), 2 * 2 + 4 + 2);
    let grads = train_then_eval(&model, &fx, &device);
    for (i, conv) in model.conv2d.iter().enumerate() {
        check_conv2d_grads(conv, &grads, &fx, &format!("conv2d.{i}"));
    }
    check_norm(model.norms[1].as_ref().unwrap(), &grads, &fx, "norms.1");
    check_linear_grads(&model.out, &grads, &fx, "out");
}

#[test]
fn resnet8_matches_pytorch() {
    let (fx, device) = (Fixture::load("resnet8"), autodiff());
    let spec = ResNetSpec { depth: 8, width: 4 };
    spec.validate(&images(12)).unwrap();
    let mut model = spec.init(&images(12), &device);
    set_conv_bn(&mut model.stem, &fx, "stem", &device);
    for (i, block) in model.blocks.iter_mut().enumerate() {
        set_conv_bn(&mut block.conv1, &fx, &format!("blocks.{i}.conv1"), &device);
        set_conv_bn(&mut block.conv2, &fx, &format!("blocks.{i}.conv2"), &device);
        if let Some(shortcut) = &mut block.shortcut {
            set_conv_bn(shortcut, &fx, &format!("blocks.{i}.shortcut"), &device);
        }
    }
    set_linear(&mut model.out, &fx, "out", &device);
    // Every PyTorch tensor has been mapped: 5 per Conv-BN unit (9 units) and the linear's 2.
    assert_eq!(fx.param_names().len(), 9 * 5 + 2);
    let grads = train_then_eval(&model, &fx, &device);
    check_conv_bn(&model.stem, &grads, &fx, "stem");
    for (i, block) in model.blocks.iter().enumerate() {
        check_conv_bn(&block.conv1, &grads, &fx, &format!("blocks.{i}.conv1"));
        check_conv_bn(&block.conv2, &grads, &fx, &format!("blocks.{i}.conv2"));
        if let Some(shortcut) = &block.shortcut {
            check_conv_bn(shortcut, &grads, &fx, &format!("blocks.{i}.shortcut"));
        }
    }
    check_linear_grads(&model.out, &grads, &fx, "out");
}
