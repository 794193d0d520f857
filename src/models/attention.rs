//! `attention`: a Transformer-encoder classifier built on multi-head self-attention.
//!
//! Tokens are the time steps (or patches of `patch` steps, or embedded token ids), attention
//! runs over the sequence axis, and a mean or class-token pooling feeds a linear classifier.

use super::layers::{Dropout, padding_mask, token_embedding, token_ids};
use super::{Classifier, Family, Footprint, Inputs};
use crate::check::FieldError;
use crate::check::{at_least_one, probability};
use crate::data::DataInfo;
use burn::module::{Module, Param};
use burn::nn::{Embedding, Initializer, LayerNorm, LayerNormConfig, Linear, LinearConfig, generate_sinusoids};
use burn::tensor::activation::{relu, softmax};
use burn::tensor::module::attention;
use burn::tensor::{Bool, Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

/// Where the layer norms sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Norm {
    /// `x + f(norm(x))`, with a final norm before pooling.
    #[default]
    Pre,
    /// `norm(x + f(x))` (the original Transformer; PyTorch's default).
    Post,
}

/// The positional encoding added to the token embeddings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Positional {
    /// None: the model sees a set of tokens.
    None,
    /// Fixed sine/cosine encodings (needs an even `d_model`).
    Sinusoidal,
    /// A learned vector per position.
    #[default]
    Learned,
}

/// How the token outputs become one vector per example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Pool {
    /// The mean over (non-padding) tokens.
    #[default]
    Mean,
    /// The output of a learned class token prepended to the sequence.
    Cls,
}

/// Parameters of the `attention` family.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AttentionSpec {
    /// Embedding width (`heads * head_dim`).
    pub d_model: usize,
    /// Attention heads; must divide `d_model`.
    pub heads: usize,
    /// Hidden width of the feed-forward block.
    pub ff: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Dropout on the attention weights, the feed-forward hidden layer and both residual branches.
    pub dropout: f64,
    /// `"pre"` or `"post"` layer norm.
    pub norm: Norm,
    /// `"none"`, `"sinusoidal"` or `"learned"`.
    pub positional: Positional,
    /// Time steps per token (a linear embedding of each patch); 1 on token-id datasets.
    pub patch: usize,
    /// `"mean"` or `"cls"`.
    pub pool: Pool,
}

impl Default for AttentionSpec {
    fn default() -> Self {
        Self {
            d_model: 32,
            heads: 4,
            ff: 64,
            layers: 2,
            dropout: 0.1,
            norm: Norm::Pre,
            positional: Positional::Learned,
            patch: 1,
            pool: Pool::Mean,
        }
    }
}

/// Multi-head self-attention: separate query, key, value and output projections,
/// `head_dim = d_model / heads`, scores scaled by `1/sqrt(head_dim)`, an optional key-padding
/// mask, softmax and dropout on the attention weights. Same math as PyTorch's
/// `nn.MultiheadAttention` (with `batch_first = true`).
#[derive(Module, Debug)]
pub struct SelfAttention {
    /// Query projection.
    pub query: Linear,
    /// Key projection.
    pub key: Linear,
    /// Value projection.
    pub value: Linear,
    /// Output projection.
    pub output: Linear,
    /// Dropout on the attention weights.
    pub dropout: Dropout,
    /// Number of heads.
    pub heads: usize,
}

impl SelfAttention {
    /// A block for `d_model` split into `heads` heads, with attention-weight dropout `dropout`.
    pub fn new(d_model: usize, heads: usize, dropout: f64, device: &Device) -> Self {
        let proj = || LinearConfig::new(d_model, d_model).init(device);
        SelfAttention {
            query: proj(),
            key: proj(),
            value: proj(),
            output: proj(),
            dropout: Dropout::new(dropout),
            heads,
        }
    }

