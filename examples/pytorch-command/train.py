#!/usr/bin/env python3
"""burnlab's `mlp` classifier and training loop, in PyTorch, as a `family = "command"` program.

burnlab runs this once per trial (see README.md beside this file and docs/command-protocol.md):

  - it reads the trial's configuration, a JSON file whose path is its last argument (or
    $BURNLAB_CONFIG): `model` (this file's free-form keys: hidden, depth, residual),
    `training` (steps, batch_size, lr, optimizer, eval_every, log_every...), `seed`, `data`;
  - it reads the trial's data from the NumPy files burnlab wrote (`data = "npy"`):
    `{split}_x.npy` float32 [n, *shape] and `{split}_y.npy` int64 [n] for split in train,
    valid, test;
  - it prints its metrics on standard output, one JSON object per line, and logs to stderr.

The model and the loop are burnlab's `mlp` family and classifier trainer:

  h = relu(W1 x); h = h + relu(Wi h) for the later hidden layers (residual); logits = Wo h

Linear layers start from U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (Burn's
default; PyTorch's nn.Linear default draws from the same distribution). Training: mean
cross-entropy, Adam with PyTorch's defaults (also burnlab's), one optimizer step per batch;
batches are a fresh shuffle of the training split each epoch, a batch that does not fit in the
rest of an epoch starting the next one (`batching = "sequential"`: slices
x[(step*batch) % n ..][..batch]). Every `log_every` steps the mean training loss since the last
report; every `eval_every` steps and after the last one the validation split's loss and
accuracy (the test split's when there is no validation split); then the test split once, on the
final weights (or, with `[report] select = "best"`, on those of the best evaluation).
"""

import copy
import json
import math
import os
import signal
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def emit(**record):
    """One metrics line on stdout (json.dumps writes NaN / Infinity for a diverged value)."""
    print(json.dumps(record), flush=True)


class Mlp(nn.Module):
    """burnlab's `mlp`: `depth` hidden layers of width `hidden`, later ones residual."""

    def __init__(self, features, classes, hidden=100, depth=2, residual=True):
        super().__init__()
        sizes = [features] + [hidden] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.out = nn.Linear(hidden, classes)
        self.residual = residual
        for layer in [*self.hidden, self.out]:
            bound = 1.0 / math.sqrt(layer.in_features)  # Burn's default init of Linear
            nn.init.uniform_(layer.weight, -bound, bound)
            nn.init.uniform_(layer.bias, -bound, bound)

    def forward(self, x):
        h = x.flatten(1)  # [batch, time, channels] -> [batch, features]
        for i, layer in enumerate(self.hidden):
            a = torch.relu(layer(h))
            h = h + a if i > 0 and self.residual else a
        return self.out(h)


def load_data(data):
    """{split: (x float32 [n, *shape], y int64 [n])} from burnlab's npy files."""
    if data is None:
        sys.exit("train.py needs the trial's data: set `data = \"npy\"` in its [[models]] entry")
    if data["task"] != "classification":
        sys.exit(f"train.py trains classifiers; this dataset's task is {data['task']}")
    splits = {}
    for split in data["splits"]:
        x = np.load(os.path.join(data["dir"], f"{split}_x.npy"))
        y = np.load(os.path.join(data["dir"], f"{split}_y.npy"))
        splits[split] = (torch.from_numpy(x), torch.from_numpy(y))
    return splits


def optimizer(params, t):
    """The `[training]` optimizer with burnlab's (PyTorch's) defaults."""
    betas, wd = (t["beta1"], t["beta2"]), t["weight_decay"]
    if t["optimizer"] == "adam":
        return torch.optim.Adam(params, lr=t["lr"], betas=betas, eps=t["eps"], weight_decay=wd)
    if t["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=t["lr"], betas=betas, eps=t["eps"], weight_decay=wd)
    if t["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=t["lr"], momentum=t["momentum"], weight_decay=wd)
    sys.exit(f"unknown optimizer {t['optimizer']!r}")


def batches(n, batch, mode, generator):
    """Row indices of each training batch, as burnlab draws them (see the module docs)."""
    batch = min(batch, n)
    step, order, pos = 0, None, n
    while True:
        if mode == "sequential":
            start = (step * batch) % n
            yield torch.arange(start, min(start + batch, n))
            step += 1
            continue
        if pos + batch > n:
            order, pos = torch.randperm(n, generator=generator), 0
        yield order[pos:pos + batch]
        pos += batch


def better(value, than, maximize):
    return value > than if maximize else value < than


@torch.no_grad()
def evaluate(model, split_name, x, y, step):
    """Emits `{split_name}.loss` and `.accuracy` at `step`; returns them as a dict."""
    model.eval()
    logits = model(x)
    model.train()
    metrics = {"loss": F.cross_entropy(logits, y).item(),
               "accuracy": (logits.argmax(1) == y).double().mean().item()}
    for name, value in metrics.items():
        emit(step=step, split=split_name, metric=name, value=value)
    return metrics


def main():
    config_path = sys.argv[-1] if len(sys.argv) > 1 else os.environ.get("BURNLAB_CONFIG")
    if not config_path:
        sys.exit("usage: train.py CONFIG.json (burnlab passes the trial's configuration)")
    with open(config_path) as f:
        config = json.load(f)
    m, t = config["model"], config["training"]
    if "BURNLAB_THREADS" in os.environ:
        torch.set_num_threads(int(os.environ["BURNLAB_THREADS"]))

    # SIGTERM (Ctrl-C in burnlab, or a search strategy stopping the trial): stop at the next
    # step; burnlab reruns the trial from scratch next time.
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))

    data = load_data(config["data"])
    x_train, y_train = data["train"]
    watched = "valid" if "valid" in data else "test"
    torch.manual_seed(config["seed"])
    model = Mlp(x_train[0].numel(), config["data"]["num_classes"],
                m.get("hidden", 100), m.get("depth", 2), m.get("residual", True))
    emit(params=sum(p.numel() for p in model.parameters() if p.requires_grad))
    opt = optimizer(model.parameters(), t)
    order = torch.Generator().manual_seed(config["seed"])
    draw = batches(len(x_train), t["batch_size"], t.get("batching", "shuffle"), order)

    select = config.get("select_best")  # {"metric": "test.accuracy", "maximize": true} or null
    best, window = None, []
    for step in range(1, t["steps"] + 1):
        if stop:
            log(f"SIGTERM: stopping after {step - 1} steps")
            sys.exit(128 + signal.SIGTERM)
        idx = next(draw)
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        value = loss.item()
        if not math.isfinite(value):
            emit(step=step, split="train", metric="loss", value=value)
            log(f"diverged at step {step}")
            return  # a non-finite value ends the run as diverged
        opt.zero_grad()
        loss.backward()
        opt.step()
        window.append(value)
        if step % t["log_every"] == 0:
            emit(step=step, split="train", metric="loss", value=sum(window) / len(window))
            window = []
        if step % t["eval_every"] == 0 or step == t["steps"]:
            metrics = evaluate(model, watched, *data[watched], step)
            log(f"step {step}: {watched} {metrics}")
            if not all(math.isfinite(v) for v in metrics.values()):
                return
            score = metrics.get(select["metric"].split(".")[-1]) if select else None
            if score is not None and (best is None or better(score, best[0], select["maximize"])):
                best = (score, copy.deepcopy(model.state_dict()))  # ties keep the earlier one
    if watched == "valid":
        if best is not None:
            model.load_state_dict(best[1])
        evaluate(model, "test", *data["test"], t["steps"])


if __name__ == "__main__":
    main()
