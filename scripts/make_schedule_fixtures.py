#!/usr/bin/env python3
"""Reference values for burnlab's training recipes (src/train/schedule.rs, src/train/clip.rs),
computed with PyTorch.

Writes tests/fixtures/schedules.json:
- "schedules": for each `training.lr_schedule` case, the learning rate of every optimiser step
  1..steps from torch.optim.lr_scheduler, `scheduler.step()` called after each
  `optimizer.step()`: a warm-up is LinearLR(start_factor, 1, warmup_steps) followed at milestone
  warmup_steps (SequentialLR) by the main schedule over steps - warmup_steps steps
  (ConstantLR(factor 1), LinearLR(1, min_lr / lr), CosineAnnealingLR(T_max, eta_min),
  ExponentialLR, StepLR), Noam as LambdaLR.
- "clip": fixed gradients of two parameters (shapes [3, 4] and [4]) before and after
  torch.nn.utils.clip_grad_norm_ (global L2 norm) and clip_grad_value_.

    ~/.cache/burnlab/torch-2.9.0/bin/python scripts/make_schedule_fixtures.py
"""

import json
import os

import torch
from torch.optim import lr_scheduler as S

STEPS = 30
LR = 0.01


def main_scheduler(opt, case, n):
    kind = case["kind"]
    lr = case.get("lr", LR)
    if kind == "constant":
        return S.ConstantLR(opt, factor=1.0, total_iters=0)
    if kind == "linear":
        return S.LinearLR(opt, start_factor=1.0, end_factor=case.get("min_lr", 0.0) / lr, total_iters=n)
    if kind == "cosine":
        return S.CosineAnnealingLR(opt, T_max=n, eta_min=case.get("min_lr", 0.0))
    if kind == "exponential":
        return S.ExponentialLR(opt, gamma=case["gamma"])
    if kind == "step":
        return S.StepLR(opt, step_size=case["step_size"], gamma=case.get("gamma", 0.1))
    if kind == "noam":
        w, d = case["warmup_steps"], case.get("model_size", 512)
        return S.LambdaLR(opt, lambda e: d ** -0.5 * min((e + 1) ** -0.5, (e + 1) * w ** -1.5))
    raise ValueError(kind)


def lrs(case):
    lr = case.get("lr", LR)
    steps = case.get("steps", STEPS)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    warmup = case.get("warmup_steps", 0) if case["kind"] != "noam" else 0
    if warmup:
        warm = S.LinearLR(opt, start_factor=case.get("warmup_start", 1e-3), end_factor=1.0, total_iters=warmup)
        main = main_scheduler(opt, case, steps - warmup)
        sched = S.SequentialLR(opt, [warm, main], milestones=[warmup])
    else:
        sched = main_scheduler(opt, case, steps)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


CASES = [
    {"kind": "constant"},
    {"kind": "constant", "warmup_steps": 5},
    {"kind": "linear"},
    {"kind": "linear", "min_lr": 1e-4, "warmup_steps": 5, "warmup_start": 0.1},
    {"kind": "cosine", "min_lr": 1e-4},
    {"kind": "cosine", "min_lr": 1e-5, "warmup_steps": 5},
    {"kind": "exponential", "gamma": 0.9},
    {"kind": "exponential", "gamma": 0.95, "warmup_steps": 4, "warmup_start": 0.25},
    {"kind": "step", "step_size": 7, "gamma": 0.5},
    {"kind": "step", "step_size": 4, "warmup_steps": 6},
    {"kind": "noam", "warmup_steps": 8, "model_size": 64, "lr": 2.0},
    {"kind": "cosine", "warmup_steps": 500, "min_lr": 1e-5, "lr": 1e-3, "steps": 2000},
]


def clip_cases():
    g = torch.Generator().manual_seed(0)
    grads = [torch.randn(3, 4, generator=g) * 2.0, torch.randn(4, generator=g)]
    out = []
    for spec in [{"norm": 1.0}, {"norm": 100.0}, {"norm": 2.5}, {"value": 0.5}, {"value": 10.0}]:
        params = [torch.nn.Parameter(torch.zeros_like(t)) for t in grads]
        for p, t in zip(params, grads):
            p.grad = t.clone()
        if "norm" in spec:
            torch.nn.utils.clip_grad_norm_(params, max_norm=spec["norm"])
        else:
            torch.nn.utils.clip_grad_value_(params, clip_value=spec["value"])
        out.append({"spec": spec, "clipped": [p.grad.flatten().tolist() for p in params]})
    return {"shapes": [list(t.shape) for t in grads], "grads": [t.flatten().tolist() for t in grads], "cases": out}


result = {
    "torch": torch.__version__,
    "schedules": [{"spec": c, "lrs": lrs(c)} for c in CASES],
    "clip": clip_cases(),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "schedules.json")
with open(path, "w") as f:
    json.dump(result, f, indent=1)
    f.write("\n")
print(path)
