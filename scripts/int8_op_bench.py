#!/usr/bin/env python3
"""Writes one-convolution ONNX models, one per way of writing a convolution on spikes, for `spikernel evaluate`.

Usage: scripts/int8_op_bench.py OUT_DIR
then:  spikernel evaluate OUT_DIR --providers cpu,edge --no-accuracy --repeats 200 --out ops.csv

The shape is a cell convolution of the small Fashion-MNIST network (32 -> 32 channels, 3x3, 28x28) at T = 5:
`b1` is batch 1 (5 images: the timesteps stacked on the batch axis, or one image per timestep for the `*-step` models),
`b64` batch 64 (320). The input is a float tensor of 0/1 spikes, as a LIF layer gives them; every model casts it
itself, so each measures the convolution with the casts a real graph needs. Needs python3-onnx and numpy.

Variants (what docs/measurements/int8-export.md compares):
  fp32          Conv (float)                                   -- the float export's convolution
  fp32-grouped  Conv with T groups over [N, T*C, H, W]         -- the float export's batched layout
  convinteger   ConvInteger uint8 x int8 -> int32, Cast, Mul   -- the exact integer convolution of the ONNX standard
  convinteger-u8w  the same with uint8 weights (zero point 128)
  qlinear       QLinearConv uint8 x int8 -> uint8 (zero point 128), per-tensor DequantizeLinear -- the int8 export
  qlinear-grouped  QLinearConv with T groups over [N, T*C, H, W]
  qdq           DequantizeLinear(x), DequantizeLinear(w), Conv, QuantizeLinear, DequantizeLinear -- QDQ pairs that
                ONNX Runtime fuses into QLinearConv
  qdq-noq       DequantizeLinear(x), DequantizeLinear(w), Conv (float out, no output QuantizeLinear): not fused
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

C, HW, K, STEPS = 32, 28, 3, 5


def save(path, nodes, x_shape, y_shape, inits):
    graph = h.make_graph(nodes, os.path.basename(path)[:-5],
                         [h.make_tensor_value_info("x", T.FLOAT, x_shape)],
                         [h.make_tensor_value_info("y", T.FLOAT, y_shape)], inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)], producer_name="int8_op_bench")
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def scalar(name, value, dtype):
    return nh.from_array(np.array(value, dtype), name)


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((C, C, K, K)).astype(np.float32)
    wq = np.clip(np.round(w / (np.abs(w).max() / 127)), -127, 127).astype(np.int8)
    conv = dict(kernel_shape=[K, K], pads=[K // 2] * 4)
    to_u8 = h.make_node("Cast", ["x"], ["xq"], to=T.UINT8)
    per_channel = nh.from_array(np.full(C, 0.01, np.float32), "ws")
    for tag, n in (("b1", STEPS), ("b64", 64 * STEPS)):
        shape = [n, C, HW, HW]
        stacked = [n // STEPS, STEPS * C, HW, HW]

        def f(name):
            return os.path.join(out, f"{name}-{tag}.onnx")

        save(f("fp32"), [h.make_node("Conv", ["x", "w"], ["y"], **conv)], shape, shape, [nh.from_array(w, "w")])
        save(f("fp32-grouped"), [h.make_node("Conv", ["x", "w"], ["y"], group=STEPS, **conv)], stacked, stacked,
             [nh.from_array(np.concatenate([w] * STEPS), "w")])
        for name, weights, zero in (("convinteger", wq, None), ("convinteger-u8w", (wq.astype(np.int16) + 128).astype(np.uint8), 128)):
            inputs = ["xq", "w"] if zero is None else ["xq", "w", "xz", "wz"]
            inits = [nh.from_array(weights, "w"), nh.from_array(np.full((1, C, 1, 1), 0.01, np.float32), "s")]
            if zero is not None:
                inits += [scalar("xz", 0, np.uint8), scalar("wz", zero, np.uint8)]
            save(f(name), [to_u8, h.make_node("ConvInteger", inputs, ["acc"], **conv),
                           h.make_node("Cast", ["acc"], ["accf"], to=T.FLOAT), h.make_node("Mul", ["accf", "s"], ["y"])],
                 shape, shape, inits)
        for name, groups, xs in (("qlinear", 1, shape), ("qlinear-grouped", STEPS, stacked)):
            save(f(name), [to_u8,
                           h.make_node("QLinearConv", ["xq", "one", "zu", "w", "ws", "zs", "one", "z128", "b"], ["yq"], group=groups, **conv),
                           h.make_node("DequantizeLinear", ["yq", "step", "z128"], ["y"])], xs, xs,
                 [nh.from_array(np.concatenate([wq] * groups), "w"), scalar("one", 1.0, np.float32), scalar("zu", 0, np.uint8),
                  nh.from_array(np.full(C * groups, 0.01, np.float32), "ws"), nh.from_array(np.zeros(C * groups, np.int8), "zs"),
                  scalar("z128", 128, np.uint8), nh.from_array(np.zeros(C * groups, np.int32), "b"), scalar("step", 0.1, np.float32)])
        dq_in = [h.make_node("QuantizeLinear", ["x", "one", "zu"], ["xq"]),
                 h.make_node("DequantizeLinear", ["xq", "one", "zu"], ["xd"]),
                 h.make_node("DequantizeLinear", ["w", "ws", "zs"], ["wd"], axis=0)]
        qdq_inits = [nh.from_array(wq, "w"), scalar("one", 1.0, np.float32), scalar("zu", 0, np.uint8), per_channel,
                     nh.from_array(np.zeros(C, np.int8), "zs")]
        save(f("qdq"), dq_in + [h.make_node("Conv", ["xd", "wd"], ["c"], **conv),
                                h.make_node("QuantizeLinear", ["c", "step", "z128"], ["cq"]),
                                h.make_node("DequantizeLinear", ["cq", "step", "z128"], ["y"])], shape, shape,
             qdq_inits + [scalar("step", 0.1, np.float32), scalar("z128", 128, np.uint8)])
        save(f("qdq-noq"), dq_in + [h.make_node("Conv", ["xd", "wd"], ["y"], **conv)], shape, shape, qdq_inits)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
