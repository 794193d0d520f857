#!/usr/bin/env python3
"""PyTorch CPU eager reference trainings for Fashion-MNIST (the PyTorch column of
experiments/fashion-mnist.toml; issue 20).

The three rows and their sources:

  cnn3    "3 Conv+pooling+BN", 0.903 in the Fashion-MNIST benchmark table
          (github.com/meghanabhange/FashionMNIST-3-Layer-CNN, Fashion.py):
            Conv2d(1,16,k5,p2) -> ReLU -> MaxPool2                  [B,16,14,14]    416
            Conv2d(16,32,k5,p2) -> ReLU -> BatchNorm2d(32) -> MaxPool2 [B,32,7,7]  12,896
            Conv2d(32,64,k5,p2) -> ReLU -> BatchNorm2d(64) -> MaxPool2 [B,64,3,3]  51,392
            flatten (channel-major, 576) -> Linear(576, 10)                         5,770
                                                                       70,474 params
          The original also computes a BatchNorm2d(16) after the first ReLU, but a typo
          (`our = ...`) drops its output: block 1 has no batch norm here (and its 32 unused
          parameters are not built). --bn-before-relu puts each batch norm before its ReLU
          (Conv -> BN -> ReLU -> pool), for the speed benchmark only.
          SGD lr 0.01 (no momentum, no weight decay), batch 100, 4800 steps (the original's
          int(5000 / 600) = 8 epochs of 600 batches), inputs pixels / 255.
  mlp     sklearn MLPClassifier(hidden_layer_sizes=(100,), activation='relu'), 0.871:
            Linear(784, 100) -> ReLU -> Linear(100, 10)                79,510 params
  logreg  sklearn LogisticRegression(C=1, ovr, l2), 0.841: Linear(784, 10)  7,850 params
          (softmax cross-entropy, not one-vs-rest).
          mlp and logreg: Adam lr 1e-3, batch 200, weight decay 0 by default (the options
          below set them); inputs pixels / 255 standardised per pixel with the 60,000
          training images' mean and population standard deviation (sklearn's
          StandardScaler; a constant pixel is only centred).

Every layer keeps PyTorch's default initialisation (Kaiming-uniform, a = sqrt(5); burnlab's
layers use the same), drawn right after torch.manual_seed(seed).

The loop is burnlab's classifier loop: per step zero_grad, forward, mean cross-entropy,
backward, optimizer step; batches are full batches of a fresh permutation of the 60,000
training images each epoch (torch.randperm with a torch.Generator seeded with the seed; a
remainder that does not fill a batch is skipped). No validation split: the final test
accuracy and mean test loss are on the 10,000 test images in eval mode (batch norm's
running statistics; the original never calls model.eval()). --eval-every K adds test
evaluations every K steps for curves; evaluation time is excluded from the training time.

Data: the four IDX gz files (default /usr/share/datasets/fashion-mnist, Debian's
dataset-fashion-mnist; --sample reads the committed 300/100-image sample in
datasets/fashion-mnist-sample/), read with gzip + numpy after checking each file's SHA-256
against SHA256SUMS.

Usage (the torch venv comes from scripts/setup-torch-venv):
    PY="$(BURNLAB_TORCH_VERSION=2.11.0 scripts/setup-torch-venv | tail -n1)/bin/python"
    "$PY" scripts/fashion_torch.py --model cnn3 --seed 0 --threads 1 --json
    "$PY" scripts/fashion_torch.py --model mlp --steps 6000 --eval-every 600

With --json one JSON object per training on stdout (model, seed, steps, test_acc, test_loss,
seconds: the training time without evaluations (and without the first --warmup steps),
seconds_per_step and images_per_second over the timed steps,
torch_version, threads, the settings, and the periodic evaluations); progress on stderr.
"""

import argparse
import gzip
import hashlib
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"
DEFAULT_SUMS = os.path.join(REPO_ROOT, "datasets", "fashion-mnist", "SHA256SUMS")
SAMPLE_DIR = os.path.join(REPO_ROOT, "datasets", "fashion-mnist-sample")
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
SIDE = 28
CLASSES = 10
EVAL_BATCH = 1000


