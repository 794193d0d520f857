#!/usr/bin/env python3
"""Writes tests/fixtures/standardize.json: scikit-learn's StandardScaler fitted on the
committed Fashion-MNIST sample, the reference of `normalize = "pixel"` (src/data/normalize.rs).

    "$(scripts/setup-image-venv | tail -n1)" scripts/make_standardize_fixtures.py

The Fashion-MNIST benchmark (zalandoresearch/fashion-mnist, benchmark/runner.py) fits
`StandardScaler()` on the training images before its scikit-learn classifiers. Here the
images are read as burnlab reads them: bytes as float32 divided by 255. Recorded: the fitted
`mean_` and `scale_` (784 values each; a constant pixel has scale 1) and every value of the
first three test images transformed (float64 input, so the reference carries no float32
rounding). Versions are pinned in scripts/image-requirements.txt.
"""
import gzip
import json
import os

import numpy as np
import sklearn
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
SAMPLE = os.path.join(HERE, "..", "datasets", "fashion-mnist-sample")
OUT = os.path.join(HERE, "..", "tests", "fixtures", "standardize.json")
TEST_ROWS = 3


def images(name):
    with gzip.open(os.path.join(SAMPLE, name), "rb") as f:
        raw = f.read()
    n, rows, cols = (int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(3))
    pixels = np.frombuffer(raw[16:], dtype=np.uint8).reshape(n, rows * cols)
    return pixels.astype(np.float32) / np.float32(255)


def main():
    train = images("train-images-idx3-ubyte.gz")
    test = images("t10k-images-idx3-ubyte.gz")
    scaler = StandardScaler().fit(train)
    transformed = scaler.transform(test[:TEST_ROWS].astype(np.float64))
    fixture = {
        "sklearn": sklearn.__version__,
        "train_rows": int(train.shape[0]),
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "constant_pixels": int((scaler.var_ == 0).sum()),
        "test_transformed": transformed.tolist(),
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f)
        f.write("\n")
    print(f"{OUT}: {train.shape[0]} training images, {fixture['constant_pixels']} constant pixels")


if __name__ == "__main__":
    main()
