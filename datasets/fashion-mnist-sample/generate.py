#!/usr/bin/env python3
"""Writes the small committed Fashion-MNIST sample that burnlab's tests read.

From the full dataset installed by `datasets/fashion-mnist/install` (Debian's
dataset-fashion-mnist), keeps the first 30 images of each class from the training files and
the first 10 of each class from the test files, in their original order, and writes them in
the same IDX format, gzip-compressed (mtime 0, so the bytes are reproducible), with their
SHA-256 in SHA256SUMS. Standard library only.

    python3 datasets/fashion-mnist-sample/generate.py [FASHION_MNIST_DIR]
"""
import gzip
import hashlib
import os
import struct
import sys

PER_CLASS = {"train": 30, "t10k": 10}
HERE = os.path.dirname(os.path.abspath(__file__))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    assert zero == 0 and dtype == 0x08, f"{path}: not an unsigned-byte IDX file"
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return dims, data[4 + 4 * ndim :]


def write_idx(path, dims, payload):
    header = struct.pack(">HBB", 0, 0x08, len(dims)) + struct.pack(">" + "I" * len(dims), *dims)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(header + payload)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
    sums = []
    for split, per_class in PER_CLASS.items():
        (n, rows, cols), images = read_idx(os.path.join(src, f"{split}-images-idx3-ubyte.gz"))
        (n_labels,), labels = read_idx(os.path.join(src, f"{split}-labels-idx1-ubyte.gz"))
        assert n == n_labels
        size = rows * cols
        taken, keep = [0] * 10, []
        for i, label in enumerate(labels):
            if taken[label] < per_class:
                taken[label] += 1
                keep.append(i)
        out_images = b"".join(images[i * size : (i + 1) * size] for i in keep)
        out_labels = bytes(labels[i] for i in keep)
        for kind, dims, payload in [
            ("images-idx3-ubyte", (len(keep), rows, cols), out_images),
            ("labels-idx1-ubyte", (len(keep),), out_labels),
        ]:
            name = f"{split}-{kind}.gz"
            write_idx(os.path.join(HERE, name), dims, payload)
            with open(os.path.join(HERE, name), "rb") as f:
                sums.append(f"{hashlib.sha256(f.read()).hexdigest()}  {name}")
    with open(os.path.join(HERE, "SHA256SUMS"), "w") as f:
        f.write("\n".join(sorted(sums, key=lambda s: s.split()[1])) + "\n")


if __name__ == "__main__":
    main()
