#!/usr/bin/env python3
"""Generate PyTorch reference fixtures for burnlab's image layers and models
(src/models/layers2d.rs, the 2D `cnn` blocks, `resnet`), checked by tests/parity_images.rs.

Writes tests/fixtures/torch/{conv_bn,pool2d,cnn_stack,cnn_relu_bn,resnet8}.json.

Regenerate (deterministic: running it twice gives byte-identical files):
    PY="$(BURNLAB_TORCH_VERSION=2.11.0 scripts/setup-torch-venv | tail -n1)/bin/python"
    "$PY" scripts/make_image_model_fixtures.py       # or: --out-dir DIR
    git diff --exit-code tests/fixtures/torch

Conventions as scripts/make_fixtures.py: float32 on CPU, one thread, deterministic
algorithms; tensors as {"shape", "data"} flattened row-major in PyTorch layout (Conv2d
weight [out, in, kh, kw], Linear weight [out, in]: Burn's Linear stores [in, out]).
Parameter names follow the Burn modules' fields: a Conv-BN unit is `conv` + `norm`, a
BatchNorm2d's `weight`/`bias` are Burn's gamma/beta, and `running_mean`/`running_var` its
running statistics (`num_batches_tracked` is left out). "params" are the values *before*
the training forward (running statistics 0 and 1); every BatchNorm's weight and bias are
drawn from N(1, 0.1) and N(0, 0.1) so that they are not the trivial ones.

conv_bn.json: Conv2d(2, 3, 3, padding=1, bias=False) + BatchNorm2d(3) on x [4, 2, 5, 5]
    (torch.manual_seed(0) for the module, 1 for x, 2 for probe):
    training mode: out = norm(conv(x)); loss = (out * probe).sum(); loss.backward()
      -> "output", "loss", "grads" (input, conv.weight, norm.weight, norm.bias),
         "running_after" (norm.running_mean, norm.running_var: PyTorch's update, momentum
         0.1, unbiased batch variance)
    then evaluation mode (running statistics): "output_eval", "loss_eval" on the same x.
pool2d.json: "cases": for kind in (max, avg) and (kernel, stride) in ((2, 2), (3, 2)):
    x [2, 3, 7, 6] (seed 1), F.max_pool2d / F.avg_pool2d(x, kernel, stride) (no padding,
    floor), loss = (out * probe).sum() (probe seed 2) -> "output", "loss", "grad_input".
cnn_stack.json: burnlab's `cnn` with dim = 2, channels = [4, 6], kernels = 3, padding = 1,
    strides = 1, batch_norm = true, pool = ["max", "avg"], head = [12], on 1 x 8 x 8 images,
    10 classes: per block conv (with bias) -> BatchNorm2d -> ReLU -> pool(2, 2); flatten
    (channel-major) -> Linear(24, 12) -> ReLU -> Linear(12, 10) (`head.0`, `out`).
    x [3, 1, 8, 8] (seed 1), targets [1, 4, 7]; training mode: logits, cross-entropy loss,
    grads of every parameter; then evaluation mode: "logits_eval", "loss_eval".
cnn_relu_bn.json: burnlab's `cnn` with dim = 2, channels = [4, 6], kernels = 5, padding = 2,
    strides = 1, batch_norm = [false, true], norm_after_relu = true, pool = "max", on 1 x 8 x 8
    images, 10 classes (the Fashion-MNIST benchmark's "3 Conv + pooling + BN" order in small):
    conv -> ReLU -> max_pool(2, 2); conv -> ReLU -> BatchNorm2d -> max_pool(2, 2); flatten
    (6 * 2 * 2) -> Linear(24, 10) (`out`). x [3, 1, 8, 8] (seed 1), targets [2, 5, 9]; as
    cnn_stack.
resnet8.json: burnlab's `resnet` with depth = 8, width = 4 on 1 x 12 x 12 images, 10 classes
    (module names: stem, blocks.N.{conv1,conv2,shortcut}, out); x [4, 1, 12, 12] (seed 1),
    targets [1, 4, 7, 0]; as cnn_stack (logits, loss, grads, logits_eval, loss_eval, and
    "running_after" of every BatchNorm).
"""

import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import tensor_json, write_fixtures  # noqa: E402


