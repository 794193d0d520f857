#!/usr/bin/env python3
"""Dump TensorBoard event files as JSON, using the real `tensorboard` package.

Used by the Rust integration tests to check that the event files burnlab
writes are readable by TensorBoard itself.

Usage:
    PY="$(scripts/setup-test-venv | tail -n1)"
    "$PY" tests/py/read_events.py LOGDIR

Every directory under LOGDIR (LOGDIR itself included) that directly contains
at least one ``events.out.tfevents.*`` file is a run. Each run directory is
loaded with ``EventAccumulator(run_dir, size_guidance={'scalars': 0,
'tensors': 0, 'images': 0, 'histograms': 0})`` (0 = keep every event) and
``.Reload()``, and one JSON object is printed to stdout:

    {"runs": {"<run dir relative to LOGDIR, '.' for LOGDIR itself>": {
        "scalars":    {"tag": [[step, value], ...]},
        "tensors":    {"tag": [step, ...]},
        "images":     {"tag": [step, ...]},
        "histograms": {"tag": [step, ...]}}}}

Run keys use '/' as separator and are sorted; events keep file order.
Non-finite scalar values are written as the strings "NaN", "Infinity" and
"-Infinity" so that the output stays strict JSON.

Exit status 1 (with a message on stderr) if LOGDIR holds no event file,
2 on a usage error.
"""

import json
import math
import os
import sys

EVENT_FILE_PREFIX = "events.out.tfevents."


def find_run_dirs(logdir):
    """Every directory under `logdir` holding event files, with their count, sorted."""
    runs = []
    for dirpath, dirnames, filenames in os.walk(logdir):
        dirnames.sort()
        count = sum(1 for n in filenames if n.startswith(EVENT_FILE_PREFIX))
        if count:
            runs.append((dirpath, count))
    return runs


def scalar_value(value):
    value = float(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def load_run(run_dir):
    # Imported here so that a missing event file is reported without paying
    # for (or depending on) the tensorboard import.
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(
        run_dir,
        size_guidance={"scalars": 0, "tensors": 0, "images": 0, "histograms": 0},
    )
    acc.Reload()
    tags = acc.Tags()
    return {
        "scalars": {
            tag: [[e.step, scalar_value(e.value)] for e in acc.Scalars(tag)]
            for tag in sorted(tags.get("scalars", []))
        },
        "tensors": {
            tag: [e.step for e in acc.Tensors(tag)]
            for tag in sorted(tags.get("tensors", []))
        },
        "images": {
            tag: [e.step for e in acc.Images(tag)]
            for tag in sorted(tags.get("images", []))
        },
        "histograms": {
            tag: [e.step for e in acc.Histograms(tag)]
            for tag in sorted(tags.get("histograms", []))
        },
    }


def run_cli(argv, doc, load):
    """Shared driver: `load(run_dir, event_file_count)` per run, one JSON object on stdout."""
    if len(argv) != 2 or argv[1] in ("-h", "--help"):
        print(doc, file=sys.stderr)
        return 2
    logdir = argv[1]
    if not os.path.isdir(logdir):
        print(f"error: {logdir!r} is not a directory", file=sys.stderr)
        return 1
    run_dirs = find_run_dirs(logdir)
    if not run_dirs:
        print(
            f"error: no {EVENT_FILE_PREFIX}* file found under {logdir!r}",
            file=sys.stderr,
        )
        return 1
    runs = {}
    for run_dir, count in run_dirs:
        rel = os.path.relpath(run_dir, logdir).replace(os.sep, "/")
        runs[rel] = load(run_dir, count)
    json.dump({"runs": dict(sorted(runs.items()))}, sys.stdout, allow_nan=False)
    sys.stdout.write("\n")
    return 0


def main(argv):
    return run_cli(argv, __doc__, lambda run_dir, _count: load_run(run_dir))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
