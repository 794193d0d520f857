#!/usr/bin/env python3
"""Generate the MNIST-1D dataset files for burnlab.

The data is generated procedurally by the `mnist1d` PyPI package
(`mnist1d.data.make_dataset` with the default `get_dataset_args()`:
seed 42, 5000 samples split 4000 train / 1000 test, length 40, 10 classes).
Nothing is downloaded: `mnist1d.data.get_dataset` would fetch a pickle from
GitHub, so it is deliberately NOT used, and all network connections are
blocked while this script runs.

Outputs (next to this script):
  x_train.f32  4000 x 40 little-endian float32, row-major
  x_test.f32   1000 x 40 little-endian float32, row-major
  y_train.u8   4000 uint8 labels (0..9)
  y_test.u8    1000 uint8 labels (0..9)
  meta.json    description + SHA-256 of every data file
  SHA256SUMS   `sha256sum -c SHA256SUMS` format

Run:  ~/.cache/burnlab/venv-data/bin/python datasets/mnist1d/generate.py
The output is deterministic: running it twice gives byte-identical files.
"""

import hashlib
import json
import os
import socket
import sys
from pathlib import Path

# mnist1d.utils imports matplotlib.pyplot; never try to open a display.
os.environ.setdefault("MPLBACKEND", "Agg")


def _no_network(*_args, **_kwargs):
    raise RuntimeError("network access is forbidden in dataset generators")


# Any attempted download fails loudly instead of silently changing the data.
socket.socket.connect = _no_network  # type: ignore[method-assign]
socket.create_connection = _no_network  # type: ignore[assignment]

import numpy as np  # noqa: E402
from mnist1d.data import get_dataset_args, make_dataset  # noqa: E402

OUT = Path(__file__).resolve().parent
N_TRAIN, N_TEST, LENGTH, CLASSES = 4000, 1000, 40, 10


def package_version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def write_if_changed(path: Path, data: bytes) -> None:
    """Write atomically; leave the file untouched when the bytes are equal."""
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> int:
    args = get_dataset_args()
    assert args.seed == 42 and args.num_samples == 5000
    assert args.train_split == 0.8 and args.final_seq_length == LENGTH
    assert not args.shuffle_seq

    data = make_dataset(args)
    x_train64 = np.asarray(data["x"], dtype=np.float64)
    x_test64 = np.asarray(data["x_test"], dtype=np.float64)
    y_train = np.asarray(data["y"])
    y_test = np.asarray(data["y_test"])

    assert x_train64.shape == (N_TRAIN, LENGTH), x_train64.shape
    assert x_test64.shape == (N_TEST, LENGTH), x_test64.shape
    assert y_train.shape == (N_TRAIN,), y_train.shape
    assert y_test.shape == (N_TEST,), y_test.shape
    assert np.all(np.isfinite(x_train64)) and np.all(np.isfinite(x_test64))
    for y in (y_train, y_test):
        assert y.min() >= 0 and y.max() < CLASSES, (y.min(), y.max())
        assert np.all(y == np.round(y))
    assert set(np.unique(y_train).tolist()) == set(range(CLASSES))
    assert set(np.unique(y_test).tolist()) == set(range(CLASSES))

    x_train = np.ascontiguousarray(x_train64.astype("<f4"))
    x_test = np.ascontiguousarray(x_test64.astype("<f4"))
    max_err = max(
        float(np.max(np.abs(x_train.astype(np.float64) - x_train64))),
        float(np.max(np.abs(x_test.astype(np.float64) - x_test64))),
    )
    print(f"mnist1d: max |float32 - float64| = {max_err:.3e}")

    files = {
        "x_train.f32": x_train.tobytes(order="C"),
        "x_test.f32": x_test.tobytes(order="C"),
        "y_train.u8": y_train.astype(np.uint8).tobytes(),
        "y_test.u8": y_test.astype(np.uint8).tobytes(),
    }
    assert len(files["x_train.f32"]) == N_TRAIN * LENGTH * 4
    assert len(files["x_test.f32"]) == N_TEST * LENGTH * 4
    assert len(files["y_train.u8"]) == N_TRAIN
    assert len(files["y_test.u8"]) == N_TEST

    sums = {name: hashlib.sha256(blob).hexdigest() for name, blob in files.items()}
    for name, blob in files.items():
        write_if_changed(OUT / name, blob)

    meta = {
        "name": "mnist1d",
        "n_train": N_TRAIN,
        "n_test": N_TEST,
        "shape": [LENGTH],
        "classes": CLASSES,
        "source": (
            f"mnist1d {package_version('mnist1d')} (PyPI), "
            "mnist1d.data.make_dataset(get_dataset_args()) with default args "
            "(seed 42, num_samples 5000, train_split 0.8, final_seq_length 40); "
            f"numpy {np.__version__}, scipy {package_version('scipy')}; "
            "Greydanus 2020, arXiv:2011.14439; Apache-2.0"
        ),
        "files": sums,
    }
    write_if_changed(OUT / "meta.json", (json.dumps(meta, indent=2) + "\n").encode())
    sha_lines = "".join(f"{sums[name]}  {name}\n" for name in files)
    write_if_changed(OUT / "SHA256SUMS", sha_lines.encode())

    for name in files:
        print(f"  {sums[name]}  {name}")
    print(f"mnist1d: wrote {len(files)} data files to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
