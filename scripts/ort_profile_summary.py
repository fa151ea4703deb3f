#!/usr/bin/env python3
"""Summarises ONNX Runtime profiles (SessionOptions.EnableProfiling JSON) by operator type and by kind of work.

Usage: scripts/ort_profile_summary.py PROFILE.json [PROFILE.json ...]

For each file: the kernel time per run of each operator type and its share, then the same grouped into kinds of work
(convolution with the layout changes ONNX Runtime inserts around it; the int8 export's (de)quantisation; the
elementwise LIF and BatchNorm work; casts; spike counts; copies; linear layers; pooling). Kernel times only (no
scheduling overhead between nodes); profiling itself slows small kernels down, so compare shares, not milliseconds.
"""
import collections
import json
import sys

KINDS = {
    "convolution": {"Conv", "QLinearConv", "ConvInteger", "ReorderInput", "ReorderOutput", "Transpose"},
    "(de)quantise": {"DequantizeLinear", "QuantizeLinear"},
    "elementwise (LIF, BatchNorm, sums)": {"Mul", "Add", "Sub", "GreaterOrEqual", "Where", "Sum", "Div"},
    "casts": {"Cast"},
    "spike counts, logits": {"ReduceSum", "ReduceMean"},
    "copies (Concat, Split, Reshape)": {"Concat", "Split", "Reshape", "Flatten", "Shape", "Slice", "ConstantOfShape"},
    "linear layers": {"Gemm", "MatMulInteger", "MatMulIntegerToFloat", "FusedGemm"},
    "pooling": {"AveragePool"},
}


def summarise(path):
    events = json.load(open(path))
    runs = max(1, sum(1 for e in events if e.get("name") == "model_run"))
    per_op = collections.defaultdict(float)
    calls = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            op = e["args"].get("op_name", "?")
            per_op[op] += e["dur"]
            calls[op] += 1
    total = sum(per_op.values())
    print(f"{path}: {runs} runs, {total / runs / 1000:.3f} ms of kernel time per run")
    for op, us in sorted(per_op.items(), key=lambda p: -p[1]):
        print(f"  {op:<24} {us / runs / 1000:9.3f} ms  {100 * us / total:5.1f} %  {calls[op] / runs:6.1f} calls")
    kinds = collections.defaultdict(float)
    for op, us in per_op.items():
        kinds[next((k for k, ops in KINDS.items() if op in ops), "other")] += us
    for kind, us in sorted(kinds.items(), key=lambda p: -p[1]):
        print(f"  = {kind:<36} {100 * us / total:5.1f} %")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        summarise(p)
