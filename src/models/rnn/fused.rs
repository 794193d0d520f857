//! The LSTM recurrence as one Burn operation with a hand-written backward pass, for the CPU
//! backends (flex, ndarray, and LibTorch on the CPU).
//!
//! Why: a composed LSTM step is about twenty tensor operations, each recorded by Burn's autodiff
//! and each dispatched on a tensor of a few thousand elements, so at MNIST-1D's sizes the step
//! costs bookkeeping, not arithmetic. PyTorch runs the same recurrence as one fused kernel. Here
//! the whole sequence is one operation of a Burn backend extension (`#[backend_extension]`):
//! the forward pass runs the cell in plain loops over host memory with one matrix product per
//! step (the `gemm` crate, as flex), keeps the activations it needs, and the backward pass is
//! backpropagation through time written out (the equations are in [`Tape::backward`]).
//!
//! Layout: directions first, `xp` is `[dirs, time, batch, 4 * hidden]` (the input term
//! `x W_ih + b_ih + b_hh` of every step, computed outside with one batched matmul), `w_hh` is
//! `[dirs, hidden, 4 * hidden]` (gates `i, f, g, o` stacked as in PyTorch) and the result is
//! the hidden state after every step, `[dirs, time, batch, hidden]`, in each direction's own
//! processing order. The state starts at zero.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, DType, DispatchDevice, Flex, TensorMetadata, backend_extension};
use burn::tensor::{Device, Tensor, TensorData, read_sync};
use std::sync::Arc;

// The ndarray and LibTorch backends are deprecated upstream and supported here by design; this
// extension is their one use outside `crate::backend`, inside the macro's routing as well.
#[allow(deprecated)]
mod registration {
    use super::*;
    use burn::backend::NdArray;

    /// The backends with a fused LSTM recurrence. Burn routes a call to the implementation for
    /// the tensors' backend; [`available`] says whether a device has one. The plain backends
    /// take the default body (the forward pass through host memory); autodiff records the tape.
    #[backend_extension(Flex, NdArray, LibTorch: cfg(feature = "tch"), Autodiff)]
    pub trait LstmBackend: Backend {
        /// The hidden states `[dirs, time, batch, hidden]` of an LSTM run over the input terms
        /// `xp` `[dirs, time, batch, 4 * hidden]` with recurrent weights `w_hh`
        /// `[dirs, hidden, 4 * hidden]`, from a zero state.
        fn lstm_recurrence(xp: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
            forward_only::<Self>(xp, w_hh)
        }
    }

    impl LstmBackend for Flex {}
    impl LstmBackend for NdArray {}
    #[cfg(feature = "tch")]
    impl LstmBackend for burn::backend::LibTorch {}

    /// Whether `device` (or the device under its autodiff wrapper) has the fused recurrence.
    pub fn available(device: &Device) -> bool {
        on_cpu(device.as_dispatch())
    }

    fn on_cpu(device: &DispatchDevice) -> bool {
        match device {
            DispatchDevice::Flex(_) | DispatchDevice::NdArray(_) => true,
            // On a GPU the round trip through host memory would cost more than it saves.
            #[cfg(feature = "tch")]
            DispatchDevice::LibTorch(device) => *device == burn::backend::libtorch::LibTorchDevice::Cpu,
            DispatchDevice::Autodiff(inner) => on_cpu(inner),
        }
    }
}

pub use registration::{LstmBackend, available};

/// The hidden states of an LSTM over `xp` with recurrent weights `w_hh` (shapes in the module
/// docs), as one differentiable operation. Only for devices where [`available`] holds.
pub fn lstm(xp: Tensor<4>, w_hh: Tensor<3>) -> Tensor<4> {
    Tensor::from_dispatch(<burn::backend::Dispatch as LstmBackend>::lstm_recurrence(
        xp.into_dispatch(),
        w_hh.into_dispatch(),
    ))
}

