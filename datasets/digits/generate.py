#!/usr/bin/env python3
"""Generate the 8x8 handwritten-digits dataset files for burnlab.

Source: `sklearn.datasets.load_digits()`, which reads the copy of the UCI
"Optical Recognition of Handwritten Digits" test set that ships inside the
scikit-learn wheel (1797 images, 8x8 pixels, values 0..16, 10 classes).
Nothing is downloaded; all network connections are blocked while this runs.

Split: sklearn.model_selection.train_test_split(X, y, test_size=0.2,
random_state=0, stratify=y) -> 1437 train / 360 test.

Outputs (next to this script):
  x_train.u8   1437 x 64 uint8 pixels (0..16), row-major; each 64-byte record
               is one image, 8 image rows of 8 pixels, top row first
  x_test.u8    360 x 64, same layout
  y_train.u8   1437 uint8 labels (0..9)
  y_test.u8    360 uint8 labels (0..9)
  meta.json    description + SHA-256 of every data file
  SHA256SUMS   `sha256sum -c SHA256SUMS` format

Run:  ~/.cache/burnlab/venv-data/bin/python datasets/digits/generate.py
The output is deterministic: running it twice gives byte-identical files.
"""

import hashlib
import json
import os
import socket
import sys
from pathlib import Path


def _no_network(*_args, **_kwargs):
    raise RuntimeError("network access is forbidden in dataset generators")


socket.socket.connect = _no_network  # type: ignore[method-assign]
socket.create_connection = _no_network  # type: ignore[assignment]

import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

OUT = Path(__file__).resolve().parent
N_TOTAL, N_TRAIN, N_TEST, SIDE, CLASSES, SCALE = 1797, 1437, 360, 8, 10, 16


def write_if_changed(path: Path, data: bytes) -> None:
    """Write atomically; leave the file untouched when the bytes are equal."""
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def main() -> int:
    digits = load_digits()
    X = np.asarray(digits.data)
    y = np.asarray(digits.target)
    images = np.asarray(digits.images)
    assert X.shape == (N_TOTAL, SIDE * SIDE), X.shape
    assert images.shape == (N_TOTAL, SIDE, SIDE), images.shape
    # data is images flattened row-major: pixel (r, c) is at index r*8 + c.
    assert np.array_equal(X, images.reshape(N_TOTAL, SIDE * SIDE))
    assert np.all(X == np.round(X)) and X.min() >= 0 and X.max() <= SCALE
    assert X.max() == SCALE
    assert y.shape == (N_TOTAL,) and y.min() == 0 and y.max() == CLASSES - 1

    x_train, x_test, y_train, y_test = train_test_split(
        X, y, test_size=0.2, random_state=0, stratify=y
    )
    assert x_train.shape == (N_TRAIN, SIDE * SIDE), x_train.shape
    assert x_test.shape == (N_TEST, SIDE * SIDE), x_test.shape
    assert y_train.shape == (N_TRAIN,) and y_test.shape == (N_TEST,)
    for part in (y_train, y_test):
        assert part.min() >= 0 and part.max() < CLASSES
        assert set(np.unique(part).tolist()) == set(range(CLASSES))

    files = {
        "x_train.u8": np.ascontiguousarray(x_train.astype(np.uint8)).tobytes(order="C"),
        "x_test.u8": np.ascontiguousarray(x_test.astype(np.uint8)).tobytes(order="C"),
        "y_train.u8": y_train.astype(np.uint8).tobytes(),
        "y_test.u8": y_test.astype(np.uint8).tobytes(),
    }
    assert len(files["x_train.u8"]) == N_TRAIN * SIDE * SIDE
    assert len(files["x_test.u8"]) == N_TEST * SIDE * SIDE
    assert len(files["y_train.u8"]) == N_TRAIN
    assert len(files["y_test.u8"]) == N_TEST

    sums = {name: hashlib.sha256(blob).hexdigest() for name, blob in files.items()}
    for name, blob in files.items():
        write_if_changed(OUT / name, blob)

    meta = {
        "name": "digits",
        "n_train": N_TRAIN,
        "n_test": N_TEST,
        "shape": [SIDE, SIDE],
        "classes": CLASSES,
        "scale": SCALE,
        "source": (
            f"scikit-learn {sklearn.__version__} sklearn.datasets.load_digits() "
            "(UCI Optical Recognition of Handwritten Digits, E. Alpaydin & "
            "C. Kaynak 1998, CC BY 4.0); split train_test_split(test_size=0.2, "
            f"random_state=0, stratify=y); numpy {np.__version__}"
        ),
        "files": sums,
    }
    write_if_changed(OUT / "meta.json", (json.dumps(meta, indent=2) + "\n").encode())
    sha_lines = "".join(f"{sums[name]}  {name}\n" for name in files)
    write_if_changed(OUT / "SHA256SUMS", sha_lines.encode())

    for name in files:
        print(f"  {sums[name]}  {name}")
    print(f"digits: wrote {len(files)} data files to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