    /// Attends over the sequence axis of `x` `[batch, seq, d_model]`; `pad` `[batch, seq]` is
    /// `true` for keys to ignore.
    ///
    /// Why two paths: training (an autodiff device) needs attention dropout, which Burn's fused
    /// `module::attention` lacks, and under autodiff that op falls back to composed ops anyway
    /// (with a few more of them); so training uses [`Sdpa::Composed`]. Evaluation (a plain
    /// device) uses [`Sdpa::Fused`], which flex runs as a single kernel without intermediate
    /// tensors. Both match PyTorch (`tests/parity.rs`); `benches/attention.rs` times them.
    pub fn forward(&self, x: Tensor<3>, pad: Option<Tensor<2, Bool>>) -> Tensor<3> {
        self.attend(x.clone(), x, pad)
    }

    /// Attention of `queries` `[batch, q, d_model]` over `context` `[batch, k, d_model]` (keys and
    /// values; self-attention when both are the same tensor); `pad` `[batch, k]` is `true` for
    /// keys to ignore. Same math as PyTorch's `mha(queries, context, context)`.
    pub fn attend(&self, queries: Tensor<3>, context: Tensor<3>, pad: Option<Tensor<2, Bool>>) -> Tensor<3> {
        let sdpa = if queries.device().is_autodiff() { Sdpa::Composed } else { Sdpa::Fused };
        self.attend_with(queries, context, pad, sdpa)
    }

    /// [`Self::attend`] with the scaled dot-product attention computed as `sdpa` says.
    pub fn attend_with(
        &self,
        queries: Tensor<3>,
        context: Tensor<3>,
        pad: Option<Tensor<2, Bool>>,
        sdpa: Sdpa,
    ) -> Tensor<3> {
        let ([b, tq, d], [_, tk, _]) = (queries.dims(), context.dims());
        let (h, dh) = (self.heads, d / self.heads);
        let heads =
            |proj: &Linear, x: &Tensor<3>, t: usize| proj.forward(x.clone()).reshape([b, t, h, dh]).swap_dims(1, 2);
        let q = heads(&self.query, &queries, tq);
        let (k, v) = (heads(&self.key, &context, tk), heads(&self.value, &context, tk));
        let mask = pad.map(|m| m.reshape([b, 1, 1, tk]).expand([b, h, tq, tk]));
        let context = match sdpa {
            Sdpa::Composed => {
                // Scaling q ([b, h, t, dh]) rather than the scores ([b, h, t, t]) is the same math.
                let scores = q.mul_scalar(1.0 / (dh as f64).sqrt()).matmul(k.swap_dims(2, 3));
                // A finite fill keeps a row with every key masked finite (uniform weights), not NaN.
                let scores = match mask {
                    Some(m) => scores.mask_fill(m, -1.0e9),
                    None => scores,
                };
                self.dropout.forward(softmax(scores, 3)).matmul(v)
            }
            Sdpa::Fused => attention(q, k, v, mask, None, Default::default()),
        };
        self.output.forward(context.swap_dims(1, 2).reshape([b, tq, d]))
    }
}

/// How [`SelfAttention`] computes `softmax(q k^T / sqrt(head_dim)) v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sdpa {
    /// Burn tensor ops (matmul, softmax, dropout on the weights, matmul).
    Composed,
    /// Burn's fused `module::attention` (no attention dropout).
    Fused,
}

/// One encoder layer: self-attention and a feed-forward block, each in a residual branch with
/// dropout, with pre- or post- layer norm.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    /// The attention block.
    pub attention: SelfAttention,
    /// Feed-forward input layer `d_model -> ff`.
    pub ff_in: Linear,
    /// Feed-forward output layer `ff -> d_model`.
    pub ff_out: Linear,
    /// Norm of the attention branch.
    pub norm_attention: LayerNorm,
    /// Norm of the feed-forward branch.
    pub norm_ff: LayerNorm,
    /// Residual and feed-forward dropout.
    pub dropout: Dropout,
    /// Pre-norm (else post-norm).
    pub pre_norm: bool,
}