impl<B: Backend, C: CheckpointStrategy> LstmBackend for Autodiff<B, C> {
    fn lstm_recurrence(xp: FloatTensor<Self>, w_hh: FloatTensor<Self>) -> FloatTensor<Self> {
        /// The autodiff node: the tape of the forward pass is its state.
        #[derive(Debug)]
        struct Recurrence;

        impl<B: Backend> Backward<B, 2> for Recurrence {
            type State = (Arc<Tape>, B::Device, DType);

            fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
                let (tape, device, dtype) = ops.state;
                let d_hs = host::<B>(grads.consume::<B>(&ops.node));
                let (d_xp, d_w) = tape.backward(&d_hs);
                let [xp_node, w_node] = ops.parents;
                let Dims { dirs, time, batch, hidden } = tape.dims;
                if let Some(node) = xp_node {
                    let shape = [dirs, time, batch, 4 * hidden];
                    grads.register::<B>(node.id, upload::<B, _>(d_xp, shape, &device, dtype));
                }
                if let Some(node) = w_node {
                    grads.register::<B>(node.id, upload::<B, _>(d_w, [dirs, hidden, 4 * hidden], &device, dtype));
                }
            }
        }

        let prep = Recurrence.prepare::<C>([xp.node(), w_hh.node()]).compute_bound().stateful();
        let (xp, w_hh) = (xp.into_primitive(), w_hh.into_primitive());
        match prep {
            OpsKind::Tracked(prep) => {
                let (device, dtype) = (xp.device(), xp.dtype());
                let tape = Tape::forward(Dims::of(&xp, &w_hh), host::<B>(xp), host::<B>(w_hh));
                let hs = upload::<B, _>(tape.hs.clone(), tape.dims.states(), &device, dtype);
                prep.finish((Arc::new(tape), device, dtype), hs)
            }
            OpsKind::UnTracked(prep) => prep.finish(forward_only::<B>(xp, w_hh)),
        }
    }
}

/// The forward pass without a tape, on any backend (through host memory).
fn forward_only<B: Backend>(xp: FloatTensor<B>, w_hh: FloatTensor<B>) -> FloatTensor<B> {
    let (device, dtype, dims) = (xp.device(), xp.dtype(), Dims::of(&xp, &w_hh));
    let tape = Tape::forward(dims, host::<B>(xp), host::<B>(w_hh));
    upload::<B, _>(tape.hs, dims.states(), &device, dtype)
}

/// A backend tensor of `shape` on `device` from row-major `f32` values, in the inputs' `dtype`.
fn upload<B: Backend, const N: usize>(
    values: Vec<f32>,
    shape: [usize; N],
    device: &B::Device,
    dtype: DType,
) -> FloatTensor<B> {
    B::float_from_data(TensorData::new(values, shape).convert_dtype(dtype), device)
}

/// A backend tensor's elements as `f32` (the kernel computes in `f32`), in row-major order.
fn host<B: Backend>(tensor: FloatTensor<B>) -> Vec<f32> {
    let data = read_sync(B::float_into_data(tensor)).expect("a CPU tensor can be read");
    data.convert::<f32>().try_into_vec::<f32>().expect("converted to f32")
}

/// The sizes of one recurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Directions run side by side (1 or 2).
    pub dirs: usize,
    /// Time steps.
    pub time: usize,
    /// Batch size.
    pub batch: usize,
    /// Hidden size.
    pub hidden: usize,
}

impl Dims {
    fn of<T: TensorMetadata>(xp: &T, w_hh: &T) -> Self {
        let [dirs, time, batch, gates] = xp.shape().dims::<4>();
        let [w_dirs, hidden, w_gates] = w_hh.shape().dims::<3>();
        assert_eq!((w_dirs, w_gates, gates), (dirs, gates, 4 * hidden), "lstm: xp and w_hh disagree");
        Dims { dirs, time, batch, hidden }
    }

