#!/usr/bin/env bash
# Evaluate ONNX models on a CUDA machine that has no .NET SDK (see docs/evaluate.md, "Evaluating on a GPU machine").
#
# Needs, in PACK (default .device/): app.tar.xz — a self-contained publish without libtorch (evaluation never loads it:
# evaluate's code path reaches no TorchSharp call) and without the CUDA provider:
#   dotnet publish pipeline/Cli -c Release -r linux-x64 --self-contained -o /tmp/spk-pub   (outside the working tree)
#   tar cf - -C /tmp/spk-pub --exclude=libonnxruntime_providers_cuda.so --exclude='libtorch*' --exclude=libc10.so --exclude=libLibTorchSharp.so \
#     --exclude='libgomp-*' --exclude=libshm.so --exclude='lib*backend*.so' --exclude=libaoti_custom_ops.so --exclude='*.dbg' . | xz -6 > app.tar.xz
# and cuda.so.xz — ONNX Runtime's CUDA provider (xz -9e of libonnxruntime_providers_cuda.so, 185 MB), whole or
# split into cuda.so.xz.part-* (for transfers with a size limit), with SHA256SUMS when made as docs/evaluate.md shows;
# plus models/ with the .onnx files to evaluate. Results go to $OUT when that is set (what a call brings back, even
# when it is cut short) and are kept in OUTDIR (default /tmp/gpu-results) between calls, for --resume.
# CUDA 13 (libcudart, libcublas, libcublasLt, libcurand) and cuDNN 9 are taken from LD_LIBRARY_PATH and from
# Python's nvidia-* wheels (site-packages/nvidia/*/lib) when present.
set -euo pipefail
PACK=${PACK:-.device}
OUTDIR=${OUTDIR:-/tmp/gpu-results}
APP=${APP:-/tmp/spikernel-app}
mkdir -p "$OUTDIR"
fail() { echo "gpu-evaluate: $*" >&2; exit 1; }

# whatever of the pack is here is checked before anything is unpacked; a part listed but not here yet is named
if [ -f "$PACK/SHA256SUMS" ]; then
  (cd "$PACK" && sha256sum --ignore-missing -c SHA256SUMS)
  if [ ! -f "$PACK/cuda.so.xz" ] && [ ! -f "$APP/libonnxruntime_providers_cuda.so" ]; then
    for part in $(awk '{print $2}' "$PACK/SHA256SUMS" | grep '^cuda\.so\.xz\.part-' || true); do
      [ -f "$PACK/$part" ] || fail "$PACK/$part is not here (not sent yet?)"
    done
  fi
fi

# the app: unpacked into a temporary folder and moved into place whole, once per app.tar.xz (a rebuilt pack replaces it)
if [ -f "$PACK/app.tar.xz" ]; then
  stamp=".pack-$(sha256sum "$PACK/app.tar.xz" | cut -c1-16)"
  if [ ! -f "$APP/$stamp" ]; then
    rm -rf "$APP.tmp" && mkdir -p "$APP.tmp"
    tar xJf "$PACK/app.tar.xz" -C "$APP.tmp"
    touch "$APP.tmp/$stamp"
    rm -rf "$APP" && mv "$APP.tmp" "$APP"
  fi
fi
[ -x "$APP/spikernel" ] || fail "no app in $APP: send $PACK/app.tar.xz"

# the CUDA provider: joined into a temporary file first, so a missing or damaged part leaves nothing a rerun takes as done
if [ ! -f "$APP/libonnxruntime_providers_cuda.so" ]; then
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

# written where the call brings it back ($OUT), with the rows of earlier calls for --resume, and kept for the next call
WRITE=$OUTDIR
if [ -n "${OUT:-}" ] && [ "$OUTDIR" != "$OUT" ]; then
  mkdir -p "$OUT"
  cp -r "$OUTDIR"/. "$OUT"/ 2>/dev/null || true
  WRITE=$OUT
  trap 'cp -r "$OUT"/. "$OUTDIR"/ 2>/dev/null || true' EXIT
fi
{ command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$WRITE/gpu.txt"; } || true
"$APP/spikernel" evaluate "$PACK/models" --out "$WRITE/gpu-results.csv" "$@"