def randomise_norms(model, seed):
    """Every BatchNorm's weight from N(1, 0.1) and bias from N(0, 0.1)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.1 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))


def state(model):
    return {k: tensor_json(v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}


def running(model):
    return {k: tensor_json(v) for k, v in model.state_dict().items()
            if k.endswith("running_mean") or k.endswith("running_var")}


def grads(model):
    return {k: tensor_json(p.grad) for k, p in model.named_parameters()}


class ConvBn(nn.Module):
    def __init__(self, c_in, c_out, kernel, stride=1, padding=0, bias=False):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=bias)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return self.norm(self.conv(x))


def conv_bn_fixture():
    torch.manual_seed(0)
    model = ConvBn(2, 3, 3, padding=1)
    randomise_norms(model, 3)
    params = state(model)
    torch.manual_seed(1)
    x = torch.randn(4, 2, 5, 5, requires_grad=True)
    torch.manual_seed(2)
    probe = torch.randn(4, 3, 5, 5)
    model.train()
    out = model(x)
    loss = (out * probe).sum()
    loss.backward()
    model.eval()
    with torch.no_grad():
        out_eval = model(x)
    g = grads(model)
    g["input"] = tensor_json(x.grad)
    return {
        "params": params,
        "input": tensor_json(x),
        "probe": tensor_json(probe),
        "output": tensor_json(out),
        "loss": float(loss.item()),
        "grads": g,
        "running_after": running(model),
        "output_eval": tensor_json(out_eval),
        "loss_eval": float((out_eval * probe).sum().item()),
    }


def pool_fixture():
    torch.manual_seed(1)
    x = torch.randn(2, 3, 7, 6)
    cases = []
    for kind, fn in (("max", F.max_pool2d), ("avg", F.avg_pool2d)):
        for kernel, stride in ((2, 2), (3, 2)):
            xi = x.clone().requires_grad_(True)
            out = fn(xi, kernel, stride)
            torch.manual_seed(2)
            probe = torch.randn(out.shape)
            loss = (out * probe).sum()
            loss.backward()
            cases.append({
                "kind": kind, "kernel": kernel, "stride": stride,
                "probe": tensor_json(probe), "output": tensor_json(out),
                "loss": float(loss.item()), "grad_input": tensor_json(xi.grad),
            })
    return {"input": tensor_json(x), "cases": cases}


class CnnStack(nn.Module):
    """burnlab's `cnn` with dim = 2, channels [4, 6], kernels 3, padding 1, batch_norm,
    pool ["max", "avg"], head [12] on 1 x 8 x 8 images."""

    def __init__(self):
        super().__init__()
        self.conv2d = nn.ModuleList([nn.Conv2d(1, 4, 3, padding=1), nn.Conv2d(4, 6, 3, padding=1)])
        self.norms = nn.ModuleList([nn.BatchNorm2d(4), nn.BatchNorm2d(6)])
        self.head = nn.ModuleList([nn.Linear(6 * 2 * 2, 12)])
        self.out = nn.Linear(12, 10)

    def forward(self, x):
        pools = [F.max_pool2d, F.avg_pool2d]
        for conv, norm, pool in zip(self.conv2d, self.norms, pools):
            x = pool(F.relu(norm(conv(x))), 2, 2)
        x = F.relu(self.head[0](x.flatten(1)))
        return self.out(x)


class CnnReluBn(nn.Module):
    """burnlab's `cnn` with dim = 2, channels [4, 6], kernels 5, padding 2, batch_norm
    [false, true], norm_after_relu, pool "max" on 1 x 8 x 8 images."""

    def __init__(self):
        super().__init__()
        self.conv2d = nn.ModuleList([nn.Conv2d(1, 4, 5, padding=2), nn.Conv2d(4, 6, 5, padding=2)])
        self.norms = nn.ModuleList([nn.Identity(), nn.BatchNorm2d(6)])
        self.out = nn.Linear(6 * 2 * 2, 10)

    def forward(self, x):
        for conv, norm in zip(self.conv2d, self.norms):
            x = F.max_pool2d(norm(F.relu(conv(x))), 2, 2)
        return self.out(x.flatten(1))


class Block(nn.Module):
    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = ConvBn(c_in, c_out, 3, stride, 1)
        self.conv2 = ConvBn(c_out, c_out, 3, 1, 1)
        self.shortcut = ConvBn(c_in, c_out, 1, stride, 0) if stride != 1 or c_in != c_out else None

    def forward(self, x):
        residual = x if self.shortcut is None else self.shortcut(x)
        return F.relu(self.conv2(F.relu(self.conv1(x))) + residual)


class ResNet(nn.Module):
    """He et al. 2016, CIFAR-style (section 4.2), depth 6n + 2, projection shortcuts."""

    def __init__(self, depth=8, width=4, channels=1, classes=10):
        super().__init__()
        n = (depth - 2) // 6
        self.stem = ConvBn(channels, width, 3, 1, 1)
        blocks, c_in = [], width
        for stage in range(3):
            c_out = width << stage
            for i in range(n):
                blocks.append(Block(c_in, c_out, 2 if stage > 0 and i == 0 else 1))
                c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.out = nn.Linear(4 * width, classes)

    def forward(self, x):
        x = F.relu(self.stem(x))
        for block in self.blocks:
            x = block(x)
        return self.out(x.mean(dim=(2, 3)))


def model_fixture(model, x, targets):
    randomise_norms(model, 3)
    params = state(model)
    model.train()
    y = torch.tensor(targets, dtype=torch.int64)
    logits = model(x)
    loss = F.cross_entropy(logits, y)
    loss.backward()
    model.eval()
    with torch.no_grad():
        logits_eval = model(x)
    return {
        "params": params,
        "input": tensor_json(x),
        "targets": list(targets),
        "logits": tensor_json(logits),
        "loss": float(loss.item()),
        "grads": grads(model),
        "running_after": running(model),
        "logits_eval": tensor_json(logits_eval),
        "loss_eval": float(F.cross_entropy(logits_eval, y).item()),
        "param_count": sum(p.numel() for p in model.parameters()),
    }


def cnn_stack_fixture():
    torch.manual_seed(0)
    model = CnnStack()
    torch.manual_seed(1)
    return model_fixture(model, torch.randn(3, 1, 8, 8), [1, 4, 7])


def cnn_relu_bn_fixture():
    torch.manual_seed(0)
    model = CnnReluBn()
    torch.manual_seed(1)
    return model_fixture(model, torch.randn(3, 1, 8, 8), [2, 5, 9])


def resnet8_fixture():
    torch.manual_seed(0)
    model = ResNet()
    torch.manual_seed(1)
    return model_fixture(model, torch.randn(4, 1, 12, 12), [1, 4, 7, 0])


if __name__ == "__main__":
    write_fixtures(__doc__.split("\n")[0], [
        ("conv_bn", conv_bn_fixture),
        ("pool2d", pool_fixture),
        ("cnn_stack", cnn_stack_fixture),
        ("cnn_relu_bn", cnn_relu_bn_fixture),
        ("resnet8", resnet8_fixture),
    ])
