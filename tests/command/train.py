#!/usr/bin/env python3
"""A stand-in training program for tests/command.rs (standard library only).

Speaks burnlab's program protocol (docs/command-protocol.md): reads the configuration JSON
named by its last argument (and BURNLAB_CONFIG), prints metrics as JSON lines on stdout, logs
on stderr. What it does is chosen by the model table's free-form key `mode`:

  ok           train.loss every log_every steps, valid.* (or test.* without a validation split)
               every eval_every steps, test.* once at the end; exit 0
  fail         25 lines on stderr, then exit 3
  malformed    two good lines, then a line that is not JSON; then hangs
  hang         reports train.loss forever unless the file `release` exists in its working
               directory (then as `ok`); on SIGTERM writes `sigterm` in the trial directory
               and exits 143
  stubborn     reports forever, and on SIGTERM writes `sigterm` but keeps going
  nan          a NaN training loss at step 2 (then keeps reporting)

It writes `seen.json` in the trial directory: its arguments, working directory, the
protocol's environment variables and the configuration it read. The metric values are a
deterministic function of model.hidden, training.lr and the seed.
"""

import json
import math
import os
import signal
import sys
import time


def emit(obj):
    print(json.dumps(obj), flush=True)


def main():
    path = sys.argv[-1]
    assert path == os.environ["BURNLAB_CONFIG"], (path, os.environ["BURNLAB_CONFIG"])
    with open(path) as f:
        cfg = json.load(f)
    trial_dir = cfg["trial_dir"]
    model, training = cfg["model"], cfg["training"]
    mode = model.get("mode", "ok")

    def on_term(signum, frame):
        with open(os.path.join(trial_dir, "sigterm"), "w") as f:
            f.write("SIGTERM\n")
        if mode != "stubborn":
            sys.exit(143)

    signal.signal(signal.SIGTERM, on_term)

    keys = ["BURNLAB_CONFIG", "BURNLAB_SEED", "BURNLAB_TRIAL_ID", "BURNLAB_TRIAL_DIR", "BURNLAB_DATA",
            "BURNLAB_THREADS", "OMP_NUM_THREADS", "PYTHONUNBUFFERED", "EXTRA", "BURNLAB_LOCK_FD"]
    seen = {"argv": sys.argv, "cwd": os.getcwd(), "env": {k: os.environ.get(k) for k in keys}, "config": cfg}
    with open(os.path.join(trial_dir, "seen.json"), "w") as f:
        json.dump(seen, f)

    print(f"starting {mode} in {trial_dir}", file=sys.stderr)

    if mode == "fail":
        for i in range(25):
            print(f"traceback line {i}", file=sys.stderr)
        sys.exit(3)
    if mode == "malformed":
        emit({"step": 1, "split": "train", "metric": "loss", "value": 1.0})
        print("")
        print("loss: 0.5", flush=True)
        time.sleep(60)
        return
    forever = mode == "stubborn" or (mode == "hang" and not os.path.exists("release"))
    if forever:
        step = 0
        while True:
            step += 1
            emit({"step": step, "split": "train", "metric": "loss", "value": 1.0 / step})
            time.sleep(0.05)

    hidden, lr, seed = model.get("hidden", 8), training["lr"], cfg["seed"]
    has_valid = cfg["dataset"].get("validation", 0) > 0
    held_out = "valid" if has_valid else "test"
    emit({"params": hidden * 10})
    steps, every, log_every = training["steps"], training["eval_every"], training["log_every"]
    for step in range(1, steps + 1):
        if mode == "nan" and step == 2:
            emit({"step": step, "split": "train", "metric": "loss", "value": math.nan})
        elif step % log_every == 0:
            emit({"step": step, "split": "train", "metric": "loss", "value": lr * 100 / step})
        if step % every == 0 or step == steps:
            acc = min(0.99, 0.5 + 0.01 * hidden + 0.001 * seed + step / 1000)
            emit({"step": step, "split": held_out, "metric": "accuracy", "value": acc})
            emit({"step": step, "split": held_out, "metric": "loss", "value": 1 - acc})
    if has_valid:
        acc = min(0.99, 0.5 + 0.01 * hidden + 0.001 * seed)
        emit({"step": steps, "split": "test", "metric": "accuracy", "value": acc})
        emit({"step": steps, "split": "test", "metric": "loss", "value": 1 - acc})
    print("done", file=sys.stderr)


if __name__ == "__main__":
    main()