    fn states(self) -> [usize; 4] {
        [self.dirs, self.time, self.batch, self.hidden]
    }
}

/// What the backward pass needs from the forward pass, in host memory (`[dirs, time, batch, _]`).
#[derive(Debug)]
pub struct Tape {
    /// The sizes.
    pub dims: Dims,
    /// Recurrent weights `[dirs, hidden, 4 * hidden]`.
    w_hh: Vec<f32>,
    /// Gate activations `i, f, g, o` after their nonlinearities, `[.., 4 * hidden]`.
    gates: Vec<f32>,
    /// Cell states `[.., hidden]`.
    cells: Vec<f32>,
    /// `tanh` of the cell states `[.., hidden]`.
    tanh_cells: Vec<f32>,
    /// Hidden states `[.., hidden]`: the operation's output.
    pub hs: Vec<f32>,
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// `tanh(x) = 1 - 2 / (exp(2x) + 1)`: one `expf`, where libm's `tanhf` (through `expm1f`) cost
/// three times as much and was most of the step. Absolute error about 1e-7 (cancellation near
/// 0), saturating to exactly ±1.
fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / ((2.0 * x).exp() + 1.0)
}

impl Tape {
    /// Runs the recurrence: for each step, `a = xp_t + h_{t-1} W_hh`, `i, f, o = sigmoid(a_i, a_f,
    /// a_o)`, `g = tanh(a_g)`, `c_t = f c_{t-1} + i g`, `h_t = o tanh(c_t)` (PyTorch's `nn.LSTM`).
    pub fn forward(dims: Dims, xp: Vec<f32>, w_hh: Vec<f32>) -> Tape {
        let Dims { dirs, time, batch, hidden: h } = dims;
        let g4 = 4 * h;
        let mut gates = xp;
        let mut cells = vec![0.0; dirs * time * batch * h];
        let mut tanh_cells = cells.clone();
        let mut hs = cells.clone();
        for d in 0..dirs {
            let w = &w_hh[d * h * g4..(d + 1) * h * g4];
            for t in 0..time {
                let step = |k: usize| ((d * time + t) * batch) * k;
                let a = &mut gates[step(g4)..step(g4) + batch * g4];
                if t > 0 {
                    let prev = &hs[step(h) - batch * h..step(h)];
                    gemm(batch, h, g4, Mat::rows(prev, h), Mat::rows(w, g4), 1.0, a);
                }
                let now = step(h)..step(h) + batch * h;
                let (c_all, tc) = (&mut cells[..], &mut tanh_cells[now.clone()]);
                let h_now = &mut hs[now.clone()];
                for b in 0..batch {
                    let a = &mut a[b * g4..(b + 1) * g4];
                    for j in 0..h {
                        let (i, f) = (sigmoid(a[j]), sigmoid(a[h + j]));
                        let (g, o) = (tanh(a[2 * h + j]), sigmoid(a[3 * h + j]));
                        let c_prev = if t > 0 { c_all[now.start - batch * h + b * h + j] } else { 0.0 };
                        let c = f * c_prev + i * g;
                        c_all[now.start + b * h + j] = c;
                        tc[b * h + j] = tanh(c);
                        h_now[b * h + j] = o * tc[b * h + j];
                        (a[j], a[h + j], a[2 * h + j], a[3 * h + j]) = (i, f, g, o);
                    }
                }
            }
        }
        Tape { dims, w_hh, gates, cells, tanh_cells, hs }
    }

