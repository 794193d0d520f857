//! Numerical parity with PyTorch.
//!
//! `tests/fixtures/torch/*.json` (written by `scripts/make_fixtures.py`) hold PyTorch's weights,
//! input, logits, loss and gradients for the MNIST-1D reference models (and an LSTM built like the GRU) and for one
//! `nn.MultiheadAttention` block. Each test loads the weights into the burnlab model, runs the
//! same forward and backward pass on Burn's flex backend and compares every number within 1e-5
//! (absolute or relative).

mod common;

use burn::module::Module;
use burn::tensor::{Bool, Device, Gradients, Tensor, TensorData};
use burnlab::data::DataInfo;
use burnlab::models::attention::SelfAttention;
use burnlab::models::cnn::CnnSpec;
use burnlab::models::linear::LinearSpec;
use burnlab::models::mlp::MlpSpec;
use burnlab::models::rnn::{GruSpec, LstmSpec, Recurrent, Rnn};
use burnlab::models::{Classifier, Family, Inputs};
use common::{Fixture, Flat, check, check_linear_grads, set_linear};

/// MNIST-1D's shape, which every fixture model was built for.
fn mnist1d() -> DataInfo {
    DataInfo { seq_len: 40, channels: 1, num_classes: 10, ..Default::default() }
}

/// Runs `model` on the fixture's input and targets; checks logits and loss and the parameter
/// count, and returns the gradients for the per-parameter checks.
fn forward_backward<M: Classifier>(model: &M, fx: &Fixture, device: &Device) -> Gradients {
    assert_eq!(model.num_params() as u64, fx.json["param_count"].as_u64().unwrap(), "parameter count");
    let input = fx.flat("input");
    let x = Flat { shape: vec![input.shape[0], input.shape[1], 1], data: input.data }.tensor::<3>(device);
    let logits = model.forward(&Inputs { modalities: vec![x] });
    check("logits", logits.clone(), &fx.flat("logits"));
    fx.checked_loss(logits, device).backward()
}

fn autodiff() -> Device {
    Device::flex().autodiff()
}

#[test]
fn linear_matches_pytorch() {
    let (fx, device) = (Fixture::load("linear"), autodiff());
    let mut model = LinearSpec::default().init(&mnist1d(), &device);
    set_linear(&mut model.fc, &fx, "linear", &device);
    assert_eq!(model.num_params(), 410);
    let grads = forward_backward(&model, &fx, &device);
    check_linear_grads(&model.fc, &grads, &fx, "linear");
}

#[test]
fn mlp_matches_pytorch() {
    let (fx, device) = (Fixture::load("mlp"), autodiff());
    let mut model = MlpSpec::default().init(&mnist1d(), &device);
    set_linear(&mut model.hidden[0], &fx, "linear1", &device);
    set_linear(&mut model.hidden[1], &fx, "linear2", &device);
    set_linear(&mut model.out, &fx, "linear3", &device);
    assert_eq!(model.num_params(), 15_210);
    let grads = forward_backward(&model, &fx, &device);
    check_linear_grads(&model.hidden[0], &grads, &fx, "linear1");
    check_linear_grads(&model.hidden[1], &grads, &fx, "linear2");
    check_linear_grads(&model.out, &grads, &fx, "linear3");
}

#[test]
fn cnn_matches_pytorch() {
    let (fx, device) = (Fixture::load("cnn"), autodiff());
    let mut model = CnnSpec::default().init(&mnist1d(), &device);
    assert_eq!(model.conv1d.len(), 3);
    // Conv1d weights have the same layout in both: [out, in, kernel].
    for (i, conv) in model.conv1d.iter_mut().enumerate() {
        conv.weight = fx.param(&format!("conv{}.weight", i + 1)).param(&device);
        conv.bias = Some(fx.param(&format!("conv{}.bias", i + 1)).param(&device));
    }
    set_linear(&mut model.out, &fx, "linear", &device);
    assert_eq!(model.num_params(), 5_210);
    let grads = forward_backward(&model, &fx, &device);
    for (i, conv) in model.conv1d.iter().enumerate() {
        let (w, b) = (format!("conv{}.weight", i + 1), format!("conv{}.bias", i + 1));
        check(&w, conv.weight.val().grad(&grads).unwrap(), &fx.grad(&w));
        check(&b, conv.bias.as_ref().unwrap().val().grad(&grads).unwrap(), &fx.grad(&b));
    }
    check_linear_grads(&model.out, &grads, &fx, "linear");
}

/// PyTorch's names for one direction of layer 0 of the recurrent module `module` (`gru`, `lstm`).
fn rnn_names(module: &str, reverse: bool) -> [String; 4] {
    let s = if reverse { "_reverse" } else { "" };
    ["weight_ih", "weight_hh", "bias_ih", "bias_hh"].map(|n| format!("{module}.{n}_l0{s}"))
}

