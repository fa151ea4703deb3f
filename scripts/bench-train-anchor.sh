#!/usr/bin/env bash
# Training speed against the old path, side by side in one run (docs/train.md#training-speed-side-by-side).
#
# The anchor is training as it was: the tool built from ANCHOR (default 363e90f, main just before issue 14's first
# commit: step-by-step path, glibc's default heap, libtorch's avg_pool2d). It runs as its own process, alternating
# round by round with this checkout's build so both see the same machine drift:
#   A  (anchor build)  bench train                          (the anchor: training as it was)
#   B  (this build)    bench train --path step-by-step      (the default now)
#   C  (this build)    bench train --path multi-step        (the multi-step path)
#   T  (this build)    bench train --path step-by-step --lif tensor   (the default before the LIF kernel)
#   G  (this build)    SPIKERNEL_NATIVE_HEAP=glibc bench train --path step-by-step   (today's code on glibc's heap)
# Each process times STEPS steps after WARMUP; the summary gives each configuration's median images/s over the
# rounds and the ratios to A. Extra arguments go to every `bench train` (e.g. --cell, --batch; the anchor's bench
# knows the architecture options, --batch and --threads, not --path or --gc-every).
#
#   scripts/bench-train-anchor.sh [ROUNDS] [-- bench-train-args...]
# ANCHOR_CLI=/path/to/spikernel.dll skips building the anchor; CONFIGS="A B" picks configurations (A first).
# Resident memory: the peak for this build, the last measured step for the anchor (its bench prints no peak).
set -euo pipefail
ROUNDS=${1:-3}; shift || true
[ "${1:-}" = "--" ] && shift
STEPS=${STEPS:-12}; WARMUP=${WARMUP:-2}
CONFIGS=${CONFIGS:-"A B C"}
ANCHOR=${ANCHOR:-363e90f}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI=${CLI:-"dotnet $ROOT/pipeline/Cli/bin/Release/net10.0/linux-x64/spikernel.dll"}
LOG=$(mktemp -d)
[ "${CONFIGS%% *}" = A ] || { echo "CONFIGS must start with A, the anchor the ratios divide by" >&2; exit 1; }
ANCHOR_CLI=${ANCHOR_CLI:-$("$ROOT/scripts/anchor-build.sh" "$ANCHOR" "$LOG")}
declare -A NAME=([A]="anchor: training as it was ($ANCHOR)" [B]="step-by-step, the default now" [C]="multi-step path" [G]="step-by-step on glibc's heap" [T]="step-by-step, tensor LIF")
run() { # config -> "images/s peak-MiB"
  local out ips rss
  case $1 in
    A) out=$(dotnet "$ANCHOR_CLI" bench train --steps "$STEPS" --warmup "$WARMUP" "${@:2}") ;;
    B) out=$($CLI bench train --path step-by-step --steps "$STEPS" --warmup "$WARMUP" "${@:2}") ;;
    C) out=$($CLI bench train --path multi-step --steps "$STEPS" --warmup "$WARMUP" "${@:2}") ;;
    T) out=$($CLI bench train --path step-by-step --lif tensor --steps "$STEPS" --warmup "$WARMUP" "${@:2}") ;;
    G) out=$(SPIKERNEL_NATIVE_HEAP=glibc $CLI bench train --path step-by-step --steps "$STEPS" --warmup "$WARMUP" "${@:2}") ;;
  esac
  echo "$out" >> "$LOG/$1.txt"
  if [ "$1" = A ]; then # the old bench's table: an "images/s" row and "resident MiB (first / last measured step)"
    ips=$(echo "$out" | awk -F'│' '/│ images\/s / { gsub(/ /, "", $3); print $3 }')
    rss=$(echo "$out" | awk -F'│' '/│ resident MiB/ { split($3, v, "/"); gsub(/ /, "", v[2]); print v[2] }')
  else
    ips=$(echo "$out" | awk -F'│' '/│ (multi-step|step-by-step)/ { gsub(/ /, "", $5); print $5 }')
    rss=$(echo "$out" | sed -n 's/.*peak \([0-9]*\).*/\1/p')
  fi
  echo "$ips $rss"
}
for r in $(seq 1 "$ROUNDS"); do
  # the order turns round every other round (A B, B A, …): neither side always runs first, on a machine just idle
  order=$CONFIGS
  (( r % 2 == 0 )) && order=$(echo $CONFIGS | tr ' ' '\n' | tac | tr '\n' ' ')
  for c in $order; do
    read -r ips rss < <(run $c "$@")
    [ -n "$ips" ] || { echo "no images/s in the output of $c: $LOG/$c.txt" >&2; exit 1; }
    echo "round $r  $c  ${ips} images/s  resident ${rss} MiB  (${NAME[$c]})"
    echo "$ips $rss" >> "$LOG/$c.fig"
  done
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
a=$(cut -d' ' -f1 "$LOG/A.fig" | median)
echo "median images/s over $ROUNDS rounds ($STEPS measured steps each):"
for c in $CONFIGS; do
  m=$(cut -d' ' -f1 "$LOG/$c.fig" | median); p=$(cut -d' ' -f2 "$LOG/$c.fig" | median)
  # the ratio of the medians, and the median of the per-round ratios (each round's pair timed back to back)
  pr=$(paste -d' ' <(cut -d' ' -f1 "$LOG/$c.fig") <(cut -d' ' -f1 "$LOG/A.fig") | awk '{ printf "%.6f\n", $1 / $2 }' | median)
  printf '  %s  %6.1f images/s  %5.2fx the anchor (median of per-round ratios %.2fx)  resident %s MiB  (%s)\n' "$c" "$m" "$(echo "$m / $a" | bc -l)" "$pr" "$p" "${NAME[$c]}"
done
echo "network: $(grep -m1 -o '[0-9,]* parameters.*kernels {[0-9,]*}' "$LOG/A.txt")"
echo "raw output: $LOG"