impl EncoderLayer {
    fn new(spec: &AttentionSpec, device: &Device) -> Self {
        EncoderLayer {
            attention: SelfAttention::new(spec.d_model, spec.heads, spec.dropout, device),
            ff_in: LinearConfig::new(spec.d_model, spec.ff).init(device),
            ff_out: LinearConfig::new(spec.ff, spec.d_model).init(device),
            norm_attention: LayerNormConfig::new(spec.d_model).init(device),
            norm_ff: LayerNormConfig::new(spec.d_model).init(device),
            dropout: Dropout::new(spec.dropout),
            pre_norm: spec.norm == Norm::Pre,
        }
    }

    fn feed_forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.ff_out.forward(self.dropout.forward(relu(self.ff_in.forward(x))))
    }

    /// Applies the layer to `[batch, seq, d_model]`.
    pub fn forward(&self, x: Tensor<3>, pad: Option<Tensor<2, Bool>>) -> Tensor<3> {
        if self.pre_norm {
            let x = x.clone() + self.dropout.forward(self.attention.forward(self.norm_attention.forward(x), pad));
            x.clone() + self.dropout.forward(self.feed_forward(self.norm_ff.forward(x)))
        } else {
            let x = self.norm_attention.forward(x.clone() + self.dropout.forward(self.attention.forward(x, pad)));
            self.norm_ff.forward(x.clone() + self.dropout.forward(self.feed_forward(x)))
        }
    }
}

/// The Transformer-encoder classifier.
#[derive(Module, Debug)]
pub struct Transformer {
    /// Token-id embedding (token-id datasets).
    pub token_embedding: Option<Embedding>,
    /// Linear embedding of each patch of `patch` steps (other datasets).
    pub patch_embedding: Option<Linear>,
    /// The class token `[1, 1, d_model]` (`pool = "cls"`).
    pub cls: Option<Param<Tensor<3>>>,
    /// Learned positional encodings `[1, tokens, d_model]`.
    pub learned_positions: Option<Param<Tensor<3>>>,
    /// Fixed sinusoidal encodings `[1, tokens, d_model]` (a constant, not trained).
    pub sinusoids: Option<Tensor<3>>,
    /// The encoder layers.
    pub layers: Vec<EncoderLayer>,
    /// Final norm (pre-norm only).
    pub final_norm: Option<LayerNorm>,
    /// The classifier on the pooled vector.
    pub head: Linear,
    /// Time steps per token.
    pub patch: usize,
    /// Pooling.
    #[module(skip)]
    pub pool: Pool,
}

impl Family for AttentionSpec {
    const NAME: &'static str = "attention";
    const SUMMARY: &'static str = "Transformer encoder: multi-head self-attention + feed-forward, pre/post norm; pool; linear";
    type Model = Transformer;

    fn validate(&self, data: &DataInfo) -> Result<(), FieldError> {
        at_least_one("d_model", self.d_model)?;
        at_least_one("heads", self.heads)?;
        at_least_one("ff", self.ff)?;
        at_least_one("layers", self.layers)?;
        at_least_one("patch", self.patch)?;
        probability("dropout", self.dropout)?;
        if !self.d_model.is_multiple_of(self.heads) {
            let msg = format!("must divide `d_model` ({}), got {}", self.d_model, self.heads);
            return Err(FieldError::new("heads", msg));
        }
        if self.positional == Positional::Sinusoidal && !self.d_model.is_multiple_of(2) {
            return Err(FieldError::new("d_model", "must be even with `positional = \"sinusoidal\"`"));
        }
        if data.vocab.is_some() && self.patch != 1 {
            return Err(FieldError::new("patch", "must be 1 on a token-id dataset (each token is embedded)"));
        }
        if !data.seq_len.is_multiple_of(self.patch) {
            let msg = format!("must divide the sequence length ({}), got {}", data.seq_len, self.patch);
            return Err(FieldError::new("patch", msg));
        }
        Ok(())
    }

