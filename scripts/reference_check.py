#!/usr/bin/env python3
"""Independent check of an exported SNN: onnx.reference.ReferenceEvaluator (a plain Python interpreter of the ONNX
spec that shares no code with ONNX Runtime) against ONNX Runtime on real test images.

usage: reference_check.py MODEL.onnx IMAGES.idx.gz LABELS.idx.gz [N]
Needs onnx >= 1.13 and onnxruntime. Prints max |Δlogits|, differing spike counts and both accuracies.
"""
import gzip
import struct
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx.reference import ReferenceEvaluator


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    model_path, images_path, labels_path = sys.argv[1:4]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    model = onnx.load(model_path)
    meta = {p.key: p.value for p in model.metadata_props}
    mean = np.array([float(v) for v in meta["spikernel.normalization.mean"].split(",")], dtype=np.float32)
    std = np.array([float(v) for v in meta["spikernel.normalization.std"].split(",")], dtype=np.float32)
    images = idx(images_path)[:n].astype(np.float32)
    labels = idx(labels_path)[:n]
    if images.ndim == 3:
        images = images[:, None, :, :]
    scale = (np.float32(1) / (np.float32(255) * std)).astype(np.float32)
    shift = (-mean / std).astype(np.float32)
    x = (images * scale[None, :, None, None] + shift[None, :, None, None]).astype(np.float32)

    ref = ReferenceEvaluator(model)
    sess = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    ref_logits, ref_spikes = ref.run(None, {"input": x})
    ort_logits, ort_spikes = sess.run(None, {"input": x})
    print(f"model {model_path}: {n} test images, onnx {onnx.__version__}, onnxruntime {ort.__version__}")
    print(f"max |logits_reference - logits_ort| = {np.abs(ref_logits - ort_logits).max():.3e}")
    print(f"differing spike counts: {(ref_spikes != ort_spikes).sum()} of {ref_spikes.size}")
    print(f"accuracy reference {np.mean(ref_logits.argmax(1) == labels):.4f}, onnxruntime {np.mean(ort_logits.argmax(1) == labels):.4f}")


if __name__ == "__main__":
    main()
