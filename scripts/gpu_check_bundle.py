#!/usr/bin/env python3
"""The checks of `scripts/gpu-check --bundle` on an unpacked bundle of scripts/gpu-bundle.

Run by scripts/gpu-check (which unpacks the bundle and finds the node's LibTorch); needs only
Python 3's standard library (PyTorch only for the speed comparison, through --torch-python).
Each check adds one row (PASS / FAIL / SKIP) to the summary table:

  manifest   every file's SHA-256 equals the one in MANIFEST.json
  binary     bin/burnlab runs and has the libtorch backend
  families   every registered family (`burnlab list --json`, but `command`) trains --steps steps
             on LibTorch (--device), two experiments at once (`burnlab run --gpus 0` each on
             cuda, `--jobs 1` on cpu), and its training loss falls (last logged < first logged;
             the GAN's losses need not fall: finite, with its test metrics shown)
  parity     the saved model of each classifier family predicts the MNIST-1D test inputs on
             --device and on the reference (cuda: LibTorch CPU; cpu: flex): the class
             probabilities agree within PARITY_TOL
  speed      the attention and CNN training steps/s of burnlab against PyTorch eager
             (gpu_check_torch.py: the same models, batch and loop) on the same device

Prints the table and writes it, with the raw numbers as JSON, to --out. Exit status 0 when no
row failed, 1 otherwise.
"""

import argparse
import csv
import hashlib
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import time

# Class probabilities must agree within this (absolute), per device checked. CUDA: cuDNN's
# convolutions use TF32 by default (10-bit mantissa), hence the looser bound.
PARITY_TOL = {"cuda": 2e-3, "cpu": 1e-4}
# The families `families` does not train: `command` runs the user's program, on no backend.
NOT_TRAINED = {"command"}
# The families whose training loss is not expected to fall (adversarial: checked finite).
ADVERSARIAL = {"gan"}
# Test inputs given to `burnlab predict` in the parity check.
PARITY_ROWS = 200

# The experiments of `families`: (name, dataset table, training table, [(label, model table)]).
FAMILY_RUNS = [
    ("gpu-check-classifiers", {"name": "mnist1d"}, {"optimizer": "adam", "lr": 1e-3, "batch_size": 100},
     [(f, {"family": f}) for f in ["linear", "mlp", "cnn", "gru", "lstm", "attention"]]),
    ("gpu-check-others", {"name": "digits-mnist1d"}, {"optimizer": "adam", "lr": 1e-3, "batch_size": 64},
     [("fusion", {"family": "fusion"})]),
    # Image models on the 8x8 digits: batch norm (training and evaluation mode), pooling, residual blocks.
    ("gpu-check-images", {"name": "digits"}, {"optimizer": "adam", "lr": 1e-3, "batch_size": 64},
     [("resnet", {"family": "resnet", "depth": 8, "width": 8}),
      ("cnn-bn-pool", {"family": "cnn", "dim": 2, "channels": [8, 16], "kernels": 3, "strides": 1, "padding": 1,
                       "batch_norm": True, "pool": "max"})]),
]
GAN_RUN = ("gpu-check-gan", {"name": "ring"}, {"batch_size": 100}, [("gan", {"family": "gan", "eval_samples": 500})])
# [report] of the experiments whose models record no `test.accuracy` (the default metric).
REPORT_METRIC = {"gpu-check-gan": "test.modes"}


def toml_value(v):
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v)