    fn init(&self, data: &DataInfo, device: &Device) -> Transformer {
        let d = self.d_model;
        let patch = self.patch.max(1);
        let tokens = data.seq_len / patch + usize::from(self.pool == Pool::Cls);
        let small = Initializer::Normal { mean: 0.0, std: 0.02 };
        let token_embedding = token_embedding(data, d, device);
        let patch_embedding =
            token_embedding.is_none().then(|| LinearConfig::new(patch * data.channels, d).init(device));
        Transformer {
            token_embedding,
            patch_embedding,
            cls: (self.pool == Pool::Cls).then(|| small.init([1, 1, d], device)),
            learned_positions: (self.positional == Positional::Learned).then(|| small.init([1, tokens, d], device)),
            sinusoids: (self.positional == Positional::Sinusoidal)
                .then(|| generate_sinusoids(tokens, d, tokens.max(10_000), device).unsqueeze::<3>()),
            layers: (0..self.layers).map(|_| EncoderLayer::new(self, device)).collect(),
            final_norm: (self.norm == Norm::Pre).then(|| LayerNormConfig::new(d).init(device)),
            head: LinearConfig::new(d, data.num_classes).init(device),
            patch,
            pool: self.pool,
        }
    }

    fn footprint(&self, data: &DataInfo) -> Footprint {
        let patch = self.patch.max(1);
        let tokens = data.seq_len / patch + usize::from(self.pool == Pool::Cls);
        let (n, d) = (tokens as f64, self.d_model as f64);
        let embed = match data.vocab {
            Some(v) => Footprint { params: (v * self.d_model) as f64, activations: n * d },
            None => Footprint::linear(patch * data.channels, self.d_model, tokens),
        };
        let positions = Footprint { params: n * d + d, activations: n * d };
        // Q, K, V, output, norms and residuals; the feed-forward pair; the scores and softmax.
        let attention = Footprint::linear(self.d_model, self.d_model, tokens).times(4)
            + Footprint::linear(self.d_model, self.ff, tokens)
            + Footprint::linear(self.ff, self.d_model, tokens)
            + Footprint { params: 4.0 * d, activations: 6.0 * n * d + n * self.ff as f64 }
            + Footprint::values(3.0 * self.heads as f64 * n * n);
        embed + positions + attention.times(self.layers) + Footprint::linear(self.d_model, data.num_classes, 1)
    }
}

impl Transformer {
    /// Token embeddings `[batch, tokens, d_model]` and the padding mask (token-id datasets).
    fn embed(&self, x: Tensor<3>) -> (Tensor<3>, Option<Tensor<2, Bool>>) {
        match (&self.token_embedding, &self.patch_embedding) {
            (Some(e), _) => {
                let ids = token_ids(x);
                (e.forward(ids.clone()), Some(padding_mask(ids)))
            }
            (None, Some(p)) => {
                let [b, t, c] = x.dims();
                (p.forward(x.reshape([b, t / self.patch, self.patch * c])), None)
            }
            (None, None) => unreachable!("init builds one of the two embeddings"),
        }
    }
}

