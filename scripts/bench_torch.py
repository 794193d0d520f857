#!/usr/bin/env python3
"""PyTorch CPU eager reference training loops for MNIST-1D.

The models and the training loop follow the MNIST-1D repository
(github.com/greydanus/mnist1d, notebooks/models.py and notebooks/train.py):

  linear  Linear(40, 10)                                          410 params
  mlp     h = relu(L1 x); h = h + relu(L2 h); out = L3 h,
          L1 = Linear(40,100), L2 = Linear(100,100), L3 = Linear(100,10)
                                                                 15,210 params
  cnn     Conv1d(1,25,k5,s2,p1) -> ReLU -> Conv1d(25,25,k3,s2,p1) -> ReLU
          -> Conv1d(25,25,k3,s2,p1) -> ReLU -> flatten(25*5=125)
          -> Linear(125, 10)                                     5,210 params
  gru     bidirectional GRU(input 1, hidden 6, batch_first), all 40 outputs
          flattened ([B, 40, 12] -> [B, 480]) -> Linear(480, 10)  5,134 params

Training: Adam(lr=1e-2, otherwise torch defaults), batch 100 taken as the
sequential slice x[(step*100) % 4000 : +100], mean cross-entropy loss,
loss.backward(); optimizer.step(); optimizer.zero_grad().  The model is built
right after torch.manual_seed(seed) (default 42, the repository's seed).
One difference from the repository: it runs `range(total_steps + 1)`, i.e.
6001 updates for total_steps=6000; here --steps N means exactly N updates.

Data: little-endian float32 x_train.f32 (4000x40), x_test.f32 (1000x40) and
uint8 y_train.u8 / y_test.u8 in --data-dir (default: <repo>/datasets/mnist1d).

Usage (the torch venv comes from scripts/setup-torch-venv):
    PY="$(scripts/setup-torch-venv | tail -n1)/bin/python"
    "$PY" scripts/bench_torch.py --model all --steps 1000 --threads 2
    "$PY" scripts/bench_torch.py --model mlp --eval-every 500 --json

Per model it reports the training wall time (periodic evaluations excluded),
seconds per 1000 steps, final test accuracy and the parameter count; with
--json one JSON object per model per line on stdout (progress on stderr).
"""

import argparse
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

INPUT_SIZE = 40
OUTPUT_SIZE = 10
BATCH_SIZE = 100
LEARNING_RATE = 1e-2

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA_DIR = os.path.join(REPO_ROOT, "datasets", "mnist1d")


class LinearModel(nn.Module):
    def __init__(self, input_size=INPUT_SIZE, output_size=OUTPUT_SIZE):
        super().__init__()
        self.linear = nn.Linear(input_size, output_size)

    def forward(self, x):
        return self.linear(x)


class MLP(nn.Module):
    def __init__(self, input_size=INPUT_SIZE, output_size=OUTPUT_SIZE, hidden_size=100):
        super().__init__()
        self.linear1 = nn.Linear(input_size, hidden_size)
        self.linear2 = nn.Linear(hidden_size, hidden_size)
        self.linear3 = nn.Linear(hidden_size, output_size)

    def forward(self, x):
        h = self.linear1(x).relu()
        h = h + self.linear2(h).relu()
        return self.linear3(h)


class ConvNet(nn.Module):
    def __init__(self, output_size=OUTPUT_SIZE, channels=25, linear_in=125):
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = nn.Linear(linear_in, output_size)

    def forward(self, x):
        x = x.view(-1, 1, x.shape[-1])  # [B, 40] -> [B, 1, 40]
        h1 = self.conv1(x).relu()  # [B, 25, 19]
        h2 = self.conv2(h1).relu()  # [B, 25, 10]
        h3 = self.conv3(h2).relu()  # [B, 25, 5]
        h3 = h3.view(h3.shape[0], -1)  # channel-major flatten -> [B, 125]
        return self.linear(h3)


class GRUNet(nn.Module):
    def __init__(self, input_size=1, output_size=OUTPUT_SIZE, hidden_size=6, time_steps=INPUT_SIZE):
        super().__init__()
        self.gru = nn.GRU(input_size=input_size, hidden_size=hidden_size,
                          batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden_size * time_steps, output_size)

    def forward(self, x):
        x = x.view(*x.shape[:2], 1)  # [B, 40] -> [B, 40, 1]
        # h0 = zeros (the repository passes 0*randn, which is zeros too)
        output, _ = self.gru(x)  # [B, 40, 2*6], [fwd | bwd] per time step
        return self.linear(output.reshape(output.shape[0], -1))  # [B, 480]


class LSTMNet(nn.Module):
    """burnlab's `lstm` default: the GRU model above with an LSTM cell."""

    def __init__(self, output_size=OUTPUT_SIZE, hidden_size=6, time_steps=INPUT_SIZE):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden_size, batch_first=True, bidirectional=True)
        self.linear = nn.Linear(2 * hidden_size * time_steps, output_size)

    def forward(self, x):
        output, _ = self.lstm(x.view(*x.shape[:2], 1))
        return self.linear(output.reshape(output.shape[0], -1))


