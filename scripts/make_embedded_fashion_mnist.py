#!/usr/bin/env python3
"""Builds the embedded default data set: a class-balanced, seeded subset of Fashion-MNIST.

Source: Debian's `dataset-fashion-mnist` package (IDX gzip files under /usr/share/datasets/fashion-mnist).
Fashion-MNIST is (c) Zalando SE, MIT licence; see pipeline/data/fashion-mnist-embedded/LICENSE.
Output: pipeline/data/fashion-mnist-embedded/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz, same IDX format.
Deterministic: the same seed and source give byte-identical files (gzip mtime fixed to 0).

usage: scripts/make_embedded_fashion_mnist.py [--source DIR] [--train-per-class 1000] [--test-per-class 200] [--seed 20240401]
"""
import argparse
import gzip
import os
import random
import struct
import sys


def read_idx(path, magic, dims):
    with gzip.open(path, "rb") as f:
        data = f.read()
    got = struct.unpack(">I", data[:4])[0]
    if got != magic:
        sys.exit(f"{path}: wrong IDX magic {got:#010x}, expected {magic:#010x}")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def write_idx(path, magic, shape, payload):
    header = struct.pack(">I", magic) + struct.pack(">" + "I" * len(shape), *shape)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
            f.write(header + payload)


def subset(source, out, prefix, per_class, rng):
    (n, rows, cols), pixels = read_idx(os.path.join(source, f"{prefix}-images-idx3-ubyte.gz"), 0x803, 3)
    (m,), labels = read_idx(os.path.join(source, f"{prefix}-labels-idx1-ubyte.gz"), 0x801, 1)
    if n != m:
        sys.exit(f"{source}: {n} images but {m} labels in the {prefix} files")
    by_class = {}
    for i, c in enumerate(labels):
        by_class.setdefault(c, []).append(i)
    chosen = []
    for c in sorted(by_class):
        if len(by_class[c]) < per_class:
            sys.exit(f"class {c} has only {len(by_class[c])} {prefix} images, {per_class} asked")
        chosen.extend(rng.sample(by_class[c], per_class))
    rng.shuffle(chosen)
    size = rows * cols
    img = b"".join(pixels[i * size:(i + 1) * size] for i in chosen)
    lab = bytes(labels[i] for i in chosen)
    write_idx(os.path.join(out, f"{prefix}-images-idx3-ubyte.gz"), 0x803, (len(chosen), rows, cols), img)
    write_idx(os.path.join(out, f"{prefix}-labels-idx1-ubyte.gz"), 0x801, (len(chosen),), lab)
    print(f"{prefix}: {len(chosen)} images ({per_class} per class)")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--source", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--out", default=os.path.join(here, "..", "pipeline", "data", "fashion-mnist-embedded"))
    p.add_argument("--train-per-class", type=int, default=1000)
    p.add_argument("--test-per-class", type=int, default=200)
    p.add_argument("--seed", type=int, default=20240401)
    a = p.parse_args()
    if not os.path.isdir(a.source):
        sys.exit(f"{a.source} does not exist: apt-get install dataset-fashion-mnist, or pass --source DIR")
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    subset(a.source, a.out, "train", a.train_per_class, rng)
    subset(a.source, a.out, "t10k", a.test_per_class, rng)


if __name__ == "__main__":
    main()
