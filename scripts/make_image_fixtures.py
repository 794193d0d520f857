#!/usr/bin/env python3
"""Writes the small image-data fixtures that tests/readers.rs reads, with NumPy and Pillow.

    "$(scripts/setup-image-venv | tail -n1)" scripts/make_image_fixtures.py

Everything goes to tests/fixtures/images/ (rewritten from scratch; the bytes are reproducible
for the pinned versions in scripts/image-requirements.txt):

- idx/: MNIST-style IDX files written with NumPy (`>u4` header, `uint8` body), plain and
  gzip-compressed (mtime 0), and the bad ones: a truncated image file, a wrong magic number.
- npy/: `.npy` images and labels in uint8, float32, float64 and int64; channels-last RGB; an
  `.npz` written by `numpy.savez_compressed`; a `.npy` of strings; labels one short.
- folder/: PNG (grey and RGB) and JPEG images in class sub-folders written by Pillow, one of
  them larger than the stated size (resized on reading); a folder with one class; a folder
  holding a corrupt PNG.
- expected.json: what a reader must return, computed here with NumPy and Pillow: arrays'
  values, each folder image decoded by Pillow (grey through `convert("L")`), and the resized
  one through `resize((w, h), Image.BILINEAR)`.
"""
import gzip
import io
import json
import os
import shutil

import numpy as np
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "images")
RNG = np.random.default_rng(20)


def idx_bytes(array):
    dtype_code = {np.dtype(np.uint8): 0x08}[array.dtype]
    header = bytes([0, 0, dtype_code, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    return header + array.tobytes()


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_gz(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(data)


def idx_fixtures(expected):
    images = RNG.integers(0, 256, size=(12, 5, 4), dtype=np.uint8)
    labels = np.array([i % 3 for i in range(12)], dtype=np.uint8)
    test_images = RNG.integers(0, 256, size=(6, 5, 4), dtype=np.uint8)
    test_labels = np.array([2, 1, 0, 0, 1, 2], dtype=np.uint8)
    write(f"{ROOT}/idx/train-images-idx3-ubyte", idx_bytes(images))
    write(f"{ROOT}/idx/train-labels-idx1-ubyte", idx_bytes(labels))
    write_gz(f"{ROOT}/idx/t10k-images-idx3-ubyte.gz", idx_bytes(test_images))
    write_gz(f"{ROOT}/idx/t10k-labels-idx1-ubyte.gz", idx_bytes(test_labels))
    full = idx_bytes(images)
    write_gz(f"{ROOT}/idx/truncated-images-idx3-ubyte.gz", full[: len(full) - 7])
    wrong = bytearray(idx_bytes(labels))
    wrong[0:4] = (2049 + (0x12 << 24)).to_bytes(4, "big")
    write(f"{ROOT}/idx/wrong-magic-labels-idx1-ubyte", bytes(wrong))
    expected["idx"] = {
        "train_images": images.flatten().tolist(),
        "train_labels": labels.tolist(),
        "test_images": test_images.flatten().tolist(),
        "test_labels": test_labels.tolist(),
        "shape": list(images.shape),
    }


def npy_fixtures(expected):
    d = f"{ROOT}/npy"
    os.makedirs(d, exist_ok=True)
    grey = RNG.integers(0, 256, size=(10, 3, 4), dtype=np.uint8)
    labels = np.array([i % 2 for i in range(10)], dtype=np.int64)
    np.save(f"{d}/x_u8.npy", grey)
    np.save(f"{d}/y_i64.npy", labels)
    np.save(f"{d}/x_f32.npy", (grey / 255.0).astype(np.float32))
    np.save(f"{d}/x_f64.npy", grey.astype(np.float64) / 7.0)
    np.save(f"{d}/y_u8.npy", labels.astype(np.uint8))
    np.save(f"{d}/y_f64.npy", labels.astype(np.float64))
    rgb = RNG.integers(0, 256, size=(4, 2, 3, 3), dtype=np.uint8)
    np.save(f"{d}/x_rgb_hwc.npy", rgb)
    np.save(f"{d}/y_rgb.npy", np.array([0, 1, 1, 0], dtype=np.int64))
    np.savez_compressed(f"{d}/train.npz", x=grey, y=labels)
    np.savez(f"{d}/test.npz", x=grey[:4], y=labels[:4])
    np.save(f"{d}/strings.npy", np.array(["shirt", "boot", "bag"]))
    np.save(f"{d}/y_short.npy", labels[:-1])
    expected["npy"] = {
        "grey": grey.flatten().tolist(),
        "labels": labels.tolist(),
        "f64": (grey.astype(np.float64) / 7.0).astype(np.float32).flatten().tolist(),
        "rgb_chw": rgb.transpose(0, 3, 1, 2).flatten().tolist(),
    }


def image_bytes(img, fmt):
    buf = io.BytesIO()
    img.save(buf, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return buf.getvalue()


def folder_fixtures(expected):
    """Two classes (`boot`, `shirt`): 8x6 grey and RGB PNGs, a JPEG, and a 16x12 PNG."""
    d = f"{ROOT}/folder"
    size = (6, 8)  # PIL's (width, height)
    want = {"grey": [], "rgb": [], "labels": [], "jpeg": []}
    for split, count in [("train", 3), ("test", 2)]:
        for label, cls in enumerate(["boot", "shirt"]):
            for i in range(count):
                rgb = RNG.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
                img = Image.fromarray(rgb, "RGB")
                big = i == 1 and split == "train"
                if big:
                    img = Image.fromarray(RNG.integers(0, 256, size=(16, 12, 3), dtype=np.uint8), "RGB")
                write(f"{d}/{split}/{cls}/{i:02d}.png", image_bytes(img, "PNG"))
                shown = img.resize(size, Image.BILINEAR) if big else img
                if split == "train":
                    want["grey"].extend(np.asarray(shown.convert("L")).flatten().tolist())
                    want["rgb"].extend(np.asarray(shown).transpose(2, 0, 1).flatten().tolist())
                    want["labels"].append(label)
            if split == "train":
                # A JPEG after the PNGs (sorted names): its pixels as Pillow decodes them.
                img = Image.fromarray(RNG.integers(0, 256, size=(size[1], size[0]), dtype=np.uint8), "L")
                data = image_bytes(img, "JPEG")
                write(f"{d}/{split}/{cls}/99.jpg", data)
                decoded = Image.open(io.BytesIO(data)).convert("L")
                want["grey"].extend(np.asarray(decoded).flatten().tolist())
                want["rgb"].extend(np.asarray(decoded.convert("RGB")).transpose(2, 0, 1).flatten().tolist())
                want["labels"].append(label)
    want["resized_index"] = 1
    expected["folder"] = want
    one = Image.fromarray(RNG.integers(0, 256, size=(8, 6), dtype=np.uint8), "L")
    write(f"{ROOT}/one-class/only/a.png", image_bytes(one, "PNG"))
    for cls in ["a", "b"]:
        write(f"{ROOT}/corrupt/{cls}/0.png", image_bytes(one, "PNG"))
    good = image_bytes(one, "PNG")
    write(f"{ROOT}/corrupt/b/1.png", good[: len(good) // 2] + b"\x00" * 16)


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    expected = {"numpy": np.__version__, "pillow": Image.__version__}
    idx_fixtures(expected)
    npy_fixtures(expected)
    folder_fixtures(expected)
    with open(f"{ROOT}/expected.json", "w") as f:
        json.dump(expected, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
