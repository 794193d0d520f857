#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for the fusion family's heads (tests/fusion.rs).

Writes tests/fixtures/torch/fusion_{unimodal,concat,sum,gated,cross_attention,late}.json.

Regenerate (deterministic):
    ~/.cache/burnlab/torch-2.9.0/bin/python scripts/make_fusion_fixtures.py   # or --out-dir DIR
    git diff --exit-code tests/fixtures/torch

Each fixture is one fusion head (the layers after the encoders, burnlab's
`models::fusion::FusionHead`) with k modalities, dim = 8, 4 classes, batch 3:
    torch.manual_seed(0); head = Head(strategy, k)
    torch.manual_seed(1); features = [torch.randn(3, width) for each modality]
      (width = dim, or tokens * dim = 3 * 8 for cross_attention)
    logits = head(features); loss = F.cross_entropy(logits, [1, 3, 0]); loss.backward()
The head, with head_i(h) = classifier_i(relu(hidden_i(h))):
    concat / unimodal (k = 1): head_0(cat(features))
    sum:              head_0(sum(features))
    gated:            g = sigmoid(gate(cat(z1, z2))); h_m = tanh(gate_inputs_m(z_m));
                      head_0(g * h_1 + (1 - g) * h_2)      (Arevalo et al. 2017, GMU)
    cross_attention:  T_m = z_m.view(3, tokens, dim); for each m:
                      A_m = T_m + cross_m(T_m, T_other, T_other)  (nn.MultiheadAttention, 2 heads)
                      head_0(cat(mean over tokens of A_m for each m))
    late:             mean over m of head_m(z_m)
JSON: {"strategy", "modalities" (k), "dim", "heads", "tokens", "classes",
       "features": [{"shape", "data"}, ...], "targets", "params": {name: {"shape", "data"}},
       "logits", "loss", "grads": {param name or "features.M": {...}}, "param_count"}
Parameter names follow burnlab's module fields (hidden.0, classifier.0, gate, gate_inputs.0,
cross.0.q_proj, ...); Linear weights in PyTorch layout [out, in]; each MultiheadAttention's
in_proj is split into q_proj / k_proj / v_proj as in scripts/make_fixtures.py.
"""

import argparse
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import dump, tensor_json  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT_DIR = os.path.join(REPO_ROOT, "tests", "fixtures", "torch")

DIM, HEADS, TOKENS, CLASSES, BATCH = 8, 2, 3, 4, 3
TARGETS = [1, 3, 0]


class Head(nn.Module):
    def __init__(self, strategy, k):
        super().__init__()
        self.strategy, self.k = strategy, k
        fused = {"concat": k * DIM, "cross_attention": k * DIM}.get(strategy, DIM)
        n = k if strategy == "late" else 1
        if strategy == "gated":
            self.gate_inputs = nn.ModuleList(nn.Linear(DIM, DIM) for _ in range(k))
            self.gate = nn.Linear(k * DIM, DIM)
        if strategy == "cross_attention":
            self.cross = nn.ModuleList(
                nn.MultiheadAttention(DIM, HEADS, dropout=0.0, batch_first=True) for _ in range(k))
        self.hidden = nn.ModuleList(nn.Linear(fused, DIM) for _ in range(n))
        self.classifier = nn.ModuleList(nn.Linear(DIM, CLASSES) for _ in range(n))

    def classify(self, i, h):
        return self.classifier[i](F.relu(self.hidden[i](h)))

    def forward(self, z):
        s = self.strategy
        if s == "concat":
            return self.classify(0, torch.cat(z, 1))
        if s == "sum":
            return self.classify(0, sum(z[1:], z[0]))
        if s == "late":
            return sum(self.classify(i, zi) for i, zi in enumerate(z)) / len(z)
        if s == "gated":
            g = torch.sigmoid(self.gate(torch.cat(z, 1)))
            h = [torch.tanh(w(zi)) for w, zi in zip(self.gate_inputs, z)]
            return self.classify(0, g * h[0] + (1 - g) * h[1])
        assert s == "cross_attention"
        tokens = [zi.view(zi.shape[0], TOKENS, DIM) for zi in z]
        pooled = []
        for i, t in enumerate(tokens):
            others = torch.cat([o for j, o in enumerate(tokens) if j != i], 1)
            attended = self.cross[i](t, others, others, need_weights=False)[0]
            pooled.append((t + attended).mean(1))
        return self.classify(0, torch.cat(pooled, 1))


def params_json(head, grad):
    out = {}
    for name, p in head.named_parameters():
        t = p.grad if grad else p
        if name.endswith("in_proj_weight") or name.endswith("in_proj_bias"):
            prefix, kind = name.rsplit(".", 1)
            suffix = "weight" if kind == "in_proj_weight" else "bias"
            for i, part in enumerate(["q_proj", "k_proj", "v_proj"]):
                out[f"{prefix}.{part}.{suffix}"] = tensor_json(t[i * DIM:(i + 1) * DIM])
        else:
            out[name] = tensor_json(t)
    return out


def fixture(strategy, k):
    name = "unimodal" if k == 1 else strategy
    torch.manual_seed(0)
    head = Head(strategy, k)
    head.train()
    width = TOKENS * DIM if strategy == "cross_attention" else DIM
    torch.manual_seed(1)
    z = [torch.randn(BATCH, width, requires_grad=True) for _ in range(k)]
    logits = head(z)
    loss = F.cross_entropy(logits, torch.tensor(TARGETS))
    loss.backward()
    grads = params_json(head, grad=True)
    for m, zi in enumerate(z):
        grads[f"features.{m}"] = tensor_json(zi.grad)
    return name, {
        "strategy": strategy,
        "modalities": k,
        "dim": DIM,
        "heads": HEADS,
        "tokens": TOKENS,
        "classes": CLASSES,
        "features": [tensor_json(zi) for zi in z],
        "targets": TARGETS,
        "params": params_json(head, grad=False),
        "logits": tensor_json(logits),
        "loss": float(loss.item()),
        "grads": grads,
        "param_count": sum(p.numel() for p in head.parameters()),
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out-dir", default=DEFAULT_OUT_DIR)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out_dir, exist_ok=True)
    cases = [("concat", 1), ("concat", 2), ("sum", 2), ("gated", 2), ("cross_attention", 2), ("late", 2)]
    for strategy, k in cases:
        name, fx = fixture(strategy, k)
        path = os.path.join(args.out_dir, f"fusion_{name}.json")
        dump(fx, path)
        print(f"wrote {os.path.relpath(path)}", file=sys.stderr)


if __name__ == "__main__":
    main()