class Cnn3(nn.Module):
    """The 3-layer CNN; input [B, 1, 28, 28] in [0, 1], output logits [B, 10]."""

    def __init__(self, bn_before_relu=False):
        super().__init__()
        self.bn_before_relu = bn_before_relu
        self.conv1 = nn.Conv2d(1, 16, 5, padding=2)
        self.conv2 = nn.Conv2d(16, 32, 5, padding=2)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 5, padding=2)
        self.bn3 = nn.BatchNorm2d(64)
        self.fc = nn.Linear(64 * 3 * 3, CLASSES)

    def _block(self, h, bn):
        if self.bn_before_relu:
            return F.max_pool2d(F.relu(bn(h)), 2)
        return F.max_pool2d(bn(F.relu(h)), 2)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)  # [B, 16, 14, 14]
        h = self._block(self.conv2(h), self.bn2)  # [B, 32, 7, 7]
        h = self._block(self.conv3(h), self.bn3)  # [B, 64, 3, 3] (floor(7 / 2))
        return self.fc(h.flatten(1))  # channel-major [B, 576] -> [B, 10]


class Mlp(nn.Module):
    """MLPClassifier((100,), relu); input [B, 784] standardised, output logits [B, 10]."""

    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(SIDE * SIDE, 100)
        self.out = nn.Linear(100, CLASSES)

    def forward(self, x):
        return self.out(F.relu(self.hidden(x)))


class LogReg(nn.Module):
    """Multinomial logistic regression; input [B, 784] standardised, output logits [B, 10]."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(SIDE * SIDE, CLASSES)

    def forward(self, x):
        return self.linear(x)


# name -> (class, parameter count, image input, default optimizer, lr, batch, steps)
MODELS = {
    "cnn3": (Cnn3, 70474, True, "sgd", 0.01, 100, 4800),
    "mlp": (Mlp, 79510, False, "adam", 1e-3, 200, 6000),
    "logreg": (LogReg, 7850, False, "adam", 1e-3, 200, 6000),
}
MODEL_NAMES = list(MODELS)


def read_sums(path):
    """SHA256SUMS lines `<hex>  <file>` -> {file: hex}."""
    sums = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                digest, name = line.split()
                sums[name.lstrip("*")] = digest.lower()
    return sums


def read_idx_gz(path, digest, ndim):
    """One gzip IDX file of unsigned bytes, checked against its SHA-256 -> numpy uint8 array."""
    with open(path, "rb") as f:
        raw = f.read()
    got = hashlib.sha256(raw).hexdigest()
    if got != digest:
        raise SystemExit(f"error: {path}: SHA-256 {got}, expected {digest} (SHA256SUMS)")
    data = gzip.decompress(raw)
    magic = int.from_bytes(data[0:4], "big")
    if magic != 0x800 + ndim:
        raise SystemExit(f"error: {path}: IDX magic {magic:#x}, expected {0x800 + ndim:#x} "
                         f"(unsigned bytes, {ndim} dimensions)")
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise SystemExit(f"error: {path}: {body.size} bytes of data for dimensions {dims}")
    return body.reshape(dims)


def load_split(data_dir, sums, split):
    """(images [n, 28, 28] float32 in [0, 1], labels [n] int64) of `split`."""
    images_file, labels_file = FILES[split]
    for name in (images_file, labels_file):
        if name not in sums:
            raise SystemExit(f"error: SHA256SUMS has no digest for {name}")
    images = read_idx_gz(os.path.join(data_dir, images_file), sums[images_file], 3)
    labels = read_idx_gz(os.path.join(data_dir, labels_file), sums[labels_file], 1)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (SIDE, SIDE):
        raise SystemExit(f"error: {data_dir}: {split} images {images.shape}, labels {labels.shape}")
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def standardise(x_train, x_test):
    """Per-pixel StandardScaler fit on x_train ([n, 784]): (x - mean) / std, std 0 -> 1."""
    mean = x_train.mean(axis=0, dtype=np.float64)
    std = x_train.std(axis=0, dtype=np.float64)
    std[std == 0.0] = 1.0
    scale = lambda x: ((x - mean) / std).astype(np.float32)  # noqa: E731
    return scale(x_train), scale(x_test)


def model_inputs(name, data):
    """The model's input tensors: [n, 1, 28, 28] for the CNN, standardised [n, 784] else."""
    (x_train, y_train), (x_test, y_test) = data
    if MODELS[name][2]:
        x_train, x_test = x_train[:, None], x_test[:, None]
    else:
        x_train, x_test = standardise(x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1))
    t = torch.from_numpy
    return t(np.ascontiguousarray(x_train)), t(y_train), t(np.ascontiguousarray(x_test)), t(y_test)


