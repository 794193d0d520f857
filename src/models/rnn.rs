//! `gru` and `lstm`: recurrent classifiers with PyTorch's `nn.GRU` / `nn.LSTM` equations.
//!
//! With the defaults `gru` is MNIST-1D's GRU: bidirectional, hidden 6, one input per time step
//! (its channels), the outputs of all time steps flattened (40 * 12 = 480) -> Linear 10.
//!
//! The cells are written here rather than taken from `burn::nn::gru` / `lstm` for speed. Both
//! directions of a layer run side by side (weights stacked on a leading direction axis), with
//! one matmul per step on the hidden state and the gates stacked as in PyTorch (`weight_hh` is
//! `[hidden, gates * hidden]`); Burn's GRU does six matmuls per step and writes every step into
//! one tensor with `slice_assign`, whose backward costs a full-size tensor per step. On the CPU
//! backends the LSTM's whole recurrence is one fused operation with a hand-written backward
//! pass ([`fused`]); elsewhere (LibTorch on a GPU) it is composed from tensor operations.

use super::layers::{Dropout, token_embedding, token_ids};
use super::{Classifier, Family, Footprint, Inputs};
use crate::check::FieldError;
use crate::check::{at_least_one, probability};
use crate::data::DataInfo;
use burn::module::{Module, Param};
use burn::nn::{Embedding, Initializer, Linear, LinearConfig};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::{Device, Tensor, TensorData};

pub mod fused;
use serde::{Deserialize, Serialize};

/// How the per-step outputs become the classifier's features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Readout {
    /// All time steps' outputs, concatenated (time-major, forward then reverse per step).
    #[default]
    Flatten,
    /// The final state of each direction (forward: last step; reverse: first step).
    Last,
    /// The mean over time steps.
    Mean,
}

/// The recurrent cell type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cell {
    /// Gated recurrent unit, gates `(r, z, n)`.
    Gru,
    /// Long short-term memory, gates `(i, f, g, o)`.
    Lstm,
}

impl Cell {
    /// Gates stacked in the weight matrices.
    pub fn gates(self) -> usize {
        match self {
            Cell::Gru => 3,
            Cell::Lstm => 4,
        }
    }
}

/// Parameters shared by the `gru` and `lstm` families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RnnSpec {
    /// Hidden state size per direction.
    pub hidden: usize,
    /// Stacked recurrent layers.
    pub layers: usize,
    /// Run a second cell backwards over time and concatenate both directions.
    pub bidirectional: bool,
    /// `"flatten"` (all steps), `"last"` or `"mean"`.
    pub readout: Readout,
    /// Embedding width on token-id datasets (the input size per step there).
    pub embed: usize,
    /// Dropout probability on each layer's outputs: between stacked layers (as PyTorch's
    /// `nn.GRU(dropout=...)`) and on the read-out features before the classifier; 0 (the
    /// default, left out of the trial's configuration so that ids stay): none.
    #[serde(skip_serializing_if = "crate::check::is_zero")]
    pub dropout: f64,
}

impl Default for RnnSpec {
    fn default() -> Self {
        Self { hidden: 6, layers: 1, bidirectional: true, readout: Readout::Flatten, embed: 16, dropout: 0.0 }
    }
}

/// Parameters of the `gru` family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct GruSpec(pub RnnSpec);

/// Parameters of the `lstm` family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(transparent)]
pub struct LstmSpec(pub RnnSpec);

/// One direction of one recurrent layer, in PyTorch's layout transposed (Burn's `Linear`
/// convention, `x @ W`): gates stacked along the output axis in PyTorch's order.
#[derive(Module, Debug)]
pub struct Recurrent {
    /// Input weights `[input, gates * hidden]` (PyTorch's `weight_ih_l*` transposed).
    pub weight_ih: Param<Tensor<2>>,
    /// Hidden weights `[hidden, gates * hidden]` (PyTorch's `weight_hh_l*` transposed).
    pub weight_hh: Param<Tensor<2>>,
    /// Input bias `[gates * hidden]`.
    pub bias_ih: Param<Tensor<1>>,
    /// Hidden bias `[gates * hidden]`.
    pub bias_hh: Param<Tensor<1>>,
    /// GRU or LSTM.
    #[module(skip)]
    pub cell: Cell,
}

