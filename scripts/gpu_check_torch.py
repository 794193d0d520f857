#!/usr/bin/env python3
"""PyTorch eager reference for scripts/gpu-check: burnlab's default `attention` or `cnn` model on MNIST-1D.

--model attention (the default) is the model burnlab builds for `family = "attention"` with its
defaults (src/models/attention.rs) on MNIST-1D (40 time steps, 1 channel, 10 classes):

  patch embedding     Linear(1, 32) per time step
  learned positions   [1, 40, 32], N(0, 0.02)
  2 encoder layers    pre-norm: x + drop(MHA(LN(x))); x + drop(FF(LN(x))),
                      MHA: 4 heads, dropout 0.1 on the weights; FF: 32 -> 64 -> relu -> drop -> 32
                      (= nn.TransformerEncoderLayer(32, 4, 64, 0.1, batch_first, norm_first))
  final LayerNorm, mean over the 40 tokens, Linear(32, 10)

--model cnn is `family = "cnn"` with its defaults (src/models/cnn.rs), MNIST-1D's CNN:
  Conv1d(1, 25, k5, s2, p1), Conv1d(25, 25, k3, s2, p1), Conv1d(25, 25, k3, s2, p1), ReLU after
  each, channel-major flatten (25 * 5 = 125), Linear(125, 10)

and the same training loop as burnlab's (src/train/skeleton.rs, src/models/classifier.rs): Adam (lr 1e-3, PyTorch's
defaults), a fresh random permutation of the 4000 training examples per epoch, batches of
--batch, mean cross-entropy, and the loss read back to the host every step (burnlab checks it
for divergence); one evaluation on the 1000 test examples at the end, counted in the time as
burnlab counts it. The data lives on the device for the whole run, as in burnlab.

Prints one JSON object on stdout: steps, seconds, steps_per_second, test_accuracy, device,
torch version, parameter count.

    python scripts/gpu_check_torch.py --device cuda --steps 2000 --batch 100 [--model cnn]

The data folder is <repo>/datasets/mnist1d, or $BURNLAB_DATASETS/mnist1d when that is set (as in
the bundle of scripts/gpu-bundle).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEQ_LEN, CLASSES = 40, 10
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Transformer(nn.Module):
    def __init__(self, d_model=32, heads=4, ff=64, layers=2, dropout=0.1):
        super().__init__()
        self.embed = nn.Linear(1, d_model)
        self.positions = nn.Parameter(torch.randn(1, SEQ_LEN, d_model) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, activation="relu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, CLASSES)

    def forward(self, x):  # x: [batch, 40, 1]
        h = self.embed(x) + self.positions
        h = self.norm(self.encoder(h))
        return self.head(h.mean(dim=1))


class ConvNet(nn.Module):
    def __init__(self, channels=25):
        super().__init__()
        self.convs = nn.ModuleList([
            nn.Conv1d(1, channels, 5, stride=2, padding=1),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),
            nn.Conv1d(channels, channels, 3, stride=2, padding=1),
        ])
        self.head = nn.Linear(channels * 5, CLASSES)

    def forward(self, x):  # x: [batch, 40, 1]
        h = x.transpose(1, 2)  # [batch, 1, 40]
        for conv in self.convs:
            h = conv(h).relu()  # [batch, 25, 19], [batch, 25, 10], [batch, 25, 5]
        return self.head(h.flatten(1))  # channel-major: [batch, 125]


MODELS = {"attention": Transformer, "cnn": ConvNet}


def load(split, device):
    root = os.environ.get("BURNLAB_DATASETS") or os.path.join(REPO_ROOT, "datasets")
    d = os.path.join(root, "mnist1d")
    x = np.fromfile(os.path.join(d, f"x_{split}.f32"), dtype="<f4").reshape(-1, SEQ_LEN, 1)
    y = np.fromfile(os.path.join(d, f"y_{split}.u8"), dtype=np.uint8).astype(np.int64)
    return torch.from_numpy(x.copy()).to(device), torch.from_numpy(y).to(device)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--model", choices=sorted(MODELS), default="attention")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    args = p.parse_args()

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("error: torch.cuda.is_available() is False: no usable GPU for PyTorch")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    x_train, y_train = load("train", device)
    x_test, y_test = load("test", device)
    model = MODELS[args.model]().to(device)
    params = sum(p.numel() for p in model.parameters())
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = len(y_train)
    gen = torch.Generator(device="cpu").manual_seed(args.seed)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    sync()
    t0 = time.perf_counter()
    order, pos = None, n
    model.train()
    for _ in range(args.steps):
        if pos + args.batch > n:
            order, pos = torch.randperm(n, generator=gen).to(device), 0
        idx = order[pos:pos + args.batch]
        pos += args.batch
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        value = loss.item()
        if not np.isfinite(value):
            sys.exit(f"error: the loss diverged ({value})")
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(-1) == y_test).float().mean().item()
    sync()
    seconds = time.perf_counter() - t0
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(json.dumps({
        "model": args.model, "steps": args.steps, "batch": args.batch, "seconds": seconds,
        "steps_per_second": args.steps / seconds, "test_accuracy": accuracy,
        "final_train_loss": value, "params": params, "device": name, "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