fn set_recurrent(cell: &mut Recurrent, fx: &Fixture, module: &str, reverse: bool, device: &Device) {
    let [w_ih, w_hh, b_ih, b_hh] = rnn_names(module, reverse);
    // PyTorch stacks the gates along dim 0 of [gates * hidden, in]; burnlab along dim 1 of the transpose.
    cell.weight_ih = fx.param(&w_ih).t().param(device);
    cell.weight_hh = fx.param(&w_hh).t().param(device);
    cell.bias_ih = fx.param(&b_ih).param(device);
    cell.bias_hh = fx.param(&b_hh).param(device);
}

fn check_recurrent_grads(cell: &Recurrent, grads: &Gradients, fx: &Fixture, module: &str, reverse: bool) {
    let [w_ih, w_hh, b_ih, b_hh] = rnn_names(module, reverse);
    check(&w_ih, cell.weight_ih.val().grad(grads).unwrap(), &fx.grad(&w_ih).t());
    check(&w_hh, cell.weight_hh.val().grad(grads).unwrap(), &fx.grad(&w_hh).t());
    check(&b_ih, cell.bias_ih.val().grad(grads).unwrap(), &fx.grad(&b_ih));
    check(&b_hh, cell.bias_hh.val().grad(grads).unwrap(), &fx.grad(&b_hh));
}

/// Loads a bidirectional one-layer recurrent fixture into `model` and checks it.
fn check_rnn(mut model: Rnn, module: &str, params: usize) {
    let (fx, device) = (Fixture::load(module), autodiff());
    assert_eq!((model.forward.len(), model.reverse.len()), (1, 1));
    set_recurrent(&mut model.forward[0], &fx, module, false, &device);
    set_recurrent(&mut model.reverse[0], &fx, module, true, &device);
    set_linear(&mut model.out, &fx, "linear", &device);
    assert_eq!(model.num_params(), params);
    // Every PyTorch parameter has been mapped.
    assert_eq!(fx.param_names().len(), 2 * 4 + 2);
    let grads = forward_backward(&model, &fx, &device);
    check_recurrent_grads(&model.forward[0], &grads, &fx, module, false);
    check_recurrent_grads(&model.reverse[0], &grads, &fx, module, true);
    check_linear_grads(&model.out, &grads, &fx, "linear");
}

#[test]
fn gru_matches_pytorch() {
    check_rnn(GruSpec::default().init(&mnist1d(), &autodiff()), "gru", 5_134);
}

#[test]
fn lstm_matches_pytorch() {
    check_rnn(LstmSpec::default().init(&mnist1d(), &autodiff()), "lstm", 5_242);
}

/// The attention family's block with the fixture's `nn.MultiheadAttention` weights.
fn attention_block(fx: &Fixture, device: &Device) -> SelfAttention {
    let d = fx.json["embed_dim"].as_u64().unwrap() as usize;
    let heads = fx.json["num_heads"].as_u64().unwrap() as usize;
    let mut block = SelfAttention::new(d, heads, 0.0, device);
    set_linear(&mut block.query, fx, "q_proj", device);
    set_linear(&mut block.key, fx, "k_proj", device);
    set_linear(&mut block.value, fx, "v_proj", device);
    set_linear(&mut block.output, fx, "out_proj", device);
    assert_eq!(block.num_params() as u64, fx.json["param_count"].as_u64().unwrap());
    block
}

fn key_padding_mask(fx: &Fixture, device: &Device) -> Tensor<2, Bool> {
    let m = &fx.json["key_padding_mask"];
    let shape: Vec<usize> = m["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let data: Vec<bool> = m["data"].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
    assert!(data.iter().any(|&b| b), "the fixture's mask masks something");
    Tensor::from_bool(TensorData::new(data, shape), device)
}

#[test]
fn self_attention_matches_pytorch_in_training() {
    // On an autodiff device the block takes its composed path (the one training uses).
    let (fx, device) = (Fixture::load("attention"), autodiff());
    let block = attention_block(&fx, &device);
    let x = fx.flat("input").tensor::<3>(&device).require_grad();
    let out = block.forward(x.clone(), None);
    check("output", out.clone(), &fx.flat("output"));
    let loss = out.powi_scalar(2).sum();
    let want = fx.json["loss"].as_f64().unwrap() as f32;
    check("loss", loss.clone(), &Flat { shape: vec![1], data: vec![want] });
    let grads = loss.backward();
    check("input", x.grad(&grads).unwrap(), &fx.grad("input"));
    for (layer, name) in
        [(&block.query, "q_proj"), (&block.key, "k_proj"), (&block.value, "v_proj"), (&block.output, "out_proj")]
    {
        check_linear_grads(layer, &grads, &fx, name);
    }
    let masked = block.forward(x, Some(key_padding_mask(&fx, &device)));
    check("output_masked", masked, &fx.flat("output_masked"));
}

#[test]
fn self_attention_matches_pytorch_in_evaluation() {
    // On a plain device the block takes Burn's fused attention op (the one evaluation uses).
    let (fx, device) = (Fixture::load("attention"), Device::flex());
    let block = attention_block(&fx, &device);
    let x = fx.flat("input").tensor::<3>(&device);
    check("output", block.forward(x.clone(), None), &fx.flat("output"));
    let masked = block.forward(x, Some(key_padding_mask(&fx, &device)));
    check("output_masked", masked, &fx.flat("output_masked"));
}