impl Recurrent {
    /// A cell initialised like PyTorch's: every weight and bias uniform in ±1/sqrt(hidden).
    pub fn new(cell: Cell, input: usize, hidden: usize, device: &Device) -> Self {
        let k = 1.0 / (hidden as f64).sqrt();
        let init = Initializer::Uniform { min: -k, max: k };
        let g = cell.gates() * hidden;
        Recurrent {
            weight_ih: init.init([input, g], device),
            weight_hh: init.init([hidden, g], device),
            bias_ih: init.init([g], device),
            bias_hh: init.init([g], device),
            cell,
        }
    }

    /// The hidden size.
    pub fn hidden(&self) -> usize {
        self.weight_hh.dims()[0]
    }

    /// Runs over `inputs` (one `[batch, input]` tensor per step) from a zero state, backwards in
    /// time if `reverse`; returns one `[batch, hidden]` output per step, in time order.
    pub fn run(&self, inputs: &[Tensor<2>], reverse: bool) -> Vec<Tensor<2>> {
        if inputs.is_empty() {
            return Vec::new();
        }
        let mut seq = Tensor::stack::<3>(inputs.to_vec(), 0);
        if reverse {
            seq = seq.flip([0]);
        }
        let mut states = Directions::new(&[self]).run(seq.unsqueeze_dim(0)).squeeze_dim::<3>(0);
        if reverse {
            states = states.flip([0]);
        }
        states.chunk(inputs.len(), 0).into_iter().map(|h| h.squeeze_dim::<2>(0)).collect()
    }
}

/// The directions of one layer with their weights stacked on a leading direction axis, so that
/// each time step is one batched matmul for both directions of a bidirectional layer: half the
/// ops of running them one after the other, and the op count is what a step costs on CPU.
struct Directions {
    cell: Cell,
    hidden: usize,
    /// `[dirs, input, gates * hidden]`.
    w_ih: Tensor<3>,
    /// `[dirs, hidden, gates * hidden]`.
    w_hh: Tensor<3>,
    /// `[dirs, 1, gates * hidden]`.
    b_ih: Tensor<3>,
    /// `[dirs, 1, gates * hidden]`.
    b_hh: Tensor<3>,
}

impl Directions {
    fn new(cells: &[&Recurrent]) -> Self {
        let stack = |f: &dyn Fn(&Recurrent) -> Tensor<2>| Tensor::stack::<3>(cells.iter().map(|c| f(c)).collect(), 0);
        Directions {
            cell: cells[0].cell,
            hidden: cells[0].hidden(),
            w_ih: stack(&|c| c.weight_ih.val()),
            w_hh: stack(&|c| c.weight_hh.val()),
            b_ih: stack(&|c| c.bias_ih.val().unsqueeze()),
            b_hh: stack(&|c| c.bias_hh.val().unsqueeze()),
        }
    }

    /// Runs from a zero state over `x` `[dirs, time, batch, input]` (each direction's inputs in
    /// its own processing order); returns the hidden states `[dirs, time, batch, hidden]` in the
    /// same order. The LSTM runs as one fused operation where the device has it
    /// ([`fused::available`]: flex, ndarray, LibTorch on the CPU), else as composed tensor operations.
    fn run(&self, x: Tensor<4>) -> Tensor<4> {
        let [d, t, b, i] = x.dims();
        let hd = self.hidden;
        if t == 0 {
            return Tensor::zeros([d, 0, b, hd], &x.device());
        }
        if self.cell == Cell::Lstm && fused::available(&x.device()) {
            // The input terms of all steps in one batched matmul, then the recurrence.
            let xw = x.reshape([d, t * b, i]).matmul(self.w_ih.clone());
            let xp = (xw + self.b_ih.clone() + self.b_hh.clone()).reshape([d, t, b, 4 * hd]);
            return fused::lstm(xp, self.w_hh.clone());
        }
        let steps = (0..t).map(|k| x.clone().narrow(1, k, 1).reshape([d, b, i]));
        Tensor::stack(self.composed(steps), 1)
    }