def experiment_toml(name, dataset, training, models, device, steps):
    """An experiment file (TOML text) for LibTorch on `device`."""
    lines = [f'name = "{name}"', 'backend = "libtorch"', f'device = "{device}"', "", "[dataset]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in dataset.items()]
    lines += ["", "[training]", f"steps = {steps}", f"eval_every = {steps}", f"log_every = {max(steps // 10, 1)}"]
    lines += [f"{k} = {toml_value(v)}" for k, v in training.items()]
    for label, model in models:
        lines += ["", "[[models]]", f'label = "{label}"'] + [f"{k} = {toml_value(v)}" for k, v in model.items()]
    if name in REPORT_METRIC:
        lines += ["", "[report]", f'metric = "{REPORT_METRIC[name]}"']
    return "\n".join(lines) + "\n"


class Check:
    def __init__(self, args):
        self.args = args
        self.root = os.path.abspath(args.root)
        self.bin = os.path.join(self.root, "bin", "burnlab")
        self.work = os.path.abspath(args.work)
        self.rows = []  # (check, result, detail)
        self.raw = {"device": args.device}
        self.env = dict(os.environ, BURNLAB_DATASETS=os.path.join(self.root, "datasets"))
        if args.device == "cpu":
            # Two runs at once share the cores: LibTorch's OpenMP threads must sleep, not spin,
            # while they wait (spinning made 100 steps take minutes on a loaded 2-core machine).
            self.env.update(OMP_WAIT_POLICY="PASSIVE", GOMP_SPINCOUNT="0")

    def row(self, check, ok, detail):
        result = "SKIP" if ok is None else ("PASS" if ok else "FAIL")
        self.rows.append((check, result, detail))
        print(f"gpu-check: {result:4} {check}: {detail}", file=sys.stderr, flush=True)

    def burnlab(self, *argv, timeout=600):
        return subprocess.run([self.bin, *argv], env=self.env, capture_output=True, text=True, timeout=timeout)

    # -- manifest -------------------------------------------------------------------------------
    def manifest(self):
        with open(os.path.join(self.root, "MANIFEST.json")) as f:
            m = json.load(f)
        self.raw["manifest"] = {k: v for k, v in m.items() if k != "files"}
        bad = []
        for rel, want in sorted(m["files"].items()):
            path = os.path.join(self.root, rel)
            try:
                with open(path, "rb") as f:
                    got = hashlib.sha256(f.read()).hexdigest()
            except OSError as e:
                got = f"unreadable ({e.strerror})"
            if got != want:
                bad.append(f"{rel}: {got[:16]} != {want[:16]}")
        detail = f"{len(m['files'])} files, commit {m['commit'][:12]}, built against torch {m['torch']}"
        self.row("manifest", not bad, "; ".join(bad) or detail)
        return not bad

    # -- binary ---------------------------------------------------------------------------------
    def binary(self):
        p = self.burnlab("list", "--json")
        if p.returncode != 0:
            self.row("binary", False, f"`burnlab list` exit {p.returncode}: {p.stderr.strip()[-400:]}")
            return None
        listing = json.loads(p.stdout)
        backends = {b["name"]: b["available"] for b in listing["backends"]}
        self.row("binary", bool(backends.get("libtorch")), f"backends {backends}")
        return [f["name"] for f in listing["families"]] if backends.get("libtorch") else None

    # -- families -------------------------------------------------------------------------------
    def run_args(self):
        return ["--gpus", "0"] if self.args.device == "cuda" else ["--jobs", "1"]

    def families(self, registered):
        runs = FAMILY_RUNS + [GAN_RUN]
        covered = {model["family"] for _, _, _, models in runs for _, model in models}
        missing = sorted(set(registered) - covered - NOT_TRAINED)
        if missing:
            self.row("families", False, f"not covered by the check: {missing} (add them to FAMILY_RUNS)")
        # Two `burnlab run` at once on the same device: classifiers | fusion, images, then GAN.
        groups = [[FAMILY_RUNS[0]], [FAMILY_RUNS[1], FAMILY_RUNS[2], GAN_RUN]]
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, __file__, "--_run-group", json.dumps(self.group_cmds(g))],
                                  env=self.env) for g in groups]
        codes = [p.wait() for p in procs]
        self.raw["families_wall_s"] = time.perf_counter() - t0
        trials = {}
        for name, _, _, _ in runs:
            trials.update(self.read_trials(name))
        self.raw["families"] = trials
        for name, _, _, models in runs:
            for label, _ in models:
                t = trials.get(label)
                if t is None:
                    self.row(f"train {label}", False, f"no trial (burnlab run exits {codes}; see {self.work}/logs)")
                    continue
                if t.get("family") in ADVERSARIAL:
                    # A GAN's losses need not fall (they settle near equilibrium): finite and done.
                    ok = t["status"] == "completed" and all(math.isfinite(v) for v in t["losses"])
                    what = f"train.loss finite over {len(t['losses'])} logs, " + ", ".join(
                        f"{k} {v:.3g}" for k, v in sorted(t["metrics"].items()) if k.startswith("test."))
                else:
                    ok = t["status"] == "completed" and t["last_loss"] < t["first_loss"]
                    what = f"{t['loss_metric']} {t['first_loss']:.4f} -> {t['last_loss']:.4f}"
                self.row(f"train {label}", ok, f"{t['status']}, {what}, {t['steps']} steps, "
                         f"{t['steps_per_second']:.1f} steps/s" + (f", error: {t['error']}" if t.get("error") else ""))
        self.row("two runs at once", all(c == 0 for c in codes),
                 f"exit codes {codes} ({' '.join(self.run_args())} each), {self.raw['families_wall_s']:.1f} s")
        return trials

    def group_cmds(self, group):
        cmds = []
        for name, dataset, training, models in group:
            path = os.path.join(self.work, f"{name}.toml")
            with open(path, "w") as f:
                f.write(experiment_toml(name, dataset, training, models, self.args.device, self.args.steps))
            log = os.path.join(self.work, "logs", f"{name}.log")
            cmds.append(([self.bin, "run", path, "--results", os.path.join(self.work, "results"), "--force",
                          "--quiet", *self.run_args()], log))
        return cmds

    def read_trials(self, name):
        out = {}
        tdir = os.path.join(self.work, "results", name, "trials")
        for tid in sorted(os.listdir(tdir)) if os.path.isdir(tdir) else []:
            d = os.path.join(tdir, tid)
            try:
                with open(os.path.join(d, "summary.json")) as f:
                    s = json.load(f)
                losses = read_losses(os.path.join(d, "metrics.csv"))
            except (OSError, ValueError) as e:
                out[tid] = {"status": f"unreadable: {e}", "first_loss": 0, "last_loss": 0, "steps": 0,
                            "steps_per_second": 0, "loss_metric": "?", "dir": d}
                continue
            metric = "loss"
            series = losses.get(metric) or [float("nan")]
            out[s["label"]] = {"status": s["status"], "steps": s["steps"], "steps_per_second": s["steps_per_second"],
                               "backend": s["backend"], "loss_metric": f"train.{metric}", "first_loss": series[0],
                               "last_loss": series[-1], "losses": series, "error": s.get("error"), "dir": d,
                               "family": s["family"], "metrics": s.get("final_metrics", {})}
        return out

    # -- parity ---------------------------------------------------------------------------------
    def parity(self, trials):
        reference = {"kind": "libtorch", "device": "cpu"} if self.args.device == "cuda" else \
            {"kind": "flex", "device": "cpu"}
        tol = PARITY_TOL[self.args.device]
        npy = os.path.join(self.work, "parity-inputs.npy")
        write_mnist1d_npy(os.path.join(self.root, "datasets", "mnist1d", "x_test.f32"), PARITY_ROWS, npy)
        self.raw["parity"] = {"tolerance": tol, "reference": f"{reference['kind']}:{reference['device']}", "models": {}}
        worst = []
        for label, _ in FAMILY_RUNS[0][3]:
            t = trials.get(label)
            if not t or t["status"] != "completed":
                self.row(f"parity {label}", False, "no trained model")
                continue
            ref_dir = os.path.join(self.work, "parity", label)
            shutil.rmtree(ref_dir, ignore_errors=True)
            shutil.copytree(t["dir"], ref_dir)
            card_path = os.path.join(ref_dir, "model", "model.json")
            with open(card_path) as f:
                card = json.load(f)
            card["backend"], card["device"] = reference["kind"], reference["device"]
            with open(card_path, "w") as f:
                json.dump(card, f)
            got = self.predict(t["dir"], npy, f"{label}-{self.args.device}.csv")
            want = self.predict(ref_dir, npy, f"{label}-reference.csv")
            if isinstance(got, str) or isinstance(want, str):
                self.row(f"parity {label}", False, got if isinstance(got, str) else want)
                continue
            diff = max(abs(a - b) for ra, rb in zip(got, want) for a, b in zip(ra, rb))
            self.raw["parity"]["models"][label] = diff
            worst.append((diff, label))
            self.row(f"parity {label}", diff <= tol and len(got) == len(want) == PARITY_ROWS,
                     f"max abs diff {diff:.2e} over {len(got)} inputs (tolerance {tol:g}, "
                     f"{t['backend']} vs {reference['kind']}:{reference['device']})")

    def predict(self, trial_dir, npy, name):
        out = os.path.join(self.work, "parity", name)
        p = self.burnlab("predict", trial_dir, "--input", npy, "--output", out)
        if p.returncode != 0:
            return f"`burnlab predict` exit {p.returncode}: {p.stderr.strip()[-400:]}"
        with open(out) as f:
            rows = list(csv.DictReader(f))
        cols = [c for c in rows[0] if c.startswith("p_")] if rows else []
        return [[float(r[c]) for c in cols] for r in rows]

    # -- speed ----------------------------------------------------------------------------------
    def speed(self):
        self.raw["speed"] = {}
        py = self.args.torch_python
        for model in ["attention", "cnn"]:
            steps, batch = self.args.speed_steps, self.args.batch
            name = f"gpu-check-speed-{model}"
            path = os.path.join(self.work, f"{name}.toml")
            with open(path, "w") as f:
                f.write(experiment_toml(name, {"name": "mnist1d"}, {"optimizer": "adam", "lr": 1e-3, "batch_size": batch},
                                        [(model, {"family": model})], self.args.device, steps))
            p = subprocess.run([self.bin, "run", path, "--results", os.path.join(self.work, "results"), "--force",
                                "--quiet", *self.run_args()], env=self.env, capture_output=True, text=True)
            b = next(iter(self.read_trials(name).values()), None)
            if p.returncode != 0 or not b or b["status"] != "completed":
                self.row(f"speed {model}", False, f"burnlab run exit {p.returncode}: {p.stderr.strip()[-300:]}")
                continue
            threads = [] if self.args.device == "cuda" else ["--threads", str(os.cpu_count() or 1)]
            if not py:
                self.raw["speed"][model] = {"burnlab_steps_per_second": b["steps_per_second"]}
                self.row(f"speed {model}", None, f"burnlab {b['steps_per_second']:.1f} steps/s; no PyTorch to compare")
                continue
            t = subprocess.run([py, os.path.join(self.root, "gpu_check_torch.py"), "--device", self.args.device,
                                "--model", model, "--steps", str(steps), "--batch", str(batch), *threads],
                               env=self.env, capture_output=True, text=True)
            if t.returncode != 0:
                self.row(f"speed {model}", False, f"gpu_check_torch.py exit {t.returncode}: {t.stderr.strip()[-300:]}")
                continue
            r = json.loads(t.stdout.strip().splitlines()[-1])
            ratio = r["steps_per_second"] / b["steps_per_second"]
            self.raw["speed"][model] = {"burnlab_steps_per_second": b["steps_per_second"], "torch": r,
                                        "step_time_ratio": ratio}
            self.row(f"speed {model}", True, f"burnlab {b['steps_per_second']:.1f} steps/s, PyTorch eager "
                     f"{r['steps_per_second']:.1f} steps/s: step time {ratio:.2f}x PyTorch's ({steps} steps of {batch}, "
                     f"{r['device']}, torch {r['torch']})")

    # -- report ---------------------------------------------------------------------------------
    def report(self, seconds):
        m = self.raw.get("manifest", {})
        head = (f"burnlab gpu-check on {self.args.device} ({os.uname().nodename}), bundle of commit "
                f"{m.get('commit', '?')[:12]} built against torch {m.get('torch', '?')}, {seconds:.0f} s")
        w = max(len(c) for c, _, _ in self.rows)
        lines = [head, "", f"| {'check':<{w}} | result | detail |", f"|{'-' * (w + 2)}|--------|--------|"]
        lines += [f"| {c:<{w}} | {r:<6} | {d} |" for c, r, d in self.rows]
        failed = sum(r == "FAIL" for _, r, _ in self.rows)
        lines += ["", f"{len(self.rows)} checks, {failed} failed"]
        table = "\n".join(lines)
        print(table)
        self.raw["rows"] = [{"check": c, "result": r, "detail": d} for c, r, d in self.rows]
        self.raw["seconds"] = seconds
        tmp = self.args.out + ".partial"
        with open(tmp, "w") as f:
            f.write(table + "\n\nRaw numbers:\n\n```json\n" + json.dumps(self.raw, indent=1, default=str) + "\n```\n")
        os.replace(tmp, self.args.out)
        return failed == 0


