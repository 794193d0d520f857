//! `training.clip_grad`: gradient clipping as PyTorch's `torch.nn.utils` does it.
//!
//! `{ norm = c }` is `clip_grad_norm_(params, max_norm = c)`: the L2 norm of ALL gradients
//! together (the norm of the per-parameter norms); when it exceeds `c`, every gradient is
//! multiplied by `c / (norm + 1e-6)`. Burn's `GradientClippingConfig::Norm` clips each
//! parameter's gradient by its own norm instead, which is not what Transformer recipes
//! (fairseq, Hugging Face, nanoGPT) mean, so this is burnlab's own code. `{ value = v }` is
//! `clip_grad_value_(params, clip_value = v)`: each gradient entry clamped to `[-v, v]`, by
//! Burn's `GradientClipping::Value`. `tests/fixtures/schedules.json` (written by
//! `scripts/make_schedule_fixtures.py`) holds PyTorch's results on fixed gradients.

use crate::check::FieldError;
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::optim::grad_clipping::GradientClipping;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// `training.clip_grad`: exactly one of `norm` (global L2 norm) or `value` (per entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ClipGradSpec {
    /// The largest global L2 norm of the gradients (`clip_grad_norm_`'s `max_norm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub norm: Option<f64>,
    /// The largest absolute value of a gradient entry (`clip_grad_value_`'s `clip_value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// PyTorch's `clip_grad_norm_` adds this to the norm before dividing.
const NORM_EPS: f64 = 1e-6;

impl ClipGradSpec {
    /// Checks that exactly one positive bound is given; the error names the key relative to
    /// `[training]`.
    pub fn validate(&self) -> Result<(), FieldError> {
        match (self.norm, self.value) {
            (Some(n), None) => FieldError::positive("clip_grad.norm", n),
            (None, Some(v)) => FieldError::positive("clip_grad.value", v),
            (Some(_), Some(_)) => Err(FieldError::new("clip_grad", "has both `norm` and `value`: give one")),
            (None, None) => {
                Err(FieldError::new("clip_grad", "needs `norm = C` (global L2 norm) or `value = V` (per entry)"))
            }
        }
    }

    /// Clips `grads`, the gradients of `module`'s parameters, in place.
    pub fn clip<M: Module>(&self, module: &M, grads: &mut GradientsParams) {
        if let Some(max_norm) = self.norm {
            let mut sum = SquareSum { grads, total: None };
            module.visit(&mut sum);
            let Some(total) = sum.total else { return };
            let norm = f64::from(total.sqrt().into_scalar::<f32>());
            let coef = max_norm / (norm + NORM_EPS);
            if coef < 1.0 {
                module.visit(&mut Rewrite { grads, op: Op::Scale(coef) });
            }
        } else if let Some(v) = self.value {
            module.visit(&mut Rewrite { grads, op: Op::Clamp(GradientClipping::Value(v as f32)) });
        }
    }
}

/// Sums the squares of every gradient entry (on the device, one tensor).
struct SquareSum<'a> {
    grads: &'a GradientsParams,
    total: Option<Tensor<1>>,
}

impl ModuleVisitor for SquareSum<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.get::<D>(param.id) {
            let s = g.square().sum();
            self.total = Some(match self.total.take() {
                Some(t) => t + s,
                None => s,
            });
        }
    }
}

/// What [`Rewrite`] does to each gradient.
enum Op {
    /// Multiply by the factor (the global norm's clipping coefficient).
    Scale(f64),
    /// Clamp each entry (Burn's value clipping).
    Clamp(GradientClipping),
}

/// Replaces every gradient by `op` of it.
struct Rewrite<'a> {
    grads: &'a mut GradientsParams,
    op: Op,
}

impl ModuleVisitor for Rewrite<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if let Some(g) = self.grads.remove::<D>(param.id) {
            let g = match &self.op {
                Op::Scale(factor) => g.mul_scalar(*factor),
                Op::Clamp(clip) => clip.clip_gradient(g),
            };
            self.grads.register::<D>(param.id, g);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, TensorData};

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.to_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn clipped_gradients_match_pytorch() {
        // tests/fixtures/schedules.json is written by scripts/make_schedule_fixtures.py (PyTorch).
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schedules.json");
        let fixture: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let clip = &fixture["clip"];
        let floats = |v: &serde_json::Value| -> Vec<f32> {
            v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
        };
        let device = Device::flex();
        // A [3, 4] weight and a [4] bias: the fixture's two parameters.
        let module: Linear = LinearConfig::new(3, 4).init(&device);
        let bias = module.bias.as_ref().unwrap();
        for case in clip["cases"].as_array().unwrap() {
            let spec: ClipGradSpec = serde_json::from_value(case["spec"].clone()).unwrap();
            spec.validate().unwrap();
            let mut grads = GradientsParams::new();
            grads.register(
                module.weight.id,
                Tensor::<2>::from_data(TensorData::new(floats(&clip["grads"][0]), [3, 4]), &device),
            );
            grads.register(bias.id, Tensor::<1>::from_data(TensorData::new(floats(&clip["grads"][1]), [4]), &device));
            spec.clip(&module, &mut grads);
            let got = [values(grads.get::<2>(module.weight.id).unwrap()), values(grads.get::<1>(bias.id).unwrap())];
            for (got, want) in got.iter().zip(case["clipped"].as_array().unwrap()) {
                for (g, w) in got.iter().zip(floats(want)) {
                    assert!((g - w).abs() <= 1e-6 * w.abs().max(1e-3), "{spec:?}: {g} vs PyTorch's {w}");
                }
            }
        }
    }

    #[test]
    fn exactly_one_positive_bound() {
        let both = ClipGradSpec { norm: Some(1.0), value: Some(1.0) };
        assert_eq!(both.validate().unwrap_err().message, "has both `norm` and `value`: give one");
        assert_eq!(ClipGradSpec::default().validate().unwrap_err().key, "clip_grad");
        assert_eq!(ClipGradSpec { norm: Some(0.0), value: None }.validate().unwrap_err().key, "clip_grad.norm");
        assert_eq!(ClipGradSpec { norm: None, value: Some(-1.0) }.validate().unwrap_err().key, "clip_grad.value");
    }
}