    /// The recurrence as composed tensor operations, one `[dirs, batch, input]` input per step.
    fn composed(&self, steps: impl ExactSizeIterator<Item = Tensor<3>>) -> Vec<Tensor<3>> {
        let mut steps = steps.peekable();
        let Some(first) = steps.peek() else { return Vec::new() };
        let (hd, [d, b, _]) = (self.hidden, first.dims());
        let device = first.device();
        let mut h = Tensor::<3>::zeros([d, b, hd], &device);
        let mut c = h.clone();
        let mut outputs = Vec::with_capacity(steps.len());
        // LSTM: tanh(a) = 2 sigmoid(2a) - 1, so doubling the g gate's weights and biases (exact
        // in floating point) lets one sigmoid serve all four gates: fewer ops per step, and no
        // tanh, which Burn's autodiff recomputes in the backward pass, on the gate.
        // `b_in` is the bias added with the input term: b_ih (GRU), b_ih + b_hh (LSTM).
        let (w_ih, w_hh, b_in) = match self.cell {
            Cell::Lstm => {
                let scale: Vec<f32> = (0..4 * hd).map(|j| if j / hd == 2 { 2.0 } else { 1.0 }).collect();
                let scale = Tensor::<3>::from_data(TensorData::new(scale, [1, 1, 4 * hd]), &device);
                let bias = (self.b_ih.clone() + self.b_hh.clone()) * scale.clone();
                (self.w_ih.clone() * scale.clone(), self.w_hh.clone() * scale, bias)
            }
            Cell::Gru => (self.w_ih.clone(), self.w_hh.clone(), self.b_ih.clone()),
        };
        for x in steps {
            match self.cell {
                Cell::Gru => {
                    let gi = x.clone().matmul(w_ih.clone()) + b_in.clone();
                    let gh = h.clone().matmul(w_hh.clone()) + self.b_hh.clone();
                    // r, z = sigmoid(W_i x + b_i + W_h h + b_h); n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
                    let rz = sigmoid(gi.clone().narrow(2, 0, 2 * hd) + gh.clone().narrow(2, 0, 2 * hd));
                    let (r, z) = (rz.clone().narrow(2, 0, hd), rz.narrow(2, hd, hd));
                    let n = tanh(gi.narrow(2, 2 * hd, hd) + r * gh.narrow(2, 2 * hd, hd));
                    // h' = (1 - z) * n + z * h
                    h = n.clone() + z * (h - n);
                }
                Cell::Lstm => {
                    let gates = sigmoid(x.clone().matmul(w_ih.clone()) + h.matmul(w_hh.clone()) + b_in.clone());
                    let gate = |k: usize| gates.clone().narrow(2, k * hd, hd);
                    let g = gate(2).mul_scalar(2.0).sub_scalar(1.0);
                    c = gate(1) * c + gate(0) * g;
                    // tanh(c) as 2 sigmoid(2c) - 1: libm's tanhf costs several expf, and Burn's
                    // autodiff evaluates it twice (the backward pass recomputes it).
                    h = gate(3) * sigmoid(c.clone().mul_scalar(2.0)).mul_scalar(2.0).sub_scalar(1.0);
                }
            }
            outputs.push(h.clone());
        }
        outputs
    }
}

/// The recurrent classifier module (both families).
#[derive(Module, Debug)]
pub struct Rnn {
    /// Token embedding (token-id datasets only).
    pub embedding: Option<Embedding>,
    /// Forward-in-time cell of each layer.
    pub forward: Vec<Recurrent>,
    /// Backward-in-time cell of each layer (empty unless bidirectional).
    pub reverse: Vec<Recurrent>,
    /// The classifier on the read-out features.
    pub out: Linear,
    /// How outputs become features.
    #[module(skip)]
    pub readout: Readout,
    /// Dropout between layers and on the read-out features.
    pub dropout: Dropout,
}

impl RnnSpec {
    fn validate(&self) -> Result<(), FieldError> {
        at_least_one("hidden", self.hidden)?;
        at_least_one("layers", self.layers)?;
        at_least_one("embed", self.embed)?;
        probability("dropout", self.dropout)
    }

