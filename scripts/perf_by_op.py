#!/usr/bin/env python3
"""Where training's CPU time goes, by kind of operation, from a `perf record` of `spikernel bench train`.

    perf record -F 200 -D 20000 -o perf.data -- spikernel bench train --path step-by-step --steps 20 --warmup 2
    perf report -i perf.data --sort dso,sym --stdio --percent-limit 0 > report.txt
    scripts/perf_by_op.py report.txt

-D skips the start (data loading, network construction) so the samples are the steady training steps. oneDNN's
convolution kernels are generated at run time and show as [JIT] samples; they are counted as convolution.
"""
import re
import sys

CATEGORIES = [  # first match wins; (name, dso regex, symbol regex)
    ("convolution (oneDNN JIT, dnnl, gemm)", r"\[JIT\]", r""),
    ("convolution (oneDNN JIT, dnnl, gemm)", r"", r"dnnl::|mkl_blas|sgemm|convolution|im2col|col2im"),
    ("batch norm", r"", r"batch_norm"),
    ("pooling", r"", r"pool"),
    ("elementwise (mul, add, copy, fill, compare, masked fill, ...)", r"libtorch_cpu", r"VectorizedLoop|loop_2d|cpu_kernel|copy|fill|Vectorized"),
    ("other libtorch", r"libtorch|libc10", r""),
    ("OpenMP runtime (workers waiting, barriers)", r"libgomp", r""),
    ("kernel (page faults, zeroing pages, scheduling)", r"kernel", r""),
    ("glibc (malloc, memcpy)", r"libc\.so", r""),
    (".NET runtime and managed code", r"clr|coreclr|doublemapper|TorchSharp|System\.", r""),
]


def main(path: str) -> None:
    totals: dict[str, float] = {}
    row = re.compile(r"^\s*([\d.]+)%\s+(\S+(?: \S+)*?)\s{2,}\[[.k]\]\s+(.*)$")
    for line in open(path, encoding="utf-8", errors="replace"):
        m = row.match(line)
        if not m:
            continue
        pct, dso, sym = float(m.group(1)), m.group(2), m.group(3)
        name = next((n for n, d, s in CATEGORIES if (not d or re.search(d, dso)) and (not s or re.search(s, sym))), "other")
        totals[name] = totals.get(name, 0.0) + pct
    width = max(len(k) for k in totals)
    for name, pct in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{name:<{width}}  {pct:5.1f} %")


if __name__ == "__main__":
    main(sys.argv[1])
