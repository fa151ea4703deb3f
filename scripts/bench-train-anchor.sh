#!/usr/bin/env bash
# Training speed against the old path, side by side in one run (docs/train.md#training-speed-side-by-side).
#
# The native-heap policy is per process (it must be set before the first tensor), so the anchor — the step-by-step
# path under glibc's default heap, i.e. training as it was before — runs as its own process, alternating round by
# round with the current settings so both see the same machine drift:
#   A  SPIKERNEL_NATIVE_HEAP=glibc  bench train --path step-by-step   (the anchor: old path, old heap)
#   B                               bench train --path step-by-step   (old path, retained heap)
#   C                               bench train --path multi-step     (multi-step path, retained heap)
# Each process times STEPS steps after WARMUP; the summary gives each configuration's median images/s over the
# rounds and the ratios to A. Extra arguments go to every `bench train` (e.g. --cell, --batch, --gc-every 0).
#
#   scripts/bench-train-anchor.sh [ROUNDS] [-- bench-train-args...]
set -euo pipefail
ROUNDS=${1:-3}; shift || true
[ "${1:-}" = "--" ] && shift
STEPS=${STEPS:-12}; WARMUP=${WARMUP:-2}
CLI=${CLI:-"dotnet pipeline/Cli/bin/Release/net10.0/linux-x64/spikernel.dll"}
LOG=$(mktemp -d)
declare -A NAME=([A]="anchor: step-by-step, glibc heap" [B]="step-by-step, retained heap" [C]="multi-step, retained heap")
run() { # config -> "images/s peak-MiB"
  local out
  case $1 in
    A) out=$(SPIKERNEL_NATIVE_HEAP=glibc $CLI bench train --path step-by-step --steps "$STEPS" --warmup "$WARMUP" "${@:2}") ;;
    B) out=$($CLI bench train --path step-by-step --steps "$STEPS" --warmup "$WARMUP" "${@:2}") ;;
    C) out=$($CLI bench train --path multi-step --steps "$STEPS" --warmup "$WARMUP" "${@:2}") ;;
  esac
  echo "$out" >> "$LOG/$1.txt"
  local ips rss
  ips=$(echo "$out" | awk -F'│' '/│ (multi-step|step-by-step)/ { gsub(/ /, "", $5); print $5 }')
  rss=$(echo "$out" | sed -n 's/.*peak \([0-9]*\).*/\1/p')
  echo "$ips $rss"
}
for r in $(seq 1 "$ROUNDS"); do
  for c in A B C; do
    read -r ips rss < <(run $c "$@")
    echo "round $r  $c  ${ips} images/s  peak ${rss} MiB  (${NAME[$c]})"
    echo "$ips $rss" >> "$LOG/$c.fig"
  done
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
a=$(cut -d' ' -f1 "$LOG/A.fig" | median)
echo "median images/s over $ROUNDS rounds ($STEPS measured steps each):"
for c in A B C; do
  m=$(cut -d' ' -f1 "$LOG/$c.fig" | median); p=$(cut -d' ' -f2 "$LOG/$c.fig" | median)
  printf '  %s  %6.1f images/s  %5.2fx the anchor  peak %s MiB  (%s)\n' "$c" "$m" "$(echo "$m / $a" | bc -l)" "$p" "${NAME[$c]}"
done
echo "network line: $(grep -m1 '^network' "$LOG/A.txt")"
echo "raw output: $LOG"