impl Classifier for Transformer {
    fn forward(&self, inputs: &Inputs) -> Tensor<2> {
        let (mut h, mut pad) = self.embed(inputs.x());
        let [b, _, d] = h.dims();
        if let Some(cls) = &self.cls {
            h = Tensor::cat(vec![cls.val().expand([b, 1, d]), h], 1);
            // The class token is never padding.
            let keep = |m: Tensor<2, Bool>| Tensor::from_bool(TensorData::new(vec![false; b], [b, 1]), &m.device());
            pad = pad.map(|m| Tensor::cat(vec![keep(m.clone()), m], 1));
        }
        if let Some(pos) = &self.learned_positions {
            h = h + pos.val();
        }
        if let Some(pos) = &self.sinusoids {
            h = h + pos.clone();
        }
        for layer in &self.layers {
            h = layer.forward(h, pad.clone());
        }
        if let Some(norm) = &self.final_norm {
            h = norm.forward(h);
        }
        let pooled = match (self.pool, pad) {
            (Pool::Cls, _) => h.narrow(1, 0, 1).flatten(1, 2),
            (Pool::Mean, None) => h.mean_dim(1).flatten(1, 2),
            (Pool::Mean, Some(m)) => {
                let keep = m.bool_not().float().unsqueeze_dim::<3>(2);
                let count = keep.clone().sum_dim(1).clamp_min(1.0);
                (h * keep).sum_dim(1).div(count).flatten(1, 2)
            }
        };
        self.head.forward(pooled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};

    use crate::data::digits::info as digits;
    use crate::data::mnist1d::info as mnist1d;

    fn text() -> DataInfo {
        DataInfo { seq_len: 6, channels: 1, num_classes: 3, vocab: Some(12), ..Default::default() }
    }

    fn logits(spec: &AttentionSpec, data: &DataInfo, x: Tensor<3>) -> Tensor<2> {
        spec.validate(data).unwrap();
        spec.init(data, &x.device()).forward(&Inputs { modalities: vec![x] })
    }

    #[test]
    fn defaults_build_a_small_encoder() {
        let device = Device::flex();
        let model = AttentionSpec::default().init(&mnist1d(), &device);
        // Embedding 1*32+32; positions 40*32; per layer 4*(32*32+32) + (32*64+64) + (64*32+32) + 2*64;
        // final norm 64; head 32*10+10.
        assert_eq!(model.num_params(), 64 + 1280 + 2 * (4224 + 4192 + 128) + 64 + 330);
        let x = Tensor::<3>::random([3, 40, 1], Distribution::Default, &device);
        assert_eq!(logits(&AttentionSpec::default(), &mnist1d(), x).dims(), [3, 10]);
    }

    #[test]
    fn every_option_runs_on_sequences_and_images() {
        let device = Device::flex().autodiff();
        for (norm, positional, pool, patch) in [
            (Norm::Post, Positional::Sinusoidal, Pool::Cls, 4),
            (Norm::Pre, Positional::None, Pool::Mean, 2),
            (Norm::Post, Positional::Learned, Pool::Cls, 1),
        ] {
            let spec = AttentionSpec {
                d_model: 8,
                heads: 2,
                ff: 16,
                layers: 2,
                norm,
                positional,
                pool,
                patch,
                ..Default::default()
            };
            for data in [mnist1d(), digits()] {
                spec.validate(&data).unwrap();
                let model = spec.init(&data, &device);
                let tokens = data.seq_len / patch + usize::from(pool == Pool::Cls);
                if let Some(p) = &model.learned_positions {
                    assert_eq!(p.dims(), [1, tokens, 8]);
                }
                if let Some(s) = &model.sinusoids {
                    assert_eq!(s.dims(), [1, tokens, 8]);
                }
                let embedding = &model.patch_embedding.as_ref().unwrap().weight;
                assert_eq!(embedding.dims(), [patch * data.channels, 8]);
                let x = Tensor::<3>::random([2, data.seq_len, data.channels], Distribution::Default, &device);
                let out = model.forward(&Inputs { modalities: vec![x] });
                assert_eq!(out.dims(), [2, 10]);
                // Gradients reach the embedding through every layer.
                let grads = out.sum().backward();
                let g = embedding.val().grad(&grads).unwrap();
                assert!(g.abs().sum().into_scalar::<f32>() > 0.0);
            }
        }
    }

    #[test]
    fn token_ids_are_embedded_and_padding_is_ignored() {
        let device = Device::flex();
        for pool in [Pool::Mean, Pool::Cls] {
            let spec = AttentionSpec { d_model: 8, heads: 2, pool, positional: Positional::None, ..Default::default() };
            spec.validate(&text()).unwrap();
            let model = spec.init(&text(), &device);
            assert!(model.patch_embedding.is_none());
            let ids = |v: Vec<f32>| {
                let n = v.len();
                Tensor::<3>::from_data(TensorData::new(v, [1, n, 1]), &device)
            };
            let run = |x| model.forward(&Inputs { modalities: vec![x] });
            // Without positions the model reads any length: padded, it must give the logits of
            // its tokens alone (masked keys and a masked mean).
            let padded = run(ids(vec![3.0, 5.0, 7.0, 0.0, 0.0, 0.0]));
            let alone = run(ids(vec![3.0, 5.0, 7.0]));
            padded.into_data().assert_approx_eq::<f32>(&alone.into_data(), Tolerance::absolute(1e-5));
        }
    }

    #[test]
    fn masked_keys_do_not_change_the_output() {
        let device = Device::flex();
        let block = SelfAttention::new(8, 2, 0.0, &device);
        let x = Tensor::<3>::random([1, 5, 8], Distribution::Default, &device);
        let noise = Tensor::<3>::random([1, 2, 8], Distribution::Default, &device);
        let y = Tensor::cat(vec![x.clone().narrow(1, 0, 3), noise], 1);
        let mask =
            Tensor::<2, Bool>::from_bool(TensorData::new(vec![false, false, false, true, true], [1, 5]), &device);
        let out_x = block.forward(x, Some(mask.clone())).narrow(1, 0, 3);
        let out_y = block.forward(y, Some(mask)).narrow(1, 0, 3);
        out_x.into_data().assert_approx_eq::<f32>(&out_y.into_data(), Tolerance::absolute(1e-6));
    }

    #[test]
    fn fused_and_composed_paths_agree() {
        // Training (autodiff) takes the composed form, evaluation (`valid()`, plain) the fused op.
        let train_device = Device::flex().autodiff();
        let trained = SelfAttention::new(8, 2, 0.0, &train_device);
        let evaluated = trained.valid();
        let x = Tensor::<3>::random([2, 5, 8], Distribution::Default, &train_device);
        let mask_data = TensorData::new([false; 8].into_iter().chain([true; 2]).collect::<Vec<_>>(), [2, 5]);
        let eval_device = x.clone().without_autodiff().device();
        assert!(!eval_device.is_autodiff());
        for masked in [false, true] {
            let mask = |d: &Device| masked.then(|| Tensor::<2, Bool>::from_bool(mask_data.clone(), d));
            let composed = trained.forward(x.clone(), mask(&train_device)).without_autodiff();
            let fused = evaluated.forward(x.clone().without_autodiff(), mask(&eval_device));
            fused.into_data().assert_approx_eq::<f32>(&composed.into_data(), Tolerance::absolute(1e-6));
        }
    }

    #[test]
    fn validation_names_the_key() {
        let key = |spec: AttentionSpec, data: &DataInfo| spec.validate(data).unwrap_err().key;
        assert_eq!(key(AttentionSpec { heads: 3, ..Default::default() }, &mnist1d()), "heads");
        assert_eq!(key(AttentionSpec { heads: 0, ..Default::default() }, &mnist1d()), "heads");
        assert_eq!(key(AttentionSpec { d_model: 0, ..Default::default() }, &mnist1d()), "d_model");
        assert_eq!(key(AttentionSpec { ff: 0, ..Default::default() }, &mnist1d()), "ff");
        assert_eq!(key(AttentionSpec { layers: 0, ..Default::default() }, &mnist1d()), "layers");
        assert_eq!(key(AttentionSpec { dropout: 1.0, ..Default::default() }, &mnist1d()), "dropout");
        assert_eq!(key(AttentionSpec { patch: 3, ..Default::default() }, &mnist1d()), "patch");
        assert_eq!(key(AttentionSpec { patch: 2, ..Default::default() }, &text()), "patch");
        let odd = AttentionSpec { d_model: 9, heads: 3, positional: Positional::Sinusoidal, ..Default::default() };
        assert_eq!(key(odd, &mnist1d()), "d_model");
        let bad: Result<AttentionSpec, _> = toml::from_str("norm = \"middle\"\n");
        assert!(bad.unwrap_err().to_string().contains("middle"));
    }
}