    fn init(&self, cell: Cell, data: &DataInfo, device: &Device) -> Rnn {
        let dirs = if self.bidirectional { 2 } else { 1 };
        let embedding = token_embedding(data, self.embed, device);
        let input = |l: usize| match (l, &embedding) {
            (0, Some(_)) => self.embed,
            (0, None) => data.channels,
            _ => dirs * self.hidden,
        };
        let cells = |n: usize| (0..n).map(|l| Recurrent::new(cell, input(l), self.hidden, device)).collect();
        let forward = cells(self.layers);
        let reverse = cells(if self.bidirectional { self.layers } else { 0 });
        let features = match self.readout {
            Readout::Flatten => data.seq_len * dirs * self.hidden,
            Readout::Last | Readout::Mean => dirs * self.hidden,
        };
        Rnn {
            embedding,
            forward,
            reverse,
            out: LinearConfig::new(features, data.num_classes).init(device),
            readout: self.readout,
            dropout: Dropout::new(self.dropout),
        }
    }
}

impl RnnSpec {
    /// The size of a recurrent classifier whose cell has `gates` gates (GRU 3, LSTM 4).
    pub fn footprint(&self, gates: usize, data: &DataInfo) -> Footprint {
        let dirs = if self.bidirectional { 2 } else { 1 };
        let (t, h, g) = (data.seq_len as f64, self.hidden as f64, gates as f64);
        let embed = data.vocab.map_or(Footprint::default(), |v| Footprint {
            params: (v * self.embed) as f64,
            activations: t * self.embed as f64,
        });
        let input = |l: usize| match (l, data.vocab) {
            (0, Some(_)) => self.embed as f64,
            (0, None) => data.channels as f64,
            _ => (dirs * self.hidden) as f64,
        };
        // Per step: the gate pre-activations of both products, the gates and the new state.
        let cell =
            |l: usize| Footprint { params: g * h * (input(l) + h) + 2.0 * g * h, activations: t * (3.0 * g + 2.0) * h };
        let cells: Footprint = (0..self.layers).map(cell).sum::<Footprint>().times(dirs);
        let features = match self.readout {
            Readout::Flatten => data.seq_len * dirs * self.hidden,
            Readout::Last | Readout::Mean => dirs * self.hidden,
        };
        embed + cells + Footprint::linear(features, data.num_classes, 1)
    }
}

impl Family for GruSpec {
    const NAME: &'static str = "gru";
    const OPTIONAL_PARAMS: &'static [&'static str] = &["dropout"];
    const SUMMARY: &'static str = "GRU (PyTorch's equations), optionally bidirectional; flatten/last/mean readout; linear";
    type Model = Rnn;

    fn validate(&self, _data: &DataInfo) -> Result<(), FieldError> {
        self.0.validate()
    }

    fn init(&self, data: &DataInfo, device: &Device) -> Rnn {
        self.0.init(Cell::Gru, data, device)
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        self.0.footprint(3, data)
    }
}

impl Family for LstmSpec {
    const NAME: &'static str = "lstm";
    const OPTIONAL_PARAMS: &'static [&'static str] = &["dropout"];
    const SUMMARY: &'static str = "LSTM (PyTorch's equations), optionally bidirectional; flatten/last/mean readout; linear";
    type Model = Rnn;

    fn validate(&self, _data: &DataInfo) -> Result<(), FieldError> {
        self.0.validate()
    }

    fn init(&self, data: &DataInfo, device: &Device) -> Rnn {
        self.0.init(Cell::Lstm, data, device)
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        self.0.footprint(4, data)
    }
}

impl Rnn {
    /// The input sequence `[time, batch, input]`: the channels of each step, or the token
    /// embeddings on token-id datasets.
    fn sequence(&self, x: Tensor<3>) -> Tensor<3> {
        match &self.embedding {
            Some(e) => e.forward(token_ids(x)).swap_dims(0, 1),
            None => x.swap_dims(0, 1),
        }
    }