    /// Backpropagation through time from the gradient of the hidden states `d_hs`; returns the
    /// gradients of `xp` (the pre-activation gradients `da`) and of `w_hh`. Per step, backwards:
    /// `dh = d_hs_t + dh_next`, `dc = dc_next + dh o (1 - tanh(c)^2)`,
    /// `da_i = dc g i (1 - i)`, `da_f = dc c_{t-1} f (1 - f)`, `da_g = dc i (1 - g^2)`,
    /// `da_o = dh tanh(c) o (1 - o)`, then `dc_next = dc f`, `dh_next = da W_hh^T`, and
    /// `dW_hh = sum_t h_{t-1}^T da_t`.
    pub fn backward(&self, d_hs: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let Dims { dirs, time, batch, hidden: h } = self.dims;
        let g4 = 4 * h;
        let mut da = vec![0.0; self.gates.len()];
        let mut d_w = vec![0.0; self.w_hh.len()];
        let mut dh_next = vec![0.0; batch * h];
        let mut dc_next = vec![0.0; batch * h];
        for d in 0..dirs {
            let w = &self.w_hh[d * h * g4..(d + 1) * h * g4];
            dh_next.fill(0.0);
            dc_next.fill(0.0);
            for t in (0..time).rev() {
                let step = |k: usize| ((d * time + t) * batch) * k;
                let (s_h, s_g) = (step(h), step(g4));
                for b in 0..batch {
                    for j in 0..h {
                        let k = s_h + b * h + j;
                        let a = &self.gates[s_g + b * g4..s_g + (b + 1) * g4];
                        let (i, f, g, o) = (a[j], a[h + j], a[2 * h + j], a[3 * h + j]);
                        let c_prev = if t > 0 { self.cells[k - batch * h] } else { 0.0 };
                        let tc = self.tanh_cells[k];
                        let dh = d_hs[k] + dh_next[b * h + j];
                        let dc = dc_next[b * h + j] + dh * o * (1.0 - tc * tc);
                        dc_next[b * h + j] = dc * f;
                        let out = &mut da[s_g + b * g4..s_g + (b + 1) * g4];
                        out[j] = dc * g * i * (1.0 - i);
                        out[h + j] = dc * c_prev * f * (1.0 - f);
                        out[2 * h + j] = dc * i * (1.0 - g * g);
                        out[3 * h + j] = dh * tc * o * (1.0 - o);
                    }
                }
                if t > 0 {
                    let da_t = &da[s_g..s_g + batch * g4];
                    // dh_next = da_t W^T: W^T is W read with swapped strides.
                    gemm(batch, g4, h, Mat::rows(da_t, g4), Mat::cols(w, g4), 0.0, &mut dh_next);
                }
            }
            if time > 1 {
                // dW = H_prev^T DA over all steps t >= 1 and the batch: one product.
                let rows = (time - 1) * batch;
                let base = d * time * batch;
                let prev = &self.hs[base * h..(base + rows) * h];
                let da_d = &da[(base + batch) * g4..(base + batch + rows) * g4];
                gemm(h, rows, g4, Mat::cols(prev, h), Mat::rows(da_d, g4), 0.0, &mut d_w[d * h * g4..(d + 1) * h * g4]);
            }
        }
        (da, d_w)
    }
}

/// A read-only matrix view: elements and (row, column) strides.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    row_stride: usize,
    col_stride: usize,
}

