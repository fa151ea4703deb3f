#!/usr/bin/env bash
# Evaluate ONNX models on a CUDA machine that has no .NET SDK (see docs/evaluate.md, "Evaluating on a GPU machine").
#
# Needs, in PACK (default .device/): app.tar.xz — a self-contained publish without libtorch (evaluation never loads it:
# evaluate's code path reaches no TorchSharp call) and without the CUDA provider:
#   dotnet publish pipeline/Cli -c Release -r linux-x64 --self-contained -o /tmp/spk-pub   (outside the working tree)
#   tar cf - -C /tmp/spk-pub --exclude=libonnxruntime_providers_cuda.so --exclude='libtorch*' --exclude=libc10.so --exclude=libLibTorchSharp.so \
#     --exclude='libgomp-*' --exclude=libshm.so --exclude='lib*backend*.so' --exclude=libaoti_custom_ops.so . | xz -6 > app.tar.xz
# and cuda.so.xz — ONNX Runtime's CUDA provider (xz -9e of libonnxruntime_providers_cuda.so, 185 MB), whole or
# split into cuda.so.xz.part-* (for transfers with a size limit), with SHA256SUMS when made as docs/evaluate.md shows;
# plus models/ with the .onnx files to evaluate. Results go to OUTDIR (default /tmp/gpu-results, kept between calls
# for --resume) and are copied to $OUT when that is set.
# CUDA 13 (libcudart, libcublas, libcublasLt, libcurand) and cuDNN 9 are taken from LD_LIBRARY_PATH and from
# Python's nvidia-* wheels (site-packages/nvidia/*/lib) when present.
set -euo pipefail
PACK=${PACK:-.device}
OUTDIR=${OUTDIR:-/tmp/gpu-results}
APP=${APP:-/tmp/spikernel-app}
mkdir -p "$APP" "$OUTDIR"
if [ ! -x "$APP/spikernel" ]; then tar xJf "$PACK/app.tar.xz" -C "$APP"; fi
if [ ! -f "$APP/libonnxruntime_providers_cuda.so" ]; then
  # into a temporary file first: a missing or damaged part fails here and leaves nothing that a rerun would take as done
  if [ -f "$PACK/SHA256SUMS" ]; then (cd "$PACK" && sha256sum --ignore-missing -c SHA256SUMS); fi
  if [ -f "$PACK/cuda.so.xz" ]; then xz -dc "$PACK/cuda.so.xz"; else cat "$PACK"/cuda.so.xz.part-* | xz -dc; fi > "$APP/.cuda.so.tmp"
  mv "$APP/.cuda.so.tmp" "$APP/libonnxruntime_providers_cuda.so"
fi
for py in python3 python; do
  if command -v $py >/dev/null; then
    for d in $($py -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
      for lib in "$d"/nvidia/*/lib; do [ -d "$lib" ] && LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; done
    done
    break
  fi
done
export LD_LIBRARY_PATH
# CUDA numbers devices fastest first by default; the result rows name GPUs in PCI bus order (/proc/driver/nvidia/gpus)
export CUDA_DEVICE_ORDER=PCI_BUS_ID
{ command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUTDIR/gpu.txt"; } || true
status=0
"$APP/spikernel" evaluate "$PACK/models" --out "$OUTDIR/gpu-results.csv" "$@" || status=$?
if [ -n "${OUT:-}" ] && [ "$OUTDIR" != "$OUT" ]; then cp "$OUTDIR"/* "$OUT"/ 2>/dev/null || true; fi
exit $status