def build_model(name, seed, bn_before_relu):
    """Seeds torch's global RNG with `seed`, then builds model `name` (parameter count checked)."""
    cls, expected = MODELS[name][:2]
    torch.manual_seed(seed)
    model = cls(bn_before_relu) if cls is Cnn3 else cls()
    n = sum(p.numel() for p in model.parameters())
    assert n == expected, f"{name}: {n} parameters, expected {expected}"
    return model


def build_optimizer(model, args):
    if args.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=args.lr, momentum=args.momentum,
                               weight_decay=args.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)


@torch.no_grad()
def evaluate(model, x, y):
    """(mean cross-entropy, accuracy) over all of (x, y) in eval mode, batches of 1000."""
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), EVAL_BATCH):
        logits = model(x[i:i + EVAL_BATCH])
        target = y[i:i + EVAL_BATCH]
        loss_sum += F.cross_entropy(logits, target, reduction="sum").item()
        correct += (logits.argmax(-1) == target).sum().item()
    model.train(was_training)
    return loss_sum / len(x), correct / len(x)


class Batches:
    """Full batches of a fresh seeded permutation of range(n) each epoch."""

    def __init__(self, n, batch, seed):
        if batch > n:
            raise SystemExit(f"error: --batch {batch} is larger than the {n} training images")
        self.n, self.batch, self.pos, self.order = n, batch, n, None
        self.gen = torch.Generator().manual_seed(seed)

    def next(self):
        if self.pos + self.batch > self.n:
            self.order, self.pos = torch.randperm(self.n, generator=self.gen), 0
        idx = self.order[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return idx


class Plateau:
    """burnlab's `early_stopping` on `train.loss` (src/train/early.rs, Keras's rule): the mean
    training loss of each evaluation window improves when it is below the best so far by more
    than `tol` (the best moves only then); after `patience` windows in a row without an
    improvement, stop. `patience` 0: never."""

    def __init__(self, patience, tol):
        self.patience, self.tol, self.best, self.waited = patience, tol, None, 0

    def stop(self, value):
        if self.patience == 0:
            return False
        if self.best is not None and not value < self.best - self.tol:
            self.waited += 1
        else:
            self.best, self.waited = value, 0
        return self.waited >= self.patience


def train(name, data, args, log):
    """One training of `name`; returns its JSON record."""
    x_train, y_train, x_test, y_test = model_inputs(name, data)
    model = build_model(name, args.seed, args.bn_before_relu)
    optimizer = build_optimizer(model, args)
    batches = Batches(len(x_train), args.batch, args.seed)
    model.train()
    evals, eval_seconds, loss = [], 0.0, None
    stopper = Plateau(args.stop_patience, args.stop_tol)
    window, last = [], args.steps
    t0 = time.perf_counter()
    for step in range(1, args.steps + 1):
        if step == args.warmup + 1:
            t0, eval_seconds = time.perf_counter(), 0.0
        idx = batches.next()
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
        window.append(loss.item())
        if args.eval_every > 0 and step % args.eval_every == 0 and step < args.steps:
            mean_loss, window = sum(window) / len(window), []
            if stopper.stop(mean_loss):
                last = step
                break
            te = time.perf_counter()
            test_loss, test_acc = evaluate(model, x_test, y_test)
            evals.append({"step": step, "train_loss": mean_loss, "test_loss": test_loss, "test_acc": test_acc})
            log(f"  {name} seed {args.seed} step {step}: train_loss {mean_loss:.4f} "
                f"test_loss {test_loss:.4f} test_acc {100 * test_acc:.2f}%")
            eval_seconds += time.perf_counter() - te
    seconds = time.perf_counter() - t0 - eval_seconds
    timed = last - args.warmup
    test_loss, test_acc = evaluate(model, x_test, y_test)
    evals.append({"step": last, "train_loss": sum(window) / len(window) if window else mean_loss,
                  "test_loss": test_loss, "test_acc": test_acc})
    return {
        "model": name, "seed": args.seed, "steps": last, "max_steps": args.steps, "warmup": args.warmup,
        "test_acc": test_acc, "test_loss": test_loss,
        "seconds": seconds,
        "seconds_per_step": seconds / timed,
        "images_per_second": timed * args.batch / seconds if seconds > 0 else 0.0,
        "torch_version": torch.__version__, "threads": torch.get_num_threads(),
        "optimizer": args.optimizer, "lr": args.lr, "batch": args.batch,
        "weight_decay": args.weight_decay, "momentum": args.momentum,
        "bn_before_relu": args.bn_before_relu if MODELS[name][2] else None,
        "train_images": len(x_train), "test_images": len(x_test),
        "param_count": sum(p.numel() for p in model.parameters()),
        "python_version": platform.python_version(),
        "evals": evals,
    }


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", choices=MODEL_NAMES, required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, help="optimizer steps (default: cnn3 4800, mlp/logreg 6000)")
    p.add_argument("--optimizer", choices=["adam", "sgd"], help="default: cnn3 sgd, mlp/logreg adam")
    p.add_argument("--lr", type=float, help="default: cnn3 0.01, mlp/logreg 1e-3")
    p.add_argument("--batch", type=int, help="default: cnn3 100, mlp/logreg 200")
    p.add_argument("--weight-decay", type=float, default=0.0, help="L2 added to the gradient (torch's weight_decay)")
    p.add_argument("--momentum", type=float, default=0.0, help="SGD momentum")
    p.add_argument("--bn-before-relu", action="store_true", help="cnn3: Conv -> BN -> ReLU (benchmark only)")
    p.add_argument("--warmup", type=int, default=0,
                   help="leave the first W steps out of the timing (benchmarks; they still train)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    p.add_argument("--eval-every", type=int, default=0, help="also evaluate the test set every K steps")
    p.add_argument("--stop-patience", type=int, default=0,
                   help="stop after P evaluation windows (--eval-every steps) in a row whose mean training "
                        "loss is not below the best by more than --stop-tol (burnlab's early_stopping on "
                        "train.loss); 0: never")
    p.add_argument("--stop-tol", type=float, default=0.0, help="see --stop-patience")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--sums", default=DEFAULT_SUMS, help="SHA256SUMS of the four files")
    p.add_argument("--sample", action="store_true", help="the committed 300/100-image sample")
    p.add_argument("--json", action="store_true", help="one JSON object per training on stdout")
    args = p.parse_args(argv)
    _, _, _, optimizer, lr, batch, steps = MODELS[args.model]
    args.optimizer = args.optimizer or optimizer
    args.lr = lr if args.lr is None else args.lr
    args.batch = batch if args.batch is None else args.batch
    args.steps = steps if args.steps is None else args.steps
    if args.sample:
        args.data_dir, args.sums = SAMPLE_DIR, os.path.join(SAMPLE_DIR, "SHA256SUMS")
    if args.stop_patience and args.eval_every < 1:
        p.error("--stop-patience needs --eval-every (the windows whose mean training loss it watches)")
    if args.momentum and args.optimizer != "sgd":
        p.error("--momentum needs --optimizer sgd")
    if args.steps < 1 or args.batch < 1 or args.lr <= 0 or args.threads < 1 or args.weight_decay < 0:
        p.error("--steps, --batch and --threads must be at least 1, --lr positive, --weight-decay >= 0")
    if not 0 <= args.warmup < args.steps:
        p.error(f"--warmup must be at least 0 and less than --steps ({args.steps})")
    return args


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)

    def log(msg):
        print(msg, file=sys.stderr if args.json else sys.stdout, flush=True)

    sums = read_sums(args.sums)
    data = (load_split(args.data_dir, sums, "train"), load_split(args.data_dir, sums, "test"))
    r = train(args.model, data, args, log)
    log(f"{r['model']} seed {r['seed']}: {r['steps']} steps in {r['seconds']:.1f} s "
        f"({1000 * r['seconds_per_step']:.2f} ms/step, {r['images_per_second']:.0f} images/s), "
        f"test_acc {100 * r['test_acc']:.2f}% test_loss {r['test_loss']:.4f}")
    if args.json:
        print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()