impl<'a> Mat<'a> {
    /// Row-major with `cols` columns.
    fn rows(data: &'a [f32], cols: usize) -> Self {
        Mat { data, row_stride: cols, col_stride: 1 }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    fn cols(data: &'a [f32], cols: usize) -> Self {
        Mat { data, row_stride: 1, col_stride: cols }
    }

    /// Whether an `r x c` matrix with these strides lies inside `data`.
    fn fits(&self, r: usize, c: usize) -> bool {
        r == 0 || c == 0 || (r - 1) * self.row_stride + (c - 1) * self.col_stride < self.data.len()
    }
}

/// Products of at least this many multiply-adds run on the trial's rayon pool (flex's own
/// threshold); smaller ones, such as one step of MNIST-1D's LSTM, on the calling thread.
const PARALLEL_THRESHOLD: usize = 192 * 192 * 192;

/// `out = beta * out + a b` for `a` `[m, k]`, `b` `[k, n]` and row-major `out` `[m, n]`.
fn gemm(m: usize, k: usize, n: usize, a: Mat, b: Mat, beta: f32, out: &mut [f32]) {
    assert!(a.fits(m, k) && b.fits(k, n) && out.len() == m * n, "gemm: operands out of bounds");
    let parallelism =
        if m * k * n >= PARALLEL_THRESHOLD { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
    let stride = |s: usize| s as isize;
    // SAFETY: the assertion above keeps every element the product reads or writes in bounds.
    // (`gemm`'s own names: `dst = alpha dst + beta lhs rhs`, `dst` read only when asked.)
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            stride(n),
            beta != 0.0,
            a.data.as_ptr(),
            stride(a.col_stride),
            stride(a.row_stride),
            b.data.as_ptr(),
            stride(b.col_stride),
            stride(b.row_stride),
            beta,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic pseudo-random vector.
    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                (s % 2000) as f32 / 1000.0 - 1.0
            })
            .collect()
    }

    /// The loss `sum(d_hs * hs)` of a forward pass, in f64 for finite differences.
    fn loss(dims: Dims, xp: &[f32], w: &[f32], probe: &[f32]) -> f64 {
        let tape = Tape::forward(dims, xp.to_vec(), w.to_vec());
        tape.hs.iter().zip(probe).map(|(h, p)| (*h as f64) * (*p as f64)).sum()
    }

    #[test]
    fn backward_matches_finite_differences() {
        let dims = Dims { dirs: 2, time: 5, batch: 3, hidden: 4 };
        let xp = values(2 * 5 * 3 * 16, 1);
        let w: Vec<f32> = values(2 * 4 * 16, 2).iter().map(|v| v * 0.5).collect();
        let probe = values(2 * 5 * 3 * 4, 3);
        let (d_xp, d_w) = Tape::forward(dims, xp.clone(), w.clone()).backward(&probe);
        let eps = 1e-2f32;
        let numeric = |which: usize, k: usize| {
            let (mut xp_p, mut w_p) = (xp.clone(), w.clone());
            let (mut xp_m, mut w_m) = (xp.clone(), w.clone());
            if which == 0 {
                xp_p[k] += eps;
                xp_m[k] -= eps;
            } else {
                w_p[k] += eps;
                w_m[k] -= eps;
            }
            (loss(dims, &xp_p, &w_p, &probe) - loss(dims, &xp_m, &w_m, &probe)) / (2.0 * eps as f64)
        };
        for k in (0..xp.len()).step_by(7) {
            let n = numeric(0, k);
            assert!((d_xp[k] as f64 - n).abs() < 2e-3, "d_xp[{k}] {} vs {n}", d_xp[k]);
        }
        for (k, got) in d_w.iter().enumerate() {
            let n = numeric(1, k);
            assert!((*got as f64 - n).abs() < 2e-3, "d_w[{k}] {got} vs {n}");
        }
    }

    #[test]
    fn tanh_is_close_to_libm() {
        for k in -2000..=2000 {
            let x = k as f32 / 100.0;
            assert!((tanh(x) - x.tanh()).abs() < 2e-7, "tanh({x})");
        }
        assert_eq!((tanh(100.0), tanh(-100.0)), (1.0, -1.0));
        assert!(tanh(f32::NAN).is_nan());
    }

    #[test]
    fn one_step_is_the_cell_equations() {
        // Hidden 1, one step from zero: h = o tanh(i g).
        let dims = Dims { dirs: 1, time: 1, batch: 1, hidden: 1 };
        let tape = Tape::forward(dims, vec![0.3, -0.2, 0.7, 1.1], vec![0.0; 4]);
        let c = sigmoid(0.3) * 0.7f32.tanh();
        assert!((tape.hs[0] - sigmoid(1.1) * c.tanh()).abs() < 2e-7);
    }
}
