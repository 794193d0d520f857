#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for the example plugin family `gated_mlp`
(examples/custom-family/src/gated_mlp.rs), checked by tests/custom_family.rs.

Writes tests/fixtures/torch/gated_mlp_{sigmoid,gelu,silu,relu}.json.

Regenerate (deterministic):
    ~/.cache/burnlab/torch-2.9.0/bin/python scripts/make_gated_mlp_fixtures.py   # or --out-dir DIR
    git diff --exit-code tests/fixtures/torch

Each fixture is one GatedMlp (below) for examples of 6 time steps x 2 channels, width 8,
hidden 12, depth 2, 4 classes, batch 3, with the gate's activation `act`:
    torch.manual_seed(0); model = GatedMlp(act)
      then every LayerNorm's weight and bias drawn from N(1, 0.1) and N(0, 0.1), so that they
      are not the trivial ones and ones
    torch.manual_seed(1); x = torch.randn(3, 6, 2)
    logits = model(x); loss = F.cross_entropy(logits, [1, 3, 0]); loss.backward()
The model, on x: [batch, time, channels]:
    h = embed(x.flatten(1))
    for each block: u = norm(h); h = h + out(act(gate(u)) * value(u))
    logits = head(norm(h))
JSON: {"act", "time", "channels", "width", "hidden", "depth", "classes", "input" ([3, 6, 2]),
       "targets", "params": {name: {"shape", "data"}}, "logits", "loss",
       "grads": {name: ...}, "param_count"}
Parameter names follow the Burn module's fields (embed, blocks.0.norm, blocks.0.gate, ...);
Linear weights in PyTorch layout [out, in]; LayerNorm's are `weight` (Burn's gamma) and
`bias` (beta).
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import tensor_json, write_fixtures  # noqa: E402

TIME, CHANNELS, WIDTH, HIDDEN, DEPTH, CLASSES, BATCH = 6, 2, 8, 12, 2, 4, 3
TARGETS = [1, 3, 0]
ACTS = {"sigmoid": torch.sigmoid, "gelu": F.gelu, "silu": F.silu, "relu": F.relu}


class Block(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.act = ACTS[act]
        self.norm = nn.LayerNorm(WIDTH)  # eps 1e-5, as Burn's LayerNormConfig
        self.gate = nn.Linear(WIDTH, HIDDEN)
        self.value = nn.Linear(WIDTH, HIDDEN)
        self.out = nn.Linear(HIDDEN, WIDTH)

    def forward(self, h):
        u = self.norm(h)
        return h + self.out(self.act(self.gate(u)) * self.value(u))


class GatedMlp(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.embed = nn.Linear(TIME * CHANNELS, WIDTH)
        self.blocks = nn.ModuleList(Block(act) for _ in range(DEPTH))
        self.norm = nn.LayerNorm(WIDTH)
        self.head = nn.Linear(WIDTH, CLASSES)

    def forward(self, x):
        h = self.embed(x.flatten(1))
        for block in self.blocks:
            h = block(h)
        return self.head(self.norm(h))


def fixture(act):
    torch.manual_seed(0)
    model = GatedMlp(act)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.LayerNorm):
                m.weight.normal_(1.0, 0.1)
                m.bias.normal_(0.0, 0.1)
    model.train()
    torch.manual_seed(1)
    x = torch.randn(BATCH, TIME, CHANNELS)
    logits = model(x)
    loss = F.cross_entropy(logits, torch.tensor(TARGETS))
    loss.backward()
    return {
        "act": act,
        "time": TIME,
        "channels": CHANNELS,
        "width": WIDTH,
        "hidden": HIDDEN,
        "depth": DEPTH,
        "classes": CLASSES,
        "input": tensor_json(x),
        "targets": TARGETS,
        "params": {k: tensor_json(p) for k, p in model.named_parameters()},
        "logits": tensor_json(logits),
        "loss": float(loss.item()),
        "grads": {k: tensor_json(p.grad) for k, p in model.named_parameters()},
        "param_count": sum(p.numel() for p in model.parameters()),
    }


def main():
    fixtures = [(f"gated_mlp_{act}", lambda a=act: fixture(a)) for act in ACTS]
    write_fixtures(__doc__.split("\n")[0], fixtures)


if __name__ == "__main__":
    main()