def read_losses(path):
    """The train-split values of metrics.csv, by metric name, in step order."""
    series = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            if r["split"] == "train":
                series.setdefault(r["metric"], []).append(float(r["value"]))
    return series


def write_mnist1d_npy(src, rows, dst):
    """The first `rows` MNIST-1D examples of `src` (little-endian f32, 40 per example) as a
    NumPy .npy file of shape [rows, 40, 1], written without NumPy."""
    with open(src, "rb") as f:
        data = f.read(rows * 40 * 4)
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 40, 1), }" % (len(data) // 160)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(dst, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + data)


def run_group(cmds):
    """Runs `burnlab run` commands one after another (one of the two concurrent groups)."""
    rc = 0
    for argv, log in json.loads(cmds):
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w") as f:
            rc = max(rc, subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT).returncode)
    return rc


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--_run-group":
        sys.exit(run_group(sys.argv[2]))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", required=True, help="the unpacked bundle")
    p.add_argument("--work", required=True, help="folder for experiment files, results and logs")
    p.add_argument("--out", required=True, help="the summary table and raw numbers (Markdown)")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--steps", type=int, default=300, help="training steps per family")
    p.add_argument("--speed-steps", type=int, default=1000, help="steps of each speed comparison")
    p.add_argument("--batch", type=int, default=100, help="batch of the speed comparison")
    p.add_argument("--torch-python", default="", help="a python with torch, for the speed comparison")
    args = p.parse_args()
    os.makedirs(args.work, exist_ok=True)
    t0 = time.perf_counter()
    c = Check(args)
    if c.manifest():
        registered = c.binary()
        if registered:
            trials = c.families(registered)
            c.parity(trials)
            c.speed()
    sys.exit(0 if c.report(time.perf_counter() - t0) else 1)


if __name__ == "__main__":
    main()