    /// The last layer's hidden states `[dirs, time, batch, hidden]`, in time order.
    fn states(&self, x: Tensor<3>) -> Tensor<4> {
        let mut seq = self.sequence(x);
        let mut states = None;
        for (l, fwd) in self.forward.iter().enumerate() {
            if l > 0 {
                seq = self.dropout.forward(seq);
            }
            let cells: Vec<&Recurrent> = std::iter::once(fwd).chain(self.reverse.get(l)).collect();
            // Both directions run side by side, the reverse one over the time-flipped sequence.
            let inputs = match cells.len() {
                1 => seq.clone().unsqueeze_dim(0),
                _ => Tensor::stack(vec![seq.clone(), seq.clone().flip([0])], 0),
            };
            let mut out = Directions::new(&cells).run(inputs);
            if cells.len() == 2 {
                out = Tensor::cat(vec![out.clone().narrow(0, 0, 1), out.narrow(0, 1, 1).flip([1])], 0);
            }
            let [d, t, b, h] = out.dims();
            // The next layer reads both directions of each step: [time, batch, dirs * hidden].
            seq = out.clone().permute([1, 2, 0, 3]).reshape([t, b, d * h]);
            states = Some(out);
        }
        states.expect("validated: at least one layer")
    }
}

impl Classifier for Rnn {
    fn forward(&self, inputs: &Inputs) -> Tensor<2> {
        let states = self.states(inputs.x());
        let [d, t, b, h] = states.dims();
        let features = match self.readout {
            // [B, T, dirs * H] flattened, as PyTorch's `output.reshape(B, -1)`.
            Readout::Flatten => states.permute([2, 1, 0, 3]).reshape([b, t * d * h]),
            // The final state of each direction: the forward one's at the last step, the
            // reverse one's at the first.
            Readout::Last => {
                let finals = (0..d).map(|k| {
                    let step = if k == 0 { t - 1 } else { 0 };
                    states.clone().narrow(0, k, 1).narrow(1, step, 1).reshape([b, h])
                });
                Tensor::cat(finals.collect(), 1)
            }
            Readout::Mean => states.mean_dim(1).permute([2, 1, 0, 3]).reshape([b, d * h]),
        };
        self.out.forward(self.dropout.forward(features))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    use crate::data::digits::info as digits;
    use crate::data::mnist1d::info as mnist1d;

    fn logits(model: &Rnn, data: &DataInfo, batch: usize) -> Tensor<2> {
        let device = Device::flex();
        let x = Tensor::<3>::random([batch, data.seq_len, data.channels], Distribution::Default, &device);
        model.forward(&Inputs { modalities: vec![x] })
    }

    #[test]
    fn defaults_are_the_mnist1d_gru() {
        let device = Device::flex();
        let gru = GruSpec::default().init(&mnist1d(), &device);
        assert_eq!(gru.num_params(), 5134);
        assert_eq!(logits(&gru, &mnist1d(), 3).dims(), [3, 10]);
        // LSTM: 2 directions * (4*6*1 + 4*6*6 + 2*24) + 480*10 + 10.
        let lstm = LstmSpec::default().init(&mnist1d(), &device);
        assert_eq!(lstm.num_params(), 2 * (24 + 144 + 48) + 4810);
        assert_eq!(logits(&lstm, &mnist1d(), 2).dims(), [2, 10]);
    }

    #[test]
    fn readouts_layers_and_directions_set_the_shapes() {
        let device = Device::flex();
        for readout in [Readout::Flatten, Readout::Last, Readout::Mean] {
            for bidirectional in [false, true] {
                let spec = RnnSpec { hidden: 5, layers: 2, bidirectional, readout, embed: 16, dropout: 0.0 };
                let model = spec.init(Cell::Lstm, &digits(), &device);
                let dirs = if bidirectional { 2 } else { 1 };
                let features = if readout == Readout::Flatten { 8 * dirs * 5 } else { dirs * 5 };
                assert_eq!(model.out.weight.dims(), [features, 10]);
                // The second layer reads both directions of the first.
                assert_eq!(model.forward[1].weight_ih.dims(), [dirs * 5, 20]);
                assert_eq!(logits(&model, &digits(), 4).dims(), [4, 10]);
            }
        }
    }

    #[test]
    fn readouts_read_both_directions_in_time_order() {
        // Each readout of a bidirectional model, against each cell run alone (`Recurrent::run`,
        // the reverse one backwards in time), with the identity as classifier so that the
        // logits are the features. The LSTM runs fused here, the GRU composed.
        let device = Device::flex();
        for cell in [Cell::Gru, Cell::Lstm] {
            let x = Tensor::<3>::random([2, 40, 1], Distribution::Default, &device);
            let per_step: Vec<Tensor<2>> = (0..40).map(|i| x.clone().narrow(1, i, 1).reshape([2, 1])).collect();
            let inputs = Inputs { modalities: vec![x] };
            for readout in [Readout::Last, Readout::Mean, Readout::Flatten] {
                let spec = RnnSpec { hidden: 3, readout, ..Default::default() };
                let mut model = spec.init(cell, &mnist1d(), &device);
                let (fwd, rev) = (model.forward[0].run(&per_step, false), model.reverse[0].run(&per_step, true));
                let expected = match readout {
                    Readout::Last => Tensor::cat(vec![fwd[39].clone(), rev[0].clone()], 1),
                    Readout::Mean => {
                        let mean = |h: Vec<Tensor<2>>| Tensor::stack::<3>(h, 1).mean_dim(1).flatten::<2>(1, 2);
                        Tensor::cat(vec![mean(fwd), mean(rev)], 1)
                    }
                    Readout::Flatten => Tensor::cat(fwd.into_iter().zip(rev).flat_map(|(f, r)| [f, r]).collect(), 1),
                };
                let n = expected.dims()[1];
                model.out = LinearConfig::new(n, n).init(&device);
                model.out.weight = Param::from_tensor(Tensor::eye(n, &device));
                model.out.bias = Some(Param::from_tensor(Tensor::zeros([n], &device)));
                let got = model.forward(&inputs).into_data();
                got.assert_approx_eq::<f32>(&expected.into_data(), Tolerance::default());
            }
        }
    }

    /// Outputs and gradients (input, every weight) of two directions run fused and composed.
    fn fused_and_composed(device: &Device) -> [(Vec<f32>, Vec<f32>); 2] {
        let cells: Vec<Recurrent> = (0..2).map(|_| Recurrent::new(Cell::Lstm, 3, 5, device)).collect();
        let x = Tensor::<4>::random([2, 7, 4, 3], Distribution::Default, device).require_grad();
        let probe = Tensor::<4>::random([2, 7, 4, 5], Distribution::Default, device);
        let run = |fused: bool| {
            let dirs = Directions::new(&[&cells[0], &cells[1]]);
            let states = if fused {
                dirs.run(x.clone())
            } else {
                let steps = (0..7).map(|k| x.clone().narrow(1, k, 1).reshape([2, 4, 3]));
                Tensor::stack(dirs.composed(steps), 1)
            };
            let grads = (states.clone() * probe.clone()).sum().backward();
            let mut g: Vec<f32> = x.grad(&grads).unwrap().to_data().try_to_vec().unwrap();
            for c in &cells {
                for w in [c.weight_ih.val(), c.weight_hh.val()] {
                    g.extend(w.grad(&grads).unwrap().to_data().try_to_vec::<f32>().unwrap());
                }
                for b in [c.bias_ih.val(), c.bias_hh.val()] {
                    g.extend(b.grad(&grads).unwrap().to_data().try_to_vec::<f32>().unwrap());
                }
            }
            (states.to_data().try_to_vec().unwrap(), g)
        };
        [run(true), run(false)]
    }

    #[test]
    fn fused_lstm_matches_the_composed_cell() {
        // Both CPU backends have the fused kernel; the composed cell (LibTorch's path) is the
        // reference, gradients of the input included (a GAN's generator trains through them).
        use crate::backend::{Backend, BackendKind, DeviceSel};
        for kind in [BackendKind::Flex, BackendKind::Ndarray] {
            let device = Backend { kind, device: DeviceSel::Cpu }.training_device().unwrap();
            assert!(fused::available(&device));
            let [(fused_out, fused_grads), (out, grads)] = fused_and_composed(&device);
            assert_eq!((fused_out.len(), fused_grads.len()), (2 * 7 * 4 * 5, 2 * 7 * 4 * 3 + 2 * (60 + 100 + 40)));
            for (name, a, b) in [("states", &fused_out, &out), ("gradients", &fused_grads, &grads)] {
                for (k, (a, b)) in a.iter().zip(b.iter()).enumerate() {
                    assert!((a - b).abs() < 1e-5, "{device:?} {name}[{k}]: fused {a} vs composed {b}");
                }
            }
        }
    }

    #[test]
    fn gru_step_matches_the_equations() {
        // One step from h = 0 with hidden 1: r, z = sigmoid(a_x + b); n = tanh(a_n x + b_in + r * b_hn).
        let device = Device::flex();
        let mut cell = Recurrent::new(Cell::Gru, 1, 1, &device);
        cell.weight_ih =
            Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.5f32, -1.0, 2.0], [1, 3]), &device));
        cell.bias_ih = Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.1f32, 0.2, 0.3], [3]), &device));
        cell.bias_hh = Param::from_tensor(Tensor::from_data(TensorData::new(vec![0.0f32, 0.0, 0.4], [3]), &device));
        let x = 0.7f32;
        let sig = |v: f32| 1.0 / (1.0 + (-v).exp());
        let (r, z) = (sig(0.5 * x + 0.1), sig(-x + 0.2));
        let n = (2.0 * x + 0.3 + r * 0.4).tanh();
        let out = cell.run(&[Tensor::from_data(TensorData::new(vec![x], [1, 1]), &device)], false);
        let got = out[0].to_data().try_to_vec::<f32>().unwrap()[0];
        assert!((got - (1.0 - z) * n).abs() < 1e-6, "{got} vs {}", (1.0 - z) * n);
    }

    #[test]
    fn token_ids_are_embedded() {
        let data = DataInfo { seq_len: 6, channels: 1, num_classes: 2, vocab: Some(9), ..Default::default() };
        let model = GruSpec(RnnSpec { embed: 4, ..Default::default() }).init(&data, &Device::flex());
        assert_eq!(model.forward[0].weight_ih.dims(), [4, 18]);
        let x =
            Tensor::<3>::from_data(TensorData::new(vec![1.0f32, 2.0, 8.0, 0.0, 0.0, 0.0], [1, 6, 1]), &Device::flex());
        assert_eq!(model.forward(&Inputs { modalities: vec![x] }).dims(), [1, 2]);
    }

    #[test]
    fn validation_names_the_key() {
        let key = |spec: RnnSpec| GruSpec(spec).validate(&mnist1d()).unwrap_err().key;
        assert_eq!(key(RnnSpec { hidden: 0, ..Default::default() }), "hidden");
        assert_eq!(key(RnnSpec { layers: 0, ..Default::default() }), "layers");
        assert_eq!(key(RnnSpec { embed: 0, ..Default::default() }), "embed");
        let bad: Result<GruSpec, _> = toml::from_str("readout = \"first\"\n");
        assert!(bad.unwrap_err().to_string().contains("first"));
        let bad: Result<LstmSpec, _> = toml::from_str("hiden = 3\n");
        assert!(bad.unwrap_err().to_string().contains("unknown field `hiden`"));
        assert_eq!(key(RnnSpec { dropout: 1.0, ..Default::default() }), "dropout");
    }

    #[test]
    fn dropout_is_left_out_of_the_configuration_at_0_and_trains_differently_above() {
        let json = |spec: &GruSpec| serde_json::to_string(spec).unwrap();
        assert!(!json(&GruSpec::default()).contains("dropout"), "ids of existing trials stay");
        let spec: GruSpec = toml::from_str("dropout = 0.2\n").unwrap();
        assert!(json(&spec).contains("\"dropout\":0.2"));
        // Training (autodiff) outputs change with dropout.
        let data = mnist1d();
        let device = Device::flex().autodiff();
        let plain = GruSpec::default().init(&data, &device);
        let x = Tensor::<3>::random([4, data.seq_len, data.channels], Distribution::Default, &device);
        let with = Rnn { dropout: Dropout::new(0.5), ..plain.clone() };
        let (a, b) = (plain.forward(&Inputs { modalities: vec![x.clone()] }), with.forward(&Inputs { modalities: vec![x] }));
        assert!(a.into_data().as_slice::<f32>().unwrap() != b.into_data().as_slice::<f32>().unwrap());
    }
}
