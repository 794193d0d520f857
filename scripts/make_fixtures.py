#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for burnlab's numerical parity tests.

Writes tests/fixtures/torch/{linear,mlp,cnn,gru,lstm,attention}.json.

Regenerate (deterministic: running it twice gives byte-identical files):
    PY="$(scripts/setup-torch-venv | tail -n1)/bin/python"
    "$PY" scripts/make_fixtures.py            # or: --out-dir DIR
    git diff --exit-code tests/fixtures/torch

The models are those of scripts/bench_torch.py (MNIST-1D repository models).
Everything is float32 on CPU, one thread, deterministic algorithms. Floats are
written as the repr of the float32 value widened to a Python float, so parsing
them as f32 gives back the exact float32 value.

Model fixtures (linear, mlp, cnn, gru, lstm):
    torch.manual_seed(0); model = Model()
    torch.manual_seed(1); x = torch.randn(3, 40)
    targets = [1, 4, 7]
    logits = model(x); loss = F.cross_entropy(logits, targets)  # mean
    loss.backward()
  JSON: {"model", "params": {state_dict name: {"shape", "data"}},
         "input": {"shape", "data"}, "targets", "logits": {"shape", "data"},
         "loss", "grads": {param name: {"shape", "data"}}, "param_count"}
  Tensors are in PyTorch layout, data flattened row-major: Linear weight is
  [out, in] (Burn's Linear stores [in, out]: transpose), Conv1d weight is
  [out_ch, in_ch, k], GRU weight_ih_l0 is [3*H, in] and weight_hh_l0 [3*H, H]
  with gates stacked in order (r, z, n); "_reverse" names are the backward
  direction; the GRU has both bias_ih and bias_hh, and
  n = tanh(W_in x + b_in + r * (W_hn h + b_hn)).
  lstm is not a bench_torch.py model: it is the GRU model with nn.LSTM in place
  of nn.GRU (burnlab's `lstm` defaults, 5,242 params); its weights are
  "lstm.weight_ih_l0" [4*H, in] etc. with gates stacked in order (i, f, g, o).

Attention fixture (attention.json):
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, dropout=0.0, batch_first=True)
    torch.manual_seed(1); x = torch.randn(2, 5, 8)   # self-attention q=k=v=x
    out = mha(x, x, x)[0]                              # "output"
    out_masked = mha(x, x, x, key_padding_mask=m)[0]   # "output_masked"
      m: [2, 5] bool, True = ignore that key: positions 3, 4 of batch item 1
    loss = (out ** 2).sum(); loss.backward()           # "loss", "grads"
  "params" holds in_proj_weight [24, 8] / in_proj_bias [24] split into
  q_proj/k_proj/v_proj .weight [8, 8] (PyTorch [out, in] layout) and .bias [8],
  plus out_proj.weight [8, 8] / out_proj.bias [8]. "grads" holds the gradient
  of loss w.r.t. "input" (x) and every one of those parameters (unmasked run).
  "attn_weights" / "attn_weights_masked" are the per-head softmax weights
  [batch, heads, query, key].
"""

import argparse
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_torch import MODEL_NAMES, build_model, param_count  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "torch")

TARGETS = [1, 4, 7]


def tensor_json(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bool:
        data = [bool(v) for v in t.reshape(-1).tolist()]
    else:
        assert t.dtype == torch.float32, t.dtype
        data = [float(v) for v in t.reshape(-1).tolist()]
    return {"shape": list(t.shape), "data": data}


def dump(obj, path):
    """JSON with 2-space indentation for the structure and every number list
    kept on one line (diffable without being one number per line)."""

    def enc(o, indent):
        pad = " " * indent
        inner = " " * (indent + 2)
        if isinstance(o, dict):
            if not o:
                return "{}"
            items = [f"{inner}{json.dumps(k)}: {enc(v, indent + 2)}" for k, v in o.items()]
            return "{\n" + ",\n".join(items) + "\n" + pad + "}"
        if isinstance(o, list):
            if all(not isinstance(v, (dict, list)) for v in o):
                return "[" + ", ".join(json.dumps(v, allow_nan=False) for v in o) + "]"
            return "[\n" + ",\n".join(inner + enc(v, indent + 2) for v in o) + "\n" + pad + "]"
        return json.dumps(o, allow_nan=False)

    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(enc(obj, 0) + "\n")


class LSTMNet(nn.Module):
    """bench_torch.py's GRUNet with an LSTM: burnlab's `lstm` family defaults."""

    def __init__(self, input_size=1, output_size=10, hidden_size=6, time_steps=40):
        super().__init__()
        self.lstm = nn.LSTM(input_size=input_size, hidden_size=hidden_size,
                            batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden_size * time_steps, output_size)

    def forward(self, x):
        x = x.view(*x.shape[:2], 1)  # [B, 40] -> [B, 40, 1]
        output, _ = self.lstm(x)  # [B, 40, 2*6], [fwd | bwd] per time step
        return self.linear(output.reshape(output.shape[0], -1))  # [B, 480]


def build_lstm(seed):
    torch.manual_seed(seed)
    model = LSTMNet()
    assert param_count(model) == 5242, param_count(model)
    return model


def model_fixture(name):
    model = build_lstm(seed=0) if name == "lstm" else build_model(name, seed=0)
    model.train()
    torch.manual_seed(1)
    x = torch.randn(3, 40)
    targets = torch.tensor(TARGETS, dtype=torch.int64)
    logits = model(x)
    loss = F.cross_entropy(logits, targets)
    loss.backward()
    params = {k: tensor_json(v) for k, v in model.state_dict().items()}
    grads = {k: tensor_json(p.grad) for k, p in model.named_parameters()}
    assert list(params) == list(grads), (list(params), list(grads))
    return {
        "model": name,
        "params": params,
        "input": tensor_json(x),
        "targets": list(TARGETS),
        "logits": tensor_json(logits),
        "loss": float(loss.item()),
        "grads": grads,
        "param_count": param_count(model),
    }


def attention_fixture():
    embed_dim, num_heads = 8, 2
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(embed_dim, num_heads, dropout=0.0, batch_first=True)
    mha.train()
    torch.manual_seed(1)
    x = torch.randn(2, 5, embed_dim, requires_grad=True)
    mask = torch.zeros(2, 5, dtype=torch.bool)
    mask[1, 3:] = True

    out, weights = mha(x, x, x, need_weights=True, average_attn_weights=False)
    loss = (out ** 2).sum()
    loss.backward()
    with torch.no_grad():
        out_m, weights_m = mha(x, x, x, key_padding_mask=mask, need_weights=True,
                               average_attn_weights=False)

    w, b = mha.in_proj_weight, mha.in_proj_bias
    gw, gb = w.grad, b.grad
    e = embed_dim
    params, grads = {}, {"input": tensor_json(x.grad)}
    for i, part in enumerate(["q_proj", "k_proj", "v_proj"]):
        params[f"{part}.weight"] = tensor_json(w[i * e:(i + 1) * e])
        params[f"{part}.bias"] = tensor_json(b[i * e:(i + 1) * e])
        grads[f"{part}.weight"] = tensor_json(gw[i * e:(i + 1) * e])
        grads[f"{part}.bias"] = tensor_json(gb[i * e:(i + 1) * e])
    params["out_proj.weight"] = tensor_json(mha.out_proj.weight)
    params["out_proj.bias"] = tensor_json(mha.out_proj.bias)
    grads["out_proj.weight"] = tensor_json(mha.out_proj.weight.grad)
    grads["out_proj.bias"] = tensor_json(mha.out_proj.bias.grad)
    params["in_proj_weight"] = tensor_json(w)
    params["in_proj_bias"] = tensor_json(b)

    return {
        "model": "attention",
        "embed_dim": embed_dim,
        "num_heads": num_heads,
        "params": params,
        "input": tensor_json(x),
        "key_padding_mask": tensor_json(mask),
        "output": tensor_json(out),
        "output_masked": tensor_json(out_m),
        "attn_weights": tensor_json(weights),
        "attn_weights_masked": tensor_json(weights_m),
        "loss": float(loss.item()),
        "grads": grads,
        "param_count": sum(p.numel() for p in mha.parameters()),
    }


def write_fixtures(description, fixtures):
    """The command line of a fixture script: `--out-dir DIR` (default tests/fixtures/torch),
    PyTorch on one thread with deterministic algorithms, then each (file stem, make) of
    `fixtures` written as DIR/STEM.json."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--out-dir", default=DEFAULT_OUT_DIR)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out_dir, exist_ok=True)
    for stem, make in fixtures:
        path = os.path.join(args.out_dir, f"{stem}.json")
        dump(make(), path)
        print(f"wrote {os.path.relpath(path)}", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out-dir", default=DEFAULT_OUT_DIR)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    os.makedirs(args.out_dir, exist_ok=True)
    fixtures = [(name, lambda n=name: model_fixture(n)) for name in MODEL_NAMES + ["lstm"]]
    fixtures.append(("attention", attention_fixture))
    for name, make in fixtures:
        path = os.path.join(args.out_dir, f"{name}.json")
        dump(make(), path)
        print(f"wrote {os.path.relpath(path)}", file=sys.stderr)


if __name__ == "__main__":
    main()