class AttentionNet(nn.Module):
    """burnlab's `attention` default: each step embedded (Linear 1 -> 32) plus a learned
    position, 2 pre-norm encoder layers (4 heads, feed-forward 64, dropout 0.1) with a final
    LayerNorm, mean pooling, Linear 32 -> 10. The configuration of the issue's reference
    Transformer (d_model 32, 4 heads, feed-forward 64, 2 layers, 40 tokens)."""

    def __init__(self, output_size=OUTPUT_SIZE, d_model=32, heads=4, ff=64, layers=2, time_steps=INPUT_SIZE):
        super().__init__()
        self.embed = nn.Linear(1, d_model)
        self.pos = nn.Parameter(torch.zeros(time_steps, d_model))
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.1, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, norm=nn.LayerNorm(d_model), enable_nested_tensor=False)
        self.head = nn.Linear(d_model, output_size)

    def forward(self, x):
        h = self.embed(x.view(*x.shape[:2], 1)) + self.pos
        return self.head(self.encoder(h).mean(dim=1))


MODELS = {
    "linear": (LinearModel, 410),
    "mlp": (MLP, 15210),
    "cnn": (ConvNet, 5210),
    "gru": (GRUNet, 5134),
    "lstm": (LSTMNet, 5242),
    "attention": (AttentionNet, 18826),
}
MODEL_NAMES = list(MODELS)


def param_count(model):
    return sum(p.numel() for p in model.parameters())


def build_model(name, seed):
    """Seeds torch's global RNG with `seed`, then builds model `name`."""
    cls, expected = MODELS[name]
    torch.manual_seed(seed)
    model = cls()
    n = param_count(model)
    assert n == expected, f"{name}: {n} parameters, expected {expected}"
    return model


def load_split(data_dir, split):
    x_path = os.path.join(data_dir, f"x_{split}.f32")
    y_path = os.path.join(data_dir, f"y_{split}.u8")
    x = np.fromfile(x_path, dtype="<f4")
    y = np.fromfile(y_path, dtype=np.uint8)
    if x.size != y.size * INPUT_SIZE:
        raise SystemExit(f"{x_path}: {x.size} floats for {y.size} labels "
                         f"(expected {INPUT_SIZE} per example)")
    x = torch.from_numpy(x.reshape(-1, INPUT_SIZE).astype(np.float32))
    y = torch.from_numpy(y.astype(np.int64))
    return x, y


@torch.no_grad()
def evaluate(model, x, y):
    logits = model(x)
    loss = F.cross_entropy(logits, y).item()
    acc = (logits.argmax(-1) == y).float().mean().item()
    return loss, acc


def train(name, data, steps, seed, eval_every, log):
    x_train, y_train, x_test, y_test = data
    model = build_model(name, seed)
    optimizer = torch.optim.Adam(model.parameters(), LEARNING_RATE)
    n_train = len(x_train)
    evals = []
    eval_seconds = 0.0
    loss = None
    t0 = time.perf_counter()
    for step in range(steps):
        bix = (step * BATCH_SIZE) % n_train
        x, y = x_train[bix:bix + BATCH_SIZE], y_train[bix:bix + BATCH_SIZE]
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if eval_every > 0 and (step + 1) % eval_every == 0:
            te = time.perf_counter()
            test_loss, test_acc = evaluate(model, x_test, y_test)
            eval_seconds += time.perf_counter() - te
            evals.append({"step": step + 1, "train_loss": loss.item(),
                          "test_loss": test_loss, "test_acc": test_acc})
            log(f"  {name} step {step + 1}: train_loss {loss.item():.4f} "
                f"test_loss {test_loss:.4f} test_acc {100 * test_acc:.2f}%")
    seconds = time.perf_counter() - t0 - eval_seconds
    test_loss, test_acc = evaluate(model, x_test, y_test)
    return {
        "model": name,
        "steps": steps,
        "seconds": seconds,
        "seconds_per_1k_steps": seconds * 1000.0 / steps if steps else 0.0,
        "test_acc": test_acc,
        "test_loss": test_loss,
        "final_train_loss": loss.item() if loss is not None else None,
        "param_count": param_count(model),
        "evals": evals,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=MODEL_NAMES + ["all"], default="all")
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--eval-every", type=int, default=0,
                   help="evaluate on the test set every K steps (0 = only at the end)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--json", action="store_true",
                   help="print one JSON object per model per line")
    args = p.parse_args(argv)

    torch.set_num_threads(args.threads)

    def log(msg):
        print(msg, file=sys.stderr if args.json else sys.stdout, flush=True)

    x_train, y_train = load_split(args.data_dir, "train")
    x_test, y_test = load_split(args.data_dir, "test")
    data = (x_train, y_train, x_test, y_test)
    names = MODEL_NAMES if args.model == "all" else [args.model]
    for name in names:
        r = train(name, data, args.steps, args.seed, args.eval_every, log)
        r.update({"threads": args.threads, "seed": args.seed,
                  "batch_size": BATCH_SIZE, "lr": LEARNING_RATE,
                  "torch_version": torch.__version__,
                  "python_version": platform.python_version()})
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print(f"{name:6s} params {r['param_count']:6d}  steps {r['steps']}  "
                  f"{r['seconds']:8.2f}s  {r['seconds_per_1k_steps']:7.2f}s/1k steps  "
                  f"test_acc {100 * r['test_acc']:6.2f}%  test_loss {r['test_loss']:.4f}",
                  flush=True)


if __name__ == "__main__":
    main()
